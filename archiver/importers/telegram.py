"""``import telegram``: a Telegram Desktop export into a community's archive, consent first.

Only what the consent model allows is stored: every message of authors at ``all``; messages of
authors at ``tagged`` that carry the community's keep emoji among their reactions (the export
shows who reacted, so those become tags); nothing of anyone else — not even their name.
Consent comes from the archive (people who answered in the chat) and from an optional roster
of paper forms, recorded first in the ledger.

The work is the import pipeline's, the same for every format
(``archiver.importers.pipeline``); this module only opens the Telegram reader and hands it
over. The fast path: the file's header, the roster and the chat are checked before anything is
written; consent is decided in memory from one query; then messages go in batches, one
transaction per batch, so a crash keeps every finished batch and a rerun skips what is there
(``already``). Three stages overlap, on both cores:

1. reading (``archiver.importers.telegram_reading``): the export is streamed, its entries are
   parsed and decided, the words of what is kept are cut (of half of it, in a worker), and
   the result goes in batches —
   for an export of ``READER_PROCESS_MIN_BYTES`` or more in a worker process (parsing and
   cutting hold the GIL and are about half the work), else here. A JSON error deep in the file
   is found only when reading reaches it: the import stops there like after a crash;
2. the main thread asks, for each batch, which messages the chat already keeps, and turns the
   others into rows (cutting the words the worker left to it: it takes half, so that both
   cores are busy);
3. a writer thread writes the batch — bulk inserts through ``storage.imports``, no ORM
   object or SQLAlchemy type processing per row — while the main thread prepares the next
   one. SQLite updates its B-trees and FTS5 index without holding the GIL and PostgreSQL
   works in its own process. At most one batch is in flight, batches commit in order, and an
   error in one stops the import before the next is written.

``progress`` is called with the number of entries read once the batch holding them committed.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from archiver.archive import Archive
from archiver.errors import UnknownCommunityError
from archiver.importers.pipeline import BATCH_SIZE, ImportReport, Progress, run_import
from archiver.importers.telegram_export import TelegramExport, open_export
from archiver.importers.telegram_reading import (
    MALFORMED_EXAMPLES as MALFORMED_EXAMPLES,
)
from storage import communities

__all__ = ["BATCH_SIZE", "PLATFORM", "SOURCE", "ImportReport", "import_telegram"]

PLATFORM = "telegram"
SOURCE = "import:telegram"
READER_PROCESS_MIN_BYTES = 16 << 20
"""Exports at least this big are read and decided in a worker process (see
``archiver.importers.telegram_reading``); smaller ones here, where a process would cost more
than it saves."""


def import_telegram(
    archive: Archive,
    community_id: str,
    path: Path,
    *,
    roster: Path | None = None,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
) -> tuple[TelegramExport, ImportReport]:
    """Import one chat export into ``community_id`` (which must exist); see the module doc."""
    with archive.db.read() as session:
        community = communities.get_community(session, community_id)
    if community is None:
        raise UnknownCommunityError(community_id)
    export = open_export(path, local_tz=ZoneInfo(community.timezone))
    report = run_import(
        archive,
        community_id,
        export,
        roster=roster,
        progress=progress,
        batch_size=batch_size,
        worker_min_bytes=READER_PROCESS_MIN_BYTES,
    )
    return export, report
