"""archiver.media: what a photo leaks never reaches the disk; files are stored by content."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from PIL import Image

from archiver import media

SERIAL = b"CAMSERIAL-7734915"
OWNER = b"Wang Xiuying"


def _jpeg_with_gps() -> bytes:
    """A JPEG carrying GPS position, camera serial, owner name and an XMP packet."""
    image = Image.new("RGB", (640, 480), (200, 120, 40))
    exif = Image.Exif()
    exif[0x013B] = OWNER.decode()  # Artist
    exif[0xA431] = SERIAL.decode()  # BodySerialNumber
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (31.0, 13.0, 47.25)
    gps[3] = "E"
    gps[4] = (121.0, 28.0, 12.5)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, xmp=b"<x:xmpmeta>" + OWNER + b"</x:xmpmeta>")
    return out.getvalue()


def test_the_test_photo_really_carries_the_leaks() -> None:
    data = _jpeg_with_gps()
    assert SERIAL in data and OWNER in data and b"Exif" in data
    with Image.open(io.BytesIO(data)) as image:
        assert image.getexif().get_ifd(0x8825)[1] == "N"


def test_no_metadata_survives_in_any_file_under_media_dir(tmp_path: Path) -> None:
    original = _jpeg_with_gps()
    stored = media.store(media.prepare(original, "photo"), tmp_path, "c1")
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) == 2  # the photo and its thumbnail, nothing else (no leftover part file)
    for path in files:
        data = path.read_bytes()
        assert data != original
        for leak in (SERIAL, OWNER, b"Exif\x00\x00", b"xmpmeta"):
            assert leak not in data, (path, leak)
        with Image.open(path) as image:
            assert not image.getexif()
    assert (stored.width, stored.height, stored.mime) == (640, 480, "image/jpeg")


def test_files_are_named_by_the_hash_of_what_is_stored_and_shared(tmp_path: Path) -> None:
    prepared = media.prepare(_jpeg_with_gps(), "photo")
    first = media.store(prepared, tmp_path, "c1")
    second = media.store(media.prepare(_jpeg_with_gps(), "photo"), tmp_path, "c1")
    path = media.stored_path(tmp_path, "c1", first.sha256)
    assert first == second
    assert hashlib.sha256(path.read_bytes()).hexdigest() == first.sha256
    assert len([p for p in tmp_path.rglob("*") if p.is_file()]) == 2


def test_mime_comes_from_the_bytes_not_the_name() -> None:
    png = io.BytesIO()
    Image.new("RGB", (4, 4)).save(png, "PNG")
    assert media.sniff_mime(png.getvalue()) == "image/png"
    assert media.sniff_mime(b"OggS\x00\x02rest") == "audio/ogg"
    assert media.sniff_mime(b"\x00\x00\x00\x18ftypmp42") == "video/mp4"
    assert media.sniff_mime(b"hello") == "application/octet-stream"


def test_voice_is_kept_byte_for_byte_without_thumbnail(tmp_path: Path) -> None:
    voice = b"OggS" + bytes(range(256)) * 4
    stored = media.store(media.prepare(voice, "voice"), tmp_path, "c1")
    assert media.stored_path(tmp_path, "c1", stored.sha256).read_bytes() == voice
    assert not stored.has_thumbnail
    assert not media.thumbnail_path(tmp_path, "c1", stored.sha256).exists()


def test_over_the_size_limit_nothing_is_written(tmp_path: Path) -> None:
    with pytest.raises(media.MediaTooLarge) as raised:
        media.prepare(b"x" * 1001, "document", max_size=1000)
    assert raised.value.limit == 1000
    assert media.prepare(b"x" * 1000, "document", max_size=1000).data == b"x" * 1000
    assert not any(tmp_path.iterdir())


def test_an_undecodable_image_is_refused_not_kept() -> None:
    with pytest.raises(ValueError, match="unreadable image"):
        media.prepare(b"\xff\xd8\xff" + b"\x00" * 50, "photo")


def test_an_exported_clean_image_is_kept_as_is_and_a_dirty_one_still_cleaned() -> None:
    cleaned = media.prepare(_jpeg_with_gps(), "photo")
    again = media.prepare(cleaned.data, "photo", keep_if_clean=True)
    assert again.data == cleaned.data and again.sha256 == cleaned.sha256
    assert again.thumbnail is not None
    dirty = media.prepare(_jpeg_with_gps(), "photo", keep_if_clean=True)
    for leak in (SERIAL, OWNER, b"Exif\x00\x00", b"xmpmeta"):
        assert leak not in dirty.data
