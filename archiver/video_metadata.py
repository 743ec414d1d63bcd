"""Blanking what a phone writes about a video besides its picture and sound.

An MP4, MOV, 3GP or M4A file (ISO base media format: nested boxes, each a size and a
four-letter type) carries its metadata in ``udta`` boxes (QuickTime's ``©xyz``: where it was
filmed, e.g. "+31.2304+121.4737/"), ``meta`` boxes (Apple's
``com.apple.quicktime.location.ISO6709``, the device's make and model, the software) and
``uuid`` boxes (XMP, vendors' own data). None of them is needed to play the file.

The boxes are not cut out: the sample tables (``stco``/``co64``) point at the media data by
absolute file offsets, and a ``moov`` before the ``mdat`` (a "fast start" file) would move it.
Each such box keeps its size and becomes a ``free`` box — the standard's own padding, which
every player skips — with its content zeroed. So the file plays as before, is as long as
before, and the metadata's bytes are gone. Running it again changes nothing (an imported
export's file keeps its hash).

Not covered, and said so in docs/media.md: a position recorded as a *track* of its own (a
GoPro's GPMF telemetry), which is media data rather than a metadata box.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

__all__ = ["Patch", "metadata_patches", "pieces"]

# Boxes that only hold other boxes, and that can hold metadata boxes somewhere below them.
_CONTAINERS = frozenset({b"moov", b"trak", b"mdia", b"minf", b"edts"})
# Metadata boxes: their whole content goes.
_METADATA = frozenset({b"udta", b"meta", b"uuid"})
_FREE = b"free"


Patch = tuple[int, bytes]
"""Bytes to write over the file at an offset."""


def metadata_patches(data: bytes) -> tuple[Patch, ...]:
    """What turns every metadata box of ``data`` into zeroed padding, in file order: for each
    box, ``free`` over its type and zeros over its content (``()`` when it has none). The
    file itself is never copied: a 20 MB video copied in memory would hold the GIL, which the
    live text path waits for; the patches are applied as the file is written and hashed
    (``archiver.media``). Raises ``ValueError`` when the boxes do not add up: a file that
    cannot be walked is not kept, as it came, with whatever it carries."""
    spans: list[tuple[int, int, int]] = []  # (the box's type, its content, its end)
    _walk(data, 0, len(data), spans, depth=0)
    patches: list[Patch] = []
    for type_at, content_at, end in spans:
        patches += ((type_at, _FREE), (content_at, bytes(end - content_at)))
    return tuple(patches)


def pieces(data: bytes, patches: tuple[Patch, ...]) -> Iterator[bytes | memoryview]:
    """``data`` with ``patches`` applied, as consecutive pieces (views of ``data`` between
    the patches: nothing is copied)."""
    view = memoryview(data)
    at = 0
    for offset, replacement in patches:
        yield view[at:offset]
        yield replacement
        at = offset + len(replacement)
    yield view[at:]


def _walk(data: bytes, start: int, end: int, spans: list[tuple[int, int, int]], depth: int) -> None:
    if depth > 8:
        raise ValueError("video: boxes nested too deeply")
    at = start
    while at < end:
        if end - at < 8:
            raise ValueError(f"video: {end - at} stray bytes at offset {at}")
        size, kind = struct.unpack_from(">I4s", data, at)
        header = 8
        if size == 1:
            if end - at < 16:
                raise ValueError(f"video: truncated box header at offset {at}")
            (size,) = struct.unpack_from(">Q", data, at + 8)
            header = 16
        elif size == 0:
            if depth:
                raise ValueError(f"video: a box without a size inside another at offset {at}")
            size = end - at  # the last box runs to the end of the file
        if size < header or at + size > end:
            raise ValueError(f"video: box {kind!r} at offset {at} does not fit its file")
        if kind in _METADATA:
            spans.append((at + 4, at + header, at + size))
        elif kind in _CONTAINERS:
            _walk(data, at + header, at + size, spans, depth + 1)
        at += size
