"""``forget``: erasing everything a person contributed, or one message.

Erasure removes the rows (messages, versions, held copies, tags), their full-text entries, and
then the residue (see ``storage.erase``). The ledger keeps an ``erasure`` entry that holds no
content — only that it happened, so the person's consent history stays complete.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session

from archiver.archive import Archive
from archiver.community import space_for
from archiver.consent import Actor
from archiver.errors import ConsentError, NotFoundError, NotYourPromptError
from archiver.events import AccountRef, ChatRef
from archiver.media_files import remove_unused_files
from storage import messages as message_store
from storage import people
from storage.erase import (
    erase_contributions,
    erase_held,
    erase_messages,
    merge_search_index,
    purge_residue,
)
from storage.models import ConsentEvent


@dataclass(frozen=True, slots=True)
class ForgetReport:
    """How much was erased."""

    messages: int
    held: int
    tags: int

    @property
    def total(self) -> int:
        """Everything erased, all kinds together."""
        return self.messages + self.held + self.tags


def forget_person(
    archive: Archive, community_id: str, subject: AccountRef, *, actor: Actor
) -> ForgetReport:
    """Erase everything ``subject`` contributed to the community.

    Only the person themself may ask, or a steward acting on their request (the CLI). Their
    consent choice stays as it is (so a ``none`` is still remembered); the reply tells them
    how to change it.
    """
    _check_actor(actor)
    if actor.account is not None and actor.account != subject:
        raise NotYourPromptError(subject.key, actor.label)
    with archive.db.write() as session:
        person = people.find_person(session, community_id, subject.platform, subject.user_id)
        if person is None or person.id is None:
            raise NotFoundError(f"the archive of {community_id!r} holds nothing of {subject.key}")
        messages, held, tags = erase_contributions(session, person.id)
        _record_erasure(session, community_id, person.id, actor, what="all")
        merge_search_index(session)
    purge_residue(archive.db)
    remove_unused_files(archive)
    return ForgetReport(messages, held, tags)


def forget_message(
    archive: Archive, chat: ChatRef, message_id: str, *, actor: Actor
) -> ForgetReport:
    """Erase one message (kept or held). Only its author may ask (or a steward)."""
    _check_actor(actor)
    with archive.db.write() as session:
        space = space_for(session, chat)
        assert space.id is not None
        kept = message_store.get_message(session, space.id, message_id)
        held = message_store.get_held(session, space.id, message_id)
        found = kept or held
        if found is None:
            raise NotFoundError("that message is not in the archive")
        if actor.account is not None:
            author = people.find_person(
                session, space.community_id, actor.account.platform, actor.account.user_id
            )
            if author is None or author.id != found.author_id:
                raise ConsentError("only the author of a message can make the archive forget it")
        report = _erase_one(session, space.id, message_id)
        _record_erasure(
            session,
            space.community_id,
            found.author_id,
            actor,
            what="message",
            space_id=space.id,
            platform_message_id=message_id,
        )
        merge_search_index(session)
    purge_residue(archive.db)
    remove_unused_files(archive)
    return report


def forget_message_by_platform(archive: Archive, chat: ChatRef, message_id: str) -> bool:
    """The platform deleted (redacted) a message: erase our copy, whoever did it there.
    Returns False when we held nothing of it."""
    with archive.db.write() as session:
        space = space_for(session, chat)
        assert space.id is not None
        kept = message_store.get_message(session, space.id, message_id)
        held = message_store.get_held(session, space.id, message_id)
        found = kept or held
        if found is None:
            return False
        _erase_one(session, space.id, message_id)
        _record_erasure(
            session,
            space.community_id,
            found.author_id,
            Actor(steward="platform"),
            what="message",
            space_id=space.id,
            platform_message_id=message_id,
        )
        merge_search_index(session)
    purge_residue(archive.db)
    remove_unused_files(archive)
    return True


def _check_actor(actor: Actor) -> None:
    """A forget comes from an account (checked against the subject) or a named steward."""
    if actor.account is None and not actor.steward:
        raise ConsentError("a forget comes from the person's own account or a named steward")


def _erase_one(session: Session, space_id: int, message_id: str) -> ForgetReport:
    kept = message_store.get_message(session, space_id, message_id)
    held = message_store.get_held(session, space_id, message_id)
    tags = len(message_store.tags_on(session, space_id, message_id))
    messages = erase_messages(session, [kept.id]) if kept and kept.id is not None else 0
    held_count = erase_held(session, [held.id]) if held and held.id is not None else 0
    return ForgetReport(messages, held_count, tags)


def _record_erasure(
    session: Session,
    community_id: str,
    person_id: int,
    actor: Actor,
    *,
    what: str,
    space_id: int | None = None,
    platform_message_id: str | None = None,
) -> None:
    people.append_ledger(
        session,
        ConsentEvent(
            community_id=community_id,
            person_id=person_id,
            field="erasure",
            old_value=None,
            new_value=what,
            method="command" if actor.account is not None else "steward",
            actor=actor.label,
            recorded_by=actor.steward,
            evidence=actor.evidence,
            space_id=space_id,
            platform_message_id=platform_message_id,
            at=datetime.now(UTC),
        ),
    )
