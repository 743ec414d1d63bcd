"""What the archive website reads: every kept message of a community in one ordered pass, the
tags and stories they carry, and the stories themselves.

Only the ``message`` table is read for content, so only kept messages reach the site: held
copies live apart and erased messages are gone. Authors come with their attribution choice and
stored name (a name is stored only while its person says yes); platform account ids are never
read here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, select, type_coerce
from sqlmodel import Session, col

from storage.media import of_message
from storage.models import Consent, Media, Message, Person, Story, Tag

_CHUNK = 5_000  # ids per IN (...), well below SQLite's limit on bound parameters


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


def site_outline(session: Session, community_id: str) -> list[OutlineRow]:
    """Every kept message of the community, oldest first, without texts (one light pass).

    Authors are read once each, not joined to every message, and rows come from the
    session's connection (Core: no ORM loading per row) — for 100,000 messages this pass is
    most of what a rebuild that changes little costs."""
    tags = _tags(session, community_id)
    people = {
        pid: (name, shown)
        for pid, name, shown in session.execute(
            select(col(Person.id), col(Person.display_name), col(Consent.attribution))
            .join(Consent, col(Consent.person_id) == col(Person.id))
            .where(col(Person.community_id) == community_id)
        )
    }
    sqlite = session.get_bind().dialect.name == "sqlite"
    # SQLite keeps a time as UTC text; read as text, it is parsed by one C call
    # (datetime.fromisoformat) instead of SQLAlchemy's processors — a third of this pass.
    sent_column: Any = type_coerce(col(Message.sent_at), String) if sqlite else col(Message.sent_at)
    stmt = (
        select(
            col(Message.id),
            col(Message.space_id),
            col(Message.platform_message_id),
            sent_column,
            col(Message.edited_at),
            col(Message.reply_to),
            col(Message.media_kind),
            col(Message.author_id),
        )
        .where(col(Message.community_id) == community_id)
        .order_by(col(Message.sent_at), col(Message.id))
    )
    rows: list[Any] = list(session.connection().execute(stmt).all())
    parse = datetime.fromisoformat
    found = []
    for mid, space_id, pmid, sent, edited, reply, media, author in rows:
        if sqlite:
            sent = parse(sent + "+00:00")
        name, shown = people[author]
        on = tags.get((space_id, pmid))
        found.append(
            OutlineRow(
                mid, space_id, pmid, sent, edited, reply, media, author, name, shown,
                len(on) if on else 0,
                tuple(sorted({s for s in on if s is not None})) if on else (),
            )
        )  # fmt: skip
    return found


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


def _tags(session: Session, community_id: str) -> dict[tuple[int, str], list[int | None]]:
    tags: dict[tuple[int, str], list[int | None]] = defaultdict(list)
    for space_id, pmid, story_id in session.execute(
        select(col(Tag.space_id), col(Tag.platform_message_id), col(Tag.story_id)).where(
            col(Tag.community_id) == community_id
        )
    ):
        tags[(space_id, pmid)].append(story_id)
    return tags


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
