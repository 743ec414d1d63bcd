"""The Matrix bot under pressure, on a real Synapse: rate limited by the homeserver, and
killed (SIGKILL) while it is ingesting.

Rate limits: the test homeserver's ``rc_message`` is wide open (tests/matrix_server.py); one
bot account is slowed with Synapse's own per-user override (the admin API's
``override_ratelimit``, what an operator would use), so the homeserver really answers
``M_LIMIT_EXCEEDED`` with ``retry_after_ms`` — nio is not mocked.

SIGKILL: the real ``community-memory run`` runs as a subprocess; residents who consented send
many messages while it is killed twice — once in the middle of the stream, once while it is
catching up after the restart — and started again. Every consented message ends up archived
exactly once; the unconsented resident's never. After each kill, the sync token the process
had saved is checked against the archive: every consented message before it was committed
(the token is saved only after the rows).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import logging
import os
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nio import MessageDirection, RoomCreateResponse, RoomMessagesResponse
from sqlmodel import select

from archiver.archive import Archive
from archiver.consent import Level, consent_of
from archiver.segmentation import Segmenter
from storage.db import Database
from storage.models import Message
from tests.matrix_server import SECRET, Synapse
from tests.test_matrix import (
    RUN_BOT,
    Resident,
    Room,
    _resident,
    _write_config,
    eventually,
    room,  # noqa: F401  (a fixture)
)

# --- 429: M_LIMIT_EXCEEDED -----------------------------------------------------------------------


def register_admin(synapse: Synapse, localpart: str) -> str:
    """A server admin registered through the shared-secret API; its access token."""
    path = "/_synapse/admin/v1/register"
    nonce = _request(synapse, "GET", path)["nonce"]
    password = "admin-password"
    mac = hmac.new(SECRET.encode(), digestmod=hashlib.sha1)
    mac.update(f"{nonce}\0{localpart}\0{password}\0admin".encode())
    body = {
        "nonce": nonce,
        "username": localpart,
        "password": password,
        "admin": True,
        "mac": mac.hexdigest(),
    }
    token: str = _request(synapse, "POST", path, body)["access_token"]
    return token


def limit_messages(synapse: Synapse, admin_token: str, user_id: str, per_second: int) -> None:
    """Synapse's per-user override of ``rc_message``: ``per_second`` events, burst of one."""
    path = f"/_synapse/admin/v1/users/{urllib.parse.quote(user_id)}/override_ratelimit"
    body = {"messages_per_second": per_second, "burst_count": 1}
    answer = _request(synapse, "POST", path, body, token=admin_token)
    assert answer == body, answer


def _request(synapse: Synapse, method: str, path: str, body: Any = None, *, token: str = "") -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        synapse.url + path,
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers=headers,
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        return json.loads(response.read())


async def test_a_rate_limited_bot_waits_and_delivers_every_reply_once(
    room: Room,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The homeserver lets the bot send one event a second: a burst of commands is answered
    in full, each command once, the replies a second apart (the bot waited as told); the
    messages in between are all kept."""
    caplog.set_level(logging.INFO, logger="bot.platforms.matrix.adapter")
    await room.consent_all(room.alice)
    admin = await asyncio.to_thread(register_admin, room.synapse, f"admin-{uuid.uuid4().hex[:8]}")
    await asyncio.to_thread(limit_messages, room.synapse, admin, room.bot.user_id, 1)
    before = len(await room.bot_events())

    asked = []
    kept = [f"said while the bot is slowed {i}" for i in range(4)]
    for i, words in enumerate(kept):
        asker = room.bob if i % 2 else room.carol
        asked.append(await asker.say(room.room_id, "!help"))
        await room.alice.say(room.room_id, words)
    replies = [
        await room.reply_to(event_id, f"the answer to !help {i}")
        for i, event_id in enumerate(asked)
    ]
    await room.settled()  # one more command, answered: nothing is still on its way

    assert _logged(caplog, "rate limited in")
    for event_id in asked:
        assert len(await room.replies_to(event_id)) == 1
    assert len(await room.bot_events()) == before + len(asked) + 1  # + the settling answer
    stamps = [reply["origin_server_ts"] for reply in replies]
    assert stamps == sorted(stamps)
    gaps = [later - earlier for earlier, later in itertools.pairwise(stamps)]
    assert min(gaps) >= 800, gaps  # one event a second: the homeserver's pace, not ours
    assert room.kept_texts() == kept


async def test_a_bot_that_is_not_rate_limited_answers_at_once(
    room: Room,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The twin: with no limit the same burst goes out without waiting."""
    caplog.set_level(logging.INFO, logger="bot.platforms.matrix.adapter")
    asked = [await room.bob.say(room.room_id, "!help") for _ in range(4)]
    replies = [await room.reply_to(event_id, "an answer to !help") for event_id in asked]
    stamps = [reply["origin_server_ts"] for reply in replies]
    assert stamps[-1] - stamps[0] < 2400  # a limit of one a second would take three
    assert not _logged(caplog, "rate limited in")
    for event_id in asked:
        assert len(await room.replies_to(event_id)) == 1


def _logged(caplog: pytest.LogCaptureFixture, words: str) -> bool:
    return any(words in record.getMessage() for record in caplog.records)


# --- SIGKILL mid-stream --------------------------------------------------------------------------

COMMUNITY = "crash-test"
PER_RESIDENT = 120


class Bot:
    """``community-memory run`` as a real process, started and killed at will."""

    def __init__(self, config: Path, directory: Path) -> None:
        self.config = config
        self.directory = directory
        self.log = directory / "bot.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-c", RUN_BOT, "--config", str(self.config), "run"],
                cwd=self.directory,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    def alive(self) -> bool:
        assert self.process is not None
        assert self.process.poll() is None, self.log.read_text()[-3000:]
        return True

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        assert self.process.wait(15) == -signal.SIGKILL

    def stop(self) -> int:
        """SIGTERM, as systemd would: the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(15)

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def archive_at(tmp_path: Path, segmenter: Segmenter) -> Iterator[Archive]:
    """A handle on the archive the bot process writes (made by the process)."""
    handle = Archive(db=Database(f"sqlite:///{tmp_path / 'archive.db'}"), segmenter=segmenter)
    try:
        yield handle
    finally:
        handle.close()


async def test_sigkill_while_ingesting_loses_nothing_and_stores_nothing_twice(
    synapse: Synapse, tmp_path: Path, archive_at: Archive
) -> None:
    tag = uuid.uuid4().hex[:8]
    alice, bob, carol = [await _resident(synapse, f"{n}-{tag}") for n in ("alice", "bob", "carol")]
    bot_account = await asyncio.to_thread(synapse.register, f"memory-{tag}")
    created = await alice.client.room_create(
        name="Crash test", invite=[bob.id, carol.id, bot_account.user_id]
    )
    assert isinstance(created, RoomCreateResponse), created
    room_id = created.room_id
    for resident in (bob, carol):
        await resident.client.join(room_id)
    config = tmp_path / "config.toml"
    store = tmp_path / "matrix-store"
    _write_config(
        config,
        synapse,
        bot_account,
        f"sqlite:///{tmp_path / 'archive.db'}",
        store,
        extra=f"""
