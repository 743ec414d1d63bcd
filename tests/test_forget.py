"""``forget``: erasing a person or one message, platform deletions, and the promise that
erasure leaves no readable residue (on SQLite: not a byte in the database, -wal or -shm)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from archiver.archive import Archive
from archiver.consent import Actor, Level, Method, consent_of
from archiver.errors import ConsentError, NotFoundError, NotYourPromptError
from archiver.events import ChatRef, DeleteEvent, EditEvent
from archiver.forget import ForgetReport, forget_message, forget_person
from archiver.ingest import delete_message, edit_message, ingest_message
from archiver.preservation import TagOutcome, answer_keep_prompt, tag_message
from archiver.recall import search
from storage.models import ConsentEvent, HeldMessage, Message, MessageVersion, Story, Tag
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

ALICE, BOB, CAROL = 1, 2, 3
SENT = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)

# Alice's words, every one of which must disappear. Each carries a token found nowhere else
# that shares no first letter with any other (the full-text index stores a word after the one
# before it as its differing tail only).
FIRST = "我住在七号楼三单元，晚上十点以后常常听到楼上吵架 jfirstversion"
SECOND = "七号楼三单元的邻居请注意，晚上请安静一点 ksecondversion"
CURRENT = "邻居们晚上安静一点，谢谢大家的理解与包容 vcurrentversion"
ANSWERED = "我的孩子在幼儿园被欺负了，不知道该找谁商量 wanswered"
HELD = "我家阳台漏水已经三个月了，物业一直推来推去 yheldcopy"
ERASED = [FIRST, SECOND, CURRENT, ANSWERED, HELD]
TOKENS = ["jfirstversion", "ksecondversion", "vcurrentversion", "wanswered", "yheldcopy"]
# Bob's words, which must stay.
CONTROL = "物业今天在东门贴了停水通知，明天上午九点到下午三点 ctlkeep"


def at(minutes: int) -> datetime:
    return SENT + timedelta(minutes=minutes)


def build_neighbourhood(archive: Archive) -> None:
    """Bob keeps everything and chats a lot; Alice never chose a level but kept her own
    message (and edited it twice), said yes to one more, has one held, and tagged Bob's."""
    say(archive, BOB, Level.ALL, name="Bob")
    for i in range(40):
        text = f"第{i}条：今天的菜市场很热闹，西红柿两块五一斤"
        ingest_message(archive, message(100 + i, BOB, text, sent_at=at(i)))
    own = tag(ALICE, message(1, ALICE, FIRST, sent_at=at(41)))
    assert tag_message(archive, own).outcome is TagOutcome.KEPT
    edit_message(archive, EditEvent(CHAT, "1", account(ALICE), SECOND, at(42)))
    edit_message(archive, EditEvent(CHAT, "1", account(ALICE), CURRENT, at(43)))
    tag_message(archive, tag(CAROL, message(2, ALICE, ANSWERED, sent_at=at(44))))
    answer_keep_prompt(archive, CHAT, "2", True, actor=account(ALICE), method=Method.BUTTON)
    tag_message(archive, tag(BOB, message(3, ALICE, HELD, sent_at=at(45))))
    ingest_message(archive, message(200, BOB, CONTROL, sent_at=at(50)))
    tag_message(archive, tag(ALICE, "200", story="停水"))
    tag_message(archive, tag(CAROL, "200"))
    tag_message(archive, tag(CAROL, "1", story="安静"))


def test_forget_person_erases_everything_of_theirs_and_nothing_else(archive: Archive) -> None:
    build_neighbourhood(archive)
    alice = person_of(archive, ALICE)
    assert alice is not None
    assert len(rows(archive, MessageVersion)) == 2
    assert len(rows(archive, HeldMessage)) == 1
    bob_messages = [m.id for m in rows(archive, Message) if m.author_id != alice.id]

    report = forget_person(archive, COMMUNITY, account(ALICE), actor=Actor(account(ALICE)))
    assert (report.messages, report.held) == (2, 1)
    assert report.tags >= 1 and report.total == 3 + report.tags

    assert [m for m in rows(archive, Message) if m.author_id == alice.id] == []
    assert rows(archive, MessageVersion) == rows(archive, HeldMessage) == []
    tags = rows(archive, Tag)
    assert all(t.tagger_id != alice.id for t in tags)
    assert {t.platform_message_id for t in tags} == {"200"}  # Carol's tag on Bob's message
    assert sorted(m.id for m in rows(archive, Message)) == sorted(bob_messages)
    for token in TOKENS:
        assert search(archive, COMMUNITY, token) == []
    assert [m.text for m in search(archive, COMMUNITY, "ctlkeep")] == [CONTROL]
    assert len(search(archive, COMMUNITY, "西红柿", limit=100)) == 40
    # Stories survive without her name on them; her consent choices stay in the ledger.
    assert all(story.created_by != alice.id for story in rows(archive, Story))
    erasures = [e for e in rows(archive, ConsentEvent) if e.field == "erasure"]
    assert [(e.person_id, e.new_value, e.actor, e.method) for e in erasures] == [
        (alice.id, "all", "telegram:1", "command")
    ]
    assert consent_of(archive, COMMUNITY, account(ALICE)).level is Level.UNKNOWN
    assert person_of(archive, ALICE) is not None


