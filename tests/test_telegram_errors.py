"""Every error python-telegram-bot exports is mapped to ours at the adapter's edge
(``bot/platforms/telegram/errors.py``), and the error family is one tree under
CommunityMemoryError."""

from __future__ import annotations

import inspect
from datetime import timedelta

import pytest
import telegram.error as tg

from archiver import errors
from archiver.errors import CommunityMemoryError, ConfigError, StorageError
from archiver.events import ChatRef
from bot.app.posting import PostError
from bot.chat.messages import PlatformError, PlatformUnavailableError, SendRefusedError
from bot.platforms.matrix.adapter import MatrixUnavailableError
from bot.platforms.telegram.errors import mapped

CHAT = ChatRef("telegram", "-1001987654321")

EXPECTED: dict[str, type[CommunityMemoryError]] = {
    "BadRequest": SendRefusedError,
    "ChatMigrated": SendRefusedError,
    "Conflict": PlatformUnavailableError,
    "EndPointNotFound": ConfigError,
    "Forbidden": SendRefusedError,
    "InvalidToken": ConfigError,
    "NetworkError": PlatformUnavailableError,
    "PassportDecryptionError": PlatformError,
    "RetryAfter": SendRefusedError,
    "TelegramError": PlatformError,
    "TimedOut": PlatformUnavailableError,
}


def instance(name: str) -> tg.TelegramError:
    """One error of each class, built as python-telegram-bot builds it."""
    cls = getattr(tg, name)
    if name == "ChatMigrated":
        return cls(-1001234)
    if name == "RetryAfter":
        return cls(timedelta(seconds=3))
    return cls("not enough rights to send text messages to the chat")


def test_every_exported_class_is_in_the_table() -> None:
    exported = {
        name
        for name in tg.__all__
        if inspect.isclass(getattr(tg, name)) and issubclass(getattr(tg, name), Exception)
    }
    assert exported == set(EXPECTED), "a new python-telegram-bot error needs a mapping"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_maps_to_its_class_of_ours(name: str) -> None:
    ours = mapped(instance(name), CHAT)
    assert type(ours) is EXPECTED[name]
    assert "\n" not in str(ours) and str(ours)
    if isinstance(ours, SendRefusedError):
        assert ours.chat == CHAT


def test_a_refusal_without_a_chat_is_a_platform_error() -> None:
    assert type(mapped(tg.Forbidden("bot was blocked by the user"))) is PlatformError


def test_the_token_never_appears_in_the_message() -> None:
    token = "123456:SECRET"
    assert token not in str(mapped(tg.InvalidToken(f"The token `{token}` was rejected")))


@pytest.mark.parametrize(
    "cls",
    [
        StorageError,
        ConfigError,
        errors.ImportFormatError,
        errors.NotYourPromptError,
        errors.NotFoundError,
        PostError,
        SendRefusedError,
        PlatformUnavailableError,
        MatrixUnavailableError,
    ],
)
def test_one_family(cls: type[Exception]) -> None:
    assert issubclass(cls, CommunityMemoryError)
    assert cls.__name__ in (errors.__doc__ or ""), "the tree in archiver/errors.py names it"
