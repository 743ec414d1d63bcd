"""Matrix end to end: the chat contract on a real Synapse, through the real bot.

The session's Synapse (the ``synapse`` fixture of conftest.py) runs on 127.0.0.1; each test
registers fresh accounts, and real matrix-nio clients play the residents in a room the bot is
invited to.
The bot is ``run_bots`` (what ``community-memory run`` runs) in this process — and, in one
test, the real console script in a subprocess. Assertions read the archive through a handle of
their own. Waiting is polling with a deadline: "the bot handled everything so far" is proven
by an observer's ``!help`` being answered (the bot handles a room's events in order).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from nio import (
    AsyncClient,
    AsyncClientConfig,
    MemoryDownloadResponse,
    RoomCreateResponse,
    RoomMessageNotice,
    RoomSendResponse,
    SyncResponse,
)
from typer.testing import CliRunner, Result

import bot.platforms.matrix.adapter as matrix_adapter
from archiver.archive import Archive
from archiver.community import community_of_chat
from archiver.consent import Level, consent_of
from archiver.errors import ConfigError
from archiver.events import AccountRef, ChatRef
from archiver.picture import find_cjk_font
from archiver.segmentation import Segmenter
from bot.app.config import load_config
from bot.app.runner import run_bots
from bot.chat.messages import Button, Reply
from bot.cli.main import app
from bot.platforms.matrix.events import notice_content, text_of
from storage.db import Database
from storage.models import HeldMessage, Message, MessageVersion
from tests.conftest import leftovers, rows
from tests.matrix_server import Account, Synapse

TIMEOUT = 20.0
RUN_BOT = "from bot.cli.main import main; main()"
CLIENT_CONFIG = AsyncClientConfig(max_limit_exceeded=0, max_timeouts=2, request_timeout=20)


async def eventually(
    check: Callable[[], Awaitable[Any]] | Callable[[], Any], what: str, timeout: float = TIMEOUT
) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@dataclass
class Resident:
    """A person with a real nio client."""

    account: Account
    client: AsyncClient

    @property
    def id(self) -> str:
        return self.account.user_id

    @property
    def ref(self) -> AccountRef:
        return AccountRef("matrix", self.id)

    async def send(
        self, room_id: str, content: dict[str, Any], kind: str = "m.room.message"
    ) -> str:
        answer = await self.client.room_send(room_id, kind, content)
        assert isinstance(answer, RoomSendResponse), answer
        return str(answer.event_id)

    async def say(self, room_id: str, words: str, *, reply_to: str | None = None) -> str:
        content: dict[str, Any] = {"msgtype": "m.text", "body": words}
        if reply_to:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
        return await self.send(room_id, content)

    async def react(self, room_id: str, event_id: str, emoji: str) -> str:
        return await self.send(
            room_id,
            {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": emoji}},
            "m.reaction",
        )

    async def edit(self, room_id: str, event_id: str, words: str) -> str:
        return await self.send(
            room_id,
            {
                "msgtype": "m.text",
                "body": f"* {words}",
                "m.new_content": {"msgtype": "m.text", "body": words},
                "m.relates_to": {"rel_type": "m.replace", "event_id": event_id},
            },
        )


@dataclass
class Room:
    """A room with three residents, an observer, the bot invited, and its archive."""

    synapse: Synapse
    room_id: str
    bot: Account
    alice: Resident  # the room's creator
    bob: Resident
    carol: Resident
    observer: Resident
    config_path: Path
    store_dir: Path
    db_url: str
    segmenter: Segmenter
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    archive: Archive | None = None

    @property
    def chat(self) -> ChatRef:
        return ChatRef("matrix", self.room_id)

    # --- the bot's life ---------------------------------------------------------------------

    async def start(self) -> None:
        """Run the bot; on a first start, return once its first sync is saved."""
        state = self.store_dir / "state.json"
        before = state.read_text() if state.exists() else None
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(run_bots(load_config(self.config_path), stop=self.stop))

        def synced() -> bool:
            if self.task is not None and self.task.done():
                self.task.result()
                raise AssertionError("the bot stopped at start-up")
            return state.exists() and state.read_text() != before

        if before is None:
            # The first start only begins "from now on" once its first sync is saved; a
            # restart resumes from the saved token, so anything sent from here on is seen.
            await eventually(synced, "the bot's first sync")
        if self.archive is None:
            self.archive = Archive(db=Database(self.db_url), segmenter=self.segmenter)

    async def stop_bot(self) -> None:
        assert self.task is not None
        self.stop.set()
        await asyncio.wait_for(self.task, 15)

    async def close(self) -> None:
        """Stop the bot if it runs, close the archive and every resident's client."""
        if self.task is not None and not self.task.done():
            await self.stop_bot()
        if self.archive is not None:
            self.archive.close()
        residents = (self.alice, self.bob, self.carol, self.observer)
        for resident in {id(r): r for r in residents}.values():
            await resident.client.close()

    async def settled(self) -> None:
        """Everything sent so far was handled: the observer's ``!help`` got its answer."""
        asked = await self.observer.say(self.room_id, "!help")
        await self.reply_to(asked, "the answer to the observer's !help")

    # --- reading the room -------------------------------------------------------------------

    async def bot_events(self) -> list[dict[str, Any]]:
        """The bot's messages in the room, oldest first."""
        answer = await self.alice.client.room_messages(self.room_id, start=None, limit=500)
        return [
            e.source
            for e in reversed(answer.chunk)
            if e.source.get("sender") == self.bot.user_id
            and e.source.get("type") == "m.room.message"
        ]

    async def replies_to(self, event_id: str) -> list[dict[str, Any]]:
        return [
            e
            for e in await self.bot_events()
            if e["content"].get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id")
            == event_id
        ]

    async def reply_to(self, event_id: str, what: str) -> dict[str, Any]:
        found: list[dict[str, Any]] = await eventually(lambda: self.replies_to(event_id), what)
        return found[-1]

    async def reactions_on(self, event_id: str) -> set[str]:
        answer = await self.alice.client.room_messages(self.room_id, start=None, limit=500)
        return {
            e.source["content"]["m.relates_to"]["key"]
            for e in answer.chunk
            if e.source.get("type") == "m.reaction"
            and e.source.get("sender") == self.bot.user_id
            and e.source["content"]["m.relates_to"]["event_id"] == event_id
        }

    # --- reading the archive ----------------------------------------------------------------

    def level(self, resident: Resident) -> Level:
        assert self.archive is not None
        community = community_of_chat(self.archive, self.chat)
        assert community is not None
        return consent_of(self.archive, community, resident.ref).level

    def kept(self) -> list[Message]:
        assert self.archive is not None
        return list(rows(self.archive, Message))

    def kept_texts(self) -> list[str]:
        return [m.text for m in self.kept()]

    def held(self) -> list[HeldMessage]:
        assert self.archive is not None
        return list(rows(self.archive, HeldMessage))

    async def consent_all(self, resident: Resident) -> None:
        asked = await resident.say(self.room_id, "!consent all")
        await self.reply_to(asked, f"the answer to {resident.id}'s !consent all")
        assert self.level(resident) is Level.ALL


