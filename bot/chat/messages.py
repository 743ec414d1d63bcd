"""What the platform adapters and the command router exchange: platform-neutral messages in,
platform-neutral replies out. Adapters translate; the router decides."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from archiver.errors import CommunityMemoryError
from archiver.events import AccountRef, ChatRef, MediaRef, MessageEvent


@dataclass(frozen=True, slots=True)
class Incoming:
    """A message someone sent where the bot can see it."""

    chat: ChatRef
    private: bool
    message_id: str
    sender: AccountRef
    sender_name: str | None
    text: str
    sent_at: datetime
    # The replied-to message: its id always, its content when the platform delivers it.
    reply_to_id: str | None = None
    reply_to: MessageEvent | None = None
    reply_to_is_bot: bool = False
    media_kind: str | None = None
    chat_title: str | None = None
    media: MediaRef | None = None
    # Accounts the message mentions (Telegram: text mentions and @usernames the bot has seen;
    # Matrix: user ids), in order.
    mentions: tuple[AccountRef, ...] = ()

    def as_event(self) -> MessageEvent:
        """The archiver's view of this message."""
        return MessageEvent(
            chat=self.chat,
            message_id=self.message_id,
            author=self.sender,
            sent_at=self.sent_at,
            text=self.text,
            author_name=self.sender_name,
            reply_to=self.reply_to_id,
            media_kind=self.media_kind,
            media=self.media,
        )


@dataclass(frozen=True, slots=True)
class Reaction:
    """Someone added an emoji reaction to a message."""

    chat: ChatRef
    message_id: str
    by: AccountRef
    by_name: str | None
    emoji: str
    # The reacted-to message's content, when the adapter has it (Matrix can fetch it).
    target: MessageEvent | None = None


@dataclass(frozen=True, slots=True)
class Button:
    """A one-tap answer: a Telegram inline button; on Matrix, a reaction with ``emoji``."""

    label: str
    data: str  # "p:<prompt id>:<answer>", well under Telegram's 64 bytes
    emoji: str


@dataclass(frozen=True, slots=True)
class PollRequest:
    """A vote's poll for the adapter to open (non-anonymous, one answer, changeable): the
    options in ``archiver.votes.ANSWERS`` order. The adapter reports the sent poll with
    ``Router.poll_sent`` (or ``Router.poll_failed``)."""

    vote_id: int
    question: str
    options: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Reply:
    """Something the bot says. ``private_to`` asks the adapter to send it in a private chat
    with that account instead, then ``confirmation`` in ``chat`` — or ``fallback`` there if
    the person cannot be written to privately (never started the bot).

    ``picture`` (PNG or JPEG bytes: the digest's picture, a resident's kept photo) goes with
    the text: Telegram sends a photo with the text as its caption (up to 1,024 characters, the
    rest as a message of its own); Matrix uploads an ``m.image`` and sends the text as an
    ``m.notice``."""

    chat: ChatRef
    text: str
    reply_to: str | None = None
    buttons: tuple[Button, ...] = ()
    prompt_id: int | None = None
    private_to: AccountRef | None = None
    fallback: Reply | None = None
    confirmation: Reply | None = None
    mention: AccountRef | None = None
    mention_name: str | None = None
    picture: bytes | None = None
    poll: PollRequest | None = None  # sent after the text, as a poll of its own


class PlatformError(CommunityMemoryError):
    """A chat platform failed a call of the bot's. Each adapter maps its library's errors to
    this family at the edge that calls the library (``bot/platforms/telegram/errors.py``; the Matrix
    adapter's answers), so nothing above the adapters sees python-telegram-bot or nio."""


class PlatformUnavailableError(PlatformError):
    """The platform could not be reached or failed on its side (network, timeout, 5xx):
    nothing was done, and the same call may work later."""


class FileTooLargeError(PlatformError):
    """The platform will not hand a file over for its size (a Telegram bot downloads at
    most 20 MB); ``limit`` is that size in bytes."""

    def __init__(self, message: str, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


class SendRefusedError(PlatformError):
    """The platform refused a message of the bot's: the bot was removed from the chat (or
    blocked), may not speak there (Matrix power levels), or stayed rate limited past waiting.
    Nothing was delivered. An adapter's ``send`` raises it so that a post is not counted as
    sent; an answer to a resident that is refused is only logged."""

    def __init__(self, chat: ChatRef, reason: str) -> None:
        self.chat = chat
        self.reason = reason
        super().__init__(f"{chat.platform} chat {chat.chat_id} refused the message: {reason}")


class Sender(Protocol):
    """What a platform adapter offers for posting: deliver one ``Reply`` (text, picture) to
    its chat. Raises ``SendRefusedError`` when the platform refuses it (a chat that removed
    the bot is also marked inactive), another error when the platform cannot be reached;
    returning means it was delivered."""

    async def send(self, reply: Reply) -> None:
        """Deliver ``reply``."""
        ...

    async def close_poll(self, chat: ChatRef, poll_message_id: str) -> None:
        """Close a vote's poll in its chat (so nobody answers after the tally)."""
        ...


@dataclass(frozen=True, slots=True)
class ButtonResult:
    """The answer to a button press: a short notice for the presser (``alert`` for a pop-up),
    and messages to post."""

    notice: str
    alert: bool = False
    replies: tuple[Reply, ...] = field(default_factory=tuple)
    close_prompt: bool = False


def button_data(prompt_id: int, answer: str) -> str:
    """Encode a prompt answer for a button."""
    return f"p:{prompt_id}:{answer}"


def parse_button_data(data: str) -> tuple[int, str] | None:
    """Decode ``button_data``; None for anything else (a stale or foreign button)."""
    kind, _, rest = data.partition(":")
    prompt, _, answer = rest.partition(":")
    if kind != "p" or not prompt.isdigit() or not answer:
        return None
    return int(prompt), answer
