"""The archive website's photos, voice and files: copied into ``OUT/media`` and shown.

Only the files of kept messages reach the site (``storage.site.site_files`` joins through
``message``: a held message's file never does), and only as the archive stores them — images
already stripped of their metadata when they were kept. Files are named by their hash, so a
rebuild copies only files it does not have yet, and a file no kept message names any more
(``forget``) is removed with the rest of what the last build wrote and this one does not.

Layout: ``OUT/media/<xx>/<sha256>.<ext>`` (the extension from the MIME type, so a browser
opened from ``file://`` knows what it is) and ``OUT/media/<xx>/<sha256>.thumb.jpg``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from markupsafe import escape

from storage.site import SiteFile

EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "audio/ogg": "ogg",
    "audio/mpeg": "mp3",
    "video/mp4": "mp4",
    "video/webm": "webm",
    "application/pdf": "pdf",
    "application/zip": "zip",
}
MEDIA_MARK = "media"  # the manifest's value for a media file: its name is its hash


def file_path(file: SiteFile) -> str:
    """Where the file goes in OUT (relative)."""
    extension = EXTENSIONS.get(file.mime, "bin")
    return f"media/{file.sha256[:2]}/{file.sha256}.{extension}"


def thumbnail_path(file: SiteFile) -> str | None:
    """Where its thumbnail goes in OUT, for an image that has one."""
    if not file.has_thumbnail:
        return None
    return f"media/{file.sha256[:2]}/{file.sha256}.thumb.jpg"


def copy_files(
    files: list[SiteFile], source: Path | None, out: Path
) -> tuple[dict[str, str], list[str], int]:
    """Copy each file (and thumbnail) from the community's media folder into OUT unless it
    is there already: (every media path → ``MEDIA_MARK``, the paths copied, how many were
    missing from the media folder and are left out)."""
    paths: dict[str, str] = {}
    copied: list[str] = []
    missing = 0
    if source is None:
        return paths, copied, len(files)
    for file in files:
        origin = source / file.sha256[:2] / file.sha256
        pairs = [(origin, file_path(file))]
        thumb = thumbnail_path(file)
        if thumb is not None:
            pairs.append((origin.with_name(f"{file.sha256}.thumb.jpg"), thumb))
        for from_path, relative in pairs:
            target = out / relative
            if not target.is_file():
                if not from_path.is_file():
                    missing += 1
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                temporary = target.with_name(f".{target.name}.tmp")
                shutil.copyfile(from_path, temporary)
                os.replace(temporary, target)
                copied.append(relative)
            paths[relative] = MEDIA_MARK
    return paths, copied, missing


def file_html(file: SiteFile, caption: str, labels: dict[str, str]) -> str:
    """The file as HTML inside a message: a photo as its thumbnail linking to the full
    image, voice and audio as a player, video as a player, anything else as a download
    link with its size. Every value escaped; nothing loads before the reader asks for it."""
    url = file_path(file)
    if file.kind == "photo" or (file.mime.startswith("image/") and file.has_thumbnail):
        thumb = thumbnail_path(file) or url
        alt = escape(caption or labels["photo"])
        size = ""
        if file.width and file.height:
            # The thumbnail's box (at most 320×320, the stored image's shape): no layout jump.
            scale = min(1.0, 320 / max(file.width, file.height))
            size = f' width="{round(file.width * scale)}" height="{round(file.height * scale)}"'
        return (
            f'<a class="photo" href="{url}"><img src="{thumb}" alt="{alt}"{size} '
            'loading="lazy" decoding="async"></a>'
        )
    if file.kind in ("voice", "audio"):
        return (
            f'<audio class="voice" controls preload="none" src="{url}">'
            f'<a href="{url}">{escape(labels[file.kind])}</a></audio>'
        )
    if file.kind in ("video", "video_note", "animation"):
        return (
            f'<video class="video" controls preload="none" src="{url}">'
            f'<a href="{url}">{escape(labels["video"])}</a></video>'
        )
    name = escape(file.file_name or labels["document"])
    return f'<a class="file" href="{url}" download>{name} ({_size(file.size)})</a>'


def _size(size: int) -> str:
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} KB"
    return f"{size / (1024 * 1024):.1f} MB"