def test_erasure_leaves_no_bytes_in_the_sqlite_files(archive: Archive) -> None:
    """The headline promise. On SQLite not a byte of the erased words is left in the database
    file or its -wal and -shm; on PostgreSQL the rows and search entries are gone."""
    if archive.db.is_sqlite:
        # Make FTS5 keep every segment until told to merge, so words of deleted rows would
        # stay readable in its index if erasure did not merge it (here FTS5 usually merges on
        # its own, which would hide a missing merge).
        with archive.db.write() as session:
            for option, value in (("automerge", 0), ("crisismerge", 1000)):
                session.connection().exec_driver_sql(
                    f"INSERT INTO message_fts(message_fts, rank) VALUES ('{option}', {value})"
                )
    build_neighbourhood(archive)
    if archive.db.is_sqlite:
        # Before: everything is readable in the files, so the check below can fail.
        everything = [*ERASED, *TOKENS, CONTROL]
        assert leftovers(archive, everything) == everything

    forget_person(archive, COMMUNITY, account(ALICE), actor=Actor(account(ALICE)))
    alice = person_of(archive, ALICE)
    assert alice is not None
    assert [m for m in rows(archive, Message) if m.author_id == alice.id] == []
    assert rows(archive, MessageVersion) == rows(archive, HeldMessage) == []
    assert all(search(archive, COMMUNITY, token) == [] for token in TOKENS)
    if archive.db.is_sqlite:
        assert leftovers(archive, [*ERASED, *TOKENS]) == []
        assert leftovers(archive, [CONTROL, "ctlkeep"]) == [CONTROL, "ctlkeep"]
        # Nor does anything come back once the archive is used again.
        ingest_message(archive, message(300, BOB, "新的一天", sent_at=at(60)))
        assert leftovers(archive, [*ERASED, *TOKENS]) == []


@pytest.mark.parametrize("erase", ["forget_message", "platform_delete"])
def test_erasing_one_edited_message_leaves_no_bytes(archive: Archive, erase: str) -> None:
    build_neighbourhood(archive)
    if erase == "forget_message":
        report = forget_message(archive, CHAT, "1", actor=Actor(account(ALICE)))
        assert report == ForgetReport(messages=1, held=0, tags=2)
    else:
        assert delete_message(archive, DeleteEvent(CHAT, "1", by=account(ALICE))) is True
    assert rows(archive, MessageVersion) == []
    assert {m.platform_message_id for m in rows(archive, Message)} >= {"2", "200"}
    assert "1" not in {m.platform_message_id for m in rows(archive, Message)}
    assert "1" not in {t.platform_message_id for t in rows(archive, Tag)}
    for token in TOKENS[:3]:
        assert search(archive, COMMUNITY, token) == []
    assert len(search(archive, COMMUNITY, "wanswered")) == 1
    if archive.db.is_sqlite:
        assert leftovers(archive, [FIRST, SECOND, CURRENT, *TOKENS[:3]]) == []
        assert leftovers(archive, [ANSWERED, HELD, CONTROL]) == [ANSWERED, HELD, CONTROL]


def test_forget_person_only_by_that_person_or_a_steward(archive: Archive) -> None:
    build_neighbourhood(archive)
    before = (rows(archive, Message), rows(archive, HeldMessage), rows(archive, Tag))
    ledger = len(rows(archive, ConsentEvent))
    with pytest.raises(NotYourPromptError):
        forget_person(archive, COMMUNITY, account(ALICE), actor=Actor(account(BOB)))
    with pytest.raises(ConsentError):  # nobody: neither an account nor a steward
        forget_person(archive, COMMUNITY, account(ALICE), actor=Actor())
    assert (rows(archive, Message), rows(archive, HeldMessage), rows(archive, Tag)) == before
    assert len(rows(archive, ConsentEvent)) == ledger
    # A steward acting on the person's request (the CLI) may.
    report = forget_person(archive, COMMUNITY, account(ALICE), actor=Actor(steward="cli"))
    assert report.messages == 2
    [erasure] = [e for e in rows(archive, ConsentEvent) if e.field == "erasure"]
    assert (erasure.actor, erasure.method, erasure.recorded_by) == ("steward:cli", "steward", "cli")


