"""Erasure: removing rows so that nothing readable is left behind.

Deleting rows is not enough on its own: SQLite keeps deleted bytes in free pages and the WAL,
and FTS5 keeps deleted tokens in older index segments until they are merged. So erasure runs
with ``secure_delete`` on (freed pages are zeroed), merges the full-text index (``optimize``)
in the same transaction, and afterwards checkpoints and truncates the WAL. On PostgreSQL the
rows are deleted and the tables vacuumed, which makes the space reusable; the bytes of dead
tuples are overwritten only as the space is reused (documented in docs/consent.md).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import Table, delete, tuple_, update
from sqlmodel import Session, col, select

from storage.db import BUSY_TIMEOUT_S, Database
from storage.media import drop_orphan_rows
from storage.models import HeldMessage, Message, MessageVersion, Person, Story, Tag
from storage.policy import erase_ballots

log = logging.getLogger(__name__)

# A checkpoint waits at most CHECKPOINT_ATTEMPTS × CHECKPOINT_WAIT_MS for readers (2 s).
CHECKPOINT_ATTEMPTS = 8
CHECKPOINT_WAIT_MS = 250
_ERASED_TABLES = (
    "message", "message_version", "held_message", "tag", "person", "story", "media", "ballot",
)  # fmt: skip


def _t(model: object) -> Table:
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


def erase_messages(session: Session, message_ids: Sequence[int]) -> int:
    """Delete kept messages with their versions, every tag on them and their media rows (the
    files go in ``archiver.media_files.remove_unused`` after the commit); returns how many."""
    if not message_ids:
        return 0
    ids = list(message_ids)
    keys = list(
        session.exec(
            select(Message.space_id, Message.platform_message_id).where(col(Message.id).in_(ids))
        )
    )
    conn = session.connection()
    conn.execute(delete(_t(MessageVersion)).where(_t(MessageVersion).c.message_id.in_(ids)))
    if keys:
        conn.execute(
            delete(_t(Tag)).where(
                tuple_(_t(Tag).c.space_id, _t(Tag).c.platform_message_id).in_(keys)
            )
        )
    result = conn.execute(delete(_t(Message)).where(_t(Message).c.id.in_(ids)))
    drop_orphan_rows(session, keys)
    return int(result.rowcount or 0)


def erase_held(session: Session, held_ids: Sequence[int]) -> int:
    """Destroy held copies, the tags waiting on them and their media rows; returns how many."""
    if not held_ids:
        return 0
    ids = list(held_ids)
    keys = list(
        session.exec(
            select(HeldMessage.space_id, HeldMessage.platform_message_id).where(
                col(HeldMessage.id).in_(ids)
            )
        )
    )
    conn = session.connection()
    if keys:
        conn.execute(
            delete(_t(Tag)).where(
                tuple_(_t(Tag).c.space_id, _t(Tag).c.platform_message_id).in_(keys)
            )
        )
    result = conn.execute(delete(_t(HeldMessage)).where(_t(HeldMessage).c.id.in_(ids)))
    drop_orphan_rows(session, keys)
    return int(result.rowcount or 0)


def erase_contributions(session: Session, person_id: int) -> tuple[int, int, int]:
    """Everything a person contributed: their kept and held messages, the tags they made,
    their display name, their name on stories. Returns (messages, held, tags)."""
    message_ids = list(session.exec(select(Message.id).where(Message.author_id == person_id)))
    held_ids = list(session.exec(select(HeldMessage.id).where(HeldMessage.author_id == person_id)))
    messages = erase_messages(session, [i for i in message_ids if i is not None])
    held = erase_held(session, [i for i in held_ids if i is not None])
    conn = session.connection()
    tags = conn.execute(delete(_t(Tag)).where(_t(Tag).c.tagger_id == person_id)).rowcount or 0
    conn.execute(
        update(_t(Story)).where(_t(Story).c.created_by == person_id).values(created_by=None)
    )
    conn.execute(update(_t(Person)).where(_t(Person).c.id == person_id).values(display_name=None))
    erase_ballots(session, person_id)
    return messages, held, int(tags)


def merge_search_index(session: Session) -> None:
    """Rewrite the SQLite full-text index without the deleted entries (inside the erasing
    transaction, so erased tokens never outlive the commit)."""
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql(
            "INSERT INTO message_fts(message_fts) VALUES ('optimize')"
        )


def purge_residue(db: Database) -> None:
    """After an erasure commits: move the WAL into the database file and truncate it (SQLite),
    or vacuum the tables that held the erased rows (PostgreSQL).

    A SQLite checkpoint that stays busy is logged; the bot's periodic purge
    (``archiver.preservation.purge_expired``) checkpoints again every few minutes."""
    if db.is_sqlite:
        # Outside any transaction. A TRUNCATE checkpoint waits in the busy handler for every
        # reader on an older snapshot; the archive's 30 s busy timeout would let one long
        # reader (an export, a site build) stall the erasing handler for minutes, so the wait
        # is bounded here and the rest left to the next purge. Until a checkpoint gets
        # through, the erased rows' old bytes can still sit in WAL frames or in database pages
        # whose zeroed versions have not been copied back yet.
        busy = 1
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute(f"PRAGMA busy_timeout={CHECKPOINT_WAIT_MS}")
            try:
                for _attempt in range(CHECKPOINT_ATTEMPTS):
                    busy, _log, _done = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                    if not busy:
                        break
            finally:
                cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
        finally:
            raw.close()
        if busy:
            log.warning(
                "the WAL could not be checkpointed: a reader kept it busy; erased bytes may "
                "stay in it until the next purge"
            )
    else:
        with db.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            for table in _ERASED_TABLES:
                conn.exec_driver_sql(f"VACUUM {table}")
