"""Live ingestion: a message, an edit or a deletion from a chat, decided and stored.

One transaction per event; idempotent on (space, platform message id), so a platform that
delivers an update twice (a restart before the offset was confirmed) changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from archiver.archive import Archive
from archiver.community import space_for
from archiver.consent_policy import Level, keeps_edit, keeps_live, should_ask
from archiver.events import DeleteEvent, EditEvent, MessageEvent
from archiver.forget import forget_message_by_platform
from storage import messages as message_store
from storage import people
from storage.models import Message


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What became of a message: kept (with its row id), a duplicate, or not kept — and
    whether the bot should ask the author (they never answered and were never asked)."""

    community_id: str
    kept: bool
    message_id: int | None = None
    duplicate: bool = False
    level: Level = Level.UNKNOWN
    should_ask: bool = False


def ingest_message(archive: Archive, event: MessageEvent) -> IngestResult:
    """Keep the message if its author said ``all``; otherwise store nothing at all."""
    with archive.db.write() as session:
        space = space_for(session, event.chat)
        person = people.find_person(
            session, space.community_id, event.author.platform, event.author.user_id
        )
        if person is None or person.id is None:
            return IngestResult(space.community_id, kept=False, should_ask=True)
        consent = people.get_consent(session, person.id)
        level = Level(consent.level)
        if not keeps_live(level) or consent.level_event_id is None:
            ask = should_ask(level, prompted=consent.prompted_at is not None)
            return IngestResult(space.community_id, kept=False, level=level, should_ask=ask)
        if event.author_name and person.display_name != event.author_name:
            person.display_name = event.author_name
            session.add(person)
        stored = message_store.add_message(
            session,
            Message(
                community_id=space.community_id,
                space_id=space.id,  # type: ignore[arg-type]
                platform_message_id=event.message_id,
                author_id=person.id,
                consent_event_id=consent.level_event_id,
                sent_at=event.sent_at,
                text=event.text,
                tokens=archive.segmenter.index_tokens(event.text),
                reply_to=event.reply_to,
                media_kind=event.media_kind,
                source="live",
                kept_at=datetime.now(UTC),
            ),
        )
        if stored is None:
            return IngestResult(space.community_id, kept=True, duplicate=True, level=level)
        return IngestResult(space.community_id, kept=True, message_id=stored.id, level=level)


def edit_message(archive: Archive, event: EditEvent) -> bool:
    """Apply an edit to a kept message (the old text becomes a version) or to a held copy.

    Returns False when there is nothing to update: the message is neither kept nor held, or
    its author has since said ``none`` — text written after a no is not stored, so the kept
    message stays as it was (``forget`` removes it)."""
    with archive.db.write() as session:
        space = space_for(session, event.chat)
        assert space.id is not None
        message = message_store.get_message(session, space.id, event.message_id)
        if message is not None:
            if not keeps_edit(Level(people.get_consent(session, message.author_id).level)):
                return False
            if message.text == event.text:
                return True
            message_store.replace_text(
                session,
                message,
                event.text,
                archive.segmenter.index_tokens(event.text),
                event.edited_at,
            )
            return True
        held = message_store.get_held(session, space.id, event.message_id)
        if held is not None:
            held.text = event.text
            session.add(held)
            return True
        return False


def delete_message(archive: Archive, event: DeleteEvent) -> bool:
    """A deletion or redaction on the platform: erase the message as ``forget`` would."""
    return forget_message_by_platform(archive, event.chat, event.message_id)
