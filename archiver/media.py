"""Media files kept for a message: stripped of what photos leak, then stored by content.

A resident's photo can carry the GPS position of their flat, the camera's serial number and
the owner's name (EXIF, XMP, IPTC). ``prepare`` decodes an image and re-encodes only its
pixels, so none of that survives; the original bytes are never written to disk — the one write
is of the cleaned bytes. Files are named by the SHA-256 of what is stored, so one copy serves
however many messages share it: ``media_dir/<community>/<hash[:2]>/<hash>``, with the
thumbnail beside it as ``<hash>.thumb.jpg``.

This module is synchronous and knows nothing of the database: an importer or the live worker
calls ``prepare`` then ``store`` (off the event loop), and records the returned ``StoredMedia``.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from archiver.errors import CommunityMemoryError
from archiver.video_metadata import Patch, metadata_patches, pieces

__all__ = [
    "KINDS",
    "MediaSettings",
    "MediaTooLarge",
    "PreparedMedia",
    "StoredMedia",
    "discard",
    "place",
    "prepare",
    "sniff_mime",
    "stage",
    "store",
    "stored_path",
    "thumbnail_path",
]

KINDS = ("photo", "voice", "audio", "video", "video_note", "document", "animation")

THUMBNAIL_SIZE = (320, 320)
PART_PREFIX = ".part-"  # a file being written: renamed to its hash once its row commits

# Magic numbers of the formats residents send; the name a platform gives a file is not trusted.
_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"%PDF-", "application/pdf"),
    (0, b"OggS", "audio/ogg"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"\x1a\x45\xdf\xa3", "video/webm"),
    (0, b"PK\x03\x04", "application/zip"),
    (0, b"II*\x00", "image/tiff"),
    (0, b"MM\x00*", "image/tiff"),
)
# ISO base media files whose major brand says "image": HEIF/HEIC (an iPhone's photos) and
# AVIF. Every other ``ftyp`` is a video or sound file (MP4, MOV, 3GP, M4A).
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})

# Images Pillow re-encodes losslessly enough for a community archive, and the format each is
# written in: formats a browser may not show (TIFF, HEIC) become JPEG, as does AVIF (slow to
# encode). An image that cannot be decoded is refused rather than written with its metadata.
_REENCODE = {
    "image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/gif": "GIF",
    "image/tiff": "JPEG", "image/heic": "JPEG", "image/avif": "JPEG",
}  # fmt: skip
_FORMAT_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}


@dataclass(frozen=True)
class MediaSettings:
    """Where files go and how much is kept: the ``[media]`` config, as the archiver uses it.

    ``max_bytes`` is per kind (a kind missing from it has no limit but the quota's);
    ``quota_bytes`` is per community (``None``: none)."""

    media_dir: Path
    max_bytes: dict[str, int] = field(default_factory=dict)
    quota_bytes: int | None = None

    def limit_for(self, kind: str) -> int | None:
        """The largest file of this kind that is kept."""
        return self.max_bytes.get(kind)


class MediaTooLarge(CommunityMemoryError):
    """The file is larger than the configured limit for its kind (the text is still kept)."""

    def __init__(self, kind: str, size: int, limit: int) -> None:
        super().__init__(f"{kind} of {size} bytes is over the {limit}-byte limit")
        self.kind = kind
        self.size = size
        self.limit = limit


@dataclass(frozen=True)
class PreparedMedia:
    """Bytes safe to write (metadata removed), with what the archive records about them.

    A video's metadata is removed by ``patches`` over ``data``, applied as the file is
    written (``sha256`` and the size are those of the patched file): a 20 MB video is never
    copied in memory (``archiver.video_metadata``). ``content()`` gives the stored bytes."""

    data: bytes
    kind: str
    mime: str
    sha256: str
    width: int | None
    height: int | None
    thumbnail: bytes | None
    patches: tuple[Patch, ...] = ()

    def content(self) -> bytes:
        """The bytes as stored (``data`` with ``patches`` applied; a copy only when patched)."""
        return b"".join(pieces(self.data, self.patches)) if self.patches else self.data


@dataclass(frozen=True)
class StoredMedia:
    """A file as written under ``media_dir``; ``path`` is relative to the community folder."""

    sha256: str
    kind: str
    mime: str
    size: int
    width: int | None
    height: int | None
    path: str
    has_thumbnail: bool


def sniff_mime(data: bytes) -> str:
    """The MIME type read from the file's first bytes (``application/octet-stream`` if unknown)."""
    for offset, magic, mime in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        brand = data[8:12]  # the major brand
        if brand in _HEIF_BRANDS:
            return "image/heic"
        if brand in _AVIF_BRANDS:
            return "image/avif"
        return "video/mp4"
    return "application/octet-stream"


def prepare(
    data: bytes, kind: str, *, max_size: int | None = None, keep_if_clean: bool = False
) -> PreparedMedia:
    """Check the size limit, strip image metadata by re-encoding (and a video's by blanking
    its metadata boxes, ``archiver.video_metadata``), hash, and make a thumbnail.

    With ``keep_if_clean`` an image that carries no metadata at all is kept byte for byte
    (an import of our own export: re-encoding a JPEG would change it, and its hash); one that
    carries any is re-encoded like every other.

    Raises ``MediaTooLarge`` over ``max_size`` (checked on the bytes received, before any work)
    and ``ValueError`` for an image that cannot be decoded — such a file is never kept as is.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown media kind {kind!r}")
    if max_size is not None and len(data) > max_size:
        raise MediaTooLarge(kind, len(data), max_size)
    mime = sniff_mime(data)
    width = height = None
    thumbnail = None
    patches: tuple[Patch, ...] = ()
    if mime in _REENCODE:
        fmt = _REENCODE[mime]
        if mime == "image/heic":
            _read_heif()
        # Kept as it came only when it stays in its format (an export's JPEG, not a TIFF).
        same_format = _FORMAT_MIME[fmt] == mime
        data, width, height, thumbnail = _clean_image(data, fmt, keep_if_clean and same_format)
        mime = _FORMAT_MIME[fmt]
    elif mime == "video/mp4":
        patches = metadata_patches(data)
    digest = hashlib.sha256()
    for piece in pieces(data, patches):
        digest.update(piece)  # hashlib lets go of the GIL for large pieces
    return PreparedMedia(
        data=data,
        kind=kind,
        mime=mime,
        sha256=digest.hexdigest(),
        width=width,
        height=height,
        thumbnail=thumbnail,
        patches=patches,
    )


# What Pillow reports of a file that holds pixels and how to lay them out, and nothing about
# who, where or with what it was taken (our own re-encoded files carry only these).
_HARMLESS_INFO = frozenset(
    {
        "jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi", "progressive",
        "progression", "adobe", "adobe_transform", "transparency", "gamma", "duration", "loop",
        "background", "version", "aspect", "interlace", "srgb", "lossless",
    }
)  # fmt: skip


def _read_heif() -> None:
    """Teach Pillow HEIF/HEIC (pillow-heif), the first time such a photo comes."""
    from pillow_heif import register_heif_opener

    register_heif_opener()


def _clean_image(data: bytes, fmt: str, keep_if_clean: bool) -> tuple[bytes, int, int, bytes]:
    from PIL import Image, ImageOps, UnidentifiedImageError

    if keep_if_clean:
        try:
            with Image.open(io.BytesIO(data)) as opened:
                opened.load()
                if set(opened.info) <= _HARMLESS_INFO and not opened.getexif():
                    thumb = opened.convert("RGB")
                    thumb.thumbnail(THUMBNAIL_SIZE)
                    out = io.BytesIO()
                    thumb.save(out, "JPEG", quality=80)
                    return data, opened.width, opened.height, out.getvalue()
        except (UnidentifiedImageError, OSError) as error:
            raise ValueError(f"unreadable image: {error}") from error
    try:
        with Image.open(io.BytesIO(data)) as original:
            # Apply the EXIF rotation to the pixels first, since the tag itself will be dropped.
            image = ImageOps.exif_transpose(original)
            image.load()
    except (UnidentifiedImageError, OSError) as error:
        raise ValueError(f"unreadable image: {error}") from error
    # A fresh image holds pixels only: no info dict, no EXIF/XMP/IPTC/ICC to carry over.
    pixels = Image.frombytes(image.mode, image.size, image.tobytes())
    if image.mode == "P":
        palette = image.getpalette()
        if palette is not None:
            pixels.putpalette(palette)
    out = io.BytesIO()
    if fmt == "JPEG":
        pixels.convert("RGB").save(out, "JPEG", quality=90)
    else:
        pixels.save(out, fmt)
    thumb = pixels.convert("RGB")
    thumb.thumbnail(THUMBNAIL_SIZE)
    thumb_out = io.BytesIO()
    thumb.save(thumb_out, "JPEG", quality=80)
    return out.getvalue(), pixels.width, pixels.height, thumb_out.getvalue()


def stored_path(media_dir: Path, community: str, sha256: str) -> Path:
    """Where the file with this hash lives for this community."""
    return media_dir / community / sha256[:2] / sha256


def thumbnail_path(media_dir: Path, community: str, sha256: str) -> Path:
    """Where the thumbnail of the file with this hash lives."""
    return media_dir / community / sha256[:2] / f"{sha256}.thumb.jpg"


@dataclass(frozen=True)
class StagedMedia:
    """Prepared bytes written under temporary names beside their final place: ``place``
    renames them in (instant), ``discard`` removes them."""

    prepared: PreparedMedia
    media_dir: Path
    community: str
    parts: tuple[tuple[Path, Path], ...]  # (temporary file, final path)


def stage(prepared: PreparedMedia, media_dir: Path, community: str) -> StagedMedia:
    """Write the file and its thumbnail under temporary ``.part-…`` names in their folder —
    the slow part of storing a large file, done before any database transaction."""
    targets = [
        (stored_path(media_dir, community, prepared.sha256), prepared.data, prepared.patches)
    ]
    if prepared.thumbnail is not None:
        thumbnail = thumbnail_path(media_dir, community, prepared.sha256)
        targets.append((thumbnail, prepared.thumbnail, ()))
    parts = []
    try:
        for final, data, patches in targets:
            if final.exists():  # the same content is stored already: nothing to write
                continue
            parts.append((_write_part(final.parent, data, patches), final))
    except BaseException:
        for part, _final in parts:
            part.unlink(missing_ok=True)
        raise
    return StagedMedia(prepared, media_dir, community, tuple(parts))


def place(staged: StagedMedia) -> StoredMedia:
    """Rename the staged files into place (a copy already there is kept as it is)."""
    for part, final in staged.parts:
        if final.exists():
            part.unlink(missing_ok=True)
        else:
            os.replace(part, final)
    prepared = staged.prepared
    path = stored_path(staged.media_dir, staged.community, prepared.sha256)
    return StoredMedia(
        sha256=prepared.sha256,
        kind=prepared.kind,
        mime=prepared.mime,
        size=len(prepared.data),
        width=prepared.width,
        height=prepared.height,
        path=str(path.relative_to(staged.media_dir / staged.community)),
        has_thumbnail=prepared.thumbnail is not None,
    )


def discard(staged: StagedMedia) -> None:
    """Remove what ``stage`` wrote (the file was not kept after all)."""
    for part, _final in staged.parts:
        part.unlink(missing_ok=True)


def store(prepared: PreparedMedia, media_dir: Path, community: str) -> StoredMedia:
    """Write the prepared bytes (and thumbnail) once; an existing copy is reused as is."""
    return place(stage(prepared, media_dir, community))


def _write_part(folder: Path, data: bytes, patches: tuple[Patch, ...] = ()) -> Path:
    # Never half a file under the name of a whole one's hash: written aside, renamed in.
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=PART_PREFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            for piece in pieces(data, patches):
                handle.write(piece)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)
