"""``import wechat``: ChatLab JSON/JSONL, WeChatMsg/MemoTrace CSV, PyWxDump CSV/JSON — consent
first, ``Remark`` never read, overlaps kept once.

One small group history (``HISTORY``) is written in every format by the helpers below, so the
same expectations hold for all five, and two formats of it overlap exactly.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from archiver.archive import Archive
from archiver.errors import ImportFormatError
from archiver.importers.pipeline import ImportReport, dry_run, run_import
from archiver.importers.readers import open_for_import
from archiver.importers.wechat import detect
from storage.models import ConsentEvent, Message, Person, Space
from tests.conftest import COMMUNITY, archive_bytes, cli, one_line_error, rows

SHANGHAI = ZoneInfo("Asia/Shanghai")
GROUP = "5566778899@chatroom"
T0 = int(datetime(2024, 3, 1, 10, 0, tzinfo=SHANGHAI).timestamp())


@dataclass(frozen=True)
class Author:
    wxid: str
    nickname: str
    remark: str
    level: str | None  # on the roster; None: absent


ALL = Author("wxid_all01", "王阿姨", "REMARK_SECRET_王姐楼下", "all")
TAGGED = Author("wxid_tag02", "TAGGED_NICK", "REMARK_SECRET_tagged", "tagged")
NONE = Author("wxid_none03", "NONE_NICK", "REMARK_SECRET_none", "none")
ABSENT = Author("wxid_absent04", "ABSENT_NICK", "REMARK_SECRET_absent", None)
AUTHORS = (ALL, TAGGED, NONE, ABSENT)


@dataclass(frozen=True)
class Said:
    """One message of the history, in format-neutral terms."""

    author: Author
    offset: int  # seconds after T0
    kind: str  # text reply photo announcement sign_up recall red_packet transfer pat system
    text: str = ""


HISTORY = (
    Said(ALL, 0, "text", "各位邻居好，明天上午停水"),
    Said(TAGGED, 60, "text", "TAGGED_SECRET 我只同意被标记的"),
    Said(NONE, 120, "text", "NONE_SECRET 我不同意保存"),
    Said(ABSENT, 180, "text", "ABSENT_SECRET 我没有回答"),
    Said(ALL, 240, "recall"),
    Said(ALL, 300, "red_packet"),
    Said(ALL, 360, "announcement", "周六电梯检修，请走楼梯"),
    Said(ALL, 420, "sign_up", "#接龙\n团购大米\n1. 王阿姨 2袋"),
    Said(ALL, 480, "photo"),
    Said(ALL, 500, "system"),
    Said(ALL, 540, "reply", "好的，收到"),
    Said(ALL, 600, "pat"),
    Said(ALL, 660, "transfer"),
    Said(ALL, 720, "text", "+1"),
    Said(ALL, 720, "text", "+1"),  # the same second, the same text: two messages
)
KEPT = {  # (seconds after T0, kind kept) of what an import with the roster keeps
    (0, None),
    (360, "announcement"),
    (420, "sign_up"),
    (480, "photo"),
    (540, None),
    (720, None),
}
KEPT_COUNT = 7  # the two "+1" are two messages
SECRETS = (
    "TAGGED_SECRET",
    "NONE_SECRET",
    "ABSENT_SECRET",
    "REMARK_SECRET",
    "ALIAS_SECRET",
    "NONE_NICK",
    "ABSENT_NICK",
    "TAGGED_NICK",
)


def local(offset: int) -> str:
    return datetime.fromtimestamp(T0 + offset, SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


# -- writers, one per format ----------------------------------------------------------------------

CHATLAB_TYPES = {
    "text": 0,
    "reply": 25,
    "photo": 1,
    "announcement": 80,
    "sign_up": 0,
    "recall": 81,
    "red_packet": 20,
    "transfer": 21,
    "pat": 22,
    "system": 80,
}


def chatlab_message(said: Said, index: int) -> dict[str, Any]:
    content: str | None = said.text
    if said.kind == "announcement":
        content = f"群公告：{said.text}"
    elif said.kind == "photo":
        content = "[图片]"
    elif said.kind == "system":
        content = "王阿姨邀请小刘加入了群聊"
    elif said.kind == "recall":
        content = "王阿姨撤回了一条消息"
    message: dict[str, Any] = {
        "platformMessageId": f"m{index}",
        "sender": said.author.wxid,
        "accountName": said.author.nickname + "的微信",
        "groupNickname": said.author.nickname,
        "timestamp": T0 + said.offset,
        "type": CHATLAB_TYPES[said.kind],
        "content": content,
    }
    if said.kind == "reply":
        message["replyToMessageId"] = "m0"
    return message


def chatlab_header(platform: str = "wechat") -> dict[str, Any]:
    return {
        "chatlab": {"version": "0.0.2", "exportedAt": T0 + 9999},
        "meta": {"name": "阳光花园业主群", "platform": platform, "type": "group", "groupId": GROUP},
    }


def chatlab_members() -> list[dict[str, Any]]:
    return [
        {
            "platformId": a.wxid,
            "accountName": a.nickname,
            "groupNickname": a.nickname,
            "aliases": ["ALIAS_SECRET_" + a.wxid],
        }
        for a in AUTHORS
    ]


def write_chatlab_json(path: Path, platform: str = "wechat") -> Path:
    document = {
        **chatlab_header(platform),
        "members": chatlab_members(),
        "messages": [chatlab_message(s, i) for i, s in enumerate(HISTORY)],
    }
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def write_chatlab_jsonl(path: Path) -> Path:
    lines = [{"_type": "header", **chatlab_header()}]
    lines += [{"_type": "member", **m} for m in chatlab_members()]
    lines += [{"_type": "message", **chatlab_message(s, i)} for i, s in enumerate(HISTORY)]
    path.write_text(
        "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8"
    )
    return path


WECHATMSG_TYPES = {  # kind → (Type, SubType, StrContent)
    "text": (1, 0, None),
    "reply": (49, 57, "<msg><appmsg><title>{text}</title><type>57</type></appmsg></msg>"),
    "photo": (3, 0, ""),
    "announcement": (
        49,
        87,
        "<msg><appmsg><title>群公告</title><textannouncement>{text}</textannouncement></appmsg></msg>",
    ),
    "sign_up": (49, 53, "<msg><appmsg><title>{text}</title><type>53</type></appmsg></msg>"),
    "recall": (10000, 0, "王阿姨撤回了一条消息"),
    "red_packet": (49, 2001, "<msg><appmsg><title>恭喜发财</title></appmsg></msg>"),
    "transfer": (49, 2000, "<msg><appmsg><title>微信转账</title></appmsg></msg>"),
    "pat": (10000, 4, "王阿姨拍了拍我"),
    "system": (10000, 0, "王阿姨邀请小刘加入了群聊"),
}
WECHATMSG_HEADER = [
    "localId",
    "TalkerId",
    "Type",
    "SubType",
    "IsSender",
    "CreateTime",
    "Status",
    "StrContent",
    "StrTime",
    "Remark",
    "NickName",
    "Sender",
]


def wechatmsg_rows() -> list[list[object]]:
    out: list[list[object]] = []
    for index, said in enumerate(HISTORY):
        type_, subtype, template = WECHATMSG_TYPES[said.kind]
        content = said.text if template is None else template.format(text=said.text)
        out.append(
            [
                index + 1,
                GROUP,
                type_,
                subtype,
                0,
                T0 + said.offset,
                2,
                content,
                local(said.offset),
                said.author.remark,
                said.author.nickname,
                said.author.wxid,
            ]
        )
    return out


def write_wechatmsg_csv(path: Path, encoding: str = "utf-8-sig") -> Path:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(WECHATMSG_HEADER)
    writer.writerows(wechatmsg_rows())
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


PYWXDUMP_LABELS = {
    "text": "文本",
    "reply": "引用回复",
    "photo": "图片",
    "announcement": "群公告",
    "sign_up": "接龙",
    "recall": "消息撤回1",
    "red_packet": "红包",
    "transfer": "转账",
    "pat": "拍一拍",
    "system": "系统通知",
}
PYWXDUMP_HEADER = [
    "id",
    "MsgSvrID",
    "type_name",
    "is_sender",
    "talker",
    "room_name",
    "msg",
    "src",
    "CreateTime",
]


def pywxdump_records(zone: ZoneInfo = SHANGHAI) -> list[dict[str, Any]]:
    return [
        {
            "id": index + 1,
            "MsgSvrID": str(7_000_000_000 + index),
            "type_name": PYWXDUMP_LABELS[said.kind],
            "is_sender": 0,
            "talker": said.author.wxid,
            "room_name": GROUP,
            "msg": said.text if said.kind != "photo" else "",
            "src": "",
            "CreateTime": datetime.fromtimestamp(T0 + said.offset, zone).strftime(
                "%Y-%m-%d %H:%M:%S"
            ),
        }
        for index, said in enumerate(HISTORY)
    ]


def write_pywxdump_csv(path: Path, zone: ZoneInfo = SHANGHAI) -> Path:
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, PYWXDUMP_HEADER)
    writer.writeheader()
    writer.writerows(pywxdump_records(zone))
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def write_pywxdump_json(path: Path) -> Path:
    path.write_text(json.dumps(pywxdump_records(), ensure_ascii=False, indent=1), encoding="utf-8")
    return path


WRITERS: dict[str, Callable[[Path], Path]] = {
    "chatlab-json": lambda folder: write_chatlab_json(folder / "chat.json"),
    "chatlab-jsonl": lambda folder: write_chatlab_jsonl(folder / "chat.jsonl"),
    "wechatmsg-csv": lambda folder: write_wechatmsg_csv(folder / "messages.csv"),
    "pywxdump-csv": lambda folder: write_pywxdump_csv(folder / "pywxdump.csv"),
    "pywxdump-json": lambda folder: write_pywxdump_json(folder / "pywxdump.json"),
}
FORMATS = list(WRITERS)


def write_roster(path: Path, platform: str = "wechat") -> Path:
    lines = ["account,level,attribution,recorded_by,recorded_at,evidence"]
    for author in AUTHORS:
        if author.level is not None:
            lines.append(
                f"{platform}:{author.wxid},{author.level},named,王阿姨 (楼长),"
                f"2024-01-01T10:00:00+08:00,纸质同意书 {author.wxid}"
            )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def import_file(
    archive: Archive, path: Path, *, roster: Path | None = None, timezone: str = "Asia/Shanghai"
) -> ImportReport:
    reader = open_for_import("wechat", path, timezone)
    return run_import(archive, COMMUNITY, reader, roster=roster)


def kept_set(archive: Archive) -> set[tuple[int, str | None]]:
    return {(int(m.sent_at.timestamp()) - T0, m.media_kind) for m in rows(archive, Message)}


# -- the kept set, per format ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_is_detected_by_content(fmt: str, tmp_path: Path) -> None:
    assert detect(WRITERS[fmt](tmp_path)) == fmt


@pytest.mark.parametrize("fmt", FORMATS)
def test_only_what_the_roster_allows_is_kept(archive: Archive, tmp_path: Path, fmt: str) -> None:
    report = import_file(archive, WRITERS[fmt](tmp_path), roster=write_roster(tmp_path / "r.csv"))
    assert kept_set(archive) == KEPT
    assert report.kept == KEPT_COUNT == len(rows(archive, Message))
    assert report.not_consented == 3  # tagged (nothing tagged in WeChat), none, absent
    assert report.service == 5  # recall, red packet, system, pat, transfer
    assert report.malformed == 0
    assert report.entries == report.kept + report.not_consented
    texts = {m.text for m in rows(archive, Message)}
    assert "各位邻居好，明天上午停水" in texts
    assert "好的，收到" in texts
    assert any(t.startswith("#接龙") for t in texts)
    assert any("周六电梯检修" in t for t in texts)
    (space,) = [s for s in rows(archive, Space) if s.platform == "wechat"]
    assert space.chat_id == GROUP
    assert all(m.source == "import:wechat" for m in rows(archive, Message))
    # every kept message traces to its author's ledger entry
    ledger = {e.id: e for e in rows(archive, ConsentEvent)}
    assert all(ledger[m.consent_event_id].new_value == "all" for m in rows(archive, Message))


@pytest.mark.parametrize("fmt", FORMATS)
def test_secrets_and_remarks_never_reach_the_database(
    archive: Archive, tmp_path: Path, fmt: str, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("the database file's bytes: SQLite")
    import_file(archive, WRITERS[fmt](tmp_path), roster=write_roster(tmp_path / "r.csv"))
    archive.db.engine.dispose()
    data = archive_bytes(archive)
    assert "各位邻居好".encode() in data  # the check can fail
    for secret in SECRETS:
        assert secret.encode() not in data, secret


def test_names_are_kept_only_for_people_who_said_yes(archive: Archive, tmp_path: Path) -> None:
    import_file(
        archive, WRITERS["wechatmsg-csv"](tmp_path), roster=write_roster(tmp_path / "r.csv")
    )
    names = {p.display_name for p in rows(archive, Person) if p.display_name}
    assert names == {"王阿姨"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_reimporting_adds_nothing(archive: Archive, tmp_path: Path, fmt: str) -> None:
    path = WRITERS[fmt](tmp_path)
    roster = write_roster(tmp_path / "r.csv")
    first = import_file(archive, path, roster=roster)
    before = (len(rows(archive, Message)), len(rows(archive, ConsentEvent)))
    again = import_file(archive, path, roster=roster)
    assert (again.kept, again.already, again.consent_changes) == (0, first.kept, 0)
    assert (len(rows(archive, Message)), len(rows(archive, ConsentEvent))) == before


@pytest.mark.parametrize("second", FORMATS[1:])
def test_the_same_history_in_two_formats_is_kept_once(
    archive: Archive, tmp_path: Path, second: str
) -> None:
    roster = write_roster(tmp_path / "r.csv")
    first_folder, second_folder = tmp_path / "a", tmp_path / "b"
    first_folder.mkdir()
    second_folder.mkdir()
    import_file(archive, WRITERS["chatlab-json"](first_folder), roster=roster)
    before = {m.platform_message_id for m in rows(archive, Message)}
    report = import_file(archive, WRITERS[second](second_folder), roster=roster)
    assert (report.kept, report.already) == (0, KEPT_COUNT)
    assert {m.platform_message_id for m in rows(archive, Message)} == before


def test_a_gbk_csv_from_excel_is_read(archive: Archive, tmp_path: Path) -> None:
    path = write_wechatmsg_csv(tmp_path / "excel.csv", encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    report = import_file(archive, path, roster=write_roster(tmp_path / "r.csv"))
    assert report.kept == KEPT_COUNT
    assert "各位邻居好，明天上午停水" in {m.text for m in rows(archive, Message)}
    names = {p.display_name for p in rows(archive, Person) if p.display_name}
    assert names == {"王阿姨"}


def test_a_csv_without_a_bom_is_read(archive: Archive, tmp_path: Path) -> None:
    path = write_wechatmsg_csv(tmp_path / "plain.csv", encoding="utf-8")
    assert not path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert import_file(archive, path, roster=write_roster(tmp_path / "r.csv")).kept == KEPT_COUNT


def test_local_times_follow_the_timezone_option(archive: Archive, tmp_path: Path) -> None:
    # the exporter's computer was in Berlin: its local strings are Berlin time
    berlin = ZoneInfo("Europe/Berlin")
    path = write_pywxdump_csv(tmp_path / "berlin.csv", zone=berlin)
    import_file(archive, path, roster=write_roster(tmp_path / "r.csv"), timezone="Europe/Berlin")
    assert kept_set(archive) == KEPT


def test_chatlab_qq_accounts_are_qq(archive: Archive, tmp_path: Path) -> None:
    path = write_chatlab_json(tmp_path / "qq.json", platform="qq")
    report = import_file(archive, path, roster=write_roster(tmp_path / "r.csv", platform="qq"))
    assert report.kept == KEPT_COUNT
    (space,) = [s for s in rows(archive, Space) if s.chat_id == GROUP]
    assert space.platform == "qq"


def test_a_chatlab_reply_points_at_its_message(archive: Archive, tmp_path: Path) -> None:
    import_file(archive, WRITERS["chatlab-json"](tmp_path), roster=write_roster(tmp_path / "r.csv"))
    by_text = {m.text: m for m in rows(archive, Message)}
    assert by_text["好的，收到"].reply_to == by_text["各位邻居好，明天上午停水"].platform_message_id


# -- malformed files -----------------------------------------------------------------------------


def truncate(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    return path


def wrong_columns(path: Path) -> Path:
    text = path.read_text(encoding="utf-8-sig")
    path.write_text(text.replace("StrContent", "Content").replace("type_name", "kind"), "utf-8")
    return path


@pytest.fixture
def config_file(tmp_path: Path, db_url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[storage]\nurl = "{db_url}"\n\n'
        f'[[communities]]\nid = "{COMMUNITY}"\nname = "阳光花园"\ntimezone = "Asia/Shanghai"\n',
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_truncated_file_is_one_line_and_changes_nothing(
    config_file: Path, tmp_path: Path, fmt: str
) -> None:
    path = truncate(WRITERS[fmt](tmp_path))
    roster = write_roster(tmp_path / "r.csv")
    result = cli(config_file, "import", "wechat", str(path), "--community", COMMUNITY,
                 "--roster", str(roster), "--format", fmt)  # fmt: skip
    line = one_line_error(result)
    assert path.name in line
    people = cli(config_file, "people", "--community", COMMUNITY, "--json")
    assert people.exit_code == 0, people.output
    assert json.loads(people.stdout) == []  # not even the roster was recorded


@pytest.mark.parametrize("fmt", ["wechatmsg-csv", "pywxdump-csv"])
def test_a_csv_with_wrong_columns_is_one_line(config_file: Path, tmp_path: Path, fmt: str) -> None:
    path = wrong_columns(WRITERS[fmt](tmp_path))
    detected = cli(config_file, "import", "wechat", str(path), "--community", COMMUNITY)
    assert "not a WeChat export" in one_line_error(detected)
    forced = cli(config_file, "import", "wechat", str(path), "--community", COMMUNITY,
                 "--format", fmt)  # fmt: skip
    assert "missing column" in one_line_error(forced)


def test_import_wechat_through_the_cli_reports_json(config_file: Path, tmp_path: Path) -> None:
    path = WRITERS["chatlab-jsonl"](tmp_path)
    roster = write_roster(tmp_path / "r.csv")
    args = ["import", "wechat", str(path), "--community", COMMUNITY, "--roster", str(roster)]
    result = cli(config_file, *args, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["format"], report["kept"], report["service"]) == ("chatlab-jsonl", 7, 5)
    again = cli(config_file, *args)
    assert again.exit_code == 0, again.output
    assert "0 kept" in again.stdout and "7 already" in again.stdout


# -- dry run ---------------------------------------------------------------------------------------


def test_dry_run_shows_each_author_and_writes_nothing(
    config_file: Path, tmp_path: Path, backend: str
) -> None:
    path = WRITERS["wechatmsg-csv"](tmp_path)
    roster = write_roster(tmp_path / "r.csv")
    result = cli(config_file, "import", "wechat", str(path), "--community", COMMUNITY,
                 "--roster", str(roster), "--dry-run", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    by_account = {a["account"]: a for a in report["authors"]}
    assert by_account["wechat:wxid_all01"] == {
        "account": "wechat:wxid_all01",
        "name": "王阿姨",
        "consent": "all",
        "consent_from": "roster",
        "would_keep": KEPT_COUNT,
        "would_not_keep": 0,
    }
    assert (
        by_account["wechat:wxid_tag02"]["consent"],
        by_account["wechat:wxid_tag02"]["would_keep"],
    ) == ("tagged", 0)
    assert by_account["wechat:wxid_none03"]["consent"] == "none"
    assert by_account["wechat:wxid_absent04"]["consent_from"] == "none"
    assert report["would_keep"] == KEPT_COUNT and report["would_not_keep"] == 3
    if backend == "sqlite":
        # nothing written: not even an archive
        assert not list(tmp_path.glob("archive.db*"))
    text = cli(config_file, "import", "wechat", str(path), "--community", COMMUNITY,
               "--roster", str(roster), "--dry-run")  # fmt: skip
    assert "dry run, nothing written" in text.stdout
    assert (
        "wechat:wxid_none03 (NONE_NICK): 0 kept, 1 not — consent none (from roster)" in text.stdout
    )


def test_dry_run_uses_the_archives_consent(archive: Archive, tmp_path: Path) -> None:
    path = WRITERS["pywxdump-json"](tmp_path)
    import_file(archive, path, roster=write_roster(tmp_path / "r.csv"))
    before = len(rows(archive, Message))
    report = dry_run(
        archive,
        COMMUNITY,
        open_for_import("wechat", path, "Asia/Shanghai"),
        keep_emoji="📌",
        timezone="Asia/Shanghai",
    )
    levels = {a.account: (a.consent, a.source) for a in report.authors}
    assert levels["wechat:wxid_all01"] == ("all", "archive")
    assert report.kept == KEPT_COUNT
    assert len(rows(archive, Message)) == before


def test_an_unknown_file_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello\n", encoding="utf-8")
    with pytest.raises(ImportFormatError, match="not a WeChat export"):
        detect(path)


def test_a_bad_row_is_one_malformed_entry_and_the_rest_is_kept(
    archive: Archive, tmp_path: Path
) -> None:
    path = WRITERS["wechatmsg-csv"](tmp_path)
    lines = path.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    lines.insert(2, "99,5566778899@chatroom,1,0\r\n")  # a row cut short, in the middle
    path.write_text("".join(lines), encoding="utf-8")
    report = import_file(archive, path, roster=write_roster(tmp_path / "r.csv"))
    assert (report.malformed, report.kept) == (1, KEPT_COUNT)
    assert "4 values, the header has 12" in report.malformed_examples[0]


def test_a_chatlab_message_without_a_time_is_malformed(archive: Archive, tmp_path: Path) -> None:
    path = write_chatlab_json(tmp_path / "chat.json")
    document = json.loads(path.read_text(encoding="utf-8"))
    del document["messages"][0]["timestamp"]
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
    report = import_file(archive, path, roster=write_roster(tmp_path / "r.csv"))
    assert report.malformed == 1
    assert "timestamp" in report.malformed_examples[0]
    assert report.kept == KEPT_COUNT - 1
