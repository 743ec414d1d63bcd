"""Telegram end to end: the chat contract, proven through the real bot.

Each test runs ``run_bots`` (what ``community-memory run`` runs) with the real
python-telegram-bot ``Application`` polling the Bot API emulator over HTTP, on a real archive,
while scripted residents talk in a group. Every line of the chat contract (DESIGN.md) has its
positive beside its negative. Assertions read the archive through a handle of their own.

Backends: tests taking ``room`` run on SQLite and on PostgreSQL; tests taking ``sqlite_room``
prove platform behaviour that the backend cannot change (rate limits, privacy mode, splitting,
membership) and run on SQLite only, to keep the suite fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import statistics
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

import archiver.archive
import bot.app.runner
from archiver.archive import Archive
from archiver.community import load_community
from archiver.consent import Level, consent_of
from archiver.errors import ConfigError, StorageError
from archiver.events import AccountRef, ChatRef, MessageEvent, TagEvent, TagMethod
from archiver.ingest import ingest_message
from archiver.preservation import purge_expired, tag_message
from archiver.recall import search
from archiver.segmentation import Segmenter
from bot.app.config import Config, load_config
from bot.app.runner import run_bots
from bot.app.schedule import PostSchedule
from bot.chat.messages import Incoming, Reply
from bot.chat.router import Router
from bot.chat.texts import text
from bot.platforms.telegram.adapter import utf16_length
from sandbox.emulator import BotApiEmulator, Chat, User
from sandbox.emulator.model import Message as TgMessage
from storage.db import Database
from storage.models import (
    ConsentEvent,
    HeldMessage,
    Message,
    MessageVersion,
    Prompt,
    Space,
    Tag,
)
from tests.conftest import COMMUNITY, leftovers, rows

TITLE = "Sunshine Garden"
KEEP = "✍"  # the keep reaction on Telegram (📌 is not a Telegram reaction)


@dataclass
class Room:
    """A group with the bot in it, three residents, and the archive the bot writes."""

    emu: BotApiEmulator
    group: Chat
    alice: User  # the group's owner (an administrator)
    bob: User
    carol: User
    config: Config
    archive: Archive | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    # --- the bot's life ---------------------------------------------------------------------

    async def start(self) -> None:
        """Run the bot until ``stop_bot`` or ``crash``; return once it is long-polling."""
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(run_bots(self.config, stop=self.stop))
        waiting = asyncio.ensure_future(self.emu.wait_until_polling(timeout=10))
        await asyncio.wait({waiting, self.task}, return_when=asyncio.FIRST_COMPLETED)
        if self.task.done():
            waiting.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await waiting
            self.task.result()  # the runner's own error
            raise AssertionError("the runner stopped at start-up")
        await waiting

    async def stop_bot(self) -> None:
        """A clean stop (what SIGTERM does)."""
        assert self.task is not None
        self.stop.set()
        await asyncio.wait_for(self.task, 10)

    async def crash(self) -> None:
        """An abrupt stop: the task is cancelled wherever it is, nothing more is confirmed."""
        assert self.task is not None
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task

    async def settled(self) -> None:
        """Every update so far was handled (and so confirmed by the next poll)."""
        try:
            await self.emu.wait_until_confirmed(timeout=10)
        except TimeoutError:
            if self.task is not None and self.task.done():
                self.task.result()
            raise

    # --- residents ----------------------------------------------------------------------------

    def say(self, user: User, words: str, *, reply_to: TgMessage | None = None) -> TgMessage:
        return self.emu.user_sends(self.group, user, words, reply_to=reply_to)

    def mark(self, chat: Chat | None = None) -> int:
        return len(self.emu.bot_messages(chat or self.group))

    def said_since(self, mark: int, chat: Chat | None = None) -> list[TgMessage]:
        return self.emu.bot_messages(chat or self.group)[mark:]

    async def exchange(
        self, user: User, words: str, *, reply_to: TgMessage | None = None
    ) -> list[TgMessage]:
        """``user`` says something; what the bot said in the group in return."""
        mark = self.mark()
        self.say(user, words, reply_to=reply_to)
        await self.settled()
        return self.said_since(mark)

    async def consent(self, user: User, level: str) -> None:
        await self.exchange(user, f"/consent {level}")
        assert self.level(user) is Level(level)

    async def press(self, user: User, prompt: TgMessage, answer: str) -> dict[str, Any]:
        """``user`` presses the button for ``answer``; how the bot answered the press."""
        data = [b["callback_data"] for b in buttons(prompt) if b["callback_data"].endswith(answer)]
        assert len(data) == 1, buttons(prompt)
        query = self.emu.user_presses(user, prompt, data[0])
        await self.settled()
        answered = self.emu.callback_answer(query)
        assert answered is not None, "every press is answered"
        return answered

    def t(self, key: str, **values: object) -> str:
        return text("en", key, community=TITLE, **values)

    # --- the archive --------------------------------------------------------------------------

    @property
    def db(self) -> Archive:
        assert self.archive is not None
        return self.archive

    def kept(self) -> list[str]:
        return [m.text for m in rows(self.db, Message)]

    def held(self) -> list[str]:
        return [h.text for h in rows(self.db, HeldMessage)]

    def level(self, user: User) -> Level:
        return consent_of(self.db, COMMUNITY, account(user)).level

    def found(self, query: str) -> list[str]:
        return [hit.text for hit in search(self.db, COMMUNITY, query, limit=50)]

    def space(self, chat: Chat | None = None) -> Space:
        chat_id = str((chat or self.group).id)
        with self.db.db.read() as session:
            found = session.exec(select(Space).where(Space.chat_id == chat_id)).one()
            session.expunge(found)
            return found


def account(user: User) -> AccountRef:
    return AccountRef("telegram", str(user.id))


def buttons(message: TgMessage) -> list[dict[str, Any]]:
    markup = message.reply_markup or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]


def answers(message: TgMessage) -> list[str]:
    return [b["callback_data"].rsplit(":", 1)[1] for b in buttons(message)]


def year_ago_today() -> datetime:
    """Noon on this day in an earlier year, in the community's time zone."""
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    years = 4 if (today.month, today.day) == (2, 29) else 1
    day = today.replace(year=today.year - years)
    return datetime.combine(day, datetime.min.time().replace(hour=12), ZoneInfo("Asia/Shanghai"))