async def _resident(synapse: Synapse, name: str) -> Resident:
    account = await asyncio.to_thread(synapse.register, name)
    client = AsyncClient(synapse.url, account.user_id, config=CLIENT_CONFIG)
    client.restore_login(account.user_id, account.device_id, account.access_token)
    return Resident(account, client)


def _write_config(
    path: Path, synapse: Synapse, bot: Account, db_url: str, store: Path, extra: str = ""
) -> None:
    path.write_text(
        f"""
[storage]
url = "{db_url}"
media_dir = "{path.parent / "media"}"

[matrix]
homeserver = "{synapse.url}"
user_id = "{bot.user_id}"
access_token = "{bot.access_token}"
device_id = "{bot.device_id}"
store_dir = "{store}"
{extra}
""",
        encoding="utf-8",
    )


@pytest.fixture
async def room(synapse: Synapse, tmp_path: Path, segmenter: Segmenter) -> AsyncIterator[Room]:
    """A room made by alice with bob, carol and an observer in it, the bot running and
    invited (it has joined and greeted)."""
    tag = uuid.uuid4().hex[:8]
    people = [await _resident(synapse, f"{n}-{tag}") for n in ("alice", "bob", "carol", "obs")]
    alice, bob, carol, observer = people
    bot = await asyncio.to_thread(synapse.register, f"memory-{tag}")
    created = await alice.client.room_create(
        name="Sunshine Garden", invite=[bob.id, carol.id, observer.id]
    )
    assert isinstance(created, RoomCreateResponse), created
    for resident in (bob, carol, observer):
        await resident.client.join(created.room_id)
    db_url = f"sqlite:///{tmp_path / 'archive.db'}"
    config = tmp_path / "config.toml"
    _write_config(config, synapse, bot, db_url, tmp_path / "matrix-store")
    the_room = Room(
        synapse,
        created.room_id,
        bot,
        alice,
        bob,
        carol,
        observer,
        config,
        tmp_path / "matrix-store",
        db_url,
        segmenter,
    )
    try:
        await the_room.start()
        await alice.client.room_invite(created.room_id, bot.user_id)
        await eventually(the_room.bot_events, "the bot's greeting")
        yield the_room
    finally:
        await the_room.close()


