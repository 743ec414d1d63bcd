"""The post log (``post``) and the memories posted (``posted_memory``).

A claim is one ``INSERT … ON CONFLICT DO NOTHING`` on the unique key (community, kind,
period): whoever inserts the row owns the post; everyone else sees no row inserted. Taking
over a stale claim is one conditional ``UPDATE`` for the same reason — of two instances that
try at once, only one matches the row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Result, func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from storage.models import Post, PostedMemory

PENDING = "pending"
RETRYING = "retrying"
SENT = "sent"


def _changed(result: Result[Any]) -> bool:
    """Whether a DML statement touched a row (Session.execute returns the cursor result)."""
    return bool(cast(CursorResult[Any], result).rowcount)


def insert_claim(
    session: Session, community_id: str, kind: str, period: str, now: datetime
) -> bool:
    """Record the post as pending; False when the log already has (community, kind, period)."""
    values = {
        "community_id": community_id,
        "kind": kind,
        "period": period,
        "status": PENDING,
        "created_at": now,
    }
    if session.get_bind().dialect.name == "postgresql":
        stmt: postgresql.Insert | sqlite.Insert = postgresql.insert(Post).values(**values)
    else:
        stmt = sqlite.insert(Post).values(**values)
    # RETURNING rather than rowcount: an ORM-enabled INSERT does not report the cursor's count.
    inserted = session.execute(
        stmt.on_conflict_do_nothing(index_elements=["community_id", "kind", "period"]).returning(
            col(Post.id)
        )
    ).first()
    return inserted is not None


def take_over_stale(
    session: Session,
    community_id: str,
    kind: str,
    period: str,
    claimed_before: datetime,
    now: datetime,
) -> bool:
    """Take over a ``pending`` claim made before ``claimed_before`` (its sender died): it
    becomes ``retrying``, which is never taken over again. False if there is no such claim."""
    result = session.execute(
        update(Post)
        .where(
            col(Post.community_id) == community_id,
            col(Post.kind) == kind,
            col(Post.period) == period,
            col(Post.status) == PENDING,
            col(Post.created_at) < claimed_before,
        )
        .values(status=RETRYING, created_at=now)
    )
    return _changed(result)


def get_post(session: Session, community_id: str, kind: str, period: str) -> Post | None:
    """The log's entry for (community, kind, period), if any."""
    return session.exec(
        select(Post).where(
            col(Post.community_id) == community_id,
            col(Post.kind) == kind,
            col(Post.period) == period,
        )
    ).first()


def set_sent(session: Session, community_id: str, kind: str, period: str, now: datetime) -> bool:
    """Mark the claimed post as sent; False if the log has no claim for it."""
    result = session.execute(
        update(Post)
        .where(
            col(Post.community_id) == community_id,
            col(Post.kind) == kind,
            col(Post.period) == period,
        )
        .values(status=SENT, sent_at=now)
    )
    return _changed(result)


def delete_claim(session: Session, community_id: str, kind: str, period: str) -> None:
    """Forget an unsent claim (nothing was delivered anywhere)."""
    post = get_post(session, community_id, kind, period)
    if post is not None and post.status != SENT:
        session.delete(post)


def record_memories(
    session: Session, community_id: str, message_ids: Sequence[int], period: str, now: datetime
) -> None:
    """Note that these kept messages were posted as memories now."""
    for message_id in dict.fromkeys(message_ids):
        session.add(
            PostedMemory(
                community_id=community_id, message_id=message_id, period=period, posted_at=now
            )
        )
    session.flush()


def posted_since(session: Session, community_id: str, since: datetime) -> set[int]:
    """The messages of the community posted as memories at or after ``since``."""
    stmt = (
        select(col(PostedMemory.message_id))
        .where(col(PostedMemory.community_id) == community_id)
        .where(col(PostedMemory.posted_at) >= since)
        .group_by(col(PostedMemory.message_id))
    )
    return set(session.exec(stmt))


def last_posted(session: Session, community_id: str) -> dict[int, datetime]:
    """When each memory of the community was last posted (for reports and tests)."""
    stmt = (
        select(col(PostedMemory.message_id), func.max(col(PostedMemory.posted_at)))
        .where(col(PostedMemory.community_id) == community_id)
        .group_by(col(PostedMemory.message_id))
    )
    return {message_id: at for message_id, at in session.exec(stmt)}
