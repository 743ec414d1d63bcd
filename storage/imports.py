"""Bulk reads and writes for importers, values formatted exactly like the models'.

An import writes hundreds of thousands of rows, so it skips the ORM and SQLAlchemy's per-row
work: rows arrive as plain tuples, each column's own bind processor (``UTCDateTime``,
``ChatText`` …, resolved for the dialect as SQLAlchemy resolves it) is applied to the whole
column at once, and the rows go to the driver as they are. What lands in the database is
exactly what the models would have written (``tests/test_import_telegram.py`` compares an
imported row with a live-ingested one).

* **SQLite**: multi-row ``INSERT … VALUES (…), (…) ON CONFLICT DO NOTHING``, about 2,300 rows
  a statement. This matters beyond the saved calls: the ``message_fts_insert`` trigger feeds
  FTS5, and FTS5 flushes its pending index at every statement savepoint, i.e. once per
  ``executemany`` row. One statement per thousand rows indexes about four times faster.
* **PostgreSQL**: one short ``INSERT … ON CONFLICT DO NOTHING`` through ``executemany``, which
  psycopg pipelines. (A long multi-row statement would be re-parsed by psycopg in Python on
  every call: it caches only short queries.)

Membership tests ("which of these ids are kept?") pass the ids as one parameter (a JSON array
on SQLite, an array on PostgreSQL) instead of thousands of expanded ``IN`` parameters.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Dialect, Table, bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select
from sqlmodel.sql.sqltypes import UTCDateTime

from storage.models import ConsentEvent, Message, MessageVersion, Person, Tag, _WithoutNul

MESSAGE_COLUMNS = (
    "community_id",
    "space_id",
    "platform_message_id",
    "author_id",
    "consent_event_id",
    "sent_at",
    "edited_at",
    "text",
    "tokens",
    "reply_to",
    "media_kind",
    "source",
    "kept_at",
)
"""The order of the values in a row given to :func:`insert_messages`."""

TAG_COLUMNS = (
    "community_id",
    "space_id",
    "platform_message_id",
    "tagger_id",
    "story_id",
    "method",
    "created_at",
)
"""The order of the values in a row given to :func:`insert_tags`."""

# Bound parameters per SQLite statement, below its default limit (32,766): about 2,300
# message rows a statement.
MAX_PARAMS = 30_000


@dataclass(frozen=True, slots=True)
class FormattedRows:
    """Rows already through their columns' bind processors (:func:`format_messages`), ready
    for the driver: formatting is Python work, which an importer can do on another thread
    while the previous batch is being written."""

    dialect: str
    params: list[Any]
    count: int


def format_messages(dialect: Dialect, rows: Sequence[tuple[Any, ...]]) -> FormattedRows:
    """Messages given as tuples in :data:`MESSAGE_COLUMNS` order, formatted for ``dialect``
    (``Database.engine.dialect``) for :func:`insert_messages`."""
    params = _formatted(dialect, _table(Message), MESSAGE_COLUMNS, rows)
    return FormattedRows(dialect.name, params, len(rows))


def insert_messages(session: Session, rows: Sequence[tuple[Any, ...]] | FormattedRows) -> int:
    """Keep messages given as tuples in :data:`MESSAGE_COLUMNS` order (or formatted by
    :func:`format_messages`); a message already kept (same space and platform id) stays as it
    is. Returns how many rows were new."""
    return _insert_many(session, _table(Message), MESSAGE_COLUMNS, rows)


def insert_tags(session: Session, rows: Sequence[tuple[Any, ...]]) -> int:
    """Add tags given as tuples in :data:`TAG_COLUMNS` order, skipping a tagger's second tag
    on a message. Returns how many rows were new (anonymous tags, whose ``tagger_id`` is NULL,
    are never duplicates to the database: check them with :func:`anonymous_tagged_ids`)."""
    return _insert_many(session, _table(Tag), TAG_COLUMNS, rows)


def insert_versions(
    session: Session, space_id: int, versions: Sequence[tuple[str, str, datetime, datetime]]
) -> int:
    """Add earlier texts of kept messages, given as (platform message id, text, valid from,
    replaced at); a version already there (same message, same ``replaced_at``) and versions
    of messages the space does not keep are skipped. Returns how many were new. Imports
    carry few edits, so this goes through the ORM."""
    if not versions:
        return 0
    ids = dict(
        session.execute(
            sa_select(col(Message.platform_message_id), col(Message.id)).where(
                col(Message.space_id) == space_id,
                col(Message.platform_message_id).in_({v[0] for v in versions}),
            )
        ).all()
    )
    have: set[tuple[int, datetime]] = {
        (message_id, replaced_at)
        for message_id, replaced_at in session.execute(
            sa_select(col(MessageVersion.message_id), col(MessageVersion.replaced_at)).where(
                col(MessageVersion.message_id).in_(list(ids.values()))
            )
        )
    }
    added = 0
    for platform_id, text, valid_from, replaced_at in versions:
        message_id = ids.get(platform_id)
        if message_id is None or (message_id, replaced_at) in have:
            continue
        have.add((message_id, replaced_at))
        session.add(
            MessageVersion(
                message_id=message_id, text=text, valid_from=valid_from, replaced_at=replaced_at
            )
        )
        added += 1
    session.flush()
    return added


def space_has_messages(session: Session, space_id: int) -> bool:
    """Whether the space keeps any message at all."""
    found = session.exec(select(Message.id).where(Message.space_id == space_id).limit(1))
    return found.first() is not None


def kept_ids(session: Session, space_id: int, platform_ids: Sequence[str]) -> set[str]:
    """Which of these platform message ids the space already keeps."""
    return _members(
        session,
        "SELECT platform_message_id FROM message "
        "WHERE space_id = {p} AND platform_message_id {in_}",
        space_id,
        platform_ids,
    )


def anonymous_tagged_ids(session: Session, space_id: int, platform_ids: Sequence[str]) -> set[str]:
    """Which of these messages already carry a tag with no known tagger (an imported one)."""
    return _members(
        session,
        "SELECT platform_message_id FROM tag WHERE space_id = {p} AND tagger_id IS NULL "
        "AND platform_message_id {in_}",
        space_id,
        platform_ids,
    )


def display_names(session: Session, community_id: str) -> dict[int, str | None]:
    """``person id → display name`` for everyone in the community (one query)."""
    rows = session.exec(
        select(Person.id, Person.display_name).where(Person.community_id == community_id)
    )
    return {person_id: name for person_id, name in rows if person_id is not None}


def set_display_names(session: Session, names: dict[int, str]) -> None:
    """Set these people's display names (one ``executemany``)."""
    if not names:
        return
    table = _table(Person)
    session.connection().execute(
        table.update()
        .where(table.c.id == bindparam("person_id"))
        .values(display_name=bindparam("name")),
        [{"person_id": pid, "name": name} for pid, name in names.items()],
    )


