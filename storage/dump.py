"""Reading a whole community out for ``export jsonl`` and writing one back for ``import jsonl``.

Export reads the big tables (messages, versions, tags) page by page — keyset pagination on the
id, plain Core rows turned into small dataclasses, never ORM objects — so a million messages
stream in constant memory. ``begin_snapshot`` makes every page part of one snapshot, so the file
is consistent even while the bots keep writing.

Restore writes rows with the values they had (times, names, consent) but new ids; matching
existing rows (idempotency) is the archiver's job, with the lookups below.

Every time returned here is timezone-aware UTC (SQLite gives naive UTC, PostgreSQL aware).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, select, update
from sqlmodel import Session, col

from storage.models import (
    Account,
    Community,
    Consent,
    Message,
    MessageVersion,
    Person,
    Post,
    Space,
    Story,
    Tag,
)


def as_utc(moment: datetime) -> datetime:
    """An aware UTC time: naive values (SQLite) are UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def as_utc_or_none(moment: datetime | None) -> datetime | None:
    """``as_utc`` for nullable columns."""
    return None if moment is None else as_utc(moment)


def begin_snapshot(session: Session) -> None:
    """Make every later read of this (fresh) session see one snapshot of the database.

    PostgreSQL needs ``REPEATABLE READ`` for that; a SQLite read transaction in WAL mode already
    sees the database as of its first read until it ends.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


# --- export ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessageDump:
    """A kept message as exported (everything but its search tokens)."""

    id: int
    space_id: int
    platform_message_id: str
    author_id: int
    consent_event_id: int
    sent_at: datetime
    edited_at: datetime | None
    text: str
    reply_to: str | None
    media_kind: str | None
    source: str
    kept_at: datetime


@dataclass(frozen=True, slots=True)
class MessageTagDump:
    """One tag on a kept message, as the message line lists it."""

    message_id: int
    tag_id: int
    story_id: int | None


@dataclass(frozen=True, slots=True)
class VersionDump:
    """An earlier text of a kept message, with the message's natural key."""

    id: int
    message_id: int
    space_id: int
    platform_message_id: str
    text: str
    valid_from: datetime
    replaced_at: datetime


@dataclass(frozen=True, slots=True)
class TagDump:
    """A tag on a kept message (tags waiting on held messages are not part of an export)."""

    id: int
    message_id: int
    space_id: int
    platform_message_id: str
    tagger_id: int | None
    story_id: int | None
    method: str
    created_at: datetime


def _t(model: Any) -> Table:
    table: Table = model.__table__
    return table


def _in_community(session: Session, column: Any, community_id: str) -> ColumnElement[bool]:
    """``column = community_id``, hidden from SQLite's planner: without statistics it picks the
    (community_id, sent_at) index and sorts the whole community for every page, where walking
    the primary key from the last id reads each row once. PostgreSQL has statistics."""
    if session.get_bind().dialect.name == "sqlite":
        hidden: ColumnElement[bool] = column.concat("") == community_id
        return hidden
    plain: ColumnElement[bool] = column == community_id
    return plain


def messages_page(
    session: Session, community_id: str, after_id: int, limit: int
) -> list[MessageDump]:
    """Up to ``limit`` kept messages of the community with an id above ``after_id``, by id."""
    m = _t(Message).c
    stmt = (
        select(
            m.id,
            m.space_id,
            m.platform_message_id,
            m.author_id,
            m.consent_event_id,
            m.sent_at,
            m.edited_at,
            m.text,
            m.reply_to,
            m.media_kind,
            m.source,
            m.kept_at,
        )
        .where(_in_community(session, m.community_id, community_id), m.id > after_id)
        .order_by(m.id)
        .limit(limit)
    )
    return [
        MessageDump(
            id=row.id,
            space_id=row.space_id,
            platform_message_id=row.platform_message_id,
            author_id=row.author_id,
            consent_event_id=row.consent_event_id,
            sent_at=as_utc(row.sent_at),
            edited_at=as_utc_or_none(row.edited_at),
            text=row.text,
            reply_to=row.reply_to,
            media_kind=row.media_kind,
            source=row.source,
            kept_at=as_utc(row.kept_at),
        )
        for row in session.connection().execute(stmt)
    ]


