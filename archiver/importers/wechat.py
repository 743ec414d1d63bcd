"""``import wechat``: chat histories residents exported from WeChat (and QQ) with tools of
their own choice. This project never reads WeChat's own databases and ships no decryptor: it
takes only files that residents produced themselves (docs/import.md).

Formats, detected by content (:func:`detect`; ``--format`` forces one):

* ``chatlab-json`` / ``chatlab-jsonl``: ChatLab's standard format (``archiver.importers.chatlab``);
* ``wechatmsg-csv``: WeChatMsg / MemoTrace CSV (``localId, TalkerId, Type, SubType, IsSender,
  CreateTime, Status, StrContent, StrTime, Remark, NickName, Sender``);
* ``pywxdump-csv`` / ``pywxdump-json``: PyWxDump's export (``id, MsgSvrID, type_name,
  is_sender, talker, room_name, msg, src, CreateTime``).

Decisions, the same for every format:

* **Accounts** are the wxid (``wechat:wxid_…``; ChatLab's ``meta.platform`` says ``qq`` for QQ).
  The chat is the group's id (``…@chatroom``), so two formats of one group are one space.
* **Names**: the group nickname (else the account name) is the author's display name, stored
  only for people who said yes and shown only for those who chose ``named`` (as for Telegram).
  **The exporter's ``Remark`` column — and ChatLab's member ``aliases`` — are never read**:
  they are the exporter's private labels for a neighbour.
* **Message ids**: WeChat's local ids differ per exporter, so every WeChat format uses the
  same stable key from (account, Unix second, kind, text) (:class:`StableKeys`): an overlap of
  two exports, or of two formats, is kept once.
* **Kinds**: text and replies are text; 群公告 (``announcement``) and 接龙 (``sign_up``, also
  any text starting ``#接龙``) are kept as text with their kind; photos, voice, video,
  stickers, files, links, locations, contact cards and forwarded chat records are kept with
  their kind (text: a link's or file's title, nothing for the rest). Recalled messages,
  system messages, red packets, transfers, pats and calls are not stored (counted as
  ``service``); a type no rule knows is skipped and counted as ``unsupported``.
* **Times**: Unix seconds where the format has them; local time strings without an offset are
  read in the community's time zone, or ``--timezone``.
* **Text encoding** of CSV: UTF-8 with or without a byte order mark, else GBK/GB18030 (what
  Excel on Chinese Windows saves).
"""

from __future__ import annotations

import csv
import html
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from archiver.errors import ImportFormatError
from archiver.importers.entries import (
    ExportedChat,
    ExportedMessage,
    MalformedEntry,
    StableKeys,
)
from archiver.importers.files import (
    LocalTimes,
    check_csv_end,
    check_json_end,
    csv_encoding,
    head,
    json_stream,
    open_text,
)
from archiver.importers.telegram_export import _new_message as new_message

SOURCE = "import:wechat"
FORMATS = ("chatlab-json", "chatlab-jsonl", "wechatmsg-csv", "pywxdump-csv", "pywxdump-json")

SKIP = "-skip"
"""A kind that is not stored: recalled, system, red packet, transfer, pat, call."""
UNKNOWN = "-unknown"
"""A type no rule knows: skipped, counted as unsupported."""

# kinds whose text is part of the stable key; for the others it is the kind alone (their
# text differs between exporters: "[图片]", an XML card, an empty cell)
_TEXT_KINDS = frozenset({None})
# kinds whose text is kept (a title, the notice itself); the others keep no text
_TITLED = frozenset({"link", "file", "forwarded_chat", "announcement", "sign_up"})
SIGN_UP_MARK = "#接龙"

# WeChatMsg / MemoTrace: the message table's Type, and SubType for Type 49 (app messages)
_WECHATMSG_TYPES: dict[int, str | None] = {
    1: None,
    3: "photo",
    34: "voice_message",
    42: "contact",
    43: "video_file",
    47: "sticker",
    48: "location",
}
_WECHATMSG_SKIP = frozenset({37, 50, 65, 66, 10000, 10002, 419430449, 436207665, 922746929})
_APP_SUBTYPES: dict[int, str | None] = {
    1: None,  # pasted text
    57: None,  # a reply: its text is what the person wrote
    0: "file",
    6: "file",
    74: "file",
    8: "sticker",
    19: "forwarded_chat",
    53: "sign_up",
    87: "announcement",
}
_APP_SKIP = frozenset({62, 2000, 2001, 2003})  # pat, transfer, red packet, red packet cover

