"""The bot's own posts: the post log, and which memories to post.

**Post log.** Every scheduled or ``--post``-ed post is recorded under its unique key
(community, kind, period) *before* it is sent, and marked sent afterwards:

1. ``claim`` inserts the key as ``pending``. If the key is already there, someone else — this
   bot before a restart, or a second instance — has the post, and ``claim`` returns False:
   nothing is sent.
2. The caller sends the post to every chat of the community.
3. ``mark_sent`` marks it ``sent`` (and, for memories, records which messages were posted,
   in the same transaction).

A sender that dies between 1 and 3 leaves a ``pending`` claim. When a claim is older than
``STALE_AFTER`` (30 minutes — far longer than any send takes), the next ``claim`` of the same
key takes it over once: the row becomes ``retrying`` and the post is sent again (a chat may then
see it twice, which is better than never). A ``retrying`` claim is never taken over again, so a
post that keeps failing is not repeated forever. ``release`` removes an unsent claim when
nothing at all was delivered, so the next slot check may try again.

Kinds and periods: ``digest`` with an ISO week (``2026-W47``), ``onthisday`` with the local
date (``2026-11-27``).

**Memories.** ``memories_to_post`` picks the "on this day" memories: kept messages from the same
month and day in earlier years, most-tagged first, leaving out any posted as a memory within the
community's ``memory_repeat_days``; when the archive is younger than a year, the messages of
one month ago instead, only if the community enabled that. An empty day gives None: nothing is
posted.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from archiver.archive import Archive
from archiver.digest import IsoWeek, TextFn
from archiver.recall import MAX_LIMIT, KeptMessage, archive_start, memories_of_day, on_this_day
from storage import posts as post_log

__all__ = [
    "DIGEST",
    "MEMORIES",
    "ON_THIS_DAY",
    "STALE_AFTER",
    "Memories",
    "claim",
    "day_period",
    "digest_period",
    "mark_sent",
    "memories_to_post",
    "month_ago",
    "posted_memories",
    "release",
    "render_memories",
    "status",
]

DIGEST = "digest"
ON_THIS_DAY = "onthisday"
KINDS = (DIGEST, ON_THIS_DAY)
STALE_AFTER = timedelta(minutes=30)
MEMORIES = 3
SNIPPET = 200


def digest_period(week: IsoWeek) -> str:
    """The log's period for a weekly digest: ``2026-W47``."""
    return str(week)


def day_period(day: date) -> str:
    """The log's period for a day's memories: ``2026-11-27``."""
    return day.isoformat()


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def claim(
    archive: Archive,
    community_id: str,
    kind: str,
    period: str,
    *,
    now: datetime | None = None,
    stale_after: timedelta = STALE_AFTER,
) -> bool:
    """Record the post as pending before sending it. False: it is someone else's (already
    sent, being sent, or retried once already) and must not be sent."""
    if kind not in KINDS:
        raise ValueError(f"unknown post kind {kind!r}")
    at = _now(now)
    with archive.db.write() as session:
        if post_log.insert_claim(session, community_id, kind, period, at):
            return True
        return post_log.take_over_stale(session, community_id, kind, period, at - stale_after, at)


def mark_sent(
    archive: Archive,
    community_id: str,
    kind: str,
    period: str,
    *,
    memory_ids: Sequence[int] = (),
    now: datetime | None = None,
) -> None:
    """Record the claimed post as sent, with the memories it carried."""
    at = _now(now)
    with archive.db.write() as session:
        post_log.set_sent(session, community_id, kind, period, at)
        if memory_ids:
            post_log.record_memories(session, community_id, memory_ids, period, at)


def release(archive: Archive, community_id: str, kind: str, period: str) -> None:
    """Drop an unsent claim: nothing was delivered anywhere, so a later try may post it."""
    with archive.db.write() as session:
        post_log.delete_claim(session, community_id, kind, period)


def status(archive: Archive, community_id: str, kind: str, period: str) -> str | None:
    """``pending``, ``retrying`` or ``sent``; None when the log has no such post."""
    with archive.db.read() as session:
        post = post_log.get_post(session, community_id, kind, period)
        return post.status if post is not None else None


def posted_memories(archive: Archive, community_id: str) -> dict[int, datetime]:
    """Message id → when it was last posted as a memory."""
    with archive.db.read() as session:
        return post_log.last_posted(session, community_id)


# --- memories ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Memories:
    """What an "on this day" post shows."""

    day: date  # the day of the post
    month_ago: bool  # True: the archive is younger than a year, these are from one month ago
    source_day: date | None  # the day the messages are from when ``month_ago``
    messages: tuple[KeptMessage, ...]

    @property
    def message_ids(self) -> list[int]:
        """The kept messages shown."""
        return [m.id for m in self.messages]


def month_ago(day: date) -> date:
    """The same day one month earlier, the month's last day when it is shorter (31 March →
    28 or 29 February)."""
    year, month = (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def memories_to_post(
    archive: Archive,
    community_id: str,
    day: date,
    *,
    limit: int = MEMORIES,
    repeat_days: int = 365,
    month_fallback: bool = False,
    now: datetime | None = None,
) -> Memories | None:
    """The memories to post on ``day`` (a local date), or None when there are none.

    A message posted as a memory at or after ``now - repeat_days`` is left out; messages are
    most-tagged first. ``UnknownCommunityError`` for a community the archive lacks.
    """
    since = _now(now) - timedelta(days=max(0, repeat_days))
    with archive.db.read() as session:
        recent = post_log.posted_since(session, community_id, since) if repeat_days > 0 else set()

    def fresh(found: list[KeptMessage]) -> tuple[KeptMessage, ...]:
        return tuple(m for m in found if m.id not in recent)[: max(0, limit)]

    shown = fresh(on_this_day(archive, community_id, day, limit=MAX_LIMIT))
    if shown:
        return Memories(day=day, month_ago=False, source_day=None, messages=shown)
    if not month_fallback:
        return None
    start = archive_start(archive, community_id)
    if start is None or start <= _year_before(day):
        return None  # empty archive, or a year old already: no fallback
    source = month_ago(day)
    shown = fresh(memories_of_day(archive, community_id, source, limit=MAX_LIMIT))
    if not shown:
        return None
    return Memories(day=day, month_ago=True, source_day=source, messages=shown)


def _year_before(day: date) -> date:
    if (day.month, day.day) == (2, 29):
        return date(day.year - 1, 2, 28)
    return day.replace(year=day.year - 1)


def render_memories(memories: Memories, t: TextFn) -> str:
    """The post's text: a title and one line per memory (date, author or "a neighbour",
    the text cut to a few lines)."""
    if memories.month_ago:
        assert memories.source_day is not None
        title = t("month_ago_title", date=memories.source_day.isoformat())
    else:
        title = t("on_this_day_title", date=memories.day.strftime("%m-%d"))
    lines = [title]
    for memory in memories.messages:
        body = " ".join(memory.text.split())
        if len(body) > SNIPPET:
            body = body[:SNIPPET] + "…"
        lines.append(
            t(
                "result_line",
                date=memory.sent_at.strftime("%Y-%m-%d"),
                author=memory.author or t("neighbour"),
                text=body or t("digest_media_only"),
            )
        )
    return "\n".join(lines)