def write_config(folder: Path, url: str, emu: BotApiEmulator, group: Chat) -> Config:
    path = folder / "config.toml"
    path.write_text(
        f"""
[storage]
url = "{url}"

[telegram]
token = "{emu.token}"
base_url = "{emu.base_url}"

[[communities]]
id = "{COMMUNITY}"
name = "{TITLE}"
language = "en"
timezone = "Asia/Shanghai"
spaces = [{{ platform = "telegram", chat = "{group.id}" }}]
""",
        encoding="utf-8",
    )
    return load_config(path)


@pytest.fixture
def shared_segmenter(monkeypatch: pytest.MonkeyPatch, segmenter: Segmenter) -> Segmenter:
    """The runner's ``open_archive`` gets the session's segmenter instead of loading the
    dictionary again (a fifth of a second per test); everything else is as in production."""
    monkeypatch.setattr(archiver.archive, "Segmenter", lambda *_args, **_kw: segmenter)
    return segmenter


@contextlib.asynccontextmanager
async def open_room(
    url: str,
    folder: Path,
    segmenter: Segmenter,
    *,
    privacy_mode: bool = False,
    admin: bool = True,
) -> AsyncIterator[Room]:
    """The emulator, a group of three, the bot running and added to the group (greeted)."""
    async with BotApiEmulator(bot_username="memory_bot", privacy_mode=privacy_mode) as emu:
        alice = emu.add_user("Alice", language_code="en")
        bob = emu.add_user("Bob")
        carol = emu.add_user("Carol")
        group = emu.create_group(TITLE, members=[alice, bob, carol])
        room = Room(emu, group, alice, bob, carol, write_config(folder, url, emu, group))
        await room.start()
        room.archive = Archive(db=Database(url), segmenter=segmenter)
        try:
            mark = room.mark()
            emu.add_bot_to_group(group, by=alice, admin=admin)
            await room.settled()
            assert [m.body for m in room.said_since(mark)] == [room.t("greeting")]
            yield room
        finally:
            if room.task is not None and not room.task.done():
                await room.stop_bot()
            room.archive.close()


@pytest.fixture
async def room(db_url: str, tmp_path: Path, shared_segmenter: Segmenter) -> AsyncIterator[Room]:
    """On every backend."""
    async with open_room(db_url, tmp_path, shared_segmenter) as opened:
        yield opened


@pytest.fixture
async def sqlite_room(tmp_path: Path, shared_segmenter: Segmenter) -> AsyncIterator[Room]:
    """On SQLite only."""
    url = f"sqlite:///{tmp_path / 'archive.db'}"
    async with open_room(url, tmp_path, shared_segmenter) as opened:
        yield opened


def on_sqlite(room: Room) -> bool:
    return room.db.db.is_sqlite


