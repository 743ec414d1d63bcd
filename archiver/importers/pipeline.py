"""One import pipeline for every chat export format: consent first, streamed, idempotent.

Each format is only a *reader* (:class:`Reader`): an opened file that knows its chat and
yields :class:`~archiver.importers.entries.ExportedMessage` and
:class:`~archiver.importers.entries.MalformedEntry` records in the file's order. Everything
else is here, the same for every format:

* the chat's space is found or made (a chat belongs to one community for good), the roster
  of paper forms is recorded first in the ledger;
* consent is decided in memory from one query (a dict: author id → person, ledger entry,
  kept only when tagged), so the reader's per-message test is a dict lookup;
* three stages overlap, on both cores (``archiver.importers.telegram_reading``): reading and
  deciding — in a worker process for a file of ``worker_min_bytes`` or more —, preparing rows
  on the main thread, and writing on a writer thread, one transaction per batch, so a crash
  keeps every finished batch and a rerun skips what is there (``already``);
* what ``forget`` erased is never brought back; edits the file carries become versions;
* :func:`dry_run` reads a file through the same decisions and writes nothing.

``progress`` is called with the number of entries read once the batch holding them committed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlmodel import Session

from archiver.archive import Archive, open_archive
from archiver.consent_policy import Level, keeps_on_import
from archiver.errors import CommunityMemoryError, UnknownCommunityError
from archiver.importers.entries import ExportedChat, ExportedMessage, MalformedEntry
from archiver.importers.roster import RosterEntry, apply_roster, read_roster
from archiver.importers.telegram_reading import (
    Batch,
    Consenting,
    batches_in_worker,
    collector_paused,
    decided_batches,
)
from archiver.reactions import bare, keep_reactions
from storage import communities, imports, people
from storage.db import Database
from storage.migrate import current_revision
from storage.people import KnownAccount

BATCH_SIZE = 5000
WORKER_MIN_BYTES = 16 << 20
"""Files at least this big are read and decided in a worker process (see
``archiver.importers.telegram_reading``); smaller ones here, where a process would cost more
than it saves."""

Progress = Callable[[int], None]


class Reader(Protocol):
    """An opened export of one chat, in any format (see the module doc)."""

    format: str
    """The reader's name, as :func:`archiver.importers.readers.open_reader` takes it."""
    platform: str
    """The accounts' platform: ``telegram``, ``matrix``, ``wechat``, ``qq``."""
    source: str
    """What kept messages record as their ``source`` (``import:telegram`` …)."""
    chat: ExportedChat
    path: Path
    service_count: int
    """Entries skipped on purpose so far (service, system, recalled … messages)."""

    @property
    def local_tz(self) -> ZoneInfo:
        """The time zone of times the file writes without an offset."""
        ...

    def entries(self) -> Iterator[ExportedMessage | MalformedEntry]:
        """Every message and malformed entry, in the file's order, once."""
        ...


Opener = Callable[[Path, ZoneInfo], Reader]


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


