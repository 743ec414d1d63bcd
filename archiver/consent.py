"""The consent engine (DESIGN.md, "Consent model").

Per person per community: a level (``unknown`` until they answer, then ``all``, ``tagged`` or
``none``) and an attribution (``named`` or ``anonymous``). Only the person themself changes
them — or a steward recording a signed paper form, with the evidence noted. Every change is
appended to the ledger; a kept message points to the ledger entry that allowed keeping it.

Decisions this module makes (docs/consent.md explains them to operators):

- A new "yes" is anonymous until the person chooses ``named``: showing a name is a second
  choice, not implied by the first.
- Saying ``none`` later stops keeping from then on and destroys held copies; what was kept
  under an earlier yes stays until the person uses ``forget``.
- A display name is stored only while the person's level is ``all`` or ``tagged``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlmodel import Session

from archiver.archive import Archive
from archiver.consent_policy import Attribution as Attribution
from archiver.consent_policy import Level as Level
from archiver.consent_policy import keeps_name, shown_name
from archiver.errors import ConsentError, NotYourPromptError
from archiver.events import AccountRef
from archiver.media_files import remove_unused_files
from archiver.segmentation import Segmenter
from storage import messages as message_store
from storage import people
from storage.erase import erase_held, purge_residue
from storage.models import ConsentEvent, HeldMessage, Message


class Method(StrEnum):
    """How a consent change reached us (kept in the ledger)."""

    BUTTON = "button"
    COMMAND = "command"
    REACTION = "reaction"
    PAPER = "paper"
    RESTORE = "restore"  # copied from an export by `import jsonl`


@dataclass(frozen=True, slots=True)
class ConsentState:
    """A person's current consent as the bot shows it."""

    level: Level
    attribution: Attribution
    person_id: int | None  # None: the archive has never heard of this account
    prompted: bool


@dataclass(frozen=True, slots=True)
class ConsentChange:
    """What a change did: the old and new values, and what it released or destroyed."""

    person_id: int
    old: str
    new: str
    ledger_id: int | None  # None when nothing changed (same value again)
    released: int = 0
    destroyed: int = 0

    @property
    def changed(self) -> bool:
        """False when the person chose what they already had."""
        return self.ledger_id is not None


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change: the account that pressed/typed/reacted, or a steward recording a
    paper form (``steward`` names them, ``evidence`` says which form)."""

    account: AccountRef | None = None
    steward: str | None = None
    evidence: str | None = None

    @property
    def label(self) -> str:
        """How the ledger names the actor."""
        if self.account is not None:
            return self.account.key
        return f"steward:{self.steward}"


def consent_of(archive: Archive, community_id: str, account: AccountRef) -> ConsentState:
    """The account's current consent (``unknown`` for someone the archive never saw)."""
    with archive.db.read() as session:
        person = people.find_person(session, community_id, account.platform, account.user_id)
        if person is None or person.id is None:
            return ConsentState(Level.UNKNOWN, Attribution.ANONYMOUS, None, prompted=False)
        row = people.get_consent(session, person.id)
        return ConsentState(
            Level(row.level), Attribution(row.attribution), person.id, row.prompted_at is not None
        )


def shown_as(
    archive: Archive, community_id: str, account: AccountRef, name: str | None = None
) -> str | None:
    """How the bot may name this person in the chat: their name (the stored one, else
    ``name`` as the platform gave it) only when they chose ``named``; None otherwise."""
    with archive.db.read() as session:
        person = people.find_person(session, community_id, account.platform, account.user_id)
        if person is None or person.id is None:
            return None
        attribution = people.get_consent(session, person.id).attribution
        return shown_name(attribution, person.display_name or name)


def set_level(
    archive: Archive,
    community_id: str,
    subject: AccountRef,
    level: Level,
    *,
    actor: Actor,
    method: Method,
    display_name: str | None = None,
    at: datetime | None = None,
) -> ConsentChange:
    """Change a person's level, in one transaction with its ledger entry and its effects:
    a yes releases their held messages into the archive, a no destroys them (leaving no
    residue, like ``forget``)."""
    with archive.db.write() as session:
        change = apply_level(
            session,
            archive.segmenter,
            community_id,
            subject,
            level,
            actor=actor,
            method=method,
            display_name=display_name,
            at=at,
        )
    if change.destroyed:
        purge_residue(archive.db)
        remove_unused_files(archive)
    return change


def set_attribution(
    archive: Archive,
    community_id: str,
    subject: AccountRef,
    attribution: Attribution,
    *,
    actor: Actor,
    method: Method,
    display_name: str | None = None,
    at: datetime | None = None,
) -> ConsentChange:
    """Change whether the person's name is shown."""
    with archive.db.write() as session:
        return apply_attribution(
            session,
            community_id,
            subject,
            attribution,
            actor=actor,
            method=method,
            display_name=display_name,
            at=at,
        )


def _check_actor(subject: AccountRef, actor: Actor, method: Method) -> None:
    if method in (Method.PAPER, Method.RESTORE):
        if not actor.steward or (method is Method.PAPER and not actor.evidence):
            raise ConsentError(
                f"a paper consent for {subject.key} needs who recorded it and the evidence"
            )
        return
    if actor.account != subject:
        raise NotYourPromptError(subject.key, actor.label)


