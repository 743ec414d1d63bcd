"""A message's file kept under the same consent as its text, and removed with it.

The platform adapters hand over the bytes of a file only for a message the archive keeps or
holds (``wants_file`` is asked first, so nothing is even downloaded for anyone else); then
``keep_file`` checks again — consent may have changed while the file came — applies the
limits, strips what photos leak (``archiver.media.prepare``), writes the cleaned bytes once by
their hash and records the row, all in one write transaction. Every erasure (``forget``,
``unkeep``, a refused or expired held message) deletes the rows with the messages and then
calls ``remove_unused_files``, which deletes every file no row names any more: so a forgotten
photo leaves no file and no thumbnail, and a crash between a file's write and its row's
commit leaves nothing that the next erasure does not clear. A file is written under a
temporary name before the transaction (a 20 MB write never holds the database's write lock)
and renamed to its hash inside it.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Literal

from sqlmodel import Session

from archiver.archive import Archive
from archiver.community import space_for
from archiver.events import ChatRef, MediaRef
from archiver.media import (
    KINDS,
    PART_PREFIX,
    MediaSettings,
    StagedMedia,
    discard,
    place,
    prepare,
    stage,
    stored_path,
)
from storage import media as media_store
from storage import messages as message_store
from storage import policy as policy_store
from storage.db import Database
from storage.models import Media

log = logging.getLogger(__name__)

_THUMB_SUFFIX = ".thumb.jpg"
# A part file younger than this may be a download about to be committed: left alone.
PART_GRACE_SECONDS = 3600


class FileOutcome(StrEnum):
    """What became of a message's file."""

    STORED = "stored"
    ALREADY = "already"  # the message has its file already (a platform re-delivery)
    NOT_KEPT = "not_kept"  # neither kept nor held (any more): the bytes are dropped
    TOO_LARGE = "too_large"  # over the kind's limit: the text is kept, the file is not
    QUOTA = "quota"  # the community's files would exceed its quota
    UNREADABLE = "unreadable"  # an image that cannot be decoded is never kept as is
    OFF = "off"  # this archive keeps no files, or the community decided so (media = off)
    NOT_A_KIND = "not_a_kind"  # stickers, locations, polls: nothing to keep


@dataclass(frozen=True, slots=True)
class FileResult:
    """The outcome, with the stored file's hash when there is one."""

    outcome: FileOutcome
    sha256: str | None = None

    @property
    def refused(self) -> bool:
        """True when the resident should hear why their file was not kept."""
        return self.outcome in (FileOutcome.TOO_LARGE, FileOutcome.QUOTA)


def wants_file(archive: Archive, chat: ChatRef, message_id: str, ref: MediaRef) -> FileResult:
    """Whether to download this message's file: ``STORED`` means "yes, fetch it"; any other
    outcome says why not (the announced size is checked here, before a byte is fetched)."""
    if archive.media is None:
        return FileResult(FileOutcome.OFF)
    if ref.kind not in KINDS:
        return FileResult(FileOutcome.NOT_A_KIND)
    with archive.db.read() as session:
        space = space_for(session, chat)
        assert space.id is not None
        blocked = _blocked(session, space.id, space.community_id, message_id)
        if blocked is not None:
            return FileResult(blocked)
        limit = archive.media.limit_for(ref.kind)
        if ref.size is not None and limit is not None and ref.size > limit:
            return FileResult(FileOutcome.TOO_LARGE)
        quota = archive.media.quota_bytes
        if (
            ref.size is not None
            and quota is not None
            and media_store.community_bytes(session, space.community_id) + ref.size > quota
        ):
            return FileResult(FileOutcome.QUOTA)
    return FileResult(FileOutcome.STORED)


