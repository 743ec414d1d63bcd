"""Backups of a SQLite archive through SQLite's online backup API (safe while the bots run)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from storage.db import Database
from storage.errors import StorageError


def backup_sqlite(db: Database, out: Path) -> int:
    """Copy the archive, consistent as of one moment, to ``out``; returns its size in bytes.

    Refuses to overwrite an existing file; creates missing folders. A PostgreSQL archive is
    backed up with its own tools (``pg_dump``); ``export jsonl`` works on both.
    """
    if not db.is_sqlite or db.sqlite_path is None:
        raise StorageError(
            "backup copies a SQLite archive file; for PostgreSQL use pg_dump "
            "(or `community-memory export jsonl`)"
        )
    if out.exists():
        raise StorageError(f"{out} already exists; choose a new file name")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot create the folder {out.parent}: {exc.strerror}") from exc
    raw = db.engine.raw_connection()
    try:
        source = raw.driver_connection
        assert isinstance(source, sqlite3.Connection)
        target = sqlite3.connect(out)
        try:
            source.backup(target)
        finally:
            target.close()
    except sqlite3.Error as exc:
        out.unlink(missing_ok=True)
        raise StorageError(f"backup to {out} failed: {exc}") from exc
    finally:
        raw.close()
    return out.stat().st_size
