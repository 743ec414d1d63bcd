"""``import telegram``: a Telegram Desktop export into a community's archive, consent first.

Only what the consent model allows is stored: every message of authors at ``all``; messages of
authors at ``tagged`` that carry the community's keep emoji among their reactions (the export
shows who reacted, so those become tags); nothing of anyone else — not even their name.
Consent comes from the archive (people who answered in the chat) and from an optional roster
of paper forms, recorded first in the ledger.

The fast path: the file's header, the roster and the chat are checked before anything is
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

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import Session

from archiver.archive import Archive
from archiver.consent_policy import Level, keeps_on_import
from archiver.errors import CommunityMemoryError, UnknownCommunityError
from archiver.importers.roster import apply_roster, read_roster
from archiver.importers.telegram_export import TelegramExport, open_export
from archiver.importers.telegram_reading import (
    MALFORMED_EXAMPLES as MALFORMED_EXAMPLES,
)
from archiver.importers.telegram_reading import (
    Batch,
    batches_in_worker,
    collector_paused,
    decided_batches,
)
from archiver.reactions import keep_reactions
from storage import communities, imports, people
from storage.people import KnownAccount

PLATFORM = "telegram"
SOURCE = "import:telegram"
BATCH_SIZE = 5000
READER_PROCESS_MIN_BYTES = 16 << 20
"""Exports at least this big are read and decided in a worker process (see
``archiver.importers.telegram_reading``); smaller ones here, where a process would cost more
than it saves."""

Progress = Callable[[int], None]


@dataclass
class ImportReport:
    """What an import did; ``kept + already + forgotten + not_consented + malformed +
    unsupported == entries``."""

    entries: int = 0
    kept: int = 0
    already: int = 0
    forgotten: int = 0  # erased by ``forget`` in this archive: never brought back
    not_consented: int = 0
    malformed: int = 0
    unsupported: int = 0  # messages Telegram Desktop itself could not export: skipped
    service: int = 0
    tags: int = 0
    consent_changes: int = 0
    malformed_examples: list[str] = field(default_factory=list)
    roster_not_in_export: list[str] = field(default_factory=list)
    """roster accounts that wrote nothing in this export (a typo, or another group's)"""

    def to_json(self) -> dict[str, object]:
        """The ``--json`` form."""
        return {
            "entries": self.entries,
            "kept": self.kept,
            "already_kept": self.already,
            "forgotten": self.forgotten,
            "not_consented": self.not_consented,
            "malformed": self.malformed,
            "unsupported": self.unsupported,
            "service": self.service,
            "tags": self.tags,
            "consent_changes": self.consent_changes,
            "malformed_examples": self.malformed_examples,
            "roster_not_in_export": self.roster_not_in_export,
        }


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
    entries = read_roster(roster, timezone=community.timezone) if roster else []
    report = ImportReport()
    with archive.db.write() as session:
        space = communities.ensure_space(
            session, community_id, PLATFORM, export.chat.chat_id, title=export.chat.name
        )
        if space.community_id != community_id:
            raise CommunityMemoryError(
                f"the chat {export.chat.name!r} (telegram:{export.chat.chat_id}) belongs to "
                f"community {space.community_id!r}, not {community_id!r}"
            )
        report.consent_changes = apply_roster(session, archive.segmenter, community_id, entries)
        assert space.id is not None
        space_id = space.id
        known = people.consent_map(session, community_id, PLATFORM)
        names = imports.display_names(session, community_id)
        erased_people, erased_messages = imports.erasures(session, community_id)
        chat_kept_before = imports.space_has_messages(session, space_id)
    # author id → (person, ledger entry, kept only when tagged): the consent policy asked
    # once per person here, so the reader's per-message test is a dict lookup.
    consenting = {
        user_id: (
            account.person_id,
            account.level_event_id,
            not keeps_on_import(Level(account.level), tagged=False),
        )
        for user_id, account in known.items()
        if keeps_on_import(Level(account.level), tagged=True) and account.level_event_id is not None
    }
    writer = _Writer(archive, community_id, space_id, known, names, report, progress)
    # What `forget` erased stays erased, whatever the export or the roster says.
    writer.erased_people = erased_people
    writer.erased_messages = {pmid for space, pmid in erased_messages if space == space_id}
    # A chat that keeps nothing yet (a first import) needs no "kept already?" lookups:
    # inserts skip duplicates anyway, the lookups only spare a rerun cutting words again.
    writer.look_up_kept = chat_kept_before
    # The reactions that tag, as the live bot takes them: the community's emoji, and ✍
    # (with or without its variation selector) where that emoji is no Telegram reaction.
    keep = keep_reactions(PLATFORM, community.keep_emoji)
    if export.path.stat().st_size >= READER_PROCESS_MIN_BYTES:
        batches = batches_in_worker(
            export.path,
            export.local_tz,
            consenting,
            keep,
            batch_size,
            archive.segmenter.words,
        )
    else:
        cut = archive.segmenter.index_tokens
        batches = decided_batches(export, consenting, keep, batch_size, cut)
    last = Batch()
    authors: set[str] = set()
    try:
        with collector_paused():
            for batch in batches:
                last = batch
                authors |= batch.authors
                report.malformed_examples.extend(batch.malformed_examples)
                writer.submit(batch)
            writer.finish()
        if report.kept:
            with archive.db.write() as session:
                imports.refresh_statistics(session)
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()  # stops a worker process still reading
        writer.close()
        report.entries, report.not_consented = last.seen, last.not_consented
        report.roster_not_in_export = sorted(
            e.account.key
            for e in entries
            if e.account.platform == PLATFORM and e.account.user_id not in authors
        )
        report.malformed, report.service = last.malformed, last.service
        report.unsupported = last.unsupported
    return export, report


class _Writer:
    """Prepares batches (main thread) and writes them, one transaction each, on one
    background thread; see the module doc."""

    def __init__(
        self,
        archive: Archive,
        community_id: str,
        space_id: int,
        known: dict[str, KnownAccount],
        names: dict[int, str | None],
        report: ImportReport,
        progress: Progress | None,
    ) -> None:
        self.archive = archive
        self.community_id = community_id
        self.space_id = space_id
        self.known = known
        self.stored_names = names
        self.look_up_kept = True
        self.erased_people: dict[int, datetime] = {}
        self.erased_messages: set[str] = set()
        self.report = report
        self.progress = progress
        # An in-memory SQLite database exists once per connection, i.e. per thread: write there.
        db = archive.db
        threaded = not (db.is_sqlite and db.sqlite_path is None)
        self._pool = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-writer")
            if threaded
            else None
        )
        self._inflight: tuple[Future[None], int] | None = None

    def submit(self, batch: Batch) -> None:
        """Prepare the batch, wait for the one in flight, then start writing this one."""
        rows = self._prepare(batch) if batch.messages else None
        self.finish()
        if rows is None:  # nothing to write: its entries are done
            self._committed(batch.seen)
        elif self._pool is None:
            self._write(batch, rows)
            self._committed(batch.seen)
        else:
            self._inflight = (self._pool.submit(self._write, batch, rows), batch.seen)

    def finish(self) -> None:
        """Wait until the batch in flight is committed (raising its error, if any)."""
        if self._inflight is not None:
            future, seen = self._inflight
            self._inflight = None
            future.result()
            self._committed(seen)

    def close(self) -> None:
        """Let the batch in flight end (commit or roll back), stop the thread, and close the
        connections tuned for bulk writing (the next use opens them with the defaults)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self.archive.db.release_connections()

    def _committed(self, seen: int) -> None:
        if self.progress is not None:
            self.progress(seen)

    def _prepare(self, batch: Batch) -> imports.FormattedRows:
        """Skip what the chat already keeps (when it kept anything before the import); the
        rest become rows, their words cut where the reader left that to us, formatted for the
        database (outside any write transaction, so live writers are not kept waiting, and on
        this thread, so the writer thread only writes)."""
        already: set[str] = set()
        if self.look_up_kept:
            with self.archive.db.read() as session:
                already = imports.kept_ids(
                    session, self.space_id, [message[0] for message in batch.messages]
                )
        if self.erased_people or self.erased_messages:
            already |= self._forgotten(batch)
        community_id, space_id, now = self.community_id, self.space_id, datetime.now(UTC)
        cut = self.archive.segmenter.index_tokens
        rows = [
            (  # in storage.imports.MESSAGE_COLUMNS order
                community_id,
                space_id,
                platform_id,
                person_id,
                event_id,
                sent_at,
                edited_at,
                text,
                tokens if tokens is not None else cut(text),
                reply_to,
                media_kind,
                SOURCE,
                now,
            )
            for (
                platform_id,
                sent_at,
                edited_at,
                text,
                tokens,
                reply_to,
                media_kind,
                person_id,
                event_id,
            ) in batch.messages
            if platform_id not in already
        ]
        return imports.format_messages(self.archive.db.engine.dialect, rows)

    def _forgotten(self, batch: Batch) -> set[str]:
        """The batch's messages that ``forget`` erased (everything its author had sent by
        then, or that one message): counted as forgotten, their tags dropped."""
        erased_people, erased_messages = self.erased_people, self.erased_messages
        gone = {
            platform_id
            for platform_id, sent_at, *_rest, person_id, _event in batch.messages
            if platform_id in erased_messages
            or (person_id in erased_people and sent_at <= erased_people[person_id])
        }
        for platform_id in gone:
            batch.taggers.pop(platform_id, None)
        batch.forgotten = len(gone)
        return gone

    def _write(self, batch: Batch, rows: imports.FormattedRows) -> None:
        """One transaction: the new messages, their tags, changed display names."""
        names = {
            pid: name for pid, name in batch.names.items() if self.stored_names.get(pid) != name
        }
        new_taggers: dict[str, KnownAccount] = {}
        with self.archive.db.write() as session:
            if self._pool is not None:  # an archive in a file: undone in close()
                imports.tune_for_bulk(session)
            inserted = imports.insert_messages(session, rows)
            tags = self._write_tags(session, batch.taggers, new_taggers)
            imports.set_display_names(session, names)
        self.known.update(new_taggers)
        self.stored_names.update(names)
        self.report.kept += inserted
        self.report.forgotten += batch.forgotten
        self.report.already += len(batch.messages) - inserted - batch.forgotten
        self.report.tags += tags

    def _write_tags(
        self,
        session: Session,
        taggers: dict[str, tuple[str, ...]],
        new_taggers: dict[str, KnownAccount],
    ) -> int:
        if not taggers:
            return 0
        now = datetime.now(UTC)
        rows: list[tuple[object, ...]] = []
        anonymous = [pid for pid, users in taggers.items() if not users]
        have_anonymous = imports.anonymous_tagged_ids(session, self.space_id, anonymous)
        for platform_id, users in taggers.items():
            if not users:
                if platform_id not in have_anonymous:
                    rows.append(self._tag(platform_id, None, now))
                continue
            for user_id in dict.fromkeys(users):
                tagger = self.known.get(user_id) or new_taggers.get(user_id)
                if tagger is None:
                    # someone the archive never heard of: an account id, nothing more
                    person = people.ensure_person(session, self.community_id, PLATFORM, user_id)
                    assert person.id is not None
                    tagger = KnownAccount(person.id, Level.UNKNOWN.value, "anonymous", None)
                    new_taggers[user_id] = tagger
                rows.append(self._tag(platform_id, tagger.person_id, now))
        return imports.insert_tags(session, rows)

    def _tag(self, platform_id: str, tagger_id: int | None, now: datetime) -> tuple[object, ...]:
        # in storage.imports.TAG_COLUMNS order
        return (self.community_id, self.space_id, platform_id, tagger_id, None, "import", now)