def keep_file(
    archive: Archive,
    chat: ChatRef,
    message_id: str,
    data: bytes,
    ref: MediaRef,
    *,
    keep_if_clean: bool = False,
) -> FileResult:
    """Keep ``data`` as the file of this kept or held message (see the module doc).

    The bytes are checked against the kind's limit before any work and never written as
    they came: only what ``prepare`` returns (an image re-encoded without its metadata — or,
    with ``keep_if_clean``, an image that carries none kept as it is: our own export's)."""
    settings = archive.media
    if settings is None:
        return FileResult(FileOutcome.OFF)
    if ref.kind not in KINDS:
        return FileResult(FileOutcome.NOT_A_KIND)
    limit = settings.limit_for(ref.kind)
    if limit is not None and len(data) > limit:
        return FileResult(FileOutcome.TOO_LARGE)
    try:
        prepared = prepare(data, ref.kind, keep_if_clean=keep_if_clean)
    except ValueError as exc:
        log.info("a %s was not kept: %s", ref.kind, exc)
        return FileResult(FileOutcome.UNREADABLE)
    with archive.db.read() as session:
        community = space_for(session, chat).community_id
    # The slow part (writing a 20 MB video) before the transaction, under temporary names:
    # the live text path never waits behind it for the write lock.
    staged = stage(prepared, settings.media_dir, community)
    try:
        result = _record(archive, settings, chat, message_id, staged, ref)
    finally:
        discard(staged)  # whatever was not renamed into place
    return result


def _record(
    archive: Archive,
    settings: MediaSettings,
    chat: ChatRef,
    message_id: str,
    staged: StagedMedia,
    ref: MediaRef,
) -> FileResult:
    prepared = staged.prepared
    with archive.db.write() as session:
        media_store.lock_media_files(session)
        space = space_for(session, chat)
        assert space.id is not None
        blocked = _blocked(session, space.id, space.community_id, message_id)
        if blocked is not None:
            return FileResult(blocked)
        community = space.community_id
        if settings.quota_bytes is not None:
            used = media_store.community_bytes(session, community)
            shared = stored_path(settings.media_dir, community, prepared.sha256).is_file()
            if not shared and used + len(prepared.data) > settings.quota_bytes:
                return FileResult(FileOutcome.QUOTA)
        stored = place(staged)
        media_store.add_media(
            session,
            Media(
                community_id=community,
                space_id=space.id,
                platform_message_id=message_id,
                kind=ref.kind,
                mime=stored.mime,
                size=stored.size,
                width=stored.width,
                height=stored.height,
                duration=ref.duration,
                sha256=stored.sha256,
                has_thumbnail=stored.has_thumbnail,
                file_name=ref.file_name,
                stored_at=datetime.now(UTC),
            ),
        )
    return FileResult(FileOutcome.STORED, stored.sha256)


@dataclass
class ImportedFiles:
    """What an import's pass over an export's files did (``import_file``)."""

    kept: int = 0  # stored now, or already there from an earlier run
    not_exported: int = 0  # a kept message whose file the exporter left out
    missing: int = 0  # a path to a file that is not there (or leads out of the export)
    refused: int = 0  # over the archive's limits or quota, or an unreadable image

    def to_json(self) -> dict[str, int]:
        """The ``--json`` form."""
        return {
            "files_kept": self.kept,
            "files_not_exported": self.not_exported,
            "files_missing": self.missing,
            "files_refused": self.refused,
        }


def import_file(
    archive: Archive,
    chat: ChatRef,
    message_id: str,
    ref: MediaRef,
    read: Callable[[], bytes] | None,
    counts: ImportedFiles,
    *,
    absent: Literal["not_exported", "missing"] = "not_exported",
) -> None:
    """An export's file for one message, kept like a live one — ``read`` is called only when
    the message is kept or held and the file within the limits (``ref.size``); ``None``: the
    export has no file for it, counted as ``absent`` if the message wanted one."""
    wanted = wants_file(archive, chat, message_id, ref).outcome
    if wanted in (FileOutcome.TOO_LARGE, FileOutcome.QUOTA):
        counts.refused += 1
        return
    if wanted is FileOutcome.ALREADY:
        counts.kept += 1
        return
    if wanted is not FileOutcome.STORED:
        return  # not kept, or files are off: nothing is read
    if read is None:
        setattr(counts, absent, getattr(counts, absent) + 1)
        return
    result = keep_file(archive, chat, message_id, read(), ref)
    if result.outcome in (FileOutcome.STORED, FileOutcome.ALREADY):
        counts.kept += 1
    elif result.outcome is not FileOutcome.NOT_KEPT:
        counts.refused += 1


