"""Telegram: prompts close once answered, and a keep reaction taken back takes its tag back.

Through the real bot (``run_bots``, python-telegram-bot polling the Bot API emulator), as in
``tests/test_telegram.py``, whose room and helpers these tests reuse. Each "closed" or
"removed" beside its negative: someone else's answer leaves the prompt open, a reaction taken
back from a prompt withdraws no answer, another person's tag keeps the message.

The emulator's ``editMessageReplyMarkup`` is checked against Telegram's rules first, errors
included, because the bot's closing relies on them.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest

import archiver.archive
from archiver.consent import Level
from archiver.preservation import purge_expired
from archiver.segmentation import Segmenter
from sandbox.emulator import BotApiEmulator, User
from sandbox.emulator.model import Message as TgMessage
from sandbox.emulator.server import Call
from storage.models import ConsentEvent, HeldMessage, Prompt, Tag
from tests.conftest import leftovers, rows
from tests.test_emulator import raw_bot
from tests.test_telegram import KEEP, Room, answers, open_room

CLOSE = "editMessageReplyMarkup"


@pytest.fixture
async def room(
    db_url: str, tmp_path: Path, segmenter: Segmenter, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Room]:
    """A group with the bot running in it (``tests/test_telegram.py``), on every backend;
    the runner gets the session's segmenter, as there."""
    monkeypatch.setattr(archiver.archive, "Segmenter", lambda *_args, **_kw: segmenter)
    async with open_room(db_url, tmp_path, segmenter) as opened:
        yield opened


@pytest.fixture
async def sqlite_room(
    tmp_path: Path, segmenter: Segmenter, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Room]:
    """The same on SQLite only (platform behaviour the backend cannot change)."""
    monkeypatch.setattr(archiver.archive, "Segmenter", lambda *_args, **_kw: segmenter)
    async with open_room(f"sqlite:///{tmp_path / 'archive.db'}", tmp_path, segmenter) as opened:
        yield opened


def prompt_row(room: Room, message: TgMessage) -> Prompt:
    """The archive's record of the prompt the bot posted as ``message``."""
    with room.db.db.read() as session:
        found = session.exec(
            select(Prompt).where(Prompt.platform_message_id == str(message.message_id))
        ).one()
        session.expunge(found)
        return found


def closes_of(room: Room, message: TgMessage, since: int = 0) -> list[Call]:
    """The bot's ``editMessageReplyMarkup`` calls on ``message`` (after ``since``)."""
    return [
        call
        for call in room.emu.calls[since:]
        # (a refused call's parameters stay as sent: text)
        if call.method == CLOSE and str(call.params.get("message_id")) == str(message.message_id)
    ]


async def consent_prompt_for(room: Room, person: User, words: str) -> TgMessage:
    """``person`` speaks for the first time; the consent prompt the bot answers with."""
    mark = room.mark()
    room.say(person, words)
    await room.settled()
    [prompt] = room.said_since(mark)
    assert answers(prompt) == ["all", "tagged", "none"]
    return prompt


def level_changes(room: Room) -> list[ConsentEvent]:
    return [e for e in rows(room.db, ConsentEvent) if e.field == "level"]


# --- the emulator's editMessageReplyMarkup ---------------------------------------------------


