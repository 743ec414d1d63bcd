"""Posting digests and memories through the real Telegram adapter (Bot API emulator), end
to end: the picture and the text arrive, each post once (across a restart, with two senders
at once, with a second ``--post``), missed slots on start-up, and nothing a resident did not
agree to — no unkept or erased message, no anonymous author's name."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, update
from typer.testing import CliRunner, Result

from archiver.archive import Archive, open_archive
from archiver.community import ensure_community
from archiver.consent import Actor, Attribution, Level, Method, set_attribution, set_level
from archiver.digest import IsoWeek
from archiver.events import AccountRef, ChatRef, MediaRef, MessageEvent, TagEvent, TagMethod
from archiver.forget import forget_message
from archiver.ingest import ingest_message
from archiver.media import MediaSettings
from archiver.media_files import FileOutcome, keep_file, read_file
from archiver.picture import find_cjk_font
from archiver.posts import DIGEST, ON_THIS_DAY, status
from archiver.preservation import tag_message
from archiver.segmentation import Segmenter
from bot.app.config import Config, load_config
from bot.app.posting import Outcome, Poster
from bot.app.schedule import DAYS, latest_slot
from bot.cli.main import app
from bot.platforms.telegram.adapter import TelegramAdapter
from sandbox.emulator import BotApiEmulator, Chat, User
from sandbox.emulator.model import Message as TgMessage
from storage.db import Database
from storage.models import Community
from tests.test_media import _jpeg_with_gps
from tests.test_telegram import Room, shared_segmenter  # noqa: F401  (a fixture)
from tests.test_telegram_media import GPS_POSITION

COMMUNITY = "sunshine"
ZONE = ZoneInfo("Asia/Shanghai")
PNG = b"\x89PNG\r\n\x1a\n"
UNKEPT = "Carol's private words, never kept"
ERASED = "Bob's message, erased afterwards"


@dataclass
class Setup:
    emu: BotApiEmulator
    group: Chat
    alice: User
    bob: User
    carol: User
    url: str
    config_path: Path
    archive: Archive

    @property
    def config(self) -> Config:
        return load_config(self.config_path)

    @property
    def chat(self) -> ChatRef:
        return ChatRef("telegram", str(self.group.id))

    def account(self, user: User) -> AccountRef:
        return AccountRef("telegram", str(user.id))

    def keep(self, user: User, message_id: int, words: str, at: datetime) -> MessageEvent:
        event = MessageEvent(
            chat=self.chat,
            message_id=str(message_id),
            author=self.account(user),
            sent_at=at,
            text=words,
            author_name=user.first_name,
        )
        ingest_message(self.archive, event)
        return event

    def tag(self, user: User, event: MessageEvent) -> None:
        tag_message(
            self.archive,
            TagEvent(
                chat=self.chat,
                message_id=event.message_id,
                tagger=self.account(user),
                method=TagMethod.COMMAND,
                target=event,
            ),
        )

    def posts(self) -> list[TgMessage]:
        return self.emu.bot_messages(self.group)

    def write_config(self, *, digest: str = "", on_this_day: str = "", site: str = "") -> None:
        self.config_path.write_text(
            f"""
[storage]
url = "{self.url}"

[site]
out = "{site}"

[telegram]
token = "{self.emu.token}"
base_url = "{self.emu.base_url}"

