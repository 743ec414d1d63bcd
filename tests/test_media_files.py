"""archiver.media_files: a file is kept only with a kept or held message, within the limits,
once however many messages share it, and goes with the last message that used it."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest
from PIL import Image

from archiver.archive import Archive
from archiver.consent import Actor, Level
from archiver.events import MediaRef
from archiver.forget import forget_message
from archiver.ingest import ingest_message
from archiver.media import MediaSettings
from archiver.media_files import (
    PART_GRACE_SECONDS,
    FileOutcome,
    keep_file,
    remove_unused_files,
    wants_file,
)
from archiver.mydata import what_we_hold
from storage.models import Media, Message
from tests.conftest import CHAT, COMMUNITY, account, cli, message, rows, say
from tests.test_media import _jpeg_with_gps


def photo(colour: tuple[int, int, int] = (10, 120, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (200, 100), colour).save(out, "JPEG")
    return out.getvalue()


PHOTO = MediaRef("photo", "file-1")


@pytest.fixture
def media_archive(archive: Archive, tmp_path: Path) -> Archive:
    archive.media = MediaSettings(
        tmp_path / "media", max_bytes={"photo": 200_000, "voice": 1000}, quota_bytes=None
    )
    return archive


def files(archive: Archive) -> list[Path]:
    assert archive.media is not None
    folder = archive.media.media_dir
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def kept_message(archive: Archive, number: int, author: int = 1) -> str:
    ingest_message(archive, message(number, author, f"照片 {number}"))
    return str(number)


def test_only_a_kept_message_gets_its_file(media_archive: Archive) -> None:
    say(media_archive, 1, Level.ALL)
    kept = kept_message(media_archive, 1)
    ingest_message(media_archive, message(2, 2, "不同意的人"))  # never answered: not kept

    assert wants_file(media_archive, CHAT, "2", PHOTO).outcome is FileOutcome.NOT_KEPT
    assert keep_file(media_archive, CHAT, "2", photo(), PHOTO).outcome is FileOutcome.NOT_KEPT
    assert files(media_archive) == []

    assert wants_file(media_archive, CHAT, kept, PHOTO).outcome is FileOutcome.STORED
    stored = keep_file(media_archive, CHAT, kept, photo(), PHOTO)
    assert stored.outcome is FileOutcome.STORED and len(files(media_archive)) == 2
    again = keep_file(media_archive, CHAT, kept, photo(), PHOTO)
    assert again.outcome is FileOutcome.ALREADY and len(rows(media_archive, Media)) == 1
    assert wants_file(media_archive, CHAT, kept, PHOTO).outcome is FileOutcome.ALREADY
    assert what_we_hold(media_archive, COMMUNITY, account(1)).files == 1
    assert what_we_hold(media_archive, COMMUNITY, account(2)).files == 0


def test_a_message_forgotten_while_its_file_downloaded_gets_no_file(
    media_archive: Archive,
) -> None:
    say(media_archive, 1, Level.ALL)
    kept = kept_message(media_archive, 1)
    assert wants_file(media_archive, CHAT, kept, PHOTO).outcome is FileOutcome.STORED
    forget_message(media_archive, CHAT, kept, actor=Actor(account(1)))
    assert keep_file(media_archive, CHAT, kept, photo(), PHOTO).outcome is FileOutcome.NOT_KEPT
    assert files(media_archive) == [] and rows(media_archive, Media) == []


def test_limits_per_kind_keep_the_text_and_refuse_the_file(media_archive: Archive) -> None:
    say(media_archive, 1, Level.ALL)
    kept = kept_message(media_archive, 1)
    voice = MediaRef("voice", "v", size=5000)
    assert wants_file(media_archive, CHAT, kept, voice).outcome is FileOutcome.TOO_LARGE
    unannounced = MediaRef("voice", "v")  # the size is checked again on the bytes
    result = keep_file(media_archive, CHAT, kept, b"OggS" + bytes(5000), unannounced)
    assert result.outcome is FileOutcome.TOO_LARGE and result.refused
    assert files(media_archive) == []
    assert [m.text for m in rows(media_archive, Message)] == ["照片 1"], "the text is kept"


def test_the_quota_counts_each_stored_file_once(media_archive: Archive) -> None:
    assert media_archive.media is not None
    first = photo((1, 2, 3))
    media_archive.media = MediaSettings(media_archive.media.media_dir, quota_bytes=len(first) * 2)
    say(media_archive, 1, Level.ALL)
    one, two, three = (kept_message(media_archive, n) for n in (1, 2, 3))
    assert keep_file(media_archive, CHAT, one, first, PHOTO).outcome is FileOutcome.STORED
    # The same photo again is no new byte: shared, within the quota.
    assert keep_file(media_archive, CHAT, two, first, PHOTO).outcome is FileOutcome.STORED
    assert len(files(media_archive)) == 2, "one photo and one thumbnail for both messages"
    big = _jpeg_with_gps()  # larger than what is left
    result = keep_file(media_archive, CHAT, three, big, PHOTO)
    assert result.outcome is FileOutcome.QUOTA and result.refused
    announced = MediaRef("photo", "f", size=len(big))
    assert wants_file(media_archive, CHAT, three, announced).outcome is FileOutcome.QUOTA


def test_a_shared_file_goes_with_the_last_message_using_it(media_archive: Archive) -> None:
    say(media_archive, 1, Level.ALL)
    one, two = kept_message(media_archive, 1), kept_message(media_archive, 2)
    keep_file(media_archive, CHAT, one, photo(), PHOTO)
    keep_file(media_archive, CHAT, two, photo(), PHOTO)
    before = files(media_archive)
    forget_message(media_archive, CHAT, one, actor=Actor(account(1)))
    assert files(media_archive) == before, "the other message still shows it"
    forget_message(media_archive, CHAT, two, actor=Actor(account(1)))
    assert files(media_archive) == [] and rows(media_archive, Media) == []


def test_an_undecodable_image_is_never_kept_as_it_came(media_archive: Archive) -> None:
    say(media_archive, 1, Level.ALL)
    kept = kept_message(media_archive, 1)
    broken = b"\xff\xd8\xff\xe1" + b"GPS 31.2 121.4 " * 20  # looks like a JPEG, is not one
    result = keep_file(media_archive, CHAT, kept, broken, PHOTO)
    assert result.outcome is FileOutcome.UNREADABLE and files(media_archive) == []


def test_the_sweep_removes_orphans_and_part_files_but_nothing_in_use(
    media_archive: Archive,
) -> None:
    assert media_archive.media is not None
    say(media_archive, 1, Level.ALL)
    kept = kept_message(media_archive, 1)
    keep_file(media_archive, CHAT, kept, photo(), PHOTO)
    in_use = files(media_archive)
    folder = media_archive.media.media_dir / COMMUNITY / "ab"
    folder.mkdir(parents=True)
    (folder / ("ab" + "0" * 62)).write_bytes(b"left by a crash before its row")
    crashed = folder / ".part-x1"
    crashed.write_bytes(b"half a file, from a crash an hour ago")
    os.utime(crashed, (time.time() - 2 * PART_GRACE_SECONDS,) * 2)
    assert remove_unused_files(media_archive) == 2
    assert files(media_archive) == in_use and not folder.exists()
    # A part file being written now (its row not yet committed) is left alone.
    writing = media_archive.media.media_dir / COMMUNITY / ".part-now"
    writing.write_bytes(b"a download on its way")
    assert remove_unused_files(media_archive) == 0 and writing.exists()


def test_an_archive_without_media_settings_keeps_no_file(archive: Archive) -> None:
    say(archive, 1, Level.ALL)
    kept = kept_message(archive, 1)
    assert wants_file(archive, CHAT, kept, PHOTO).outcome is FileOutcome.OFF
    assert keep_file(archive, CHAT, kept, photo(), PHOTO).outcome is FileOutcome.OFF
    assert rows(archive, Media) == []


def test_backup_copies_the_files_its_archive_copy_names(tmp_path: Path) -> None:
    """``backup OUT`` (the CLI): the database to OUT, the files its rows name to OUT.media/
    in media_dir's layout — and nothing that no row names."""

    from archiver.archive import open_archive
    from archiver.community import ensure_community
    from tests.conftest import SETTINGS

    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\nurl = "sqlite:///{tmp_path / "archive.db"}"\n\n'
        f'[[communities]]\nid = "{COMMUNITY}"\nname = "阳光花园"\n'
        'spaces = [{ platform = "telegram", chat = "-1001987654321" }]\n',
        encoding="utf-8",
    )
    archive = open_archive(
        f"sqlite:///{tmp_path / 'archive.db'}", media=MediaSettings(tmp_path / "media")
    )
    try:
        ensure_community(archive, SETTINGS)
        say(archive, 1, Level.ALL)
        kept = kept_message(archive, 1)
        assert keep_file(archive, CHAT, kept, photo(), PHOTO).outcome is FileOutcome.STORED
    finally:
        archive.close()
    stray = tmp_path / "media" / COMMUNITY / "ff" / ("f" * 64)
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"no row names me")

    target = tmp_path / "backups" / "copy.db"
    result = cli(config, "backup", str(target))
    assert result.exit_code == 0, result.output
    assert "2 file(s)" in result.output
    copied = sorted(
        p.relative_to(target.with_name("copy.db.media"))
        for p in files_under(target.with_name("copy.db.media"))
    )
    originals = sorted(
        p.relative_to(tmp_path / "media") for p in files_under(tmp_path / "media") if p != stray
    )
    assert copied == originals and len(copied) == 2
    for relative in copied:
        original = (tmp_path / "media" / relative).read_bytes()
        assert (target.with_name("copy.db.media") / relative).read_bytes() == original
    again = cli(config, "backup", str(target))
    assert again.exit_code == 1 and "already exists" in again.output


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]
