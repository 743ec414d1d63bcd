"""Matrix on a real Synapse: prompts close once answered, keep reactions can be taken back,
held messages die on "no" and on timeout, and encrypted events whose key comes late.

The room, the residents (real nio clients) and the waiting helpers are those of
``tests/test_matrix.py``; the homeserver is the session's (``synapse`` in conftest.py). Every
positive sits beside its negative: someone else's answer leaves a prompt open, a redacted
reaction on a prompt withdraws no answer, another person's tag keeps a message, an
unconsented sender's late-keyed words are not kept.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from nio import (
    RoomMessageNotice,
    RoomSendResponse,
    ToDeviceMessage,
    ToDeviceResponse,
)
from sqlmodel import select

from archiver.community import community_of_chat, load_community
from archiver.consent import Level
from archiver.preservation import purge_expired
from archiver.segmentation import Segmenter
from bot.chat.texts import text
from storage.models import ConsentEvent, HeldMessage, Prompt, Tag
from tests import test_matrix as matrix
from tests.conftest import leftovers, rows
from tests.matrix_server import Synapse
from tests.test_matrix import Resident, Room, eventually

# The room of tests/test_matrix.py (a fixture: alice, bob, carol, an observer, the bot running).
room = matrix.room
ANSWERS = {"✅", "📌", "❌"}


# --- helpers ------------------------------------------------------------------------------------


def zh(key: str, **values: object) -> str:
    """A text as the bot says it in a room no community lists (its own community: Chinese)."""
    return text("zh", key, **values)


def answered_note(label: str) -> str:
    return zh("prompt_answered", answer=zh(label))


async def edits_of(room: Room, event_id: str) -> list[dict[str, Any]]:
    """The bot's edits (``m.replace``) of one of its messages, oldest first."""
    return [
        e
        for e in await room.bot_events()
        if e["content"].get("m.relates_to", {}).get("rel_type") == "m.replace"
        and e["content"]["m.relates_to"].get("event_id") == event_id
    ]


async def closed(room: Room, prompt_id: str) -> dict[str, Any]:
    """Wait for the edit that closes the prompt; its content."""
    found: list[dict[str, Any]] = await eventually(
        lambda: edits_of(room, prompt_id), f"the edit closing {prompt_id}"
    )
    content: dict[str, Any] = found[0]["content"]
    return content


def prompt_row(room: Room, prompt_id: str) -> Prompt:
    assert room.archive is not None
    with room.archive.db.read() as session:
        found = session.exec(select(Prompt).where(Prompt.platform_message_id == prompt_id)).one()
        session.expunge(found)
        return found


def ledger(room: Room) -> list[tuple[str, str]]:
    assert room.archive is not None
    return [(e.field, e.new_value) for e in rows(room.archive, ConsentEvent)]


def remembered_reactions(room: Room) -> dict[str, Any]:
    path = room.store_dir / "reactions.json"
    if not path.exists():
        return {}
    found: dict[str, Any] = json.loads(path.read_text())["reactions"]
    return found


async def consent_prompt(room: Room, resident: Resident, words: str) -> dict[str, Any]:
    """``resident`` speaks for the first time; the consent prompt, its answers offered."""
    first = await resident.say(room.room_id, words)
    prompt = await room.reply_to(first, f"the consent prompt for {resident.id}")
    await eventually(lambda: matrix._has(room.reactions_on(prompt["event_id"]), ANSWERS), "answers")
    return prompt


async def keep_prompt(room: Room, story: str) -> dict[str, Any]:
    found: dict[str, Any] = await eventually(
        lambda: matrix._keep_prompt(room, story), "the keep prompt"
    )
    return found


# --- 1. prompts close once answered ---------------------------------------------------------------


