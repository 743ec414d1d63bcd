"""Files stored by an earlier release, cleaned as this release cleans a file it receives.

Until this release a video (MP4, MOV) was stored byte for byte with where it was filmed, and
a HEIC or TIFF photo sent as a file was not recognised as a photo, so it kept its EXIF. This
pass reads each stored file that earlier releases did not clean (rows of ``video/mp4`` or
``application/octet-stream``), runs it through ``archiver.media.prepare`` again, and where the
result differs stores the cleaned file and points its rows at it; the old file goes with
``remove_unused_files``. A file that cannot be cleaned any more (its boxes do not add up, an
image that does not decode) loses its rows and its file — its message's text stays — as the
live path would have refused it.

It runs once per media folder: when it has been through every file it leaves a marker file
there, and it is idempotent until then (a file already clean comes out unchanged), so a stop
in the middle only means the next start goes on. ``run`` and ``db upgrade`` call it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from archiver.archive import Archive
from archiver.media import discard, place, prepare, stage, stored_path
from archiver.media_files import remove_unused_files
from storage import media as media_store

log = logging.getLogger(__name__)

# Written in the media folder once every file there is cleaned as this release cleans.
MARKER = ".cleaned-v2"
# What earlier releases stored without cleaning: everything else was re-encoded already.
_UNCLEANED_MIMES = ("video/mp4", "application/octet-stream")


@dataclass(frozen=True, slots=True)
class UpgradeReport:
    """What the pass did: files re-stored cleaned, and files dropped as not cleanable."""

    cleaned: int = 0
    dropped: int = 0


def clean_stored_files(archive: Archive) -> UpgradeReport:
    """Clean the files an earlier release stored as they came (see the module doc); does
    nothing once the media folder has this release's marker, or without a media folder."""
    settings = archive.media
    if settings is None or not settings.media_dir.is_dir():
        return UpgradeReport()
    marker = settings.media_dir / MARKER
    if marker.exists():
        return UpgradeReport()
    with archive.db.read() as session:
        candidates = media_store.stored_files_of_mime(session, _UNCLEANED_MIMES)
    cleaned = dropped = 0
    for community, sha256, kind in candidates:
        path = stored_path(settings.media_dir, community, sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            continue  # a crash's leftover row without a file: nothing to clean
        try:
            prepared = prepare(data, kind)
        except ValueError as exc:
            log.warning("a stored %s cannot be cleaned and is removed: %s", kind, exc)
            with archive.db.write() as session:
                media_store.lock_media_files(session)
                media_store.drop_stored_file(session, community, sha256)
            dropped += 1
            continue
        if prepared.sha256 == sha256:
            continue  # nothing in it to clean
        staged = stage(prepared, settings.media_dir, community)
        try:
            with archive.db.write() as session:
                media_store.lock_media_files(session)
                stored = place(staged)
                media_store.replace_stored_file(
                    session,
                    community,
                    sha256,
                    {
                        "sha256": stored.sha256,
                        "mime": stored.mime,
                        "size": stored.size,
                        "width": stored.width,
                        "height": stored.height,
                        "has_thumbnail": stored.has_thumbnail,
                    },
                )
        finally:
            discard(staged)
        cleaned += 1
    if cleaned or dropped:
        remove_unused_files(archive)
        log.info("stored files cleaned: %d, removed as not cleanable: %d", cleaned, dropped)
    marker.write_text("every file here is cleaned as this release cleans (media_upgrade.py)\n")
    return UpgradeReport(cleaned, dropped)
