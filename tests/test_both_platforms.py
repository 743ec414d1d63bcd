"""Telegram and Matrix in one process, one community across both, one archive.

The real runner (``run_bots``, what ``community-memory run`` runs) drives both adapters at once:
python-telegram-bot polling the Bot API emulator, and matrix-nio syncing with a real Synapse.
The configured community "riverside" spans a Telegram group and a Matrix room; "hilltop" has
only a Telegram group; a Matrix room no community lists gets a community of its own. Residents
on each platform consent and talk; what they said lands in the one archive, and a search typed
on one platform finds what was said on the other — within the community, never across
communities — while the words of people who did not say yes are kept nowhere.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from nio import RoomCreateResponse, RoomPreset
from sqlalchemy import update

from archiver.archive import Archive
from archiver.community import community_of_chat, load_community
from archiver.consent import Level, consent_of
from archiver.events import AccountRef, ChatRef
from archiver.mydata import what_we_hold
from archiver.policy import current_policy
from archiver.segmentation import Segmenter
from bot.app.config import load_config
from bot.app.runner import run_bots
from bot.chat.texts import text
from bot.platforms.matrix.events import for_matrix
from sandbox.emulator import BotApiEmulator, Chat, User
from storage.db import Database
from storage.models import Account as AccountRow
from storage.models import Ballot, Message, Person, Space, Vote
from tests.conftest import leftovers, rows
from tests.matrix_server import Account, Synapse
from tests.test_matrix import Resident, _resident, eventually
from tests.test_telegram import buttons

# ``synapse`` is the session's homeserver, the fixture of conftest.py (one for the whole run).

AZALEA = "The azalea bed by gate 2 was replanted"  # Telegram, riverside
PERGOLA = "Volunteers repainted the pergola on Saturday"  # Matrix, riverside
MARIGOLD = "Hilltop marigold festival is on Sunday"  # Telegram, hilltop
WALNUT = "my walnut stash is behind the shed"  # Telegram, riverside, never said yes
CHESTNUT = "chestnut secret from dan"  # Matrix, riverside, never said yes


@dataclass
class Scene:
    """Both platforms, their residents, the bot running once for both, and its archive."""

    emu: BotApiEmulator
    synapse: Synapse
    bot: Account
    riverside_group: Chat  # Telegram, in "riverside"
    hilltop_group: Chat  # Telegram, in "hilltop"
    alice: User  # owns the riverside group
    bob: User  # in the riverside group, never says yes
    erin: User  # owns the hilltop group
    carol: Resident  # made the riverside room
    dan: Resident  # in the riverside room, never says yes
    fay: Resident  # made a room no community lists
    riverside_room: str
    other_room: str
    archive: Archive
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def telegram(self, chat: Chat, user: User, words: str) -> list[str]:
        """``user`` says ``words`` in a Telegram group; what the bot said there in return."""
        mark = len(self.emu.bot_messages(chat))
        self.emu.user_sends(chat, user, words)
        await self.emu.wait_until_confirmed(timeout=15)
        return [m.body for m in self.emu.bot_messages(chat)[mark:]]

    async def matrix(self, resident: Resident, room_id: str, words: str) -> str:
        """``resident`` says ``words`` in a Matrix room; the bot's reply to it."""
        asked = await resident.say(room_id, words)

        async def reply() -> str | None:
            for event in await self._bot_events(resident, room_id):
                relates = event["content"].get("m.relates_to", {})
                if relates.get("m.in_reply_to", {}).get("event_id") == asked:
                    return str(event["content"].get("body", ""))
            return None

        found: str = await eventually(reply, f"the bot's answer to {words!r}")
        return found

    async def _bot_events(self, resident: Resident, room_id: str) -> list[dict[str, Any]]:
        answer = await resident.client.room_messages(room_id, start=None, limit=200)
        return [
            e.source
            for e in reversed(getattr(answer, "chunk", []))
            if e.source.get("sender") == self.bot.user_id
            and e.source.get("type") == "m.room.message"
        ]

    async def greeted(self, resident: Resident, room_id: str) -> None:
        await eventually(lambda: self._bot_events(resident, room_id), f"the greeting in {room_id}")

    def kept(self) -> dict[str, tuple[str, str]]:
        """Kept text → (community, platform of the chat it was said in)."""
        spaces = {space.id: space for space in rows(self.archive, Space)}
        return {
            m.text: (m.community_id, spaces[m.space_id].platform)
            for m in rows(self.archive, Message)
        }