async def test_a_consent_prompt_is_closed_once_its_person_answers(room: Room) -> None:
    prompt = await consent_prompt(room, room.alice, "hello neighbours, the lift is fixed")
    question = prompt["content"]["body"].rsplit("\n\n", 1)[0]

    # bob's ✅ on alice's prompt: nothing changes, and the prompt stays open.
    await room.bob.react(room.room_id, prompt["event_id"], "✅")
    await room.settled()
    assert room.level(room.alice) is Level.UNKNOWN
    assert await edits_of(room, prompt["event_id"]) == []
    assert prompt_row(room, prompt["event_id"]).answer is None

    # alice's ✅: her answer; the notice is edited to say so, its answers line gone.
    mine = await room.alice.react(room.room_id, prompt["event_id"], "✅")
    edit = await closed(room, prompt["event_id"])
    assert room.level(room.alice) is Level.ALL
    row = prompt_row(room, prompt["event_id"])
    assert row.answer == "all" and row.answered_at is not None
    new = edit["m.new_content"]
    assert new["msgtype"] == "m.notice"
    assert new["body"] == f"{question}\n\n{answered_note('button_all')}"
    assert "✅ " + zh("button_all") not in new["body"]
    assert new["formatted_body"].endswith("<br><br>" + answered_note("button_all"))
    assert new["m.mentions"] == {"user_ids": [room.alice.id]}
    assert edit["m.mentions"] == {}, "the edit does not ping her again"
    assert edit["body"].startswith("* ")
    [confirmation] = await room.replies_to(prompt["event_id"])

    # A second answer to the closed prompt changes nothing: no new level, edit or reply.
    await room.alice.react(room.room_id, prompt["event_id"], "❌")
    await room.settled()
    assert room.level(room.alice) is Level.ALL
    assert len(await edits_of(room, prompt["event_id"])) == 1
    replies = await room.replies_to(prompt["event_id"])
    assert [e["event_id"] for e in replies] == [confirmation["event_id"]]

    # Redacting her ✅ withdraws no answer.
    before = ledger(room)
    await room.alice.client.room_redact(room.room_id, mine)
    await room.settled()
    assert room.level(room.alice) is Level.ALL and ledger(room) == before
    assert prompt_row(room, prompt["event_id"]).answer == "all"


async def test_the_greetings_answers_are_each_residents_own_and_never_close(
    room: Room,
) -> None:
    """The greeting offers ✅/📌/❌ to everyone: each reaction answers for whoever reacted,
    and the greeting is never edited closed, so the next resident can still answer."""
    greeting = (await room.bot_events())[0]
    await eventually(
        lambda: matrix._has(room.reactions_on(greeting["event_id"]), ANSWERS), "answers"
    )
    assert "✅ " + zh("button_all") in greeting["content"]["body"]

    await room.alice.react(room.room_id, greeting["event_id"], "✅")
    await room.bob.react(room.room_id, greeting["event_id"], "❌")
    await eventually(lambda: room.level(room.bob) is Level.NONE, "bob's answer")
    assert room.level(room.alice) is Level.ALL
    assert room.level(room.carol) is Level.UNKNOWN
    assert ledger(room) == [("level", "all"), ("level", "none")]
    assert await edits_of(room, greeting["event_id"]) == []
    assert prompt_row(room, greeting["event_id"]).answer is None

    # What they write from now on follows their own answer, not each other's.
    await room.alice.say(room.room_id, "the greeting's ✅ is mine")
    await room.bob.say(room.room_id, "and my ❌ is mine")
    await room.settled()
    assert room.kept_texts() == ["the greeting's ✅ is mine"]


async def test_a_keep_prompt_answered_no_destroys_the_held_copy_and_closes(room: Room) -> None:
    await room.consent_all(room.alice)
    words = f"carol's secret: the bike lock code is 4417 {uuid.uuid4().hex[:6]}"
    story = await room.carol.say(room.room_id, words)
    await room.alice.say(room.room_id, "!keep", reply_to=story)
    prompt = await keep_prompt(room, story)
    assert [h.text for h in room.held()] == [words]

    await room.bob.react(room.room_id, prompt["event_id"], "❌")  # not bob's message
    await room.settled()
    assert [h.text for h in room.held()] == [words]
    assert await edits_of(room, prompt["event_id"]) == []

    await room.carol.react(room.room_id, prompt["event_id"], "❌")
    edit = await closed(room, prompt["event_id"])
    assert edit["m.new_content"]["body"].endswith(answered_note("button_no_keep"))
    assert room.held() == [] and room.kept() == []
    assert prompt_row(room, prompt["event_id"]).answer == "no"
    assert room.archive is not None and leftovers(room.archive, [words]) == []

    # Too late for a yes: nothing comes back.
    await room.carol.react(room.room_id, prompt["event_id"], "✅")
    await room.settled()
    assert room.kept() == [] and len(await edits_of(room, prompt["event_id"])) == 1