# --- the machinery ---------------------------------------------------------------------------


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def _members(session: Session, sql: str, space_id: int, values: Sequence[str]) -> set[str]:
    """Run ``sql`` (with ``{p}`` for the space id's marker and ``{in_}`` for membership in
    ``values``), passing ``values`` as one parameter; the first column of the rows."""
    if not values:
        return set()
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        statement = sql.format(p="?", in_="IN (SELECT value FROM json_each(?))")
        parameter: Any = json.dumps(list(values))
    else:
        statement = sql.format(p="%s", in_="= ANY(%s)")
        parameter = list(values)
    result = conn.exec_driver_sql(statement, (space_id, parameter))
    return {row[0] for row in result}


def _insert_many(
    session: Session,
    table: Table,
    columns: tuple[str, ...],
    rows: Sequence[tuple[Any, ...]] | FormattedRows,
) -> int:
    conn = session.connection()
    if isinstance(rows, FormattedRows):
        if rows.dialect != conn.dialect.name:
            raise ValueError(f"rows formatted for {rows.dialect}, not {conn.dialect.name}")
        params, count = rows.params, rows.count
    else:
        params, count = _formatted(conn.dialect, table, columns, rows), len(rows)
    if not count:
        return 0
    width = len(columns)
    if conn.dialect.name != "sqlite":
        many = [tuple(params[i : i + width]) for i in range(0, len(params), width)]
        result = conn.exec_driver_sql(_insert_sql(conn, table, columns, 1), many)
        return int(result.rowcount or 0)
    per_statement = max(1, MAX_PARAMS // width)
    inserted = 0
    for start in range(0, count, per_statement):
        size = min(per_statement, count - start)
        sql = _insert_sql(conn, table, columns, size)
        chunk = params[start * width : (start + size) * width]
        result = conn.exec_driver_sql(sql, tuple(chunk))
        inserted += int(result.rowcount or 0)
    return inserted


def _formatted(
    dialect: Dialect, table: Table, columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]]
) -> list[Any]:
    """The rows flattened into one parameter list, each column through its type's bind
    processor (what SQLAlchemy would do to the value of an ORM insert)."""
    width = len(columns)
    params: list[Any] = [value for row in rows for value in row]
    if len(params) != width * len(rows):
        raise ValueError(f"every row must have {width} values ({', '.join(columns)})")
    for index, name in enumerate(columns):
        column_type = table.c[name].type
        whole = _column_formatter(column_type, dialect)
        if whole is not None:
            params[index::width] = whole(params[index::width])
            continue
        # the dialect's own implementation (sqlite's DATETIME string format …), as SQLAlchemy
        # itself resolves it for a statement
        processor: Callable[[Any], Any] | None = column_type.dialect_impl(dialect).bind_processor(
            dialect
        )
        if processor is not None:
            params[index::width] = [processor(value) for value in params[index::width]]
    return params


