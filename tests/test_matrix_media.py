"""Photos and voice on Matrix, against a real Synapse: ``m.image`` and ``m.audio`` files of
kept messages are downloaded (authenticated media) and kept clean; an unconsented resident's
file is not; in an encrypted room the attachment is decrypted with the key its event carried
and only the cleaned plaintext image is stored.

The bot runs as in ``tests/test_matrix.py``; files arrive through the adapter's media queue
after the text is settled, so the tests wait for the rows (FIFO: a later kept file shows that
every earlier one was dealt with)."""

from __future__ import annotations

import asyncio
import io
import struct
import uuid
from pathlib import Path
from typing import Any

from nio import RoomSendResponse, UploadResponse
from PIL import Image

from archiver.archive import Archive
from storage.models import Media
from tests import test_matrix as matrix
from tests.conftest import rows
from tests.test_matrix import (
    Resident,
    Room,
    _e2e_sync,
    encrypted_room,
    eventually,
)
from tests.test_media import OWNER, SERIAL, _jpeg_with_gps

GPS_POSITION = struct.pack("<6I", 31, 1, 13, 1, 189, 4)  # as in tests/test_telegram_media.py
# The room of tests/test_matrix.py (a fixture: alice, bob, carol, an observer, the bot running).
room = matrix.room
LEAKS = (GPS_POSITION, SERIAL, OWNER, b"Exif\x00\x00", b"xmpmeta")


async def upload(resident: Resident, data: bytes, mime: str, *, encrypt: bool = False) -> Any:
    answer, keys = await resident.client.upload(
        io.BytesIO(data), content_type=mime, filename="file", encrypt=encrypt, filesize=len(data)
    )
    assert isinstance(answer, UploadResponse), answer
    return answer.content_uri, keys


async def send_image(resident: Resident, room_id: str, caption: str) -> str:
    data = _jpeg_with_gps()
    url, _keys = await upload(resident, data, "image/jpeg")
    return await resident.send(
        room_id,
        {
            "msgtype": "m.image",
            "body": caption,
            "filename": "IMG_2041.jpg",
            "url": url,
            "info": {"mimetype": "image/jpeg", "size": len(data), "w": 640, "h": 480},
        },
    )


def files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def media_rows(archive: Archive | None) -> list[Media]:
    assert archive is not None
    return list(rows(archive, Media))


async def test_a_kept_image_and_voice_are_stored_clean_and_an_unconsented_one_is_not(
    room: Room,
) -> None:
    media_dir = room.config_path.parent / "media"
    await room.consent_all(room.alice)
    await send_image(room.bob, room.room_id, "bob's balcony")  # bob never said yes
    kept = await send_image(room.alice, room.room_id, "新电梯第一天")
    voice = b"OggS" + bytes(range(256)) * 40
    url, _ = await upload(room.alice, voice, "audio/ogg")
    await room.alice.send(
        room.room_id,
        {
            "msgtype": "m.audio",
            "body": "Voice message.ogg",
            "url": url,
            "info": {"mimetype": "audio/ogg", "size": len(voice), "duration": 4200},
            "org.matrix.msc3245.voice": {},
        },
    )
    await eventually(lambda: len(media_rows(room.archive)) == 2, "both of alice's files")

    assert room.kept_texts() == ["新电梯第一天", ""]
    by_kind = {m.kind: m for m in media_rows(room.archive)}
    assert set(by_kind) == {"photo", "voice"}, "bob's image was not kept"
    assert by_kind["photo"].platform_message_id == kept
    assert (by_kind["photo"].width, by_kind["photo"].height) == (640, 480)
    assert by_kind["photo"].file_name is None, "an app-made name is not kept"
    assert by_kind["voice"].duration == 4 and by_kind["voice"].mime == "audio/ogg"
    stored = files(media_dir)
    assert len(stored) == 3, "the photo, its thumbnail and the voice message"
    assert voice in {p.read_bytes() for p in stored}
    for path in stored:
        for leak in LEAKS:
            assert leak not in path.read_bytes(), (path, leak)

    await room.alice.say(room.room_id, "!forget", reply_to=kept)
    await eventually(lambda: len(files(media_dir)) == 1, "the photo and thumbnail gone")
    assert [m.kind for m in media_rows(room.archive)] == ["voice"], "the voice stays"


async def test_an_encrypted_rooms_image_is_decrypted_then_cleaned(
    synapse: Any, tmp_path: Path, segmenter: Any
) -> None:
    the_room = await encrypted_room(synapse, tmp_path, segmenter, "Secret Garden")
    alice, bot, room_id = the_room.alice, the_room.bot, the_room.room_id
    media_dir = tmp_path / "media"
    tag = uuid.uuid4().hex[:8]

    async def say(content: dict[str, Any]) -> str:
        await _e2e_sync(alice.client)
        answer = await alice.client.room_send(
            room_id, "m.room.message", content, ignore_unverified_devices=True
        )
        assert isinstance(answer, RoomSendResponse), answer
        return str(answer.event_id)

    try:
        await the_room.start()
        await alice.client.room_invite(room_id, bot.user_id)
        await say({"msgtype": "m.text", "body": "!consent all"})
        await eventually(lambda: the_room.level(alice).value == "all", "alice's consent")
        await _e2e_sync(alice.client)
        data = _jpeg_with_gps()
        url, keys = await upload(alice, data, "image/jpeg", encrypt=True)
        assert keys, "an encrypted upload has its key"
        ciphertext = await alice.client.download(mxc=url)
        await say(
            {
                "msgtype": "m.image",
                "body": f"the garden {tag}",
                "file": {"url": url, "mimetype": "image/jpeg", **keys},
                "info": {"mimetype": "image/jpeg", "size": len(data), "w": 640, "h": 480},
            }
        )
        await eventually(lambda: len(media_rows(the_room.archive)) == 1, "the encrypted image")
        [media] = media_rows(the_room.archive)
        assert (media.mime, media.width, media.height) == ("image/jpeg", 640, 480)
        stored = files(media_dir)
        assert len(stored) == 2
        photo = next(p for p in stored if not p.name.endswith(".thumb.jpg"))
        with Image.open(photo) as image:
            assert image.size == (640, 480) and not image.getexif()
        for path in stored:
            content = path.read_bytes()
            assert bytes(ciphertext.body)[:64] not in content, "decrypted, not the ciphertext"
            for leak in LEAKS:
                assert leak not in content, (path, leak)
    finally:
        if the_room.task is not None and not the_room.task.done():
            await the_room.stop_bot()
        if the_room.archive is not None:
            the_room.archive.close()
        for resident in (the_room.alice, the_room.bob):
            await resident.client.close()
        await asyncio.sleep(0)
