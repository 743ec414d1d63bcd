"""Reading export files, shared by the readers of every format: opening with one clear error,
telling a truncated file before anything is written, the text encoding of a CSV, and local
times without an offset.

A truncated file must change nothing (issue #12): each reader checks the file's *end* when it
is opened (:func:`check_json_end`, :func:`check_jsonl_end`, :func:`check_csv_end`), which costs
a few kilobytes, instead of parsing the whole file twice. An error in the middle of a file is
still found only when reading reaches it; the import then stops like after a crash, and a
rerun with a repaired file completes it.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO, TextIO
from zoneinfo import ZoneInfo

from archiver.errors import ImportFormatError
from archiver.importers.json_stream import JsonStream, JsonStreamError

TAIL_BYTES = 64 << 10
ENCODING_CHECK_BYTES = 1 << 20


FOLDER = "is a folder, not an export file"


def open_binary(path: Path, *, folder: str = FOLDER) -> BinaryIO:
    """The file opened for reading, every failure one clear ``ImportFormatError`` (``folder``
    says what to do when ``path`` is a folder)."""
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise ImportFormatError("no such file", path=path) from None
    except IsADirectoryError:
        raise ImportFormatError(folder, path=path) from None
    except OSError as error:
        raise ImportFormatError(
            f"cannot read the file: {error.strerror or error}", path=path
        ) from None


def open_text(path: Path, encoding: str) -> TextIO:
    """The file opened as text for the csv module (``newline=""``), errors as above."""
    open_binary(path).close()  # one clear error when it cannot be opened
    return path.open(encoding=encoding, newline="")


def head(path: Path, size: int = TAIL_BYTES) -> bytes:
    """The first ``size`` bytes of the file (without a UTF-8 byte order mark)."""
    with open_binary(path) as file:
        data = file.read(size)
    if not data.strip():
        raise ImportFormatError("the file is empty", path=path)
    return data.removeprefix(codecs.BOM_UTF8)


def tail(path: Path, size: int = TAIL_BYTES) -> bytes:
    """The last ``size`` bytes of the file."""
    with open_binary(path) as file:
        file.seek(0, 2)
        length = file.tell()
        file.seek(max(0, length - size))
        return file.read()


def truncated(path: Path, what: str) -> ImportFormatError:
    """The error for a file that stops early."""
    return ImportFormatError(
        f"the file ends early ({what}): it looks truncated — export it again; nothing was imported",
        path=path,
    )


def check_json_end(path: Path, closing: bytes) -> None:
    """A JSON document that is one object (``closing`` ``b"}"``) or list (``b"]"``) ends
    with it; anything else at the end is a cut-off file."""
    end = tail(path, 256).rstrip()
    if not end.endswith(closing):
        raise truncated(path, f"no closing {closing.decode()!r} at the end")


def check_jsonl_end(path: Path) -> None:
    """The last line of a JSON Lines file is a whole JSON value."""
    lines = tail(path).rstrip().rsplit(b"\n", 1)
    last = lines[-1].strip()
    if not last or last.startswith(b"#"):
        return
    try:
        json.loads(last)
    except ValueError:
        raise truncated(path, "its last line is not a whole JSON value") from None


def check_csv_end(path: Path, encoding: str, columns: int) -> None:
    """A CSV file ends with a line break (every CSV writer ends its rows with one: Excel,
    pandas, Python's csv), and its last row has as many values as the header has columns.
    (A file cut exactly after a line break inside a quoted value is caught when it is read.)"""
    data = tail(path)
    if not data.endswith(b"\n"):
        raise truncated(path, "its last row does not end with a line break")
    text = data.decode(encoding, errors="replace").rstrip("\r\n")
    if "\n" not in text and len(data) == TAIL_BYTES:
        return  # one huge row: checked when read
    last = text.rsplit("\n", 1)[-1]
    try:
        rows = list(csv.reader([last]))
    except csv.Error:
        rows = []
    if rows and len(rows[0]) < columns and '"' not in last:
        raise truncated(path, f"its last row has {len(rows[0])} of {columns} values")


def csv_encoding(path: Path) -> str:
    """``utf-8-sig`` when the file is UTF-8 (with or without a byte order mark), else
    ``gb18030``: what Excel on Chinese Windows saves "CSV" as (GBK, which GB18030 contains).
    The whole file is checked, a megabyte at a time (C speed, memory flat): a GBK file can
    look like UTF-8 for its first rows when they are ASCII."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    with open_binary(path) as file:
        try:
            while chunk := file.read(ENCODING_CHECK_BYTES):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "gb18030"
    return "utf-8-sig"


@contextlib.contextmanager
def json_stream(path: Path, *, folder: str = FOLDER) -> Iterator[JsonStream]:
    """The file as a JSON stream; a JSON error becomes one ``ImportFormatError`` line."""
    with open_binary(path, folder=folder) as file:
        try:
            stream = JsonStream(file)
            if not stream.peek():
                raise ImportFormatError("the file is empty", path=path)
            yield stream
        except JsonStreamError as error:
            raise ImportFormatError(str(error), path=path) from None
        except OSError as error:
            raise ImportFormatError(
                f"cannot read the file: {error.strerror or error}", path=path
            ) from None


# marks an hour of local time whose UTC offset is not constant (a DST change inside it)
VARIES = timedelta(days=-999)


def hour_offset(moment: datetime, zone: ZoneInfo) -> timedelta:
    """``zone``'s UTC offset all through the hour of ``moment`` (a naive local time), or
    ``VARIES`` when it changes within that hour or the hour's times are ambiguous."""
    start = moment.replace(minute=0, second=0, microsecond=0, tzinfo=zone)
    end = start.replace(minute=59, second=59, microsecond=999999)
    offsets = {one.utcoffset() for one in (start, end, start.replace(fold=1), end.replace(fold=1))}
    if len(offsets) == 1:
        offset = offsets.pop()
        if offset is not None:
            return offset
    return VARIES


class LocalTimes:
    """Wall-clock times without an offset (``2023-05-01 12:00:00``) read in one time zone, to
    UTC. The zone's offset is looked up once per hour of the file (a million messages span a
    few thousand hours); an hour with a daylight-saving change inside it is converted one by
    one, and a time that occurs twice is read as its first occurrence (``fold=0``)."""

    __slots__ = ("_hours", "_offsets", "zone")

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self._offsets: dict[str, timedelta] = {}
        self._hours: dict[str, int | None] = {}

    def second(self, value: str) -> int | None:
        """The time as Unix seconds, or ``None`` when ``value`` is no date and time. The
        exporters' usual ``YYYY-MM-DD HH:MM:SS`` is read from its hour's Unix second (one
        lookup per hour of the file) plus its minutes and seconds: no datetime per message."""
        if len(value) == 19 and value[13] == ":" and value[16] == ":":
            hour = value[:13]
            start = self._hours.get(hour, -1)
            if start == -1:
                start = self._hours[hour] = self._hour_start(hour)
            minutes, seconds = value[14:16], value[17:19]
            if start is not None and minutes.isdigit() and seconds.isdigit():
                return start + int(minutes) * 60 + int(seconds)
        moment = self.utc(value)
        return None if moment is None else int(moment.timestamp())

    def _hour_start(self, hour: str) -> int | None:
        """The Unix second an hour of local time starts at, when its offset is the same all
        through it (else ``None``: its times are read one by one)."""
        moment = self.utc(hour + ":00:00")
        if moment is None or self._offsets.get(hour) is VARIES:
            return None
        return int(moment.timestamp())

    def utc(self, value: str) -> datetime | None:
        """The time in UTC, or ``None`` when ``value`` is no date and time."""
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
        if moment.tzinfo is not None:
            return moment.astimezone(UTC)
        hour = value[:13]
        offset = self._offsets.get(hour)
        if offset is None:
            offset = self._offsets[hour] = hour_offset(moment, self.zone)
        if offset is VARIES:
            return moment.replace(tzinfo=self.zone).astimezone(UTC)
        return (moment - offset).replace(tzinfo=UTC)