def run_import(
    archive: Archive,
    community_id: str,
    reader: Reader,
    *,
    roster: Path | None = None,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
    worker_min_bytes: int = WORKER_MIN_BYTES,
) -> ImportReport:
    """Import what ``reader`` yields into ``community_id`` (which must exist); see the
    module doc. The reader's file is read once, here or in a worker process."""
    with archive.db.read() as session:
        community = communities.get_community(session, community_id)
    if community is None:
        raise UnknownCommunityError(community_id)
    platform = reader.platform
    entries = read_roster(roster, timezone=community.timezone) if roster else []
    report = ImportReport()
    with archive.db.write() as session:
        space = communities.ensure_space(
            session, community_id, platform, reader.chat.chat_id, title=reader.chat.name
        )
        if space.community_id != community_id:
            raise CommunityMemoryError(
                f"the chat {reader.chat.name!r} ({platform}:{reader.chat.chat_id}) belongs to "
                f"community {space.community_id!r}, not {community_id!r}"
            )
        report.consent_changes = apply_roster(session, archive.segmenter, community_id, entries)
        assert space.id is not None
        space_id = space.id
        known = people.consent_map(session, community_id, platform)
        names = imports.display_names(session, community_id)
        erased_people, erased_messages = imports.erasures(session, community_id)
        chat_kept_before = imports.space_has_messages(session, space_id)
    consenting = consenting_authors(known)
    writer = _Writer(archive, community_id, space_id, known, names, report, progress)
    writer.platform = platform
    writer.source = reader.source
    # What `forget` erased stays erased, whatever the export or the roster says.
    writer.erased_people = erased_people
    writer.erased_messages = {pmid for space, pmid in erased_messages if space == space_id}
    # A chat that keeps nothing yet (a first import) needs no "kept already?" lookups:
    # inserts skip duplicates anyway, the lookups only spare a rerun cutting words again.
    writer.look_up_kept = chat_kept_before
    # The reactions that tag, as the live bot takes them: the community's emoji, and on
    # Telegram ✍ (with or without its variation selector) where that emoji is no reaction.
    keep = keep_reactions(platform, community.keep_emoji)
    batches: Iterator[Batch]
    if reader.path.stat().st_size >= worker_min_bytes:
        batches = batches_in_worker(
            reader.path,
            reader.local_tz,
            consenting,
            keep,
            batch_size,
            archive.segmenter.words,
            fmt=reader.format,
        )
    else:
        cut = archive.segmenter.index_tokens
        batches = decided_batches(reader, consenting, keep, batch_size, cut)
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
            if e.account.platform == platform and e.account.user_id not in authors
        )
        report.malformed, report.service = last.malformed, last.service
        report.unsupported = last.unsupported
    return report


def consenting_authors(known: dict[str, KnownAccount]) -> Consenting:
    """author id → (person, ledger entry, kept only when tagged) of everyone whose consent
    keeps anything on import: the consent policy asked once per person, here."""
    return {
        user_id: (
            account.person_id,
            account.level_event_id,
            not keeps_on_import(Level(account.level), tagged=False),
        )
        for user_id, account in known.items()
        if keeps_on_import(Level(account.level), tagged=True) and account.level_event_id is not None
    }


# -- dry run -------------------------------------------------------------------------------------


@dataclass
class AuthorPreview:
    """One author of a file, as a dry run sees them."""

    account: str
    """``platform:user_id``, or ``""`` for messages without an author"""
    name: str | None
    """their latest name (group nickname) in the file"""
    consent: str
    """the level in force for the import: ``all``, ``tagged``, ``none``, ``unknown``"""
    source: str
    """where that level comes from: ``archive``, ``roster``, or ``none`` (never asked)"""
    kept: int = 0
    not_kept: int = 0

    def to_json(self) -> dict[str, object]:
        """The ``--json`` form."""
        return {
            "account": self.account,
            "name": self.name,
            "consent": self.consent,
            "consent_from": self.source,
            "would_keep": self.kept,
            "would_not_keep": self.not_kept,
        }


@dataclass
class DryRunReport:
    """What an import of the file would keep, per author; nothing was written."""

    chat: str
    entries: int = 0
    malformed: int = 0
    service: int = 0
    authors: list[AuthorPreview] = field(default_factory=list)
    malformed_examples: list[str] = field(default_factory=list)

    @property
    def kept(self) -> int:
        """Messages the import would keep."""
        return sum(author.kept for author in self.authors)

    @property
    def not_kept(self) -> int:
        """Messages the import would not keep."""
        return sum(author.not_kept for author in self.authors)

    def to_json(self) -> dict[str, object]:
        """The ``--json`` form."""
        return {
            "dry_run": True,
            "chat": self.chat,
            "entries": self.entries,
            "would_keep": self.kept,
            "would_not_keep": self.not_kept,
            "malformed": self.malformed,
            "service": self.service,
            "malformed_examples": self.malformed_examples,
            "authors": [author.to_json() for author in self.authors],
        }


def archive_if_any(url: str) -> Archive | None:
    """The archive at ``url`` for a dry run, or ``None`` when there is none yet (no SQLite
    file, or an empty database): a dry run creates nothing. An archive at an older schema is
    refused as for every read-only command."""
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None
    db = Database(url)
    try:
        empty = current_revision(db) is None
    finally:
        db.close()
    return None if empty else open_archive(url, migrate=False)


