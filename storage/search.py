"""Reading kept messages back: full-text search and on-this-day date ranges.

Both return ``MessageRow``s: a kept message with what is needed to show it (its space, its
author's display name and attribution choice, how many tags it carries).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal_column, or_, select, text
from sqlmodel import Session, col

from storage.models import Consent, Message, Person, Space, Tag


@dataclass(frozen=True, slots=True)
class MessageRow:
    """A kept message as shown to residents and in JSON output."""

    id: int
    space: str  # "platform:chat_id"
    platform_message_id: str
    sent_at: datetime
    text: str
    author_id: int
    author_name: str | None
    attribution: str
    tag_count: int


def _tag_count() -> ColumnElement[int]:
    return (
        select(func.count())
        .select_from(Tag)
        .where(
            col(Tag.space_id) == col(Message.space_id),
            col(Tag.platform_message_id) == col(Message.platform_message_id),
        )
        .scalar_subquery()
    )


def _rows_select() -> Select[*tuple[Any, ...]]:
    return (
        select(
            col(Message.id),
            col(Space.platform),
            col(Space.chat_id),
            col(Message.platform_message_id),
            col(Message.sent_at),
            col(Message.text),
            col(Message.author_id),
            col(Person.display_name),
            col(Consent.attribution),
            _tag_count().label("tag_count"),
        )
        .join(Space, col(Space.id) == col(Message.space_id))
        .join(Person, col(Person.id) == col(Message.author_id))
        .join(Consent, col(Consent.person_id) == col(Message.author_id))
    )


def _to_rows(result: Sequence[tuple[object, ...]]) -> list[MessageRow]:
    rows = []
    for mid, platform, chat, pmid, sent_at, body, author, name, attribution, tags in result:
        rows.append(
            MessageRow(
                id=int(mid),  # type: ignore[call-overload]
                space=f"{platform}:{chat}",
                platform_message_id=str(pmid),
                sent_at=sent_at,  # type: ignore[arg-type]
                text=str(body),
                author_id=int(author),  # type: ignore[call-overload]
                author_name=name if isinstance(name, str) else None,
                attribution=str(attribution),
                tag_count=int(tags or 0),  # type: ignore[call-overload]
            )
        )
    return rows


def search_tokens(
    session: Session, community_id: str, tokens: Sequence[str], limit: int
) -> list[MessageRow]:
    """Kept messages of the community whose tokens include every one of ``tokens``,
    newest first. ``tokens`` are already segmented and lower-cased like ``message.tokens``."""
    if not tokens or limit <= 0:
        return []
    dialect = session.get_bind().dialect.name
    # Two steps: the newest matching ids first (a sort over the matches alone), then the
    # display columns — tag counts included — for those few rows only.
    stmt = select(col(Message.id)).where(col(Message.community_id) == community_id)
    if dialect == "sqlite":
        # FTS5 query: each token a quoted string, implicit AND.
        query = " ".join('"' + token.replace('"', '""') + '"' for token in tokens)
        stmt = stmt.where(
            col(Message.id).in_(
                select(literal_column("rowid"))
                .select_from(text("message_fts"))
                .where(text("message_fts MATCH :fts_query"))
            )
        ).params(fts_query=query)
    else:
        # tsquery literal: quoted lexemes are taken as they are, with no parser in between.
        query = " & ".join(
            "'" + token.replace("\\", "\\\\").replace("'", "''") + "'" for token in tokens
        )
        stmt = stmt.where(text("message.search @@ CAST(:ts_query AS tsquery)")).params(
            ts_query=query
        )
    stmt = stmt.order_by(col(Message.sent_at).desc(), col(Message.id).desc()).limit(limit)
    return message_rows(session, [int(mid) for mid in session.execute(stmt).scalars()])


def first_message_at(session: Session, community_id: str) -> datetime | None:
    """When the community's oldest kept message was sent."""
    stmt = (
        select(col(Message.sent_at))
        .where(col(Message.community_id) == community_id)
        .order_by(col(Message.sent_at))
        .limit(1)
    )
    first: datetime | None = session.execute(stmt).scalar()
    return first


def messages_in_ranges(
    session: Session,
    community_id: str,
    ranges: Sequence[tuple[datetime, datetime]],
    limit: int,
) -> list[MessageRow]:
    """Kept messages sent within any of the half-open UTC ``ranges``, most-tagged first, then
    oldest first. Each range is an index range scan on (community_id, sent_at)."""
    if not ranges or limit <= 0:
        return []
    # Each OR branch repeats the community so that every branch is one range scan of the
    # (community_id, sent_at) index; with the community outside the OR, SQLite scans them all.
    within = or_(
        *(
            (col(Message.community_id) == community_id)
            & (col(Message.sent_at) >= start)
            & (col(Message.sent_at) < end)
            for start, end in ranges
        )
    )
    stmt = (
        _rows_select()
        .where(within)
        .order_by(literal_column("tag_count").desc(), col(Message.sent_at), col(Message.id))
        .limit(limit)
    )
    return _to_rows(list(session.execute(stmt)))


def message_rows(session: Session, message_ids: Sequence[int]) -> list[MessageRow]:
    """These kept messages, in the order given (missing ones left out)."""
    if not message_ids:
        return []
    rows = _to_rows(list(session.execute(_rows_select().where(col(Message.id).in_(message_ids)))))
    by_id = {row.id: row for row in rows}
    return [by_id[i] for i in message_ids if i in by_id]
