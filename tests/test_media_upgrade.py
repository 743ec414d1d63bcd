"""Files an earlier release stored as they came are cleaned on upgrade (archiver.media_upgrade):
a MOV with where it was filmed, a HEIC and a TIFF photo sent as files (with GPS and owner)
are stored again without it and their rows follow; a "video" whose boxes do not add up goes
(its message's text stays); a voice message is left alone; the old files are gone; and it
all happens once (a marker), through ``db upgrade`` as through ``run``."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from PIL import Image

from archiver.archive import Archive, open_archive
from archiver.community import ensure_community, space_for
from archiver.consent import Level
from archiver.ingest import ingest_message
from archiver.media import MediaSettings, PreparedMedia, store, stored_path, thumbnail_path
from archiver.media_upgrade import MARKER, UpgradeReport, clean_stored_files
from storage import media as media_store
from storage.models import Media, Message
from tests.conftest import CHAT, COMMUNITY, SETTINGS, cli, message, rows, say
from tests.test_video_metadata import PLACE, filmed, photo_with_gps

OWNER = b"Wang Xiuying"
VOICE = b"OggS" + bytes(60)


def stored_as_it_came(archive: Archive, number: int, data: bytes, kind: str, mime: str) -> None:
    """What an earlier release did with this file: its bytes written as they came, a row."""
    assert archive.media is not None
    digest = hashlib.sha256(data).hexdigest()
    prepared = PreparedMedia(data, kind, mime, digest, None, None, None)
    store(prepared, archive.media.media_dir, COMMUNITY)
    with archive.db.write() as session:
        space = space_for(session, CHAT)
        assert space.id is not None
        media_store.add_media(
            session,
            Media(
                community_id=COMMUNITY,
                space_id=space.id,
                platform_message_id=str(number),
                kind=kind,
                mime=mime,
                size=len(data),
                sha256=digest,
                stored_at=message(number, 1, "").sent_at,
            ),
        )


def files_on_disk(archive: Archive) -> list[bytes]:
    assert archive.media is not None
    return [
        p.read_bytes()
        for p in archive.media.media_dir.rglob("*")
        if p.is_file() and p.name != MARKER
    ]


def an_earlier_archive(db_url: str, tmp_path: Path) -> Archive:
    archive = open_archive(db_url, media=MediaSettings(tmp_path / "media"))
    ensure_community(archive, SETTINGS)
    say(archive, 1, Level.ALL)
    for number, words in enumerate(("院子里拍的", "照片原图", "扫描件", "坏的视频", "语音"), 1):
        ingest_message(archive, message(number, 1, words))
    stored_as_it_came(archive, 1, filmed(tmp_path, "mov"), "video", "video/mp4")
    # HEIC was taken for an MP4 (its ftyp), TIFF for an unknown file: neither was cleaned.
    stored_as_it_came(archive, 2, photo_with_gps("HEIF"), "document", "video/mp4")
    stored_as_it_came(
        archive, 3, photo_with_gps("TIFF", (200, 60, 30)), "document", "application/octet-stream"
    )
    broken = b"\x00\x00\x00\x20ftypisom" + b"\x00" * 8 + b"zq-broken-video"
    stored_as_it_came(archive, 4, broken, "video", "video/mp4")
    stored_as_it_came(archive, 5, VOICE, "voice", "audio/ogg")
    return archive


def test_files_stored_as_they_came_are_cleaned_once(db_url: str, tmp_path: Path) -> None:
    archive = an_earlier_archive(db_url, tmp_path)
    try:
        before = files_on_disk(archive)
        assert any(PLACE.encode() in data for data in before)
        assert sum(OWNER in data for data in before) == 2

        assert clean_stored_files(archive) == UpgradeReport(cleaned=3, dropped=1)

        after = files_on_disk(archive)
        assert not any(PLACE.encode() in d or OWNER in d or b"zq-broken" in d for d in after)
        by_message = {m.platform_message_id: m for m in rows(archive, Media)}
        assert sorted(by_message) == ["1", "2", "3", "5"], "the broken video's row went"
        assert by_message["1"].mime == "video/mp4" and not by_message["1"].has_thumbnail
        for photo in ("2", "3"):
            row = by_message[photo]
            assert row.mime == "image/jpeg" and row.has_thumbnail
            assert (row.width, row.height) == (320, 240)
        assert by_message["5"].sha256 == hashlib.sha256(VOICE).hexdigest(), "left alone"
        assert VOICE in after
        # Each row's file and the photos' thumbnails, nothing else: the old files are gone.
        assert archive.media is not None
        folder = archive.media.media_dir
        expected = {stored_path(folder, COMMUNITY, r.sha256) for r in by_message.values()} | {
            thumbnail_path(folder, COMMUNITY, r.sha256)
            for r in by_message.values()
            if r.has_thumbnail
        }
        assert {p for p in folder.rglob("*") if p.is_file() and p.name != MARKER} == expected
        assert len(expected) == 4 + 2
        for row in by_message.values():
            data = stored_path(folder, COMMUNITY, row.sha256).read_bytes()
            assert hashlib.sha256(data).hexdigest() == row.sha256 and len(data) == row.size
        with Image.open(io.BytesIO(next(d for d in after if d[:3] == b"\xff\xd8\xff"))) as jpeg:
            assert not jpeg.getexif()
        assert len(rows(archive, Message)) == 5, "every message's text stays"

        # Once: with the marker there, a file stored as it came later is not looked at.
        stored_as_it_came(archive, 6, filmed(tmp_path, "mov"), "video", "video/mp4")
        assert clean_stored_files(archive) == UpgradeReport()
    finally:
        archive.close()


def test_db_upgrade_cleans_the_stored_files(db_url: str, tmp_path: Path) -> None:
    an_earlier_archive(db_url, tmp_path).close()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\nurl = "{db_url}"\nmedia_dir = "{tmp_path / "media"}"\n', encoding="utf-8"
    )
    result = cli(config, "db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "stored files cleaned of their metadata: 3; removed as not cleanable: 1" in (
        result.output
    )
    assert (tmp_path / "media" / MARKER).is_file()
    again = cli(config, "db", "upgrade")
    assert again.exit_code == 0 and "cleaned" not in again.output


def test_a_new_archive_has_nothing_to_clean(archive: Archive, tmp_path: Path) -> None:
    archive.media = MediaSettings(tmp_path / "media")
    assert clean_stored_files(archive) == UpgradeReport(), "no media folder yet: nothing"
    (tmp_path / "media").mkdir()
    assert clean_stored_files(archive) == UpgradeReport()
    assert (tmp_path / "media" / MARKER).is_file()
