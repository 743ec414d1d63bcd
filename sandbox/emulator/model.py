"""The emulated world: users, chats, memberships, messages, callback queries.

Each object serialises (``to_api``) exactly as the Bot API does, so that
``telegram.Update.de_json`` parses every update the emulator produces. Objects are live:
a :class:`Message` changes when a user edits it, and tests may read it at any time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sandbox.emulator.text import Entity, entities_to_api

ChatType = Literal["private", "group", "supergroup"]
MemberStatus = Literal["creator", "administrator", "member", "left", "kicked"]


@dataclass(eq=False)
class User:
    """A Telegram account (a resident, or the bot itself)."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False
    is_premium: bool = False
    #: The user pressed START in the bot's private chat.
    started_bot: bool = False
    #: The user blocked the bot (Telegram then refuses the bot's messages to them).
    blocked_bot: bool = False

    @property
    def full_name(self) -> str:
        """First and last name, as clients show them."""
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name

    def to_api(self) -> dict[str, Any]:
        """The ``User`` JSON object."""
        data: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code and not self.is_bot:
            data["language_code"] = self.language_code
        if self.is_premium:
            data["is_premium"] = True
        return data


#: Rights an administrator holds, as ``ChatMemberAdministrator`` lists them.
ADMIN_RIGHTS: dict[str, bool] = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": True,
    "can_edit_stories": True,
    "can_delete_stories": True,
    "can_pin_messages": True,
}


@dataclass(eq=False)
class Member:
    """One user's membership of one chat."""

    user: User
    status: MemberStatus
    #: For the bot: privacy mode as it was when the bot joined (Telegram applies a changed
    #: setting to a group only after the bot is removed and added again).
    privacy_mode: bool = True
    #: The event sequence number of joining; messages from before it are never delivered.
    joined_seq: int = 0

    @property
    def is_admin(self) -> bool:
        """The owner or an administrator."""
        return self.status in ("creator", "administrator")

    @property
    def is_present(self) -> bool:
        """In the chat now (not left, not banned)."""
        return self.status in ("creator", "administrator", "member")

    def to_api(self) -> dict[str, Any]:
        """The ``ChatMember`` JSON object for the current status."""
        data: dict[str, Any] = {"status": self.status, "user": self.user.to_api()}
        if self.status == "creator":
            data["is_anonymous"] = False
        elif self.status == "administrator":
            data.update(ADMIN_RIGHTS)
        elif self.status == "kicked":
            data["until_date"] = 0
        return data


@dataclass(eq=False)
class Chat:
    """A private chat with the bot, a basic group, or a supergroup."""

    id: int
    type: ChatType
    title: str | None = None
    username: str | None = None
    #: For a private chat: the user on the other side.
    user: User | None = None
    members: dict[int, Member] = field(default_factory=dict)
    messages: dict[int, Message] = field(default_factory=dict)
    next_message_id: int = 1

    @property
    def kind(self) -> str:
        """``group`` or ``supergroup`` (Telegram's wording in error descriptions)."""
        return "supergroup" if self.type == "supergroup" else "group"

    @property
    def is_group(self) -> bool:
        """A basic group or a supergroup."""
        return self.type != "private"

    def to_api(self) -> dict[str, Any]:
        """The ``Chat`` JSON object as it appears inside messages and updates."""
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.type == "private" and self.user is not None:
            data["first_name"] = self.user.first_name
            if self.user.last_name:
                data["last_name"] = self.user.last_name
            if self.user.username:
                data["username"] = self.user.username
        else:
            data["title"] = self.title or ""
            if self.username:
                data["username"] = self.username
        return data

    def full_info(self) -> dict[str, Any]:
        """The ``ChatFullInfo`` JSON object ``getChat`` answers with."""
        data = self.to_api()
        data.update(
            {
                "accent_color_id": 0,
                "max_reaction_count": 11,
                "accepted_gift_types": {
                    "unlimited_gifts": False,
                    "limited_gifts": False,
                    "unique_gifts": False,
                    "premium_subscription": False,
                    "gifts_from_channels": False,
                },
            }
        )
        if self.is_group:
            data["permissions"] = {
                "can_send_messages": True,
                "can_send_audios": True,
                "can_send_documents": True,
                "can_send_photos": True,
                "can_send_videos": True,
                "can_send_video_notes": True,
                "can_send_voice_notes": True,
                "can_send_polls": True,
                "can_send_other_messages": True,
                "can_add_web_page_previews": True,
                "can_change_info": False,
                "can_invite_users": True,
                "can_pin_messages": False,
                "can_manage_topics": False,
            }
        return data


