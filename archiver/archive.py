"""The archive handle every archiver function takes: the database plus the segmenter."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from archiver.media import MediaSettings
from archiver.segmentation import Segmenter
from storage.db import Database
from storage.errors import StorageError
from storage.migrate import is_current, upgrade


@dataclass
class Archive:
    """An open archive. Build one at start-up with ``open_archive`` and ``close()`` it at exit."""

    db: Database
    segmenter: Segmenter
    # Where kept files go and the limits on them; None keeps no files (only the text and
    # ``media_kind``), as for an archive opened by a command that never stores media.
    media: MediaSettings | None = None

    def close(self) -> None:
        """Release the database connections."""
        self.db.close()


def open_archive(
    url: str,
    *,
    migrate: bool = True,
    words: Iterable[str] = (),
    media: MediaSettings | None = None,
) -> Archive:
    """Open (and by default create or upgrade) the archive at ``url``.

    With ``migrate=False`` an archive that is not at this release's schema is refused, so a
    read-only command never changes the file behind the operator's back.
    """
    db = Database(url)
    try:
        if migrate:
            upgrade(db)
        elif not is_current(db):
            raise StorageError(
                "the archive's schema is not current: run `community-memory db upgrade`"
            )
    except BaseException:
        db.close()
        raise
    return Archive(db=db, segmenter=Segmenter(words), media=media)
