"""Normalized events: what the platform adapters hand to the archiver.

Platform ids are strings everywhere (Telegram's integers, Matrix's ``!room:server`` and
``$event``), so one archive can hold both. Times are timezone-aware.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from archiver.errors import CommunityMemoryError


@dataclass(frozen=True, slots=True)
class AccountRef:
    """A platform account: ``telegram:123456`` or ``matrix:@alice:example.org``."""

    platform: str
    user_id: str

    @property
    def key(self) -> str:
        """The ``platform:user_id`` form used in rosters, exports and the CLI."""
        return f"{self.platform}:{self.user_id}"

    @classmethod
    def parse(cls, key: str) -> AccountRef:
        """Read ``platform:user_id``; raises ``CommunityMemoryError`` on anything else."""
        platform, sep, user_id = key.strip().partition(":")
        if not sep or not platform or not user_id or platform not in PLATFORMS:
            raise CommunityMemoryError(
                f"{key!r} is not an account: write it as telegram:123456 or "
                "matrix:@name:example.org"
            )
        return cls(platform, user_id)

    def __str__(self) -> str:
        return self.key


PLATFORMS = ("telegram", "matrix", "wechat", "qq")


@dataclass(frozen=True, slots=True)
class ChatRef:
    """A chat on a platform (a Telegram group or a Matrix room)."""

    platform: str
    chat_id: str


@dataclass(frozen=True, slots=True)
class MediaRef:
    """A file attached to a message, as the platform offers it for download: not its bytes.

    ``handle`` is what the adapter downloads by (a Telegram ``file_id``, a Matrix ``mxc://``
    URL); ``size`` is what the platform announced (checked against the limits before any
    download); ``decryption`` is a Matrix encrypted attachment's key material (the event's
    ``file`` object), kept only in memory until the download is decrypted."""

    kind: str  # one of archiver.media.KINDS
    handle: str
    size: int | None = None
    file_name: str | None = None
    mime: str | None = None
    duration: int | None = None
    decryption: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class MessageEvent:
    """A message someone sent (live, or as the replied-to message of a tag)."""

    chat: ChatRef
    message_id: str
    author: AccountRef
    sent_at: datetime
    text: str
    author_name: str | None = None
    reply_to: str | None = None
    media_kind: str | None = None
    media: MediaRef | None = None


@dataclass(frozen=True, slots=True)
class EditEvent:
    """A message was edited on the platform."""

    chat: ChatRef
    message_id: str
    editor: AccountRef
    text: str
    edited_at: datetime


@dataclass(frozen=True, slots=True)
class DeleteEvent:
    """A message was deleted or redacted on the platform."""

    chat: ChatRef
    message_id: str
    by: AccountRef | None = None


class TagMethod(StrEnum):
    """How someone asked to keep a message."""

    COMMAND = "command"
    HASHTAG = "hashtag"
    REACTION = "reaction"
    IMPORT = "import"


@dataclass(frozen=True, slots=True)
class TagEvent:
    """Someone asked to keep a message: ``keep``, ``#keep``/``#留存``/``#记住``, or the keep emoji.

    ``target`` carries the tagged message's content when the platform delivered it (a Telegram
    reply includes the replied-to message; a reaction does not).
    """

    chat: ChatRef
    message_id: str
    tagger: AccountRef
    method: TagMethod
    story: str | None = None
    target: MessageEvent | None = None


@dataclass(frozen=True, slots=True)
class ReactionEvent:
    """An emoji reaction was added to a message."""

    chat: ChatRef
    message_id: str
    by: AccountRef
    emoji: str