# --- 3. held messages: destroyed on no (above) and when the author never answers -------------


async def test_a_held_message_is_destroyed_when_its_author_never_answers(room: Room) -> None:
    """The wait is ``hold_hours`` (72 by default): time is driven through ``purge_expired``'s
    clock (``now``), as the runner calls it every few minutes."""
    assert room.archive is not None
    community = community_of_chat(room.archive, room.chat)
    assert community is not None
    hours = load_community(room.archive, community).hold_hours
    await room.consent_all(room.alice)
    words = f"carol never answers about this {uuid.uuid4().hex[:6]}"
    story = await room.carol.say(room.room_id, words)
    await room.alice.react(room.room_id, story, "📌")
    prompt = await keep_prompt(room, story)
    assert [h.text for h in room.held()] == [words]

    now = datetime.now(UTC)
    assert purge_expired(room.archive, now=now + timedelta(hours=hours - 1)) == 0
    assert [h.text for h in room.held()] == [words]
    assert purge_expired(room.archive, now=now + timedelta(hours=hours, minutes=1)) == 1
    assert room.held() == [] and room.kept() == []
    assert leftovers(room.archive, [words]) == []

    # Her ✅ after the wait keeps nothing; her tap closes the question, unanswered.
    await room.carol.react(room.room_id, prompt["event_id"], "✅")
    edit = await closed(room, prompt["event_id"])
    assert edit["m.new_content"]["body"].endswith(zh("question_closed"))
    assert room.kept() == [] and prompt_row(room, prompt["event_id"]).answer is None


async def test_the_running_bot_destroys_held_messages_whose_wait_ran_out(room: Room) -> None:
    """The same through ``community-memory run``'s own purge (on start, then every few
    minutes): the hours pass while the bot is stopped."""
    await room.consent_all(room.alice)
    words = f"a story bob never answered about {uuid.uuid4().hex[:6]}"
    kept_words = "alice's own words stay"
    story = await room.bob.say(room.room_id, words)
    await room.alice.say(room.room_id, kept_words)
    await room.alice.say(room.room_id, "!keep", reply_to=story)
    await keep_prompt(room, story)
    assert [h.text for h in room.held()] == [words]
    await room.stop_bot()
    assert room.archive is not None
    with room.archive.db.write() as session:
        for held in session.exec(select(HeldMessage)):
            held.expires_at = datetime.now(UTC) - timedelta(minutes=1)
            session.add(held)
    await room.start()
    await eventually(lambda: room.held() == [], "the purge at start")
    assert room.kept_texts() == [kept_words]
    archive = room.archive
    # the purge's WAL checkpoint follows its commit: wait for it rather than race it
    await eventually(lambda: leftovers(archive, [words]) == [], "no residue of the held copy")


# --- 2. a redacted keep reaction takes its tag back --------------------------------------------


async def test_redacting_a_keep_reaction_removes_that_persons_tag(room: Room) -> None:
    await room.bob.say(room.room_id, "!consent tagged")
    await room.settled()
    note = f"bob's note: the bins move to Tuesday {uuid.uuid4().hex[:6]}"
    words = await room.bob.say(room.room_id, note)
    await room.settled()
    alices = await room.alice.react(room.room_id, words, "📌")
    carols = await room.carol.react(room.room_id, words, "📌")
    await eventually(lambda: room.kept_texts() == [note], "the tagged message")
    await room.settled()
    assert room.archive is not None and len(rows(room.archive, Tag)) == 2
    # the bot saves what it remembers at the end of the sync that brought the reactions
    await eventually(
        lambda: {alices, carols} <= set(remembered_reactions(room)), "the reactions remembered"
    )

    # Alice redacts hers: her tag goes; carol's keeps the message.
    await room.alice.client.room_redact(room.room_id, alices)
    await room.settled()
    assert room.kept_texts() == [note]
    assert len(rows(room.archive, Tag)) == 1
    await eventually(lambda: alices not in remembered_reactions(room), "alice's reaction forgotten")

    # Remembered across a restart (store_dir): a moderator (alice, the room's creator)
    # redacts carol's reaction; carol's tag goes, and with the last tag the message (bob keeps
    # only tagged messages).
    await room.stop_bot()
    await room.start()
    await room.alice.client.room_redact(room.room_id, carols)
    await eventually(lambda: room.kept_texts() == [], "the message leaving with its last tag")
    assert rows(room.archive, Tag) == []
    await eventually(lambda: remembered_reactions(room) == {}, "no reaction remembered")
    assert leftovers(room.archive, [note]) == []


