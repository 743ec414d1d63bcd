"""What the Matrix adapter keeps in ``matrix.store_dir``: the sync token and the direct rooms.

``state.json`` holds the account it belongs to, the token of the last sync whose events were
all handled (the next start resumes from it), and the bot's direct room with each person.
It is written atomically (a temporary file renamed over the old one), so a crash leaves either
the old or the new state, never half of one.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

STATE_FILE = "state.json"


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
        self._load()

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

    def save(self) -> None:
        """Write the state (atomically)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        data = {
            "user_id": self.user_id,
            "next_batch": self.next_batch,
            "direct": self.direct,
            "pending": self.pending,
        }
        temporary = self.path.with_suffix(".tmp")
        with temporary.open("w", encoding="utf-8") as out:
            json.dump(data, out, indent=1, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.path)

    def is_direct(self, room_id: str) -> bool:
        """Whether this room is the bot's private chat with someone."""
        return room_id in self.direct.values()
