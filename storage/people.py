"""People, their platform accounts, their current consent and the consent ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from storage.models import Account, Consent, ConsentEvent, Message, Person, PublicChoice


@dataclass(frozen=True, slots=True)
class KnownAccount:
    """One row of the consent map an importer works from."""

    person_id: int
    level: str
    attribution: str
    level_event_id: int | None


def find_person(session: Session, community_id: str, platform: str, user_id: str) -> Person | None:
    """The person behind this account in this community, if the archive knows them."""
    return session.exec(
        select(Person)
        .join(Account, col(Account.person_id) == col(Person.id))
        .where(
            Account.community_id == community_id,
            Account.platform == platform,
            Account.user_id == user_id,
        )
    ).first()


def ensure_person(session: Session, community_id: str, platform: str, user_id: str) -> Person:
    """The person behind this account, created (with consent ``unknown``) if new.

    A new person holds only the account id: no name until they say yes.
    """
    person = find_person(session, community_id, platform, user_id)
    if person is not None:
        return person
    now = datetime.now(UTC)
    person = Person(community_id=community_id, created_at=now)
    session.add(person)
    session.flush()
    assert person.id is not None
    session.add(
        Account(community_id=community_id, person_id=person.id, platform=platform, user_id=user_id)
    )
    session.add(Consent(person_id=person.id, updated_at=now))
    session.flush()
    return person


def get_consent(session: Session, person_id: int) -> Consent:
    """The person's current consent row (every person has one)."""
    consent = session.get(Consent, person_id)
    assert consent is not None, f"person {person_id} has no consent row"
    return consent


def accounts_of(session: Session, person_id: int) -> list[Account]:
    """The person's platform accounts."""
    return list(
        session.exec(
            select(Account).where(Account.person_id == person_id).order_by(col(Account.id))
        )
    )


def append_ledger(session: Session, event: ConsentEvent) -> ConsentEvent:
    """Append one consent change to the ledger (never updated afterwards)."""
    session.add(event)
    session.flush()
    return event


def ledger(session: Session, person_id: int) -> list[ConsentEvent]:
    """The person's consent history, oldest first."""
    return list(
        session.exec(
            select(ConsentEvent)
            .where(ConsentEvent.person_id == person_id)
            .order_by(col(ConsentEvent.id))
        )
    )


def community_ledger(session: Session, community_id: str) -> list[ConsentEvent]:
    """Every consent change in the community, oldest first (for export)."""
    return list(
        session.exec(
            select(ConsentEvent)
            .where(ConsentEvent.community_id == community_id)
            .order_by(col(ConsentEvent.id))
        )
    )


def list_people(session: Session, community_id: str) -> list[tuple[Person, Consent]]:
    """Every person of the community with their current consent, by id."""
    rows = session.exec(
        select(Person, Consent)
        .join(Consent, col(Consent.person_id) == col(Person.id))
        .where(Person.community_id == community_id)
        .order_by(col(Person.id))
    )
    return [(person, consent) for person, consent in rows]


def list_accounts(session: Session, community_id: str) -> list[Account]:
    """Every account in the community, by id."""
    return list(
        session.exec(
            select(Account).where(Account.community_id == community_id).order_by(col(Account.id))
        )
    )


def consent_map(session: Session, community_id: str, platform: str) -> dict[str, KnownAccount]:
    """``user_id → (person, level, attribution, ledger entry)`` for every account of a
    platform in the community: one query, so an import decides per message without I/O."""
    rows = session.execute(
        sa_select(
            col(Account.user_id),
            col(Consent.person_id),
            col(Consent.level),
            col(Consent.attribution),
            col(Consent.level_event_id),
        )
        .join(Consent, col(Consent.person_id) == col(Account.person_id))
        .where(col(Account.community_id) == community_id, col(Account.platform) == platform)
    )
    return {
        user_id: KnownAccount(person_id, level, attribution, event_id)
        for user_id, person_id, level, attribution, event_id in rows
    }


def communities_of(session: Session, platform: str, user_id: str) -> list[str]:
    """The communities in which this platform account is known, by id."""
    return list(
        session.exec(
            select(Account.community_id)
            .where(Account.platform == platform, Account.user_id == user_id)
            .order_by(col(Account.community_id))
        )
    )


@dataclass(frozen=True, slots=True)
class PersonOverview:
    """One person of a community as the operator's ``people`` list shows them."""

    person_id: int
    accounts: tuple[str, ...]  # "platform:user_id"
    display_name: str | None  # stored only while they say yes
    level: str
    attribution: str
    messages: int


def people_overview(session: Session, community_id: str) -> list[PersonOverview]:
    """Everyone the community's archive knows: accounts, stored name, consent, how many
    messages are kept. Four queries, whatever the number of people."""
    accounts: dict[int, list[str]] = {}
    for person_id, platform, user_id in session.execute(
        sa_select(col(Account.person_id), col(Account.platform), col(Account.user_id))
        .where(col(Account.community_id) == community_id)
        .order_by(col(Account.id))
    ):
        accounts.setdefault(person_id, []).append(f"{platform}:{user_id}")
    counts = dict(
        session.execute(
            sa_select(col(Message.author_id), func.count())
            .where(col(Message.community_id) == community_id)
            .group_by(col(Message.author_id))
        ).all()
    )
    found = []
    for person_id, name, level, attribution in session.execute(
        sa_select(
            col(Person.id), col(Person.display_name), col(Consent.level), col(Consent.attribution)
        )
        .join(Consent, col(Consent.person_id) == col(Person.id))
        .where(col(Person.community_id) == community_id)
        .order_by(col(Person.id))
    ):
        found.append(
            PersonOverview(
                person_id,
                tuple(accounts.get(person_id, ())),
                name,
                level,
                attribution,
                int(counts.get(person_id, 0)),
            )
        )
    return found


def is_public(session: Session, person_id: int) -> bool:
    """Whether the person chose ``consent public``."""
    return session.get(PublicChoice, person_id) is not None


def set_public(session: Session, person_id: int, public: bool, at: datetime) -> None:
    """Record the person's own public choice (the ledger entry is the caller's)."""
    found = session.get(PublicChoice, person_id)
    if public and found is None:
        session.add(PublicChoice(person_id=person_id, since=at))
    elif not public and found is not None:
        session.delete(found)
    session.flush()


def public_people(session: Session, community_id: str) -> set[int]:
    """The community's people who chose ``consent public``."""
    stmt = (
        select(PublicChoice.person_id)
        .join(Person, col(Person.id) == col(PublicChoice.person_id))
        .where(Person.community_id == community_id)
    )
    return set(session.exec(stmt))
