"""Preservation: what a tag does for each author's consent (the table in
``archiver/preservation.py``), held messages and the author's answer, expiry, ``unkeep``,
and stories."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from archiver.archive import Archive
from archiver.consent import Level, Method
from archiver.errors import NotFoundError, NotYourPromptError
from archiver.events import ChatRef, MessageEvent
from archiver.ingest import ingest_message
from archiver.preservation import (
    StorySummary,
    TagOutcome,
    answer_keep_prompt,
    list_stories,
    purge_expired,
    tag_message,
    unkeep,
)
from archiver.recall import on_this_day, search
from storage import erase
from storage.models import ConsentEvent, HeldMessage, Message, Story, Tag
from tests.conftest import (
    CHAT,
    COMMUNITY,
    account,
    add_community,
    leftovers,
    message,
    person_of,
    rows,
    say,
    tag,
)

AUTHOR, BOB, CAROL = 1, 2, 3
SENT = datetime(2025, 11, 20, 12, 0, tzinfo=UTC)


def lift(message_id: int = 10, author: int = AUTHOR) -> MessageEvent:
    return message(message_id, author, "三号楼的电梯终于修好了，谢谢王师傅", sent_at=SENT)


def kept_ids(archive: Archive) -> list[str]:
    return sorted(m.platform_message_id for m in rows(archive, Message))


def message_answers(archive: Archive) -> list[tuple[str, str, str]]:
    return [
        (e.new_value, e.actor, e.platform_message_id or "")
        for e in rows(archive, ConsentEvent)
        if e.field == "message"
    ]


# --- what a tag does -------------------------------------------------------------------------


def test_all_author_already_kept_tag_is_recorded_once_per_tagger(archive: Archive) -> None:
    say(archive, AUTHOR, Level.ALL)
    event = message(10, AUTHOR, "三号楼的电梯终于修好了")
    stored = ingest_message(archive, event).message_id
    first = tag_message(archive, tag(BOB, event))
    assert (first.outcome, first.message_id) == (TagOutcome.KEPT, stored)
    assert tag_message(archive, tag(BOB, "10")).outcome is TagOutcome.ALREADY
    assert tag_message(archive, tag(CAROL, "10")).outcome is TagOutcome.KEPT
    assert len(rows(archive, Tag)) == 2 and kept_ids(archive) == ["10"]
    assert search(archive, COMMUNITY, "电梯")[0].tags == 2


@pytest.mark.parametrize("level", [Level.ALL, Level.TAGGED])
def test_a_yes_author_not_yet_kept_is_kept_under_their_ledger_entry(
    archive: Archive, level: Level
) -> None:
    change = say(archive, AUTHOR, level)
    event = message(10, AUTHOR, "三号楼的电梯终于修好了", name="李阿姨")
    result = tag_message(archive, tag(BOB, event))
    assert result.outcome is TagOutcome.KEPT and result.message_id is not None
    [kept] = rows(archive, Message)
    assert (kept.id, kept.consent_event_id, kept.text) == (
        result.message_id,
        change.ledger_id,
        event.text,
    )
    author = person_of(archive, AUTHOR)
    assert author is not None and author.display_name == "李阿姨"
    assert tag_message(archive, tag(BOB, event)).outcome is TagOutcome.ALREADY


def test_an_unknown_author_is_held_and_asked(archive: Archive) -> None:
    before = datetime.now(UTC)
    result = tag_message(archive, tag(BOB, lift()))
    assert result.outcome is TagOutcome.HELD
    assert result.author == account(AUTHOR)
    assert result.expires_at is not None
    assert before + timedelta(hours=72) <= result.expires_at
    assert result.expires_at <= datetime.now(UTC) + timedelta(hours=72)
    [held] = rows(archive, HeldMessage)
    assert held.text == "三号楼的电梯终于修好了，谢谢王师傅" and held.sent_at == SENT
    assert rows(archive, Message) == []
    # More tags wait with it, and nobody is asked again.
    waiting = tag_message(archive, tag(CAROL, "10"))
    assert (waiting.outcome, waiting.expires_at, waiting.author) == (
        TagOutcome.WAITING,
        result.expires_at,
        None,
    )
    assert tag_message(archive, tag(BOB, lift())).outcome is TagOutcome.WAITING
    assert len(rows(archive, Tag)) == 2 and len(rows(archive, HeldMessage)) == 1
    # The author's name is not kept while they have not said yes.
    author = person_of(archive, AUTHOR)
    assert author is not None and author.display_name is None


def test_a_none_author_is_refused_and_nothing_is_stored(archive: Archive) -> None:
    say(archive, AUTHOR, Level.NONE)
    result = tag_message(archive, tag(BOB, lift(), story="电梯的故事"))
    assert (result.outcome, result.author) == (TagOutcome.REFUSED, account(AUTHOR))
    assert rows(archive, Message) == rows(archive, HeldMessage) == rows(archive, Tag) == []
    assert rows(archive, Story) == []


def test_a_tag_without_the_messages_content_is_unavailable(archive: Archive) -> None:
    for author, level in ((1, None), (4, Level.ALL), (5, Level.TAGGED), (6, Level.NONE)):
        if level is not None:
            say(archive, author, level)
        reaction = tag(BOB, lift(10 + author, author), with_content=False, story="电梯的故事")
        assert tag_message(archive, reaction).outcome is TagOutcome.UNAVAILABLE
    assert rows(archive, Message) == rows(archive, HeldMessage) == rows(archive, Tag) == []
    assert rows(archive, Story) == []


def test_tagging_your_own_message_when_unknown_is_a_yes(archive: Archive) -> None:
    result = tag_message(archive, tag(AUTHOR, lift()))
    assert result.outcome is TagOutcome.KEPT
    [kept] = rows(archive, Message)
    [answer] = [e for e in rows(archive, ConsentEvent) if e.field == "message"]
    assert kept.consent_event_id == answer.id
    assert (answer.new_value, answer.actor, answer.platform_message_id) == (
        "yes",
        "telegram:1",
        "10",
    )
    assert rows(archive, HeldMessage) == []
    # A yes to one message, not to everything.
    assert not ingest_message(archive, message(11, AUTHOR, "next one")).kept


def test_tagging_your_own_held_message_releases_it(archive: Archive) -> None:
    assert tag_message(archive, tag(BOB, lift())).outcome is TagOutcome.HELD
    result = tag_message(archive, tag(AUTHOR, lift()))
    assert result.outcome is TagOutcome.KEPT and result.message_id is not None
    assert rows(archive, HeldMessage) == []
    [kept] = rows(archive, Message)
    assert message_answers(archive) == [("yes", "telegram:1", "10")]
    assert search(archive, COMMUNITY, "电梯")[0].tags == 2
    assert kept.id == result.message_id


def test_held_text_is_never_searched_or_shown(archive: Archive) -> None:
    tag_message(archive, tag(BOB, lift()))
    assert search(archive, COMMUNITY, "电梯") == []
    assert search(archive, COMMUNITY, "王师傅") == []
    assert on_this_day(archive, COMMUNITY, SENT.date().replace(year=2026)) == []
    assert list_stories(archive, COMMUNITY) == []


# --- the author's answer ---------------------------------------------------------------------


def test_only_the_author_answers_may_we_keep_this(archive: Archive) -> None:
    tag_message(archive, tag(BOB, lift()))
    ledger_before = len(rows(archive, ConsentEvent))
    for who in (BOB, CAROL, 99):
        for yes in (True, False):
            with pytest.raises(NotYourPromptError):
                answer_keep_prompt(
                    archive, CHAT, "10", yes, actor=account(who), method=Method.BUTTON
                )
    assert len(rows(archive, HeldMessage)) == 1 and rows(archive, Message) == []
    assert len(rows(archive, Tag)) == 1
    assert len(rows(archive, ConsentEvent)) == ledger_before


def test_yes_keeps_the_message_under_a_message_ledger_entry(archive: Archive) -> None:
    tag_message(archive, tag(BOB, lift(), story="电梯的故事"))
    released = answer_keep_prompt(
        archive, CHAT, "10", True, actor=account(AUTHOR), method=Method.REACTION
    )
    assert released is True
    [kept] = rows(archive, Message)
    [answer] = [e for e in rows(archive, ConsentEvent) if e.field == "message"]
    assert kept.consent_event_id == answer.id and answer.method == "reaction"
    assert (answer.person_id, answer.platform_message_id) == (kept.author_id, "10")
    assert rows(archive, HeldMessage) == []
    [found] = search(archive, COMMUNITY, "王师傅")
    assert found.tags == 1
    assert list_stories(archive, COMMUNITY) == [StorySummary("电梯的故事", 1)]
    with pytest.raises(NotFoundError):
        answer_keep_prompt(archive, CHAT, "10", True, actor=account(AUTHOR), method=Method.BUTTON)


def test_no_destroys_the_held_copy_and_leaves_no_bytes(archive: Archive) -> None:
    secret = "我的新手机号是一三九零零一二三四五六 zq8823phone"
    tag_message(archive, tag(BOB, message(10, AUTHOR, secret)))
    if archive.db.is_sqlite:
        assert leftovers(archive, [secret]) == [secret]
    released = answer_keep_prompt(
        archive, CHAT, "10", False, actor=account(AUTHOR), method=Method.BUTTON
    )
    assert released is False
    assert rows(archive, HeldMessage) == rows(archive, Tag) == rows(archive, Message) == []
    assert message_answers(archive) == [("no", "telegram:1", "10")]
    if archive.db.is_sqlite:
        assert leftovers(archive, [secret, "zq8823phone"]) == []


def test_purge_expired_destroys_only_expired_held_copies(archive: Archive) -> None:
    quick = ChatRef("telegram", "-100555")
    add_community(archive, "quick", quick, hold_hours=1)
    tag_message(archive, tag(BOB, message(10, AUTHOR, "slow community held zq1slow")))
    tag_message(archive, tag(BOB, message(10, AUTHOR, "quick community held zq2quick", chat=quick)))
    now = datetime.now(UTC)
    assert purge_expired(archive, now) == 0
    assert purge_expired(archive, now + timedelta(hours=2)) == 1
    [left] = rows(archive, HeldMessage)
    assert left.community_id == COMMUNITY
    assert [t.community_id for t in rows(archive, Tag)] == [COMMUNITY]
    if archive.db.is_sqlite:
        assert leftovers(archive, ["zq1slow", "zq2quick"]) == ["zq1slow"]
    assert purge_expired(archive, now + timedelta(hours=73)) == 1
    assert rows(archive, HeldMessage) == rows(archive, Tag) == []
    if archive.db.is_sqlite:
        assert leftovers(archive, ["zq1slow"]) == []


def test_an_erasure_a_reader_kept_from_its_checkpoint_is_finished_by_the_next_purge(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not archive.db.is_sqlite:
        pytest.skip("the WAL checkpoint is SQLite's")
    monkeypatch.setattr(erase, "CHECKPOINT_ATTEMPTS", 1)  # wait 0.25 s for the reader, not 2
    secret = "held words a reader is looking at zq7reader"
    tag_message(archive, tag(BOB, message(10, AUTHOR, secret)))
    reader = sqlite3.connect(archive.db.sqlite_path, isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM held_message").fetchone() == (1,)
    answer_keep_prompt(archive, CHAT, "10", False, actor=account(AUTHOR), method=Method.BUTTON)
    assert rows(archive, HeldMessage) == []
    assert leftovers(archive, ["zq7reader"]) == ["zq7reader"], "the reader held the WAL"
    reader.execute("COMMIT")
    reader.close()
    assert purge_expired(archive) == 0  # nothing expired, but the checkpoint gets through
    assert leftovers(archive, ["zq7reader"]) == []


# --- unkeep ----------------------------------------------------------------------------------


def test_a_tagged_authors_message_leaves_with_its_last_tag(archive: Archive) -> None:
    say(archive, AUTHOR, Level.TAGGED)
    tag_message(archive, tag(BOB, lift()))
    tag_message(archive, tag(CAROL, lift()))
    assert unkeep(archive, CHAT, "10", tagger=account(BOB)) is True
    assert kept_ids(archive) == ["10"]
    assert search(archive, COMMUNITY, "王师傅")[0].tags == 1
    assert unkeep(archive, CHAT, "10", tagger=account(CAROL)) is True
    assert rows(archive, Message) == rows(archive, Tag) == []
    assert search(archive, COMMUNITY, "王师傅") == []
    if archive.db.is_sqlite:
        assert leftovers(archive, ["谢谢王师傅"]) == []


def test_an_all_authors_message_stays_without_tags(archive: Archive) -> None:
    say(archive, AUTHOR, Level.ALL)
    tag_message(archive, tag(BOB, lift()))
    assert unkeep(archive, CHAT, "10", tagger=account(BOB)) is True
    assert kept_ids(archive) == ["10"] and rows(archive, Tag) == []


def test_a_message_kept_under_all_stays_after_the_author_switches_to_tagged(
    archive: Archive,
) -> None:
    say(archive, AUTHOR, Level.ALL)
    ingest_message(archive, lift())
    say(archive, AUTHOR, Level.TAGGED)
    tag_message(archive, tag(BOB, "10"))
    assert unkeep(archive, CHAT, "10", tagger=account(BOB)) is True
    assert kept_ids(archive) == ["10"]


def test_unkeeping_the_last_tag_of_a_held_message_destroys_it(archive: Archive) -> None:
    tag_message(archive, tag(BOB, lift()))
    assert unkeep(archive, CHAT, "10", tagger=account(BOB)) is True
    assert rows(archive, HeldMessage) == rows(archive, Tag) == []


@pytest.mark.parametrize("who", [CAROL, 99])
def test_unkeep_without_a_tag_changes_nothing(archive: Archive, who: int) -> None:
    say(archive, AUTHOR, Level.TAGGED)
    tag_message(archive, tag(BOB, lift()))
    assert unkeep(archive, CHAT, "10", tagger=account(who)) is False
    assert kept_ids(archive) == ["10"] and len(rows(archive, Tag)) == 1


# --- stories ---------------------------------------------------------------------------------


def test_stories_count_their_kept_messages(archive: Archive) -> None:
    say(archive, AUTHOR, Level.TAGGED)
    tag_message(archive, tag(BOB, lift(10), story="电梯的故事"))
    tag_message(archive, tag(CAROL, lift(10), story=" 电梯的故事 "))
    tag_message(archive, tag(BOB, lift(11), story="电梯的故事"))
    tag_message(archive, tag(BOB, lift(12), story="Guard Wang"))
    # A held message is in the story only once it is kept.
    tag_message(archive, tag(BOB, lift(13, author=CAROL), story="Guard Wang"))
    assert list_stories(archive, COMMUNITY) == [
        StorySummary("Guard Wang", 1),
        StorySummary("电梯的故事", 2),
    ]
    say(archive, CAROL, Level.TAGGED)
    assert list_stories(archive, COMMUNITY)[0] == StorySummary("Guard Wang", 2)
    # Tagging again into another story moves the tagger's tag.
    assert tag_message(archive, tag(BOB, "12", story="电梯的故事")).outcome is TagOutcome.ALREADY
    assert list_stories(archive, COMMUNITY) == [
        StorySummary("Guard Wang", 1),
        StorySummary("电梯的故事", 3),
    ]
    story = next(s for s in rows(archive, Story) if s.name == "电梯的故事")
    bob = person_of(archive, BOB)
    assert bob is not None and story.created_by == bob.id
    assert list_stories(archive, "nowhere") == []


def test_a_very_long_story_name_is_cut_to_fit_on_both_backends(archive: Archive) -> None:
    say(archive, AUTHOR, Level.TAGGED)
    long_name = "  " + "阳光花园电梯维修的故事" * 30 + "  "
    assert tag_message(archive, tag(BOB, lift(10), story=long_name)).outcome is TagOutcome.KEPT
    assert tag_message(archive, tag(BOB, lift(11), story=long_name)).outcome is TagOutcome.KEPT
    [story] = list_stories(archive, COMMUNITY)
    assert story.name == long_name.strip()[:200] and story.messages == 2