def _config(
    path: Path,
    db_url: str,
    emu: BotApiEmulator,
    synapse: Synapse,
    bot: Account,
    riverside: tuple[Chat, str],
    hilltop: Chat,
) -> None:
    group, room = riverside
    path.write_text(
        f"""
[storage]
url = "{db_url}"

[telegram]
token = "{emu.token}"
base_url = "{emu.base_url}"

[matrix]
homeserver = "{synapse.url}"
user_id = "{bot.user_id}"
access_token = "{bot.access_token}"
device_id = "{bot.device_id}"
store_dir = "{path.parent / "matrix-store"}"

[[communities]]
id = "riverside"
name = "Riverside"
language = "en"
timezone = "Asia/Shanghai"
vote_min_voters = 1
spaces = [
  {{ platform = "telegram", chat = "{group.id}" }},
  {{ platform = "matrix", room = "{room}" }},
]

[[communities]]
id = "hilltop"
name = "Hilltop"
language = "en"
timezone = "Asia/Shanghai"
spaces = [{{ platform = "telegram", chat = "{hilltop.id}" }}]
""",
        encoding="utf-8",
    )


@pytest.fixture
async def scene(
    synapse: Synapse, tmp_path: Path, segmenter: Segmenter, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Scene]:
    """Both bots running in one ``run_bots``, added to both groups and invited to both rooms,
    every chat greeted; votes checked often."""
    monkeypatch.setattr("bot.app.runner.VOTE_CHECK_SECONDS", 0.2)
    tag = uuid.uuid4().hex[:8]
    carol, dan, fay = [await _resident(synapse, f"{n}-{tag}") for n in ("carol", "dan", "fay")]
    bot = await asyncio.to_thread(synapse.register, f"memory-{tag}")
    try:
        riverside_room = await carol.client.room_create(name="Riverside", invite=[dan.id])
        other_room = await fay.client.room_create(name="Elsewhere")
        assert isinstance(riverside_room, RoomCreateResponse), riverside_room
        assert isinstance(other_room, RoomCreateResponse), other_room
        await dan.client.join(riverside_room.room_id)
        async with BotApiEmulator(bot_username="memory_bot", privacy_mode=False) as emu:
            alice, bob = emu.add_user("Alice", language_code="en"), emu.add_user("Bob")
            erin = emu.add_user("Erin", language_code="en")
            riverside_group = emu.create_group("Riverside", members=[alice, bob])
            hilltop_group = emu.create_group("Hilltop", members=[erin])
            db_url = f"sqlite:///{tmp_path / 'archive.db'}"
            config = tmp_path / "config.toml"
            _config(
                config,
                db_url,
                emu,
                synapse,
                bot,
                (riverside_group, riverside_room.room_id),
                hilltop_group,
            )
            stop = asyncio.Event()
            task = asyncio.create_task(run_bots(load_config(config), stop=stop))
            archive = Archive(db=Database(db_url), segmenter=segmenter)
            the_scene = Scene(
                emu,
                synapse,
                bot,
                riverside_group,
                hilltop_group,
                alice,
                bob,
                erin,
                carol,
                dan,
                fay,
                riverside_room.room_id,
                other_room.room_id,
                archive,
                stop,
            )
            try:

                def started() -> bool:
                    if task.done():
                        task.result()
                        raise AssertionError("the runner stopped at start-up")
                    store = tmp_path / "matrix-store" / "state.json"
                    return emu.long_poll_waiting and store.exists()

                await eventually(started, "both adapters connected")
                emu.add_bot_to_group(riverside_group, by=alice, admin=True)
                emu.add_bot_to_group(hilltop_group, by=erin, admin=True)
                await carol.client.room_invite(riverside_room.room_id, bot.user_id)
                await fay.client.room_invite(other_room.room_id, bot.user_id)
                await the_scene.greeted(carol, riverside_room.room_id)
                await the_scene.greeted(fay, other_room.room_id)
                await emu.wait_until_confirmed(timeout=15)
                assert len(emu.bot_messages(riverside_group)) == 1
                assert len(emu.bot_messages(hilltop_group)) == 1
                yield the_scene
            finally:
                stop.set()
                await asyncio.wait_for(task, 20)
                archive.close()
    finally:
        for resident in (carol, dan, fay):
            await resident.client.close()


