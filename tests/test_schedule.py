"""Scheduled slots, computed for given "now" values (no sleeping): per community time zone,
daylight saving, periods, and which missed slots are still posted."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from archiver.community import CommunitySettings
from archiver.posts import DIGEST, ON_THIS_DAY
from bot.app.schedule import (
    GRACE,
    digest_week,
    due_slots,
    latest_slot,
    local,
    next_slot,
    trigger,
    weekly,
)

NEW_YORK = ZoneInfo("America/New_York")
SHANGHAI = ZoneInfo("Asia/Shanghai")
GARDEN = CommunitySettings(
    id="garden", name="阳光花园", timezone="Asia/Shanghai", digest="sun 20:00", on_this_day="09:00"
)
HUDSON = CommunitySettings(
    id="hudson", name="Hudson", timezone="America/New_York", digest="sun 02:30", on_this_day="02:30"
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_shanghai_daily_slot() -> None:
    now = datetime(2026, 11, 27, 8, 59, tzinfo=SHANGHAI)
    before = latest_slot(GARDEN, ON_THIS_DAY, now)
    after = next_slot(GARDEN, ON_THIS_DAY, now)
    assert before is not None and after is not None
    assert before.at == datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI)
    assert before.period == "2026-11-26"
    assert after.at.astimezone(UTC) == utc(2026, 11, 27, 1, 0)
    assert after.period == "2026-11-27"
    # At the slot itself it is the latest one.
    at = latest_slot(GARDEN, ON_THIS_DAY, after.at)
    assert at == after


def test_shanghai_weekly_slot_and_its_week() -> None:
    sunday_evening = datetime(2026, 11, 29, 20, 0, tzinfo=SHANGHAI)
    slot = latest_slot(GARDEN, DIGEST, sunday_evening + timedelta(hours=3))
    assert slot is not None
    assert slot.at == sunday_evening and slot.period == "2026-W48"
    previous = latest_slot(GARDEN, DIGEST, sunday_evening - timedelta(seconds=1))
    assert previous is not None and previous.period == "2026-W47"
    assert next_slot(GARDEN, DIGEST, sunday_evening) == replace(
        slot, at=sunday_evening + timedelta(days=7), period="2026-W49"
    )


def test_a_monday_digest_covers_the_week_that_ended() -> None:
    assert str(digest_week(date(2026, 11, 30))) == "2026-W48"  # Monday → last week
    assert str(digest_week(date(2026, 11, 29))) == "2026-W48"  # Sunday → this week
    assert str(digest_week(date(2026, 11, 27))) == "2026-W48"


@pytest.mark.parametrize(
    ("day", "expected_utc"),
    [
        (date(2026, 3, 7), utc(2026, 3, 7, 7, 30)),  # EST
        # 02:30 does not exist on 8 March: it is posted at 03:30 EDT (07:30 UTC).
        (date(2026, 3, 8), utc(2026, 3, 8, 7, 30)),
        (date(2026, 3, 9), utc(2026, 3, 9, 6, 30)),  # EDT
        (date(2026, 10, 31), utc(2026, 10, 31, 6, 30)),  # EDT
        (date(2026, 11, 1), utc(2026, 11, 1, 7, 30)),  # EST from 02:00
        (date(2026, 11, 2), utc(2026, 11, 2, 7, 30)),
    ],
)
def test_new_york_daily_slot_across_daylight_saving(day: date, expected_utc: datetime) -> None:
    just_after = local(day, datetime.min.time().replace(hour=23), NEW_YORK)
    slot = latest_slot(HUDSON, ON_THIS_DAY, just_after)
    assert slot is not None
    assert slot.at.astimezone(UTC) == expected_utc
    assert slot.period == day.isoformat()


def test_a_repeated_local_time_is_posted_at_its_first_occurrence() -> None:
    """01:30 happens twice on 1 November 2026 in New York; the slot is the first, and the
    second firing (APScheduler fires both) names the same period, so the log posts once."""
    settings = replace(HUDSON, on_this_day="01:30")
    first_fire = utc(2026, 11, 1, 5, 30)  # 01:30 EDT
    second_fire = utc(2026, 11, 1, 6, 30)  # 01:30 EST
    first = latest_slot(settings, ON_THIS_DAY, first_fire)
    second = latest_slot(settings, ON_THIS_DAY, second_fire)
    assert first is not None and second is not None
    assert first.utc == first_fire
    assert first == second


@pytest.mark.parametrize("settings", [GARDEN, HUDSON, replace(HUDSON, on_this_day="01:30")])
@pytest.mark.parametrize("kind", [DIGEST, ON_THIS_DAY])
def test_slots_agree_with_apscheduler(settings: CommunitySettings, kind: str) -> None:
    """Across both 2026 daylight-saving changes, our next slot is APScheduler's next firing."""
    cron = trigger(settings, kind)
    assert cron is not None
    now = utc(2026, 3, 1, 0, 0, 1)  # never exactly a slot: APScheduler counts "now" in
    while now < utc(2026, 11, 15):
        fire = cron.get_next_fire_time(None, now)
        slot = next_slot(settings, kind, now)
        assert slot is not None and fire is not None
        if fire.astimezone(UTC) > slot.utc:
            # Started inside the skipped hour, APScheduler skips the skipped time; the
            # periodic check (bot/app/schedule.py) posts it instead.
            assert slot.at.time() != datetime.min.time().replace(hour=2, minute=30)
            assert slot in due_slots([settings], slot.utc + timedelta(minutes=10))
        elif fire.astimezone(UTC) < slot.utc:
            # Only the repeated hour's second firing: same period as the slot just before.
            repeated = latest_slot(settings, kind, fire)
            assert repeated is not None and repeated.utc < fire.astimezone(UTC)
            assert repeated.at.date() == fire.astimezone(ZoneInfo(settings.timezone)).date()
        now += timedelta(hours=7)