[[communities]]
id = "{COMMUNITY}"
name = "Sunshine Garden"
language = "en"
timezone = "Asia/Shanghai"
digest = "{digest}"
on_this_day = "{on_this_day}"
spaces = [{{ platform = "telegram", chat = "{self.group.id}" }}]
""",
            encoding="utf-8",
        )


@pytest.fixture
async def setup(
    db_url: str,
    tmp_path: Path,
    shared_segmenter: Segmenter,  # noqa: F811
) -> AsyncIterator[Setup]:
    """The emulator with the bot in a group of three; an archive made three days ago where
    Alice (anonymous) and Bob (named) keep everything and Carol said no."""
    async with BotApiEmulator(bot_username="memory_bot") as emu:
        alice = emu.add_user("Alice")
        bob = emu.add_user("Bob")
        carol = emu.add_user("Carol")
        group = emu.create_group("Sunshine Garden", members=[alice, bob, carol])
        emu.add_bot_to_group(group, by=alice, admin=True)
        archive = open_archive(db_url)
        found = Setup(emu, group, alice, bob, carol, db_url, tmp_path / "config.toml", archive)
        found.write_config()
        ensure_community(archive, found.config.communities[0].to_settings())
        with archive.db.write() as session:
            session.execute(
                update(Community)
                .where(col(Community.id) == COMMUNITY)
                .values(created_at=datetime.now(UTC) - timedelta(days=3))
            )
        for user, level in ((alice, Level.ALL), (bob, Level.ALL), (carol, Level.NONE)):
            actor = Actor(found.account(user))
            set_level(
                archive,
                COMMUNITY,
                found.account(user),
                level,
                actor=actor,
                method=Method.COMMAND,
                display_name=user.first_name,
            )
        set_attribution(
            archive,
            COMMUNITY,
            found.account(bob),
            Attribution.NAMED,
            actor=Actor(found.account(bob)),
            method=Method.COMMAND,
        )
        try:
            yield found
        finally:
            archive.close()


def fill_week(setup: Setup, week: IsoWeek) -> None:
    """A week with kept, tagged, unkept and erased messages."""
    monday = datetime.combine(week.monday, datetime.min.time(), ZONE)
    at = monday + timedelta(hours=10)
    lift = setup.keep(setup.alice, 1, "The lift in block 3 works again, thanks volunteers", at)
    party = setup.keep(setup.bob, 2, "Volunteers party on Saturday in the garden", at)
    setup.keep(setup.alice, 3, "The garden party was lovely, volunteers rock", at)
    setup.keep(setup.carol, 4, UNKEPT, at)
    erased = setup.keep(setup.bob, 5, ERASED, at)
    setup.tag(setup.bob, lift)
    setup.tag(setup.carol, lift)
    setup.tag(setup.alice, party)
    setup.tag(setup.alice, erased)
    forget_message(setup.archive, setup.chat, "5", actor=Actor(setup.account(setup.bob)))


async def cli(*args: str, config: Path) -> Result:
    """The CLI in a thread of its own (it runs its own event loop; the emulator needs ours)."""
    return await asyncio.to_thread(
        CliRunner().invoke, app, ["--config", str(config), *args], catch_exceptions=False
    )


@contextlib.asynccontextmanager
async def running(setup: Setup) -> AsyncIterator[Room]:
    room = Room(setup.emu, setup.group, setup.alice, setup.bob, setup.carol, setup.config)
    await room.start()
    try:
        yield room
    finally:
        if room.task is not None and not room.task.done():
            await room.stop_bot()


def assert_clean(text: str) -> None:
    """Nothing unkept or erased, and the anonymous author not named."""
    assert UNKEPT not in text and "Carol" not in text
    assert ERASED not in text
    assert "Alice" not in text


# --- the digest: picture and text, once ---------------------------------------------------------


async def test_digest_post_sends_picture_and_text_once(setup: Setup) -> None:
    week = IsoWeek.containing(datetime.now(ZONE).date() - timedelta(days=7))
    fill_week(setup, week)
    result = await cli(
        "digest", "--community", COMMUNITY, "--week", str(week), "--post", config=setup.config_path
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"posted digest {week} of {COMMUNITY}"
    posts = setup.posts()
    text = "\n".join(m.body for m in posts)
    assert "Kept this week: 3 messages from 2 neighbours." in text
    assert "a neighbour: “The lift in block 3 works again, thanks volunteers”" in text
    assert "Bob: “Volunteers party on Saturday in the garden”" in text
    assert_clean(text)
    if find_cjk_font() is not None:
        assert posts[0].photo, "the picture comes first, the text as its caption"
        picture = setup.emu.photo_bytes(posts[0])
        assert picture.startswith(PNG) and len(picture) > 10_000
        assert posts[0].caption and posts[0].caption.startswith("📖 Sunshine Garden")
    assert status(setup.archive, COMMUNITY, DIGEST, str(week)) == "sent"

    # A second --post of the same week sends nothing, and says so.
    again = await cli(
        "digest", "--community", COMMUNITY, "--week", str(week), "--post", config=setup.config_path
    )
    assert again.exit_code == 0
    assert again.output.strip() == f"digest {week} of {COMMUNITY} was already posted; nothing sent"
    assert len(setup.posts()) == len(posts)


@pytest.mark.parametrize("quiet_digest", [True, False])
async def test_quiet_week(setup: Setup, quiet_digest: bool) -> None:
    week = IsoWeek.containing(datetime.now(ZONE).date() - timedelta(days=14))
    settings = replace(setup.config.communities[0].to_settings(), quiet_digest=quiet_digest)
    adapter = TelegramAdapter(_router(setup.archive), setup.emu.token, base_url=setup.emu.base_url)
    async with adapter.connected():
        outcome = await Poster(setup.archive, {"telegram": adapter}).post_digest(settings, week)
    if quiet_digest:
        assert outcome is Outcome.SENT
        [post] = setup.posts()
        assert post.body.startswith("🌙 A quiet week in Sunshine Garden")
        assert not post.photo
    else:
        assert outcome is Outcome.NOTHING
        assert setup.posts() == []
        assert status(setup.archive, COMMUNITY, DIGEST, str(week)) is None


async def test_two_senders_at_once_post_once(setup: Setup) -> None:
    """Two instances (each with its own database connection and bot) race for one post."""
    day = datetime.now(ZONE).date()
    setup.keep(
        setup.bob,
        1,
        "a year ago today the lift was fixed",
        datetime.combine(
            day.replace(year=day.year - 1)
            if (day.month, day.day) != (2, 29)
            else day.replace(year=day.year - 4),
            datetime.min.time(),
            ZONE,
        )
        + timedelta(hours=12),
    )
    settings = setup.config.communities[0].to_settings()
    archives = [Archive(db=Database(setup.url), segmenter=setup.archive.segmenter) for _ in "ab"]
    adapters = [
        TelegramAdapter(_router(a), setup.emu.token, base_url=setup.emu.base_url) for a in archives
    ]
    try:
        async with adapters[0].connected(), adapters[1].connected():
            outcomes = await asyncio.gather(
                *(
                    Poster(archive, {"telegram": adapter}).post_on_this_day(settings, day)
                    for archive, adapter in zip(archives, adapters, strict=True)
                )
            )
    finally:
        for archive in archives:
            archive.close()
    assert sorted(outcomes) == sorted([Outcome.SENT, Outcome.ALREADY])
    [post] = setup.posts()
    assert "a year ago today the lift was fixed" in post.body and "Bob" in post.body


# --- on this day: missed slots, restarts, the CLI ------------------------------------------------


async def test_missed_slot_is_posted_once_on_start_up(setup: Setup) -> None:
    now = datetime.now(ZONE)
    two_hours_ago = (now - timedelta(hours=2)).strftime("%H:%M")
    three_days_ago = now - timedelta(days=3)
    digest = f"{DAYS[three_days_ago.weekday()]} {three_days_ago.strftime('%H:%M')}"
    setup.write_config(digest=digest, on_this_day=two_hours_ago)
    settings = setup.config.communities[0].to_settings()
    slot = latest_slot(settings, ON_THIS_DAY, now)
    assert slot is not None and slot.day in (now.date(), now.date() - timedelta(days=1))
    years = 4 if (slot.day.month, slot.day.day) == (2, 29) else 1
    then = datetime.combine(slot.day.replace(year=slot.day.year - years), datetime.min.time(), ZONE)
    setup.keep(setup.alice, 1, "The first snow on the playground", then + timedelta(hours=9))
    setup.keep(setup.carol, 2, UNKEPT, then + timedelta(hours=10))

    async with running(setup):
        call = await setup.emu.wait_for_call(
            "sendMessage", lambda c: "On this day" in str(c.params.get("text")), timeout=10
        )
    text = str(call.params["text"])
    assert "a neighbour: The first snow on the playground" in text
    assert_clean(text)
    assert status(setup.archive, COMMUNITY, ON_THIS_DAY, slot.period) == "sent"
    # The digest slot, three days late, was not posted.
    assert all("this week" not in m.body for m in setup.posts())
    assert len(memories(setup)) == 1

    # A restart: the slot is still less than a day late, but it was posted.
    async with running(setup) as room:
        await room.settled()
        await asyncio.sleep(0.5)  # the start-up check runs right after connecting
    assert len(memories(setup)) == 1

    # And by hand: already posted.
    result = await cli(
        "onthisday",
        "--community",
        COMMUNITY,
        "--date",
        slot.period,
        "--post",
        config=setup.config_path,
    )
    assert result.exit_code == 0
    assert "already posted" in result.output
    assert len(memories(setup)) == 1


async def test_the_archive_website_is_rebuilt_after_the_weekly_digest(
    setup: Setup, tmp_path: Path
) -> None:
    """[site] out: after the digest slot (missed two hours ago, posted on start-up) the
    community's site is rebuilt in OUT/<community id>/, with what is kept and nothing else."""
    now = datetime.now(ZONE)
    two_hours_ago = now - timedelta(hours=2)
    digest = f"{DAYS[two_hours_ago.weekday()]} {two_hours_ago.strftime('%H:%M')}"
    setup.write_config(digest=digest, site=str(tmp_path / "site"))
    setup.keep(setup.alice, 1, "The lift works again, thanks to everyone", now - timedelta(hours=3))
    setup.keep(setup.carol, 2, UNKEPT, now - timedelta(hours=3))
    index = tmp_path / "site" / COMMUNITY / "index.html"
    async with running(setup):
        deadline = asyncio.get_running_loop().time() + 20
        while not index.exists() and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
    assert index.is_file(), "the site was rebuilt after the digest"
    assert any("this week" in m.body for m in setup.posts()), "after the digest was posted"
    pages = "".join(p.read_text("utf-8") for p in (tmp_path / "site").rglob("*") if p.is_file())
    assert "The lift works again, thanks to everyone" in pages
    assert UNKEPT not in pages


