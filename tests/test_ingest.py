"""Live ingestion: what is kept (only an ``all`` author's messages), what is not stored at all,
duplicates, edits, unknown chats, and texts of every shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from archiver.archive import Archive
from archiver.community import UnknownChatError
from archiver.consent import Level, mark_prompted
from archiver.events import ChatRef, DeleteEvent, EditEvent
from archiver.ingest import delete_message, edit_message, ingest_message
from archiver.preservation import TagOutcome, list_stories, tag_message
from archiver.recall import search
from storage.models import HeldMessage, Message, MessageVersion, Person, Tag
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

ALICE, BOB = 1, 2
SENT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def edit(message_id: int, author: int, text: str, minutes: int) -> EditEvent:
    return EditEvent(
        CHAT, str(message_id), account(author), text, SENT + timedelta(minutes=minutes)
    )


def test_an_all_authors_message_is_kept(archive: Archive) -> None:
    change = say(archive, ALICE, Level.ALL)
    sent = datetime(2026, 11, 20, 20, 5, tzinfo=timezone(timedelta(hours=8)))
    event = message(7, ALICE, "Lift 2 works again! 电梯修好了", sent_at=sent, name="李阿姨")
    result = ingest_message(archive, event)
    assert result.kept and not result.duplicate and not result.should_ask
    assert result.level is Level.ALL and result.community_id == COMMUNITY
    [kept] = rows(archive, Message)
    assert kept.id == result.message_id
    assert (kept.platform_message_id, kept.text, kept.source) == ("7", event.text, "live")
    assert kept.sent_at == sent and kept.sent_at.utcoffset() == timedelta(0)
    assert kept.consent_event_id == change.ledger_id
    assert "电梯" in kept.tokens.split() and "lift" in kept.tokens.split()
    person = person_of(archive, ALICE)
    assert person is not None and person.display_name == "李阿姨"
    assert [m.text for m in search(archive, COMMUNITY, "lift")] == [event.text]


def test_a_tagged_authors_untagged_message_is_not_stored(archive: Archive) -> None:
    say(archive, ALICE, Level.TAGGED)
    say(archive, BOB, Level.ALL)
    control = "ctl4471 这一条是保留的"  # Bob's, kept: shows the file check can find text
    ingest_message(archive, message(1, BOB, control))
    text = "zq5519 tagged 作者没有被标记的消息"
    result = ingest_message(archive, message(2, ALICE, text, name="李阿姨"))
    assert not result.kept and result.level is Level.TAGGED and not result.should_ask
    assert [m.platform_message_id for m in rows(archive, Message)] == ["1"]
    assert search(archive, COMMUNITY, "zq5519") == []
    assert rows(archive, HeldMessage) == rows(archive, Tag) == rows(archive, MessageVersion) == []
    person = person_of(archive, ALICE)
    assert person is not None and person.display_name is None
    if archive.db.is_sqlite:
        assert leftovers(archive, [text, "zq5519", control]) == [control]


@pytest.mark.parametrize(
    ("situation", "level", "asks"),
    [
        ("never seen", Level.UNKNOWN, True),
        ("seen, never asked", Level.UNKNOWN, True),
        ("asked, no answer", Level.UNKNOWN, False),
        ("said none", Level.NONE, False),
    ],
)
def test_unknown_and_none_authors_store_nothing(
    archive: Archive, situation: str, level: Level, asks: bool
) -> None:
    if situation == "seen, never asked":
        # Alice exists only as someone who tagged a message (account id, nothing else).
        say(archive, BOB, Level.ALL)
        ingest_message(archive, message(1, BOB, "hi"))
        assert tag_message(archive, tag(ALICE, "1")).outcome is TagOutcome.KEPT
    elif situation == "asked, no answer":
        mark_prompted(archive, COMMUNITY, account(ALICE))
    elif situation == "said none":
        say(archive, ALICE, Level.NONE)
    people_before = len(rows(archive, Person))
    kept_before = len(rows(archive, Message))

    result = ingest_message(archive, message(2, ALICE, "物业费又涨了", name="李阿姨"))
    assert not result.kept and result.message_id is None
    assert result.level is level and result.should_ask is asks
    assert len(rows(archive, Message)) == kept_before
    assert rows(archive, HeldMessage) == []
    # Ingesting never creates a person: the bot's prompt (mark_prompted) does.
    assert len(rows(archive, Person)) == people_before
    assert all(person.display_name is None for person in rows(archive, Person))


def test_a_duplicate_delivery_keeps_one_row(archive: Archive) -> None:
    say(archive, ALICE, Level.ALL)
    first = ingest_message(archive, message(5, ALICE, "first delivery"))
    again = ingest_message(archive, message(5, ALICE, "first delivery"))
    replayed = ingest_message(archive, message(5, ALICE, "a different text, same id"))
    assert first.kept and not first.duplicate
    assert again.kept and again.duplicate and replayed.duplicate
    [kept] = rows(archive, Message)
    assert kept.id == first.message_id and kept.text == "first delivery"
    assert rows(archive, MessageVersion) == []


def test_edits_of_a_kept_message_keep_its_versions(archive: Archive) -> None:
    say(archive, ALICE, Level.ALL)
    ingest_message(archive, message(5, ALICE, "meeting at 7pm"))
    assert edit_message(archive, edit(5, ALICE, "meeting at 8pm", 10))
    assert edit_message(archive, edit(5, ALICE, "meeting at 8pm", 11))  # re-delivered: no-op
    assert edit_message(archive, edit(5, ALICE, "meeting at 8:30pm in the hall", 20))
    [kept] = rows(archive, Message)
    assert kept.text == "meeting at 8:30pm in the hall"
    assert kept.edited_at == SENT + timedelta(minutes=20)
    versions = sorted(rows(archive, MessageVersion), key=lambda v: v.id)
    assert [(v.text, v.valid_from, v.replaced_at) for v in versions] == [
        ("meeting at 7pm", SENT, SENT + timedelta(minutes=10)),
        ("meeting at 8pm", SENT + timedelta(minutes=10), SENT + timedelta(minutes=20)),
    ]
    assert {v.message_id for v in versions} == {kept.id}
    # Search sees the current text only.
    assert len(search(archive, COMMUNITY, "hall")) == 1
    assert search(archive, COMMUNITY, "7pm") == []


def test_an_edit_of_a_held_message_updates_the_held_copy(archive: Archive) -> None:
    original = message(5, ALICE, "电梯坏了")
    assert tag_message(archive, tag(BOB, original)).outcome is TagOutcome.HELD
    assert edit_message(archive, edit(5, ALICE, "电梯坏了，已经报修", 3))
    [held] = rows(archive, HeldMessage)
    assert held.text == "电梯坏了，已经报修"
    assert rows(archive, MessageVersion) == [] and rows(archive, Message) == []
    say(archive, ALICE, Level.TAGGED)
    assert [m.text for m in search(archive, COMMUNITY, "报修")] == ["电梯坏了，已经报修"]


def test_an_edit_of_a_message_not_kept_stores_nothing(archive: Archive) -> None:
    say(archive, ALICE, Level.TAGGED)
    ingest_message(archive, message(5, ALICE, "not kept"))
    assert edit_message(archive, edit(5, ALICE, "still not kept", 1)) is False
    assert rows(archive, Message) == rows(archive, HeldMessage) == []


def test_edits_after_saying_none_are_not_stored(archive: Archive) -> None:
    say(archive, ALICE, Level.ALL)
    ingest_message(archive, message(5, ALICE, "kept while yes"))
    say(archive, ALICE, Level.NONE)
    assert edit_message(archive, edit(5, ALICE, "written after no", 1)) is False
    [kept] = rows(archive, Message)
    assert kept.text == "kept while yes"
    assert rows(archive, MessageVersion) == []
    assert search(archive, COMMUNITY, "after") == []


@pytest.mark.parametrize("action", ["message", "edit", "delete"])
def test_an_unknown_chat_is_refused(archive: Archive, action: str) -> None:
    say(archive, ALICE, Level.ALL)
    stranger = ChatRef("telegram", "-100111")
    with pytest.raises(UnknownChatError) as raised:
        if action == "message":
            ingest_message(archive, message(1, ALICE, "hello", chat=stranger))
        elif action == "edit":
            edit_message(
                archive, EditEvent(stranger, "1", account(ALICE), "hello!", SENT + timedelta(1))
            )
        else:
            delete_message(archive, DeleteEvent(stranger, "1"))
    assert raised.value.chat == stranger
    assert "telegram:-100111" in str(raised.value)
    assert rows(archive, Message) == []


def test_a_message_in_another_communitys_chat_is_kept_there(archive: Archive) -> None:
    other_chat = ChatRef("matrix", "!lotus:example.org")
    add_community(archive, "lotus", other_chat)
    say(archive, ALICE, Level.ALL)  # in sunshine only
    assert not ingest_message(archive, message(1, ALICE, "hello lotus", chat=other_chat)).kept
    say(archive, ALICE, Level.ALL, community="lotus")
    result = ingest_message(archive, message(1, ALICE, "hello lotus", chat=other_chat))
    assert result.kept and result.community_id == "lotus"
    assert search(archive, COMMUNITY, "lotus") == []
    assert len(search(archive, "lotus", "lotus")) == 1


def test_a_huge_chinese_message_is_kept_whole_and_searchable(archive: Archive) -> None:
    say(archive, ALICE, Level.ALL)
    sentence = "今天下午三点在小区花园开业主大会，讨论电梯维修基金和停车位的问题。"
    text = sentence * (100_000 // len(sentence.encode("utf-8")) + 1) + "最后一句话提到紫藤花廊"
    assert len(text.encode("utf-8")) > 100_000
    assert ingest_message(archive, message(1, ALICE, text)).kept
    [kept] = rows(archive, Message)
    assert kept.text == text
    [found] = search(archive, COMMUNITY, "停车位 紫藤")
    assert found.text == text


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("🎉🎉🏠❤️", "🎉🎉🏠❤️"),
        ("", ""),
        ("before\x00after", "beforeafter"),  # PostgreSQL cannot store NUL: dropped everywhere
        ("\u202bשלום neighbours\u202c \u200f", "\u202bשלום neighbours\u202c \u200f"),
        ("👩\u200d👩\u200d👧 family", "👩\u200d👩\u200d👧 family"),
        ("x" * 5000, "x" * 5000),  # one "word" longer than PostgreSQL indexes
        ("a\r\nb\tc", "a\r\nb\tc"),
    ],
    ids=["emoji-only", "empty", "nul", "rtl-marks", "zwj-emoji", "one-long-word", "controls"],
)
def test_odd_texts_are_stored_as_sent(archive: Archive, text: str, stored: str) -> None:
    say(archive, ALICE, Level.ALL)
    assert ingest_message(archive, message(1, ALICE, text)).kept
    [kept] = rows(archive, Message)
    assert kept.text == stored
    # Searching for the same odd text never fails (it may find nothing to look for).
    assert isinstance(search(archive, COMMUNITY, text), list)
    assert edit_message(archive, edit(1, ALICE, text + "\x00 edited", 1))
    [kept] = rows(archive, Message)
    assert kept.text == stored + " edited"


def test_names_with_a_nul_character_are_stored_without_it(archive: Archive) -> None:
    say(archive, ALICE, Level.ALL)
    assert ingest_message(archive, message(1, ALICE, "hi", name="Ali\x00ce")).kept
    person = person_of(archive, ALICE)
    assert person is not None and person.display_name == "Alice"
    say(archive, BOB, Level.TAGGED)
    tag_message(archive, tag(ALICE, message(2, BOB, "hello"), story="lift\x00 story"))
    assert [s.name for s in list_stories(archive, COMMUNITY)] == ["lift story"]


def test_saying_none_later_keeps_what_was_kept(archive: Archive) -> None:
    say(archive, ALICE, Level.ALL)
    assert ingest_message(archive, message(1, ALICE, "old story about the lift")).kept
    say(archive, ALICE, Level.NONE)
    assert not ingest_message(archive, message(2, ALICE, "new words after none")).kept
    assert [m.platform_message_id for m in rows(archive, Message)] == ["1"]
    assert len(search(archive, COMMUNITY, "lift")) == 1
    assert search(archive, COMMUNITY, "none") == []