async def test_the_emulator_edits_reply_markup_as_telegram_does() -> None:
    async with BotApiEmulator(bot_username="memory_bot") as emu:
        alice = emu.add_user("Alice")
        group = emu.create_group("阳光花园", supergroup=True, members=[alice])
        emu.add_bot_to_group(group, by=alice)
        theirs = emu.user_sends(group, alice, "a resident's words")
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="p:1:yes")]])
        async with raw_bot(emu) as bot:
            asked = await bot.send_message(group.id, "question", reply_markup=keyboard)
            plain = await bot.send_message(group.id, "no buttons")
            before = len(emu.pending_updates())

            closed = await bot.edit_message_reply_markup(group.id, asked.message_id)
            assert not isinstance(closed, bool)
            assert closed.text == "question" and closed.reply_markup is None
            [stored] = [m for m in emu.bot_messages(group) if m.message_id == asked.message_id]
            with pytest.raises(ValueError, match="no button"):
                emu.user_presses(alice, stored, "p:1:yes")  # a client cannot press it any more

            # Closing again, with nothing or with an empty keyboard: "message is not modified".
            for empty in (None, InlineKeyboardMarkup([])):
                with pytest.raises(BadRequest, match="Message is not modified"):
                    await bot.edit_message_reply_markup(
                        group.id, asked.message_id, reply_markup=empty
                    )
            with pytest.raises(BadRequest, match="Message is not modified"):
                await bot.edit_message_reply_markup(group.id, plain.message_id)

            # An empty keyboard removes the buttons, as leaving it out does.
            reopened = await bot.edit_message_reply_markup(
                group.id, asked.message_id, reply_markup=keyboard
            )
            assert not isinstance(reopened, bool) and reopened.reply_markup == keyboard
            emptied = await bot.edit_message_reply_markup(
                group.id, asked.message_id, reply_markup=InlineKeyboardMarkup([])
            )
            assert not isinstance(emptied, bool) and emptied.reply_markup is None

            with pytest.raises(BadRequest, match="Message can't be edited"):
                await bot.edit_message_reply_markup(group.id, theirs.message_id)
            with pytest.raises(BadRequest, match="Message to edit not found"):
                await bot.edit_message_reply_markup(group.id, 999_999)
        # A bot is never told about its own edits.
        assert len(emu.pending_updates()) == before


# --- closing prompts ------------------------------------------------------------------------------


async def test_a_consent_prompt_closes_when_its_person_answers_and_only_then(room: Room) -> None:
    prompt = await consent_prompt_for(room, room.bob, "Hello, I am new here")

    # Someone else's press: "not for you"; the prompt stays open, in the archive and on screen.
    answered = await room.press(room.alice, prompt, "all")
    assert answered["show_alert"] and answered["text"] == room.t("not_for_you")
    assert answers(prompt) == ["all", "tagged", "none"] and closes_of(room, prompt) == []
    assert prompt_row(room, prompt).answer is None

    answered = await room.press(room.bob, prompt, "all")
    assert answered["text"] == room.t("consent_set_all") and not answered["show_alert"]
    assert room.level(room.bob) is Level.ALL
    assert prompt.reply_markup is None, "answered: its buttons are gone"
    row = prompt_row(room, prompt)
    assert row.answer == "all" and row.answered_at is not None
    [close] = closes_of(room, prompt)
    assert close.error_code is None

    # A second answer to the closed prompt (✍ on a consent question means "only tagged")
    # changes nothing and says nothing; closing it again is "message is not modified".
    mark, calls = room.mark(), len(room.emu.calls)
    room.emu.user_reacts(room.bob, prompt, KEEP)
    await room.settled()
    assert room.level(room.bob) is Level.ALL and len(level_changes(room)) == 1
    assert room.said_since(mark) == [] and prompt_row(room, prompt).answer == "all"
    [again] = closes_of(room, prompt, calls)
    assert again.error_code == 400 and "message is not modified" in (again.description or "")
    # The bot carries on.
    await room.exchange(room.bob, "The lift is fixed")
    assert room.kept() == ["The lift is fixed"]


async def test_a_consent_prompt_answered_by_reaction_closes_too(sqlite_room: Room) -> None:
    room = sqlite_room
    prompt = await consent_prompt_for(room, room.carol, "Good morning")
    mark = room.mark()
    room.emu.user_reacts(room.alice, prompt, KEEP)  # not hers to answer
    await room.settled()
    assert room.level(room.carol) is Level.UNKNOWN and room.said_since(mark) == []
    assert answers(prompt) == ["all", "tagged", "none"] and closes_of(room, prompt) == []

    room.emu.user_reacts(room.carol, prompt, KEEP)
    await room.settled()
    assert room.level(room.carol) is Level.TAGGED
    assert [m.body for m in room.said_since(mark)] == [room.t("consent_set_tagged")]
    assert prompt.reply_markup is None and prompt_row(room, prompt).answer == "tagged"


