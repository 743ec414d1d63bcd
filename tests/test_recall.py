"""Giving the memory back: search (Chinese words, English, odd queries, one community only)
and on-this-day (the community's own calendar day, leap days, daylight saving)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from archiver.archive import Archive
from archiver.consent import Actor, Attribution, Level, Method, set_attribution
from archiver.errors import UnknownCommunityError
from archiver.events import ChatRef
from archiver.ingest import ingest_message
from archiver.preservation import tag_message
from archiver.recall import MAX_LIMIT, KeptMessage, on_this_day, search
from tests.conftest import CHAT, COMMUNITY, account, add_community, message, say, tag

ALICE, BOB = 1, 2
SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
NY_CHAT = ChatRef("matrix", "!hudson:example.org")


@pytest.fixture
def talk(archive: Archive) -> Archive:
    """Alice (anonymous) and Bob (named) keep everything."""
    say(archive, ALICE, Level.ALL, name="Alice")
    say(archive, BOB, Level.ALL, name="王师傅")
    set_attribution(
        archive,
        COMMUNITY,
        account(BOB),
        Attribution.NAMED,
        actor=Actor(account(BOB)),
        method=Method.COMMAND,
    )
    return archive


def keep(
    archive: Archive,
    message_id: int,
    text: str,
    sent_at: datetime,
    *,
    author: int = ALICE,
    chat: ChatRef = CHAT,
) -> None:
    event = message(message_id, author, text, sent_at=sent_at, chat=chat)
    assert ingest_message(archive, event).kept


def ids(found: list[KeptMessage]) -> list[str]:
    return [m.platform_message_id for m in found]


def day(n: int) -> datetime:
    return datetime(2025, 5, 1, 12, 0, tzinfo=UTC) + timedelta(days=n)


# --- search ----------------------------------------------------------------------------------


def test_chinese_two_character_words_are_found(talk: Archive) -> None:
    keep(talk, 1, "我们小区的电梯终于修好了", day(1))
    keep(talk, 2, "电梯间的灯又不亮了", day(2))
    keep(talk, 3, "楼梯扶手松了", day(3))
    assert ids(search(talk, COMMUNITY, "电梯")) == ["2", "1"]
    assert ids(search(talk, COMMUNITY, "修好")) == ["1"]
    assert ids(search(talk, COMMUNITY, "电梯间")) == ["2"]
    assert ids(search(talk, COMMUNITY, "楼梯")) == ["3"]


def test_english_is_case_insensitive(talk: Archive) -> None:
    keep(talk, 1, "The LIFT in block 3 is Fixed!", day(1))
    for query in ("lift", "LIFT", "Lift", "fixed", "BLOCK"):
        assert ids(search(talk, COMMUNITY, query)) == ["1"], query


def test_every_word_must_match(talk: Archive) -> None:
    keep(talk, 1, "lift fixed today", day(1))
    keep(talk, 2, "lift broken again", day(2))
    keep(talk, 3, "the gate is fixed", day(3))
    keep(talk, 4, "电梯修好了 lift", day(4))
    assert ids(search(talk, COMMUNITY, "lift fixed")) == ["1"]
    assert ids(search(talk, COMMUNITY, "fixed lift")) == ["1"]
    assert ids(search(talk, COMMUNITY, "lift 电梯")) == ["4"]
    assert search(talk, COMMUNITY, "lift gate") == []


def test_newest_first_and_limit(talk: Archive) -> None:
    for n in (3, 1, 4, 2, 5):
        keep(talk, n, f"garden party number {n}", day(n))
    assert ids(search(talk, COMMUNITY, "garden")) == ["5", "4", "3", "2", "1"]
    assert ids(search(talk, COMMUNITY, "garden", limit=2)) == ["5", "4"]
    assert search(talk, COMMUNITY, "garden", limit=0) == []
    assert search(talk, COMMUNITY, "garden", limit=-3) == []


def test_limit_is_capped(talk: Archive) -> None:
    for n in range(MAX_LIMIT + 5):
        keep(talk, n, "同样的话", day(0) + timedelta(minutes=n))
    assert len(search(talk, COMMUNITY, "同样", limit=10_000)) == MAX_LIMIT


def test_no_results(talk: Archive) -> None:
    keep(talk, 1, "我们小区的电梯终于修好了", day(1))
    assert search(talk, COMMUNITY, "游泳池") == []
    assert search(talk, COMMUNITY, "swimming") == []


def test_a_query_with_no_words_finds_nothing(talk: Archive) -> None:
    keep(talk, 1, "电梯！！！...   🎉🎉 —「」《》", day(1))
    for query in ("", "   ", "？！。，", "...", "!!!", "—", "🎉🎉", "「」《》"):
        assert search(talk, COMMUNITY, query) == [], query


SYNTAX_QUERIES = [
    ('"', []),
    ("*", []),
    ("'", []),
    ("\\", []),
    ("AND", ["1"]),
    ("NEAR(", ["1"]),
    ('"lift"', ["1"]),
    ("lift*", ["1"]),
    ("'lift'", ["1"]),
    ("lift AND", ["1"]),
    ("NEAR(lift fixed)", ["1"]),
    ("NEAR(lift fixed, 2)", []),  # "2" is a word like any other
    ('"电梯" AND NEAR(修好 *', []),
    ("lift OR nothing", []),
    ("-lift", ["1"]),
    ("^lift", ["1"]),
    ("lift:*", ["1"]),
    ("{lift fixed}", ["1"]),
    ("O'Brien", ["1"]),
    ("C:\\temp\\lift", []),
    ("'); DROP TABLE message; --", []),
    ("lift \x00 fixed", ["1"]),
    ("x" * 3000, []),
]


def test_query_syntax_characters_are_only_text(talk: Archive) -> None:
    """FTS5 and tsquery operators, quotes and backslashes are words or nothing, never syntax
    (and never an error) on either backend."""
    keep(talk, 1, "O'Brien says: the lift AND the gate are fixed, near the park", day(1))
    for query, found in SYNTAX_QUERIES:
        assert ids(search(talk, COMMUNITY, query)) == found, query


def test_search_never_shows_another_communitys_messages(talk: Archive) -> None:
    other = ChatRef("telegram", "-100222")
    add_community(talk, "lotus", other)
    say(talk, ALICE, Level.ALL, community="lotus")
    keep(talk, 1, "电梯修好了 sunshine", day(1))
    keep(talk, 1, "电梯修好了 lotus", day(2), chat=other)
    assert [m.text for m in search(talk, COMMUNITY, "电梯")] == ["电梯修好了 sunshine"]
    assert [m.text for m in search(talk, "lotus", "电梯")] == ["电梯修好了 lotus"]
    assert search(talk, COMMUNITY, "lotus") == []
    with pytest.raises(UnknownCommunityError):
        search(talk, "nowhere", "电梯")


def test_authors_are_named_only_when_they_chose_named(talk: Archive) -> None:
    keep(talk, 1, "Alice 的留言 garden", day(1), author=ALICE)
    keep(talk, 2, "王师傅的留言 garden", day(2), author=BOB)
    by_id = {m.platform_message_id: m for m in search(talk, COMMUNITY, "garden")}
    assert by_id["1"].author is None  # said yes, name known, but anonymous
    assert by_id["2"].author == "王师傅"
    set_attribution(
        talk,
        COMMUNITY,
        account(BOB),
        Attribution.ANONYMOUS,
        actor=Actor(account(BOB)),
        method=Method.BUTTON,
    )
    assert all(m.author is None for m in search(talk, COMMUNITY, "garden"))


def test_results_carry_the_community_time_and_tags(talk: Archive) -> None:
    keep(talk, 1, "garden", datetime(2025, 3, 15, 15, 30, tzinfo=UTC))
    tag_message(talk, tag(BOB, "1"))
    [found] = search(talk, COMMUNITY, "garden")
    assert found.sent_at == datetime(2025, 3, 15, 23, 30, tzinfo=SHANGHAI)
    assert found.sent_at.utcoffset() == timedelta(hours=8)
    assert found.tags == 1
    assert found.to_json()["sent_at"] == "2025-03-15T23:30:00+08:00"


# --- on this day -----------------------------------------------------------------------------


def test_on_this_day_follows_the_communitys_calendar_day(talk: Archive) -> None:
    keep(talk, 1, "23:30 local on 03-15", datetime(2025, 3, 15, 15, 30, tzinfo=UTC))
    keep(talk, 2, "00:30 local on 03-16", datetime(2025, 3, 15, 16, 30, tzinfo=UTC))
    keep(talk, 3, "00:30 local on 03-15", datetime(2025, 3, 14, 16, 30, tzinfo=UTC))
    keep(talk, 4, "23:30 local on 03-14", datetime(2025, 3, 14, 15, 30, tzinfo=UTC))
    assert ids(on_this_day(talk, COMMUNITY, date(2026, 3, 15))) == ["3", "1"]
    assert ids(on_this_day(talk, COMMUNITY, date(2026, 3, 16))) == ["2"]
    assert ids(on_this_day(talk, COMMUNITY, date(2026, 3, 14))) == ["4"]
    [shown] = on_this_day(talk, COMMUNITY, date(2026, 3, 16))
    assert shown.sent_at.tzinfo == SHANGHAI and shown.sent_at.day == 16


def test_on_this_day_is_earlier_years_only(talk: Archive) -> None:
    for n, year in enumerate((2022, 2024, 2025, 2026, 2027)):
        keep(talk, n, f"{year}", datetime(year, 7, 1, 4, 0, tzinfo=UTC))
    assert ids(on_this_day(talk, COMMUNITY, date(2026, 7, 1), limit=10)) == ["0", "1", "2"]
    assert on_this_day(talk, COMMUNITY, date(2022, 7, 1)) == []
    assert on_this_day(talk, COMMUNITY, date(2026, 7, 2)) == []


def test_on_this_day_most_tagged_first_then_oldest(talk: Archive) -> None:
    for n, year in enumerate((2021, 2022, 2023, 2024)):
        keep(talk, n, f"{year}", datetime(year, 10, 1, 4, 0, tzinfo=UTC))
    for tagger, target in ((10, "2"), (11, "2"), (10, "3")):
        tag_message(talk, tag(tagger, target))
    found = on_this_day(talk, COMMUNITY, date(2025, 10, 1), limit=10)
    assert ids(found) == ["2", "3", "0", "1"]
    assert [m.tags for m in found] == [2, 1, 0, 0]
    assert ids(on_this_day(talk, COMMUNITY, date(2025, 10, 1), limit=2)) == ["2", "3"]
    assert on_this_day(talk, COMMUNITY, date(2025, 10, 1), limit=0) == []


def test_on_this_day_with_nothing_kept(archive: Archive) -> None:
    assert on_this_day(archive, COMMUNITY, date(2026, 3, 15)) == []
    with pytest.raises(UnknownCommunityError):
        on_this_day(archive, "nowhere", date(2026, 3, 15))


def test_leap_day_memories_on_28_february_of_common_years(talk: Archive) -> None:
    keep(talk, 1, "leap day 2024", datetime(2024, 2, 29, 4, 0, tzinfo=UTC))
    keep(talk, 2, "28 Feb 2024", datetime(2024, 2, 28, 4, 0, tzinfo=UTC))
    keep(talk, 3, "1 Mar 2024", datetime(2024, 3, 1, 4, 0, tzinfo=UTC))
    assert ids(on_this_day(talk, COMMUNITY, date(2025, 2, 28))) == ["2", "1"]
    assert ids(on_this_day(talk, COMMUNITY, date(2027, 2, 28))) == ["2", "1"]
    # In a leap year 29 February has its own day.
    assert ids(on_this_day(talk, COMMUNITY, date(2028, 2, 28))) == ["2"]
    assert ids(on_this_day(talk, COMMUNITY, date(2028, 2, 29))) == ["1"]
    assert ids(on_this_day(talk, COMMUNITY, date(2025, 3, 1))) == ["3"]


@pytest.mark.parametrize(
    ("local_day", "inside", "outside"),
    [
        # 9 March 2025: clocks go forward at 02:00, the day is 23 hours long.
        (
            date(2025, 3, 9),
            [datetime(2025, 3, 9, 0, 30), datetime(2025, 3, 9, 23, 30)],
            [datetime(2025, 3, 8, 23, 30), datetime(2025, 3, 10, 0, 30)],
        ),
        # 2 November 2025: clocks go back at 02:00, the day is 25 hours long.
        (
            date(2025, 11, 2),
            [datetime(2025, 11, 2, 0, 30), datetime(2025, 11, 2, 23, 30)],
            [datetime(2025, 11, 1, 23, 30), datetime(2025, 11, 3, 0, 30)],
        ),
    ],
    ids=["spring-forward", "fall-back"],
)
def test_on_this_day_across_a_daylight_saving_change(
    archive: Archive, local_day: date, inside: list[datetime], outside: list[datetime]
) -> None:
    add_community(archive, "hudson", NY_CHAT, timezone="America/New_York")
    say(archive, ALICE, Level.ALL, community="hudson")
    for n, moment in enumerate([*inside, *outside]):
        sent = moment.replace(tzinfo=NEW_YORK).astimezone(UTC)
        keep(archive, n, moment.isoformat(), sent, chat=NY_CHAT)
    found = on_this_day(archive, "hudson", local_day.replace(year=2026), limit=10)
    assert [m.text for m in found] == [m.isoformat() for m in inside]
    assert all(m.sent_at.date() == local_day for m in found)
    # The same instants, seen from Shanghai's calendar, fall elsewhere.
    assert on_this_day(archive, COMMUNITY, local_day.replace(year=2026)) == []
