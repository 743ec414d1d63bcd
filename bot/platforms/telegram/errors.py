"""python-telegram-bot's errors mapped to ours, at the edge that calls the Bot API.

Nothing above the Telegram adapter sees a ``telegram.error`` class: ``mapped`` turns each into
one of the family in ``archiver.errors`` (the tree is in its docstring), most specific first —
``BadRequest`` and ``TimedOut`` are ``NetworkError`` subclasses in python-telegram-bot, so they
are matched before it. ``tests/test_telegram_errors.py`` checks that every class the library
exports is mapped.
"""

from __future__ import annotations

from telegram import error as tg

from archiver.errors import CommunityMemoryError, ConfigError
from archiver.events import ChatRef
from bot.chat.messages import PlatformError, PlatformUnavailableError, SendRefusedError


def mapped(exc: tg.TelegramError, chat: ChatRef | None = None) -> CommunityMemoryError:
    """Our error for ``exc``; ``chat`` is the chat the refused call was for, if any."""
    if isinstance(exc, tg.InvalidToken):
        # Not PTB's message: it repeats the token, and logs are no place for secrets.
        return ConfigError(
            "Telegram refused the token; copy it again from @BotFather", key="telegram.token"
        )
    if isinstance(exc, tg.EndPointNotFound):
        return ConfigError(
            f"the Bot API server does not know this method ({exc.message}): check the URL",
            key="telegram.base_url",
        )
    if isinstance(exc, tg.Conflict):
        return PlatformUnavailableError(
            f"another instance polls with this token ({exc.message}): stop the other one"
        )
    if isinstance(exc, tg.ChatMigrated):
        reason = (
            f"the group became a supergroup with the id {exc.new_chat_id}: "
            "put that id in the config"
        )
        return _refused(chat, reason)
    if isinstance(exc, tg.RetryAfter):
        return _refused(chat, f"still rate limited ({exc.message})")
    if isinstance(exc, tg.Forbidden | tg.BadRequest):
        # 403: removed or blocked; 400: e.g. "not enough rights to send text messages".
        return _refused(chat, exc.message)
    if isinstance(exc, tg.NetworkError):  # TimedOut included
        return PlatformUnavailableError(f"Telegram could not be reached: {exc.message}")
    # PassportDecryptionError (the bot never uses Telegram Passport) and anything new.
    return PlatformError(f"Telegram: {exc.message}")


def _refused(chat: ChatRef | None, reason: str) -> PlatformError:
    return SendRefusedError(chat, reason) if chat is not None else PlatformError(reason)