# --- consent ----------------------------------------------------------------------------------


async def test_unconsented_message_is_not_stored_and_its_author_asked_once(room: Room) -> None:
    secret = "The spare key is under the mat, flat 7731"
    mark = room.mark()
    first = room.say(room.bob, secret)
    room.say(room.bob, "and the alarm code is 8842")
    await room.settled()

    asked = room.said_since(mark)
    assert len(asked) == 1, "one prompt, never a second unprompted one"
    prompt = asked[0]
    assert prompt.reply_to is first
    assert answers(prompt) == ["all", "tagged", "none"]
    assert room.kept() == [] and room.held() == []
    if on_sqlite(room):
        assert leftovers(room.db, [secret, "8842"]) == []

    # Someone else's press: a "not for you" pop-up, and nothing changes.
    answered = await room.press(room.alice, prompt, "all")
    assert answered["text"] == room.t("not_for_you") and answered["show_alert"] is True
    assert room.level(room.bob) is Level.UNKNOWN and room.level(room.alice) is Level.UNKNOWN

    # His own press.
    answered = await room.press(room.bob, prompt, "all")
    assert answered["text"] == room.t("consent_set_all") and not answered["show_alert"]
    assert room.level(room.bob) is Level.ALL
    await room.exchange(room.bob, "The lift in block 3 works again")
    assert room.kept() == ["The lift in block 3 works again"]


async def test_consent_buttons_and_typed_commands(sqlite_room: Room) -> None:
    room = sqlite_room
    said = await room.exchange(room.carol, "/consent")
    assert len(said) == 1 and answers(said[0]) == ["all", "tagged", "none"]
    assert said[0].body.startswith(
        room.t(
            "consent_status",
            level=room.t("level_unknown"),
            attribution=room.t("attribution_anonymous"),
        )
    )
    await room.press(room.carol, said[0], "tagged")
    assert room.level(room.carol) is Level.TAGGED
    said = await room.exchange(room.carol, "/consent none")
    assert [m.body for m in said] == [room.t("consent_set_none")]
    assert room.level(room.carol) is Level.NONE
    await room.exchange(room.carol, "Nothing of mine is kept")
    assert room.kept() == []


# --- keep ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("answer", ["yes", "no", "timeout"])
async def test_keep_asks_an_author_who_never_answered(room: Room, answer: str) -> None:
    if answer != "yes" and not on_sqlite(room):
        pytest.skip("the held copy's fate is the archiver's, proven on both backends there")
    story = "Mr Li the guard stopped a thief at gate 2 tonight"
    await room.consent(room.alice, "all")
    target = room.say(room.bob, story)  # Bob never answered (he is asked once, here)
    await room.settled()

    ask = await room.exchange(room.alice, "/keep", reply_to=target)
    assert len(ask) == 1
    prompt = ask[0]
    assert prompt.reply_to is target, "asked as a reply to his message"
    assert answers(prompt) == ["yes", "no"]
    mentions = [e for e in prompt.entities if e.type == "text_mention"]
    assert [m.user["id"] for m in mentions if m.user] == [room.bob.id], "addressed to him"
    assert room.held() == [story]
    assert room.kept() == [] and room.found("thief") == [], "held: never searchable"

    if answer == "yes":
        answered = await room.press(room.alice, prompt, "yes")
        assert answered["show_alert"] and room.held() == [story]
        answered = await room.press(room.bob, prompt, "yes")
        assert answered["text"] == room.t("kept_yes")
        assert room.kept() == [story] and room.found("thief") == [story]
        assert room.held() == []
        assert prompt.reply_markup is None, "the answered question loses its buttons"
    elif answer == "no":
        answered = await room.press(room.bob, prompt, "no")
        assert answered["text"] == room.t("kept_no")
        assert room.kept() == [] and room.held() == []
        assert leftovers(room.db, [story]) == []
    else:
        assert purge_expired(room.db, now=datetime.now(UTC) + timedelta(hours=71)) == 0
        assert purge_expired(room.db, now=datetime.now(UTC) + timedelta(hours=73)) == 1
        assert room.held() == [] and leftovers(room.db, [story]) == []
        answered = await room.press(room.bob, prompt, "yes")
        assert answered["show_alert"], "too late: the question is closed"
        assert room.kept() == []


