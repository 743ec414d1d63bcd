"""ChatLab's standard format, JSON and JSON Lines: what current WeChat and QQ exporters write
(``chatlab{version,…}``, ``meta{name,platform,type,groupId}``, ``members[]``, ``messages[]``;
in JSONL one object a line, typed by ``_type``: ``header``, ``member``, ``message``).

The shared WeChat decisions are in :mod:`archiver.importers.wechat`. Here:

* ``meta.platform`` decides the accounts' platform: ``wechat`` or ``qq``; another platform is
  refused (Telegram and Matrix histories have importers of their own).
* The chat is ``meta.groupId``; without one, ``chatlab:`` and the chat's name (so two files
  of the same group without ids are still one space, but not the space of another format).
* Message types: 0 text and 25 reply are text; 1 image, 2 voice, 3 video, 4 file, 5 sticker,
  7 link, 8 location, 24 share, 26 forward, 27 contact card keep their kind; 20 red packet,
  21 transfer, 22 pat, 23 call, 81 recall and 80 system are not stored — except a system
  message that is a 群公告 (group notice), kept as an ``announcement``; 99 and unknown types are
  counted as unsupported.
* A name is the message's ``groupNickname``, else its ``accountName``, else the member's; the
  members' ``aliases`` (the exporter's own labels for people) are never read.
* ``replyToMessageId`` becomes ``reply_to`` when the replied-to message (by its
  ``platformMessageId``) is among the last ``REPLY_WINDOW`` messages (memory stays flat).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from archiver.errors import ImportFormatError
from archiver.importers.entries import ExportedChat, ExportedMessage, MalformedEntry
from archiver.importers.files import check_json_end, check_jsonl_end, json_stream, open_binary
from archiver.importers.wechat import SKIP, UNKNOWN, WeChatHistory

PLATFORMS = {"wechat": "wechat", "weixin": "wechat", "qq": "qq"}
REPLY_WINDOW = 50_000

_TYPES: dict[int, str | None] = {
    0: None,
    25: None,
    1: "photo",
    2: "voice_message",
    3: "video_file",
    4: "file",
    5: "sticker",
    7: "link",
    8: "location",
    24: "link",
    26: "forwarded_chat",
    27: "contact",
}
_SKIP_TYPES = frozenset({20, 21, 22, 23, 81})
ANNOUNCEMENT_MARK = "群公告"


def chatlab_kind(kind: int, content: str) -> str | None:
    """The kind of a ChatLab message type (``SKIP``, ``UNKNOWN``, ``None`` for text)."""
    if kind in _TYPES:
        return _TYPES[kind]
    if kind in _SKIP_TYPES:
        return SKIP
    if kind == 80:
        return "announcement" if ANNOUNCEMENT_MARK in content[:12] else SKIP
    return UNKNOWN


class _Message(msgspec.Struct):
    """One message in the usual shape (unknown keys are ignored)."""

    sender: str | int
    timestamp: int
    type: int
    content: str | None = None
    accountName: str | None = None
    groupNickname: str | None = None
    platformMessageId: str | int | None = None
    replyToMessageId: str | int | None = None
    line_type: str | None = msgspec.field(default=None, name="_type")


_decode_run = msgspec.json.Decoder(list[_Message]).decode
_decode_line = msgspec.json.Decoder(_Message).decode
_decode_any = msgspec.json.decode


def _meta(header: dict[str, Any], path: Path) -> tuple[str, ExportedChat]:
    """The platform and the chat of a ChatLab header (``chatlab`` and ``meta``)."""
    meta = header.get("meta")
    if not isinstance(header.get("chatlab"), dict) or not isinstance(meta, dict):
        raise ImportFormatError("not a ChatLab file: no 'chatlab' and 'meta' header", path=path)
    platform = PLATFORMS.get(str(meta.get("platform", "")).lower())
    if platform is None:
        raise ImportFormatError(
            f"a ChatLab file of platform {meta.get('platform')!r}: import wechat reads "
            "'wechat' and 'qq' (Telegram and Matrix histories have importers of their own)",
            path=path,
            entry="meta.platform",
        )
    name = meta.get("name")
    name = name if isinstance(name, str) else ""
    group = meta.get("groupId")
    if isinstance(group, int) and not isinstance(group, bool):
        group = str(group)
    if not isinstance(group, str) or not group:
        if not name:
            raise ImportFormatError(
                "the chat has neither meta.groupId nor meta.name", path=path, entry="meta"
            )
        group = f"chatlab:{name}"
    chat_type = meta.get("type")
    return platform, ExportedChat(group, name or group, str(chat_type or "group"))


def _member_name(raw: object) -> tuple[str, str] | None:
    """(platformId, name) of a member entry; ``aliases`` are not read."""
    if not isinstance(raw, dict):
        return None
    who = raw.get("platformId")
    name = raw.get("groupNickname") or raw.get("accountName")
    if isinstance(who, str | int) and isinstance(name, str) and name:
        return str(who), name
    return None


class ChatLabHistory(WeChatHistory):
    """What both ChatLab forms share: turning one message into an entry."""

    def __init__(self, path: Path, platform: str, chat: ExportedChat, local_tz: ZoneInfo) -> None:
        super().__init__(path, chat, local_tz)
        self.platform = platform
        self.members: dict[str, str] = {}
        self._recent: dict[str, str] = {}
        self._older: dict[str, str] = {}

    def entry(self, index: int, message: _Message) -> ExportedMessage | MalformedEntry | None:
        """One message as an entry (``None``: not stored)."""
        content = message.content or ""
        kind = chatlab_kind(message.type, content)
        if kind == SKIP:
            self.service_count += 1
            return None
        if kind == UNKNOWN:
            return MalformedEntry(index, None, f"type {message.type}", unsupported=True)
        sender = str(message.sender)
        name = message.groupNickname or message.accountName or self.members.get(sender)
        reply_to = None
        if message.replyToMessageId is not None:
            target = str(message.replyToMessageId)
            reply_to = self._recent.get(target) or self._older.get(target)
        found = self.message(index, sender, name, message.timestamp, kind, content, reply_to)
        if message.platformMessageId is not None:
            recent = self._recent
            recent[str(message.platformMessageId)] = found.id
            if len(recent) >= REPLY_WINDOW:
                self._older, self._recent = recent, {}
        return found

    def checked(self, index: int, raw: object) -> _Message | MalformedEntry:
        """A message that did not decode in the usual shape, checked field by field."""
        try:
            return msgspec.convert(raw, _Message)
        except msgspec.ValidationError as error:
            return MalformedEntry(index, None, f"message #{index}: {error}")


class ChatLabJson(ChatLabHistory):
    """ChatLab JSON: one object with ``chatlab``, ``meta``, ``members``, ``messages``."""

    format = "chatlab-json"

    def __init__(self, path: Path, local_tz: ZoneInfo) -> None:
        check_json_end(path, b"}")
        header: dict[str, Any] = {}
        with json_stream(path) as stream:
            if stream.peek() != "{":
                raise ImportFormatError("not a ChatLab JSON file: not an object", path=path)
            for key in stream.members():
                if key in ("chatlab", "meta"):
                    header[key] = stream.value()
                    if len(header) == 2:
                        break
                else:
                    stream.skip()
        platform, chat = _meta(header, path)
        super().__init__(path, platform, chat, local_tz)

    def _iterate(self) -> Iterator[ExportedMessage | MalformedEntry]:
        entry, checked, members = self.entry, self.checked, self.members
        with json_stream(self.path) as stream:
            for key in stream.members():
                if key == "members" and stream.peek() == "[":
                    for raw in stream.items():
                        named = _member_name(raw)
                        if named is not None:
                            members[named[0]] = named[1]
                elif key == "messages":
                    if stream.peek() != "[":
                        raise ImportFormatError("'messages' is not a list", path=self.path)
                    for index, raw in enumerate(stream.items(_decode_run)):
                        message = raw if raw.__class__ is _Message else checked(index, raw)
                        if message.__class__ is MalformedEntry:
                            yield message
                            continue
                        found = entry(index, message)  # type: ignore[arg-type]
                        if found is not None:
                            yield found
                else:
                    stream.skip()
            stream.end()


class ChatLabJsonl(ChatLabHistory):
    """ChatLab JSON Lines: a ``header`` line first, then ``member`` and ``message`` lines
    (lines starting ``#`` are comments)."""

    format = "chatlab-jsonl"

    def __init__(self, path: Path, local_tz: ZoneInfo) -> None:
        check_jsonl_end(path)
        header: object = None
        with open_binary(path) as file:
            for line in file:
                line = line.strip().removeprefix(b"\xef\xbb\xbf")
                if line and not line.startswith(b"#"):
                    try:
                        header = _decode_any(line)
                    except msgspec.DecodeError:
                        header = None
                    break
        if not isinstance(header, dict) or header.get("_type") != "header":
            raise ImportFormatError(
                "not a ChatLab JSONL file: its first line is not the header", path=path
            )
        platform, chat = _meta(header, path)
        super().__init__(path, platform, chat, local_tz)

    def _iterate(self) -> Iterator[ExportedMessage | MalformedEntry]:
        entry, checked, members = self.entry, self.checked, self.members
        decode_line = _decode_line
        index = 0
        with open_binary(self.path) as file:
            for number, line in enumerate(file, 1):
                try:
                    message: Any = decode_line(line)
                except msgspec.DecodeError:
                    stripped = line.strip().removeprefix(b"\xef\xbb\xbf")
                    if not stripped or stripped.startswith(b"#"):
                        continue
                    try:
                        raw = _decode_any(stripped)
                    except msgspec.DecodeError as error:
                        yield MalformedEntry(index, None, f"line {number}: {error}")
                        index += 1
                        continue
                    kind = raw.get("_type") if isinstance(raw, dict) else None
                    if kind == "header":
                        continue
                    if kind == "member":
                        named = _member_name(raw)
                        if named is not None:
                            members[named[0]] = named[1]
                        continue
                    message = checked(index, raw)
                    if message.__class__ is MalformedEntry:
                        yield message
                        index += 1
                        continue
                if message.line_type not in ("message", None):
                    continue
                found = entry(index, message)
                index += 1
                if found is not None:
                    yield found