# --- joining ------------------------------------------------------------------------------------


async def test_an_invite_is_accepted_with_a_greeting_and_a_community_of_its_own(
    room: Room,
) -> None:
    greeting = (await room.bot_events())[0]
    assert greeting["content"]["msgtype"] == "m.notice"
    assert "formatted_body" in greeting["content"]
    assert room.archive is not None
    assert community_of_chat(room.archive, room.chat) is not None


# --- consent ------------------------------------------------------------------------------------


async def test_a_consent_prompt_is_answered_by_its_person_only(room: Room) -> None:
    first = await room.alice.say(room.room_id, "hello neighbours, the lift is fixed")
    prompt = await room.reply_to(first, "the consent prompt for alice")
    assert alice_mentioned(prompt, room.alice.id)
    # The one-tap answers are the bot's own reactions on the prompt.
    await eventually(
        lambda: _has(room.reactions_on(prompt["event_id"]), {"✅", "📌", "❌"}), "answers"
    )
    assert room.kept() == []  # an unconsented message is not stored

    # bob's ✅ on alice's prompt changes nothing and says nothing.
    await room.bob.react(room.room_id, prompt["event_id"], "✅")
    await room.settled()
    assert room.level(room.alice) is Level.UNKNOWN
    assert await room.replies_to(prompt["event_id"]) == []

    # alice's ✅ is her answer: all.
    await room.alice.react(room.room_id, prompt["event_id"], "✅")
    await room.reply_to(prompt["event_id"], "the confirmation of alice's answer")
    assert room.level(room.alice) is Level.ALL
    later = await room.alice.say(room.room_id, "the garden party is on Sunday")
    await room.settled()
    assert room.kept_texts() == ["the garden party is on Sunday"]
    assert room.kept()[0].platform_message_id == later


async def test_an_unconsented_message_is_not_stored_and_other_bots_are_ignored(
    room: Room,
) -> None:
    await room.bob.say(room.room_id, "bob's private thoughts")
    # Another bot speaks in notices: its commands are not answered, its words not kept.
    notice = await room.carol.send(room.room_id, {"msgtype": "m.notice", "body": "!help"})
    await room.settled()
    assert room.kept() == []
    assert room.level(room.bob) is Level.UNKNOWN
    assert await room.replies_to(notice) == []
    assert room.archive is not None
    assert leftovers(room.archive, ["bob's private thoughts"]) == []


# --- keeping ------------------------------------------------------------------------------------


async def test_keep_on_an_unknown_author_holds_then_keeps_on_their_yes(room: Room) -> None:
    await room.consent_all(room.alice)
    story = await room.carol.say(room.room_id, "the guard caught the bike thief!")
    asked = await room.alice.say(room.room_id, "!keep", reply_to=story)
    prompt = await eventually(
        lambda: _keep_prompt(room, story), "the keep prompt on carol's message"
    )
    assert len(room.held()) == 1
    assert room.kept_texts() == []

    await room.bob.react(room.room_id, prompt["event_id"], "✅")  # not bob's to answer
    await room.settled()
    assert len(room.held()) == 1 and room.kept_texts() == []

    await room.carol.react(room.room_id, prompt["event_id"], "✅")
    await eventually(lambda: room.kept_texts() == ["the guard caught the bike thief!"], "kept")
    assert room.held() == []
    assert asked  # the !keep itself is a command, never a memory