async def test_the_runner_destroys_held_copies_whose_wait_ran_out(sqlite_room: Room) -> None:
    room = sqlite_room
    target = room.say(room.bob, "A story Bob never answered about")
    await room.exchange(room.alice, "/keep", reply_to=target)
    assert room.held() == ["A story Bob never answered about"]
    await room.stop_bot()
    with room.db.db.write() as session:  # the 72 hours pass while the bot is down
        for held in session.exec(select(HeldMessage)):
            held.expires_at = datetime.now(UTC) - timedelta(minutes=1)
            session.add(held)
    await room.start()  # purges at once, then every few minutes
    # The row goes at the commit, the bytes at the checkpoint just after it: wait for both.
    deadline = time.monotonic() + 10
    while (room.held() or leftovers(room.db, ["never answered"])) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert room.held() == [] and leftovers(room.db, ["never answered"]) == []


async def test_keep_reaction(room: Room) -> None:
    await room.consent(room.carol, "tagged")
    note = "Volunteers meet on Saturday at nine by the fountain"
    mark = room.mark()
    message = room.say(room.carol, note)
    room.emu.user_reacts(room.bob, message, "👍")
    await room.settled()
    assert room.kept() == [], "tagged: kept only when someone tags it; 👍 is not a tag"

    assert "message_reaction" in room.emu.allowed_updates
    room.emu.user_reacts(room.alice, message, KEEP)
    await room.settled()
    assert room.kept() == [note]
    assert room.said_since(mark) == [], "a kept reaction is quiet"
    with pytest.raises(ValueError, match="reaction"):
        room.emu.user_reacts(room.alice, message, "📌")  # not a Telegram reaction

    # On the message of someone who never answered: held from the bot's recent-message
    # cache (a reaction carries no content), and its author is asked.
    unknown = room.say(room.bob, "Our block raised 3000 yuan for the guard")
    await room.settled()
    mark = room.mark()
    room.emu.user_reacts(room.alice, unknown, KEEP)
    await room.settled()
    assert room.held() == ["Our block raised 3000 yuan for the guard"]
    [prompt] = room.said_since(mark)
    assert prompt.reply_to is unknown and answers(prompt) == ["yes", "no"]

    # On the bot's own greeting: nothing to keep — the greeting carries everyone's consent
    # answers, so ✍ there is Alice's own "only tagged", confirmed, and the greeting stays
    # open for the others.
    greeting = room.emu.bot_messages(room.group)[0]
    assert answers(greeting) == ["all", "tagged", "none"]
    mark = room.mark()
    room.emu.user_reacts(room.alice, greeting, KEEP)
    await room.settled()
    assert [m.body for m in room.said_since(mark)] == [room.t("consent_set_tagged")]
    assert room.level(room.alice) is Level.TAGGED and len(room.kept()) == 1
    assert room.level(room.bob) is Level.UNKNOWN
    assert answers(room.emu.bot_messages(room.group)[0]) == ["all", "tagged", "none"]
    mark = room.mark()

    # On the bot's consent question: an answer ("only tagged"), and from its person only.
    [question] = [
        m
        for m in room.emu.bot_messages(room.group)
        if m.reply_to is unknown and answers(m) == ["all", "tagged", "none"]
    ]
    room.emu.user_reacts(room.alice, question, KEEP)
    await room.settled()
    assert room.said_since(mark) == [] and room.level(room.bob) is Level.UNKNOWN
    room.emu.user_reacts(room.bob, question, KEEP)
    await room.settled()
    assert room.level(room.bob) is Level.TAGGED
    assert [m.body for m in room.said_since(mark)] == [room.t("consent_set_tagged")]


# --- forget and mydata ------------------------------------------------------------------------


async def test_forget_one_message_and_everything(room: Room) -> None:
    await room.consent(room.alice, "all")
    texts = ["First memory 1111", "Second memory 2222", "Third memory 3333"]
    sent = [room.say(room.alice, words) for words in texts]
    await room.settled()
    assert room.kept() == texts

    said = await room.exchange(room.bob, "/forget", reply_to=sent[0])
    assert [m.body for m in said] == [room.t("forget_not_yours")]
    said = await room.exchange(room.alice, "/forget", reply_to=sent[1])
    assert [m.body for m in said] == [room.t("forget_message_done")]
    assert room.kept() == [texts[0], texts[2]]

    [confirm] = await room.exchange(room.alice, "/forget")
    assert answers(confirm) == ["yes", "no"]
    answered = await room.press(room.bob, confirm, "yes")
    assert answered["show_alert"] and len(room.kept()) == 2
    answered = await room.press(room.alice, confirm, "yes")
    assert not answered["show_alert"]
    assert room.kept() == [] and room.found("memory") == []
    if on_sqlite(room):
        assert leftovers(room.db, texts) == []


