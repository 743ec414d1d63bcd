"""Every reader ``import`` has, by name: what ``--format`` takes and what a worker process
opens (``archiver.importers.telegram_reading``). Each is opened with the file and the time
zone for times without an offset, and gives an :class:`~archiver.importers.pipeline.Reader`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from archiver.errors import CommunityMemoryError

if TYPE_CHECKING:
    from archiver.importers.pipeline import Reader

WECHAT_FORMATS = ("chatlab-json", "chatlab-jsonl", "wechatmsg-csv", "pywxdump-csv", "pywxdump-json")
FORMATS = ("telegram", "element", *WECHAT_FORMATS)


def open_reader(fmt: str, path: Path, local_tz: ZoneInfo) -> Reader:
    """Open ``path`` as ``fmt`` (one of :data:`FORMATS`); the modules load only when used."""
    if fmt == "telegram":
        from archiver.importers.telegram_export import open_export

        return open_export(path, local_tz=local_tz)
    if fmt == "element":
        from archiver.importers.element import ElementExport

        return ElementExport(path, local_tz)
    if fmt in ("chatlab-json", "chatlab-jsonl"):
        from archiver.importers.chatlab import ChatLabJson, ChatLabJsonl

        return (ChatLabJson if fmt == "chatlab-json" else ChatLabJsonl)(path, local_tz)
    if fmt in ("wechatmsg-csv", "pywxdump-csv", "pywxdump-json"):
        from archiver.importers.wechat import PyWxDumpCsv, PyWxDumpJson, WeChatMsgCsv

        opener = {
            "wechatmsg-csv": WeChatMsgCsv,
            "pywxdump-csv": PyWxDumpCsv,
            "pywxdump-json": PyWxDumpJson,
        }[fmt]
        return opener(path, local_tz)
    raise CommunityMemoryError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")


def wechat_format(path: Path, forced: str | None = None) -> str:
    """The WeChat reader for ``path``: ``forced`` when given (checked), else detected."""
    if forced is not None:
        if forced not in WECHAT_FORMATS:
            raise CommunityMemoryError(f"--format {forced!r}: one of {', '.join(WECHAT_FORMATS)}")
        return forced
    from archiver.importers.wechat import detect

    return detect(path)


def open_for_import(
    command: str, path: Path, timezone: str, *, forced: str | None = None
) -> Reader:
    """The reader ``import COMMAND FILE`` uses: ``telegram``, ``element``, or ``wechat``
    (whose format is detected, or ``forced``); ``timezone`` for times without an offset."""
    zone = ZoneInfo(timezone)
    if command == "wechat":
        return open_reader(wechat_format(path, forced), path, zone)
    if forced is not None and forced != command:
        raise CommunityMemoryError(f"--format {forced!r} is for import wechat")
    return open_reader(command, path, zone)