def test_forget_person_unknown_to_the_archive(archive: Archive) -> None:
    with pytest.raises(NotFoundError):
        forget_person(archive, COMMUNITY, account(42), actor=Actor(account(42)))


def test_forget_person_twice_erases_nothing_more(archive: Archive) -> None:
    say(archive, ALICE, Level.ALL)
    ingest_message(archive, message(1, ALICE, "hello"))
    assert forget_person(archive, COMMUNITY, account(ALICE), actor=Actor(account(ALICE))).total
    again = forget_person(archive, COMMUNITY, account(ALICE), actor=Actor(account(ALICE)))
    assert again.total == 0
    # Her "all" still stands: what she writes from now on is kept.
    assert ingest_message(archive, message(2, ALICE, "hello again")).kept


def test_forget_message_only_by_its_author(archive: Archive) -> None:
    build_neighbourhood(archive)
    for actor in (Actor(account(BOB)), Actor(account(CAROL)), Actor(account(99)), Actor()):
        with pytest.raises(ConsentError):
            forget_message(archive, CHAT, "1", actor=actor)
    assert "1" in {m.platform_message_id for m in rows(archive, Message)}
    assert len(rows(archive, MessageVersion)) == 2
    assert [e for e in rows(archive, ConsentEvent) if e.field == "erasure"] == []


def test_forget_message_of_a_held_copy(archive: Archive) -> None:
    build_neighbourhood(archive)
    report = forget_message(archive, CHAT, "3", actor=Actor(account(ALICE)))
    assert report == ForgetReport(messages=0, held=1, tags=1)
    assert rows(archive, HeldMessage) == []
    [erasure] = [e for e in rows(archive, ConsentEvent) if e.field == "erasure"]
    assert (erasure.new_value, erasure.platform_message_id) == ("message", "3")
    if archive.db.is_sqlite:
        assert leftovers(archive, [HELD]) == []


def test_forget_message_not_in_the_archive(archive: Archive) -> None:
    say(archive, ALICE, Level.TAGGED)
    ingest_message(archive, message(1, ALICE, "not kept"))
    with pytest.raises(NotFoundError):
        forget_message(archive, CHAT, "1", actor=Actor(account(ALICE)))


def test_a_platform_deletion_erases_whoever_deleted_it(archive: Archive) -> None:
    build_neighbourhood(archive)
    assert delete_message(archive, DeleteEvent(CHAT, "200", by=account(99))) is True
    assert "200" not in {m.platform_message_id for m in rows(archive, Message)}
    assert "200" not in {t.platform_message_id for t in rows(archive, Tag)}
    assert search(archive, COMMUNITY, "ctlkeep") == []
    [erasure] = [e for e in rows(archive, ConsentEvent) if e.field == "erasure"]
    bob = person_of(archive, BOB)
    assert bob is not None
    assert (erasure.person_id, erasure.actor, erasure.platform_message_id) == (
        bob.id,
        "steward:platform",
        "200",
    )
    # The held copy goes the same way; a message we never had is nothing to do.
    assert delete_message(archive, DeleteEvent(CHAT, "3")) is True
    assert rows(archive, HeldMessage) == []
    assert delete_message(archive, DeleteEvent(CHAT, "404")) is False
    assert len([e for e in rows(archive, ConsentEvent) if e.field == "erasure"]) == 2
    if archive.db.is_sqlite:
        assert leftovers(archive, [CONTROL, HELD]) == []


def test_forget_is_per_community(archive: Archive) -> None:
    other = ChatRef("telegram", "-100777")
    add_community(archive, "lotus", other)
    say(archive, ALICE, Level.ALL)
    say(archive, ALICE, Level.ALL, community="lotus")
    ingest_message(archive, message(1, ALICE, "sunshine words"))
    ingest_message(archive, message(1, ALICE, "lotus words", chat=other))
    forget_person(archive, "lotus", account(ALICE), actor=Actor(account(ALICE)))
    assert [m.text for m in rows(archive, Message)] == ["sunshine words"]