def t(key: str, **values: object) -> str:
    return text("en", key, **values)


async def test_one_community_across_both_platforms_shares_one_archive(scene: Scene) -> None:
    riverside, hilltop = scene.riverside_group, scene.hilltop_group
    # Both chats of riverside belong to the one configured community.
    assert community_of_chat(scene.archive, ChatRef("telegram", str(riverside.id))) == "riverside"
    assert community_of_chat(scene.archive, ChatRef("matrix", scene.riverside_room)) == "riverside"
    other = community_of_chat(scene.archive, ChatRef("matrix", scene.other_room))
    assert other not in (None, "riverside", "hilltop")

    # A resident on each platform says yes, and speaks.
    await scene.telegram(riverside, scene.alice, "/consent all")
    answer = await scene.matrix(scene.carol, scene.riverside_room, "!consent all")
    assert answer == for_matrix(t("consent_set_all", community="Riverside"))
    await scene.telegram(hilltop, scene.erin, "/consent all")
    for who in (AccountRef("telegram", str(scene.alice.id)), scene.carol.ref):
        assert consent_of(scene.archive, "riverside", who).level is Level.ALL

    await scene.telegram(riverside, scene.alice, AZALEA)
    await scene.carol.say(scene.riverside_room, PERGOLA)
    await scene.telegram(hilltop, scene.erin, MARIGOLD)
    # Those who never said yes, on either platform: asked, never kept.
    prompts = await scene.telegram(riverside, scene.bob, WALNUT)
    assert len(prompts) == 1 and "walnut" not in prompts[0]
    await scene.dan.say(scene.riverside_room, CHESTNUT)
    await eventually(lambda: PERGOLA in scene.kept(), "the Matrix message kept")
    # The bot handles a room's events in order: once this is answered, dan's was handled.
    await scene.matrix(scene.carol, scene.riverside_room, "!help")

    assert scene.kept() == {
        AZALEA: ("riverside", "telegram"),
        PERGOLA: ("riverside", "matrix"),
        MARIGOLD: ("hilltop", "telegram"),
    }
    assert leftovers(scene.archive, [WALNUT, CHESTNUT]) == []
    # One person per resident, each in the community they spoke in, whatever the platform.
    accounts = {(a.community_id, a.platform, a.user_id) for a in rows(scene.archive, AccountRow)}
    assert {(c, p, u) for c, p, u in accounts if c != other} == {
        ("riverside", "telegram", str(scene.alice.id)),
        ("riverside", "telegram", str(scene.bob.id)),
        ("riverside", "matrix", scene.carol.id),
        ("riverside", "matrix", scene.dan.id),
        ("hilltop", "telegram", str(scene.erin.id)),
    }

    # A search typed in the Matrix room finds what was said on Telegram, and vice versa.
    found = await scene.matrix(scene.carol, scene.riverside_room, "!search azalea")
    assert found.startswith(t("search_title", query="azalea")) and AZALEA in found
    found_tg = await scene.telegram(riverside, scene.alice, "/search pergola")
    assert len(found_tg) == 1 and PERGOLA in found_tg[0]
    assert found_tg[0].startswith(t("search_title", query="pergola"))

    # Nothing of the people who did not say yes, from either platform.
    for words in ("walnut", "chestnut"):
        none_mx = await scene.matrix(scene.carol, scene.riverside_room, f"!search {words}")
        assert none_mx == for_matrix(t("no_results", query=words))
        none_tg = await scene.telegram(riverside, scene.alice, f"/search {words}")
        assert none_tg == [t("no_results", query=words)]