async def test_the_keep_emoji_tags_a_message(room: Room) -> None:
    await room.consent_all(room.alice)
    await room.bob.say(room.room_id, "!consent tagged")
    await room.settled()
    words = await room.bob.say(room.room_id, "the new bench by the pond")
    await room.settled()
    assert room.kept_texts() == []
    await room.alice.react(room.room_id, words, "📌")
    await eventually(lambda: room.kept_texts() == ["the new bench by the pond"], "tagged message")


# --- forget, edits, redactions ------------------------------------------------------------------


async def test_forget_one_message_then_everything(room: Room) -> None:
    await room.consent_all(room.alice)
    one = await room.alice.say(room.room_id, "first memory")
    await room.alice.say(room.room_id, "second memory")
    await room.settled()
    assert room.kept_texts() == ["first memory", "second memory"]

    asked = await room.alice.say(room.room_id, "!forget", reply_to=one)
    await room.reply_to(asked, "forget of one message")
    assert room.kept_texts() == ["second memory"]

    asked = await room.alice.say(room.room_id, "!forget")
    prompt = await room.reply_to(asked, "the forget confirmation")
    await room.bob.react(room.room_id, prompt["event_id"], "✅")
    await room.settled()
    assert room.kept_texts() == ["second memory"]
    await room.alice.react(room.room_id, prompt["event_id"], "✅")
    await eventually(lambda: room.kept_texts() == [], "everything forgotten")
    await room.settled()  # the rows go at the commit, the bytes at the checkpoint after it
    assert room.archive is not None
    assert leftovers(room.archive, ["first memory", "second memory"]) == []


async def test_an_edit_adds_a_version(room: Room) -> None:
    await room.consent_all(room.alice)
    original = await room.alice.say(room.room_id, "meeting at 7")
    await room.settled()
    await room.alice.edit(room.room_id, original, "meeting at 8")
    await eventually(lambda: room.kept_texts() == ["meeting at 8"], "the edit")
    assert room.archive is not None
    versions = rows(room.archive, MessageVersion)
    assert [v.text for v in versions] == ["meeting at 7"]
    # Someone else's m.replace is not an edit of alice's message.
    await room.bob.edit(room.room_id, original, "bob rewrote it")
    await room.settled()
    assert room.kept_texts() == ["meeting at 8"]


async def test_a_redaction_erases_the_kept_message(room: Room) -> None:
    await room.consent_all(room.alice)
    gone = await room.alice.say(room.room_id, "my phone number is 555-0199")
    await room.alice.say(room.room_id, "this one stays")
    await room.settled()
    assert len(room.kept()) == 2
    await room.alice.client.room_redact(room.room_id, gone)
    await eventually(lambda: room.kept_texts() == ["this one stays"], "the redaction")
    await room.settled()  # the rows go at the commit, the bytes at the checkpoint after it
    assert room.archive is not None
    assert leftovers(room.archive, ["555-0199"]) == []


# --- never miss a message -----------------------------------------------------------------------


