"""``import telegram``: a Telegram Desktop export into a community's archive, consent first.

Only what the consent model allows is stored: every message of authors at ``all``; messages of
authors at ``tagged`` that carry the community's keep emoji among their reactions (the export
shows who reacted, so those become tags); nothing of anyone else — not even their name.
Consent comes from the archive (people who answered in the chat) and from an optional roster
of paper forms, recorded first in the ledger.

The fast path: everything is checked before anything is written (file, roster, chat), then
messages go in batches of plain ``executemany`` inserts (no ORM object per row), one
transaction per batch, so a crash keeps every finished batch and a rerun skips what is there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

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
from storage import communities, people
from storage import messages as message_store
from storage.models import Message, Tag
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
    batch = _Batch(archive, community_id, space_id, community.keep_emoji, known, report)
    for entry in export.entries():
        report.entries += 1
        if isinstance(entry, MalformedEntry):
            report.malformed += 1
            if len(report.malformed_examples) < MALFORMED_EXAMPLES:
                where = f"message {entry.id}" if entry.id else f"entry #{entry.index}"
                report.malformed_examples.append(f"{where}: {entry.reason}")
            continue
        batch.add(entry)
        if len(batch) >= batch_size:
            batch.flush()
            if progress:
                progress(report.entries)
    batch.flush()
    report.service = export.service_count
    if progress:
        progress(report.entries)
    return export, report


class _Batch:
    """Messages decided but not yet written, flushed as one transaction."""

    def __init__(
        self,
        archive: Archive,
        community_id: str,
        space_id: int,
        keep_emoji: str,
        known: dict[str, KnownAccount],
        report: ImportReport,
    ) -> None:
        self.archive = archive
        self.community_id = community_id
        self.space_id = space_id
        self.keep_emoji = keep_emoji
        self.known = known
        self.report = report
        self.rows: list[dict[str, Any]] = []
        self.taggers: dict[str, list[str]] = {}  # platform message id → reactor user ids
        self.names: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, entry: ExportedMessage) -> None:
        account = self.known.get(entry.author_id) if entry.author_id else None
        if account is None or account.level_event_id is None:
            self.report.not_consented += 1
            return
        level = account.level
        keep_reactions = [r for r in entry.reactions if r.emoji == self.keep_emoji]
        if level == Level.TAGGED.value and not keep_reactions:
            self.report.not_consented += 1
            return
        if level not in (Level.ALL.value, Level.TAGGED.value):
            self.report.not_consented += 1
            return
        now = datetime.now(UTC)
        self.rows.append(
            {
                "community_id": self.community_id,
                "space_id": self.space_id,
                "platform_message_id": entry.id,
                "author_id": account.person_id,
                "consent_event_id": account.level_event_id,
                "sent_at": entry.sent_at,
                "edited_at": entry.edited_at,
                "text": entry.text,
                "tokens": self.archive.segmenter.index_tokens(entry.text),
                "reply_to": entry.reply_to,
                "media_kind": entry.media_kind,
                "source": SOURCE,
                "kept_at": now,
            }
        )
        if keep_reactions:
            self.taggers[entry.id] = [uid for r in keep_reactions for uid in r.from_ids]
        if entry.author_name:
            self.names[account.person_id] = entry.author_name

    def flush(self) -> None:
        if not self.rows:
            return
        with self.archive.db.write() as session:
            ids = [row["platform_message_id"] for row in self.rows]
            already = message_store.kept_platform_ids(session, self.space_id, ids)
            new_rows = [r for r in self.rows if r["platform_message_id"] not in already]
            message_store.insert_ignoring_duplicates(session, Message, new_rows)
            self.report.kept += len(new_rows)
            self.report.already += len(self.rows) - len(new_rows)
            self.report.tags += self._write_tags(session)
            message_store.set_display_names(session, self.names)
        self.rows.clear()
        self.taggers.clear()
        self.names.clear()

    def _write_tags(self, session: Any) -> int:
        if not self.taggers:
            return 0
        now = datetime.now(UTC)
        rows: list[dict[str, Any]] = []
        anonymous = [pid for pid, users in self.taggers.items() if not users]
        have_anonymous = message_store.anonymous_tag_ids(session, self.space_id, anonymous)
        for platform_id, users in self.taggers.items():
            if not users:
                if platform_id not in have_anonymous:
                    rows.append(self._tag(platform_id, None, now))
                continue
            for user_id in dict.fromkeys(users):
                tagger = self.known.get(user_id)
                if tagger is None:
                    person = people.ensure_person(session, self.community_id, PLATFORM, user_id)
                    assert person.id is not None
                    tagger = KnownAccount(person.id, Level.UNKNOWN.value, "anonymous", None)
                    self.known[user_id] = tagger
                rows.append(self._tag(platform_id, tagger.person_id, now))
        return message_store.insert_ignoring_duplicates(session, Tag, rows)

    def _tag(self, platform_id: str, tagger_id: int | None, now: datetime) -> dict[str, Any]:
        return {
            "community_id": self.community_id,
            "space_id": self.space_id,
            "platform_message_id": platform_id,
            "tagger_id": tagger_id,
            "story_id": None,
            "method": "import",
            "created_at": now,
        }
