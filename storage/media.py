"""The ``media`` table: which file (by SHA-256) belongs to which kept or held message.

The files themselves live under ``media_dir`` (``archiver.media`` writes them); this module
only records and reads rows. A file is in use while any row of its community names its hash;
``hashes_in_use`` is what decides that a file may go after an erasure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    delete,
    exists,
    func,
    select,
    text,
    tuple_,
    update,
)
from sqlmodel import Session, col

from storage.messages import insert_ignoring_duplicates
from storage.models import HeldMessage, Media, Message

# Any constant: it names the lock that media writes and file sweeps take on PostgreSQL.
_LOCK_KEY = 0x6D65646961


def _table() -> Table:
    table: Table = Media.__table__  # type: ignore[attr-defined]
    return table


def of_message(model: Any = Message) -> ColumnElement[bool]:
    """The join condition of a message (kept, or ``HeldMessage``) and its file: the same
    platform key, as tags have."""
    return and_(
        col(Media.space_id) == col(model.space_id),
        col(Media.platform_message_id) == col(model.platform_message_id),
    )


def lock_media_files(session: Session) -> None:
    """Serialise this transaction with every other that writes or removes media files.

    A file is written, or found unused and removed, inside a write transaction that first
    takes this lock, so a sweep never removes a file whose row is about to be committed. On
    SQLite the write transaction's ``BEGIN IMMEDIATE`` is already that lock."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection().execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})


def add_media(session: Session, row: Media) -> bool:
    """Record a message's file; False if the message already has one (nothing changes)."""
    values = row.model_dump(exclude={"id"})
    return insert_ignoring_duplicates(session, Media, [values]) == 1


def add_media_rows(session: Session, rows: Sequence[dict[str, object]]) -> int:
    """Record many files at once (an import); rows for messages that have one are skipped."""
    return insert_ignoring_duplicates(session, Media, rows) if rows else 0


def media_of(session: Session, space_id: int, platform_message_id: str) -> Media | None:
    """The file kept with this message, if any."""
    stmt = select(Media).where(
        col(Media.space_id) == space_id, col(Media.platform_message_id) == platform_message_id
    )
    found: Media | None = session.execute(stmt).scalars().first()
    return found


def media_by_message(session: Session, message_ids: Sequence[int]) -> dict[int, Media]:
    """Kept message id → its file, for these messages."""
    found: dict[int, Media] = {}
    ids = sorted(set(message_ids))
    for start in range(0, len(ids), 5000):
        stmt = (
            select(col(Message.id), Media)
            .join(Media, of_message())
            .where(col(Message.id).in_(ids[start : start + 5000]))
        )
        found.update({mid: media for mid, media in session.execute(stmt)})
    return found


def community_bytes(session: Session, community_id: str) -> int:
    """Bytes the community's files take (each stored file counted once)."""
    sizes = (
        select(col(Media.sha256), func.max(col(Media.size)).label("size"))
        .where(col(Media.community_id) == community_id)
        .group_by(col(Media.sha256))
        .subquery()
    )
    total = session.execute(select(func.coalesce(func.sum(sizes.c.size), 0))).scalar_one()
    return int(total)


def hashes_in_use(session: Session) -> set[tuple[str, str]]:
    """Every (community, hash) some row still names."""
    stmt = select(col(Media.community_id), col(Media.sha256)).distinct()
    return {(community, digest) for community, digest in session.execute(stmt)}


def count_media_of(session: Session, person_id: int) -> int:
    """How many files are kept or held with this person's messages."""
    total = 0
    for model in (Message, HeldMessage):
        stmt = (
            select(func.count())
            .select_from(Media)
            .join(model, of_message(model))
            .where(col(model.author_id) == person_id)
        )
        total += int(session.execute(stmt).scalar_one())
    return total


def drop_orphan_rows(session: Session, keys: Iterable[tuple[int, str]]) -> int:
    """Delete the rows of these (space, platform message id) keys that neither a kept message
    nor a held copy has any more (called by erasure after it deleted those)."""
    wanted = list(keys)
    if not wanted:
        return 0
    media = _table()
    message: Table = Message.__table__  # type: ignore[attr-defined]
    held: Table = HeldMessage.__table__  # type: ignore[attr-defined]
    still = [
        exists().where(
            table.c.space_id == media.c.space_id,
            table.c.platform_message_id == media.c.platform_message_id,
        )
        for table in (message, held)
    ]
    result = session.connection().execute(
        delete(media).where(
            tuple_(media.c.space_id, media.c.platform_message_id).in_(wanted),
            ~still[0],
            ~still[1],
        )
    )
    return int(result.rowcount or 0)


def all_media(session: Session, community_id: str) -> list[tuple[Media, datetime]]:
    """The community's files with the time of their message (kept messages only), oldest
    first."""
    stmt = (
        select(Media, col(Message.sent_at))
        .join(Message, of_message())
        .where(col(Media.community_id) == community_id)
        .order_by(col(Message.sent_at))
    )
    return [(media, sent) for media, sent in session.execute(stmt)]


def stored_files_of_mime(session: Session, mimes: Sequence[str]) -> list[tuple[str, str, str]]:
    """The distinct stored files (community, hash, kind) whose rows have one of ``mimes``."""
    stmt = (
        select(col(Media.community_id), col(Media.sha256), col(Media.kind))
        .where(col(Media.mime).in_(list(mimes)))
        .distinct()
        .order_by(col(Media.community_id), col(Media.sha256))
    )
    return [(community, digest, kind) for community, digest, kind in session.execute(stmt)]


def replace_stored_file(
    session: Session, community_id: str, old_sha256: str, new: dict[str, object]
) -> int:
    """Point every row of the community's file ``old_sha256`` at a new one (``new``: its
    ``sha256``, ``mime``, ``size``, ``width``, ``height``, ``has_thumbnail``); how many."""
    media = _table()
    result = session.connection().execute(
        update(media)
        .where(media.c.community_id == community_id, media.c.sha256 == old_sha256)
        .values(**new)
    )
    return int(result.rowcount or 0)


def drop_stored_file(session: Session, community_id: str, sha256: str) -> int:
    """Delete every row of the community's file ``sha256`` (its messages stay); how many."""
    media = _table()
    result = session.connection().execute(
        delete(media).where(media.c.community_id == community_id, media.c.sha256 == sha256)
    )
    return int(result.rowcount or 0)
