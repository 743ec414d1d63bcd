"""Votes on Matrix against a real Synapse: ``!propose`` opens an ``m.poll.start`` (the
unstable MSC3381 names clients render), answers come as ``m.poll.response`` in either naming,
the runner ends the poll (``m.poll.end``) at the deadline and says the result."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from nio import RoomSendResponse
from sqlalchemy import update

import bot.app.runner
from archiver.community import CommunitySettings, community_of_chat, load_community
from archiver.consent import Level
from archiver.policy import current_policy
from archiver.segmentation import Segmenter
from bot.chat.texts import text
from bot.platforms.matrix.events import for_matrix
from storage.models import Ballot, Vote
from tests import test_matrix as matrix
from tests.conftest import leftovers, rows
from tests.matrix_server import Synapse
from tests.test_matrix import (
    Resident,
    Room,
    _e2e_sync,
    _raw_event,
    encrypted_room,
    eventually,
)

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


async def on_the_roll(room: Room) -> tuple[CommunitySettings, Callable[..., str]]:
    """alice, bob and carol say yes to keeping (the roll); the room's community settings
    and its texts (``t(key, **values)``)."""
    for resident in (room.alice, room.bob, room.carol):
        await room.consent_all(resident)
    assert room.archive is not None
    community = community_of_chat(room.archive, room.chat)
    assert community is not None
    settings = load_community(room.archive, community)
    return settings, functools.partial(text, settings.language, community=settings.name)


async def bot_said(room: Room, body: str, what: str) -> None:
    """Wait until the bot has said ``body`` in the room."""

    async def found() -> list[dict[str, Any]]:
        return [e for e in await room.bot_events() if e["content"]["body"] == body]

    await eventually(found, what)


async def test_a_vote_on_matrix_is_a_poll_that_decides(room: Room) -> None:
    settings, t = await on_the_roll(room)

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

    await bot_said(room, decided, "the result")
    assert current_policy(room.archive, settings)["digest"].value == "off"


async def test_a_vote_short_of_quorum_on_matrix_survives_a_restart(room: Room) -> None:
    settings, t = await on_the_roll(room)

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

    await bot_said(room, short, "the 'not enough answers' result")
    assert current_policy(room.archive, settings)["hold_hours"].source == "config"


async def test_no_vote_keeps_a_no_names_the_anonymous_or_stands_in_the_way_of_forget(
    room: Room,
) -> None:
    """On Matrix too: a passed vote keeps nothing of someone who never said yes, names no
    one who stayed anonymous, and ``forget`` after it erases the person's answer and words
    while the decision stands."""
    settings, t = await on_the_roll(room)
    assert room.archive is not None
    archive = room.archive

    carols, unseen = "carol's note about the boiler room", "the observer's words"
    await room.carol.say(room.room_id, carols)
    await room.observer.say(room.room_id, unseen)  # never said yes
    asked = await room.alice.say(room.room_id, "!propose site public")
    announcement = await room.reply_to(asked, "the vote's announcement")
    opened = t("vote_opened", name=t("neighbour"), what=t("what_site_public"), closes="", needed=3)
    first_line = announcement["content"]["body"].split("\n")[0]
    assert first_line == for_matrix(opened).split("\n")[0], "alice is anonymous: not named"
    [start] = await eventually(lambda: bot_events_of(room, START), "the poll")
    question = start["content"][START]["question"]["org.matrix.msc1767.text"]
    assert "!consent public" in question and "/consent" not in question, "as Matrix types it"
    for resident in (room.alice, room.bob, room.carol, room.observer):
        await respond(resident, room, start["event_id"], "0")
    await room.settled()
    await eventually(lambda: len(rows(archive, Ballot)) == 3, "three answers; none of his")
    with archive.db.write() as session:
        session.execute(update(Vote).values(closes_at=datetime.now(UTC) - timedelta(seconds=1)))
    decided = for_matrix(t("vote_passed", what=t("what_site_public"), yes=3, no=0))

    await bot_said(room, decided, "the result")
    assert current_policy(archive, settings)["site"].value == "public"

    asked = await room.carol.say(room.room_id, "!forget")
    prompt = await room.reply_to(asked, "the forget confirmation")
    await room.carol.react(room.room_id, prompt["event_id"], "✅")
    await eventually(lambda: carols not in room.kept_texts(), "carol forgotten")
    assert len(rows(archive, Ballot)) == 2, "her answer went with her"
    assert current_policy(archive, settings)["site"].value == "public", "the decision stands"
    after = "the observer's words after the vote"
    await room.observer.say(room.room_id, after)
    await room.settled()
    assert unseen not in room.kept_texts() and after not in room.kept_texts()
    assert leftovers(archive, [carols, unseen, after]) == []


async def test_a_vote_in_an_encrypted_room(
    synapse: Synapse, tmp_path: Path, segmenter: Segmenter
) -> None:
    """In an encrypted room the poll, the answers and the end all travel encrypted: the bot
    reads the residents' encrypted answers (decrypted with the room's keys) and decides."""
    the_room = await encrypted_room(synapse, tmp_path, segmenter, "Secret Garden")
    alice, bob, bot, room_id = the_room.alice, the_room.bob, the_room.bot, the_room.room_id
    # A community listing the room, whose rules let two residents decide (the room has two).
    matrix._write_config(
        the_room.config_path, synapse, bot, the_room.db_url, the_room.store_dir,
        extra=f"""