async def test_a_prompt_whose_closing_failed_is_closed_by_the_next_answer(
    sqlite_room: Room, caplog: pytest.LogCaptureFixture
) -> None:
    """Telegram failed the edit (502): the answer counts, the buttons stay. The next press
    by its person changes nothing — the question is closed — and does close it."""
    room = sqlite_room
    prompt = await consent_prompt_for(room, room.bob, "Hi all")
    room.emu.fail_next(CLOSE, 502)
    with caplog.at_level(logging.WARNING, logger="bot.platforms.telegram.adapter"):
        answered = await room.press(room.bob, prompt, "tagged")
    assert answered["text"] == room.t("consent_set_tagged")
    assert any("could not close prompt" in r.getMessage() for r in caplog.records)
    assert room.level(room.bob) is Level.TAGGED and prompt_row(room, prompt).answer == "tagged"
    assert answers(prompt) == ["all", "tagged", "none"], "the failed edit left the buttons"

    answered = await room.press(room.alice, prompt, "none")  # still not hers
    assert answered["text"] == room.t("not_for_you") and answers(prompt)
    answered = await room.press(room.bob, prompt, "none")
    assert answered["show_alert"] and answered["text"] == room.t("question_closed")
    assert room.level(room.bob) is Level.TAGGED and len(level_changes(room)) == 1
    assert prompt.reply_markup is None, "closed now"


async def test_a_keep_prompt_closes_on_no_and_the_held_copy_is_gone(sqlite_room: Room) -> None:
    room = sqlite_room
    await room.consent(room.alice, "all")
    story = "Flat 12 leaks again, call me on 555 0142"
    target = room.say(room.bob, story)
    await room.settled()
    [prompt] = await room.exchange(room.alice, "/keep", reply_to=target)
    assert answers(prompt) == ["yes", "no"] and room.held() == [story]
    answered = await room.press(room.carol, prompt, "no")
    assert answered["show_alert"] and room.held() == [story] and answers(prompt)
    await room.press(room.bob, prompt, "no")
    assert room.held() == [] and room.kept() == []
    assert prompt.reply_markup is None and prompt_row(room, prompt).answer == "no"
    assert leftovers(room.db, [story]) == []


# --- taking a keep reaction back --------------------------------------------------------------


async def test_taking_back_the_keep_reaction_removes_that_persons_tag(room: Room) -> None:
    await room.consent(room.carol, "tagged")
    note = "The choir sings at the gate on Friday at seven"
    message = room.say(room.carol, note)
    room.emu.user_reacts(room.alice, message, KEEP)
    room.emu.user_reacts(room.bob, message, KEEP)
    await room.settled()
    assert room.kept() == [note] and len(rows(room.db, Tag)) == 2

    # Alice takes hers back: her tag goes, Bob's keeps the message.
    mark = room.mark()
    room.emu.user_unreacts(room.alice, message)
    await room.settled()
    assert room.kept() == [note]
    tags = rows(room.db, Tag)
    assert len(tags) == 1 and room.said_since(mark) == []

    # Bob swaps ✍ for 👍: that takes ✍ back too; the last tag gone, so is the message (Carol
    # keeps only tagged messages).
    room.emu.user_reacts(room.bob, message, "👍")
    await room.settled()
    assert room.kept() == [] and rows(room.db, Tag) == []
    assert room.said_since(mark) == [], "quiet, as the reaction was"
    if room.db.db.is_sqlite:
        assert leftovers(room.db, [note]) == []