def dry_run(
    archive: Archive | None,
    community_id: str,
    reader: Reader,
    *,
    keep_emoji: str,
    timezone: str,
    roster: Path | None = None,
) -> DryRunReport:
    """Read the whole file and decide every message as :func:`run_import` would, with the
    roster's forms taken as recorded — writing nothing, not even the roster. ``archive``
    ``None``: no archive yet, so only the roster's consent counts. (What ``forget`` erased
    and what the archive keeps already are not looked at: the figures are what the consent
    allows.)"""
    platform = reader.platform
    levels: dict[str, tuple[str, str]] = {}  # user id → (level, where from)
    if archive is not None:
        with archive.db.read() as session:
            for user_id, known in people.consent_map(session, community_id, platform).items():
                levels[user_id] = (known.level, "archive")
    forms: list[RosterEntry] = read_roster(roster, timezone=timezone) if roster else []
    for form in forms:
        if form.account.platform == platform:
            levels[form.account.user_id] = (form.level.value, "roster")
    keep = keep_reactions(platform, keep_emoji)
    report = DryRunReport(chat=reader.chat.name)
    authors: dict[str, AuthorPreview] = {}
    for entry in reader.entries():
        report.entries += 1
        if isinstance(entry, MalformedEntry):
            if not entry.unsupported:
                report.malformed += 1
                if len(report.malformed_examples) < 5:
                    report.malformed_examples.append(f"entry #{entry.index}: {entry.reason}")
            continue
        author_id = entry.author_id or ""
        preview = authors.get(author_id)
        if preview is None:
            level, where = levels.get(author_id, (Level.UNKNOWN.value, "none"))
            account = f"{platform}:{author_id}" if author_id else ""
            preview = authors[author_id] = AuthorPreview(account, None, level, where)
        if entry.author_name:
            preview.name = entry.author_name
        tagged = any(bare(reaction.emoji) in keep for reaction in entry.reactions)
        if author_id and keeps_on_import(Level(preview.consent), tagged=tagged):
            preview.kept += 1
        else:
            preview.not_kept += 1
    report.service = reader.service_count
    report.authors = sorted(authors.values(), key=lambda a: (-a.kept, -a.not_kept, a.account))
    return report


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
        self.platform = "telegram"
        self.source = "import:telegram"
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
        batch.skipped = already
        community_id, space_id, now = self.community_id, self.space_id, datetime.now(UTC)
        source = self.source
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
                source,
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
            if batch.versions:
                imports.insert_versions(session, self.space_id, self._versions(batch))
            tags = self._write_tags(session, batch.taggers, new_taggers)
            imports.set_display_names(session, names)
        self.known.update(new_taggers)
        self.stored_names.update(names)
        self.report.kept += inserted
        self.report.forgotten += batch.forgotten
        self.report.already += len(batch.messages) - inserted - batch.forgotten
        self.report.tags += tags

    def _versions(self, batch: Batch) -> list[tuple[str, str, datetime, datetime]]:
        """The earlier texts of the batch's edited messages, (platform id, text, valid from,
        replaced at): those of messages ``forget`` erased are left out with them."""
        skipped = batch.skipped
        return [
            (platform_id, text, valid_from, replaced_at)
            for platform_id, versions in batch.versions.items()
            if platform_id not in skipped
            for text, valid_from, replaced_at in versions
        ]

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
                    person = people.ensure_person(
                        session, self.community_id, self.platform, user_id
                    )
                    assert person.id is not None
                    tagger = KnownAccount(person.id, Level.UNKNOWN.value, "anonymous", None)
                    new_taggers[user_id] = tagger
                rows.append(self._tag(platform_id, tagger.person_id, now))
        return imports.insert_tags(session, rows)

    def _tag(self, platform_id: str, tagger_id: int | None, now: datetime) -> tuple[object, ...]:
        # in storage.imports.TAG_COLUMNS order
        return (self.community_id, self.space_id, platform_id, tagger_id, None, "import", now)