async def test_a_community_not_spanning_both_sees_nothing_of_the_other(scene: Scene) -> None:
    await scene.telegram(scene.riverside_group, scene.alice, "/consent all")
    await scene.matrix(scene.carol, scene.riverside_room, "!consent all")
    await scene.telegram(scene.hilltop_group, scene.erin, "/consent all")
    await scene.telegram(scene.riverside_group, scene.alice, AZALEA)
    await scene.carol.say(scene.riverside_room, PERGOLA)
    await scene.telegram(scene.hilltop_group, scene.erin, MARIGOLD)
    await eventually(lambda: len(scene.kept()) == 3, "three kept messages")

    # hilltop (Telegram only) sees its own, and nothing of riverside's on either platform.
    own = await scene.telegram(scene.hilltop_group, scene.erin, "/search marigold")
    assert len(own) == 1 and MARIGOLD in own[0]
    for words in ("azalea", "pergola"):
        said = await scene.telegram(scene.hilltop_group, scene.erin, f"/search {words}")
        assert said == [t("no_results", query=words)]
    # riverside sees nothing of hilltop's, on either of its platforms.
    said_mx = await scene.matrix(scene.carol, scene.riverside_room, "!search marigold")
    assert said_mx == for_matrix(t("no_results", query="marigold"))
    said_tg = await scene.telegram(scene.riverside_group, scene.alice, "/search marigold")
    assert said_tg == [t("no_results", query="marigold")]
    # A Matrix room no community lists has a community of its own (defaults: Chinese), and
    # sees nothing of riverside's Matrix room or Telegram group.
    for words in ("pergola", "azalea"):
        said = await scene.matrix(scene.fay, scene.other_room, f"!search {words}")
        assert said == for_matrix(text("zh", "no_results", query=words))


