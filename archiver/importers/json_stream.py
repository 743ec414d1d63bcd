"""An incremental reader of one large JSON document: values one at a time, in bounded memory.

A Telegram Desktop export is one object whose ``messages`` list holds every message; at
1,000,000 messages the file is about 600 MB and ``json.load`` of it peaks at several GB.
:class:`JsonStream` reads the file in chunks and walks the outer object and list by hand, so
that each message is parsed on its own — by the standard library's C scanner
(``JSONDecoder.raw_decode``), the fastest parser at hand — and released once read.

It accepts exactly what ``json.loads`` accepts and reports errors the same way (the same
messages, line and column), with one addition: Telegram Desktop writes control characters as
``\\xHH``, which is not JSON, so an ``Invalid \\escape`` at a ``\\xHH`` is repaired in place
(``\\u00HH``) and the value parsed again. Errors are :class:`JsonStreamError`, whose text is
one line ready for the user.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterator, Sequence
from typing import BinaryIO

CHUNK_BYTES = 1 << 20
"""How much of the file is read at a time."""

# A value that fails this close to the end of the text read so far may just be cut off by the
# chunk boundary: read more before deciding (a value is re-parsed from its start).
_REFILL_MARGIN = 1 << 16

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_HEX_ESCAPE = re.compile(r"\\x([0-9A-Fa-f]{2})")


RunDecoder = Callable[[str], Sequence[object]]
"""Decodes the text of a JSON list of values (see :meth:`JsonStream.items`)."""


class JsonStreamError(Exception):
    """The file is not UTF-8 JSON; ``str()`` is one line (``invalid JSON at line 3, …``)."""


class JsonStream:
    """One pass over a JSON document in a binary file (a UTF-8 byte order mark is skipped).

    The caller drives it by the document's shape: :meth:`members` of an object, :meth:`items`
    of a list, :meth:`value` for anything else, :meth:`end` to check that nothing follows.
    """

    def __init__(self, file: BinaryIO, chunk_bytes: int = CHUNK_BYTES) -> None:
        self._file = file
        self._chunk = chunk_bytes
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self._scan = json.JSONDecoder().raw_decode
        self._buf = ""
        self._pos = 0
        self._eof = False
        self._bytes_read = 0
        # characters dropped from the front of _buf, and \xHH repairs made (2 characters
        # longer each): together they turn a position in _buf into one in the file's text
        self._dropped = 0
        self._repairs: list[int] = []
        self._no_run_before = 0  # where a run failed to parse: values one at a time until then

    # -- the document's shape ------------------------------------------------------------------

    def peek(self) -> str:
        """The next character that is not whitespace ("" at the end of the file)."""
        while True:
            self._pos = _WHITESPACE.match(self._buf, self._pos).end()  # type: ignore[union-attr]
            if self._pos < len(self._buf) or not self._fill():
                return self._buf[self._pos : self._pos + 1]

    def members(self) -> Iterator[str]:
        """The keys of the object that starts here; after each key, the stream is at its value,
        which the caller must read (:meth:`value`, :meth:`items`, :meth:`members`)."""
        self._expect("{", "Expecting value")
        if self.peek() == "}":
            self._pos += 1
            return
        while True:
            if self.peek() != '"':
                self._fail("Expecting property name enclosed in double quotes")
            key = self.value()
            assert isinstance(key, str)
            self._expect(":", "Expecting ':' delimiter")
            yield key
            char = self.peek()
            self._pos += 1
            if char == "}":
                return
            if char != ",":
                self._pos -= 1
                self._fail("Expecting ',' delimiter")
            if self.peek() != '"':
                self._fail("Expecting property name enclosed in double quotes")

    def items(self, run_decoder: RunDecoder | None = None) -> Iterator[object]:
        """The values of the list that starts here, parsed a run at a time (see :meth:`_run`)
        and handed out one at a time.

        ``run_decoder``, when given, is tried first on each run (the run's text, a JSON list):
        a faster, typed decoder for the usual shape of the values. When it raises
        ``ValueError`` (a value of another shape), the run is parsed as plain JSON instead, so
        what it gives must mean the same as the plain values.
        """
        self._expect("[", "Expecting value")
        if self.peek() == "]":
            self._pos += 1
            return
        separator = ""
        while True:
            run = self._run(separator, run_decoder) if separator else None
            if run:
                yield from run
            else:
                yield self.value()
            after, dropped = self._pos, self._dropped
            char = self.peek()
            self._pos += 1
            if char == "]":
                return
            if char != ",":
                self._pos -= 1
                self._fail("Expecting ',' delimiter")
            if not separator and self.peek() == "{" and dropped == self._dropped:
                between = self._buf[after : self._pos]
                if "\n" in between:  # a pretty-printed list: runs can be cut safely
                    separator = between

    def _run(self, separator: str, decoder: RunDecoder | None) -> Sequence[object] | None:
        """The whole objects from here up to the last ``}<separator>{`` in the text read
        (about a chunk), parsed by one ``json.loads``; ``None`` when there is no such run.

        ``separator`` is the text between two values of this list (``",\\n  "``). A raw
        newline is never inside a string, and deeper values are indented differently, so
        the cut is nearly always between two values of this list — and it is only taken when
        the run parses as a list: text cut anywhere else (inside a string or a nested value)
        does not. Otherwise (a repair to make, an error to report with its line) the values
        are read one at a time.
        """
        if len(self._buf) - self._pos < self._chunk // 2:
            self._fill()
        if self.peek() != "{":
            return None
        buf, pos = self._buf, self._pos
        cut = buf.rfind("}" + separator + "{", pos)
        if cut < pos or self._dropped + pos < self._no_run_before:
            return None
        text = f"[{buf[pos : cut + 1]}]"
        if decoder is not None:
            try:
                typed = decoder(text)
            except (ValueError, RecursionError):
                pass  # not the usual shape: plain JSON below decides
            else:
                self._pos = cut + 1
                return typed
        try:
            values = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            self._no_run_before = self._dropped + cut + 1
            return None
        assert isinstance(values, list)
        self._pos = cut + 1
        return values

    def value(self) -> object:
        """Parse the one value that starts here (a string, a number, a whole object …)."""
        if not self.peek():
            self._fail("Expecting value")
        while True:
            buf, pos = self._buf, self._pos
            try:
                found, end = self._scan(buf, pos)
            except json.JSONDecodeError as error:
                if not self._eof and error.pos >= len(buf) - _REFILL_MARGIN:
                    self._fill()  # perhaps only cut off: read more and parse it again
                    continue
                if error.msg.startswith("Invalid \\escape") and self._repair(error.pos):
                    continue
                if not self._eof and error.msg.startswith("Unterminated string"):
                    self._fill()
                    continue
                self._fail(error.msg, error.pos)
            except RecursionError:
                raise JsonStreamError("invalid JSON: nested too deeply") from None
            if end == len(buf) and not self._eof and self._fill():
                continue  # a number or literal may go on in the next chunk
            self._pos = end
            return found

    def skip(self) -> None:
        """Read past the value that starts here."""
        if self.peek() == "[":
            for _ in self.items():
                pass
        else:
            self.value()

    def end(self) -> None:
        """Check that only whitespace follows (``json.loads``'s "Extra data")."""
        if self.peek():
            self._fail("Extra data")

    # -- the machinery -------------------------------------------------------------------------

    def _expect(self, char: str, message: str) -> None:
        if self.peek() != char:
            self._fail(message)
        self._pos += 1

    def _fill(self) -> bool:
        """Append the next chunk of text, dropping what was read; False at the end of file."""
        if self._eof:
            return False
        data = self._file.read(self._chunk)
        try:
            text = self._decoder.decode(data, final=not data)
        except UnicodeDecodeError as error:
            pending = len(self._decoder.getstate()[0])
            offset = max(0, self._bytes_read - pending + error.start)
            raise JsonStreamError(
                f"not UTF-8 text (bad byte at offset {offset}): not a Telegram Desktop JSON export"
            ) from None
        self._bytes_read += len(data)
        if not data:
            self._eof = True
        if self._pos:
            self._dropped += self._pos
            self._buf = self._buf[self._pos :] + text
            self._pos = 0
        else:
            self._buf += text
        return bool(data)

    def _repair(self, at: int) -> bool:
        """Turn the ``\\xHH`` at ``at`` into ``\\u00HH``; False when it is not one."""
        match = _HEX_ESCAPE.match(self._buf, at)
        if match is None:
            return False
        self._buf = f"{self._buf[:at]}\\u00{match.group(1)}{self._buf[match.end() :]}"
        self._repairs.append(self._dropped + at)
        return True

    def _fail(self, message: str, at: int | None = None) -> None:
        """Raise the error ``json.loads`` would, with the line and column in the file."""
        where = self._dropped + (self._pos if at is None else at)
        where -= 2 * sum(1 for repaired in self._repairs if repaired < where)
        line, column = self._line_and_column(where)
        raise JsonStreamError(f"invalid JSON at line {line}, column {column}: {message}")

    def _line_and_column(self, offset: int) -> tuple[int, int]:
        """Line and column (from 1) of the ``offset``-th character of the file's text: read
        again from the start (errors are rare, so nothing is counted on the way)."""
        self._file.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        line, line_start, seen = 1, 0, 0
        while seen < offset:
            data = self._file.read(self._chunk)
            text = decoder.decode(data, final=not data)
            if not data and not text:
                break
            part = text[: offset - seen]
            newlines = part.count("\n")
            if newlines:
                line += newlines
                line_start = seen + part.rindex("\n") + 1
            seen += len(text)
        return line, offset - line_start + 1
