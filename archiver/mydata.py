"""``mydata``: everything the archive holds about one person, for them to see."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from archiver.archive import Archive
from archiver.consent import Attribution, Level
from archiver.events import AccountRef
from storage import media as media_store
from storage import messages as message_store
from storage import people
from storage import stewards as steward_store
from storage.dump import as_utc


@dataclass(frozen=True, slots=True)
class LedgerLine:
    """One consent change as the person sees it."""

    at: str
    field: str
    old: str | None
    new: str
    method: str


@dataclass(frozen=True, slots=True)
class PersonData:
    """What the archive holds about a person in one community."""

    account: AccountRef
    known: bool
    level: Level = Level.UNKNOWN
    attribution: Attribution = Attribution.ANONYMOUS
    display_name: str | None = None
    accounts: tuple[str, ...] = ()
    messages: int = 0
    versions: int = 0
    held: int = 0
    files: int = 0  # photos, voice and files kept or held with their messages
    tags_made: int = 0
    ledger: tuple[LedgerLine, ...] = field(default_factory=tuple)
    # Since when they are a steward of the community (UTC); None if they are not one.
    steward_since: datetime | None = None


def what_we_hold(archive: Archive, community_id: str, account: AccountRef) -> PersonData:
    """Counts and consent history for ``account`` in the community (no one else's data)."""
    with archive.db.read() as session:
        person = people.find_person(session, community_id, account.platform, account.user_id)
        if person is None or person.id is None:
            return PersonData(account=account, known=False)
        consent = people.get_consent(session, person.id)
        steward = steward_store.get_steward(session, community_id, person.id)
        kept = message_store.messages_of(session, person.id)
        versions = sum(
            len(message_store.versions_of(session, m.id)) for m in kept if m.id is not None
        )
        return PersonData(
            account=account,
            known=True,
            level=Level(consent.level),
            attribution=Attribution(consent.attribution),
            display_name=person.display_name,
            accounts=tuple(
                f"{a.platform}:{a.user_id}" for a in people.accounts_of(session, person.id)
            ),
            messages=len(kept),
            versions=versions,
            held=len(message_store.held_of(session, person.id)),
            files=media_store.count_media_of(session, person.id),
            tags_made=message_store.count_tags_by(session, person.id),
            ledger=tuple(
                LedgerLine(e.at.isoformat(), e.field, e.old_value, e.new_value, e.method)
                for e in people.ledger(session, person.id)
            ),
            steward_since=None if steward is None else as_utc(steward.since),
        )


def everyone(archive: Archive, community_id: str) -> list[people.PersonOverview]:
    """Every person the community's archive knows, for the operator (``people``): accounts,
    the name kept (only people who said yes have one), consent, kept messages."""
    with archive.db.read() as session:
        return people.people_overview(session, community_id)