# PyWxDump's type_name labels
_LABELS: dict[str, str | None] = {
    "文本": None,
    "粘贴的文本": None,
    "引用回复": None,
    "图片": "photo",
    "语音": "voice_message",
    "视频": "video_file",
    "动画表情": "sticker",
    "用户上传的GIF表情": "sticker",
    "位置": "location",
    "名片": "contact",
    "推荐公众号": "contact",
    "文件": "file",
    "文件(猜)": "file",
    "合并转发的聊天记录": "forwarded_chat",
    "群公告": "announcement",
    "接龙": "sign_up",
}
_SKIP_LABELS = ("转账", "红包", "拍一拍", "撤回", "系统通知", "邀请加群", "添加好友", "语音通话")

_TITLE = re.compile(r"<title>(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?</title>", re.S)
_ANNOUNCEMENT = re.compile(
    r"<textannouncement>(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?</textannouncement>", re.S
)


def wechatmsg_kind(type_: int, subtype: int) -> str | None:
    """The kind of a WeChatMsg row (``SKIP``, ``UNKNOWN``, ``None`` for text)."""
    if type_ in _WECHATMSG_TYPES:
        return _WECHATMSG_TYPES[type_]
    if type_ in _WECHATMSG_SKIP:
        return SKIP
    if type_ == 49:
        if subtype in _APP_SUBTYPES:
            return _APP_SUBTYPES[subtype]
        return SKIP if subtype in _APP_SKIP else "link"
    return UNKNOWN


def label_kind(label: str) -> str | None:
    """The kind of a PyWxDump ``type_name``."""
    if label in _LABELS:
        return _LABELS[label]
    if any(word in label for word in _SKIP_LABELS):
        return SKIP
    if label.startswith("(分享)"):
        return "link"
    return UNKNOWN


def readable(kind: str | None, text: str) -> tuple[str | None, str]:
    """The kind and the text kept: a card's title out of its XML, 接龙 recognised, media
    placeholders dropped, line breaks as ``\\n``."""
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    if text.startswith("<") and ("<title>" in text or "<textannouncement>" in text):
        found = _ANNOUNCEMENT.search(text) if kind == "announcement" else None
        found = found or _TITLE.search(text)
        text = html.unescape(found.group(1)).strip() if found else ""
    if kind is None or kind == "link":
        if text.startswith(SIGN_UP_MARK):
            return "sign_up", text
        return kind, text
    return kind, text if kind in _TITLED else ""


class WeChatHistory:
    """What every WeChat-format reader shares (see the module doc); subclasses read."""

    format = "wechat"
    platform = "wechat"
    source = SOURCE

    def __init__(self, path: Path, chat: ExportedChat, local_tz: ZoneInfo) -> None:
        self.path = path
        self.chat = chat
        self.local_tz = local_tz
        self.service_count = 0
        self._started = False
        self._keys = StableKeys()
        self._times = LocalTimes(local_tz)

    def entries(self) -> Iterator[ExportedMessage | MalformedEntry]:
        """Every message and malformed entry, in the file's order, once."""
        if self._started:
            raise RuntimeError("entries() can be iterated only once; reopen the file")
        self._started = True
        return self._iterate()

    def _iterate(self) -> Iterator[ExportedMessage | MalformedEntry]:
        raise NotImplementedError

    def message(
        self,
        index: int,
        author: str | None,
        name: str | None,
        second: int,
        kind: str | None,
        text: str,
        reply_to: str | None = None,
    ) -> ExportedMessage:
        """One message, its id the stable key (see the module doc)."""
        kind, text = readable(kind, text)
        key = self._keys.key(author or "", second, kind, text if kind in _TEXT_KINDS else "")
        sent_at = datetime.fromtimestamp(second, UTC)
        return new_message(
            index, key, sent_at, author, name or None, text, reply_to, None, kind, (), False
        )

    def second(self, value: object) -> int | None:
        """A time as Unix seconds: a number, digits, or a local time string."""
        if value.__class__ is int:
            return value
        if isinstance(value, str):
            if value.isdigit():
                return int(value)
            return self._times.second(value)
        if isinstance(value, float) and value == value:
            return int(value)
        return None


# -- WeChatMsg / MemoTrace CSV -----------------------------------------------------------------

WECHATMSG_COLUMNS = ("TalkerId", "Type", "SubType", "CreateTime", "StrContent", "Sender")
PYWXDUMP_COLUMNS = ("type_name", "talker", "room_name", "msg", "CreateTime")


def _csv_header(path: Path, encoding: str) -> list[str]:
    with open_text(path, encoding) as text:
        try:
            row = next(csv.reader(text), None)
        except csv.Error as error:
            raise ImportFormatError(f"not a valid CSV file ({error})", path=path) from None
    if row is None:
        raise ImportFormatError("the file is empty", path=path)
    return [name.strip() for name in row]