async def test_redacting_other_reactions_changes_nothing(room: Room) -> None:
    await room.consent_all(room.alice)
    mine = await room.alice.say(room.room_id, "alice keeps all she writes")
    await room.settled()
    thumbs = await room.bob.react(room.room_id, mine, "👍")  # not the keep emoji
    pin = await room.bob.react(room.room_id, mine, "📌")  # a tag, but kept under "all" anyway
    await room.settled()
    assert room.archive is not None and len(rows(room.archive, Tag)) == 1
    await room.bob.client.room_redact(room.room_id, thumbs)
    await room.settled()
    assert len(rows(room.archive, Tag)) == 1
    await room.bob.client.room_redact(room.room_id, pin)
    await room.settled()
    assert rows(room.archive, Tag) == []
    assert room.kept_texts() == ["alice keeps all she writes"], "kept under all, tag or not"


async def test_redacting_the_keep_reaction_destroys_a_held_copy_with_no_tags_left(
    room: Room,
) -> None:
    words = f"carol's unanswered words {uuid.uuid4().hex[:6]}"
    story = await room.carol.say(room.room_id, words)
    await room.settled()
    pin = await room.alice.react(room.room_id, story, "📌")
    await keep_prompt(room, story)
    assert [h.text for h in room.held()] == [words]
    await room.alice.client.room_redact(room.room_id, pin)
    await eventually(lambda: room.held() == [], "the held copy destroyed")
    await room.settled()  # the row goes at the commit, the bytes at the checkpoint after it
    assert room.kept() == []
    assert room.archive is not None and leftovers(room.archive, [words]) == []


# --- 4. encrypted rooms: a room key that arrives after its event --------------------------------


async def _withheld_send(resident: Resident, room_id: str, words: str) -> tuple[str, list[Any]]:
    """Send ``words`` encrypted with a new Megolm session whose key is *not yet* sent: the
    same steps nio's ``share_group_session`` takes (claim one-time keys, Olm-encrypt the
    ``m.room_key`` for every device), with the to-device messages held back instead of sent
    first. The event id and the held-back key messages."""
    client = resident.client
    missing = client.get_missing_sessions(room_id)
    if missing:
        await client.keys_claim(missing)
    held: list[ToDeviceMessage] = []
    users = list(client.rooms[room_id].users)
    for _sharing, batch in client.olm.share_group_session_parallel(
        room_id, users, ignore_unverified_devices=True
    ):
        for user_id, devices in batch["messages"].items():
            for device_id, payload in devices.items():
                held.append(ToDeviceMessage("m.room.encrypted", user_id, device_id, payload))
    # What AsyncClient.share_group_session does once the keys went out — here they did not.
    client.olm.outbound_group_sessions[room_id].shared = True
    answer = await client.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": words})
    assert isinstance(answer, RoomSendResponse), answer
    return str(answer.event_id), held


