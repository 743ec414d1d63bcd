"""Votes on Telegram, end to end: `propose` opens a real non-anonymous poll (the Bot API
emulator's ``sendPoll``), residents answer through ``poll_answer`` updates, the runner's job
closes the vote at its deadline (``stopPoll``) and says the result in the chat; the decision
lands in the policy ledger. Beside it: an ineligible voter ignored, a changed answer counted
once, a restart mid-vote, a failed quorum, stewards in chat — and the rights no vote touches
(a no stays unkept, the anonymous stay unnamed, forget works in the middle of a vote).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

import archiver.archive
import bot.app.runner
from archiver.community import load_community
from archiver.policy import current_policy, ledger
from archiver.segmentation import Segmenter
from sandbox.emulator.model import Message as TgMessage
from storage.models import Ballot, Vote
from tests.conftest import COMMUNITY, leftovers, rows
from tests.test_telegram import Room, on_sqlite, open_room
from tests.test_telegram_media import until


@pytest.fixture
async def room(
    db_url: str, tmp_path: Path, segmenter: Segmenter, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Room]:
    """A group of three with the bot (``tests/test_telegram.py``), votes checked often."""
    monkeypatch.setattr(archiver.archive, "Segmenter", lambda *_args, **_kw: segmenter)
    monkeypatch.setattr(bot.app.runner, "VOTE_CHECK_SECONDS", 0.2)
    async with open_room(db_url, tmp_path, segmenter) as opened:
        for user in (opened.alice, opened.bob, opened.carol):
            await opened.consent(user, "all")
        yield opened


def polls(room: Room) -> list[TgMessage]:
    return [m for m in room.emu.bot_messages(room.group) if m.poll is not None]


def due_now(room: Room) -> None:
    """The vote's deadline has come (as if its 72 hours had passed)."""
    with room.db.db.write() as session:
        session.execute(update(Vote).values(closes_at=datetime.now(UTC) - timedelta(seconds=1)))


async def test_a_vote_in_the_chat_decides_the_policy(room: Room) -> None:
    dave = room.emu.add_user("Dave")  # in the group, never said yes: not on the roll
    room.emu.add_member(room.group, dave)
    await room.settled()  # the bot greets him
    said = await room.exchange(room.alice, "/propose media off")
    announcement = said[0]
    assert announcement.body.startswith("🗳 ") and "not anonymous" in announcement.body
    [poll_message] = polls(room)
    poll = poll_message.poll
    assert not poll.is_anonymous and poll.options == ["Yes", "No"]
    assert poll.question == "Vote (not anonymous): stop keeping photos, voice and files?"

    room.emu.user_answers_poll(room.alice, poll_message, 0)
    room.emu.user_answers_poll(room.bob, poll_message, 1)
    room.emu.user_answers_poll(room.bob, poll_message)  # taken back …
    room.emu.user_answers_poll(room.bob, poll_message, 0)  # … and changed: counted once
    room.emu.user_answers_poll(room.carol, poll_message, 1)
    room.emu.user_answers_poll(dave, poll_message, 1)  # ignored: not on the roll
    await room.settled()
    assert len(rows(room.db, Ballot)) == 3, "Dave's answer left no trace"

    mark = room.mark()
    due_now(room)
    await until(lambda: poll.is_closed and len(room.said_since(mark)) == 1)
    [result] = room.said_since(mark)
    assert result.body == "✅ Decided: stop keeping photos, voice and files (2 yes, 1 no)."
    settings = load_community(room.db, COMMUNITY)
    assert current_policy(room.db, settings)["media"].value == "off"
    [entry] = ledger(room.db, COMMUNITY)
    assert (entry.policy, entry.value, entry.actor) == ("media", "off", "vote")

    # /policy shows it, with where it came from.
    [shown] = await room.exchange(room.carol, "/policy")
    assert "• media: off — vote of" in shown.body


