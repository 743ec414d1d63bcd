"""The bench's import phase for every other reader: the synthetic Telegram history
(``sandbox.bench.synthetic``) written again in each format ``import`` reads, with the matching
roster, then imported through the real ``import element`` / ``import wechat`` path into an
archive of its own.

The same messages, authors and consent in every format, so the figures compare readers, not
data: ``import_<format>_msgs_per_s`` (entries read per second of the whole import),
``import_<format>_s``, ``import_<format>_kept`` and ``import_<format>_peak_rss_mb``. WeChat
formats have no reactions, so an author at ``tagged`` keeps nothing there (Telegram keeps
their 📌-tagged messages): the kept counts differ from Telegram's by exactly those. Element's
file carries the reactions as ``m.reaction`` events after their messages, as Element writes
them, so its reader's first pass is measured; it keeps what Telegram keeps but for the few
messages whose Telegram reactions name nobody (an ``m.reaction`` always has a sender).
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from archiver.archive import open_archive
from archiver.community import CommunitySettings, ensure_community
from archiver.importers.pipeline import run_import
from archiver.importers.readers import open_for_import
from archiver.importers.telegram_export import ExportedMessage, open_export

READERS = (
    "element",
    "chatlab-json",
    "chatlab-jsonl",
    "wechatmsg-csv",
    "pywxdump-csv",
    "pywxdump-json",
)
GROUP = "20000000001@chatroom"
ROOM = "!bench:bench.example"
# the synthetic media kinds → (WeChatMsg Type, SubType, PyWxDump label, ChatLab type)
_WECHAT_MEDIA = {"photo": (3, 0, "图片", 1), "link": (49, 5, "(分享)卡片式链接", 7)}
_TEXT = (1, 0, "文本", 0)


def wxid(user_id: str) -> str:
    """The synthetic author's WeChat account."""
    return f"wxid_b{user_id}"


def mxid(user_id: str) -> str:
    """The synthetic author's Matrix account."""
    return f"@u{user_id}:bench.example"


@dataclass(frozen=True, slots=True)
class ReaderFiles:
    """The synthetic history in every format, and a roster per platform."""

    files: dict[str, Path]
    rosters: dict[str, Path]


def write_reader_files(export: Path, roster: Path, folder: Path, zone: ZoneInfo) -> ReaderFiles:
    """Read the synthetic Telegram export once and write it in every reader's format."""
    files = {
        "element": folder / "element.json",
        "chatlab-json": folder / "chatlab.json",
        "chatlab-jsonl": folder / "chatlab.jsonl",
        "wechatmsg-csv": folder / "wechatmsg.csv",
        "pywxdump-csv": folder / "pywxdump.csv",
        "pywxdump-json": folder / "pywxdump.json",
    }
    with ExitStack() as stack:
        out = {
            name: stack.enter_context(path.open("w", encoding="utf-8", newline=""))
            for name, path in files.items()
        }
        writers = _Writers(out, zone)
        for entry in open_export(export, local_tz=zone).entries():
            if isinstance(entry, ExportedMessage) and entry.author_id is not None:
                writers.write(entry)
        writers.close()
    rosters = {"wechat": folder / "roster-wechat.csv", "matrix": folder / "roster-matrix.csv"}
    with roster.open(encoding="utf-8", newline="") as source:
        lines = list(csv.reader(source))
    for platform, path in rosters.items():
        account = wxid if platform == "wechat" else mxid
        with path.open("w", encoding="utf-8", newline="") as target:
            writer = csv.writer(target, lineterminator="\n")
            writer.writerow(lines[0])
            for line in lines[1:]:
                user_id = line[0].removeprefix("telegram:")
                writer.writerow([f"{platform}:{account(user_id)}", *line[1:]])
    return ReaderFiles(files, rosters)


