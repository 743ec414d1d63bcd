"""Stewards: a chat's admins (and, on Matrix, whoever invited the bot) become its community's
first stewards when the bot joins; a steward is a person row with an account id and nothing
more; ``mydata`` tells a steward so; ``export jsonl`` carries stewards and ``import jsonl``
restores them.

End to end through the real bot: Telegram with python-telegram-bot against the Bot API
emulator (``getChatAdministrators``), Matrix with real nio clients on a real Synapse (the
inviter and power levels ≥ 50). Each "becomes a steward" sits beside a "does not".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from nio import RoomCreateResponse
from sqlmodel import select
from telegram import ChatMemberAdministrator, ChatMemberOwner
from telegram.error import BadRequest, Forbidden

from archiver.archive import Archive
from archiver.community import community_of_chat
from archiver.consent import Level, consent_of
from archiver.errors import ImportFormatError
from archiver.events import AccountRef, ChatRef
from archiver.exporters.jsonl import export_jsonl
from archiver.importers.jsonl import import_jsonl
from archiver.ingest import ingest_message
from archiver.mydata import what_we_hold
from archiver.segmentation import Segmenter
from archiver.stewards import (
    Appointment,
    StewardReason,
    appoint_stewards,
    is_steward,
    stewards_of,
)
from bot.app.config import load_config
from bot.app.runner import run_bots
from bot.chat.messages import Incoming
from bot.chat.router import Router
from bot.chat.texts import text
from bot.platforms.matrix.power import room_admins
from sandbox.emulator import BotApiEmulator, Chat, User
from storage.db import Database
from storage.models import Message, Person, Steward
from tests.conftest import CHAT, COMMUNITY, SETTINGS, account, add_community, message, rows, say
from tests.matrix_server import Synapse
from tests.test_emulator import raw_bot
from tests.test_jsonl import fresh_archive as _fresh_archive
from tests.test_matrix import Resident, _resident, _write_config, eventually

# The fixture of that module, under the name the tests ask for. (``synapse`` is the session's
# homeserver, the fixture of conftest.py: one for the whole run.)
fresh_archive = _fresh_archive

ALICE, BOB, CAROL = account(101), account(102), account(103)
ROOM = ChatRef("matrix", "!riverside:test.local")


def steward_reasons(archive: Archive, community_id: str) -> dict[str, StewardReason]:
    """``platform:user_id`` → how they became a steward, for every steward."""
    return {info.accounts[0].key: info.reason for info in stewards_of(archive, community_id)}


# --- the archiver -------------------------------------------------------------------------------


def test_appointing_is_idempotent_and_keeps_only_the_account(archive: Archive) -> None:
    new = appoint_stewards(
        archive,
        COMMUNITY,
        [
            Appointment(ALICE, StewardReason.GROUP_ADMIN),
            Appointment(BOB, StewardReason.GROUP_ADMIN),
            Appointment(ALICE, StewardReason.INVITER),  # the first reason wins
        ],
        chat=CHAT,
    )
    assert new == [ALICE, BOB]
    assert steward_reasons(archive, COMMUNITY) == {
        ALICE.key: StewardReason.GROUP_ADMIN,
        BOB.key: StewardReason.GROUP_ADMIN,
    }
    assert is_steward(archive, COMMUNITY, ALICE) and not is_steward(archive, COMMUNITY, CAROL)
    info = stewards_of(archive, COMMUNITY)[0]
    assert info.space == f"{CHAT.platform}:{CHAT.chat_id}"
    assert info.since.tzinfo is not None

    # Joining again (the bot re-added) changes nothing for those who already are stewards.
    before = rows(archive, Steward)
    assert appoint_stewards(archive, COMMUNITY, [Appointment(BOB, StewardReason.CLI)]) == []
    assert [(s.person_id, s.reason, s.since) for s in rows(archive, Steward)] == [
        (s.person_id, s.reason, s.since) for s in before
    ]
    # Data minimisation: a steward is an account id, no name, no consent given.
    assert [p.display_name for p in rows(archive, Person)] == [None, None]
    assert consent_of(archive, COMMUNITY, ALICE).level is Level.UNKNOWN


def test_a_steward_is_not_a_yes_and_is_still_asked_once(archive: Archive) -> None:
    appoint_stewards(archive, COMMUNITY, [Appointment(ALICE, StewardReason.GROUP_ADMIN)])
    first = ingest_message(archive, message(1, 101, "物业说下周修电梯", name="王阿姨"))
    assert not first.kept and first.should_ask
    assert rows(archive, Message) == []
    assert [p.display_name for p in rows(archive, Person)] == [None]
    # The same words from a non-steward who said yes are kept: stewardship is not consent.
    say(archive, 102, Level.ALL, name="Bob")
    assert ingest_message(archive, message(2, 102, "物业说下周修电梯")).kept
    assert [m.text for m in rows(archive, Message)] == ["物业说下周修电梯"]


def test_stewards_belong_to_one_community(archive: Archive) -> None:
    other = ChatRef("telegram", "-1009999")
    add_community(archive, "elsewhere", other)
    appoint_stewards(archive, "elsewhere", [Appointment(ALICE, StewardReason.GROUP_ADMIN)])
    assert is_steward(archive, "elsewhere", ALICE)
    assert not is_steward(archive, COMMUNITY, ALICE)
    assert stewards_of(archive, COMMUNITY) == []
    # A chat of another community is not recorded as where they became one.
    appoint_stewards(archive, COMMUNITY, [Appointment(BOB, StewardReason.GROUP_ADMIN)], chat=other)
    assert stewards_of(archive, COMMUNITY)[0].space is None


def test_mydata_tells_a_steward_and_no_one_else(archive: Archive) -> None:
    appoint_stewards(
        archive,
        COMMUNITY,
        [Appointment(ALICE, StewardReason.GROUP_ADMIN)],
        chat=CHAT,
        at=datetime(2026, 11, 20, 17, 0, tzinfo=UTC),  # 21 November in Shanghai
    )
    ingest_message(archive, message(1, 102, "hello"))  # Bob is known, not a steward
    assert what_we_hold(archive, COMMUNITY, ALICE).steward_since == datetime(
        2026, 11, 20, 17, 0, tzinfo=UTC
    )
    assert what_we_hold(archive, COMMUNITY, BOB).steward_since is None
    router = Router(archive)

    def mydata(who: AccountRef) -> str:
        replies = router.on_message(
            Incoming(
                chat=ChatRef("telegram", who.user_id),
                private=True,
                message_id="9",
                sender=who,
                sender_name=None,
                text="/mydata",
                sent_at=datetime.now(UTC),
            )
        )
        assert len(replies) == 1
        return replies[0].text

    line = text("zh", "mydata_steward", community=SETTINGS.name, since="2026-11-21")
    assert line in mydata(ALICE)
    assert text("zh", "mydata_steward", community=SETTINGS.name, since="") not in mydata(BOB)
    assert "管理人" not in mydata(BOB)


def _member(user_id: str, membership: str = "join") -> dict[str, Any]:
    return {"type": "m.room.member", "state_key": user_id, "content": {"membership": membership}}


def _create(creator: str, version: str, *more: str) -> dict[str, Any]:
    content: dict[str, Any] = {"room_version": version}
    if more:
        content["additional_creators"] = list(more)
    return {"type": "m.room.create", "state_key": "", "sender": creator, "content": content}


def _levels(users: dict[str, Any], **rest: Any) -> dict[str, Any]:
    return {
        "type": "m.room.power_levels",
        "state_key": "",
        "content": {"users": users, **rest},
    }


def test_room_admins_follow_the_power_levels() -> None:
    members = [_member(u) for u in ("@a:x", "@b:x", "@c:x", "@d:x", "@bot:x")]
    levels = _levels({"@a:x": 100, "@b:x": 50, "@c:x": 49, "@bot:x": 100, "@gone:x": 100})
    state = [_create("@a:x", "10"), levels, *members, _member("@gone:x", "leave")]
    assert room_admins(state, exclude="@bot:x") == ["@a:x", "@b:x"]
    # An invited (not joined) moderator is not an admin of the room yet.
    invited = [_create("@a:x", "10"), _levels({"@e:x": 50}), _member("@e:x", "invite")]
    assert room_admins(invited) == []
    # Everyone a moderator by default; old rooms may hold levels as strings.
    loose = [_create("@a:x", "6"), _levels({"@d:x": "0"}, users_default=50), *members[2:4]]
    assert room_admins(loose) == ["@c:x"]
    # No power levels at all: the creator alone has 100.
    assert room_admins([_create("@a:x", "9"), *members[:2]]) == ["@a:x"]


def test_room_creators_outrank_every_level_from_room_version_12() -> None:
    members = [_member(u) for u in ("@a:x", "@b:x", "@c:x")]
    # Version 12 (Synapse's default): creators are not in ``users`` and still count.
    v12 = [_create("@a:x", "12", "@c:x"), _levels({"@b:x": 50}), *members]
    assert room_admins(v12) == ["@a:x", "@b:x", "@c:x"]
    # Before it, a creator demoted in the power levels is not an admin any more.
    v10 = [_create("@a:x", "10"), _levels({"@a:x": 0, "@b:x": 50}), *members]
    assert room_admins(v10) == ["@b:x"]


# --- export and import ------------------------------------------------------------------------


def _with_stewards(archive: Archive) -> None:
    appoint_stewards(
        archive,
        COMMUNITY,
        [Appointment(ALICE, StewardReason.GROUP_ADMIN), Appointment(BOB, StewardReason.INVITER)],
        chat=CHAT,
        at=datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
    )
    appoint_stewards(
        archive,
        COMMUNITY,
        [Appointment(CAROL, StewardReason.CLI)],
        at=datetime(2026, 11, 3, 9, 0, tzinfo=UTC),
    )
    say(archive, 102, Level.ALL, name="Bob")


def test_export_writes_steward_lines_last_without_names(archive: Archive, tmp_path: Path) -> None:
    _with_stewards(archive)
    archive_person = {p.id: p for p in rows(archive, Person)}
    out = tmp_path / "sunshine.jsonl"
    report = export_jsonl(archive, COMMUNITY, out)
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert lines[0]["schema"] == 2  # steward lines: added within schema 1, before schema 2's
    kinds = [line["type"] for line in lines]
    assert kinds[-3:] == ["steward"] * 3 and kinds.count("steward") == report.stewards == 3
    assert report.lines == len(lines)
    people = {line["id"]: line for line in lines if line["type"] == "person"}
    stewards = [line for line in lines if line["type"] == "steward"]
    assert [
        (people[s["person"]]["accounts"], s["reason"], s["space"], s["since"]) for s in stewards
    ] == [
        (["telegram:101"], "group_admin", f"telegram:{CHAT.chat_id}", "2026-11-02T09:00:00+00:00"),
        (["telegram:102"], "inviter", f"telegram:{CHAT.chat_id}", "2026-11-02T09:00:00+00:00"),
        (["telegram:103"], "cli", None, "2026-11-03T09:00:00+00:00"),
    ]
    assert all(set(s) == {"type", "person", "reason", "space", "since"} for s in stewards)
    # Names only for who said yes: Bob (all) has his; the other two stewards have none.
    assert people[stewards[1]["person"]]["display_name"] == "Bob"
    assert "display_name" not in people[stewards[0]["person"]]
    assert "display_name" not in people[stewards[2]["person"]]
    assert set(archive_person) >= {s["person"] for s in stewards}


def test_import_restores_stewards_and_a_rerun_adds_none(
    archive: Archive, fresh_archive: Callable[[], Archive], tmp_path: Path
) -> None:
    _with_stewards(archive)
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    export_jsonl(archive, COMMUNITY, first)
    restored = fresh_archive()
    report = import_jsonl(restored, first)
    assert report.stewards == 3 and report.to_json()["stewards"] == 3
    assert [(i.accounts, i.reason, i.space, i.since) for i in stewards_of(restored, COMMUNITY)] == [
        (i.accounts, i.reason, i.space, i.since) for i in stewards_of(archive, COMMUNITY)
    ]
    assert import_jsonl(restored, first).added == 0
    export_jsonl(restored, COMMUNITY, second)
    assert _steward_lines(first) == _steward_lines(second)
    # An export from before stewards (no steward lines) still imports.
    older = tmp_path / "older.jsonl"
    older.write_text(
        "".join(
            line + "\n"
            for line in first.read_text(encoding="utf-8").splitlines()
            if '"type":"steward"' not in line
        ),
        encoding="utf-8",
    )
    again = fresh_archive()
    assert import_jsonl(again, older).stewards == 0
    assert stewards_of(again, COMMUNITY) == []


def _steward_lines(path: Path) -> list[tuple[Any, ...]]:
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    people = {line["id"]: tuple(line["accounts"]) for line in lines if line["type"] == "person"}
    return [
        (people[line["person"]], line["reason"], line["space"], line["since"])
        for line in lines
        if line["type"] == "steward"
    ]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda s: {**s, "reason": "mayor"}, "reason 'mayor' is not one of"),
        (lambda s: {**s, "person": 9999}, "no person 9999"),
        (lambda s: {**s, "space": "telegram:-1"}, "no space telegram:-1"),
        (lambda s: {k: v for k, v in s.items() if k != "reason"}, "needs the key 'reason'"),
    ],
    ids=["unknown-reason", "unknown-person", "unknown-space", "no-reason"],
)
def test_a_bad_steward_line_is_refused_whole(
    archive: Archive,
    fresh_archive: Callable[[], Archive],
    tmp_path: Path,
    change: Callable[[dict[str, Any]], dict[str, Any]],
    error: str,
) -> None:
    _with_stewards(archive)
    out = tmp_path / "sunshine.jsonl"
    export_jsonl(archive, COMMUNITY, out)
    lines = out.read_text(encoding="utf-8").splitlines()
    lines[-1] = json.dumps(change(json.loads(lines[-1])), ensure_ascii=False)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    restored = fresh_archive()
    with pytest.raises(ImportFormatError, match=error) as raised:
        import_jsonl(restored, out)
    assert f"line {len(lines)}" in str(raised.value)
    with restored.db.read() as session:
        assert session.exec(select(Person)).first() is None  # nothing written


def test_a_steward_line_before_the_others_is_refused(
    archive: Archive, fresh_archive: Callable[[], Archive], tmp_path: Path
) -> None:
    _with_stewards(archive)
    out = tmp_path / "sunshine.jsonl"
    export_jsonl(archive, COMMUNITY, out)
    lines = out.read_text(encoding="utf-8").splitlines()
    ledger = next(i for i, line in enumerate(lines) if '"type":"consent_event"' in line)
    lines.insert(ledger, lines.pop())  # after the people it names, before the ledger
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ImportFormatError, match="a consent_event line after steward lines"):
        import_jsonl(fresh_archive(), out)


# --- the emulator's getChatAdministrators ----------------------------------------------------


async def test_the_emulator_lists_admins_as_telegram_does() -> None:
    async with BotApiEmulator(bot_username="memory_bot") as emu:
        alice, bob, carol = emu.add_user("Alice"), emu.add_user("Bob"), emu.add_user("Carol")
        group = emu.create_group("Garden", members=[alice, bob, carol])
        async with raw_bot(emu) as bot:
            with pytest.raises(BadRequest, match="Chat not found"):
                await bot.get_chat_administrators(group.id)  # never been there
            emu.add_bot_to_group(group, by=carol)
            # Nobody promoted: only the owner. A member bot may ask.
            admins = await bot.get_chat_administrators(group.id)
            assert [(type(a), a.user.id) for a in admins] == [(ChatMemberOwner, alice.id)]
            emu.promote_member(group, bob)
            emu.promote_bot(group)
            admins = await bot.get_chat_administrators(group.id)
            assert {a.user.id for a in admins} == {alice.id, bob.id, emu.bot.id}
            assert all(
                isinstance(a, ChatMemberAdministrator) for a in admins if a.user.id != alice.id
            )
            with pytest.raises(ValueError, match="only the owner"):
                emu.promote_member(group, carol, by=bob)
            # An administrator bot that asked for chat_member updates hears of the change.
            await bot.get_updates(allowed_updates=["message", "chat_member"])
            emu.demote_member(group, bob)
            (change,) = [u["chat_member"] for u in emu.pending_updates() if "chat_member" in u]
            assert (change["old_chat_member"]["status"], change["new_chat_member"]["status"]) == (
                "administrator",
                "member",
            )
            assert {a.user.id for a in await bot.get_chat_administrators(group.id)} == {
                alice.id,
                emu.bot.id,
            }
            with pytest.raises(BadRequest, match="no administrators in the private chat"):
                await bot.get_chat_administrators(alice.id)
            emu.remove_bot(group, by=alice)
            with pytest.raises(Forbidden, match="kicked"):
                await bot.get_chat_administrators(group.id)


# --- Telegram, end to end -----------------------------------------------------------------------


@dataclass
class TelegramScene:
    """The emulator, a group (Alice owns it, Bob is an administrator, Carol is not), the bot
    running (``run_bots``), and a reading handle on its archive."""

    emu: BotApiEmulator
    group: Chat
    alice: User
    bob: User
    carol: User
    archive: Archive
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def chat(self) -> ChatRef:
        return ChatRef("telegram", str(self.group.id))

    def community(self) -> str:
        found = community_of_chat(self.archive, self.chat)
        assert found is not None
        return found

    async def mydata(self, user: User) -> str:
        """What ``user`` gets for ``/mydata`` in their private chat with the bot."""
        chat = self.emu.private_chat(user)
        if not user.started_bot:
            self.emu.user_starts_bot(user)
        mark = len(self.emu.bot_messages(chat))
        self.emu.user_sends(chat, user, "/mydata")
        await self.emu.wait_until_confirmed(timeout=10)
        said = self.emu.bot_messages(chat)[mark:]
        return "\n".join(m.body for m in said)


@contextlib.asynccontextmanager
async def telegram_scene(
    tmp_path: Path, segmenter: Segmenter, *, listed: bool
) -> AsyncIterator[TelegramScene]:
    async with BotApiEmulator(bot_username="memory_bot", privacy_mode=False) as emu:
        alice = emu.add_user("Alice", language_code="en")
        bob = emu.add_user("Bob")
        carol = emu.add_user("Carol")
        group = emu.create_group("Garden Court", members=[alice, bob, carol])
        emu.promote_member(group, bob)
        url = f"sqlite:///{tmp_path / 'archive.db'}"
        community = (
            '[[communities]]\nid = "garden"\nname = "Garden Court"\nlanguage = "en"\n'
            f'spaces = [{{ platform = "telegram", chat = "{group.id}" }}]\n'
            if listed
            else ""
        )
        config = tmp_path / "config.toml"
        config.write_text(
            f'[storage]\nurl = "{url}"\n\n'
            f'[telegram]\ntoken = "{emu.token}"\nbase_url = "{emu.base_url}"\n\n{community}',
            encoding="utf-8",
        )
        stop = asyncio.Event()
        task = asyncio.create_task(run_bots(load_config(config), stop=stop))
        archive = Archive(db=Database(url), segmenter=segmenter)
        try:
            await emu.wait_until_polling(timeout=15)
            yield TelegramScene(emu, group, alice, bob, carol, archive, stop)
        finally:
            stop.set()
            await asyncio.wait_for(task, 15)
            archive.close()


async def test_telegram_group_admins_become_stewards_of_a_new_community(
    tmp_path: Path, segmenter: Segmenter
) -> None:
    async with telegram_scene(tmp_path, segmenter, listed=False) as scene:
        emu = scene.emu
        # Carol, an ordinary member, adds the bot: that makes her no steward on Telegram.
        emu.add_bot_to_group(scene.group, by=scene.carol)
        await emu.wait_until_confirmed(timeout=10)
        assert len(emu.bot_messages(scene.group)) == 1  # the greeting
        asked = [c for c in emu.calls if c.method == "getChatAdministrators"]
        assert [c.params["chat_id"] for c in asked] == [scene.group.id]

        community = scene.community()
        assert community == f"telegram{scene.group.id}"  # a community of its own
        assert steward_reasons(scene.archive, community) == {
            f"telegram:{scene.alice.id}": StewardReason.GROUP_ADMIN,  # the owner
            f"telegram:{scene.bob.id}": StewardReason.GROUP_ADMIN,
        }
        assert not is_steward(scene.archive, community, AccountRef("telegram", str(emu.bot.id)))
        assert stewards_of(scene.archive, community)[0].space == f"telegram:{scene.group.id}"
        # Account ids only: no names, no consent.
        assert [p.display_name for p in rows(scene.archive, Person)] == [None, None]

        # Being a steward is not a yes: Alice's words are not kept, and she is asked.
        emu.user_sends(scene.group, scene.alice, "The gate code changed to 4471")
        emu.user_sends(scene.group, scene.carol, "Thanks for adding me")
        await emu.wait_until_confirmed(timeout=10)
        assert rows(scene.archive, Message) == []
        assert len(emu.bot_messages(scene.group)) == 3  # the greeting and two consent prompts

        # mydata says so to Alice; Carol (known now, not a steward) hears nothing of it.
        zone = ZoneInfo("Asia/Shanghai")
        since = stewards_of(scene.archive, community)[0].since.astimezone(zone).date()
        line = text("zh", "mydata_steward", community="Garden Court", since=since.isoformat())
        assert line in await scene.mydata(scene.alice)
        carol_sees = await scene.mydata(scene.carol)
        assert text("zh", "mydata_nothing", community="Garden Court") not in carol_sees
        assert "管理人" not in carol_sees and carol_sees


async def test_telegram_admins_become_stewards_of_a_configured_community(
    tmp_path: Path, segmenter: Segmenter
) -> None:
    async with telegram_scene(tmp_path, segmenter, listed=True) as scene:
        scene.emu.add_bot_to_group(scene.group, by=scene.alice, admin=True)
        await scene.emu.wait_until_confirmed(timeout=10)
        assert steward_reasons(scene.archive, "garden") == {
            f"telegram:{scene.alice.id}": StewardReason.GROUP_ADMIN,
            f"telegram:{scene.bob.id}": StewardReason.GROUP_ADMIN,
        }
        line = text("en", "mydata_steward", community="Garden Court", since="")
        assert line.split("(")[0] in await scene.mydata(scene.bob)
        carol_sees = await scene.mydata(scene.carol)
        assert line.split("(")[0] not in carol_sees

        # Removed and added again, by then without Bob as an admin: nobody is added or
        # dropped, and the first stewards keep the date they became stewards.
        before = [(s.person_id, s.since) for s in rows(scene.archive, Steward)]
        scene.emu.remove_bot(scene.group, by=scene.alice)
        scene.emu.demote_member(scene.group, scene.bob)
        scene.emu.add_bot_to_group(scene.group, by=scene.alice)
        await scene.emu.wait_until_confirmed(timeout=10)
        assert [(s.person_id, s.since) for s in rows(scene.archive, Steward)] == before


# --- Matrix, end to end -------------------------------------------------------------------------


async def _first_sync(store: Path, task: asyncio.Task[None]) -> None:
    def synced() -> bool:
        if task.done():
            task.result()
            raise AssertionError("the bot stopped at start-up")
        return (store / "state.json").exists()

    await eventually(synced, "the bot's first sync")


async def _bot_notices(resident: Resident, room_id: str, bot_id: str) -> list[str]:
    answer = await resident.client.room_messages(room_id, start=None, limit=200)
    return [
        e.source["content"].get("body", "")
        for e in reversed(getattr(answer, "chunk", []))
        if e.source.get("sender") == bot_id and e.source.get("type") == "m.room.message"
    ]


async def _mydata_in_direct_room(resident: Resident, bot_id: str) -> str:
    """``resident`` opens a direct chat with the bot and asks ``!mydata`` there."""
    created = await resident.client.room_create(is_direct=True, invite=[bot_id])
    assert isinstance(created, RoomCreateResponse), created

    async def joined() -> bool:
        members = await resident.client.joined_members(created.room_id)
        return bot_id in [m.user_id for m in getattr(members, "members", [])]

    await eventually(joined, "the bot joining the direct chat")
    await resident.say(created.room_id, "!mydata")
    found: list[str] = await eventually(
        lambda: _bot_notices(resident, created.room_id, bot_id), "the mydata answer"
    )
    return "\n".join(found)


@pytest.fixture
async def matrix_people(synapse: Synapse) -> AsyncIterator[list[Resident]]:
    """alice, bob, carol and dan: fresh accounts with real nio clients."""
    tag = uuid.uuid4().hex[:8]
    people = [
        await _resident(synapse, f"{name}-{tag}") for name in ("alice", "bob", "carol", "dan")
    ]
    try:
        yield people
    finally:
        for resident in people:
            await resident.client.close()


async def test_matrix_inviter_and_room_admins_become_stewards(
    synapse: Synapse,
    matrix_people: list[Resident],
    tmp_path: Path,
    segmenter: Segmenter,
) -> None:
    alice, bob, carol, dan = matrix_people
    bot = await asyncio.to_thread(synapse.register, f"memory-{uuid.uuid4().hex[:8]}")
    # alice made the room (its creator: above every level in a version 12 room, Synapse's
    # default), bob is a moderator (50); carol and dan are members (0), and anyone may invite.
    created = await alice.client.room_create(
        name="Riverside",
        invite=[bob.id, carol.id, dan.id],
        power_level_override={"users": {bob.id: 50}, "invite": 0},
    )
    assert isinstance(created, RoomCreateResponse), created
    room_id = created.room_id
    for resident in (bob, carol, dan):
        await resident.client.join(room_id)
    db_url = f"sqlite:///{tmp_path / 'archive.db'}"
    config = tmp_path / "config.toml"
    store = tmp_path / "matrix-store"
    _write_config(config, synapse, bot, db_url, store)
    stop = asyncio.Event()
    task = asyncio.create_task(run_bots(load_config(config), stop=stop))
    archive = Archive(db=Database(db_url), segmenter=segmenter)
    try:
        await _first_sync(store, task)
        await carol.client.room_invite(room_id, bot.user_id)  # carol, not an admin, invites
        await eventually(lambda: _bot_notices(alice, room_id, bot.user_id), "the greeting")
        chat = ChatRef("matrix", room_id)
        community = community_of_chat(archive, chat)
        assert community is not None
        assert steward_reasons(archive, community) == {
            f"matrix:{carol.id}": StewardReason.INVITER,
            f"matrix:{alice.id}": StewardReason.ROOM_ADMIN,
            f"matrix:{bob.id}": StewardReason.ROOM_ADMIN,
        }
        assert not is_steward(archive, community, dan.ref)
        assert not is_steward(archive, community, AccountRef("matrix", bot.user_id))
        assert all(info.space == f"matrix:{room_id}" for info in stewards_of(archive, community))
        assert [p.display_name for p in rows(archive, Person)] == [None, None, None]

        # Not a yes: bob's message is not kept; he is asked like anyone.
        await bob.say(room_id, "the boiler room key is with me")
        await dan.say(room_id, "hello all")
        await eventually(
            lambda: _count_at_least(_bot_notices(alice, room_id, bot.user_id), 3),
            "two consent prompts",
        )
        assert rows(archive, Message) == []

        # mydata in a direct chat: bob hears he is a steward, dan does not.
        zone = ZoneInfo("Asia/Shanghai")
        since = stewards_of(archive, community)[1].since.astimezone(zone).date()
        line = text("zh", "mydata_steward", community="Riverside", since=since.isoformat())
        assert line in await _mydata_in_direct_room(bob, bot.user_id)
        dan_sees = await _mydata_in_direct_room(dan, bot.user_id)
        assert dan_sees and "管理人" not in dan_sees
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        archive.close()


async def _count_at_least(found: Any, count: int) -> bool:
    return len(await found) >= count
