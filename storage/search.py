"""Reading kept messages back: full-text search and on-this-day date ranges.

Both return ``MessageRow``s: a kept message with what is needed to show it (its space, its
author's display name and attribution choice, how many tags it carries).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Select,
    bindparam,
    func,
    or_,
    select,
)
from sqlmodel import Session, col

from storage.media import of_message
from storage.models import Consent, Media, Message, Person, Space, Tag


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
    media_kind: str | None = None
    file: FileInfo | None = None  # the kept file, when the message has one


@dataclass(frozen=True, slots=True)
class FileInfo:
    """A kept message's file as outputs describe it (never its path: that is media_dir's)."""

    kind: str
    mime: str
    size: int
    sha256: str
    width: int | None
    height: int | None


def tag_count() -> ColumnElement[int]:
    """How many tags the outer query's message carries (a correlated scalar subquery)."""
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
            tag_count().label("tag_count"),
            col(Message.media_kind),
            col(Media.kind),
            col(Media.mime),
            col(Media.size),
            col(Media.sha256),
            col(Media.width),
            col(Media.height),
        )
        .join(Space, col(Space.id) == col(Message.space_id))
        .join(Person, col(Person.id) == col(Message.author_id))
        .join(Consent, col(Consent.person_id) == col(Message.author_id))
        .outerjoin(
            Media,
            of_message(),
        )
    )


def _to_rows(result: Sequence[tuple[object, ...]]) -> list[MessageRow]:
    rows = []
    for row in result:
        mid, platform, chat, pmid, sent_at, body, author, name, attribution, tags = row[:10]
        media_kind, kind, mime, size, digest, width, height = row[10:]
        file = (
            FileInfo(str(kind), str(mime), int(size), str(digest), width, height)  # type: ignore[call-overload, arg-type]
            if kind is not None
            else None
        )
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
                media_kind=media_kind if isinstance(media_kind, str) else None,
                file=file,
            )
        )
    return rows


def search_tokens(
    session: Session, community_id: str, tokens: Sequence[str], limit: int
) -> list[MessageRow]:
    """Kept messages of the community whose tokens include every one of ``tokens``,
    newest first (ties in ``sent_at``: the higher id first). ``tokens`` are already segmented
    and lower-cased like ``message.tokens``."""
    if not tokens or limit <= 0:
        return []
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        ids = _newest_matches_sqlite(conn, community_id, _fts5_query(tokens), limit)
    else:
        ids = _newest_matches_postgresql(conn, community_id, _tsquery(tokens), limit)
    return message_rows(session, ids)


def _fts5_query(tokens: Sequence[str]) -> str:
    """FTS5 query: each token a quoted string, implicit AND."""
    return " ".join('"' + token.replace('"', '""') + '"' for token in tokens)


def _tsquery(tokens: Sequence[str]) -> str:
    """tsquery literal: quoted lexemes are taken as they are, with no parser in between."""
    return " & ".join(
        "'" + token.replace("\\", "\\\\").replace("'", "''") + "'" for token in tokens
    )


# SQLite search strategy (see _newest_matches_sqlite), tuned on the 1,000,000-message bench
# (docs/benchmark.md): reading a rowid off the doclist costs ~0.25 µs, looking a match up in
# ``message`` ~4 µs, testing one index entry against the doclist 40–80 µs.
SORT_MATCHES_MAX = 500
"""At most this many matches: look each one up and sort them by date."""
CANDIDATES_PER_RESULT = 4
"""More: the candidates are the newest ids, this many per result asked for …"""
MIN_CANDIDATES = 32
"""… and at least this many."""

