"""Where a video was filmed never reaches the disk (archiver.video_metadata), and photos in
formats a phone sends as files — HEIC, AVIF, TIFF — lose their metadata like a JPEG does.

The videos are real: FFmpeg (PyAV) writes them with a filming place, as a phone does — a MOV
with QuickTime's ``©xyz`` in ``udta``, an MP4 with Apple's ``ISO6709`` key in ``meta`` and its
``moov`` before the media data ("fast start") — and plays them back after the cleaning."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import av
import numpy as np
import pillow_heif
import pytest
from PIL import Image

from archiver import media
from archiver.archive import Archive
from archiver.consent import Level
from archiver.events import MediaRef
from archiver.ingest import ingest_message
from archiver.media import MediaSettings
from archiver.media_files import FileOutcome, keep_file
from tests.conftest import CHAT, message, say

PLACE = "+31.2304+121.4737/"  # a residents' compound in Shanghai, as ISO 6709
APPLE_PLACE = "+31.2305+121.4738+010.000/"
DEVICE = "zq-Phone 15 Pro"
FRAMES = 10


def filmed(folder: Path, fmt: str, **options: str) -> bytes:
    """A short real video whose metadata says where, and on what, it was filmed."""
    path = folder / f"clip.{fmt}"
    container = av.open(str(path), "w", format=fmt, options=options)
    container.metadata["location"] = PLACE
    container.metadata["com.apple.quicktime.location.ISO6709"] = APPLE_PLACE
    container.metadata["com.apple.quicktime.model"] = DEVICE
    stream = container.add_stream("mpeg4", rate=10)
    stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
    for shade in range(FRAMES):
        pixels = np.full((48, 64, 3), shade * 20, dtype=np.uint8)
        for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    return path.read_bytes()


def played(data: bytes) -> tuple[int, dict[str, str]]:
    """How many frames a player decodes from ``data``, and the metadata it reads."""
    with av.open(io.BytesIO(data)) as container:
        frames = sum(1 for _ in container.decode(video=0))
        return frames, dict(container.metadata)


def boxes(data: bytes) -> list[bytes]:
    """The top-level box types, in order."""
    kinds, at = [], 0
    while at < len(data):
        size, kind = struct.unpack_from(">I4s", data, at)
        kinds.append(kind)
        at += size
    return kinds


@pytest.mark.parametrize(
    ("fmt", "options", "leaks"),
    [
        ("mov", {}, [PLACE]),  # ©xyz in moov/udta, as an iPhone's camera writes it
        ("mp4", {"movflags": "use_metadata_tags+faststart"}, [PLACE, APPLE_PLACE, DEVICE]),
    ],
)
def test_a_video_keeps_its_picture_and_loses_where_it_was_filmed(
    tmp_path: Path, fmt: str, options: dict[str, str], leaks: list[str]
) -> None:
    original = filmed(tmp_path, fmt, **options)
    for leak in leaks:
        assert leak.encode() in original, f"the test video really carries {leak}"
    assert played(original)[1].get("location") == PLACE

    prepared = media.prepare(original, "video")
    cleaned = prepared.content()
    assert prepared.data is original, "the file itself is never copied: patched as written"
    assert prepared.mime == "video/mp4" and prepared.thumbnail is None
    for leak in leaks:
        assert leak.encode() not in cleaned
    assert len(cleaned) == len(original), "nothing moved: the sample offsets still hold"
    assert boxes(cleaned) == boxes(original)
    frames, metadata = played(cleaned)
    assert frames == FRAMES and "location" not in metadata
    assert media.prepare(cleaned, "video").content() == cleaned, "a second pass changes nothing"
    if "faststart" in options.get("movflags", ""):
        assert boxes(original).index(b"moov") < boxes(original).index(b"mdat")


def test_a_video_without_metadata_is_kept_byte_for_byte(tmp_path: Path) -> None:
    container = av.open(str(tmp_path / "plain.mp4"), "w", format="mp4")
    stream = container.add_stream("mpeg4", rate=10)
    stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
    for packet in stream.encode(av.VideoFrame(64, 48, "yuv420p")):
        container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    # FFmpeg writes its own name in udta ("Lavf…"): that goes; nothing else changes.
    original = (tmp_path / "plain.mp4").read_bytes()
    cleaned = media.prepare(original, "video").content()
    assert b"Lavf" in original and b"Lavf" not in cleaned
    assert media.prepare(cleaned, "video").content() is cleaned


@pytest.mark.parametrize(
    "broken",
    [
        b"\x00\x00\x00\x20ftypisom" + b"\x00" * 8,  # says 32 bytes, has 16
        b"\x00\x00\x00\x10ftypisom\x00\x00\x00\x00" + b"\x00\x00\x00\x04free",  # size 4
        b"\x00\x00\x00\x10ftypisom\x00\x00\x00\x00" + b"\x00\x00\x00",  # stray bytes
    ],
)
def test_a_video_whose_boxes_do_not_add_up_is_not_kept(broken: bytes) -> None:
    with pytest.raises(ValueError, match="video"):
        media.prepare(broken, "video")


def photo_with_gps(fmt: str, colour: tuple[int, int, int] = (40, 160, 90)) -> bytes:
    """A photo in ``fmt`` (TIFF, HEIF) whose EXIF names its owner and where it was taken."""
    pillow_heif.register_heif_opener()  # so Pillow can write HEIF
    image = Image.new("RGB", (320, 240), colour)
    exif = Image.Exif()
    exif[0x013B] = "Wang Xiuying"  # Artist
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (31.0, 13.0, 47.25), "E", (121.0, 28.0, 12.5)
    out = io.BytesIO()
    image.save(out, fmt, exif=exif)
    return out.getvalue()


@pytest.mark.parametrize(("fmt", "mime"), [("TIFF", "image/tiff"), ("HEIF", "image/heic")])
def test_photos_sent_as_files_in_other_formats_lose_their_metadata(fmt: str, mime: str) -> None:
    original = photo_with_gps(fmt)
    assert media.sniff_mime(original) == mime
    assert b"Wang Xiuying" in original
    prepared = media.prepare(original, "document")  # a photo sent "as a file"
    assert prepared.mime == "image/jpeg" and prepared.thumbnail is not None
    assert b"Wang Xiuying" not in prepared.data and b"Exif" not in prepared.data
    with Image.open(io.BytesIO(prepared.data)) as cleaned:
        assert cleaned.size == (320, 240) and not cleaned.getexif()


def test_a_kept_video_file_on_disk_has_no_filming_place(tmp_path: Path, archive: Archive) -> None:
    """Through the live path: the file the archive writes for a kept message's video."""
    archive.media = MediaSettings(tmp_path / "media", max_bytes={}, quota_bytes=None)
    say(archive, 1, Level.ALL)
    ingest_message(archive, message(1, 1, "楼下的桂花开了"))
    clip = filmed(tmp_path, "mov")
    kept = keep_file(archive, CHAT, "1", clip, MediaRef("video", "file-v"))
    assert kept.outcome is FileOutcome.STORED
    stored = [p.read_bytes() for p in (tmp_path / "media").rglob("*") if p.is_file()]
    assert len(stored) == 1 and PLACE.encode() not in stored[0]
    assert played(stored[0])[0] == FRAMES
