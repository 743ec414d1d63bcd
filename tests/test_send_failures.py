"""A post the platform refuses is not a post: it is not recorded as sent, and it can go out
later. Proven through the real adapters: Telegram's 403 from the Bot API emulator (the bot
removed from the group while it was not running), and on a real Synapse a room that kicked
the bot, or one where the bot lacks the power to speak (``events_default`` above its level).
Each refusal sits beside the same post going out and being recorded once the chat takes the
bot's messages again. A refused answer to a resident is logged and the bot goes on.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from nio import (
    RoomCreateResponse,
    RoomGetStateEventResponse,
    RoomInviteResponse,
    RoomKickResponse,
    RoomPutStateResponse,
)
from sqlmodel import col, update

from archiver.archive import Archive, open_archive
from archiver.community import (
    CommunitySettings,
    SpaceRef,
    active_spaces,
    community_of_chat,
    ensure_community,
)
from archiver.consent import Actor, Level, Method, set_level
from archiver.digest import IsoWeek
from archiver.events import AccountRef, ChatRef, MessageEvent
from archiver.ingest import ingest_message
from archiver.posts import DIGEST, ON_THIS_DAY, status
from archiver.segmentation import Segmenter
from bot.app.config import load_config
from bot.app.schedule import latest_slot
from storage.models import Community
from tests.matrix_server import Synapse
from tests.test_matrix import (
    Room,
    _cli,
    _resident,
    _write_config,
    eventually,
    room,  # noqa: F401  (a fixture)
)
from tests.test_posting import (
    COMMUNITY,
    ZONE,
    Setup,
    cli,
    memories,
    running,
    setup,  # noqa: F401  (a fixture)
)
from tests.test_telegram import shared_segmenter  # noqa: F401  (a fixture)

MEMORY = "A year ago today the volunteers fixed the lift"


def a_year_before(day: date) -> date:
    """The same day a year earlier (29 February: four years)."""
    years = 4 if (day.month, day.day) == (2, 29) else 1
    return day.replace(year=day.year - years)


def keep_memory(setup: Setup) -> date:  # noqa: F811
    """A kept message from a year ago today (Shanghai time): today has a memory to post."""
    day = datetime.now(ZONE).date()
    then = datetime.combine(a_year_before(day), datetime.min.time(), ZONE) + timedelta(hours=12)
    setup.keep(setup.bob, 1, MEMORY, then)
    return day


# --- Telegram ------------------------------------------------------------------------------------


async def test_telegram_a_post_is_recorded_as_sent(setup: Setup) -> None:  # noqa: F811
    """The positive twin: delivered, so recorded; a second --post sends nothing."""
    day = keep_memory(setup)
    args = ("onthisday", "--community", COMMUNITY, "--date", day.isoformat(), "--post")
    result = await cli(*args, config=setup.config_path)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"posted onthisday {day} of {COMMUNITY}"
    assert status(setup.archive, COMMUNITY, ON_THIS_DAY, day.isoformat()) == "sent"
    [post] = memories(setup)
    assert MEMORY in post.body

    again = await cli(*args, config=setup.config_path)
    assert again.exit_code == 0 and "already posted" in again.output
    assert len(memories(setup)) == 1


async def test_telegram_a_post_the_group_refuses_is_not_recorded_and_goes_out_later(
    setup: Setup,  # noqa: F811
) -> None:
    """The bot was removed while it was not running (it has not heard): the Bot API answers
    403, so the post is not recorded, --post fails with one line, the group is marked
    inactive. Added back, the bot hears it, and the same post goes out, recorded once."""
    day = keep_memory(setup)
    args = ("onthisday", "--community", COMMUNITY, "--date", day.isoformat(), "--post")
    setup.emu.remove_bot(setup.group, by=setup.alice)

    refused = await cli(*args, config=setup.config_path)
    assert refused.exit_code == 1
    assert f"onthisday {day} of {COMMUNITY} was not posted" in refused.output
    assert "refused (Forbidden: bot was kicked from the supergroup chat)" in refused.output
    assert "Traceback" not in refused.output
    assert status(setup.archive, COMMUNITY, ON_THIS_DAY, day.isoformat()) is None
    assert memories(setup) == []
    assert active_spaces(setup.archive, COMMUNITY) == []

    setup.emu.add_bot_to_group(setup.group, by=setup.alice, admin=True)
    async with running(setup) as bot:  # hears that it was removed, then added again
        await bot.settled()
    assert active_spaces(setup.archive, COMMUNITY) == [SpaceRef("telegram", str(setup.group.id))]

    posted = await cli(*args, config=setup.config_path)
    assert posted.exit_code == 0, posted.output
    assert posted.output.strip() == f"posted onthisday {day} of {COMMUNITY}"
    assert status(setup.archive, COMMUNITY, ON_THIS_DAY, day.isoformat()) == "sent"
    [post] = memories(setup)
    assert MEMORY in post.body


async def test_telegram_a_refused_reply_is_logged_and_the_bot_goes_on(
    setup: Setup,  # noqa: F811
    caplog: Any,
) -> None:
    """A 403 on the answer to a command does not stop polling: the update is confirmed,
    the refusal logged, and the next command is answered."""
    caplog.set_level(logging.WARNING, logger="bot.platforms.telegram.adapter")
    async with running(setup) as bot:
        await bot.settled()
        setup.emu.fail_next(
            "sendMessage", 403, description="Forbidden: bot was kicked from the supergroup chat"
        )
        refused = await bot.exchange(setup.alice, "/help")
        assert refused == []
        assert any("removed from" in r.getMessage() for r in caplog.records)
        assert bot.task is not None and not bot.task.done()

        answered = await bot.exchange(setup.alice, "/help")
        assert len(answered) == 1 and "/consent" in answered[0].body
    # Nothing reached the error handler: the refusal was not an error of the update's.
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_telegram_a_reply_without_the_right_to_write_is_logged_without_a_traceback(
    setup: Setup,  # noqa: F811
    caplog: Any,
) -> None:
    """400 "not enough rights" (a group that took away the bot's right to write) is the
    platform's answer, mapped to SendRefusedError at the adapter: logged in one line, the
    space stays active (the bot is still a member), and the bot goes on."""
    caplog.set_level(logging.WARNING, logger="bot.platforms.telegram.adapter")
    async with running(setup) as bot:
        await bot.settled()
        setup.emu.fail_next(
            "sendMessage",
            400,
            description="Bad Request: not enough rights to send text messages to the chat",
        )
        assert await bot.exchange(setup.alice, "/help") == []
        [warning] = [r for r in caplog.records if "was not delivered" in r.getMessage()]
        assert "not enough rights" in warning.getMessage().lower() and warning.exc_info is None
        answered = await bot.exchange(setup.alice, "/help")
        assert len(answered) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert active_spaces(setup.archive, COMMUNITY) == [SpaceRef("telegram", str(setup.group.id))]


# --- Matrix --------------------------------------------------------------------------------------


async def test_matrix_a_post_to_a_room_that_kicked_the_bot_is_not_recorded_until_it_is_back(
    room: Room,  # noqa: F811
) -> None:
    """Kicked while it was down, the bot's ``digest --post`` is refused (M_FORBIDDEN): not
    recorded, one line, the room marked inactive. Invited back, the same digest goes out and
    is recorded."""
    await room.consent_all(room.alice)
    for words in ("the lift in block 3 works again", "volunteers party on saturday"):
        await room.alice.say(room.room_id, words)
    await room.settled()
    assert room.archive is not None
    community = community_of_chat(room.archive, room.chat)
    assert community is not None
    week = str(IsoWeek.containing(datetime.now(ZoneInfo("Asia/Shanghai")).date()))
    args = ("digest", "--community", community, "--week", week, "--post")

    await room.stop_bot()  # down: it does not hear that it was kicked
    kicked = await room.alice.client.room_kick(room.room_id, room.bot.user_id, "testing")
    assert isinstance(kicked, RoomKickResponse), kicked
    before = [e["event_id"] for e in await room.bot_events()]

    refused = await _cli(*args, config=room.config_path)
    assert refused.exit_code == 1
    assert f"digest {week} of {community} was not posted" in refused.output
    assert "refused (M_FORBIDDEN" in refused.output
    assert "Traceback" not in refused.output
    assert status(room.archive, community, DIGEST, week) is None
    assert active_spaces(room.archive, community) == []
    assert [e["event_id"] for e in await room.bot_events()] == before

    await room.start()
    invited = await room.alice.client.room_invite(room.room_id, room.bot.user_id)
    assert isinstance(invited, RoomInviteResponse), invited
    await eventually(
        lambda: _more_than(room.bot_events(), len(before)), "the greeting on coming back"
    )
    await room.settled()
    assert active_spaces(room.archive, community) == [SpaceRef("matrix", room.room_id)]

    posted = await _cli(*args, config=room.config_path)
    assert posted.exit_code == 0, posted.output
    assert posted.output.strip() == f"posted digest {week} of {community}"
    assert status(room.archive, community, DIGEST, week) == "sent"
    digests = [e for e in await room.bot_events() if "2 条消息" in e["content"].get("body", "")]
    assert len(digests) == 1


async def test_matrix_a_scheduled_post_without_power_to_speak_waits_until_it_may(
    synapse: Synapse, tmp_path: Path, segmenter: Segmenter, caplog: Any
) -> None:
    """The room lets only moderators speak (``events_default: 50``). The running bot's
    scheduled memories post is refused: not recorded, and the room stays active (the bot is
    still in it). Its refused answers to residents are only logged, and it goes on keeping
    their words. Once the room lets it speak, the next start posts the memories, once."""
    caplog.set_level(logging.INFO)
    tag = uuid.uuid4().hex[:8]
    alice = await _resident(synapse, f"alice-{tag}")
    bot = await asyncio.to_thread(synapse.register, f"memory-{tag}")
    created = await alice.client.room_create(
        name="Quiet garden",
        invite=[bot.user_id],
        power_level_override={"events_default": 50},
    )
    assert isinstance(created, RoomCreateResponse), created
    room_id = created.room_id
    chat = ChatRef("matrix", room_id)
    now = datetime.now(UTC)
    db_url = f"sqlite:///{tmp_path / 'archive.db'}"
    config = tmp_path / "config.toml"
    _write_config(
        config,
        synapse,
        bot,
        db_url,
        tmp_path / "matrix-store",
        extra=f"""
[[communities]]
id = "quiet"
name = "Quiet garden"
language = "en"
timezone = "UTC"
digest = ""
on_this_day = "{(now - timedelta(hours=2)).strftime("%H:%M")}"
spaces = [{{ platform = "matrix", room = "{room_id}" }}]
""",
    )
    settings = load_config(config).communities[0].to_settings()
    slot = latest_slot(settings, ON_THIS_DAY, now)
    assert slot is not None
    prepare_memory(db_url, settings, chat, alice.ref, slot.day)

    the_room = Room(
        synapse,
        room_id,
        bot,
        alice,
        alice,
        alice,
        alice,
        config,
        tmp_path / "matrix-store",
        db_url,
        segmenter,
    )
    try:
        await the_room.start()  # joins on its first sync, then checks for missed posts
        await eventually(
            lambda: _logged(caplog, f"scheduled onthisday {slot.period} of quiet failed"),
            "the refused scheduled post",
        )
        assert the_room.archive is not None
        assert status(the_room.archive, "quiet", ON_THIS_DAY, slot.period) is None
        assert active_spaces(the_room.archive, "quiet") == [SpaceRef("matrix", room_id)]
        assert _logged(caplog, "M_FORBIDDEN")

        # Its answers are refused too (logged); it still keeps what the residents say.
        await alice.say(room_id, "!help")
        await alice.say(room_id, "said while the bot may not speak")
        await eventually(
            lambda: "said while the bot may not speak" in the_room.kept_texts(),
            "the message kept",
        )
        assert the_room.kept_texts() == [MEMORY, "said while the bot may not speak"]
        assert _logged(caplog, "a reply was not delivered")
        assert the_room.task is not None and not the_room.task.done()
        assert await the_room.bot_events() == []

        await the_room.stop_bot()
        levels = await alice.client.room_get_state_event(room_id, "m.room.power_levels")
        assert isinstance(levels, RoomGetStateEventResponse), levels
        allowed = await alice.client.room_put_state(
            room_id, "m.room.power_levels", {**levels.content, "events_default": 0}
        )
        assert isinstance(allowed, RoomPutStateResponse), allowed
        await the_room.start()
        await eventually(
            lambda: status(the_room.archive, "quiet", ON_THIS_DAY, slot.period) == "sent",
            "the memories posted",
        )
        await the_room.stop_bot()
        posts = [e for e in await the_room.bot_events() if MEMORY in e["content"]["body"]]
        assert len(posts) == 1
        assert posts[0]["content"]["msgtype"] == "m.notice"
    finally:
        if the_room.task is not None and not the_room.task.done():
            await the_room.stop_bot()
        if the_room.archive is not None:
            the_room.archive.close()
        await alice.client.close()


def prepare_memory(
    db_url: str,
    settings: CommunitySettings,
    chat: ChatRef,
    author: AccountRef,
    day: date,
) -> None:
    """The archive before the bot starts: the community made three days ago (so today's slot
    is one it missed), its author's consent, and a message kept a year before ``day``."""
    archive: Archive = open_archive(db_url)
    try:
        ensure_community(archive, settings)
        with archive.db.write() as session:
            session.execute(
                update(Community)
                .where(col(Community.id) == settings.id)
                .values(created_at=datetime.now(UTC) - timedelta(days=3))
            )
        set_level(
            archive, settings.id, author, Level.ALL, actor=Actor(author), method=Method.COMMAND
        )
        then = datetime.combine(a_year_before(day), datetime.min.time(), UTC)
        ingest_message(
            archive,
            MessageEvent(
                chat=chat,
                message_id="$a-year-ago",
                author=author,
                sent_at=then + timedelta(hours=12),
                text=MEMORY,
            ),
        )
    finally:
        archive.close()


def _logged(caplog: Any, words: str) -> bool:
    return any(words in record.getMessage() for record in caplog.records)


async def _more_than(events: Any, count: int) -> bool:
    return len(await events) > count
