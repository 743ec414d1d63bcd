"""Giving the memory back: search and on-this-day.

Both return ``KeptMessage``s in the community's time zone, with the author's name only when
they chose ``named`` (``author`` is None for "a neighbour": the bot picks the words).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from archiver.archive import Archive
from archiver.consent_policy import shown_name
from archiver.errors import UnknownCommunityError
from storage import communities
from storage import messages as message_store
from storage.search import (
    FileInfo,
    MessageRow,
    first_message_at,
    message_rows,
    messages_in_ranges,
    search_tokens,
)

MAX_LIMIT = 100


@dataclass(frozen=True, slots=True)
class KeptMessage:
    """A kept message as residents see it."""

    id: int
    space: str
    platform_message_id: str
    sent_at: datetime  # in the community's time zone
    text: str
    author: str | None  # None: anonymous ("a neighbour")
    tags: int
    media_kind: str | None = None  # "photo", "voice", …: what the message carried
    file: FileInfo | None = None  # the file kept with it, if any

    def to_json(self) -> dict[str, object]:
        """The ``--json`` form (stable keys)."""
        return {
            "id": self.id,
            "space": self.space,
            "platform_message_id": self.platform_message_id,
            "sent_at": self.sent_at.isoformat(),
            "text": self.text,
            "author": self.author,
            "tags": self.tags,
            "media_kind": self.media_kind,
            "media": None
            if self.file is None
            else {
                "kind": self.file.kind,
                "mime": self.file.mime,
                "size": self.file.size,
                "sha256": self.file.sha256,
                "width": self.file.width,
                "height": self.file.height,
            },
        }


def _zone(archive: Archive, community_id: str) -> ZoneInfo:
    with archive.db.read() as session:
        return _zone_in(session, community_id)


def _zone_in(session: Session, community_id: str) -> ZoneInfo:
    community = communities.get_community(session, community_id)
    if community is None:
        raise UnknownCommunityError(community_id)
    return ZoneInfo(community.timezone)


def _shown(row: MessageRow, zone: ZoneInfo) -> KeptMessage:
    return KeptMessage(
        id=row.id,
        space=row.space,
        platform_message_id=row.platform_message_id,
        sent_at=row.sent_at.astimezone(zone),
        text=row.text,
        author=shown_name(row.attribution, row.author_name),
        tags=row.tag_count,
        media_kind=row.media_kind,
        file=row.file,
    )


def search(archive: Archive, community_id: str, query: str, limit: int = 5) -> list[KeptMessage]:
    """Kept messages of the community containing every word of ``query``, newest first.

    The query is cut into words like the archive's texts were, so 电梯 finds 电梯 and 电梯间.
    """
    tokens = archive.segmenter.query_tokens(query)
    with archive.db.read() as session:
        zone = _zone_in(session, community_id)
        rows = search_tokens(session, community_id, tokens, max(0, min(limit, MAX_LIMIT)))
    return [_shown(row, zone) for row in rows]


def on_this_day(
    archive: Archive, community_id: str, day: date, limit: int = 3
) -> list[KeptMessage]:
    """Kept messages from the same month and day in earlier years (in the community's time
    zone), most-tagged first. On 28 February of a common year, 29 February of earlier leap
    years counts too, so those memories are not lost three years in four."""
    with archive.db.read() as session:  # one session: on-this-day is a handful of queries
        zone = _zone_in(session, community_id)
        first = first_message_at(session, community_id)
        if first is None:
            return []
        ranges = []
        for year in range(first.astimezone(zone).year, day.year):
            leap = calendar.isleap(year)
            if (day.month, day.day) == (2, 29):
                days = [date(year, 2, 29)] if leap else []
            else:
                days = [date(year, day.month, day.day)]
                if (day.month, day.day) == (2, 28) and leap and not calendar.isleap(day.year):
                    days.append(date(year, 2, 29))
            for local_day in days:
                start = datetime.combine(local_day, time(0), zone)
                end = datetime.combine(local_day + timedelta(days=1), time(0), zone)
                ranges.append((start, end))
        rows = messages_in_ranges(session, community_id, ranges, max(0, min(limit, MAX_LIMIT)))
    return [_shown(row, zone) for row in rows]


def story_messages(archive: Archive, community_id: str, name: str) -> list[KeptMessage]:
    """The kept messages filed into the community's story ``name``, oldest first."""
    zone = _zone(archive, community_id)
    with archive.db.read() as session:
        story = message_store.get_story(session, community_id, name)
        if story is None or story.id is None:
            return []
        ids = [m.id for m in message_store.story_messages(session, story.id) if m.id is not None]
        rows = message_rows(session, ids)
    return [_shown(row, zone) for row in rows]


def archive_start(archive: Archive, community_id: str) -> date | None:
    """The local day of the community's oldest kept message; None for an empty archive."""
    with archive.db.read() as session:  # one session: on-this-day is a handful of queries
        zone = _zone_in(session, community_id)
        first = first_message_at(session, community_id)
    return first.astimezone(zone).date() if first is not None else None


def memories_of_day(
    archive: Archive, community_id: str, day: date, limit: int = 3
) -> list[KeptMessage]:
    """Kept messages sent on one local day of the community, most-tagged first."""
    zone = _zone(archive, community_id)
    start = datetime.combine(day, time(0), zone)
    end = datetime.combine(day + timedelta(days=1), time(0), zone)
    with archive.db.read() as session:
        rows = messages_in_ranges(
            session, community_id, [(start, end)], max(0, min(limit, MAX_LIMIT))
        )
    return [_shown(row, zone) for row in rows]
