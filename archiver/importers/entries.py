"""What every reader yields: the records of :mod:`archiver.importers.telegram_export`
(``ExportedMessage``, ``MalformedEntry``, ``ExportedChat``), shared by all formats, plus what
only some formats carry, and the stable message key of formats without message ids.

``ExportedMessage`` was the Telegram reader's record first; every other reader yields the same
record, so the pipeline (``archiver.importers.pipeline``) never asks which format it reads.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from archiver.importers.telegram_export import (
    ExportedChat,
    ExportedMessage,
    ExportedReaction,
    MalformedEntry,
)

__all__ = [
    "EditedMessage",
    "ExportedChat",
    "ExportedMessage",
    "ExportedReaction",
    "MalformedEntry",
    "StableKeys",
]

Version = tuple[str, datetime, datetime]
"""An earlier text of an edited message: (text, valid from, replaced at), all UTC."""


@dataclass(frozen=True, slots=True)
class EditedMessage(ExportedMessage):
    """A message whose file carries its earlier texts (Element's bundled edits): ``text`` is
    the newest, ``versions`` the earlier ones, oldest first — stored as message versions, as
    the live bot stores an edit."""

    versions: tuple[Version, ...] = ()


class StableKeys:
    """Message ids for formats that have none the same in every exporter (WeChat's local ids
    differ per tool): a key from (account, Unix second, kind, text), so two exports of the
    same history — two neighbours, or two formats — give the same ids and the archive keeps
    each message once.

    The n-th message with the very same author, second, kind and text gets ``~n`` appended
    (``+1`` twice in one second is two messages); counted per second only, so memory stays
    flat. The key is ``k``, the second in hex, then a BLAKE2b digest (96 bits) of the rest: no
    text can be read back from it, and a file in time order inserts its keys in order into
    the archive's unique index (appending to the B-tree, not scattering over it).
    """

    __slots__ = ("_second", "_seen")

    def __init__(self) -> None:
        self._second = -1
        self._seen: dict[str, int] = {}

    def key(self, author: str, second: int, kind: str | None, text: str) -> str:
        """The id of one message (call in the file's order)."""
        digest = hashlib.blake2b(
            f"{author}\x1f{second}\x1f{kind or ''}\x1f{text}".encode(), digest_size=12
        ).hexdigest()
        if second != self._second:
            self._second = second
            self._seen.clear()
        count = self._seen.get(digest, 0)
        self._seen[digest] = count + 1
        key = f"k{second:08x}{digest}"
        return key if not count else f"{key}~{count}"
