"""What the weekly digest reads: a community's kept messages in a UTC range, when authors'
first kept messages were sent, and which stories had messages filed into them.

Only the ``message`` table is read for content, so only kept messages ever count: held copies
live apart in ``held_message`` and erased messages are gone. Every range is half-open,
``start <= t < end``, on aware UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session, col

from storage.media import of_message
from storage.models import Consent, Media, Message, Person, Space, Story, Tag
from storage.search import tag_count

# Stay well below SQLite's limit on bound parameters in one statement.
_CHUNK = 5_000


@dataclass(frozen=True, slots=True)
class WeekMessage:
    """A kept message with what the digest needs: its text, who wrote it (and whether they
    may be named), what it replies to, and how many tags it carries."""

    id: int
    space: str  # "platform:chat_id"
    platform_message_id: str
    sent_at: datetime  # UTC
    text: str
    tokens: str  # as stored: space-joined search-mode tokens
    reply_to: str | None
    author_id: int
    author_name: str | None
    attribution: str
    tag_count: int


@dataclass(frozen=True, slots=True)
class StoryGrowth:
    """A story, how many kept messages were filed into it in the range, and how many it
    holds now."""

    name: str
    added: int
    total: int


def messages_between(
    session: Session, community_id: str, start: datetime, end: datetime
) -> list[WeekMessage]:
    """The community's kept messages sent in ``[start, end)``, oldest first (one index range
    scan on ``(community_id, sent_at)``)."""
    stmt = (
        select(
            col(Message.id),
            col(Space.platform),
            col(Space.chat_id),
            col(Message.platform_message_id),
            col(Message.sent_at),
            col(Message.text),
            col(Message.tokens),
            col(Message.reply_to),
            col(Message.author_id),
            col(Person.display_name),
            col(Consent.attribution),
            tag_count().label("tag_count"),
        )
        .join(Space, col(Space.id) == col(Message.space_id))
        .join(Person, col(Person.id) == col(Message.author_id))
        .join(Consent, col(Consent.person_id) == col(Message.author_id))
        .where(
            col(Message.community_id) == community_id,
            col(Message.sent_at) >= start,
            col(Message.sent_at) < end,
        )
        .order_by(col(Message.sent_at), col(Message.id))
    )
    return [
        WeekMessage(
            id=mid,
            space=f"{platform}:{chat}",
            platform_message_id=pmid,
            sent_at=sent_at,
            text=body,
            tokens=tokens,
            reply_to=reply_to,
            author_id=author,
            author_name=name,
            attribution=attribution,
            tag_count=int(tags or 0),
        )
        for (
            mid,
            platform,
            chat,
            pmid,
            sent_at,
            body,
            tokens,
            reply_to,
            author,
            name,
            attribution,
            tags,
        ) in session.execute(stmt)
    ]


@dataclass(frozen=True, slots=True)
class WeekPhoto:
    """A kept photo of the week: its message and stored file."""

    message_id: int
    sha256: str
    tag_count: int


def most_tagged_photo(
    session: Session, community_id: str, start: datetime, end: datetime
) -> WeekPhoto | None:
    """The kept photo sent in ``[start, end)`` that carries the most tags (at least one: a
    photo nobody tagged is not the week's picture), the earliest of equals."""
    tags = tag_count().label("tag_count")
    stmt = (
        select(col(Message.id), col(Media.sha256), tags)
        .join(
            Media,
            of_message(),
        )
        .where(
            col(Message.community_id) == community_id,
            col(Message.sent_at) >= start,
            col(Message.sent_at) < end,
            col(Media.kind) == "photo",
        )
        .order_by(tags.desc(), col(Message.sent_at), col(Message.id))
        .limit(1)
    )
    found = session.execute(stmt).first()
    if found is None or not found[2]:
        return None
    return WeekPhoto(int(found[0]), str(found[1]), int(found[2]))


def first_kept_at(
    session: Session, community_id: str, author_ids: Sequence[int]
) -> dict[int, datetime]:
    """When each of these authors' oldest kept message in the community was sent."""
    firsts: dict[int, datetime] = {}
    ids = sorted(set(author_ids))
    for at in range(0, len(ids), _CHUNK):
        stmt = (
            select(col(Message.author_id), func.min(col(Message.sent_at)))
            .where(
                col(Message.community_id) == community_id,
                col(Message.author_id).in_(ids[at : at + _CHUNK]),
            )
            .group_by(col(Message.author_id))
        )
        for author, first in session.execute(stmt):
            firsts[int(author)] = first
    return firsts


def stories_grown(
    session: Session, community_id: str, start: datetime, end: datetime
) -> list[StoryGrowth]:
    """Stories into which kept messages were first filed in ``[start, end)``: how many, and
    the story's size now; most grown first, then by name.

    A message counts once per story, at its first tag into that story, so a second neighbour
    filing the same message again later does not make the story "grow".
    """
    kept = (col(Message.space_id) == col(Tag.space_id)) & (
        col(Message.platform_message_id) == col(Tag.platform_message_id)
    )
    filed = (
        select(
            col(Tag.story_id).label("story_id"),
            col(Message.id).label("message_id"),
            func.min(col(Tag.created_at)).label("first_filed"),
        )
        .join(Message, kept)
        .where(col(Tag.community_id) == community_id, col(Tag.story_id).is_not(None))
        .group_by(col(Tag.story_id), col(Message.id))
        .subquery()
    )
    in_range = (filed.c.first_filed >= start) & (filed.c.first_filed < end)
    stmt = (
        select(
            col(Story.name),
            func.count().filter(in_range),
            func.count(),
        )
        .join(filed, filed.c.story_id == col(Story.id))
        .group_by(col(Story.id), col(Story.name))
    )
    grown = [
        StoryGrowth(name=name, added=int(added), total=int(total))
        for name, added, total in session.execute(stmt)
        if added
    ]
    grown.sort(key=lambda story: (-story.added, story.name))
    return grown
