"""Files through ``export jsonl --media DIR`` and ``import jsonl --media DIR``: a new archive
gets the same files (same hashes, same bytes), hashes are checked, reruns add nothing."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from archiver.archive import Archive, open_archive
from archiver.community import ensure_community
from archiver.consent import Level
from archiver.events import MediaRef
from archiver.ingest import ingest_message
from archiver.media import MediaSettings
from archiver.media_files import FileOutcome, keep_file
from storage.models import Media
from tests.conftest import CHAT, COMMUNITY, SETTINGS, cli, message, rows, say
from tests.test_media import _jpeg_with_gps


def write_config(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "config.toml"
    config.write_text(
        f'[storage]\nurl = "sqlite:///{folder / "archive.db"}"\n\n'
        f'[[communities]]\nid = "{COMMUNITY}"\nname = "阳光花园"\n'
        'spaces = [{ platform = "telegram", chat = "-1001987654321" }]\n',
        encoding="utf-8",
    )
    return config


def open_at(folder: Path) -> Archive:
    return open_archive(f"sqlite:///{folder / 'archive.db'}", media=MediaSettings(folder / "media"))


def files(folder: Path) -> dict[str, bytes]:
    """Every stored file but thumbnails, by its path under media_dir."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and not p.name.endswith(".thumb.jpg")
    }


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """An archive with a photo (kept clean), a PNG, a voice message and a document."""
    folder = tmp_path / "first"
    write_config(folder)
    archive = open_at(folder)
    try:
        ensure_community(archive, SETTINGS)
        say(archive, 1, Level.ALL)
        png = io.BytesIO()
        Image.new("RGB", (30, 20), (9, 99, 199)).save(png, "PNG")
        for number, (data, ref) in enumerate(
            [
                (_jpeg_with_gps(), MediaRef("photo", "a")),
                (png.getvalue(), MediaRef("photo", "b")),
                (b"OggS" + bytes(range(200)), MediaRef("voice", "c", duration=3)),
                (b"%PDF-1.4 list", MediaRef("document", "d", file_name="名单.pdf")),
            ],
            start=1,
        ):
            ingest_message(archive, message(number, 1, f"文件 {number}"))
            assert keep_file(archive, CHAT, str(number), data, ref).outcome is FileOutcome.STORED
    finally:
        archive.close()
    return folder


def test_export_and_import_with_media_reproduce_the_same_files(
    source: Path, tmp_path: Path
) -> None:
    out, media = tmp_path / "export.jsonl", tmp_path / "export-media"
    result = cli(source / "config.toml", "export", "jsonl", str(out), "--community", COMMUNITY,
                 "--media", str(media))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "4 files copied" in result.output
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    described = {m["platform_message_id"]: m["media"] for m in lines if m["type"] == "message"}
    assert described["4"]["file_name"] == "名单.pdf" and described["3"]["duration"] == 3
    assert described["1"]["kind"] == "photo" and described["1"]["mime"] == "image/jpeg"
    assert {d["sha256"] for d in described.values()} == {
        path.name for path in media.rglob("*") if path.is_file()
    }, "DIR holds exactly the files the messages name, as <xx>/<sha256>"

    target = tmp_path / "second"
    config = write_config(target)
    result = cli(config, "import", "jsonl", str(out), "--media", str(media), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["files"], report["files_missing"], report["files_bad"]) == (4, 0, 0)
    assert files(target / "media") == files(source / "media"), "the same files, byte for byte"
    assert len(list((target / "media").rglob("*.thumb.jpg"))) == 2, "images get thumbnails"
    archive = open_at(target)
    try:
        restored = {m.platform_message_id: m for m in rows(archive, Media)}
        assert restored["4"].file_name == "名单.pdf" and restored["2"].mime == "image/png"
    finally:
        archive.close()

    again = cli(config, "import", "jsonl", str(out), "--media", str(media), "--json")
    assert json.loads(again.stdout)["added"] == 0
    assert files(target / "media") == files(source / "media")


def test_a_file_that_does_not_match_its_hash_is_not_restored(source: Path, tmp_path: Path) -> None:
    out, media = tmp_path / "export.jsonl", tmp_path / "export-media"
    assert cli(source / "config.toml", "export", "jsonl", str(out), "--community", COMMUNITY,
               "--media", str(media)).exit_code == 0  # fmt: skip
    voice = next(p for p in media.rglob("*") if p.is_file() and p.read_bytes().startswith(b"OggS"))
    voice.write_bytes(b"OggS something else")
    (
        next(p for p in media.rglob("*") if p.is_file() and p.read_bytes().startswith(b"%PDF"))
    ).unlink()

    config = write_config(tmp_path / "second")
    result = cli(config, "import", "jsonl", str(out), "--media", str(media), "--json")
    report = json.loads(result.stdout)
    assert (report["files"], report["files_bad"], report["files_missing"]) == (2, 1, 1)
    assert report["messages"] == 4, "the texts are restored all the same"
    assert b"OggS something else" not in files(tmp_path / "second" / "media").values()

    without = write_config(tmp_path / "third")
    result = cli(without, "import", "jsonl", str(out))
    assert result.exit_code == 0
    assert "4 files not restored: give the folder" in result.output