def _columns(path: Path, header: list[str], needed: tuple[str, ...], what: str) -> list[int]:
    missing = [name for name in needed if name not in header]
    if missing:
        raise ImportFormatError(
            f"not a {what} file: missing column(s) {', '.join(missing)} (the header has "
            f"{', '.join(header[:12]) or 'nothing'})",
            path=path,
            entry="line 1",
        )
    return [header.index(name) for name in needed]


class CsvHistory(WeChatHistory):
    """A CSV export: the encoding found, the header and the end checked, the chat read from
    the first row."""

    needed: tuple[str, ...] = ()
    what = ""
    chat_column = ""

    def __init__(self, path: Path, local_tz: ZoneInfo) -> None:
        self.encoding = csv_encoding(path)
        header = _csv_header(path, self.encoding)
        self.width = len(header)
        self.positions = _columns(path, header, self.needed, self.what)
        nickname = "NickName"
        self.name_column = header.index(nickname) if nickname in header else -1
        check_csv_end(path, self.encoding, self.width)
        chat_id = self._first_chat(path, header.index(self.chat_column))
        super().__init__(path, ExportedChat(chat_id, chat_id, "group"), local_tz)

    def _first_chat(self, path: Path, column: int) -> str:
        for row in self._rows(path):
            if len(row) > column and row[column].strip():
                return row[column].strip()
        raise ImportFormatError(f"no row names the chat ({self.chat_column})", path=path)

    def _rows(self, path: Path) -> Iterator[list[str]]:
        with open_text(path, self.encoding) as text:
            reader = csv.reader(text)
            next(reader, None)
            try:
                yield from reader
            except csv.Error as error:
                raise ImportFormatError(
                    f"not a valid CSV file ({error})", path=path, entry=f"line {reader.line_num}"
                ) from None

    def bad_width(self, index: int, row: list[str]) -> MalformedEntry | None:
        """A row with another number of values than the header has columns."""
        if len(row) == self.width:
            return None
        return MalformedEntry(
            index, None, f"line {index + 2}: {len(row)} values, the header has {self.width}"
        )


class WeChatMsgCsv(CsvHistory):
    """WeChatMsg / MemoTrace CSV. ``Remark`` is never read (module doc)."""

    format = "wechatmsg-csv"
    needed = WECHATMSG_COLUMNS
    what = "WeChatMsg/MemoTrace CSV"
    chat_column = "TalkerId"

    def _iterate(self) -> Iterator[ExportedMessage | MalformedEntry]:
        talker_at, type_at, sub_at, time_at, text_at, sender_at = self.positions
        name_at = self.name_column
        chat_id = self.chat.chat_id
        skipped = 0
        message = self.message
        for index, row in enumerate(self._rows(self.path)):
            bad = self.bad_width(index, row)
            if bad is not None:
                yield bad
                continue
            if row[talker_at] != chat_id:
                yield MalformedEntry(index, None, f"line {index + 2}: another chat's message")
                continue
            try:
                kind = wechatmsg_kind(int(row[type_at]), int(row[sub_at] or 0))
            except ValueError:
                yield MalformedEntry(index, None, f"line {index + 2}: Type is not a number")
                continue
            if kind == SKIP:
                skipped += 1
                self.service_count = skipped
                continue
            if kind == UNKNOWN:
                yield MalformedEntry(index, None, f"type {row[type_at]}", unsupported=True)
                continue
            second = self.second(row[time_at])
            if second is None:
                yield MalformedEntry(index, None, f"line {index + 2}: invalid CreateTime")
                continue
            sender = row[sender_at].strip() or None
            name = row[name_at].strip() if name_at >= 0 else None
            yield message(index, sender, name, second, kind, row[text_at])


class PyWxDumpCsv(CsvHistory):
    """PyWxDump's CSV export."""

    format = "pywxdump-csv"
    needed = PYWXDUMP_COLUMNS
    what = "PyWxDump CSV"
    chat_column = "room_name"

    def _iterate(self) -> Iterator[ExportedMessage | MalformedEntry]:
        label_at, talker_at, room_at, text_at, time_at = self.positions
        chat_id = self.chat.chat_id
        skipped = 0
        for index, row in enumerate(self._rows(self.path)):
            bad = self.bad_width(index, row)
            if bad is not None:
                yield bad
                continue
            found = _pywxdump_entry(
                self,
                index,
                row[label_at],
                row[talker_at],
                row[room_at],
                row[text_at],
                row[time_at],
                chat_id,
            )
            if found is None:
                skipped += 1
                self.service_count = skipped
            else:
                yield found