async def test_taking_back_other_reactions_changes_nothing(sqlite_room: Room) -> None:
    room = sqlite_room
    await room.consent(room.alice, "all")
    await room.consent(room.carol, "tagged")
    everything = room.say(room.alice, "Alice keeps everything she writes")
    tagged = room.say(room.carol, "Carol's tagged note about the bins")
    await room.settled()
    room.emu.user_reacts(room.bob, tagged, KEEP)
    room.emu.user_reacts(room.carol, tagged, "👍")
    room.emu.user_reacts(room.bob, everything, KEEP)
    await room.settled()
    assert sorted(room.kept()) == sorted([everything.body, tagged.body])

    room.emu.user_unreacts(room.carol, tagged)  # 👍 is not the keep emoji
    room.emu.user_unreacts(room.bob, everything)  # kept under "all", with or without a tag
    await room.settled()
    assert sorted(room.kept()) == sorted([everything.body, tagged.body])
    assert [t.platform_message_id for t in rows(room.db, Tag)] == [str(tagged.message_id)]


async def test_taking_back_a_keep_reaction_destroys_a_held_copy_with_no_tags_left(
    sqlite_room: Room,
) -> None:
    room = sqlite_room
    secret = "Dave's words: the back door code is 4417"
    dave = room.emu.add_user("Dave")
    room.emu.add_member(room.group, dave, by=room.alice)
    await room.settled()
    message = room.say(dave, secret)
    await room.settled()
    room.emu.user_reacts(room.alice, message, KEEP)
    await room.settled()
    assert room.held() == [secret]
    room.emu.user_unreacts(room.alice, message)
    await room.settled()
    assert room.held() == [] and room.kept() == []
    assert leftovers(room.db, [secret]) == []


async def test_taking_back_a_reaction_on_a_prompt_withdraws_no_answer(sqlite_room: Room) -> None:
    room = sqlite_room
    prompt = await consent_prompt_for(room, room.bob, "Evening, neighbours")
    room.emu.user_reacts(room.bob, prompt, KEEP)  # his answer: only tagged
    await room.settled()
    assert room.level(room.bob) is Level.TAGGED
    mark = room.mark()
    room.emu.user_unreacts(room.bob, prompt)
    await room.settled()
    assert room.level(room.bob) is Level.TAGGED and len(level_changes(room)) == 1
    assert room.said_since(mark) == [] and prompt_row(room, prompt).answer == "tagged"


async def test_a_keep_prompt_whose_held_copy_is_gone_closes_as_what_happened(
    sqlite_room: Room,
) -> None:
    """Bob said yes another way (he tagged his own message): his tap on the question closes
    it as answered "yes", from the ledger. Carol never answered and the wait ran out: her tap
    closes it unanswered, and keeps nothing."""
    room = sqlite_room
    await room.consent(room.alice, "all")
    bobs = room.say(room.bob, "Bob's story about the night guard")
    carols = room.say(room.carol, "Carol's story about the fountain")
    await room.settled()
    [bob_prompt] = await room.exchange(room.alice, "/keep", reply_to=bobs)
    [carol_prompt] = await room.exchange(room.alice, "/keep", reply_to=carols)
    assert sorted(room.held()) == sorted([bobs.body, carols.body])

    await room.exchange(room.bob, "/keep", reply_to=bobs)  # his own message: his yes
    assert room.kept() == [bobs.body] and prompt_row(room, bob_prompt).answer is None
    answered = await room.press(room.bob, bob_prompt, "no")
    assert answered["text"] == room.t("question_closed")
    assert bob_prompt.reply_markup is None and prompt_row(room, bob_prompt).answer == "yes"
    assert room.kept() == [bobs.body], "his earlier yes stands"

    with room.db.db.write() as session:
        for held in session.exec(select(HeldMessage)):
            held.expires_at = datetime.now(UTC) - timedelta(minutes=1)
            session.add(held)
    assert purge_expired(room.db) == 1 and room.held() == []
    answered = await room.press(room.carol, carol_prompt, "yes")
    assert answered["text"] == room.t("question_closed")
    assert carol_prompt.reply_markup is None and prompt_row(room, carol_prompt).answer is None
    assert room.kept() == [bobs.body]
