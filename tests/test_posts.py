"""The post log (claim → send → mark sent, one post per community, kind and period) and the
memories an "on this day" post shows (not repeated, month fallback, empty days, consent)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from archiver.archive import Archive
from archiver.consent import Actor, Attribution, Level, Method, set_attribution
from archiver.forget import forget_message
from archiver.ingest import ingest_message
from archiver.posts import (
    DIGEST,
    ON_THIS_DAY,
    claim,
    mark_sent,
    memories_to_post,
    month_ago,
    posted_memories,
    release,
    render_memories,
    status,
)
from bot.chat.texts import text
from storage.db import Database
from storage.models import PostedMemory
from tests.conftest import CHAT, COMMUNITY, account, message, rows, say

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
ALICE, BOB, CAROL = 1, 2, 3


def local(year: int, month: int, day: int, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=SHANGHAI)


@pytest.fixture
def people(archive: Archive) -> Archive:
    """Alice (anonymous) and Bob (named 王师傅) keep everything; Carol said no."""
    say(archive, ALICE, Level.ALL, name="Alice Secret")
    say(archive, BOB, Level.ALL, name="王师傅")
    say(archive, CAROL, Level.NONE, name="Carol")
    set_attribution(
        archive,
        COMMUNITY,
        account(BOB),
        Attribution.NAMED,
        actor=Actor(account(BOB)),
        method=Method.COMMAND,
    )
    return archive


def keep(archive: Archive, message_id: int, author: int, words: str, at: datetime) -> bool:
    return ingest_message(archive, message(message_id, author, words, sent_at=at)).kept


# --- the post log -------------------------------------------------------------------------------


def test_a_claim_is_taken_once(archive: Archive) -> None:
    assert status(archive, COMMUNITY, DIGEST, "2026-W48") is None
    assert claim(archive, COMMUNITY, DIGEST, "2026-W48", now=T0)
    assert status(archive, COMMUNITY, DIGEST, "2026-W48") == "pending"
    assert not claim(archive, COMMUNITY, DIGEST, "2026-W48", now=T0 + timedelta(minutes=1))
    # Another period, another kind: their own claims.
    assert claim(archive, COMMUNITY, DIGEST, "2026-W49", now=T0)
    assert claim(archive, COMMUNITY, ON_THIS_DAY, "2026-11-29", now=T0)
    mark_sent(archive, COMMUNITY, DIGEST, "2026-W48", now=T0)
    assert status(archive, COMMUNITY, DIGEST, "2026-W48") == "sent"
    # Sent is sent, however long after.
    assert not claim(archive, COMMUNITY, DIGEST, "2026-W48", now=T0 + timedelta(days=30))


def test_a_stale_pending_claim_is_retried_once(archive: Archive) -> None:
    assert claim(archive, COMMUNITY, ON_THIS_DAY, "2026-11-29", now=T0)
    # The sender died. Within 30 minutes it may still be sending: hands off.
    assert not claim(archive, COMMUNITY, ON_THIS_DAY, "2026-11-29", now=T0 + timedelta(minutes=29))
    assert claim(archive, COMMUNITY, ON_THIS_DAY, "2026-11-29", now=T0 + timedelta(minutes=31))
    assert status(archive, COMMUNITY, ON_THIS_DAY, "2026-11-29") == "retrying"
    # The retry died too: never again.
    assert not claim(archive, COMMUNITY, ON_THIS_DAY, "2026-11-29", now=T0 + timedelta(hours=5))


def test_a_released_claim_can_be_claimed_again(archive: Archive) -> None:
    assert claim(archive, COMMUNITY, DIGEST, "2026-W48", now=T0)
    release(archive, COMMUNITY, DIGEST, "2026-W48")
    assert status(archive, COMMUNITY, DIGEST, "2026-W48") is None
    assert claim(archive, COMMUNITY, DIGEST, "2026-W48", now=T0)
    mark_sent(archive, COMMUNITY, DIGEST, "2026-W48", now=T0)
    release(archive, COMMUNITY, DIGEST, "2026-W48")  # a sent post is never released
    assert status(archive, COMMUNITY, DIGEST, "2026-W48") == "sent"


def test_unknown_kind_is_refused(archive: Archive) -> None:
    with pytest.raises(ValueError, match="kind"):
        claim(archive, COMMUNITY, "poem", "2026-11-29")


def test_two_instances_claiming_at_once_get_one_post(archive: Archive) -> None:
    """Eight racing claims through eight connections of their own: exactly one wins."""
    handles = [Database(archive.db.url) for _ in range(8)]
    try:
        with ThreadPoolExecutor(8) as pool:
            won = list(
                pool.map(
                    lambda db: claim(
                        Archive(db=db, segmenter=archive.segmenter),
                        COMMUNITY,
                        DIGEST,
                        "2026-W48",
                        now=T0,
                    ),
                    handles,
                )
            )
    finally:
        for db in handles:
            db.close()
    assert sorted(won) == [False] * 7 + [True]


# --- memories -----------------------------------------------------------------------------------


def test_memories_are_earlier_years_most_tagged_first_and_named_only_by_choice(
    people: Archive,
) -> None:
    assert keep(people, 1, ALICE, "Alice's secret garden party", local(2024, 11, 29))
    assert keep(people, 2, BOB, "电梯终于修好了", local(2025, 11, 29))
    assert not keep(people, 3, CAROL, "Carol's words never kept", local(2025, 11, 29))
    assert keep(people, 4, ALICE, "not this day", local(2025, 11, 28))
    memories = memories_to_post(people, COMMUNITY, date(2026, 11, 29), now=T0)
    assert memories is not None and not memories.month_ago
    assert [m.platform_message_id for m in memories.messages] == ["1", "2"]
    body = render_memories(memories, lambda key, **v: text("en", key, **v))
    assert body.splitlines() == [
        "On this day · 11-29",
        "2024-11-29 a neighbour: Alice's secret garden party",
        "2025-11-29 王师傅: 电梯终于修好了",
    ]
    assert "Alice Secret" not in body and "Carol" not in body


def test_an_empty_day_posts_nothing(people: Archive) -> None:
    assert memories_to_post(people, COMMUNITY, date(2026, 11, 29), now=T0) is None
    keep(people, 1, ALICE, "another day", local(2025, 3, 1))
    assert memories_to_post(people, COMMUNITY, date(2026, 11, 29), now=T0) is None


def test_erased_messages_are_never_memories(people: Archive) -> None:
    keep(people, 1, ALICE, "to be forgotten", local(2025, 11, 29))
    keep(people, 2, BOB, "to be remembered", local(2025, 11, 29))
    mark_sent(people, COMMUNITY, ON_THIS_DAY, "x", memory_ids=[])  # no claim: a no-op
    memories = memories_to_post(people, COMMUNITY, date(2026, 11, 29), now=T0)
    assert memories is not None
    claim(people, COMMUNITY, ON_THIS_DAY, "2026-11-29", now=T0)
    mark_sent(people, COMMUNITY, ON_THIS_DAY, "2026-11-29", memory_ids=memories.message_ids, now=T0)
    assert len(rows(people, PostedMemory)) == 2
    forget_message(people, CHAT, "1", actor=Actor(account(ALICE)))
    # The erased message leaves its "posted" record behind neither.
    assert [r.message_id for r in rows(people, PostedMemory)] == [memories.message_ids[1]]
    found = memories_to_post(people, COMMUNITY, date(2027, 11, 29), now=T0 + timedelta(days=400))
    assert found is not None and [m.text for m in found.messages] == ["to be remembered"]


@pytest.mark.parametrize(("repeat_days", "again"), [(365, False), (30, True), (0, True)])
def test_a_memory_is_not_repeated_within_the_period(
    people: Archive, repeat_days: int, again: bool
) -> None:
    keep(people, 1, ALICE, "the first snow", local(2024, 2, 29))
    keep(people, 2, BOB, "lantern festival", local(2024, 2, 28))
    # 28 February 2025 shows 28 February and 29 February 2024.
    first = memories_to_post(people, COMMUNITY, date(2025, 2, 28), now=T0, repeat_days=repeat_days)
    assert first is not None and len(first.messages) == 2
    claim(people, COMMUNITY, ON_THIS_DAY, "2025-02-28", now=T0)
    mark_sent(people, COMMUNITY, ON_THIS_DAY, "2025-02-28", memory_ids=first.message_ids, now=T0)
    assert set(posted_memories(people, COMMUNITY)) == set(first.message_ids)
    # Sixty days later the other day's question finds the same messages.
    later = memories_to_post(
        people, COMMUNITY, date(2028, 2, 29), now=T0 + timedelta(days=60), repeat_days=repeat_days
    )
    if again:
        assert later is not None and [m.text for m in later.messages] == ["the first snow"]
    else:
        assert later is None


def test_only_fresh_memories_are_shown_when_some_were_posted(people: Archive) -> None:
    for n in range(1, 6):
        keep(people, n, ALICE, f"memory number {n}", local(2020 + n, 11, 29))
    first = memories_to_post(people, COMMUNITY, date(2026, 11, 29), now=T0, limit=3)
    assert first is not None and len(first.messages) == 3
    claim(people, COMMUNITY, ON_THIS_DAY, "2026-11-29", now=T0)
    mark_sent(people, COMMUNITY, ON_THIS_DAY, "2026-11-29", memory_ids=first.message_ids, now=T0)
    second = memories_to_post(people, COMMUNITY, date(2026, 11, 29), now=T0, limit=3)
    assert second is not None
    assert not {m.id for m in second.messages} & set(first.message_ids)
    assert len(second.messages) == 2


@pytest.mark.parametrize("fallback", [True, False])
def test_month_fallback_while_the_archive_is_young(people: Archive, fallback: bool) -> None:
    keep(people, 1, BOB, "一个月前的今天，我们开始记录", local(2026, 10, 29))
    keep(people, 2, ALICE, "the day after", local(2026, 10, 30))
    memories = memories_to_post(
        people, COMMUNITY, date(2026, 11, 29), now=T0, month_fallback=fallback
    )
    if not fallback:
        assert memories is None
        return
    assert memories is not None and memories.month_ago
    assert memories.source_day == date(2026, 10, 29)
    assert [m.platform_message_id for m in memories.messages] == ["1"]
    body = render_memories(memories, lambda key, **v: text("zh", key, **v))
    assert body.splitlines()[0] == "一个月前 · 2026-10-29"


def test_no_month_fallback_once_the_archive_is_a_year_old(people: Archive) -> None:
    keep(people, 1, ALICE, "a year and more ago", local(2025, 11, 1))
    keep(people, 2, ALICE, "one month ago", local(2026, 10, 29))
    assert (
        memories_to_post(people, COMMUNITY, date(2026, 11, 29), now=T0, month_fallback=True) is None
    )


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 3, 31), date(2026, 2, 28)),
        (date(2028, 3, 30), date(2028, 2, 29)),
        (date(2026, 1, 15), date(2025, 12, 15)),
        (date(2026, 11, 29), date(2026, 10, 29)),
    ],
)
def test_month_ago(day: date, expected: date) -> None:
    assert month_ago(day) == expected
