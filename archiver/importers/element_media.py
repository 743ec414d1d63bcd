"""Element's "Export chat" with attachments: a ZIP holding ``export.json`` and the files, kept
with the messages the import kept (``archiver.media_files``: the same consent, limits and
cleaning as a live file).

Element writes each attachment as ``<folder>/<body name>-<date>.<ext>`` (``images/``,
``videos/``, ``audio/``, ``files/``; a voice message's extension is ``.ogg``) with the date in
the exporter's locale, and leaves the event's content as it was (``mxc://`` URLs), adding the
files to the ZIP in the order of the events. So a file is found for an event by its folder, its
body name and extension — and its size where the event gives one — taking the ZIP's entries in
order: the first unused one that fits. Files over the exporter's size cap were left out by
Element; such a message keeps its text. A file is read from the ZIP only for a message the
archive keeps or holds.
"""

from __future__ import annotations

import functools
import json
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

from archiver.archive import Archive
from archiver.errors import ImportFormatError
from archiver.events import ChatRef, MediaRef
from archiver.media_files import ImportedFiles, import_file

EXPORT_JSON = "export.json"
FOLDERS = {"m.image": "images", "m.video": "videos", "m.audio": "audio", "m.file": "files"}
KINDS = {"m.image": "photo", "m.video": "video", "m.audio": "audio", "m.file": "document"}
VOICE_MARKS = ("org.matrix.msc3245.voice", "org.matrix.msc3245.voice.v2")


@contextmanager
def element_json(path: Path) -> Iterator[tuple[Path, zipfile.ZipFile | None]]:
    """The export's JSON to read: the file itself, or — for Element's ZIP — its
    ``export.json`` copied out to a temporary folder, with the open ZIP for the files."""
    if not zipfile.is_zipfile(path):
        yield path, None
        return
    with zipfile.ZipFile(path) as archive_zip:
        if EXPORT_JSON not in archive_zip.namelist():
            raise ImportFormatError(
                f"a ZIP without {EXPORT_JSON}: not Element's export with attachments", path=path
            )
        with tempfile.TemporaryDirectory(prefix="element-export-") as folder:
            target = Path(folder) / EXPORT_JSON
            with archive_zip.open(EXPORT_JSON) as source, target.open("wb") as copy:
                shutil.copyfileobj(source, copy)
            yield target, archive_zip


def keep_zip_files(
    archive: Archive, export_json: Path, archive_zip: zipfile.ZipFile, chat: ChatRef
) -> ImportedFiles:
    """Keep the ZIP's files of the messages the import kept (see the module doc)."""
    report = ImportedFiles()
    if archive.media is None:
        return report
    entries = [info for info in archive_zip.infolist() if info.filename != EXPORT_JSON]
    used: set[str] = set()
    document = json.loads(export_json.read_text(encoding="utf-8"))
    for event in document.get("messages", []):
        found = _attachment(event)
        if found is None:
            continue
        event_id, folder, stem, extension, ref, size = found
        match = next(
            (
                info
                for info in entries
                if info.filename not in used
                and _fits(info.filename, folder, stem, extension)
                and (size is None or info.file_size == size)
            ),
            None,
        )
        if match is not None:
            used.add(match.filename)
        sized = MediaRef(ref.kind, ref.handle, size=match.file_size if match else size,
                         file_name=ref.file_name, duration=ref.duration)  # fmt: skip
        read = functools.partial(archive_zip.read, match) if match is not None else None
        import_file(archive, chat, event_id, sized, read, report)
    return report


def _fits(name: str, folder: str, stem: str, extension: str) -> bool:
    path = PurePosixPath(name)
    return (
        len(path.parts) == 2
        and path.parts[0] == folder
        and path.name.startswith(f"{stem}-")
        and path.name.endswith(extension)
    )


def _attachment(
    event: Any,
) -> tuple[str, str, str, str, MediaRef, int | None] | None:
    """(event id, ZIP folder, body name, extension, what it is, its size if given) of a
    message event with a file we keep; None for anything else (stickers included)."""
    if not isinstance(event, dict) or event.get("type") != "m.room.message":
        return None
    content = event.get("content")
    event_id = event.get("event_id")
    if not isinstance(content, dict) or not isinstance(event_id, str):
        return None
    msgtype = content.get("msgtype")
    if msgtype not in FOLDERS:
        return None
    body = content.get("body") if isinstance(content.get("body"), str) else ""
    assert isinstance(body, str)
    dot = body.rfind(".")
    stem, extension = (body[:dot], body[dot:]) if dot > 0 else (body, "")
    kind = KINDS[msgtype]
    if msgtype == "m.audio" and any(mark in content for mark in VOICE_MARKS):
        kind, extension = "voice", ".ogg"
    info = content.get("info") if isinstance(content.get("info"), dict) else {}
    assert isinstance(info, dict)
    size = info.get("size") if isinstance(info.get("size"), int) else None
    duration = info.get("duration")
    name = content.get("filename") or body
    ref = MediaRef(
        kind,
        f"zip:{event_id}",
        file_name=name if isinstance(name, str) and kind in ("document", "audio") else None,
        duration=duration // 1000 if isinstance(duration, int) else None,
    )
    return event_id, FOLDERS[msgtype], stem, extension, ref, size
