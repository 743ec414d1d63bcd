"""The files of a Telegram Desktop export: photos, voice, video and documents in the folders
beside ``result.json`` (``photos/…``, ``files/…``, ``voice_messages/…``, ``video_files/…``,
``round_video_messages/…``), kept with the messages the import kept — the same consent, the
same limits and the same cleaning as a live file (``archiver.media_files``).

This runs after the text import, as a second pass over the export that reads only the entries'
file fields, and only when the export has media folders at all. A message's file is read from
disk only when the archive keeps (or holds) that message and the file is within the limits;
everyone else's files are never opened. Telegram Desktop writes a placeholder instead of a path
when a file was not exported ("(File not included. Change data exporting settings to
download.)", "(File exceeds maximum size …)"): such a message keeps its text, and the file is
counted as not in the export — never an error. A path that leaves the export's folder is
refused. Rerunning keeps nothing twice.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

from archiver.archive import Archive
from archiver.events import ChatRef, MediaRef
from archiver.importers.telegram_export import open_export
from archiver.media_files import ImportedFiles, import_file

MEDIA_FOLDERS = (
    "photos",
    "files",
    "voice_messages",
    "video_files",
    "round_video_messages",
    "audio_files",
    "animations",
)
# The export's media_type → the archive's kind (no media_type with a file: a document).
KINDS = {
    "voice_message": "voice",
    "audio_file": "audio",
    "video_file": "video",
    "video_message": "video_note",
    "animation": "animation",
}
NOT_KEPT_KINDS = ("sticker",)


def has_media_folders(result_json: Path) -> bool:
    """Whether the export folder holds any of Telegram Desktop's media folders."""
    return any((result_json.parent / name).is_dir() for name in MEDIA_FOLDERS)


def keep_export_files(
    archive: Archive,
    result_json: Path,
    chat: ChatRef,
    *,
    progress: Callable[[int], None] | None = None,
) -> ImportedFiles:
    """Keep the files of the export's kept messages (see the module doc)."""
    report = ImportedFiles()
    if archive.media is None or not has_media_folders(result_json):
        return report
    folder = result_json.parent.resolve()
    export = open_export(result_json, local_tz=ZoneInfo("UTC"), typed=False)
    seen = 0
    for raw in export.raw_messages():
        seen += 1
        if progress is not None and seen % 10_000 == 0:
            progress(seen)
        if not isinstance(raw, dict) or raw.get("type") != "message":
            continue
        found = _file_of(raw)
        if found is None:
            continue
        relative, ref = found
        message_id = str(raw.get("id"))
        if relative.startswith("("):  # "(File not included. …)", "(File exceeds …)"
            import_file(archive, chat, message_id, ref, None, report)
            continue
        path = (folder / relative).resolve()
        if not path.is_relative_to(folder) or not path.is_file():
            import_file(archive, chat, message_id, ref, None, report, absent="missing")
            continue
        sized = MediaRef(ref.kind, ref.handle, size=os.path.getsize(path), file_name=ref.file_name,
                         duration=ref.duration)  # fmt: skip
        import_file(archive, chat, message_id, sized, path.read_bytes, report)
    return report


def _file_of(raw: dict[str, object]) -> tuple[str, MediaRef] | None:
    """The entry's file path (or placeholder) and what it is; None without a file we keep."""
    photo = raw.get("photo")
    if isinstance(photo, str) and photo:
        return photo, MediaRef("photo", photo)
    file = raw.get("file")
    if not isinstance(file, str) or not file:
        return None
    media_type = raw.get("media_type")
    if media_type in NOT_KEPT_KINDS:
        return None
    kind = KINDS.get(str(media_type), "document") if media_type else "document"
    name = raw.get("file_name")
    seconds = raw.get("duration_seconds")
    return file, MediaRef(
        kind,
        file,
        file_name=name if isinstance(name, str) and kind in ("document", "audio") else None,
        duration=seconds if isinstance(seconds, int) else None,
    )