def tags_of_messages(
    session: Session, community_id: str, first_id: int, last_id: int
) -> list[MessageTagDump]:
    """The tags on the community's kept messages with ids in ``first_id..last_id``, by tag id."""
    m, t = _t(Message).c, _t(Tag).c
    stmt = (
        select(m.id.label("message_id"), t.id.label("tag_id"), t.story_id)
        .select_from(_t(Tag).join(_t(Message), _same_message()))
        .where(
            _in_community(session, m.community_id, community_id),
            m.id >= first_id,
            m.id <= last_id,
        )
        .order_by(t.id)
    )
    return [
        MessageTagDump(message_id=row.message_id, tag_id=row.tag_id, story_id=row.story_id)
        for row in session.connection().execute(stmt)
    ]


def versions_page(
    session: Session, community_id: str, after_id: int, limit: int
) -> list[VersionDump]:
    """Up to ``limit`` earlier texts of the community's kept messages, id above ``after_id``."""
    m, v = _t(Message).c, _t(MessageVersion).c
    stmt = (
        select(
            v.id,
            v.message_id,
            m.space_id,
            m.platform_message_id,
            v.text,
            v.valid_from,
            v.replaced_at,
        )
        .select_from(_t(MessageVersion).join(_t(Message), m.id == v.message_id))
        .where(_in_community(session, m.community_id, community_id), v.id > after_id)
        .order_by(v.id)
        .limit(limit)
    )
    return [
        VersionDump(
            id=row.id,
            message_id=row.message_id,
            space_id=row.space_id,
            platform_message_id=row.platform_message_id,
            text=row.text,
            valid_from=as_utc(row.valid_from),
            replaced_at=as_utc(row.replaced_at),
        )
        for row in session.connection().execute(stmt)
    ]


def tags_page(session: Session, community_id: str, after_id: int, limit: int) -> list[TagDump]:
    """Up to ``limit`` tags on the community's kept messages with an id above ``after_id``."""
    m, t = _t(Message).c, _t(Tag).c
    stmt = (
        select(
            t.id,
            m.id.label("message_id"),
            t.space_id,
            t.platform_message_id,
            t.tagger_id,
            t.story_id,
            t.method,
            t.created_at,
        )
        .select_from(_t(Tag).join(_t(Message), _same_message()))
        .where(t.community_id == community_id, t.id > after_id)
        .order_by(t.id)
        .limit(limit)
    )
    return [
        TagDump(
            id=row.id,
            message_id=row.message_id,
            space_id=row.space_id,
            platform_message_id=row.platform_message_id,
            tagger_id=row.tagger_id,
            story_id=row.story_id,
            method=row.method,
            created_at=as_utc(row.created_at),
        )
        for row in session.connection().execute(stmt)
    ]


def _same_message() -> ColumnElement[bool]:
    m, t = _t(Message).c, _t(Tag).c
    return and_(m.space_id == t.space_id, m.platform_message_id == t.platform_message_id)


def stories_by_id(session: Session, community_id: str) -> list[Story]:
    """The community's stories, oldest first."""
    return list(
        session.scalars(
            select(Story).where(col(Story.community_id) == community_id).order_by(col(Story.id))
        )
    )


def posts_by_id(session: Session, community_id: str) -> list[Post]:
    """The community's post log, oldest first."""
    return list(
        session.scalars(
            select(Post).where(col(Post.community_id) == community_id).order_by(col(Post.id))
        )
    )


# --- restore ---------------------------------------------------------------------------------