async def test_mydata_is_sent_privately_or_asks_to_start_first(sqlite_room: Room) -> None:
    room = sqlite_room
    await room.consent(room.alice, "all")
    room.emu.user_starts_bot(room.alice)
    await room.settled()
    private = room.emu.private_chat(room.alice)
    mark = room.mark(private)

    said = await room.exchange(room.alice, "/mydata")
    [data] = room.said_since(mark, private)
    assert data.body.startswith(f"What {TITLE}'s archive holds about you")
    assert [m.body for m in said] == [room.t("mydata_sent")]

    said = await room.exchange(room.bob, "/mydata")  # Bob never started the bot
    assert [m.body for m in said] == [room.t("mydata_start_first")]
    assert room.emu.bot_messages(room.emu.private_chat(room.bob)) == []


# --- recall and help ----------------------------------------------------------------------------


async def test_recall_and_help_commands(sqlite_room: Room) -> None:
    room = sqlite_room
    await room.consent(room.alice, "all")
    # A memory from a year ago today (as an import would bring it: live updates that old
    # would have expired on Telegram's side).
    ingest_message(
        room.db,
        MessageEvent(
            chat=ChatRef("telegram", str(room.group.id)),
            message_id="900001",
            author=account(room.alice),
            sent_at=year_ago_today(),
            text="The lift repair crew finally came",
        ),
    )
    old = room.say(room.alice, "The lift works again")
    await room.settled()

    [found] = await room.exchange(room.bob, "/search lift")
    assert found.body.startswith(room.t("search_title", query="lift"))
    assert "finally came" in found.body and "works again" in found.body
    [none] = await room.exchange(room.bob, "/search zebra")
    assert none.body == room.t("no_results", query="zebra")

    [memories] = await room.exchange(room.bob, "/onthisday")
    assert "finally came" in memories.body and "works again" not in memories.body

    [stories] = await room.exchange(room.bob, "/stories")
    assert stories.body == room.t("stories_none")
    await room.exchange(room.bob, "/keep lifts", reply_to=old)
    [stories] = await room.exchange(room.bob, "/stories")
    assert "lifts (1)" in stories.body

    for command in ("/help", "!help", "/help@memory_bot", "/start", "/HELP@Memory_Bot"):
        said = await room.exchange(room.carol, command)
        assert [m.body for m in said] == [room.t("help", emoji=KEEP)], command
    assert await room.exchange(room.carol, "/help@other_bot") == []
    assert await room.exchange(room.alice, "/shrug") == [], "not a command of ours: no answer"


# --- edits, splitting, escaping -----------------------------------------------------------------


async def test_edits_update_a_kept_message(room: Room) -> None:
    await room.consent(room.alice, "all")
    message = room.say(room.alice, "Meeting at 7 in the hall")
    await room.settled()
    room.emu.user_edits(message, "Meeting at 8 in the hall")
    await room.settled()
    assert room.kept() == ["Meeting at 8 in the hall"]
    assert [v.text for v in rows(room.db, MessageVersion)] == ["Meeting at 7 in the hall"]
    assert room.found("8") and not room.found("7")

    # Someone who never answered: the edit stores nothing; a later keep holds the new text.
    phone = room.say(room.bob, "My number is 555 0101")
    await room.settled()
    room.emu.user_edits(phone, "My number is 555 0199")
    await room.settled()
    assert len(room.kept()) == 1 and room.held() == []
    if on_sqlite(room):
        assert leftovers(room.db, ["555 0101", "555 0199"]) == []
    room.emu.user_reacts(room.alice, phone, KEEP)
    await room.settled()
    assert room.held() == ["My number is 555 0199"]