class _Writers:
    """Writes one message to every format's file."""

    def __init__(self, out: Mapping[str, IO[str]], zone: ZoneInfo) -> None:
        self.out = out
        self.zone = zone
        self.count = 0
        self.csv_wechatmsg = csv.writer(out["wechatmsg-csv"])
        self.csv_pywxdump = csv.writer(out["pywxdump-csv"])
        self.csv_wechatmsg.writerow(
            [
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
        )
        self.csv_pywxdump.writerow(
            [
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
        )
        header = {
            "chatlab": {"version": "0.0.2", "exportedAt": 1_900_000_000},
            "meta": {"name": "基准小区", "platform": "wechat", "type": "group", "groupId": GROUP},
        }
        out["chatlab-json"].write(json.dumps(header, ensure_ascii=False)[:-1])
        out["chatlab-json"].write(',\n"messages": [\n')
        out["chatlab-jsonl"].write(json.dumps({"_type": "header", **header}) + "\n")
        out["pywxdump-json"].write("[\n")
        out["element"].write(
            '{"room_name": "基准小区", "room_creator": "@u1:bench.example", "topic": "",'
            ' "export_date": "1/1/2030", "exported_by": "@u1:bench.example", "messages": [\n'
        )
        self.members: set[str] = set()
        self.reactions = 0

    def write(self, entry: ExportedMessage) -> None:
        assert entry.author_id is not None
        out, sep = self.out, ",\n" if self.count else ""
        self.count += 1
        second = int(entry.sent_at.timestamp())
        local = datetime.fromtimestamp(second, self.zone).strftime("%Y-%m-%d %H:%M:%S")
        name = entry.author_name or ""
        wechat, matrix = wxid(entry.author_id), mxid(entry.author_id)
        type_, subtype, label, chatlab = _WECHAT_MEDIA.get(entry.media_kind or "", _TEXT)
        text = entry.text
        chatlab_message: dict[str, Any] = {
            "sender": wechat,
            "accountName": name,
            "groupNickname": name,
            "timestamp": second,
            "type": 25 if entry.reply_to and chatlab == 0 else chatlab,
            "content": text,
        }
        out["chatlab-json"].write(sep + _dumps(chatlab_message))
        out["chatlab-jsonl"].write(_dumps({"_type": "message", **chatlab_message}) + "\n")
        self.csv_wechatmsg.writerow(
            [self.count, GROUP, type_, subtype, 0, second, 2, text, local, "", name, wechat]
        )
        pywxdump = [self.count, str(self.count), label, 0, wechat, GROUP, text, "", local]
        self.csv_pywxdump.writerow(pywxdump)
        keys = ("id", "MsgSvrID", "type_name", "is_sender", "talker", "room_name", "msg", "src")
        record = dict(zip((*keys, "CreateTime"), pywxdump, strict=True))
        out["pywxdump-json"].write(sep + _dumps(record))
        if matrix not in self.members:  # the member event that names them, once
            self.members.add(matrix)
            member = {
                "type": "m.room.member",
                "room_id": ROOM,
                "sender": matrix,
                "state_key": matrix,
                "event_id": f"$m{self.count}",
                "origin_server_ts": second * 1000,
                "content": {"membership": "join", "displayname": name},
            }
            out["element"].write(sep + _dumps(member))
            sep = ",\n"
        msgtype = "m.text" if entry.media_kind is None else "m.image"
        content: dict[str, Any] = {"msgtype": msgtype, "body": text}
        if entry.reply_to:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": f"$e{entry.reply_to}"}}
        event = {
            "type": "m.room.message",
            "room_id": ROOM,
            "sender": matrix,
            "event_id": f"$e{entry.id}",
            "origin_server_ts": second * 1000,
            "content": content,
            "unsigned": {"age": 1},
        }
        out["element"].write(sep + _dumps(event))
        # Reactions are events of their own, after the message (the reader's first pass).
        for reaction in entry.reactions:
            for reactor in reaction.from_ids:
                self.reactions += 1
                relation = {
                    "rel_type": "m.annotation",
                    "event_id": f"$e{entry.id}",
                    "key": reaction.emoji,
                }
                react = {
                    "type": "m.reaction",
                    "room_id": ROOM,
                    "sender": mxid(reactor),
                    "event_id": f"$r{self.reactions}",
                    "origin_server_ts": second * 1000,
                    "content": {"m.relates_to": relation},
                }
                out["element"].write(",\n" + _dumps(react))

    def close(self) -> None:
        self.out["chatlab-json"].write("\n]}\n")
        self.out["pywxdump-json"].write("\n]\n")
        self.out["element"].write("\n]}\n")


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class ReaderFigures:
    """One reader's import."""

    entries: int
    kept: int
    seconds: float
    peak_rss_mb: float


def import_each(
    files: ReaderFiles,
    folder: Path,
    timezone: str,
    sampler: Callable[[], Any],
    step: Callable[[str], None],
    db_url: Callable[[str], str] | None = None,
) -> Iterator[tuple[str, ReaderFigures]]:
    """Import every reader's file into an archive of its own (``db_url(name)``, else a new
    SQLite file); ``sampler()`` is an RSS sampler (a context manager with ``peak_mb``)."""
    for name in READERS:
        step(f"import {name}")
        url = db_url(name) if db_url else f"sqlite:///{folder / f'reader-{name}.db'}"
        archive = open_archive(url)
        try:
            community = f"bench-{name}"
            ensure_community(archive, CommunitySettings(id=community, name=community))
            command = "element" if name == "element" else "wechat"
            platform = "matrix" if name == "element" else "wechat"
            with sampler() as rss:
                started = time.perf_counter()
                reader = open_for_import(
                    command,
                    files.files[name],
                    timezone,
                    forced=None if command == "element" else name,
                )
                report = run_import(archive, community, reader, roster=files.rosters[platform])
                seconds = time.perf_counter() - started
        finally:
            archive.close()
        yield name, ReaderFigures(report.entries, report.kept, seconds, rss.peak_mb)
