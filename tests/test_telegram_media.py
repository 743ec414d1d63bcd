"""Photos, voice and files on Telegram, end to end: the real bot downloads a file only for a
message the archive keeps or holds, strips a photo's metadata before the first byte is
written, and the file goes when its message is forgotten or its hold refused.

The bot runs as in ``tests/test_telegram.py`` (``run_bots`` against the Bot API emulator);
files download in the adapter's media queue after the text is settled, so the tests wait for
the queue by what it leaves behind (a row, a getFile call, a reply) — a later kept file shows
that every earlier one in the queue was dealt with.
"""

from __future__ import annotations

import asyncio
import hashlib
import struct
from collections.abc import Callable
from pathlib import Path

from sqlmodel import select

from archiver.media import stored_path
from archiver.mydata import what_we_hold
from sandbox.emulator.model import Message as TgMessage
from storage.models import HeldMessage, Media, Message
from tests import test_telegram_prompts as prompts
from tests.conftest import COMMUNITY, rows
from tests.test_media import OWNER, SERIAL, _jpeg_with_gps
from tests.test_telegram import KEEP, Room, account, answers

# The photo's latitude as its EXIF holds it: 31/1°, 13/1′, 189/4″ (little-endian rationals).
GPS_POSITION = struct.pack("<6I", 31, 1, 13, 1, 189, 4)


# The rooms of tests/test_telegram_prompts.py (a group with the bot running; every backend,
# or SQLite only).
room = prompts.room
sqlite_room = prompts.sqlite_room


async def until(condition: Callable[[], bool], timeout: float = 10) -> None:
    """Wait for what the media queue does after the update was handled."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("the media queue did not get there in time")
        await asyncio.sleep(0.05)


def files(room: Room) -> list[Path]:
    folder = Path(room.config.storage.media_dir)
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def file_ids_fetched(room: Room) -> list[str]:
    return [c.params["file_id"] for c in room.emu.calls if c.method.lower() == "getfile"]


def file_id(message: TgMessage) -> str:
    if message.photo:
        return str(message.photo[-1]["file_id"])
    assert message.attachment is not None
    return str(message.attachment[1]["file_id"])


async def test_a_kept_photo_is_stored_clean_and_an_unconsented_one_is_never_fetched(
    room: Room,
) -> None:
    await room.consent(room.alice, "all")
    assert GPS_POSITION in _jpeg_with_gps(), "the test photo really carries the position"
    stranger = room.emu.user_sends_photo(room.group, room.bob, _jpeg_with_gps(), caption="我家阳台")
    kept = room.emu.user_sends_photo(
        room.group, room.alice, _jpeg_with_gps(), caption="The new lift, first day"
    )
    await room.settled()
    await until(lambda: len(rows(room.db, Media)) == 1)

    assert room.kept() == ["The new lift, first day"]
    assert file_ids_fetched(room) == [file_id(kept)], "Bob's photo was never downloaded"
    assert file_id(stranger) not in file_ids_fetched(room)
    [media] = rows(room.db, Media)
    assert (media.kind, media.mime, media.width, media.height) == ("photo", "image/jpeg", 640, 480)
    assert media.has_thumbnail and media.file_name is None
    stored = files(room)
    assert len(stored) == 2, "the photo and its thumbnail, one copy each"
    for path in stored:
        data = path.read_bytes()
        for leak in (GPS_POSITION, SERIAL, OWNER, b"Exif\x00\x00", b"xmpmeta"):
            assert leak not in data, (path, leak)
    photo = stored_path(Path(room.config.storage.media_dir), COMMUNITY, media.sha256)
    assert hashlib.sha256(photo.read_bytes()).hexdigest() == media.sha256
    assert what_we_hold(room.db, COMMUNITY, account(room.alice)).files == 1

    # Forgetting the message takes its file and thumbnail with it.
    said = await room.exchange(room.alice, "/forget", reply_to=kept)
    assert [m.body for m in said] == [room.t("forget_message_done")]
    assert rows(room.db, Media) == [] and files(room) == []


async def test_a_held_photo_lives_and_dies_with_its_held_text(sqlite_room: Room) -> None:
    room = sqlite_room
    await room.consent(room.alice, "all")
    refused = room.emu.user_sends_photo(room.group, room.bob, _jpeg_with_gps(), caption="楼道")
    await room.settled()
    mark = room.mark()
    room.emu.user_reacts(room.alice, refused, KEEP)
    await room.settled()
    assert room.held() == ["楼道"]
    await until(lambda: len(rows(room.db, Media)) == 1)
    assert len(files(room)) == 2, "held: kept apart, file included, until Bob answers"

    [prompt] = [m for m in room.said_since(mark) if answers(m) == ["yes", "no"]]
    await room.press(room.bob, prompt, "no")
    assert rows(room.db, HeldMessage) == [] and room.kept() == []
    assert rows(room.db, Media) == [] and files(room) == [], "refused: no file, no thumbnail"

    # The same with a yes: the file stays with the released message.
    agreed = room.emu.user_sends_photo(room.group, room.carol, _jpeg_with_gps(), caption="花园")
    await room.settled()
    mark = room.mark()
    room.emu.user_reacts(room.alice, agreed, KEEP)
    await room.settled()
    await until(lambda: len(rows(room.db, Media)) == 1)
    [prompt] = [m for m in room.said_since(mark) if answers(m) == ["yes", "no"]]
    await room.press(room.carol, prompt, "yes")
    assert room.kept() == ["花园"] and len(files(room)) == 2


async def test_voice_and_documents_are_kept_as_sent_and_big_files_refused_once(
    sqlite_room: Room,
) -> None:
    room = sqlite_room
    await room.consent(room.alice, "all")
    voice = b"OggS" + bytes(range(256)) * 64
    room.emu.user_sends_file(room.group, room.alice, voice, "voice", mime_type="audio/ogg")
    pdf = b"%PDF-1.4 donation list " + b"x" * 2000
    room.emu.user_sends_file(
        room.group, room.alice, pdf, "document", file_name="捐款名单.pdf", caption="捐款名单"
    )
    await room.settled()
    await until(lambda: len(rows(room.db, Media)) == 2)
    by_kind = {m.kind: m for m in rows(room.db, Media)}
    assert by_kind["voice"].mime == "audio/ogg" and by_kind["voice"].duration == 1
    assert by_kind["document"].file_name == "捐款名单.pdf"
    assert by_kind["document"].mime == "application/pdf"
    stored = {p.read_bytes() for p in files(room)}
    assert stored == {voice, pdf}, "non-images are kept byte for byte, without thumbnails"

    # Over the 20 MB a bot may download: the caption is kept, the file is not, the sender
    # hears why once.
    mark = room.mark()
    big = b"\x00\x00\x00\x18ftypmp42" + bytes(21 * 1024 * 1024)
    video = room.emu.user_sends_file(room.group, room.alice, big, "video", caption="电梯演示")
    await room.settled()
    await until(lambda: len(room.said_since(mark)) == 1)
    [told] = room.said_since(mark)
    assert told.reply_to is video
    assert told.body == room.t("media_too_large", kind=room.t("media_kind_video"), limit="20")
    assert "电梯演示" in room.kept() and len(rows(room.db, Media)) == 2
    with room.db.db.read() as session:
        kinds = list(session.exec(select(Message.media_kind).where(Message.text == "电梯演示")))
    assert kinds == ["video"]
