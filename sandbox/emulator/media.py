"""Uploaded files: image sniffing for ``sendPhoto`` and the emulator's file store.

Telegram decodes an uploaded photo and refuses what is not an image
(``IMAGE_PROCESS_FAILED``) or has extreme dimensions (``PHOTO_INVALID_DIMENSIONS``: width plus
height over 10000, or a side more than 20 times the other). The emulator reads the size from
the file header (PNG, JPEG, GIF, WebP) and keeps the bytes unchanged, so a test can compare
what arrived with what the bot sent. Unlike Telegram it does not make smaller thumbnails: a
photo message carries one ``PhotoSize`` with the real dimensions.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from typing import Any

from sandbox.emulator import errors

_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def image_size(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` of a PNG, JPEG, GIF or WebP image, or ``None`` if not an image."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data[:2] == b"\xff\xd8":
        return _jpeg_size(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp_size(data)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            pos += 1
            continue
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (segment,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in _JPEG_SOF and pos + 9 <= len(data):
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return int(width), int(height)
        pos += 2 + segment
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30:
        width, height = struct.unpack("<HH", data[26:30])
        return int(width) & 0x3FFF, int(height) & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None


def check_photo(data: bytes) -> tuple[int, int]:
    """The dimensions of an uploaded photo, or the error Telegram gives for it."""
    size = image_size(data)
    if size is None or 0 in size:
        raise errors.bad_request(errors.IMAGE_PROCESS_FAILED)
    width, height = size
    if width + height > 10000 or max(width, height) > 20 * min(width, height):
        raise errors.bad_request(errors.PHOTO_INVALID_DIMENSIONS)
    return size


@dataclass(frozen=True)
class StoredFile:
    """A file the emulator holds: what was uploaded, under Telegram-like identifiers."""

    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    mime_type: str | None = None
    file_name: str | None = None
    width: int | None = None
    height: int | None = None

    def photo_size(self) -> dict[str, Any]:
        """The ``PhotoSize`` JSON object for an image."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "width": self.width or 0,
            "height": self.height or 0,
        }

    def file_object(self) -> dict[str, Any]:
        """The ``File`` JSON object ``getFile`` answers with."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }


class FileStore:
    """Files by ``file_id``; the same bytes uploaded twice share a ``file_unique_id``."""

    def __init__(self) -> None:
        self._files: dict[str, StoredFile] = {}
        self._by_path: dict[str, StoredFile] = {}
        self._count = 0

    def add(
        self,
        data: bytes,
        *,
        kind: str,
        mime_type: str | None = None,
        file_name: str | None = None,
        size: tuple[int, int] | None = None,
    ) -> StoredFile:
        """Stores ``data`` and returns its new identifiers."""
        self._count += 1
        digest = hashlib.sha256(data).hexdigest()
        extension = {"photo": "jpg"}.get(kind, "bin")
        stored = StoredFile(
            file_id=f"AgACAgUAAxkBAAE{kind[:2].upper()}{self._count:06d}{digest[:18]}",
            file_unique_id=f"AQAD{digest[:12]}",
            data=data,
            file_path=f"{kind}s/file_{self._count}.{extension}",
            mime_type=mime_type,
            file_name=file_name,
            width=size[0] if size else None,
            height=size[1] if size else None,
        )
        self._files[stored.file_id] = stored
        self._by_path[stored.file_path] = stored
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        """The file with this ``file_id``, if any."""
        return self._files.get(file_id)

    def by_path(self, file_path: str) -> StoredFile | None:
        """The file served at ``file_path`` (the download URL's tail)."""
        return self._by_path.get(file_path)
