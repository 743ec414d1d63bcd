"""What the archive website reads: every kept message of a community in one ordered pass (or
only those of some years, ids or keys), the tags and stories they carry, and the stories
themselves; and, for an update, what changed since the last build — cheap aggregates to tell
whether anything was erased, the messages newer than an id, edited since an edit-history
watermark, by some authors, or replying to some messages.

Only the ``message`` table is read for content, so only kept messages reach the site: held
copies live apart and erased messages are gone. Authors come with their attribution choice and
stored name (a name is stored only while its person says yes); platform account ids are never
read here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import String, Table, and_, case, distinct, func, or_, select, tuple_, type_coerce
from sqlmodel import Session, col

from storage.media import of_message
from storage.models import Consent, Media, Message, MessageVersion, Person, Story, Tag

_CHUNK = 5_000  # ids per IN (...), well below SQLite's limit on bound parameters
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class OutlineRow:
    """A kept message without its text: enough to lay out the site and see what changed."""

    id: int
    space_id: int
    platform_message_id: str
    sent_at: datetime  # UTC
    edited_at: datetime | None
    reply_to: str | None
    media_kind: str | None
    author_id: int
    author_name: str | None
    attribution: str
    tags: int
    story_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class SiteStory:
    """A story and when it was started."""

    id: int
    name: str
    created_at: datetime


People = dict[int, tuple[str | None, str]]  # person id → (stored name, attribution)
Tagged = dict[tuple[int, str], tuple[int, tuple[int, ...]]]  # message key → (tags, story ids)


@dataclass(frozen=True, slots=True)
class SiteKey:
    """A kept message's identity and time: what an update needs to see where a change lands
    (its platform key stays in memory, to find the messages that reply to it)."""

    id: int
    sent_at: datetime  # UTC
    space_id: int
    platform_message_id: str


@dataclass(frozen=True, slots=True)
class SiteTotals:
    """Cheap aggregates of the kept messages, to check an earlier build's outline against."""

    count: int
    neighbours: int
    max_id: int
    first_sent_at: datetime | None
    count_upto: int  # of messages with id <= the id asked about
    sent_at_of: datetime | None  # of the message with that id, if it is kept


def site_people(session: Session, community_id: str) -> People:
    """Person id → (stored name, attribution choice) of everyone in the community."""
    return {
        pid: (name, shown)
        for pid, name, shown in session.execute(
            select(col(Person.id), col(Person.display_name), col(Consent.attribution))
            .join(Consent, col(Consent.person_id) == col(Person.id))
            .where(col(Person.community_id) == community_id)
        )
    }