def test_new_york_weekly_slot_on_the_night_clocks_spring_forward() -> None:
    slot = latest_slot(HUDSON, DIGEST, utc(2026, 3, 9))
    assert slot is not None
    assert slot.at.astimezone(UTC) == utc(2026, 3, 8, 7, 30)
    assert slot.period == "2026-W10"


@pytest.mark.parametrize(
    ("late", "due"),
    [
        (timedelta(0), True),
        (timedelta(hours=23, minutes=59), True),
        (GRACE, False),
        (timedelta(days=3), False),
    ],
)
def test_a_missed_slot_is_due_for_less_than_a_day(late: timedelta, due: bool) -> None:
    weekly_only = replace(GARDEN, on_this_day="")
    slot_at = datetime(2026, 11, 29, 20, 0, tzinfo=SHANGHAI)
    found = due_slots([weekly_only], slot_at + late)
    assert [(s.kind, s.period) for s in found] == ([(DIGEST, "2026-W48")] if due else [])


def test_due_slots_cover_every_community_and_kind() -> None:
    # Sunday 21:00 in Shanghai = 08:00 in New York on the same Sunday (EST).
    now = datetime(2026, 11, 29, 21, 0, tzinfo=SHANGHAI)
    found = {(s.community_id, s.kind, s.period) for s in due_slots([GARDEN, HUDSON], now)}
    assert found == {
        ("garden", DIGEST, "2026-W48"),
        ("garden", ON_THIS_DAY, "2026-11-29"),
        ("hudson", DIGEST, "2026-W48"),
        ("hudson", ON_THIS_DAY, "2026-11-29"),
    }
    off = replace(GARDEN, digest="", on_this_day="")
    assert due_slots([off], now) == []
    assert trigger(off, DIGEST) is None and trigger(off, ON_THIS_DAY) is None


def test_weekly_spec() -> None:
    assert weekly("sun 20:00") == (6, datetime.min.time().replace(hour=20))
    assert weekly("mon 09:05")[0] == 0
    with pytest.raises(ValueError):
        weekly("someday 20:00")


def test_a_slot_before_the_community_existed_is_not_missed() -> None:
    slot_at = datetime(2026, 11, 29, 20, 0, tzinfo=SHANGHAI)
    weekly_only = replace(GARDEN, on_this_day="")
    now = slot_at + timedelta(hours=2)
    assert due_slots([weekly_only], now, created={"garden": slot_at + timedelta(hours=1)}) == []
    assert len(due_slots([weekly_only], now, created={"garden": slot_at - timedelta(days=9)})) == 1