[[communities]]
id = "{COMMUNITY}"
name = "Crash test"
language = "en"
timezone = "UTC"
digest = ""
on_this_day = ""
spaces = [{{ platform = "matrix", room = "{room_id}" }}]
""",
    )
    bot = Bot(config, tmp_path)
    sent: dict[str, str] = {}  # event id → text, of the residents who consented
    unkept: list[str] = []

    def kept() -> dict[str, str]:
        with archive_at.db.read() as session:
            return {m.platform_message_id: m.text for m in session.exec(select(Message))}

    def consented(resident: Resident) -> bool:
        return consent_of(archive_at, COMMUNITY, resident.ref).level is Level.ALL

    async def chatter(resident: Resident, keep: bool, count: int) -> None:
        for i in range(count):
            words = f"{resident.id} says {i}"
            event_id = await resident.say(room_id, words)
            if keep:
                sent[event_id] = words
            else:
                unkept.append(words)

    try:
        bot.start()

        async def joined() -> bool:
            bot.alive()
            members = await alice.client.joined_members(room_id)
            return bot_account.user_id in [m.user_id for m in getattr(members, "members", [])]

        await eventually(joined, "the bot joining", timeout=60)
        for resident in (alice, bob):
            await resident.say(room_id, "!consent all")
        await eventually(lambda: bot.alive() and consented(alice) and consented(bob), "consent")

        sending = asyncio.ensure_future(
            asyncio.gather(
                chatter(alice, True, PER_RESIDENT),
                chatter(bob, True, PER_RESIDENT),
                chatter(carol, False, PER_RESIDENT // 4),
            )
        )
        # 1. Killed in the middle of the stream.
        await eventually(lambda: bot.alive() and len(kept()) >= 30, "the first rows")
        assert not sending.done(), "the stream ended before the kill: send more"
        bot.kill()
        first = kept()
        await _assert_token_after_commit(alice, room_id, store, sent, first)

        # 2. Started again, and killed again while it catches up on what it missed.
        bot.start()
        await eventually(lambda: bot.alive() and len(kept()) > len(first), "catching up", 60)
        bot.kill()
        second = kept()
        await _assert_token_after_commit(alice, room_id, store, sent, second)

        # 3. Started again: everything, once.
        await sending
        bot.start()
        await eventually(
            lambda: bot.alive() and len(kept()) >= len(sent), "every message archived", 60
        )
        await asyncio.sleep(1)  # anything stored twice would show now
        archived = kept()
        assert archived == sent  # every consented message, by its event id, with its text
        with archive_at.db.read() as session:
            assert len(session.exec(select(Message)).all()) == len(sent) == 2 * PER_RESIDENT
        assert not set(unkept) & set(archived.values())
        assert await asyncio.to_thread(bot.stop) == 0, bot.log.read_text()[-3000:]
    finally:
        bot.close()
        for resident in (alice, bob, carol):
            await resident.client.close()


async def _assert_token_after_commit(
    reader: Resident, room_id: str, store: Path, sent: dict[str, str], archived: dict[str, str]
) -> None:
    """Every consented message before the sync token the killed process had saved is in the
    archive: the token never runs ahead of the commits."""
    token = json.loads((store / "state.json").read_text())["next_batch"]
    assert token
    before: list[str] = []
    start = token
    while True:
        page = await reader.client.room_messages(
            room_id, start=start, direction=MessageDirection.back, limit=100
        )
        assert isinstance(page, RoomMessagesResponse), page
        before += [event.event_id for event in page.chunk if event.event_id in sent]
        if not page.chunk or not page.end:
            break
        start = page.end
    missing = [sent[event_id] for event_id in before if event_id not in archived]
    assert missing == [], f"the saved token is ahead of the archive: {missing[:5]}"