def memories(setup: Setup) -> list[TgMessage]:
    """The bot's "on this day" posts (the greeting when it joined is not one)."""
    return [m for m in setup.posts() if "On this day" in m.body]


async def test_onthisday_post_on_an_empty_day_sends_nothing(setup: Setup) -> None:
    result = await cli(
        "onthisday",
        "--community",
        COMMUNITY,
        "--date",
        "2026-11-27",
        "--post",
        config=setup.config_path,
    )
    assert result.exit_code == 0
    assert result.output.strip() == f"nothing to post for onthisday 2026-11-27 of {COMMUNITY}"
    assert setup.posts() == []
    assert status(setup.archive, COMMUNITY, ON_THIS_DAY, "2026-11-27") is None


async def test_the_digest_and_on_this_day_post_residents_photos(
    setup: Setup, tmp_path: Path
) -> None:
    """The week's most-tagged photo follows the digest with its caption; a memory with a
    photo is posted as that photo. What is sent is the stored, cleaned file — no GPS."""
    setup.archive.media = MediaSettings(tmp_path / "media")  # the config's default media_dir
    week = IsoWeek.containing(datetime.now(ZONE).date() - timedelta(days=7))
    fill_week(setup, week)
    at = datetime.combine(week.monday, datetime.min.time(), ZONE) + timedelta(hours=11)
    bench = setup.keep(setup.bob, 6, "The new bench by the pond", at)
    untagged = setup.keep(setup.alice, 7, "", at + timedelta(minutes=5))
    for event in (bench, untagged):
        result = keep_file(
            setup.archive, setup.chat, event.message_id, _jpeg_with_gps(), MediaRef("photo", "f")
        )
        assert result.outcome is FileOutcome.STORED
    setup.tag(setup.carol, bench)  # Carol said no to keeping her words, not to tagging
    stored = read_file(setup.archive, COMMUNITY, result.sha256 or "")
    assert stored is not None and GPS_POSITION not in stored

    result = await cli(
        "digest", "--community", COMMUNITY, "--week", str(week), "--post", config=setup.config_path
    )
    assert result.exit_code == 0, result.output
    photo = setup.posts()[-1]
    assert photo.photo and setup.emu.photo_bytes(photo) == stored
    assert photo.caption == "📷 Photo of the week · Bob: The new bench by the pond"

    # A year later, that day's memory is posted as its photo, the memories as the caption.
    day = at.date().replace(year=at.year + 1)
    result = await cli(
        "onthisday", "--community", COMMUNITY, "--date", str(day), "--post",
        config=setup.config_path,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    [memory] = memories(setup)
    assert memory.photo and setup.emu.photo_bytes(memory) in {stored}
    assert "The new bench by the pond" in memory.body
    assert GPS_POSITION not in setup.emu.photo_bytes(memory)
    assert_clean(memory.body)


async def test_post_without_a_platform_is_one_line_error(setup: Setup, tmp_path: Path) -> None:
    bare = tmp_path / "bare.toml"
    bare.write_text(
        f'[storage]\nurl = "{setup.url}"\n\n[[communities]]\nid = "{COMMUNITY}"\nname = "S"\n',
        encoding="utf-8",
    )
    result = await asyncio.to_thread(
        CliRunner().invoke,
        app,
        ["--config", str(bare), "onthisday", "--community", COMMUNITY, "--post"],
    )
    assert result.exit_code == 1
    assert "no platform to post through" in result.output
    assert "Traceback" not in result.output


def _router(archive: Archive):  # type: ignore[no-untyped-def]
    from bot.chat.router import Router

    return Router(archive)