async def test_one_resident_on_both_platforms_links_votes_once_and_is_forgotten_once(
    scene: Scene,
) -> None:
    """Alice on Telegram and carol on Matrix are one resident: ``/link`` in the private chat
    with the bot on Telegram gives a code, ``!link CODE`` in a direct room on Matrix links
    them. Then a vote proposed in the Telegram group is polled in the Matrix room too, and
    her answers on the two platforms are one ballot; ``/forget`` on Telegram erases what
    she said on both."""
    group, room_id = scene.riverside_group, scene.riverside_room
    await scene.telegram(group, scene.alice, "/consent all")
    await scene.matrix(scene.carol, room_id, "!consent tagged")
    await scene.telegram(group, scene.alice, AZALEA)
    tagged = await scene.carol.say(room_id, PERGOLA)
    await scene.carol.react(room_id, tagged, "📌")
    await eventually(lambda: PERGOLA in scene.kept(), "the tagged Matrix message kept")
    await scene.telegram(group, scene.bob, WALNUT)  # never said yes: not kept, not linked

    # The code, in the private chat on Telegram.
    scene.emu.user_starts_bot(scene.alice)
    await scene.emu.wait_until_confirmed(timeout=15)
    private = scene.emu.private_chat(scene.alice)
    said = await scene.telegram(private, scene.alice, "/link")
    assert len(said) == 1 and said[0].startswith("Your code: ")
    code = said[0].rsplit("/link ", 1)[1]
    # … typed in a direct room with the bot on Matrix.
    direct = await scene.carol.client.room_create(
        is_direct=True, invite=[scene.bot.user_id], preset=RoomPreset.trusted_private_chat
    )
    assert isinstance(direct, RoomCreateResponse), direct

    async def bot_joined() -> bool:
        members = await scene.carol.client.joined_members(direct.room_id)
        return scene.bot.user_id in {m.user_id for m in getattr(members, "members", [])}

    await eventually(bot_joined, "the bot in the direct room")
    alice = AccountRef("telegram", str(scene.alice.id))

    async def in_direct_room(words: str) -> str:
        """carol says ``words`` to the bot privately; its answer there (not a reply)."""
        before = len(await scene._bot_events(scene.carol, direct.room_id))
        await scene.carol.say(direct.room_id, words)

        async def answered() -> list[dict[str, Any]]:
            return (await scene._bot_events(scene.carol, direct.room_id))[before:]

        [found] = await eventually(answered, f"the bot's answer to {words!r}")
        return str(found["content"]["body"])

    linked = await in_direct_room(f"!link {code}")
    assert linked == for_matrix(t("link_done", first=alice.key, second=scene.carol.ref.key))
    again = await in_direct_room(f"!link {code}")
    assert again == for_matrix(t("link_unknown_code")), "a code works once"

    # One person: one choice (the latest either made: alice's `all` came first, then
    # carol's `tagged`), one mydata with both accounts and both messages.
    riverside_people = [p for p in rows(scene.archive, Person) if p.community_id == "riverside"]
    assert len(riverside_people) == 2, "alice-and-carol, and bob"
    for who in (alice, scene.carol.ref):
        assert consent_of(scene.archive, "riverside", who).level is Level.TAGGED
    held = what_we_hold(scene.archive, "riverside", alice)
    assert held.messages == 2 and set(held.accounts) == {alice.key, scene.carol.ref.key}

    # A vote proposed on Telegram is polled in the Matrix room of the community as well.
    said = await scene.telegram(group, scene.alice, "/propose digest off")
    assert said[0].startswith("🗳 ")
    [tg_poll] = [m for m in scene.emu.bot_messages(group) if m.poll is not None]
    start_kind = "org.matrix.msc3381.poll.start"

    async def matrix_polls() -> list[dict[str, Any]]:
        answer = await scene.carol.client.room_messages(room_id, start=None, limit=200)
        return [
            e.source for e in answer.chunk
            if e.source.get("sender") == scene.bot.user_id and e.source.get("type") == start_kind
        ]  # fmt: skip

    [mx_poll] = await eventually(matrix_polls, "the vote's poll in the Matrix room")
    assert mx_poll["content"][start_kind]["question"]["org.matrix.msc1767.text"] == (
        tg_poll.poll.question
    )
    scene.emu.user_answers_poll(scene.alice, tg_poll, 0)  # yes, on Telegram …
    await scene.emu.wait_until_confirmed(timeout=15)
    await scene.carol.send(
        room_id,
        {
            "m.relates_to": {"rel_type": "m.reference", "event_id": mx_poll["event_id"]},
            "org.matrix.msc3381.poll.response": {"answers": ["1"]},
        },
        "org.matrix.msc3381.poll.response",
    )  # fmt: skip  … then no, on Matrix: one person
    await scene.matrix(scene.carol, room_id, "!help")  # the answer before it was handled
    [ballot] = rows(scene.archive, Ballot)
    assert ballot.answer == "no", "one ballot, her latest answer"

    with scene.archive.db.write() as session:
        session.execute(update(Vote).values(closes_at=datetime.now(UTC) - timedelta(seconds=1)))
    rejected = t("vote_rejected", what=t("what_digest_off"), yes=0, no=1)
    await eventually(lambda: tg_poll.poll.is_closed, "the Telegram poll stopped")
    await eventually(lambda: rejected in [m.body for m in scene.emu.bot_messages(group)],
                     "the result on Telegram")  # fmt: skip

    async def result_on_matrix() -> bool:
        return for_matrix(rejected) in [
            e["content"].get("body") for e in await scene._bot_events(scene.carol, room_id)
        ]

    await eventually(result_on_matrix, "the result on Matrix")
    settings = load_community(scene.archive, "riverside")
    assert current_policy(scene.archive, settings)["digest"].source == "config"

    # /forget from Telegram: what she said on Matrix goes too.
    mark = len(scene.emu.bot_messages(private))
    scene.emu.user_sends(private, scene.alice, "/forget")
    await scene.emu.wait_until_confirmed(timeout=15)
    [confirm] = scene.emu.bot_messages(private)[mark:]
    [yes] = [b["callback_data"] for b in buttons(confirm) if b["callback_data"].endswith("yes")]
    query = scene.emu.user_presses(scene.alice, confirm, yes)
    # The press is answered once the erasure has finished, its WAL checkpoint included.
    answered = await eventually(lambda: scene.emu.callback_answer(query), "the press answered")
    assert answered["text"] == t(
        "forget_done", messages=2, held=0, tags=0, level=t("level_tagged")
    ), answered
    assert scene.kept() == {}
    assert leftovers(scene.archive, [AZALEA, PERGOLA, WALNUT]) == []
