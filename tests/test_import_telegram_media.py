"""``import telegram`` of an export folder with its media: the files of kept messages are kept
clean (a JPEG with GPS EXIF written here with Pillow), a non-consented resident's file is
never opened, placeholders and stickers are no error, a path out of the folder is refused,
and a rerun keeps nothing twice."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from archiver.archive import Archive, open_archive
from archiver.media import MediaSettings
from bot.cli.main import app
from storage.models import Media, Message
from tests.conftest import COMMUNITY, rows
from tests.test_media import OWNER, SERIAL, _jpeg_with_gps
from tests.test_telegram_media import GPS_POSITION

DEMO = Path(__file__).parent.parent / "sandbox" / "demo"
VOICE = b"OggS" + bytes(range(256)) * 8
PLACEHOLDER = "(File not included. Change data exporting settings to download.)"


def entry(number: int, author: str, text: str, **media: Any) -> dict[str, Any]:
    return {
        "id": number,
        "type": "message",
        "date": "2026-03-14T10:00:00",
        "date_unixtime": str(1773453600 + number),
        "from": "someone",
        "from_id": author,
        "text": text,
        "text_entities": [{"type": "plain", "text": text}] if text else [],
        **media,
    }


def export_folder(tmp_path: Path) -> Path:
    """The demo chat with media messages added, and their files beside result.json."""
    document = json.loads((DEMO / "sunshine_garden.json").read_text(encoding="utf-8"))
    document["messages"] += [
        entry(1001, "user10001", "新电梯第一天", photo="photos/photo_1@14-03-2026_10-00-01.jpg",
              width=640, height=480),
        entry(1002, "user10007", "我家阳台", photo="photos/photo_2@14-03-2026_10-00-02.jpg"),
        entry(1003, "user10001", "", file="voice_messages/audio_1@14-03-2026.ogg",
              media_type="voice_message", mime_type="audio/ogg", duration_seconds=3),
        entry(1004, "user10001", "视频没导出", file=PLACEHOLDER, media_type="video_file"),
        entry(1005, "user10001", "", file="stickers/sticker.webp", media_type="sticker"),
        entry(1006, "user10001", "名单", file="../../outside.pdf", file_name="名单.pdf"),
    ]  # fmt: skip
    folder = tmp_path / "ChatExport_2026-03-14"
    (folder / "photos").mkdir(parents=True)
    (folder / "voice_messages").mkdir()
    (folder / "stickers").mkdir()
    (folder / "result.json").write_text(json.dumps(document, ensure_ascii=False), "utf-8")
    (folder / "photos" / "photo_1@14-03-2026_10-00-01.jpg").write_bytes(_jpeg_with_gps())
    (folder / "photos" / "photo_2@14-03-2026_10-00-02.jpg").write_bytes(b"not even opened")
    (folder / "voice_messages" / "audio_1@14-03-2026.ogg").write_bytes(VOICE)
    (folder / "stickers" / "sticker.webp").write_bytes(b"RIFF....WEBP")
    (tmp_path / "outside.pdf").write_bytes(b"%PDF-1.4 outside the export")
    return folder


def test_an_export_folders_files_come_with_the_kept_messages(tmp_path: Path) -> None:
    folder = export_folder(tmp_path)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\nurl = "sqlite:///{tmp_path / "a.db"}"\n\n'
        f'[[communities]]\nid = "{COMMUNITY}"\nname = "阳光花园"\n'
        'spaces = [{ platform = "telegram", chat = "-1001987654321" }]\n',
        encoding="utf-8",
    )
    args = ["--config", str(config), "import", "telegram", str(folder), "--community", COMMUNITY,
            "--roster", str(DEMO / "roster.csv")]  # fmt: skip
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["files_kept"] == 2
    assert (report["files_missing"], report["files_refused"]) == (1, 0), "the path out is refused"

    media = tmp_path / "media"
    stored = sorted(p for p in media.rglob("*") if p.is_file())
    assert len(stored) == 3, "the photo, its thumbnail, the voice message"
    assert VOICE in {p.read_bytes() for p in stored}
    for path in stored:
        for leak in (GPS_POSITION, SERIAL, OWNER, b"Exif\x00\x00"):
            assert leak not in path.read_bytes()
    archive: Archive = open_archive(f"sqlite:///{tmp_path / 'a.db'}", media=MediaSettings(media))
    try:
        # Placeholders count only for kept messages: the sample's own photos Telegram Desktop
        # left out, and 1004.
        kept_ids = {m.platform_message_id for m in rows(archive, Message)}
        left_out = {
            str(e["id"])
            for e in json.loads((folder / "result.json").read_text("utf-8"))["messages"]
            if str(e.get("photo", e.get("file", ""))).startswith("(")
        }
        assert "1004" in kept_ids & left_out
        assert report["files_not_exported"] == len(kept_ids & left_out)
        by_message = {m.platform_message_id: m for m in rows(archive, Media)}
        assert set(by_message) == {"1001", "1003"}, "not the non-consented resident's photo"
        assert by_message["1003"].kind == "voice" and by_message["1003"].duration == 3
    finally:
        archive.close()

    again = CliRunner().invoke(app, [*args, "--json"])
    assert json.loads(again.stdout)["files_kept"] == 2
    assert sorted(p for p in media.rglob("*") if p.is_file()) == stored, "nothing twice"