def remove_unused_files(archive: Archive) -> int:
    """Delete every file (and thumbnail) under ``media_dir`` that no media row names, and any
    part file older than ``PART_GRACE_SECONDS`` (a crash's); returns how many files went.
    Called after every erasure."""
    settings = archive.media
    if settings is None or not settings.media_dir.is_dir():
        return 0
    removed = 0
    with archive.db.write() as session:
        # Under the lock, so no file is taken away between its write and its row's commit.
        media_store.lock_media_files(session)
        in_use = media_store.hashes_in_use(session)
        for community in os.scandir(settings.media_dir):
            if not community.is_dir():
                continue
            for root, _dirs, files in os.walk(community.path):
                for name in files:
                    path = os.path.join(root, name)
                    if name.startswith(PART_PREFIX):
                        # Being written for a row not yet committed — or left by a crash.
                        if time.time() - os.stat(path).st_mtime < PART_GRACE_SECONDS:
                            continue
                    elif (community.name, name.removesuffix(_THUMB_SUFFIX)) in in_use:
                        continue
                    os.unlink(path)
                    removed += 1
                if root != community.path and not os.listdir(root):
                    os.rmdir(root)
    return removed


def read_file(archive: Archive, community_id: str, sha256: str) -> bytes | None:
    """The stored (cleaned) bytes of a kept file, or None when this archive keeps no files or
    the file is gone."""
    if archive.media is None:
        return None
    try:
        return stored_path(archive.media.media_dir, community_id, sha256).read_bytes()
    except OSError:
        return None


def backup_files(archive: Archive, copy: Database, target: Path) -> int:
    """Copy the files that the backed-up archive ``copy`` names into ``target``, in the same
    layout as ``media_dir`` (``<community>/<xx>/<sha256>`` and thumbnails); returns how many.

    Only what the copy's rows name: a file added after the copy was taken has no row there,
    and one erased meanwhile is gone (its row went with it, from the next backup on)."""
    settings = archive.media
    if settings is None:
        return 0
    with copy.read() as session:
        wanted = media_store.hashes_in_use(session)
    copied = 0
    for community, digest in sorted(wanted):
        source = stored_path(settings.media_dir, community, digest)
        for path in (source, source.with_name(digest + _THUMB_SUFFIX)):
            if not path.is_file():
                continue
            destination = target / path.relative_to(settings.media_dir)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)
            copied += 1
    return copied


def _blocked(
    session: Session, space_id: int, community_id: str, message_id: str
) -> FileOutcome | None:
    """Why this message takes no file now (not kept or held, files off, has one), if so:
    asked before a download and again, under the lock, before the file is recorded."""
    if not _kept_or_held(session, space_id, message_id):
        return FileOutcome.NOT_KEPT
    if _files_off(session, community_id):
        return FileOutcome.OFF
    if media_store.media_of(session, space_id, message_id) is not None:
        return FileOutcome.ALREADY
    return None


def _files_off(session: Session, community_id: str) -> bool:
    """The community decided to keep no files (``media = off``, archiver.policy)."""
    decided = policy_store.latest(session, community_id).get("media")
    return decided is not None and decided.value == "off"


def _kept_or_held(session: Session, space_id: int, message_id: str) -> bool:
    return (
        message_store.get_message(session, space_id, message_id) is not None
        or message_store.get_held(session, space_id, message_id) is not None
    )