# The highest ids among the matches (FTS5 reads its doclist backwards for this).
_FTS_NEWEST_IDS = (
    "SELECT rowid FROM message_fts WHERE message_fts MATCH ? ORDER BY rowid DESC LIMIT ?"
)
# These matches of the community by date: json_each drives the join (CROSS JOIN keeps that
# order), one rowid lookup per match, then a sort of those rows only.
_SORT = (
    "SELECT m.id, m.sent_at FROM json_each(?) AS j CROSS JOIN message AS m ON m.id = j.value "
    "WHERE m.community_id = ? ORDER BY m.sent_at DESC, m.id DESC LIMIT ?"
)
# Matches with an id below ? and newer than (sent_at, id): a range of ix_message_community_sent
# walked newest first (its entries end with the rowid, so the order needs no sort), where only
# entries of a lower id are tested against the doclist (FTS5 seeks it by rowid).
_OLDER_IDS_NEWER_THAN = (
    "SELECT m.id, m.sent_at FROM message AS m "
    "WHERE m.community_id = ? AND (m.sent_at, m.id) > (?, ?) AND m.id < ? "
    "AND EXISTS (SELECT 1 FROM message_fts WHERE message_fts MATCH ? AND rowid = m.id) "
    "ORDER BY m.sent_at DESC, m.id DESC LIMIT ?"
)
# Every match, newest first: the date index walked, each entry tested against the matches'
# ids (materialised once). "+m.id" keeps the planner from driving the query by the ids.
_WALK_ALL = (
    "SELECT m.id, m.sent_at FROM message AS m WHERE m.community_id = ? "
    "AND +m.id IN (SELECT rowid FROM message_fts WHERE message_fts MATCH ?) "
    "ORDER BY m.sent_at DESC, m.id DESC LIMIT ?"
)


def _newest_matches_sqlite(
    conn: Connection, community_id: str, query: str, limit: int
) -> list[int]:
    """The ids of the ``limit`` newest matches, exactly, whether the words are rare or common.

    Sorting every match by date costs in proportion to the matches (a common word matches a
    tenth of the archive); walking the date index and testing each message costs in
    proportion to the messages walked (all of them for a word that matches nothing). Instead:

    1. Read the highest ids among the matches off the doclist, up to ``SORT_MATCHES_MAX + 1``.
       When that is all of them, look them up and sort them by date: done.
    2. Otherwise take the newest ``CANDIDATES_PER_RESULT × limit`` ids as candidates
       (messages are mostly kept in the order they were sent, so these are nearly always the
       answer) and sort them by date: ``best``.
    3. Check: any match *not* among the candidates has a lower id, so walk the date index
       from the newest message down to the last of ``best``, testing against the doclist only
       the entries of an id below the candidates'; merge what it finds into ``best``.

    Step 3 makes it exact whatever the order of ids and dates (an old archive imported after
    years of live messages only makes it walk further). Every way gives the plain sort's
    order: ``sent_at`` descending, then id descending.
    """
    newest = [
        row[0]
        for row in conn.exec_driver_sql(_FTS_NEWEST_IDS, (query, SORT_MATCHES_MAX + 1)).fetchall()
    ]
    if len(newest) <= SORT_MATCHES_MAX:
        return [mid for mid, _ in _sorted(conn, newest, community_id, limit)]
    candidates = newest[: max(MIN_CANDIDATES, CANDIDATES_PER_RESULT * limit)]
    best = _sorted(conn, candidates, community_id, limit)
    if len(best) < limit and len(candidates) < len(newest):
        candidates = newest  # other communities' messages in between: take more
        best = _sorted(conn, candidates, community_id, limit)
    if len(best) < limit:  # mostly other communities' matches: walk every match
        rows = conn.exec_driver_sql(_WALK_ALL, (community_id, query, limit)).fetchall()
        return [int(row[0]) for row in rows]
    last_id, last_sent = best[-1]
    below = min(candidates)
    params = (community_id, last_sent, last_id, below, query, limit)
    missed = conn.exec_driver_sql(_OLDER_IDS_NEWER_THAN, params).fetchall()
    if missed:
        best = sorted(
            [*best, *((int(mid), sent) for mid, sent in missed)],
            key=lambda row: (row[1], row[0]),
            reverse=True,
        )[:limit]
    return [mid for mid, _ in best]