def apply_level(
    session: Session,
    segmenter: Segmenter,
    community_id: str,
    subject: AccountRef,
    level: Level,
    *,
    actor: Actor,
    method: Method,
    display_name: str | None = None,
    at: datetime | None = None,
) -> ConsentChange:
    """``set_level`` inside a caller's transaction (roster imports apply many at once).
    When the change ``destroyed`` held copies, the caller runs ``purge_residue`` after commit."""
    _check_actor(subject, actor, method)
    if level is Level.UNKNOWN and method is not Method.RESTORE:
        raise ConsentError("consent can be all, tagged or none; unknown is only where it starts")
    when = at or datetime.now(UTC)
    person = people.ensure_person(session, community_id, subject.platform, subject.user_id)
    assert person.id is not None
    current = people.get_consent(session, person.id)
    old = current.level
    if keeps_name(level) and display_name:
        person.display_name = display_name
    elif not keeps_name(level):
        person.display_name = None
    session.add(person)
    if old == level.value:
        return ConsentChange(person.id, old, level.value, None)
    event = _choice_entry(
        session, community_id, person.id, "level", old, level.value, actor, method, when
    )
    current.level = level.value
    current.level_event_id = event.id
    current.updated_at = when
    session.add(current)
    released = destroyed = 0
    held = message_store.held_of(session, person.id)
    if level.is_yes:
        for item in held:
            release_held(session, segmenter, item, consent_event_id=event.id)  # type: ignore[arg-type]
            released += 1
    elif held:
        destroyed = erase_held(session, [h.id for h in held if h.id is not None])
    session.flush()
    return ConsentChange(person.id, old, level.value, event.id, released, destroyed)


def apply_attribution(
    session: Session,
    community_id: str,
    subject: AccountRef,
    attribution: Attribution,
    *,
    actor: Actor,
    method: Method,
    display_name: str | None = None,
    at: datetime | None = None,
) -> ConsentChange:
    """``set_attribution`` inside a caller's transaction."""
    _check_actor(subject, actor, method)
    when = at or datetime.now(UTC)
    person = people.ensure_person(session, community_id, subject.platform, subject.user_id)
    assert person.id is not None
    current = people.get_consent(session, person.id)
    if display_name and keeps_name(Level(current.level)):
        person.display_name = display_name
        session.add(person)
    old = current.attribution
    if old == attribution.value:
        return ConsentChange(person.id, old, old, None)
    event = _choice_entry(
        session, community_id, person.id, "attribution", old, attribution.value, actor, method, when
    )
    current.attribution = attribution.value
    current.updated_at = when
    session.add(current)
    session.flush()
    return ConsentChange(person.id, old, attribution.value, event.id)


def _choice_entry(
    session: Session,
    community_id: str,
    person_id: int,
    field: str,
    old: str | None,
    new: str,
    actor: Actor,
    method: Method,
    at: datetime,
) -> ConsentEvent:
    """The consent ledger's entry for one changed choice (``level``, ``attribution``,
    ``public``), saying who made it and how."""
    return people.append_ledger(
        session,
        ConsentEvent(
            community_id=community_id,
            person_id=person_id,
            field=field,
            old_value=old,
            new_value=new,
            method=method.value,
            actor=actor.label,
            recorded_by=actor.steward,
            evidence=actor.evidence,
            at=at,
        ),
    )


def set_public(
    archive: Archive,
    community_id: str,
    subject: AccountRef,
    public: bool,
    *,
    actor: Actor,
    method: Method,
) -> ConsentChange:
    """The person's own choice to be on a public website too (``consent public``), or not
    (``consent private``) — recorded in the ledger (field ``public``). Only they make it: no
    vote, steward or operator (``_check_actor``)."""
    _check_actor(subject, actor, method)
    when = datetime.now(UTC)
    new = "public" if public else "private"
    with archive.db.write() as session:
        person = people.ensure_person(session, community_id, subject.platform, subject.user_id)
        assert person.id is not None
        old = "public" if people.is_public(session, person.id) else "private"
        if old == new:
            return ConsentChange(person.id, old, old, None)
        event = _choice_entry(
            session, community_id, person.id, "public", old, new, actor, method, when
        )
        people.set_public(session, person.id, public, when)
        return ConsentChange(person.id, old, new, event.id)


def mark_prompted(archive: Archive, community_id: str, account: AccountRef) -> bool:
    """Record that the bot asked this person unprompted; False if it already had (the bot
    asks at most once). Creates the person (account id only) if new."""
    with archive.db.write() as session:
        person = people.ensure_person(session, community_id, account.platform, account.user_id)
        assert person.id is not None
        current = people.get_consent(session, person.id)
        if current.prompted_at is not None:
            return False
        current.prompted_at = datetime.now(UTC)
        session.add(current)
        return True


def release_held(
    session: Session, segmenter: Segmenter, held: HeldMessage, *, consent_event_id: int
) -> Message | None:
    """Move a held message into the archive under the given ledger entry; tags on it stay."""
    message = Message(
        community_id=held.community_id,
        space_id=held.space_id,
        platform_message_id=held.platform_message_id,
        author_id=held.author_id,
        consent_event_id=consent_event_id,
        sent_at=held.sent_at,
        text=held.text,
        tokens=segmenter.index_tokens(held.text),
        reply_to=held.reply_to,
        media_kind=held.media_kind,
        source="live",
        kept_at=datetime.now(UTC),
    )
    session.delete(held)
    session.flush()
    return message_store.add_message(session, message)
