"""Preservation: tags, stories, and held messages waiting for their author's answer.

A tag is someone's wish to keep a message. What happens depends on the author's consent:

========  =====================================================================
author    on a tag
========  =====================================================================
all       kept (it usually is already); the tag is recorded
tagged    kept under their ``tagged`` ledger entry; the tag is recorded
unknown   held apart (never searched or shown) until they answer, at most
          ``hold_hours``; the bot asks them. Tagging your own message (held or
          not yet) is a yes to keeping it.
none      refused politely; nothing is stored
========  =====================================================================

``unkeep`` removes the caller's tag; a message that was kept only because it was tagged (its
author chose ``tagged``, or said yes to that one message) leaves the archive with its last tag,
one kept under its author's ``all`` stays, and a held copy with no tags left is destroyed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlmodel import Session

from archiver.archive import Archive
from archiver.community import space_for
from archiver.consent import Method, release_held
from archiver.consent_policy import Level, OnTag, on_tag, survives_unkeep
from archiver.errors import NotFoundError, NotYourPromptError
from archiver.events import AccountRef, ChatRef, MessageEvent, TagEvent
from archiver.media_files import remove_unused_files
from storage import communities, people
from storage import messages as message_store
from storage import policy as policy_store
from storage.erase import erase_held, erase_messages, merge_search_index, purge_residue
from storage.models import ConsentEvent, HeldMessage, Message, Tag


class TagOutcome(StrEnum):
    """What a tag did."""

    KEPT = "kept"  # the message is in the archive with this tag
    ALREADY = "already"  # this person had tagged it before
    HELD = "held"  # held; ask the author now
    WAITING = "waiting"  # already held and asked; the tag is added
    REFUSED = "refused"  # the author said none
    UNAVAILABLE = "unavailable"  # the platform did not give us the message's content


@dataclass(frozen=True, slots=True)
class TagResult:
    """The outcome, and who to ask when the message is held."""

    outcome: TagOutcome
    community_id: str
    author: AccountRef | None = None
    message_id: int | None = None
    expires_at: datetime | None = None


def tag_message(archive: Archive, event: TagEvent) -> TagResult:
    """Apply a tag (see the module docstring for what each author's consent leads to)."""
    now = datetime.now(UTC)
    with archive.db.write() as session:
        space = space_for(session, event.chat)
        assert space.id is not None
        community = communities.get_community(session, space.community_id)
        assert community is not None
        tagger = people.ensure_person(
            session, space.community_id, event.tagger.platform, event.tagger.user_id
        )

        def add_tag() -> bool:
            # The story is made with the first tag filed into it, never for a refused tag.
            story_id = None
            if event.story and event.story.strip():
                story_id = message_store.ensure_story(
                    session, space.community_id, event.story.strip(), tagger.id
                ).id
            _tag, new = message_store.add_tag(
                session,
                Tag(
                    community_id=space.community_id,
                    space_id=space.id,  # type: ignore[arg-type]
                    platform_message_id=event.message_id,
                    tagger_id=tagger.id,
                    story_id=story_id,
                    method=event.method.value,
                    created_at=now,
                ),
            )
            return new

        kept = message_store.get_message(session, space.id, event.message_id)
        if kept is not None:
            outcome = TagOutcome.KEPT if add_tag() else TagOutcome.ALREADY
            return TagResult(outcome, space.community_id, message_id=kept.id)
        held = message_store.get_held(session, space.id, event.message_id)
        if held is not None and held.author_id == tagger.id:
            # The author tags their own held message: that is their yes to keeping it.
            assert tagger.id is not None
            answer = _record_message_answer(
                session,
                space.community_id,
                tagger.id,
                space.id,
                event.message_id,
                True,
                actor=event.tagger,
                method=Method.COMMAND,
                at=now,
            )
            assert answer.id is not None
            released = release_held(session, archive.segmenter, held, consent_event_id=answer.id)
            add_tag()
            return TagResult(
                TagOutcome.KEPT,
                space.community_id,
                message_id=released.id if released is not None else None,
            )
        if held is not None:
            add_tag()
            return TagResult(TagOutcome.WAITING, space.community_id, expires_at=held.expires_at)
        target = event.target
        if target is None:
            return TagResult(TagOutcome.UNAVAILABLE, space.community_id)
        author = people.ensure_person(
            session, space.community_id, target.author.platform, target.author.user_id
        )
        assert author.id is not None
        consent = people.get_consent(session, author.id)
        level = Level(consent.level)
        decision = on_tag(level, by_author=target.author == event.tagger)
        if decision is OnTag.REFUSE:
            return TagResult(TagOutcome.REFUSED, space.community_id, author=target.author)
        if decision is OnTag.KEEP_AS_OWN_YES:
            # Tagging your own message is a yes to keeping that message.
            consent_event = _record_message_answer(
                session,
                space.community_id,
                author.id,
                space.id,
                event.message_id,
                True,
                actor=event.tagger,
                method=Method.COMMAND,
                at=now,
            )
            consent_id: int | None = consent_event.id
        elif decision is OnTag.KEEP:
            consent_id = consent.level_event_id
            if target.author_name and author.display_name != target.author_name:
                author.display_name = target.author_name
                session.add(author)
        else:
            # The community's decision (archiver.policy) over the config's hold time.
            decided = policy_store.latest(session, community.id).get("hold_hours")
            hours = int(decided.value) if decided is not None else community.hold_hours
            expires = now + timedelta(hours=hours)
            message_store.add_held(
                session,
                HeldMessage(
                    community_id=space.community_id,
                    space_id=space.id,
                    platform_message_id=event.message_id,
                    author_id=author.id,
                    sent_at=target.sent_at,
                    text=target.text,
                    reply_to=target.reply_to,
                    media_kind=target.media_kind,
                    held_at=now,
                    expires_at=expires,
                ),
            )
            add_tag()
            return TagResult(
                TagOutcome.HELD, space.community_id, author=target.author, expires_at=expires
            )
        assert consent_id is not None
        stored = _keep(
            session, archive, space.community_id, space.id, author.id, consent_id, target, now
        )
        add_tag()
        return TagResult(TagOutcome.KEPT, space.community_id, message_id=stored)


def _keep(
    session: Session,
    archive: Archive,
    community_id: str,
    space_id: int,
    author_id: int,
    consent_event_id: int,
    target: MessageEvent,
    now: datetime,
) -> int | None:
    stored = message_store.add_message(
        session,
        Message(
            community_id=community_id,
            space_id=space_id,
            platform_message_id=target.message_id,
            author_id=author_id,
            consent_event_id=consent_event_id,
            sent_at=target.sent_at,
            text=target.text,
            tokens=archive.segmenter.index_tokens(target.text),
            reply_to=target.reply_to,
            media_kind=target.media_kind,
            source="live",
            kept_at=now,
        ),
    )
    return stored.id if stored is not None else None


def _record_message_answer(
    session: Session,
    community_id: str,
    person_id: int,
    space_id: int,
    platform_message_id: str,
    yes: bool,
    *,
    actor: AccountRef,
    method: Method,
    at: datetime,
) -> ConsentEvent:
    return people.append_ledger(
        session,
        ConsentEvent(
            community_id=community_id,
            person_id=person_id,
            field="message",
            old_value=None,
            new_value="yes" if yes else "no",
            method=method.value,
            actor=actor.key,
            space_id=space_id,
            platform_message_id=platform_message_id,
            at=at,
        ),
    )


def answer_keep_prompt(
    archive: Archive,
    chat: ChatRef,
    message_id: str,
    yes: bool,
    *,
    actor: AccountRef,
    method: Method,
) -> bool:
    """The author's answer to "may we keep this message?". Only the author may answer:
    anyone else raises ``NotYourPromptError`` and nothing changes. Returns True when the
    message was released into the archive, False when its held copy was destroyed."""
    now = datetime.now(UTC)
    with archive.db.write() as session:
        space = space_for(session, chat)
        assert space.id is not None
        held = message_store.get_held(session, space.id, message_id)
        if held is None:
            raise NotFoundError("that message is no longer waiting for an answer")
        person = people.find_person(session, space.community_id, actor.platform, actor.user_id)
        if person is None or person.id != held.author_id:
            raise NotYourPromptError("the message's author", actor.key)
        event = _record_message_answer(
            session,
            space.community_id,
            held.author_id,
            space.id,
            message_id,
            yes,
            actor=actor,
            method=method,
            at=now,
        )
        if yes:
            assert event.id is not None
            release_held(session, archive.segmenter, held, consent_event_id=event.id)
            return True
        assert held.id is not None
        erase_held(session, [held.id])
    purge_residue(archive.db)
    remove_unused_files(archive)
    return False


def unkeep(archive: Archive, chat: ChatRef, message_id: str, *, tagger: AccountRef) -> bool:
    """Remove the caller's tag from a message; returns False if they had none."""
    erased = False
    with archive.db.write() as session:
        space = space_for(session, chat)
        assert space.id is not None
        person = people.find_person(session, space.community_id, tagger.platform, tagger.user_id)
        if person is None or person.id is None:
            return False
        tag = message_store.find_tag(session, space.id, message_id, person.id)
        if tag is None:
            return False
        message_store.delete_tag(session, tag)
        if message_store.tags_on(session, space.id, message_id):
            return True
        held = message_store.get_held(session, space.id, message_id)
        if held is not None and held.id is not None:
            erase_held(session, [held.id])
            erased = True
        kept = message_store.get_message(session, space.id, message_id)
        if kept is not None and kept.id is not None and not _kept_under_all(session, kept):
            erase_messages(session, [kept.id])
            erased = True
        if erased:
            merge_search_index(session)
    if erased:
        purge_residue(archive.db)
        remove_unused_files(archive)
    return True


def _kept_under_all(session: Session, message: Message) -> bool:
    """True when the message would be kept without any tag (``survives_unkeep``): its
    author's level is ``all`` now, or it was kept under their ``all``."""
    entry = session.get(ConsentEvent, message.consent_event_id)
    return survives_unkeep(
        Level(people.get_consent(session, message.author_id).level),
        kept_under_all=entry is not None
        and entry.field == "level"
        and entry.new_value == Level.ALL.value,
    )


def purge_expired(archive: Archive, now: datetime | None = None) -> int:
    """Destroy held copies whose wait has run out (the author never answered).

    On SQLite the WAL is checkpointed and truncated every time, even with nothing expired: an
    earlier erasure (in the bot or a CLI command) whose checkpoint a reader kept busy leaves
    its old bytes in the WAL until one gets through."""
    moment = now or datetime.now(UTC)
    with archive.db.write() as session:
        expired = [h.id for h in message_store.expired_held(session, moment) if h.id is not None]
        count = erase_held(session, expired)
    if count or archive.db.is_sqlite:
        purge_residue(archive.db)
    if count:
        remove_unused_files(archive)
    return count


@dataclass(frozen=True, slots=True)
class StorySummary:
    """A story and how many kept messages it holds."""

    name: str
    messages: int


def list_stories(archive: Archive, community_id: str) -> list[StorySummary]:
    """The community's stories, by name."""
    with archive.db.read() as session:
        return [
            StorySummary(story.name, count)
            for story, count in message_store.list_stories(session, community_id)
        ]