def _sorted(
    conn: Connection, ids: Sequence[int], community_id: str, limit: int
) -> list[tuple[int, Any]]:
    """(id, stored sent_at) of the community's newest ``limit`` of these messages."""
    if not ids:
        return []
    rows = conn.exec_driver_sql(_SORT, (json.dumps(list(ids)), community_id, limit))
    return [(int(mid), sent) for mid, sent in rows.fetchall()]


def _newest_matches_postgresql(
    conn: Connection, community_id: str, query: str, limit: int
) -> list[int]:
    """The ids of the ``limit`` newest matches, exactly.

    Left to itself, PostgreSQL guesses the share of matches from its statistics, and a word it
    has no statistics for (one that matches nothing, or stale statistics after a bulk import)
    sends it walking the whole date index. So, as on SQLite, a bounded probe of the GIN index
    decides first: at most ``SORT_MATCHES_MAX`` matches are sorted by date from their ids;
    more are found by the plain query, which the planner then walks newest first (a common
    word is among the newest messages) — either way the plain sort's order.
    """
    probe = conn.exec_driver_sql(
        "SELECT id FROM message WHERE search @@ CAST(%s AS tsquery) LIMIT %s",
        (query, SORT_MATCHES_MAX + 1),
    ).fetchall()
    if not probe:
        return []
    if len(probe) <= SORT_MATCHES_MAX:
        sql = (
            "SELECT id FROM message WHERE id = ANY(%s) AND community_id = %s "
            "ORDER BY sent_at DESC, id DESC LIMIT %s"
        )
        params: tuple[object, ...] = ([row[0] for row in probe], community_id, limit)
    else:
        sql = (
            "SELECT id FROM message WHERE community_id = %s AND search @@ CAST(%s AS tsquery) "
            "ORDER BY sent_at DESC, id DESC LIMIT %s"
        )
        params = (community_id, query, limit)
    return [int(row[0]) for row in conn.exec_driver_sql(sql, params).fetchall()]


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
    oldest first, then by id.

    Two steps, like search: the ids of the chosen ``limit``, ordered from the index ranges and
    each candidate's tag count (a lookup in the tag index) alone; then the display columns —
    space, author, attribution — for those few rows only, not for every message of the days.
    """
    if not ranges or limit <= 0:
        return []
    parameters: dict[str, object] = {"community": community_id, "limit": limit}
    for index, (start, end) in enumerate(ranges):
        parameters[f"start{index}"] = start
        parameters[f"end{index}"] = end
    ids = session.execute(_in_ranges(len(ranges)), parameters).scalars()
    return message_rows(session, [int(mid) for mid in ids])


# The statements of on-this-day and of showing results are built once (per number of ranges)
# and run with bound values: building one costs more than SQLite takes to answer it.


@functools.cache
def _rows_by_id() -> Select[*tuple[Any, ...]]:
    return _rows_select().where(col(Message.id).in_(bindparam("ids", expanding=True)))


@functools.lru_cache(maxsize=64)
def _in_ranges(count: int) -> Select[int | None]:
    # Each OR branch repeats the community so that every branch is one range scan of the
    # (community_id, sent_at) index; with the community outside the OR, SQLite scans them all.
    community: BindParameter[str] = bindparam("community")
    within = or_(
        *(
            (col(Message.community_id) == community)
            & (col(Message.sent_at) >= bindparam(f"start{index}"))
            & (col(Message.sent_at) < bindparam(f"end{index}"))
            for index in range(count)
        )
    )
    return (
        select(col(Message.id))
        .where(within)
        .order_by(tag_count().desc(), col(Message.sent_at), col(Message.id))
        .limit(bindparam("limit"))
    )


def message_rows(session: Session, message_ids: Sequence[int]) -> list[MessageRow]:
    """These kept messages, in the order given (missing ones left out)."""
    if not message_ids:
        return []
    rows = _to_rows(list(session.execute(_rows_by_id(), {"ids": list(message_ids)})))
    by_id = {row.id: row for row in rows}
    return [by_id[i] for i in message_ids if i in by_id]
