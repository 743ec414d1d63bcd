"""When digests and memories are posted: per community, in its own time zone.

``digest = "sun 20:00"`` posts the weekly digest every Sunday at 20:00 local time, and
``on_this_day = "09:00"`` the day's memories every day at 09:00, as APScheduler ``CronTrigger``
jobs with the community's ``ZoneInfo``. The slot arithmetic is pure (``latest_slot``,
``next_slot``, ``due_slots``) so it is tested for any "now" without sleeping.

Daylight saving: a local time the clocks skip (02:30 on the night they jump from 02:00 to
03:00) is posted at the moment it would have been on the old offset — 03:30 new time, as
APScheduler fires it; a time that happens twice (01:30 on the night clocks go back) is posted at
its first occurrence: APScheduler fires twice, and the second finds the post in the log.

Missed slots: a check runs at start-up and every ``CHECK_MINUTES`` after; each community's
latest slot of each kind that is less than ``GRACE`` (one day) late and not in the post log is
posted then — once, because the post log is unique per (community, kind, period). A slot from
before the community was created in the archive was never missed (a new bot does not open
with yesterday's digest). The check
also covers communities created while the bot runs (a group that added the bot), which get no
cron job of their own until the next start.

Periods: the day's memories are the slot's local date. A digest covers the ISO week of the
slot's local date, except a slot on a Monday, which covers the week that just ended (a Monday
digest of the new week would be empty).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger

from archiver.community import CommunitySettings, created_times
from archiver.digest import IsoWeek
from archiver.posts import DIGEST, ON_THIS_DAY, day_period, digest_period
from bot.app.posting import Poster

log = logging.getLogger(__name__)

GRACE = timedelta(days=1)
CHECK_MINUTES = 10
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class Slot:
    """One scheduled post: when (aware, in the community's zone), what, for which period."""

    community_id: str
    kind: str
    at: datetime
    period: str

    @property
    def utc(self) -> datetime:
        """When, in UTC (compare these, not ``at``)."""
        return self.at.astimezone(UTC)

    @property
    def day(self) -> date:
        """The slot's local date."""
        return self.at.date()


def weekly(spec: str) -> tuple[int, time]:
    """``"sun 20:00"`` → (6, 20:00); Monday is 0. ValueError for anything else."""
    day, _, clock = spec.strip().lower().partition(" ")
    return DAYS.index(day), time.fromisoformat(clock.strip())


def daily(spec: str) -> time:
    """``"09:00"`` → 09:00."""
    return time.fromisoformat(spec.strip())


def local(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """``clock`` on ``day`` in ``zone``, DST-safe (see the module docstring): the result is
    normalised, so a skipped time comes out as the real moment in the new offset."""
    return datetime.combine(day, clock, zone).astimezone(UTC).astimezone(zone)


def digest_week(day: date) -> IsoWeek:
    """The week a digest posted on ``day`` covers."""
    if day.weekday() == 0:
        day -= timedelta(days=1)
    return IsoWeek.containing(day)


def _slot(settings: CommunitySettings, kind: str, day: date, clock: time) -> Slot:
    at = local(day, clock, ZoneInfo(settings.timezone))
    period = digest_period(digest_week(day)) if kind == DIGEST else day_period(day)
    return Slot(settings.id, kind, at, period)


def _candidates(settings: CommunitySettings, kind: str, around: date) -> list[Slot]:
    """The kind's slots on the local days from 8 days before ``around`` to 8 after."""
    spec = settings.digest if kind == DIGEST else settings.on_this_day
    if not spec:
        return []
    days = [around + timedelta(days=offset) for offset in range(-8, 9)]
    if kind == DIGEST:
        weekday, clock = weekly(spec)
        days = [day for day in days if day.weekday() == weekday]
    else:
        clock = daily(spec)
    return [_slot(settings, kind, day, clock) for day in days]


def latest_slot(settings: CommunitySettings, kind: str, now: datetime) -> Slot | None:
    """The kind's most recent slot at or before ``now`` (aware); None when it is off."""
    # Compared in UTC: aware datetimes sharing a ZoneInfo compare by wall time, fold ignored.
    now = now.astimezone(UTC)
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    past = [slot for slot in _candidates(settings, kind, today) if slot.utc <= now]
    return max(past, key=lambda slot: slot.utc, default=None)


def next_slot(settings: CommunitySettings, kind: str, now: datetime) -> Slot | None:
    """The kind's first slot after ``now``; None when it is off."""
    now = now.astimezone(UTC)
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    future = [slot for slot in _candidates(settings, kind, today) if slot.utc > now]
    return min(future, key=lambda slot: slot.utc, default=None)


def due_slots(
    communities: Sequence[CommunitySettings],
    now: datetime,
    grace: timedelta = GRACE,
    *,
    created: Mapping[str, datetime] | None = None,
) -> list[Slot]:
    """The latest slot of each community and kind that is less than ``grace`` late: what a
    check at ``now`` posts unless the post log already has it. A slot before the community
    was ``created`` (in the archive) was never the bot's to post, so it is not missed."""
    due = []
    for settings in communities:
        start = (created or {}).get(settings.id)
        for kind in (DIGEST, ON_THIS_DAY):
            slot = latest_slot(settings, kind, now)
            if slot is None or now.astimezone(UTC) - slot.utc >= grace:
                continue
            if start is not None and slot.utc < start:
                continue
            due.append(slot)
    return due


def trigger(settings: CommunitySettings, kind: str) -> CronTrigger | None:
    """The APScheduler trigger of the kind's slots; None when it is off."""
    zone = ZoneInfo(settings.timezone)
    if kind == DIGEST and settings.digest:
        weekday, clock = weekly(settings.digest)
        return CronTrigger(
            day_of_week=DAYS[weekday], hour=clock.hour, minute=clock.minute, timezone=zone
        )
    if kind == ON_THIS_DAY and settings.on_this_day:
        clock = daily(settings.on_this_day)
        return CronTrigger(hour=clock.hour, minute=clock.minute, timezone=zone)
    return None


class PostSchedule:
    """The scheduled posts of a running bot: a cron job per community and kind, and the
    check for missed slots. ``communities`` is called at each check, so it may change."""

    def __init__(
        self,
        poster: Poster,
        communities: Callable[[], Sequence[CommunitySettings]],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        after_digest: Callable[[CommunitySettings], Awaitable[None]] | None = None,
    ) -> None:
        self.poster = poster
        self.communities = communities
        self.clock = clock
        # Called after each weekly digest slot (the archive website's refresh, [site] out).
        self.after_digest = after_digest
        self._posting: set[asyncio.Task[object]] = set()

    def install(self, scheduler: BaseScheduler, initial: Sequence[CommunitySettings]) -> None:
        """Add the jobs: cron slots for ``initial``, and the check (first run now)."""
        for settings in initial:
            for kind in (DIGEST, ON_THIS_DAY):
                cron = trigger(settings, kind)
                if cron is None:
                    continue
                scheduler.add_job(
                    self.fire,
                    cron,
                    args=[settings.id, kind],
                    id=f"post-{kind}-{settings.id}",
                    coalesce=True,
                    max_instances=1,
                    misfire_grace_time=3600,
                )
        scheduler.add_job(
            self.check,
            "interval",
            minutes=CHECK_MINUTES,
            next_run_time=datetime.now(UTC),
            id="post-check",
            coalesce=True,
            max_instances=1,
        )

    async def fire(self, community_id: str, kind: str) -> None:
        """A cron slot came: post its period (never raises: logged instead)."""
        now = self.clock()
        for settings in self.communities():
            if settings.id == community_id:
                slot = latest_slot(settings, kind, now)
                if slot is not None:
                    await self.post(settings, slot)

    async def check(self) -> None:
        """Post every slot that is due and not yet in the post log (never raises)."""
        try:
            communities = list(self.communities())
        except Exception:
            log.exception("scheduled posts: cannot list the communities")
            return
        try:
            created = await asyncio.to_thread(created_times, self.poster.archive)
        except Exception:
            log.exception("scheduled posts: cannot read the archive")
            return
        by_id = {settings.id: settings for settings in communities}
        for slot in due_slots(communities, self.clock(), created=created):
            await self.post(by_id[slot.community_id], slot)

    async def post(self, settings: CommunitySettings, slot: Slot) -> None:
        """Post one slot; an error is logged with its traceback, never lost or fatal."""
        task = asyncio.current_task()
        if task is not None:
            self._posting.add(task)
        try:
            if slot.kind == DIGEST:
                await self.poster.post_digest(settings, IsoWeek.parse(slot.period))
                if self.after_digest is not None:
                    await self.after_digest(settings)
            else:
                await self.poster.post_on_this_day(settings, slot.day)
        except Exception:
            log.exception("scheduled %s %s of %s failed", slot.kind, slot.period, slot.community_id)
        finally:
            if task is not None:
                self._posting.discard(task)

    async def drain(self, timeout: float = 60) -> None:
        """Let posts being sent finish (a clean stop must not leave a claim pending)."""
        running = {task for task in self._posting if task is not asyncio.current_task()}
        if running:
            await asyncio.wait(running, timeout=timeout)
