"""What the Matrix adapter keeps in ``matrix.store_dir``: the sync token and the direct rooms.

``state.json`` holds the account it belongs to, the token of the last sync whose events were
all handled (the next start resumes from it), and the bot's direct room with each person.
It is written atomically (a temporary file renamed over the old one), so a crash leaves either
the old or the new state, never half of one.

``reactions.json`` remembers the keep reactions that tagged a message: reaction event id →
room, message and sender. A redaction names only the reaction's event id, and a redacted
reaction loses its relation, so this is how a redacted keep reaction finds the tag it made (see
docs/matrix.md for why here and not in the archive). It is saved with ``state.json`` — so an
entry is durable exactly when the sync that carried its reaction is, and a replayed sync
records it again — but written only when it changed (tags are rare; syncs are not). The most
recent ``REMEMBERED_REACTIONS`` are kept.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

STATE_FILE = "state.json"
REACTIONS_FILE = "reactions.json"
REMEMBERED_REACTIONS = 10_000


class MatrixStore:
    """The adapter's state for one account, loaded at start and saved after each sync."""

    def __init__(self, directory: str | Path, user_id: str) -> None:
        self.directory = Path(directory)
        self.user_id = user_id
        self.next_batch: str | None = None
        self.direct: dict[str, str] = {}  # person's user id → room id
        # Encrypted events not decryptable yet (their key has not arrived): event id →
        # {"room_id", "event"}. Tried again after every sync; never handed to the archive.
        self.pending: dict[str, dict[str, Any]] = {}
        # Keep reactions that tagged a message, oldest first: event id → {"room_id",
        # "message_id", "sender", "emoji"}.
        self.reactions: dict[str, dict[str, str]] = {}
        self._reactions_changed = False
        self._load()
        self._load_reactions()

    @property
    def path(self) -> Path:
        """The state file."""
        return self.directory / STATE_FILE

    def _load(self) -> None:
        try:
            data: Any = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.warning("matrix: ignoring unreadable %s (%s); starting afresh", self.path, exc)
            return
        if not isinstance(data, dict) or data.get("user_id") != self.user_id:
            log.warning("matrix: %s belongs to another account; starting afresh", self.path)
            return
        token = data.get("next_batch")
        self.next_batch = token if isinstance(token, str) else None
        direct = data.get("direct")
        if isinstance(direct, dict):
            self.direct = {str(k): str(v) for k, v in direct.items()}
        pending = data.get("pending")
        if isinstance(pending, dict):
            self.pending = {str(k): v for k, v in pending.items() if isinstance(v, dict)}

    def _load_reactions(self) -> None:
        path = self.directory / REACTIONS_FILE
        try:
            data: Any = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.warning("matrix: ignoring unreadable %s (%s)", path, exc)
            return
        if not isinstance(data, dict) or data.get("user_id") != self.user_id:
            return
        found = data.get("reactions")
        if isinstance(found, dict):
            self.reactions = {
                str(k): {str(f): str(v) for f, v in entry.items()}
                for k, entry in found.items()
                if isinstance(entry, dict)
            }

    def remember_reaction(
        self, event_id: str, room_id: str, message_id: str, sender: str, emoji: str
    ) -> None:
        """A keep reaction that tagged ``message_id`` (dropping the oldest beyond the bound)."""
        self.reactions.pop(event_id, None)
        self.reactions[event_id] = {
            "room_id": room_id,
            "message_id": message_id,
            "sender": sender,
            "emoji": emoji,
        }
        while len(self.reactions) > REMEMBERED_REACTIONS:
            del self.reactions[next(iter(self.reactions))]
        self._reactions_changed = True

    def forget_reaction(self, event_id: str) -> None:
        """The reaction was redacted and its tag removed: nothing more to remember of it."""
        if self.reactions.pop(event_id, None) is not None:
            self._reactions_changed = True

    def save(self) -> None:
        """Write the state (atomically), and the reactions when they changed."""
        self.directory.mkdir(parents=True, exist_ok=True)
        data = {
            "user_id": self.user_id,
            "next_batch": self.next_batch,
            "direct": self.direct,
            "pending": self.pending,
        }
        _write_atomically(self.path, data, sort_keys=True)
        if self._reactions_changed:
            _write_atomically(
                self.directory / REACTIONS_FILE,
                {"user_id": self.user_id, "reactions": self.reactions},
                sort_keys=False,  # oldest first: the order is what the bound drops by
            )
            self._reactions_changed = False

    def is_direct(self, room_id: str) -> bool:
        """Whether this room is the bot's private chat with someone."""
        return room_id in self.direct.values()


def _write_atomically(path: Path, data: dict[str, Any], *, sort_keys: bool) -> None:
    """Write JSON to a temporary file, flush it to disk, and rename it over ``path``."""
    temporary = path.with_suffix(".tmp")
    with temporary.open("w", encoding="utf-8") as out:
        json.dump(data, out, indent=1, sort_keys=sort_keys)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