def _column_formatter(column_type: Any, dialect: Any) -> Callable[[list[Any]], list[Any]] | None:
    """A whole-column twin of the bind processor of the hot columns, or None.

    An import binds three datetimes and a text per message; SQLAlchemy's processors for them
    cost about 2 µs a value in Python (a ``TypeDecorator`` wrapping the SQLite ``DATETIME``
    formatter, which fills a dict per value). These twins give the very same values through
    C-level calls (``tests/test_storage_imports.py`` compares them with SQLAlchemy's own).
    """
    if isinstance(column_type, UTCDateTime) and dialect.name == "sqlite":
        return _sqlite_utc_texts
    if (
        isinstance(column_type, _WithoutNul)
        and column_type.impl_instance.bind_processor(dialect) is None
    ):
        return _without_nul
    return None


def _sqlite_utc_texts(values: list[Any]) -> list[Any]:
    """``UTCDateTime`` on SQLite: aware datetimes as UTC ``YYYY-MM-DD HH:MM:SS.ffffff``."""
    out: list[Any] = []
    append = out.append
    last: Any = None
    text: Any = None
    for value in values:
        if value is last:  # kept_at: one value for a whole batch
            append(text)
            continue
        if value is None:
            text = None
        elif value.tzinfo is UTC:  # most values: "…+00:00" without its offset
            text = value.isoformat(" ", "microseconds")[:-6]
        elif value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: every stored time must be aware")
        else:
            text = value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
        last = value
        append(text)
    return out


def _without_nul(values: list[Any]) -> list[Any]:
    """``ChatText`` / ``ChatString`` where the dialect adds nothing: NUL characters dropped."""
    return [
        value.replace("\x00", "") if value.__class__ is str and "\x00" in value else value
        for value in values
    ]


_SQL_CACHE: dict[tuple[str, str, tuple[str, ...], int], str] = {}


def _insert_sql(conn: Connection, table: Table, columns: tuple[str, ...], count: int) -> str:
    """``INSERT INTO t (…) VALUES (…) × count ON CONFLICT DO NOTHING`` in the driver's style."""
    dialect = conn.dialect
    key = (dialect.name, table.name, columns, count)
    sql = _SQL_CACHE.get(key)
    if sql is None:
        quote = dialect.identifier_preparer.quote
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        one = "(" + ", ".join([mark] * len(columns)) + ")"
        sql = (
            f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
            f"VALUES {', '.join([one] * count)} ON CONFLICT DO NOTHING"
        )
        if len(_SQL_CACHE) > 64:
            _SQL_CACHE.clear()
        _SQL_CACHE[key] = sql
    return sql


BULK_CACHE_KIB = 64 * 1024
"""SQLite page cache of a connection that writes an import (SQLite's default is 2 MiB)."""
BULK_CHECKPOINT_PAGES = 16_000
"""WAL pages between automatic checkpoints while importing (SQLite's default is 1,000)."""


def tune_for_bulk(session: Session) -> None:
    """Let this SQLite connection write a large import with less I/O: a 64 MiB page cache (the
    indexes' and full-text index's pages stay in memory instead of being read back from disk
    for every batch) and a checkpoint every ~64 MB of WAL instead of every 4 MB (a page
    changed by many batches is copied into the database once per checkpoint, not once per
    few batches). Per connection; :meth:`storage.db.Database.close` ends it. Nothing to do on
    PostgreSQL, whose server owns such settings."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        return
    conn.exec_driver_sql(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
    conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint={BULK_CHECKPOINT_PAGES}")


def refresh_statistics(session: Session) -> None:
    """After a bulk import on PostgreSQL: fresh planner statistics for ``message`` and ``tag``
    (autovacuum gets to them only later, and until then the planner believes the tables are
    as small as before, which makes it walk whole indexes), and the GIN index's pending list
    merged into the index (with ``fastupdate`` every search would scan that list linearly).
    Nothing to do on SQLite, whose search plans do not depend on statistics."""
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        return
    conn.exec_driver_sql("ANALYZE message")
    conn.exec_driver_sql("ANALYZE tag")
    conn.exec_driver_sql("SELECT gin_clean_pending_list('ix_message_search'::regclass)")


def erasures(
    session: Session, community_id: str
) -> tuple[dict[int, datetime], set[tuple[int, str]]]:
    """What ``forget`` erased in the community, from the ledger: person id → when they last
    erased everything, and (space id, platform message id) of every message erased alone
    (a ``forget`` of one message, or a redaction on the platform)."""
    people: dict[int, datetime] = {}
    messages: set[tuple[int, str]] = set()
    stmt = sa_select(
        col(ConsentEvent.person_id),
        col(ConsentEvent.new_value),
        col(ConsentEvent.space_id),
        col(ConsentEvent.platform_message_id),
        col(ConsentEvent.at),
    ).where(col(ConsentEvent.community_id) == community_id, col(ConsentEvent.field) == "erasure")
    for person_id, what, space_id, message_id, at in session.execute(stmt):
        if what == "message" and space_id is not None and message_id is not None:
            messages.add((space_id, message_id))
        elif what == "all" and (person_id not in people or people[person_id] < at):
            people[person_id] = at
    return people, messages
