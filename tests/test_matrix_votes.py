"""Votes on Matrix against a real Synapse: ``!propose`` opens an ``m.poll.start`` (the
unstable MSC3381 names clients render), answers come as ``m.poll.response`` in either naming,
the runner ends the poll (``m.poll.end``) at the deadline and says the result."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

import bot.app.runner
from archiver.community import community_of_chat, load_community
from archiver.policy import current_policy
from bot.chat.texts import text
from storage.models import Ballot, Vote
from tests import test_matrix as matrix
from tests.conftest import rows
from tests.test_matrix import Resident, Room, eventually

START = "org.matrix.msc3381.poll.start"


@pytest.fixture(autouse=True)
def votes_checked_often(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before the room's bot starts: due votes are looked for every 0.2 s."""
    monkeypatch.setattr(bot.app.runner, "VOTE_CHECK_SECONDS", 0.2)


# The room of tests/test_matrix.py (a fixture: alice, bob, carol, an observer, the bot running).
room = matrix.room


async def bot_events_of(room: Room, kind: str) -> list[dict[str, Any]]:
    answer = await room.alice.client.room_messages(room.room_id, start=None, limit=500)
    return [
        e.source
        for e in reversed(answer.chunk)
        if e.source.get("sender") == room.bot.user_id and e.source.get("type") == kind
    ]


async def respond(resident: Resident, room: Room, start: str, answer: str | None, *,
                  stable: bool = False) -> None:  # fmt: skip
    chosen = [answer] if answer is not None else []
    relation = {"rel_type": "m.reference", "event_id": start}
    if stable:
        content = {"m.relates_to": relation, "m.selections": chosen}
        await resident.send(room.room_id, content, "m.poll.response")
    else:
        content = {
            "m.relates_to": relation,
            "org.matrix.msc3381.poll.response": {"answers": chosen},
        }
        await resident.send(room.room_id, content, "org.matrix.msc3381.poll.response")


async def test_a_vote_on_matrix_is_a_poll_that_decides(room: Room) -> None:
    for resident in (room.alice, room.bob, room.carol):
        await room.consent_all(resident)
    assert room.archive is not None
    community = community_of_chat(room.archive, room.chat)
    assert community is not None
    settings = load_community(room.archive, community)

    def t(key: str, **values: object) -> str:
        return text(settings.language, key, community=settings.name, **values)

    asked = await room.alice.say(room.room_id, "!propose digest off")
    announcement = await room.reply_to(asked, "the vote's announcement")
    assert announcement["content"]["body"].startswith("🗳 ")
    [start] = await eventually(lambda: bot_events_of(room, START), "the poll")
    poll = start["content"][START]
    assert poll["max_selections"] == 1 and poll["kind"] == "org.matrix.msc3381.poll.disclosed"
    assert [a["org.matrix.msc1767.text"] for a in poll["answers"]] == [
        t("vote_yes"), t("vote_no"),
    ]  # fmt: skip

    poll_id = start["event_id"]
    await respond(room.alice, room, poll_id, "0")
    await respond(room.bob, room, poll_id, "1")
    await respond(room.bob, room, poll_id, "0")  # changed: the latest counts
    await respond(room.carol, room, poll_id, "1", stable=True)  # the stable naming
    await respond(room.observer, room, poll_id, "1")  # never said yes: not on the roll
    await room.settled()
    await eventually(lambda: len(rows(room.archive, Ballot)) == 3, "three answers stored")

    with room.archive.db.write() as session:
        session.execute(update(Vote).values(closes_at=datetime.now(UTC) - timedelta(seconds=1)))
    ended = await eventually(
        lambda: bot_events_of(room, "org.matrix.msc3381.poll.end"), "the poll's end"
    )
    assert ended[0]["content"]["m.relates_to"]["event_id"] == poll_id

    decided = t("vote_passed", what=t("what_digest_off"), yes=2, no=1)

    async def result() -> list[dict[str, Any]]:
        return [e for e in await room.bot_events() if e["content"]["body"] == decided]

    await eventually(result, "the result")
    assert current_policy(room.archive, settings)["digest"].value == "off"


async def test_a_vote_short_of_quorum_on_matrix_survives_a_restart(room: Room) -> None:
    for resident in (room.alice, room.bob, room.carol):
        await room.consent_all(resident)
    assert room.archive is not None
    community = community_of_chat(room.archive, room.chat)
    assert community is not None
    settings = load_community(room.archive, community)

    def t(key: str, **values: object) -> str:
        return text(settings.language, key, community=settings.name, **values)

    await room.alice.say(room.room_id, "!propose hold_hours 24")
    [start] = await eventually(lambda: bot_events_of(room, START), "the poll")
    poll_id = start["event_id"]
    await respond(room.alice, room, poll_id, "0")
    await room.settled()
    await room.stop_bot()
    await respond(room.bob, room, poll_id, "0")  # while the bot is down
    await room.start()
    await room.settled()
    await eventually(
        lambda: len([b for b in rows(room.archive, Ballot) if b.answer == "yes"]) == 2,
        "both answers, none lost over the restart",
    )
    with room.archive.db.write() as session:
        session.execute(update(Vote).values(closes_at=datetime.now(UTC) - timedelta(seconds=1)))
    short = t("vote_no_quorum", what=t("what_hold_hours", value="24"), answers=2, needed=3)

    async def result() -> list[dict[str, Any]]:
        return [e for e in await room.bot_events() if e["content"]["body"] == short]

    await eventually(result, "the 'not enough answers' result")
    assert current_policy(room.archive, settings)["hold_hours"].source == "config"