async def test_a_vote_short_of_its_quorum_changes_nothing_and_survives_a_restart(
    room: Room,
) -> None:
    await room.exchange(room.alice, "/propose hold_hours 24")
    [poll_message] = polls(room)
    room.emu.user_answers_poll(room.alice, poll_message, 0)
    await room.settled()
    await room.stop_bot()
    room.emu.user_answers_poll(room.bob, poll_message, 0)  # while the bot is down
    await room.start()
    await room.settled()
    assert len([b for b in rows(room.db, Ballot) if b.answer == "yes"]) == 2, "none lost"
    mark = room.mark()
    due_now(room)
    await until(lambda: len(room.said_since(mark)) == 1)
    [result] = room.said_since(mark)
    assert result.body.startswith("Not enough answers for:") and "(2 of 3)" in result.body
    assert ledger(room.db, COMMUNITY) == []


async def test_proposals_off_the_roll_or_twice_are_refused_in_words(room: Room) -> None:
    dave = room.emu.add_user("Dave")
    room.emu.add_member(room.group, dave)
    await room.settled()
    [refused] = await room.exchange(dave, "/propose site public")
    assert refused.body == room.t("vote_not_on_roll")
    await room.exchange(room.alice, "/propose site public")
    [twice] = await room.exchange(room.bob, "/propose site residents")
    assert twice.body == room.t("vote_open")
    [unknown] = await room.exchange(room.bob, "/propose colour blue")
    assert unknown.body == room.t("vote_unknown_policy")
    assert len(polls(room)) == 1


async def test_stewards_in_chat_and_stepping_down(room: Room) -> None:
    # Alice owns the group: she became a steward when the bot joined.
    [listed] = await room.exchange(room.bob, "/stewards")
    assert listed.body.startswith("Stewards of Sunshine Garden:")
    assert "a neighbour" in listed.body, "Alice is anonymous: not named"
    [usage] = await room.exchange(room.alice, "/unsteward")
    assert usage.body == room.t("unsteward_usage")
    [done] = await room.exchange(room.alice, "/unsteward me")
    assert done.body == room.t("unsteward_done")
    [none] = await room.exchange(room.bob, "/stewards")
    assert none.body == room.t("stewards_none")
    offer = room.say(room.carol, "I can help with the archive")
    announcement, poll = await room.exchange(room.bob, "/propose steward", reply_to=offer)
    assert "make a neighbour a steward" in announcement.body
    assert (
        poll.poll is not None
        and poll.poll.question == "Vote (not anonymous): make a neighbour a steward?"
    )


async def test_no_vote_keeps_a_no_names_the_anonymous_or_stands_in_the_way_of_forget(
    room: Room,
) -> None:
    """The rights a vote cannot touch, in the chat: a passed vote keeps nothing of someone
    who never said yes, names no one who stayed anonymous, and ``forget`` in the middle of
    a vote erases the person's answer with the rest of what they left."""
    dave, erin = room.emu.add_user("Dave"), room.emu.add_user("Erin")
    for user in (dave, erin):
        room.emu.add_member(room.group, user)
    await room.settled()
    await room.consent(dave, "all")  # erin never answers
    carols = "carol's note about the boiler room"
    erins = "erin's words before the vote"
    room.say(room.carol, carols)
    room.say(erin, erins)
    await room.settled()

    said = await room.exchange(room.alice, "/propose site public")
    assert said[0].body.startswith("🗳 a neighbour proposes"), "alice is anonymous: not named"
    [poll_message] = polls(room)
    for user in (room.alice, room.bob, room.carol, dave):
        room.emu.user_answers_poll(user, poll_message, 0)
    room.emu.user_answers_poll(erin, poll_message, 0)  # not on the roll: no trace
    await room.settled()
    assert len(rows(room.db, Ballot)) == 4

    [confirm] = await room.exchange(room.carol, "/forget")
    await room.press(room.carol, confirm, "yes")
    assert len(rows(room.db, Ballot)) == 3, "carol's answer went with her"
    assert carols not in room.kept()

    mark = room.mark()
    due_now(room)
    await until(lambda: poll_message.poll.is_closed and len(room.said_since(mark)) == 1)
    [result] = room.said_since(mark)
    assert result.body == room.t("vote_passed", what=room.t("what_site_public"), yes=3, no=0)
    settings = load_community(room.db, COMMUNITY)
    assert current_policy(room.db, settings)["site"].value == "public"

    erins_after = "erin's words after the vote"
    room.say(erin, erins_after)
    await room.settled()
    assert erins not in room.kept() and erins_after not in room.kept()
    if on_sqlite(room):
        assert leftovers(room.db, [carols, erins, erins_after]) == []
