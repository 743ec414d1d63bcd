"""The archive website shows the photos, voice and files of kept messages — copied by hash
into ``OUT/media``, only for kept messages (a held photo never), as stored (no GPS), and gone
from OUT after ``forget`` and a rebuild; a photo that lands after its text updates the page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archiver.archive import Archive
from archiver.consent import Actor, Level
from archiver.events import MediaRef
from archiver.forget import forget_message
from archiver.ingest import ingest_message
from archiver.media import MediaSettings
from archiver.media_files import FileOutcome, keep_file
from archiver.preservation import tag_message
from archiver.site.build import MANIFEST, build_site
from tests.conftest import CHAT, COMMUNITY, account, message, say, tag
from tests.test_media import _jpeg_with_gps
from tests.test_media_files import photo
from tests.test_site import at
from tests.test_telegram_media import GPS_POSITION

PHOTO = MediaRef("photo", "f")


@pytest.fixture
def with_files(archive: Archive, tmp_path: Path) -> Archive:
    archive.media = MediaSettings(tmp_path / "media")
    say(archive, 1, Level.ALL)
    ingest_message(archive, message(1, 1, "新电梯第一天", sent_at=at(14)))
    assert keep_file(archive, CHAT, "1", _jpeg_with_gps(), PHOTO).outcome is FileOutcome.STORED
    ingest_message(archive, message(2, 1, "", sent_at=at(14, 13)))
    voice = MediaRef("voice", "v", duration=3)
    assert keep_file(archive, CHAT, "2", b"OggS" + bytes(300), voice).outcome is FileOutcome.STORED
    # Someone who never answered: their photo is held once tagged, never on the site.
    held = message(3, 2, "楼道里的照片", sent_at=at(15))
    ingest_message(archive, held)
    say(archive, 3, Level.ALL)
    tag_message(archive, tag(3, held))
    assert keep_file(archive, CHAT, "3", _jpeg_with_gps(), PHOTO).outcome is FileOutcome.STORED
    return archive


def media_files(out: Path) -> list[Path]:
    folder = out / "media"
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_kept_photos_and_voice_are_on_the_site_held_ones_never(
    with_files: Archive, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    build_site(with_files, COMMUNITY, out)
    page = (out / "2026-03.html").read_text(encoding="utf-8")
    assert '<a class="photo" href="media/' in page and 'loading="lazy"' in page
    assert 'alt="新电梯第一天"' in page, "the caption describes the photo"
    assert '<audio class="voice" controls preload="none"' in page
    assert "楼道里的照片" not in page
    files = media_files(out)
    assert len(files) == 3, "one photo, its thumbnail, the voice message — not the held photo"
    for path in files:
        assert GPS_POSITION not in path.read_bytes()
        assert (path.relative_to(out)).as_posix() in page or path.name.endswith(".ogg")
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    assert {p.relative_to(out).as_posix() for p in files} <= set(manifest["files"])


def test_a_photo_that_comes_after_its_text_and_a_forget_update_the_site(
    with_files: Archive, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    ingest_message(with_files, message(4, 1, "花园", sent_at=at(16)))
    build_site(with_files, COMMUNITY, out)
    assert len(media_files(out)) == 3
    # The download lands after the site was built: the next build shows it.
    assert keep_file(with_files, CHAT, "4", photo((20, 160, 60)), PHOTO).outcome is (
        FileOutcome.STORED
    )
    build_site(with_files, COMMUNITY, out)
    assert len(media_files(out)) == 5
    forget_message(with_files, CHAT, "1", actor=Actor(account(1)))
    report = build_site(with_files, COMMUNITY, out)
    assert report.full_read
    page = (out / "2026-03.html").read_text(encoding="utf-8")
    assert "新电梯第一天" not in page
    assert len(media_files(out)) == 3, "the forgotten photo and its thumbnail are gone from OUT"
