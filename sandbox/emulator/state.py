"""The emulator's world state: users, chats, messages, files, and the bot's update queue.

:class:`World` holds everything and offers the primitives both sides use: the HTTP methods
(what the bot does) and the scripted actions of :class:`~sandbox.emulator.BotApiEmulator` (what
residents do). Delivery decisions are made here, at the moment something happens, as on
Telegram: whether the bot receives a message depends on its membership and privacy mode then.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sandbox.emulator import errors, rules
from sandbox.emulator.media import FileStore
from sandbox.emulator.model import (
    CallbackQuery,
    Chat,
    ChatType,
    Member,
    MemberStatus,
    Message,
    User,
)
from sandbox.emulator.updates import UpdateQueue

_FIRST_USER_ID = 1_000_000_001
_FIRST_SUPERGROUP_ID = -1_001_900_000_001  # "-100" followed by a channel id
_FIRST_GROUP_ID = -4_000_000_001


class World:
    """Everything the emulated Telegram knows, for one bot."""

    def __init__(
        self,
        *,
        bot: User,
        privacy_mode: bool,
        can_join_groups: bool,
        supports_inline_queries: bool,
        clock: Callable[[], float] = time.time,
        first_update_id: int = 1,
    ) -> None:
        self.bot = bot
        self.privacy_mode = privacy_mode
        self.can_join_groups = can_join_groups
        self.supports_inline_queries = supports_inline_queries
        self.clock = clock
        self.users: dict[int, User] = {bot.id: bot}
        self.chats: dict[int, Chat] = {}
        self.files = FileStore()
        self.queue = UpdateQueue(clock, first_update_id)
        self.callback_queries: dict[str, CallbackQuery] = {}
        #: Polls the bot sent, by poll id (``sandbox.emulator.polls``).
        self.polls: dict[str, Any] = {}
        #: ``setMyCommands`` lists by (scope JSON, language code).
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.webhook_url = ""
        self.logged_out = False
        self._seq = 0
        self._user_count = 0
        self._group_count = 0
        self._query_count = 0

    # identities and clock -------------------------------------------------------------
    def now(self) -> int:
        """Unix time, as message dates carry it."""
        return int(self.clock())

    def next_seq(self) -> int:
        """A number that orders every event in the emulator."""
        self._seq += 1
        return self._seq

    def new_user(self, first_name: str, **fields: Any) -> User:
        """Registers a new account."""
        self._user_count += 1
        user = User(id=_FIRST_USER_ID + self._user_count - 1, first_name=first_name, **fields)
        self.users[user.id] = user
        return user

    def new_group(self, title: str, *, supergroup: bool, username: str | None) -> Chat:
        """Registers a new group chat (no members yet)."""
        self._group_count += 1
        step = self._group_count - 1
        chat_type: ChatType = "supergroup" if supergroup else "group"
        chat_id = (_FIRST_SUPERGROUP_ID if supergroup else _FIRST_GROUP_ID) - step
        chat = Chat(id=chat_id, type=chat_type, title=title, username=username)
        self.chats[chat.id] = chat
        return chat

    def new_poll_id(self) -> str:
        """A fresh poll id (a long number, as Telegram's are)."""
        self._query_count += 1
        return str(5_188_146_770_730_811_392 + self._query_count * 7907)

    def new_query_id(self) -> str:
        """A fresh callback query id (a long number, as Telegram's are)."""
        self._query_count += 1
        return str(4_611_686_018_427_387_904 + self._query_count * 7919)

    def user_json(self, user_id: int) -> dict[str, Any] | None:
        """User JSON for a known account (for ``tg://user?id=`` links)."""
        user = self.users.get(user_id)
        return None if user is None else user.to_api()

    # chats ----------------------------------------------------------------------------
    def private_chat(self, user: User) -> Chat:
        """The private chat between ``user`` and the bot (its id is the user's id)."""
        chat = self.chats.get(user.id)
        if chat is None:
            chat = Chat(id=user.id, type="private", user=user)
            self.chats[chat.id] = chat
        return chat

    def find_chat(self, chat_id: int | str) -> Chat:
        """A chat the bot knows by id or ``@username``.

        Raises:
            ApiError: ``chat not found``.
        """
        if isinstance(chat_id, str):
            name = chat_id[1:].lower()
            for chat in self.chats.values():
                if chat.username and chat.username.lower() == name:
                    return chat
            raise errors.bad_request(errors.CHAT_NOT_FOUND)
        found = self.chats.get(chat_id)
        if found is None and chat_id in self.users and chat_id != self.bot.id:
            found = self.private_chat(self.users[chat_id])
        if found is None:
            raise errors.bad_request(errors.CHAT_NOT_FOUND)
        chat = found
        if chat.is_group and self.bot.id not in chat.members:
            raise errors.bad_request(errors.CHAT_NOT_FOUND)  # never been there: unknown
        return chat

    def membership(self, chat: Chat) -> Member | None:
        """The bot's membership of ``chat``."""
        return chat.members.get(self.bot.id)

    # messages -------------------------------------------------------------------------
    def post(self, chat: Chat, sender: User | None, **content: Any) -> Message:
        """Creates a message in ``chat`` (no delivery)."""
        message = Message(
            chat=chat,
            message_id=chat.next_message_id,
            from_user=sender,
            date=self.now(),
            seq=self.next_seq(),
            **content,
        )
        chat.next_message_id += 1
        chat.messages[message.message_id] = message
        return message

    def deliver_message(self, message: Message, kind: str = "message") -> bool:
        """Queues a new (``message``) or edited (``edited_message``) message for the bot if
        Telegram would deliver it; returns whether it did."""
        if not rules.bot_sees(message, self.bot, self.membership(message.chat)):
            return False
        return self.queue.push(kind, message.to_api()) is not None

    def deliver_member_change(
        self, chat: Chat, actor: User, old: dict[str, Any], new: dict[str, Any]
    ) -> None:
        """Queues ``my_chat_member`` (the bot's status changed) or ``chat_member`` (someone
        else's; only an administrator bot gets it, and only if it asked for it)."""
        payload = {
            "chat": chat.to_api(),
            "from": actor.to_api(),
            "date": self.now(),
            "old_chat_member": old,
            "new_chat_member": new,
        }
        if new["user"]["id"] == self.bot.id:
            self.queue.push("my_chat_member", payload)
            return
        membership = self.membership(chat)
        if membership is not None and membership.is_admin:
            self.queue.push("chat_member", payload)

    def deliver_reaction(
        self,
        message: Message,
        user: User,
        old: list[dict[str, Any]],
        new: list[dict[str, Any]],
    ) -> bool:
        """Queues ``message_reaction`` if Telegram would deliver it; returns whether it did."""
        if not rules.bot_sees_reaction(message.chat, user, self.membership(message.chat)):
            return False
        payload = {
            "chat": message.chat.to_api(),
            "message_id": message.message_id,
            "user": user.to_api(),
            "date": self.now(),
            "old_reaction": old,
            "new_reaction": new,
        }
        return self.queue.push("message_reaction", payload) is not None

    def set_bot_status(self, chat: Chat, status: MemberStatus, actor: User) -> Member:
        """Changes the bot's membership of a group and tells the bot (``my_chat_member``)."""
        previous = chat.members.get(self.bot.id)
        old = previous.to_api() if previous else {"status": "left", "user": self.bot.to_api()}
        member = Member(user=self.bot, status=status)
        if previous is not None and previous.is_present and member.is_present:
            member.privacy_mode, member.joined_seq = previous.privacy_mode, previous.joined_seq
        else:
            member.privacy_mode, member.joined_seq = self.privacy_mode, self.next_seq()
        chat.members[self.bot.id] = member
        self.deliver_member_change(chat, actor, old, member.to_api())
        return member
