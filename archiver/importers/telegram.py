"""``import telegram``: a Telegram Desktop export into a community's archive, consent first.

Only what the consent model allows is stored: every message of authors at ``all``; messages of
authors at ``tagged`` that carry the community's keep emoji among their reactions (the export
shows who reacted, so those become tags); nothing of anyone else — not even their name.
Consent comes from the archive (people who answered in the chat) and from an optional roster
of paper forms, recorded first in the ledger.

The fast path: everything is checked before anything is written (file, roster, chat); consent
is decided in memory from one query; then messages go in batches, one transaction per batch,
so a crash keeps every finished batch and a rerun skips what is there (``already``):

1. the main thread parses entries, decides them, and for each full batch asks which messages
   the chat already keeps and cuts the words of the others (a rerun cuts nothing);
2. a writer thread writes the batch — bulk inserts through ``storage.imports``, no ORM
   object or SQLAlchemy type processing per row — while the main thread prepares the next
   one. SQLite updates its B-trees and FTS5 index without holding the GIL and PostgreSQL
   works in its own process, so that work overlaps with parsing and word cutting. At most
   one batch is in flight, batches commit in order, and an error in one stops the import
   before the next is written.

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
from archiver.consent import Level
from archiver.errors import CommunityMemoryError, UnknownCommunityError
from archiver.importers.roster import apply_roster, read_roster
from archiver.importers.telegram_export import (
    ExportedMessage,
    MalformedEntry,
    TelegramExport,
    open_export,
)
from storage import communities, imports, people
from storage.people import KnownAccount

PLATFORM = "telegram"
SOURCE = "import:telegram"
BATCH_SIZE = 5000
MALFORMED_EXAMPLES = 5

Progress = Callable[[int], None]


@dataclass
class ImportReport:
    """What an import did; ``kept + already + not_consented + malformed == entries``."""

    entries: int = 0
    kept: int = 0
    already: int = 0
    not_consented: int = 0
    malformed: int = 0
    service: int = 0
    tags: int = 0
    consent_changes: int = 0
    malformed_examples: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        """The ``--json`` form."""
        return {
            "entries": self.entries,
            "kept": self.kept,
            "already_kept": self.already,
            "not_consented": self.not_consented,
            "malformed": self.malformed,
            "service": self.service,
            "tags": self.tags,
            "consent_changes": self.consent_changes,
            "malformed_examples": self.malformed_examples,
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
    # author id → (person id, ledger entry, kept only when tagged) for those who said yes
    consenting = {
        user_id: (account.person_id, account.level_event_id, account.level == _TAGGED)
        for user_id, account in known.items()
        if account.level in _YES and account.level_event_id is not None
    }
    keep_emoji = community.keep_emoji
    writer = _Writer(archive, community_id, space_id, known, names, report, progress)
    batch = _Batch()
    pending = batch.messages
    seen = not_consented = 0
    cut_at = quiet = 4 * batch_size  # a mostly refused export still shows progress
    try:
        for entry in export.entries():
            if len(pending) >= batch_size or seen >= cut_at:
                batch.seen = seen
                writer.submit(batch)
                batch = _Batch()
                pending = batch.messages
                cut_at = seen + quiet
            seen += 1
            if isinstance(entry, MalformedEntry):
                report.malformed += 1
                if len(report.malformed_examples) < MALFORMED_EXAMPLES:
                    where = f"message {entry.id}" if entry.id else f"entry #{entry.index}"
                    report.malformed_examples.append(f"{where}: {entry.reason}")
                continue
            author = entry.author_id
            decision = consenting.get(author) if author is not None else None
            if decision is None:
                not_consented += 1
                continue
            keep = None
            if entry.reactions:
                for reaction in entry.reactions:
                    if reaction.emoji == keep_emoji:
                        keep = reaction
                        break
            if keep is not None:
                batch.taggers[entry.id] = keep.from_ids
            elif decision[2]:  # an untagged message of someone who said `tagged`
                not_consented += 1
                continue
            pending.append((entry, decision[0], decision[1]))
            if entry.author_name:
                batch.names[decision[0]] = entry.author_name
        batch.seen = seen
        writer.submit(batch)
        writer.finish()
    finally:
        writer.close()
        report.entries, report.not_consented = seen, not_consented
        report.service = export.service_count
    return export, report


_TAGGED = Level.TAGGED.value
_YES = (Level.ALL.value, _TAGGED)


@dataclass(slots=True)
class _Batch:
    """Messages the consent model keeps, not yet written, with their tags and names."""

    messages: list[tuple[ExportedMessage, int, int]] = field(default_factory=list)
    """(message, author's person id, the ledger entry that allows keeping it)"""
    taggers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """platform message id → who put the keep emoji on it (``()``: the export does not say)"""
    names: dict[int, str] = field(default_factory=dict)
    """person id → their latest display name in the batch"""
    seen: int = 0
    """entries read when the batch was cut (for ``progress``)"""
    rows: list[tuple[object, ...]] = field(default_factory=list)
    """the messages the chat does not keep yet, as rows for ``storage.imports``"""


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

    def submit(self, batch: _Batch) -> None:
        """Prepare the batch, wait for the one in flight, then start writing this one."""
        if batch.messages:
            self._prepare(batch)
        self.finish()
        if not batch.messages:  # nothing to write: its entries are done
            self._committed(batch.seen)
        elif self._pool is None:
            self._write(batch)
            self._committed(batch.seen)
        else:
            self._inflight = (self._pool.submit(self._write, batch), batch.seen)

    def finish(self) -> None:
        """Wait until the batch in flight is committed (raising its error, if any)."""
        if self._inflight is not None:
            future, seen = self._inflight
            self._inflight = None
            future.result()
            self._committed(seen)

    def close(self) -> None:
        """Let the batch in flight end (commit or roll back) and stop the thread."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def _committed(self, seen: int) -> None:
        if self.progress is not None:
            self.progress(seen)

    def _prepare(self, batch: _Batch) -> None:
        """Skip what the chat already keeps; cut the words of the rest (outside any write
        transaction, so live writers are not kept waiting)."""
        with self.archive.db.read() as session:
            already = imports.kept_ids(
                session, self.space_id, [entry.id for entry, _, _ in batch.messages]
            )
        cut = self.archive.segmenter.index_tokens
        community_id, space_id, now = self.community_id, self.space_id, datetime.now(UTC)
        batch.rows = [
            (  # in storage.imports.MESSAGE_COLUMNS order
                community_id,
                space_id,
                entry.id,
                person_id,
                event_id,
                entry.sent_at,
                entry.edited_at,
                entry.text,
                cut(entry.text),
                entry.reply_to,
                entry.media_kind,
                SOURCE,
                now,
            )
            for entry, person_id, event_id in batch.messages
            if entry.id not in already
        ]

    def _write(self, batch: _Batch) -> None:
        """One transaction: the new messages, their tags, changed display names."""
        names = {
            pid: name for pid, name in batch.names.items() if self.stored_names.get(pid) != name
        }
        new_taggers: dict[str, KnownAccount] = {}
        with self.archive.db.write() as session:
            inserted = imports.insert_messages(session, batch.rows)
            tags = self._write_tags(session, batch.taggers, new_taggers)
            imports.set_display_names(session, names)
        self.known.update(new_taggers)
        self.stored_names.update(names)
        self.report.kept += inserted
        self.report.already += len(batch.messages) - inserted
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