async def test_messages_sent_while_stopped_are_archived_after_restart(
    room: Room, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(matrix_adapter, "TIMELINE_LIMIT", 3)  # a gap larger than one sync
    await room.stop_bot()
    await room.start()  # now with the small timeline
    await room.consent_all(room.alice)
    await room.stop_bot()
    sent = [f"while away {i}" for i in range(15)]
    for words in sent:
        await room.alice.say(room.room_id, words)
    gone = await room.alice.say(room.room_id, "sent and redacted while away")
    await room.alice.client.room_redact(room.room_id, gone)
    await room.start()
    await room.settled()
    assert room.kept_texts() == sent


async def test_a_replayed_sync_stores_nothing_twice(room: Room) -> None:
    await room.consent_all(room.alice)
    state = room.store_dir / "state.json"
    before = json.loads(state.read_text())
    for i in range(5):
        await room.alice.say(room.room_id, f"once only {i}")
    await room.settled()
    await room.stop_bot()
    # A crash after committing but before saving the token: the same events come again.
    saved = json.loads(state.read_text())
    saved["next_batch"] = before["next_batch"]
    state.write_text(json.dumps(saved))
    await room.start()
    await room.settled()
    assert room.kept_texts() == [f"once only {i}" for i in range(5)]


async def test_mydata_goes_to_a_direct_room(room: Room) -> None:
    await room.consent_all(room.alice)
    asked = await room.alice.say(room.room_id, "!mydata")
    await room.reply_to(asked, "the mydata confirmation")
    saved = json.loads((room.store_dir / "state.json").read_text())
    direct = saved["direct"].get(room.alice.id)
    assert direct
    invited = await eventually(
        lambda: _invited(room.alice.client, direct), "the invite to the direct room"
    )
    assert invited


async def test_median_send_to_committed_row(room: Room, capsys: pytest.CaptureFixture[str]) -> None:
    await room.consent_all(room.alice)
    timings = []
    for i in range(20):
        started = time.perf_counter()
        await room.alice.say(room.room_id, f"timed {i}")
        while len(room.kept()) < i + 1:  # a tight poll: this measures the bot, not the test
            assert time.perf_counter() - started < TIMEOUT, f"timed message {i}"
            await asyncio.sleep(0.002)
        timings.append(time.perf_counter() - started)
    median = statistics.median(timings) * 1000
    with capsys.disabled():
        print(f"\n[matrix] send → committed row, median of 20 on sqlite: {median:.0f} ms")


# --- encrypted rooms ----------------------------------------------------------------------------


async def _e2e_resident(synapse: Synapse, name: str, store: Path) -> Resident:
    """A resident whose client encrypts (keys in ``store``), as Element would."""
    account = await asyncio.to_thread(synapse.register, name)
    store.mkdir(parents=True, exist_ok=True)
    client = AsyncClient(
        synapse.url,
        account.user_id,
        device_id=account.device_id,
        store_path=str(store),
        config=AsyncClientConfig(
            max_limit_exceeded=0,
            max_timeouts=2,
            request_timeout=20,
            encryption_enabled=True,
            store_sync_tokens=False,
        ),
    )
    client.restore_login(account.user_id, account.device_id, account.access_token)
    return Resident(account, client)


async def _e2e_sync(client: AsyncClient) -> list[Any]:
    """One sync with its key upkeep; the (decrypted where possible) timeline events."""
    answer = await client.sync(timeout=0, since=client.next_batch or None)
    assert isinstance(answer, SyncResponse), answer
    if client.should_upload_keys:
        await client.keys_upload()
    if client.should_query_keys:
        await client.keys_query()
    if client.should_claim_keys:
        await client.keys_claim(client.get_users_for_key_claiming())
    await client.send_to_device_messages()
    return [e for info in answer.rooms.join.values() for e in info.timeline.events]


def _raw_event(synapse: Synapse, token: str, room_id: str, event_id: str) -> dict[str, Any]:
    """An event as the homeserver holds it (still encrypted)."""
    request = urllib.request.Request(
        f"{synapse.url}/_matrix/client/v3/rooms/{urllib.parse.quote(room_id)}/event/"
        f"{urllib.parse.quote(event_id)}",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        found: dict[str, Any] = json.loads(response.read())
        return found


async def encrypted_room(synapse: Synapse, tmp_path: Path, segmenter: Segmenter, name: str) -> Room:
    """An encrypted room made by alice with bob in it (both with keys under ``tmp_path``),
    and the bot's config written; the bot is not started (``Room.start``)."""
    tag = uuid.uuid4().hex[:8]
    alice = await _e2e_resident(synapse, f"alice-{tag}", tmp_path / "alice-keys")
    bob = await _e2e_resident(synapse, f"bob-{tag}", tmp_path / "bob-keys")
    bot = await asyncio.to_thread(synapse.register, f"memory-{tag}")
    await _e2e_sync(alice.client)
    await _e2e_sync(bob.client)
    created = await alice.client.room_create(
        name=name,
        invite=[bob.id],
        initial_state=[
            {
                "type": "m.room.encryption",
                "state_key": "",
                "content": {"algorithm": "m.megolm.v1.aes-sha2"},
            }
        ],
    )
    assert isinstance(created, RoomCreateResponse), created
    room_id = created.room_id
    await _e2e_sync(bob.client)
    await bob.client.join(room_id)
    db_url = f"sqlite:///{tmp_path / 'archive.db'}"
    config = tmp_path / "config.toml"
    store = tmp_path / "matrix-store"
    _write_config(config, synapse, bot, db_url, store)
    return Room(synapse, room_id, bot, alice, bob, bob, bob, config, store, db_url, segmenter)


async def test_an_encrypted_room_end_to_end(
    synapse: Synapse, tmp_path: Path, segmenter: Segmenter
) -> None:
    """The bot reads an encrypted room and answers encrypted; the archive holds the consented
    resident's plaintext only, never the other's words, never ciphertext."""
    tag = uuid.uuid4().hex[:8]
    the_room = await encrypted_room(synapse, tmp_path, segmenter, "Secret Garden")
    alice, bob, bot, room_id = the_room.alice, the_room.bob, the_room.bot, the_room.room_id
    seen: list[Any] = []

    async def bot_notices() -> list[Any]:
        seen.extend(await _e2e_sync(alice.client))
        return [e for e in seen if isinstance(e, RoomMessageNotice) and e.sender == bot.user_id]

    async def answer_to(event_id: str) -> Any:
        async def found() -> Any:
            return next(
                (
                    e
                    for e in await bot_notices()
                    if e.source["content"]
                    .get("m.relates_to", {})
                    .get("m.in_reply_to", {})
                    .get("event_id")
                    == event_id
                ),
                None,
            )

        return await eventually(found, f"the bot's answer to {event_id}")

    async def say(resident: Resident, words: str) -> str:
        await _e2e_sync(resident.client)
        answer = await resident.client.room_send(
            room_id,
            "m.room.message",
            {"msgtype": "m.text", "body": words},
            ignore_unverified_devices=True,
        )
        assert isinstance(answer, RoomSendResponse), answer
        return str(answer.event_id)

    try:
        await the_room.start()
        await alice.client.room_invite(room_id, bot.user_id)
        await eventually(bot_notices, "the bot's (encrypted) greeting")

        asked = await say(alice, "!consent all")
        reply = await answer_to(asked)
        # The reply was encrypted on the wire, and alice's client decrypted it.
        raw = await asyncio.to_thread(
            _raw_event, synapse, alice.account.access_token, room_id, reply.event_id
        )
        assert raw["type"] == "m.room.encrypted" and "ciphertext" in raw["content"]
        assert reply.decrypted
        assert the_room.level(alice) is Level.ALL

        secret = f"the spare key is under the blue pot {tag}"
        kept = await say(alice, secret)
        private = f"bob's unconsented words {tag}"
        await say(bob, private)
        helped = await say(alice, "!help")
        await answer_to(helped)
        assert the_room.kept_texts() == [secret]
        assert the_room.kept()[0].platform_message_id == kept

        ciphertext = (
            await asyncio.to_thread(_raw_event, synapse, alice.account.access_token, room_id, kept)
        )["content"]["ciphertext"]
        await the_room.stop_bot()
        assert the_room.archive is not None
        the_room.archive.close()
        the_room.archive = None
        data = (tmp_path / "archive.db").read_bytes()
        for extra in tmp_path.glob("archive.db-*"):
            data += extra.read_bytes()
        assert secret.encode() in data
        assert private.encode() not in data
        assert ciphertext[:40].encode() not in data and ciphertext[-40:].encode() not in data
        assert b"m.megolm" not in data
    finally:
        await the_room.close()


async def test_an_undecryptable_event_waits_for_its_key_and_is_never_stored(room: Room) -> None:
    """An encrypted event whose key never came: kept aside in store_dir to try again, not
    handed to the archive, and its ciphertext never in the database."""
    await room.consent_all(room.bob)
    ciphertext = "AwgAEpABcmFuZG9tIGNpcGhlcnRleHQgdGhhdCBubyBrZXkgb3BlbnM" + uuid.uuid4().hex
    event_id = await room.bob.send(
        room.room_id,
        {
            "algorithm": "m.megolm.v1.aes-sha2",
            "ciphertext": ciphertext,
            "device_id": "NOKEY",
            "sender_key": "c2VuZGVyIGtleSBvZiBubyBkZXZpY2UgYXQgYWxsIGF0IGFsbA",
            "session_id": "c2Vzc2lvbiB3aG9zZSBrZXkgbmV2ZXIgY2FtZSBhdCBhbGwgYXQ",
        },
        "m.room.encrypted",
    )
    await room.settled()
    assert room.kept() == []
    await eventually(
        lambda: event_id in json.loads((room.store_dir / "state.json").read_text())["pending"],
        "the event kept aside in store_dir",
    )
    assert room.archive is not None
    assert leftovers(room.archive, [ciphertext]) == []


# --- posting ------------------------------------------------------------------------------------


async def test_a_posted_digest_arrives_as_an_image_and_a_notice_once(room: Room) -> None:
    """``digest --post`` logs in once (no sync loop) and posts the picture as an ``m.image``
    (a PNG in the media repository) and the text as an ``m.notice``; a second ``--post``
    sends nothing."""
    await room.consent_all(room.alice)
    for words in ("the lift in block 3 works again", "volunteers party on saturday"):
        await room.alice.say(room.room_id, words)
    await room.settled()
    assert room.archive is not None
    community = community_of_chat(room.archive, room.chat)
    assert community is not None
    before = len(await room.bot_events())

    result = await _cli("digest", "--community", community, "--post", config=room.config_path)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("posted digest ")
    posted = await eventually(
        lambda: _newer(room.bot_events(), before, 2 if find_cjk_font() else 1), "the digest"
    )
    notice = posted[-1]
    assert notice["content"]["msgtype"] == "m.notice"
    assert "2 条消息" in notice["content"]["body"]  # the community's default language: zh
    if find_cjk_font() is not None:
        image = posted[0]["content"]
        assert image["msgtype"] == "m.image"
        info = image["info"]
        assert info["mimetype"] == "image/png" and info["w"] > 0 and info["h"] > 0
        download = await room.alice.client.download(image["url"])
        assert isinstance(download, MemoryDownloadResponse), download
        assert download.body.startswith(b"\x89PNG\r\n\x1a\n") and len(download.body) == info["size"]

    again = await _cli("digest", "--community", community, "--post", config=room.config_path)
    assert again.exit_code == 0, again.output
    assert "was already posted; nothing sent" in again.output
    await room.settled()
    images = [
        e["event_id"] for e in await room.bot_events() if e["content"]["msgtype"] == "m.image"
    ]
    assert images == [e["event_id"] for e in posted if e["content"]["msgtype"] == "m.image"]


async def _newer(
    events: Awaitable[list[dict[str, Any]]], before: int, count: int
) -> list[dict[str, Any]] | None:
    found = (await events)[before:]
    return found if len(found) >= count else None


async def _cli(*args: str, config: Path) -> Result:
    """The CLI in a thread of its own (it runs its own event loop)."""
    return await asyncio.to_thread(
        CliRunner().invoke, app, ["--config", str(config), *args], catch_exceptions=False
    )


# --- the real process ---------------------------------------------------------------------------


async def test_community_memory_run_against_synapse(synapse: Synapse, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    alice = await _resident(synapse, f"alice-{tag}")
    bot = await asyncio.to_thread(synapse.register, f"memory-{tag}")
    try:
        created = await alice.client.room_create(name="Run test", invite=[bot.user_id])
        assert isinstance(created, RoomCreateResponse), created
        db_url = f"sqlite:///{tmp_path / 'archive.db'}"
        config = tmp_path / "config.toml"
        _write_config(
            config,
            synapse,
            bot,
            db_url,
            tmp_path / "store",
            extra=f"""
[[communities]]
id = "run-test"
name = "Run test"
language = "en"
timezone = "UTC"
spaces = [{{ platform = "matrix", room = "{created.room_id}" }}]
""",
        )
        log = tmp_path / "bot.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-c", RUN_BOT, "--config", str(config), "run"],
                cwd=tmp_path,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        try:

            async def joined() -> bool:
                assert process.poll() is None, log.read_text()
                members = await alice.client.joined_members(created.room_id)
                return bot.user_id in [m.user_id for m in getattr(members, "members", [])]

            await eventually(joined, "the bot joining", timeout=60)
            asked = await alice.say(created.room_id, "!consent all")

            async def answered() -> bool:
                assert process.poll() is None, log.read_text()
                answer = await alice.client.room_messages(created.room_id, start=None, limit=50)
                return any(
                    e.source.get("sender") == bot.user_id
                    and e.source["content"].get("m.relates_to", {}).get("m.in_reply_to", {})
                    == {"event_id": asked}
                    for e in answer.chunk
                )

            await eventually(answered, "the answer to !consent all", timeout=30)
            await alice.say(created.room_id, "kept by the real process")
            database = Database(db_url)
            try:

                def kept() -> list[str]:
                    with database.read() as session:
                        from sqlmodel import select

                        return [m.text for m in session.exec(select(Message))]

                await eventually(lambda: kept() == ["kept by the real process"], "the row")
            finally:
                database.close()
            process.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(process.wait, 15) == 0, log.read_text()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    finally:
        await alice.client.close()


# --- helpers ------------------------------------------------------------------------------------


async def _has(found: Awaitable[set[str]], wanted: set[str]) -> bool:
    return wanted <= await found


async def _keep_prompt(room: Room, story: str) -> dict[str, Any] | None:
    """The keep prompt on ``story``: the bot's second reply to it (the first was the consent
    prompt its author got for speaking first)."""
    replies = await room.replies_to(story)
    return replies[1] if len(replies) >= 2 else None


def alice_mentioned(event: dict[str, Any], user_id: str) -> bool:
    return user_id in event["content"].get("m.mentions", {}).get("user_ids", [])


async def _invited(client: AsyncClient, room_id: str) -> bool:
    answer = await client.sync(timeout=0)
    return room_id in getattr(getattr(answer, "rooms", None), "invite", {}) or room_id in getattr(
        getattr(answer, "rooms", None), "join", {}
    )


# --- what the bot writes (no server needed) -----------------------------------------------------


def test_a_notice_is_escaped_mentions_its_person_and_names_commands_with_bang() -> None:
    alice = AccountRef("matrix", "@alice:test.local")
    reply = Reply(
        ChatRef("matrix", "!room:test.local"),
        "Hello <Alice & co>! Send /consent to choose.",
        reply_to="$asked",
        buttons=(Button("Keep everything", "p:1:all", "✅"),),
        mention=alice,
        mention_name="<Alice & co>",
    )
    content = notice_content(reply)
    assert content["msgtype"] == "m.notice"
    assert content["body"].startswith("Hello <Alice & co>! Send !consent to choose.")
    assert "✅ Keep everything" in content["body"]
    assert "<Alice" not in content["formatted_body"]
    assert (
        '<a href="https://matrix.to/#/@alice:test.local">&lt;Alice &amp; co&gt;</a>'
        in (content["formatted_body"])
    )
    assert content["m.mentions"] == {"user_ids": ["@alice:test.local"]}
    assert content["m.relates_to"] == {"m.in_reply_to": {"event_id": "$asked"}}


def test_a_reply_fallback_is_not_part_of_the_text() -> None:
    event = {
        "type": "m.room.message",
        "content": {
            "msgtype": "m.text",
            "body": "> <@bob:test.local> the lift is fixed\n> again\n\n!keep lifts",
            "m.relates_to": {"m.in_reply_to": {"event_id": "$lift"}},
        },
    }
    assert text_of(event) == ("!keep lifts", None)


# --- doctor -------------------------------------------------------------------------------------


async def test_doctor_checks_login_and_rooms(room: Room, tmp_path: Path) -> None:
    from bot.cli.doctor import run_doctor

    rooms = f"""
[[communities]]
id = "doctor-test"
name = "Doctor test"
spaces = [
  {{ platform = "matrix", room = "{room.room_id}" }},
  {{ platform = "matrix", room = "!elsewhere:test.local" }},
]
"""
    good = tmp_path / "doctor.toml"
    _write_config(good, room.synapse, room.bot, room.db_url, tmp_path / "s", extra=rooms)
    found = {c.what: c.ok for c in await run_doctor(load_config(good))}
    assert found[f"matrix: logged in as {room.bot.user_id}"]
    assert found[f"matrix room {room.room_id} (doctor-test): the bot is in it"]
    assert not found["matrix room !elsewhere:test.local (doctor-test): the bot has not joined it"]

    bad = tmp_path / "bad.toml"
    wrong = Account(room.bot.user_id, "", "not-a-token", room.bot.device_id)
    _write_config(bad, room.synapse, wrong, room.db_url, tmp_path / "s")
    checks = [c for c in await run_doctor(load_config(bad)) if c.what.startswith("matrix")]
    assert len(checks) == 1 and not checks[0].ok
    assert "refused the access token" in checks[0].what


async def test_a_refused_token_stops_the_bot_with_a_config_error(
    room: Room, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.toml"
    wrong = Account(room.bot.user_id, "", "not-a-token", room.bot.device_id)
    _write_config(bad, room.synapse, wrong, room.db_url, tmp_path / "s")
    with pytest.raises(ConfigError, match=r"matrix\.access_token"):
        await asyncio.wait_for(run_bots(load_config(bad)), 30)