def create_community(
    session: Session,
    *,
    community_id: str,
    name: str,
    language: str,
    timezone: str,
    keep_emoji: str,
    hold_hours: int,
    created_at: datetime,
) -> Community:
    """A new community with exactly these settings (``created_at`` included)."""
    community = Community(
        id=community_id,
        name=name,
        language=language,
        timezone=timezone,
        keep_emoji=keep_emoji,
        hold_hours=hold_hours,
        created_at=created_at,
    )
    session.add(community)
    session.flush()
    return community


def create_space(
    session: Session,
    *,
    community_id: str,
    platform: str,
    chat_id: str,
    title: str | None,
    active: bool,
    created_at: datetime,
) -> Space:
    """A new space of the community with exactly these values."""
    space = Space(
        community_id=community_id,
        platform=platform,
        chat_id=chat_id,
        title=title,
        active=active,
        created_at=created_at,
    )
    session.add(space)
    session.flush()
    return space


def create_person(
    session: Session,
    community_id: str,
    *,
    display_name: str | None,
    created_at: datetime,
    accounts: Sequence[tuple[str, str]],
) -> int:
    """A new person with these ``(platform, user_id)`` accounts and a default consent row
    (``unknown``; ``save_consent`` sets the restored one). Returns the person's id."""
    person = Person(community_id=community_id, display_name=display_name, created_at=created_at)
    session.add(person)
    session.flush()
    assert person.id is not None
    for platform, user_id in accounts:
        add_account(session, community_id, person.id, platform, user_id)
    session.add(Consent(person_id=person.id, updated_at=created_at))
    session.flush()
    return person.id


def add_account(
    session: Session, community_id: str, person_id: int, platform: str, user_id: str
) -> None:
    """Give a person one more platform account."""
    session.add(
        Account(community_id=community_id, person_id=person_id, platform=platform, user_id=user_id)
    )
    session.flush()


def save_consent(
    session: Session,
    person_id: int,
    *,
    level: str,
    attribution: str,
    level_event_id: int | None,
    prompted_at: datetime | None,
    updated_at: datetime,
) -> None:
    """Set a person's current consent row to exactly these values."""
    consent = session.get(Consent, person_id)
    assert consent is not None, f"person {person_id} has no consent row"
    consent.level = level
    consent.attribution = attribution
    consent.level_event_id = level_event_id
    consent.prompted_at = prompted_at
    consent.updated_at = updated_at
    session.add(consent)
    session.flush()


def set_display_name(session: Session, person_id: int, display_name: str | None) -> None:
    """Set (or clear) one person's display name."""
    table = _t(Person)
    session.connection().execute(
        update(table).where(table.c.id == person_id).values(display_name=display_name)
    )


def create_story(
    session: Session,
    community_id: str,
    *,
    name: str,
    created_by: int | None,
    created_at: datetime,
) -> Story:
    """A new story with exactly these values."""
    story = Story(
        community_id=community_id, name=name, created_by=created_by, created_at=created_at
    )
    session.add(story)
    session.flush()
    return story


def message_ids(session: Session, space_id: int, platform_ids: Sequence[str]) -> dict[str, int]:
    """``platform message id → message id`` for those of these the space keeps."""
    if not platform_ids:
        return {}
    rows = session.execute(
        select(col(Message.platform_message_id), col(Message.id)).where(
            col(Message.space_id) == space_id,
            col(Message.platform_message_id).in_(list(platform_ids)),
        )
    )
    return {pmid: mid for pmid, mid in rows}


def version_keys(session: Session, message_ids: Sequence[int]) -> set[tuple[int, datetime]]:
    """``(message id, replaced_at)`` of the earlier texts these messages already have."""
    if not message_ids:
        return set()
    rows = session.execute(
        select(col(MessageVersion.message_id), col(MessageVersion.replaced_at)).where(
            col(MessageVersion.message_id).in_(list(message_ids))
        )
    )
    return {(mid, as_utc(replaced_at)) for mid, replaced_at in rows}
