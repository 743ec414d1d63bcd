"""``export chatlab``: the kept messages as ChatLab JSON Lines — names only as residents chose,
no platform id of anyone anonymous, nothing of anyone who did not say yes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from archiver.archive import Archive
from archiver.errors import CommunityMemoryError
from archiver.exporters.chatlab import export_chatlab
from archiver.importers.chatlab import ChatLabJsonl
from archiver.importers.entries import ExportedMessage
from archiver.importers.pipeline import run_import
from archiver.importers.readers import open_for_import
from bot.cli.main import app
from storage.models import Message
from tests.conftest import COMMUNITY, rows
from tests.test_import_wechat import KEPT_COUNT, write_chatlab_json

ROSTER = """account,level,attribution,recorded_by,recorded_at,evidence
wechat:wxid_all01,all,named,楼长,2024-01-01T10:00:00+08:00,表 1
wechat:wxid_tag02,all,anonymous,楼长,2024-01-01T10:00:00+08:00,表 2
wechat:wxid_none03,none,,楼长,2024-01-01T10:00:00+08:00,表 3
"""


@pytest.fixture
def kept(archive: Archive, tmp_path: Path) -> Archive:
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    path = write_chatlab_json(tmp_path / "chat.json")
    run_import(archive, COMMUNITY, open_for_import("wechat", path, "Asia/Shanghai"), roster=roster)
    return archive


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_names_only_as_attribution_allows(kept: Archive, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    report = export_chatlab(kept, COMMUNITY, out, anonymous_name="一位邻居")
    records = lines(out)
    assert records[0]["_type"] == "header"
    assert records[0]["chatlab"]["version"] == "0.0.2"
    assert records[0]["meta"]["platform"] == "wechat"
    members = [r for r in records if r["_type"] == "member"]
    assert sorted((m["platformId"], m["accountName"]) for m in members) == [
        ("person-2", "一位邻居"),
        ("wechat:wxid_all01", "王阿姨"),
    ]
    messages = [r for r in records if r["_type"] == "message"]
    assert len(messages) == report.messages == len(rows(kept, Message)) == KEPT_COUNT + 1
    anonymous = [m for m in messages if m["sender"] == "person-2"]
    assert [m["content"] for m in anonymous] == ["TAGGED_SECRET 我只同意被标记的"]
    reply = next(m for m in messages if m["content"] == "好的，收到")
    assert reply["type"] == 25
    first = next(m for m in messages if m["content"] == "各位邻居好，明天上午停水")
    assert reply["replyToMessageId"] == first["platformMessageId"]
    assert {m["type"] for m in messages} >= {0, 1, 25, 80}


def test_no_platform_id_or_text_of_anyone_anonymous_or_refused(
    kept: Archive, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    export_chatlab(kept, COMMUNITY, out, anonymous_name="a neighbour")
    data = out.read_text(encoding="utf-8")
    for secret in ("wxid_tag02", "TAGGED_NICK", "wxid_none03", "NONE_SECRET", "NONE_NICK"):
        assert secret not in data
    for secret in ("wxid_absent04", "ABSENT_SECRET", "REMARK_SECRET", "ALIAS_SECRET"):
        assert secret not in data


def test_our_own_chatlab_reader_reads_the_export(kept: Archive, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    export_chatlab(kept, COMMUNITY, out, anonymous_name="一位邻居")
    reader = ChatLabJsonl(out, ZoneInfo("Asia/Shanghai"))
    entries = list(reader.entries())
    assert all(isinstance(e, ExportedMessage) for e in entries)
    assert len(entries) == KEPT_COUNT + 1


def test_an_existing_file_is_refused_unless_overwritten(kept: Archive, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("mine\n", encoding="utf-8")
    with pytest.raises(CommunityMemoryError, match="already exists"):
        export_chatlab(kept, COMMUNITY, out, anonymous_name="x")
    assert out.read_text(encoding="utf-8") == "mine\n"
    export_chatlab(kept, COMMUNITY, out, anonymous_name="x", overwrite=True)
    assert lines(out)[0]["_type"] == "header"


def test_export_chatlab_through_the_cli(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\nurl = "sqlite:///{db}"\n\n[[communities]]\nid = "{COMMUNITY}"\n'
        'name = "阳光花园"\nlanguage = "zh"\n',
        encoding="utf-8",
    )
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    path = write_chatlab_json(tmp_path / "chat.json")
    runner = CliRunner()
    base = ["--config", str(config)]
    imported = runner.invoke(
        app,
        [*base, "import", "wechat", str(path), "--community", COMMUNITY, "--roster", str(roster)],
    )
    assert imported.exit_code == 0, imported.output
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, [*base, "export", "chatlab", str(out), "--community", COMMUNITY])
    assert result.exit_code == 0, result.output
    assert "ChatLab" in result.stdout
    names = {r["accountName"] for r in lines(out) if r["_type"] == "member"}
    assert names == {"王阿姨", "一位邻居"}