async def test_long_replies_are_split_and_resident_text_escaped(sqlite_room: Room) -> None:
    room = sqlite_room
    tom = room.emu.add_user("Tom <b>&", last_name="&amp;")
    mark = room.mark()
    room.emu.add_member(room.group, tom, by=room.alice)
    await room.settled()
    [prompt] = room.said_since(mark)  # asked once on joining, by name, as plain text
    assert "Tom <b>& &amp;" in prompt.body
    assert [e.user["id"] for e in prompt.entities if e.type == "text_mention" and e.user] == [
        tom.id
    ]
    await room.press(tom, prompt, "all")
    marked_up = "<b>Lift</b> & stairs: fixed <i>at last</i> &lt;3"
    room.emu.user_sends(room.group, tom, marked_up)
    await room.settled()
    [found] = await room.exchange(room.bob, "/search stairs")
    assert marked_up in found.body and found.entities == []

    # A story long enough that showing it takes more than one Telegram message.
    await room.consent(room.alice, "all")
    line = "The lift story continues: 电梯又坏了，大家一起写信给物业 🙏🏽 part "
    parts = [room.say(room.alice, f"{line}{i:02d}") for i in range(60)]
    await room.settled()
    for part in parts:
        tag_message(
            room.db,
            TagEvent(
                chat=ChatRef("telegram", str(room.group.id)),
                message_id=str(part.message_id),
                tagger=account(room.bob),
                method=TagMethod.COMMAND,
                story="lifts",
            ),
        )
    command = room.say(room.bob, "/story lifts")
    mark = room.mark()
    await room.settled()
    pieces = room.said_since(mark)
    assert len(pieces) >= 2
    assert all(utf16_length(p.body) <= 4096 for p in pieces)
    assert pieces[0].reply_to is command and all(p.reply_to is None for p in pieces[1:])
    shown = "\n".join(p.body for p in pieces)
    assert all(f"part {i:02d}" in shown for i in range(60))


# --- privacy mode, admin ------------------------------------------------------------------------


async def test_privacy_mode_bot_still_serves_commands_and_replies(
    tmp_path: Path, shared_segmenter: Segmenter
) -> None:
    url = f"sqlite:///{tmp_path / 'archive.db'}"
    async with open_room(url, tmp_path, shared_segmenter, privacy_mode=True, admin=False) as room:
        [help_reply] = await room.exchange(room.alice, "/help")
        assert help_reply.body == room.t("help", emoji=KEEP)
        [prompt] = await room.exchange(room.alice, "/consent")
        await room.press(room.alice, prompt, "all")
        assert room.level(room.alice) is Level.ALL

        # Privacy mode: plain group messages never reach the bot, so `all` keeps nothing...
        plain = room.say(room.alice, "Plain words a privacy-mode bot never sees")
        room.emu.user_reacts(room.bob, plain, KEEP)  # ...and reactions reach admins only
        await room.settled()
        assert room.kept() == []
        # ...but a reply to the bot does reach it.
        await room.exchange(room.alice, "Thanks, bot!", reply_to=help_reply)
        assert room.kept() == ["Thanks, bot!"]


# --- Telegram's failures ------------------------------------------------------------------------


async def test_rate_limited_reply_is_retried_and_arrives_once(sqlite_room: Room) -> None:
    room = sqlite_room
    calls = room.emu.mark()
    room.emu.fail_next("sendMessage", 429, retry_after=1)
    said = await room.exchange(room.bob, "/help")
    assert len(said) == 1
    sends = [c for c in room.emu.calls[calls:] if c.method == "sendMessage"]
    assert [c.error_code for c in sends] == [429, None]


async def test_rate_limited_polling_loses_no_update(sqlite_room: Room) -> None:
    room = sqlite_room
    await room.consent(room.alice, "all")
    calls = room.emu.mark()
    room.emu.fail_next("getUpdates", 429, retry_after=1)
    room.say(room.alice, "before the flood limit")
    await room.emu.wait_for_call("getUpdates", lambda c: c.error_code == 429, after=calls)
    room.say(room.alice, "during the flood limit")
    await room.settled()
    room.say(room.alice, "after the flood limit")
    await room.settled()
    assert room.kept() == [
        "before the flood limit",
        "during the flood limit",
        "after the flood limit",
    ]


async def test_a_handler_error_logs_ids_never_words_or_names(
    sqlite_room: Room, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Bob never said yes: when handling his message fails, the log (kept on the operator's
    machine) holds the update's ids and the traceback, not his words or his name."""
    room = sqlite_room
    caplog.set_level(logging.ERROR, logger="bot.platforms.telegram.adapter")

    def broken(self: Router, incoming: Incoming) -> list[Reply]:
        raise RuntimeError("a bug in a handler")

    monkeypatch.setattr(Router, "on_message", broken)
    sent = room.say(room.bob, "我家的门牌号是三号楼二零一")
    await room.settled()
    [record] = [r for r in caplog.records if r.getMessage().startswith("error while handling")]
    logged = caplog.text
    assert "a bug in a handler" in logged  # the traceback is there …
    assert f"message {sent.message_id}" in record.getMessage()  # … and which update it was
    assert f"from {room.bob.id}" in record.getMessage()
    assert "门牌号" not in logged
    assert room.bob.first_name not in logged


async def test_an_unreachable_archive_leaves_the_update_unconfirmed(
    sqlite_room: Room, monkeypatch: pytest.MonkeyPatch
) -> None:
    room = sqlite_room
    await room.consent(room.alice, "all")
    handle = Router.on_message
    failures: list[str] = []

    def flaky(self: Router, incoming: Incoming) -> list[Reply]:
        if not failures:
            failures.append(incoming.text)
            raise StorageError("database postgresql://…: connection refused")
        return handle(self, incoming)

    monkeypatch.setattr(Router, "on_message", flaky)
    calls = room.emu.mark()
    room.say(room.alice, "Written while the database was down")
    room.say(room.alice, "And one more after it")
    await room.settled()
    assert failures == ["Written while the database was down"]
    assert room.kept() == ["Written while the database was down", "And one more after it"]
    polls = [c for c in room.emu.calls[calls:] if c.method == "getUpdates" and c.ok]
    assert len(polls[1].result) == 2, "both updates came again, in order"


def telegram_config(tmp_path: Path, token: str, base_url: str) -> Path:
    """A config for ``run_bots``: an archive in ``tmp_path`` and a Telegram bot."""
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\nurl = "sqlite:///{tmp_path / "archive.db"}"\n'
        f'[telegram]\ntoken = "{token}"\nbase_url = "{base_url}"\n',
        encoding="utf-8",
    )
    return config