async def test_an_encrypted_event_whose_key_comes_late_is_stored_then(
    synapse: Synapse, tmp_path: Path, segmenter: Segmenter
) -> None:
    """Alice (all) and bob (none) each send one message whose room key is held back; the bot
    keeps both aside (never in the archive) until the keys arrive, then stores alice's
    plaintext — and never bob's words, never ciphertext. Before that, an answered prompt in
    the encrypted room is closed by an encrypted edit the residents can read."""
    tag = uuid.uuid4().hex[:8]
    the_room = await matrix.encrypted_room(synapse, tmp_path, segmenter, "Late keys")
    alice, bob, bot, room_id = the_room.alice, the_room.bob, the_room.bot, the_room.room_id
    seen: list[Any] = []

    async def notices() -> list[Any]:
        seen.extend(await matrix._e2e_sync(alice.client))
        return [e for e in seen if isinstance(e, RoomMessageNotice) and e.sender == bot.user_id]

    async def answer_to(event_id: str) -> Any:
        async def found() -> Any:
            return next(
                (
                    e
                    for e in await notices()
                    if e.source["content"].get("m.relates_to", {}).get("m.in_reply_to", {})
                    == {"event_id": event_id}
                ),
                None,
            )

        return await eventually(found, f"the bot's answer to {event_id}")

    async def say(resident: Resident, words: str) -> str:
        await matrix._e2e_sync(resident.client)
        answer = await resident.client.room_send(
            room_id,
            "m.room.message",
            {"msgtype": "m.text", "body": words},
            ignore_unverified_devices=True,
        )
        assert isinstance(answer, RoomSendResponse), answer
        return str(answer.event_id)

    def pending() -> dict[str, Any]:
        state = json.loads((the_room.store_dir / "state.json").read_text())
        found: dict[str, Any] = state["pending"]
        return found

    try:
        await the_room.start()
        await alice.client.room_invite(room_id, bot.user_id)
        await eventually(notices, "the bot's (encrypted) greeting")
        await answer_to(await say(alice, "!consent all"))
        assert the_room.level(alice) is Level.ALL

        # An encrypted prompt, answered: closed with an (encrypted) edit that keeps the
        # question, which the bot read back from its own encrypted notice.
        prompt = await answer_to(await say(bob, "hi, bob here"))
        await matrix._e2e_sync(bob.client)
        reacted = await bob.client.room_send(
            room_id,
            "m.reaction",
            {
                "m.relates_to": {
                    "rel_type": "m.annotation",
                    "event_id": prompt.event_id,
                    "key": "❌",
                }
            },
            ignore_unverified_devices=True,
        )
        assert isinstance(reacted, RoomSendResponse), reacted

        async def edit() -> Any:
            return next(
                (
                    e
                    for e in await notices()
                    if e.source["content"].get("m.relates_to", {}).get("rel_type") == "m.replace"
                ),
                None,
            )

        closing = await eventually(edit, "the encrypted edit closing bob's prompt")
        raw = await asyncio.to_thread(
            matrix._raw_event, synapse, alice.account.access_token, room_id, closing.event_id
        )
        assert raw["type"] == "m.room.encrypted"
        assert raw["content"]["m.relates_to"] == {
            "rel_type": "m.replace",
            "event_id": prompt.event_id,
        }
        new = closing.source["content"]["m.new_content"]["body"]
        assert new == prompt.body.rsplit("\n\n", 1)[0] + "\n\n" + answered_note("button_none")
        assert the_room.level(bob) is Level.NONE

        # Late keys: both events reach the bot before their keys.
        late = f"the late-keyed words of alice {tag}"
        refused = f"the late-keyed words of bob {tag}"
        await matrix._e2e_sync(alice.client)
        await matrix._e2e_sync(bob.client)
        late_id, alice_keys = await _withheld_send(alice, room_id, late)
        refused_id, bob_keys = await _withheld_send(bob, room_id, refused)
        assert any(m.recipient == bot.user_id for m in alice_keys)
        await eventually(
            lambda: {late_id, refused_id} <= set(pending()), "both events waiting for keys"
        )
        assert late not in the_room.kept_texts()
        token = alice.account.access_token
        ciphertexts = [
            (await asyncio.to_thread(matrix._raw_event, synapse, token, room_id, event_id))[
                "content"
            ]["ciphertext"]
            for event_id in (late_id, refused_id)
        ]

        # The keys arrive (to-device, as nio would have sent them before the events).
        for resident, keys in ((alice, alice_keys), (bob, bob_keys)):
            for message in keys:
                sent = await resident.client.to_device(message)
                assert isinstance(sent, ToDeviceResponse), sent
        await eventually(lambda: late in the_room.kept_texts(), "alice's late message stored")
        await eventually(lambda: not {late_id, refused_id} & set(pending()), "pending emptied")
        [stored] = [m for m in the_room.kept() if m.text == late]
        assert stored.platform_message_id == late_id
        assert refused not in the_room.kept_texts()

        await the_room.stop_bot()
        assert the_room.archive is not None
        the_room.archive.close()
        the_room.archive = None
        data = (tmp_path / "archive.db").read_bytes()
        for extra in tmp_path.glob("archive.db-*"):
            data += extra.read_bytes()
        assert late.encode() in data
        assert refused.encode() not in data
        for ciphertext in ciphertexts:
            assert ciphertext[:40].encode() not in data and ciphertext[-40:].encode() not in data
        assert b"m.megolm" not in data
    finally:
        await the_room.close()