def _pywxdump_entry(
    history: WeChatHistory,
    index: int,
    label: object,
    talker: object,
    room: object,
    text: object,
    when: object,
    chat_id: str,
) -> ExportedMessage | MalformedEntry | None:
    """One PyWxDump message (CSV row or JSON object); ``None``: not stored."""
    if not isinstance(label, str) or not isinstance(room, str):
        return MalformedEntry(index, None, f"entry #{index}: type_name or room_name missing")
    if room != chat_id:
        return MalformedEntry(index, None, f"entry #{index}: another chat's message")
    kind = label_kind(label)
    if kind == SKIP:
        return None
    if kind == UNKNOWN:
        return MalformedEntry(index, None, f"type {label}", unsupported=True)
    second = history.second(when)
    if second is None:
        return MalformedEntry(index, None, f"entry #{index}: invalid CreateTime")
    sender = talker.strip() if isinstance(talker, str) and talker.strip() else None
    body = text if isinstance(text, str) else ""
    return history.message(index, sender, None, second, kind, body)


class _PyWxDumpMessage(msgspec.Struct):
    """A PyWxDump JSON message in the usual shape (other keys — ``src``, ``extra`` … — are
    not read); anything else is read as plain JSON and checked field by field."""

    type_name: str
    talker: str
    room_name: str
    CreateTime: str | int
    msg: str | None = None


_decode_pywxdump_run = msgspec.json.Decoder(list[_PyWxDumpMessage]).decode


class PyWxDumpJson(WeChatHistory):
    """PyWxDump's JSON export: a list of message objects."""

    format = "pywxdump-json"

    def __init__(self, path: Path, local_tz: ZoneInfo) -> None:
        check_json_end(path, b"]")
        first = _first_json_item(path)
        room = first.get("room_name") if isinstance(first, dict) else None
        if not isinstance(room, str) or not room:
            missing = [n for n in PYWXDUMP_COLUMNS if not isinstance(first, dict) or n not in first]
            raise ImportFormatError(
                "not a PyWxDump JSON export: its first message has no "
                + (", ".join(missing) or "room_name"),
                path=path,
            )
        super().__init__(path, ExportedChat(room, room, "group"), local_tz)

    def _iterate(self) -> Iterator[ExportedMessage | MalformedEntry]:
        chat_id = self.chat.chat_id
        skipped = 0
        with json_stream(self.path) as stream:
            for index, raw in enumerate(stream.items(_decode_pywxdump_run)):
                if raw.__class__ is _PyWxDumpMessage:
                    typed: _PyWxDumpMessage = raw
                    found = _pywxdump_entry(
                        self,
                        index,
                        typed.type_name,
                        typed.talker,
                        typed.room_name,
                        typed.msg,
                        typed.CreateTime,
                        chat_id,
                    )
                    if found is None:
                        skipped += 1
                        self.service_count = skipped
                    else:
                        yield found
                    continue
                if not isinstance(raw, dict):
                    yield MalformedEntry(index, None, f"entry #{index} is not an object")
                    continue
                get = raw.get
                found = _pywxdump_entry(
                    self,
                    index,
                    get("type_name"),
                    get("talker"),
                    get("room_name"),
                    get("msg"),
                    get("CreateTime"),
                    chat_id,
                )
                if found is None:
                    skipped += 1
                    self.service_count = skipped
                else:
                    yield found
            stream.end()


def _first_json_item(path: Path) -> object:
    with json_stream(path) as stream:
        if stream.peek() != "[":
            raise ImportFormatError("not a PyWxDump JSON export: not a list", path=path)
        for item in stream.items():
            return item
    raise ImportFormatError("the export holds no message", path=path)


# -- detection ---------------------------------------------------------------------------------


def detect(path: Path) -> str:
    """Which WeChat format the file is in, by its first bytes; one clear error when none."""
    start = head(path)
    text = start.decode("utf-8", errors="replace").lstrip()
    if text.startswith("{"):
        first_line = text.split("\n", 1)[0]
        try:
            line: Any = json.loads(first_line)
        except ValueError:
            line = None
        if isinstance(line, dict) and line.get("_type") == "header":
            return "chatlab-jsonl"
        if '"chatlab"' in text or '"messages"' in text:
            return "chatlab-json"
    elif text.startswith("["):
        if "type_name" in text or "MsgSvrID" in text:
            return "pywxdump-json"
    else:
        first = start.split(b"\n", 1)[0].decode("utf-8", errors="replace")
        if "StrContent" in first and "TalkerId" in first:
            return "wechatmsg-csv"
        if "type_name" in first and "room_name" in first:
            return "pywxdump-csv"
    raise ImportFormatError(
        "not a WeChat export this release reads: ChatLab JSON or JSONL, WeChatMsg/MemoTrace "
        "CSV, PyWxDump CSV or JSON (use --format to force one)",
        path=path,
    )