async def test_an_unreachable_bot_api_is_waited_for_until_stopped(
    tmp_path: Path, shared_segmenter: Segmenter, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = telegram_config(tmp_path, "1:x", f"http://127.0.0.1:{port}/bot")
    stop = asyncio.Event()
    task = asyncio.create_task(run_bots(load_config(config), stop=stop))

    def waiting() -> bool:
        return any("cannot reach the Bot API" in r.getMessage() for r in caplog.records)

    deadline = asyncio.get_running_loop().time() + 10
    while not waiting() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
    assert waiting()  # it said what it is waiting for …
    assert not task.done()  # … and kept waiting instead of crashing
    stop.set()
    await asyncio.wait_for(task, 5)


async def test_a_bot_started_before_the_network_connects_when_it_comes(
    tmp_path: Path, shared_segmenter: Segmenter, caplog: pytest.LogCaptureFixture
) -> None:
    """A bot started while the Bot API is unreachable (the machine booted before its network)
    keeps trying and connects once the server answers: here the emulator starts 5 s later."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    emu = BotApiEmulator(bot_username="memory_bot", port=port)
    config = telegram_config(tmp_path, emu.token, emu.base_url)
    stop = asyncio.Event()
    task = asyncio.create_task(run_bots(load_config(config), stop=stop))
    try:
        await asyncio.sleep(5)
        assert not task.done()
        assert any("cannot reach the Bot API" in r.getMessage() for r in caplog.records)
        async with emu:
            alice = emu.add_user("Alice")
            group = emu.create_group("阳光花园", members=[alice])
            emu.add_bot_to_group(group, by=alice)
            emu.user_sends(group, alice, "/help")
            await emu.wait_for_call("sendMessage", lambda call: call.ok, timeout=30)
            assert emu.bot_messages(group), "the bot answered once the server was there"
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert not any("not initialized" in r.getMessage() for r in caplog.records)


async def test_scheduled_posts_that_fail_to_start_are_logged_and_tried_again(
    tmp_path: Path,
    shared_segmenter: Segmenter,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.app.runner")
    monkeypatch.setattr(bot.app.runner, "SCHEDULE_RETRY_S", 0.1)
    install = PostSchedule.install
    failures: list[int] = []

    def failing_once(self: PostSchedule, *args: Any) -> None:
        if not failures:
            failures.append(1)
            raise RuntimeError("the scheduler refused a job")
        install(self, *args)

    monkeypatch.setattr(PostSchedule, "install", failing_once)
    async with BotApiEmulator(bot_username="memory_bot") as emu:
        config = telegram_config(tmp_path, emu.token, emu.base_url)
        stop = asyncio.Event()
        task = asyncio.create_task(run_bots(load_config(config), stop=stop))

        def set_up() -> bool:
            return any("scheduled posts: set up" in r.getMessage() for r in caplog.records)

        deadline = asyncio.get_running_loop().time() + 15
        while not set_up() and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, 10)
    [failed] = [r for r in caplog.records if "could not be set up" in r.getMessage()]
    assert failed.exc_info is not None and "refused a job" in caplog.text
    assert set_up(), "the second try set the posts up"


async def test_a_refused_token_is_a_config_error(
    tmp_path: Path, shared_segmenter: Segmenter
) -> None:
    async with BotApiEmulator(bot_username="memory_bot") as emu:
        config = telegram_config(tmp_path, "123456789:Revoked", emu.base_url)
        with pytest.raises(ConfigError, match=r"telegram\.token: Telegram refused the token"):
            await asyncio.wait_for(run_bots(load_config(config)), 5)


async def test_removed_bot_marks_the_space_inactive_and_readding_greets(
    sqlite_room: Room, caplog: pytest.LogCaptureFixture
) -> None:
    room = sqlite_room
    caplog.set_level(logging.WARNING, logger="bot.platforms.telegram.adapter")
    await room.stop_bot()
    calls = room.emu.mark()
    room.say(room.alice, "/help")  # queued while the bot was down...
    room.emu.remove_bot(room.group, by=room.alice)  # ...and then it was removed
    await room.start()
    await room.settled()
    [refused] = [c for c in room.emu.calls[calls:] if c.method == "sendMessage"]
    assert refused.error_code == 403
    assert any("removed from" in r.getMessage() for r in caplog.records)
    assert room.space().active is False

    mark = room.mark()
    room.emu.add_bot_to_group(room.group, by=room.alice)
    await room.settled()
    assert room.space().active is True
    assert [m.body for m in room.said_since(mark)] == [room.t("greeting")]


async def test_a_group_no_community_lists_gets_its_own(sqlite_room: Room) -> None:
    room = sqlite_room
    other = room.emu.create_group("幸福里", members=[room.bob])
    room.emu.add_bot_to_group(other, by=room.bob)
    await room.settled()
    community = f"telegram-{-other.id}"  # like telegram-1001900000002
    assert community.startswith("telegram-100")
    settings = load_community(room.db, community)
    assert settings.language == "zh" and settings.name == "幸福里"
    assert room.space(other).community_id == community
    assert [m.body for m in room.emu.bot_messages(other)] == [
        text("zh", "greeting", community="幸福里")
    ]


# --- crashes and restarts -------------------------------------------------------------------


async def test_restart_without_confirming_redelivers_and_duplicates_nothing(room: Room) -> None:
    await room.consent(room.alice, "all")
    [prompt] = await room.exchange(room.carol, "Hello neighbours")  # Carol is asked once
    story = "Bob's story of the night the pipes froze"
    bobs = room.say(room.bob, story)
    await room.settled()

    def counts() -> dict[str, int]:
        return {
            model.__name__: len(rows(room.db, model))
            for model in (Message, HeldMessage, Tag, Prompt, ConsentEvent)
        }

    calls = room.emu.mark()
    room.emu.fail_next("getUpdates", 500)  # the poll that would confirm them fails
    for i in range(5):
        room.say(room.alice, f"Alice's message number {i}")
    room.say(room.alice, "/keep", reply_to=bobs)
    room.emu.user_presses(room.carol, prompt, [b for b in buttons(prompt)][1]["callback_data"])
    await room.emu.wait_for_call("getUpdates", lambda c: c.error_code == 500, after=calls)
    assert len(room.emu.pending_updates()) == 7, "handled but not confirmed"
    before = counts()
    assert before["Message"] == 5 and before["HeldMessage"] == 1
    assert room.level(room.carol) is Level.TAGGED

    await room.crash()
    await room.start()  # Telegram delivers the seven updates again
    await room.settled()
    assert counts() == before
    assert room.kept() == [f"Alice's message number {i}" for i in range(5)]


# --- the latency figure -----------------------------------------------------------------------


async def test_measure_send_to_committed_latency(
    room: Room, capsys: pytest.CaptureFixture[str]
) -> None:
    """Reported, not asserted: from a resident sending to the row being committed."""
    await room.consent(room.alice, "all")
    space_id = room.space().id

    def committed_at(wanted: str) -> float:
        # Polled from a thread, so the event loop (the emulator and the bot) runs freely.
        while True:
            with room.db.db.read() as session:
                found = session.exec(
                    select(Message.id).where(
                        Message.space_id == space_id, Message.platform_message_id == wanted
                    )
                ).first()
            if found is not None:
                return time.perf_counter()
            time.sleep(0.0002)

    timings = []
    for i in range(50):
        started = time.perf_counter()
        message = room.emu.user_sends(room.group, room.alice, f"latency probe {i}")
        done = await asyncio.to_thread(committed_at, str(message.message_id))
        timings.append(done - started)
    await room.settled()
    median = statistics.median(timings) * 1000
    with capsys.disabled():
        backend = "sqlite" if on_sqlite(room) else "postgresql"
        print(f"\n[telegram] send → committed row, median of 50 on {backend}: {median:.1f} ms")
    assert len(room.kept()) == 50
