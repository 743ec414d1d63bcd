"""What Telegram enforces: who sees what, limits, and who may write where.

Privacy mode (https://core.telegram.org/bots/features#privacy-mode): in a group where the bot
is not an administrator and joined with privacy mode on, it receives only

* commands: a ``bot_command`` entity at offset 0, ``/cmd`` or ``/cmd@this_bot`` (a command
  addressed to another bot, ``/cmd@other_bot``, is not delivered);
* replies to the bot's own messages;
* messages that mention the bot (``@this_bot``);
* service messages (members joining and leaving).

An administrator bot, or one that joined with privacy mode off, receives every message. The
same rule applies to edits. A bot never receives its own messages, messages sent before it
joined (nor their later edits), deletions, or anything from a group it is no longer in.

``message_reaction`` updates reach only a bot that is an administrator of the group (any
private chat counts) and only while ``allowed_updates`` lists ``message_reaction``; reactions
set by bots are never delivered. ``chat_member`` needs an administrator bot and
``allowed_updates`` listing it, too.
"""

from __future__ import annotations

from typing import Any

from archiver.reactions import TELEGRAM_REACTIONS
from sandbox.emulator import errors
from sandbox.emulator.model import Chat, Member, Message, User
from sandbox.emulator.text import utf16_slice

#: Telegram's limits.
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
#: The largest file ``getFile`` lets a bot download (the Bot API's documented 20 MB).
MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024
MAX_CALLBACK_DATA_BYTES = 64
LONG_POLL_MAX_TIMEOUT = 50
MAX_UPDATES_LIMIT = 100

#: How long an undelivered update waits for the bot (seconds), by update type.
UPDATE_LIFETIME: dict[str, int] = {"callback_query": 150, "inline_query": 30}
DEFAULT_UPDATE_LIFETIME = 86400

#: Every update type, in the Bot API's order.
ALL_UPDATE_TYPES: tuple[str, ...] = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_connection",
    "business_message",
    "edited_business_message",
    "deleted_business_messages",
    "message_reaction",
    "message_reaction_count",
    "inline_query",
    "chosen_inline_result",
    "callback_query",
    "shipping_query",
    "pre_checkout_query",
    "purchased_paid_media",
    "poll",
    "poll_answer",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "chat_boost",
    "removed_chat_boost",
)
#: What a bot gets when it never set ``allowed_updates`` or set an empty list.
DEFAULT_ALLOWED_UPDATES = frozenset(ALL_UPDATE_TYPES) - {
    "chat_member",
    "message_reaction",
    "message_reaction_count",
}

#: The emoji Telegram accepts as ``ReactionTypeEmoji`` (Bot API list).
REACTION_EMOJI = TELEGRAM_REACTIONS


def parse_allowed_updates(value: Any) -> frozenset[str] | None:
    """The new ``allowed_updates`` setting, or ``None`` to keep the previous one.

    As on Telegram: a missing or unreadable value keeps the setting; a list naming no known
    type (``[]`` included) restores the default.
    """
    if not isinstance(value, list):
        return None
    if not all(isinstance(item, str) for item in value):
        return None
    chosen = frozenset(item.lower() for item in value) & frozenset(ALL_UPDATE_TYPES)
    return chosen or DEFAULT_ALLOWED_UPDATES


def _command_target(message: Message) -> str | None:
    """``""`` for ``/cmd``, ``"name"`` for ``/cmd@name``, ``None`` if not a command message."""
    for entity in message.body_entities:
        if entity.type == "bot_command" and entity.offset == 0:
            command = utf16_slice(message.body, entity.offset, entity.length)
            return command.partition("@")[2].lower()
    return None


def _mentions(message: Message, username: str) -> bool:
    for entity in message.body_entities:
        if entity.type == "mention":
            name = utf16_slice(message.body, entity.offset, entity.length)
            if name[1:].lower() == username.lower():
                return True
        user = entity.user if entity.type == "text_mention" else None
        if user and str(user.get("username", "")).lower() == username.lower():
            return True
    return False


def bot_sees(message: Message, bot: User, membership: Member | None) -> bool:
    """Whether Telegram delivers this new or edited message to the bot."""
    own = message.from_user is not None and message.from_user.id == bot.id
    about_itself = message.left_chat_member is not None and message.left_chat_member.id == bot.id
    if own and not about_itself:
        return False  # a bot never receives its own messages
    chat = message.chat
    if chat.type == "private":
        return True
    if membership is None:
        return False
    if not membership.is_present:
        # Telegram still tells a removed bot about its own removal.
        return message.left_chat_member is not None and message.left_chat_member.id == bot.id
    if message.seq <= membership.joined_seq:
        return False  # history from before the bot joined
    if membership.is_admin or not membership.privacy_mode:
        return True
    if message.is_service:
        return True
    target = _command_target(message)
    if target is not None:
        return target in ("", (bot.username or "").lower())
    replied_author = message.reply_to.from_user if message.reply_to is not None else None
    if replied_author is not None and replied_author.id == bot.id:
        return True
    return bool(bot.username) and _mentions(message, bot.username or "")


def bot_sees_reaction(chat: Chat, reactor: User, membership: Member | None) -> bool:
    """Whether a reaction change may become a ``message_reaction`` update for the bot."""
    if reactor.is_bot:
        return False
    if chat.type == "private":
        return True
    return membership is not None and membership.is_admin


def check_can_write(chat: Chat, bot: User) -> None:
    """Raises the error Telegram gives when the bot may not send to ``chat``."""
    if chat.type == "private":
        user = chat.user
        if user is None:
            raise errors.bad_request(errors.CHAT_NOT_FOUND)
        if user.blocked_bot:
            raise errors.forbidden(errors.BLOCKED_BY_USER)
        if not user.started_bot:
            raise errors.forbidden(errors.CANT_INITIATE)
        return
    check_is_member(chat, bot)


def check_is_member(chat: Chat, bot: User) -> Member:
    """The bot's membership of a group, or the error Telegram gives when it has none."""
    membership = chat.members.get(bot.id)
    if membership is None:
        raise errors.bad_request(errors.CHAT_NOT_FOUND)
    if membership.status == "kicked":
        raise errors.kicked_from(chat.kind)
    if membership.status == "left":
        raise errors.not_a_member(chat.kind)
    return membership


def check_reactions(reactions: list[dict[str, Any]], *, premium: bool) -> None:
    """Raises ``REACTION_INVALID``/``REACTIONS_TOO_MANY`` as Telegram does."""
    for reaction in reactions:
        if reaction.get("type") == "emoji":
            if reaction.get("emoji") not in REACTION_EMOJI:
                raise errors.bad_request(errors.REACTION_INVALID)
        elif reaction.get("type") == "custom_emoji":
            if not premium or not str(reaction.get("custom_emoji_id", "")).isdigit():
                raise errors.bad_request(errors.REACTION_INVALID)
        else:
            raise errors.bad_request(errors.REACTION_INVALID)
    if len(reactions) > (3 if premium else 1):
        raise errors.bad_request(errors.REACTIONS_TOO_MANY)


def is_private_start(message: Message) -> bool:
    """A ``/start`` in a private chat (what pressing START sends)."""
    return message.chat.type == "private" and _command_target(message) is not None