def site_outline(
    session: Session,
    community_id: str,
    *,
    people: People | None = None,
    tagged: Tagged | None = None,
    between: Sequence[tuple[datetime, datetime]] = (),
    ids: Sequence[int] = (),
    keys: Sequence[tuple[int, str]] = (),
    newest: int = 0,
) -> list[OutlineRow]:
    """Kept messages of the community, oldest first, without texts (one light pass): every
    one, or only those sent in the ``between`` ranges, with these ``ids`` or ``keys``, or the
    ``newest`` few.

    Authors are read once each, not joined to every message, and rows come from the
    session's connection (Core: no ORM loading per row) — for 100,000 messages this pass is
    most of what a full build's reading costs."""
    if tagged is None:
        tagged = _tags(session, community_id)
    if people is None:
        people = site_people(session, community_id)
    sqlite = session.get_bind().dialect.name == "sqlite"
    sent_column, _parse = _sent_at(session, col(Message.sent_at))
    stmt = select(
        col(Message.id),
        col(Message.space_id),
        col(Message.platform_message_id),
        sent_column,
        col(Message.edited_at),
        col(Message.reply_to),
        col(Message.media_kind),
        col(Message.author_id),
    ).where(col(Message.community_id) == community_id)
    conn = session.connection()
    rows: list[Any] = []
    if between:
        when = [
            and_(col(Message.sent_at) >= start, col(Message.sent_at) < end)
            for start, end in between
        ]
        rows = list(conn.execute(stmt.where(or_(*when))).all())
    elif ids or keys:
        for chunk in _chunks(sorted(set(ids)), _CHUNK):
            rows += conn.execute(stmt.where(col(Message.id).in_(chunk))).all()
        for pairs in _chunks(sorted(set(keys)), _CHUNK // 2):
            platform_key = tuple_(col(Message.space_id), col(Message.platform_message_id))
            rows += conn.execute(stmt.where(platform_key.in_(pairs))).all()
        rows = list({row[0]: row for row in rows}.values())
    elif newest:
        order = (col(Message.sent_at).desc(), col(Message.id).desc())
        rows = list(conn.execute(stmt.order_by(*order).limit(newest)).all())
    else:
        rows = list(conn.execute(stmt.order_by(col(Message.sent_at), col(Message.id))).all())
    parse = datetime.fromisoformat
    found = []
    for mid, space_id, pmid, sent, edited, reply, media, author in rows:
        if sqlite:
            sent = parse(sent + "+00:00")
        name, shown = people[author]
        tags, stories = tagged.get((space_id, pmid), _UNTAGGED)
        found.append(
            OutlineRow(
                mid, space_id, pmid, sent, edited, reply, media, author, name, shown, tags, stories
            )
        )  # fmt: skip
    if between or ids or keys or newest:
        found.sort(key=lambda row: (row.sent_at, row.id))
    return found


def site_tagged(
    session: Session, community_id: str
) -> dict[int, tuple[SiteKey, int, tuple[int, ...]]]:
    """Kept message id → (its key, how many tags, its stories) of every tagged kept message."""
    on: dict[int, list[int | None]] = defaultdict(list)
    where: dict[int, SiteKey] = {}
    message, tag = _t(Message), _t(Tag)
    sent_column, parse = _sent_at(session, message.c.sent_at)
    stmt = (
        select(
            message.c.id,
            sent_column,
            message.c.space_id,
            message.c.platform_message_id,
            tag.c.story_id,
        )
        .select_from(tag)
        .join(
            message,
            and_(
                message.c.space_id == tag.c.space_id,
                message.c.platform_message_id == tag.c.platform_message_id,
            ),
        )
        .where(tag.c.community_id == community_id, message.c.community_id == community_id)
    )
    for mid, sent, space_id, pmid, story_id in session.connection().execute(stmt).all():
        on[mid].append(story_id)
        if mid not in where:
            where[mid] = SiteKey(mid, parse(sent), space_id, pmid)
    return {mid: (where[mid], *_tag_summary(stories)) for mid, stories in on.items()}


def site_totals(session: Session, community_id: str, upto: int) -> SiteTotals:
    """How many kept messages and authors, the newest id and the first time; how many kept
    messages have an id up to ``upto``, and when the message ``upto`` was sent."""
    count, neighbours, max_id, first, count_upto = session.execute(
        select(
            func.count(),
            func.count(distinct(col(Message.author_id))),
            func.max(col(Message.id)),
            func.min(col(Message.sent_at)),
            func.count(case((col(Message.id) <= upto, 1))),
        ).where(col(Message.community_id) == community_id)
    ).one()
    sent_at_of = session.execute(
        select(col(Message.sent_at)).where(
            col(Message.id) == upto, col(Message.community_id) == community_id
        )
    ).scalar()
    return SiteTotals(count, neighbours, max_id or 0, first, count_upto, sent_at_of)


def site_version_mark(session: Session) -> int:
    """The newest id of the edit history (a watermark: every later edit has a higher id)."""
    return int(session.execute(select(func.max(col(MessageVersion.id)))).scalar() or 0)


def site_keys(
    session: Session,
    community_id: str,
    *,
    after_id: int | None = None,
    authors: Sequence[int] = (),
    edited_between: tuple[int, int] | None = None,
    replying_to: Sequence[tuple[int, str]] = (),
) -> list[SiteKey]:
    """Kept messages that an update must look at: newer than ``after_id``, by these
    ``authors``, edited (by edit history id) in ``(low, high]``, or replying to these keys."""
    sent_column, parse = _sent_at(session, col(Message.sent_at))
    stmt = select(
        col(Message.id), sent_column, col(Message.space_id), col(Message.platform_message_id)
    ).where(col(Message.community_id) == community_id)
    found: list[Any] = []
    conn = session.connection()
    if after_id is not None:
        found += conn.execute(stmt.where(col(Message.id) > after_id)).all()
    for chunk in _chunks(sorted(set(authors)), _CHUNK):
        found += conn.execute(stmt.where(col(Message.author_id).in_(chunk))).all()
    if edited_between is not None:
        low, high = edited_between
        edited = select(col(MessageVersion.message_id)).where(
            col(MessageVersion.id) > low, col(MessageVersion.id) <= high
        )
        found += conn.execute(stmt.where(col(Message.id).in_(edited))).all()
    by_space: dict[int, set[str]] = defaultdict(set)
    for space_id, pmid in replying_to:
        by_space[space_id].add(pmid)
    for space_id, pmids in sorted(by_space.items()):
        for targets in _chunks(sorted(pmids), _CHUNK):
            found += conn.execute(
                stmt.where(col(Message.space_id) == space_id, col(Message.reply_to).in_(targets))
            ).all()
    unique = {mid: SiteKey(mid, parse(sent), *key) for mid, sent, *key in found}
    return sorted(unique.values(), key=lambda key: key.id)


def site_texts_between(
    session: Session, community_id: str, start: datetime, end: datetime
) -> dict[int, tuple[str, str]]:
    """id → (text, tokens) of the kept messages sent in ``[start, end)``."""
    stmt = select(col(Message.id), col(Message.text), col(Message.tokens)).where(
        col(Message.community_id) == community_id,
        col(Message.sent_at) >= start,
        col(Message.sent_at) < end,
    )
    return {mid: (body, tokens) for mid, body, tokens in session.execute(stmt)}


def site_texts(session: Session, ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """id → (text, tokens) of these kept messages."""
    found: dict[int, tuple[str, str]] = {}
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start : start + _CHUNK]
        stmt = select(col(Message.id), col(Message.text), col(Message.tokens)).where(
            col(Message.id).in_(chunk)
        )
        found.update({mid: (body, tokens) for mid, body, tokens in session.execute(stmt)})
    return found


def _sent_at(session: Session, column: Any) -> tuple[Any, Callable[[Any], datetime]]:
    """The column to select a message's time by, and how to make it a UTC datetime: on
    SQLite, read as text and parsed by one C call (datetime.fromisoformat) instead of
    SQLAlchemy's processors — a third of the outline's time."""
    if session.get_bind().dialect.name == "sqlite":
        return type_coerce(column, String), _parse_utc
    return column, _same


def _parse_utc(text: str) -> datetime:
    return datetime.fromisoformat(text + "+00:00")


def _same(when: datetime) -> datetime:
    return when


def _tags(session: Session, community_id: str) -> Tagged:
    on: dict[tuple[int, str], list[int | None]] = defaultdict(list)
    for space_id, pmid, story_id in session.execute(
        select(col(Tag.space_id), col(Tag.platform_message_id), col(Tag.story_id)).where(
            col(Tag.community_id) == community_id
        )
    ):
        on[(space_id, pmid)].append(story_id)
    return {key: _tag_summary(stories) for key, stories in on.items()}


def _tag_summary(stories: list[int | None]) -> tuple[int, tuple[int, ...]]:
    """How many tags a message has, and the stories they put it in."""
    return len(stories), tuple(sorted({s for s in stories if s is not None}))


_UNTAGGED: tuple[int, tuple[int, ...]] = (0, ())


def _chunks(items: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _t(model: object) -> Table:
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


def site_stories(session: Session, community_id: str) -> list[SiteStory]:
    """The community's stories, oldest first."""
    stmt = (
        select(col(Story.id), col(Story.name), col(Story.created_at))
        .where(col(Story.community_id) == community_id)
        .order_by(col(Story.created_at), col(Story.id))
    )
    return [SiteStory(sid, name, created) for sid, name, created in session.execute(stmt)]


@dataclass(frozen=True, slots=True)
class SiteFile:
    """The file kept with a kept message, as the site shows it."""

    kind: str
    mime: str
    size: int
    sha256: str
    width: int | None
    height: int | None
    duration: int | None
    has_thumbnail: bool
    file_name: str | None


def site_files(session: Session, community_id: str) -> dict[int, SiteFile]:
    """Kept message id → its file, for every kept message of the community that has one.

    Joined through ``message``: a held message's file is never on the site."""
    stmt = (
        select(
            col(Message.id),
            col(Media.kind),
            col(Media.mime),
            col(Media.size),
            col(Media.sha256),
            col(Media.width),
            col(Media.height),
            col(Media.duration),
            col(Media.has_thumbnail),
            col(Media.file_name),
        )
        .join(
            Media,
            of_message(),
        )
        .where(col(Message.community_id) == community_id)
    )
    return {row[0]: SiteFile(*row[1:]) for row in session.execute(stmt)}