@dataclass(eq=False)
class Message:
    """A message in a chat, sent by a user, by the bot, or a service message."""

    chat: Chat
    message_id: int
    from_user: User | None
    date: int
    #: Order of creation across the whole emulator (for "sent before the bot joined").
    seq: int
    text: str | None = None
    entities: list[Entity] = field(default_factory=list)
    caption: str | None = None
    caption_entities: list[Entity] = field(default_factory=list)
    #: ``PhotoSize`` JSON objects, smallest first.
    photo: list[dict[str, Any]] | None = None
    #: Another file: (field, JSON object), e.g. ``("voice", {...})``.
    attachment: tuple[str, dict[str, Any]] | None = None
    #: A poll (``sandbox.emulator.polls.Poll``), sent by the bot.
    poll: Any = None
    reply_to: Message | None = None
    reply_markup: dict[str, Any] | None = None
    edit_date: int | None = None
    new_chat_members: list[User] | None = None
    left_chat_member: User | None = None
    deleted: bool = False
    #: Reactions per user id: lists of ``ReactionType`` JSON objects.
    reactions: dict[int, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def is_service(self) -> bool:
        """A service message (someone joined or left)."""
        return self.new_chat_members is not None or self.left_chat_member is not None

    @property
    def body(self) -> str:
        """The text, or the caption of a media message ('' if neither)."""
        return self.text if self.text is not None else (self.caption or "")

    @property
    def body_entities(self) -> list[Entity]:
        """Entities of :attr:`body`."""
        return self.entities if self.text is not None else self.caption_entities

    def to_api(self, *, with_reply: bool = True) -> dict[str, Any]:
        """The ``Message`` JSON object (a replied-to message is nested one level only)."""
        data: dict[str, Any] = {"message_id": self.message_id}
        if self.from_user is not None:
            data["from"] = self.from_user.to_api()
        data["chat"] = self.chat.to_api()
        data["date"] = self.date
        if self.edit_date is not None:
            data["edit_date"] = self.edit_date
        if with_reply and self.reply_to is not None and not self.reply_to.deleted:
            data["reply_to_message"] = self.reply_to.to_api(with_reply=False)
        if self.text is not None:
            data["text"] = self.text
            if self.entities:
                data["entities"] = entities_to_api(self.entities)
        if self.photo is not None:
            data["photo"] = [dict(size) for size in self.photo]
        if self.attachment is not None:
            kind, file = self.attachment
            data[kind] = dict(file)
            if kind == "animation":  # Telegram sends an animation as a document too
                data["document"] = dict(file)
        if self.poll is not None:
            data["poll"] = self.poll.to_api()
        if self.caption:
            data["caption"] = self.caption
            if self.caption_entities:
                data["caption_entities"] = entities_to_api(self.caption_entities)
        if self.new_chat_members is not None:
            data["new_chat_members"] = [user.to_api() for user in self.new_chat_members]
            if len(self.new_chat_members) == 1:
                data["new_chat_member"] = self.new_chat_members[0].to_api()
                data["new_chat_participant"] = self.new_chat_members[0].to_api()
        if self.left_chat_member is not None:
            data["left_chat_member"] = self.left_chat_member.to_api()
            data["left_chat_participant"] = self.left_chat_member.to_api()
        if self.reply_markup is not None and "inline_keyboard" in self.reply_markup:
            data["reply_markup"] = {"inline_keyboard": self.reply_markup["inline_keyboard"]}
        return data


@dataclass(eq=False)
class CallbackQuery:
    """A press on an inline keyboard button."""

    id: str
    from_user: User
    message: Message
    data: str
    chat_instance: str
    date: int
    answered: bool = False
    #: What the bot answered: ``text``, ``show_alert``, ``url``, ``cache_time``.
    answer: dict[str, Any] | None = None

    def to_api(self) -> dict[str, Any]:
        """The ``CallbackQuery`` JSON object."""
        return {
            "id": self.id,
            "from": self.from_user.to_api(),
            "message": self.message.to_api(),
            "chat_instance": self.chat_instance,
            "data": self.data,
        }


def member_update(
    chat: Chat, actor: User, old: dict[str, Any], new: dict[str, Any], date: int
) -> dict[str, Any]:
    """A ``ChatMemberUpdated`` JSON object (for ``my_chat_member``/``chat_member``)."""
    return {
        "chat": chat.to_api(),
        "from": actor.to_api(),
        "date": date,
        "old_chat_member": old,
        "new_chat_member": new,
    }