[[communities]]
id = "garden"
name = "Secret Garden"
language = "en"
vote_min_voters = 2
spaces = [{{ platform = "matrix", room = "{room_id}" }}]
""",
    )  # fmt: skip
    seen: list[Any] = []

    async def from_bot(kind: str) -> list[Any]:
        seen.extend(await _e2e_sync(alice.client))
        return [e for e in seen if e.sender == bot.user_id and e.source.get("type") == kind]

    async def notices() -> list[str]:
        return [
            e.source["content"].get("body", "")
            for e in await from_bot("m.room.message")
            if e.source["content"].get("msgtype") == "m.notice"
        ]

    async def send(resident: Resident, kind: str, content: dict[str, Any]) -> str:
        synced = await _e2e_sync(resident.client)  # keys shared before sending
        if resident is alice:
            seen.extend(synced)
        sent = await resident.client.room_send(
            room_id, kind, content, ignore_unverified_devices=True
        )
        assert isinstance(sent, RoomSendResponse), sent
        return str(sent.event_id)

    async def answer(resident: Resident, poll_id: str, option: str) -> str:
        return await send(resident, "org.matrix.msc3381.poll.response", {
            "m.relates_to": {"rel_type": "m.reference", "event_id": poll_id},
            "org.matrix.msc3381.poll.response": {"answers": [option]},
        })  # fmt: skip

    def t(key: str, **values: object) -> str:
        return text("en", key, community="Secret Garden", **values)

    try:
        await the_room.start()
        await alice.client.room_invite(room_id, bot.user_id)
        await eventually(notices, "the bot's (encrypted) greeting")
        for resident in (alice, bob):
            await send(resident, "m.room.message", {"msgtype": "m.text", "body": "!consent all"})
        await eventually(
            lambda: the_room.level(alice) is Level.ALL and the_room.level(bob) is Level.ALL,
            "both residents on the roll",
        )

        await send(alice, "m.room.message", {"msgtype": "m.text", "body": "!propose media off"})
        [start] = await eventually(lambda: from_bot(START), "the poll, decrypted")
        assert start.decrypted, "the poll was sent encrypted and alice's client opened it"
        raw = await asyncio.to_thread(
            _raw_event, synapse, alice.account.access_token, room_id, start.event_id
        )
        assert raw["type"] == "m.room.encrypted" and "ciphertext" in raw["content"]
        poll = start.source["content"][START]
        assert [a["id"] for a in poll["answers"]] == ["0", "1"]
        assert the_room.archive is not None
        [vote] = rows(the_room.archive, Vote)
        assert vote.needed == 2, "the community's own rule from the config, not the default 3"

        await answer(alice, start.event_id, "0")
        bobs = await answer(bob, start.event_id, "1")
        await answer(bob, start.event_id, "0")  # changed: the latest counts
        bobs_raw = await asyncio.to_thread(
            _raw_event, synapse, bob.account.access_token, room_id, bobs
        )
        assert bobs_raw["type"] == "m.room.encrypted", "the answers travel encrypted"
        archive = the_room.archive
        assert archive is not None
        await eventually(
            lambda: sorted(b.answer for b in rows(archive, Ballot)) == ["yes", "yes"],
            "both (decrypted) answers stored, bob's latest",
        )

        with archive.db.write() as session:
            session.execute(update(Vote).values(closes_at=datetime.now(UTC) - timedelta(seconds=1)))
        [ended] = await eventually(
            lambda: from_bot("org.matrix.msc3381.poll.end"), "the poll's end, decrypted"
        )
        assert ended.source["content"]["m.relates_to"]["event_id"] == start.event_id
        decided = t("vote_passed", what=t("what_media_off"), yes=2, no=0)
        await eventually(lambda: _has(notices(), decided), "the result")
        settings = load_community(archive, "garden")
        assert current_policy(archive, settings)["media"].value == "off"
    finally:
        await the_room.close()


async def _has(found: Awaitable[list[str]], wanted: str) -> bool:
    return wanted in await found
