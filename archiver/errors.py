"""Every error Community Memory raises on purpose: one family, one base class.

Hierarchy::

    CommunityMemoryError            base (storage.errors): the CLI prints str(error) as one
    │                               line and exits 1; nothing else is ever shown to a user
    ├── StorageError                (storage.errors) the database refused: unreachable, locked,
    │                               newer schema … — adapters catch it first and retry
    ├── ConfigError                 config file missing, unreadable, a typo or a bad value
    ├── UnknownCommunityError       a community id that neither the config nor the archive knows
    ├── UnknownChatError            (archiver.community) a chat that belongs to no community
    ├── ImportFormatError           an export file or entry that cannot be read
    ├── ConsentError                a consent change that is not allowed
    │   └── NotYourPromptError      someone answered a prompt meant for another person
    ├── NotFoundError               a message, person or story that is not in the archive
    ├── MediaTooLarge               (archiver.media) a file over its kind's size limit
    ├── PostError                   (bot.app.posting) a digest or memory reached none of its chats
    └── PlatformError               (bot.chat.messages) a chat platform failed us; the adapter maps
        │                           its library's errors (python-telegram-bot, nio) to these
        ├── SendRefusedError        the platform refused the bot's message (removed, blocked,
        │                           no right to speak, still rate limited)
        └── PlatformUnavailableError  the platform could not be reached (network, timeout,
            │                       server error); worth trying again later
            └── MatrixUnavailableError  (bot.platforms.matrix.adapter) the homeserver, for the sync

Each carries its context as attributes so callers can react without parsing the message.
"""

from __future__ import annotations

from pathlib import Path

from storage.errors import CommunityMemoryError, StorageError

__all__ = [
    "CommunityMemoryError",
    "ConfigError",
    "ConsentError",
    "ImportFormatError",
    "NotFoundError",
    "NotYourPromptError",
    "StorageError",
    "UnknownCommunityError",
]


class ConfigError(CommunityMemoryError):
    """The configuration cannot be used; names the file and, when known, the key."""

    def __init__(self, message: str, *, path: Path | None = None, key: str | None = None) -> None:
        self.path = path
        self.key = key
        where = f"{path}: " if path else ""
        what = f"{key}: " if key else ""
        super().__init__(f"{where}{what}{message}")


class UnknownCommunityError(CommunityMemoryError):
    """No community with this id."""

    def __init__(self, community_id: str) -> None:
        self.community_id = community_id
        super().__init__(
            f"unknown community {community_id!r}: add it under [[communities]] in the config "
            "or import into it first"
        )


class ImportFormatError(CommunityMemoryError):
    """An import file (or one entry of it) is not in the expected format."""

    def __init__(self, message: str, *, path: Path | None = None, entry: str | None = None) -> None:
        self.path = path
        self.entry = entry
        where = f"{path}: " if path else ""
        at = f"{entry}: " if entry else ""
        super().__init__(f"{where}{at}{message}")


class ConsentError(CommunityMemoryError):
    """A consent change that the consent model does not allow."""


class NotYourPromptError(ConsentError):
    """Only the person a consent question is for may answer it."""

    def __init__(self, subject: str, actor: str) -> None:
        self.subject = subject
        self.actor = actor
        super().__init__(f"{actor} cannot answer a consent question meant for {subject}")


class NotFoundError(CommunityMemoryError):
    """The thing asked for is not in the archive."""
