"""Linked accounts: one resident, two accounts (Telegram and Matrix, or a WeChat id from an
import), one person — for consent, ``mydata``, ``forget`` and votes (one answer).

Two ways to link. The resident proves they hold both accounts: ``link`` in a private chat
with the bot from one account gives a one-time code, valid ``CODE_MINUTES``; ``link CODE``
from the other account links them. Or a steward links them from a signed paper form
(``community-memory link`` with evidence), for one community.

Linking is done in every community where either account is known (a code) or in the one named
(a paper form). Where both accounts are people already, the two become one: everything of
one moves to the other (``storage.links.merge_people``), and the person's consent is their
own latest decision — the level from whichever of the two set one last, the attribution
likewise — never a mix that neither of them chose. Each link is a ``link`` entry in the
consent ledger, with both accounts and how it was proven.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session, col

from archiver.archive import Archive
from archiver.consent import Method
from archiver.errors import CommunityMemoryError
from archiver.events import AccountRef
from storage import dump, people
from storage import links as link_store
from storage.models import ConsentEvent, Person

CODE_MINUTES = 10
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud or typed
CODE_LENGTH = 8


class LinkError(CommunityMemoryError):
    """A link that cannot be made; ``reason`` is a key of the chat's texts."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Linked:
    """What a link did."""

    first: AccountRef
    second: AccountRef
    communities: tuple[str, ...]  # where the two are now one person


def new_code(archive: Archive, account: AccountRef, *, now: datetime | None = None) -> str:
    """A one-time code for ``account`` (its earlier code, if any, no longer works)."""
    moment = now or datetime.now(UTC)
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    with archive.db.write() as session:
        link_store.drop_expired_codes(session, moment)
        link_store.save_code(
            session,
            code,
            account.platform,
            account.user_id,
            moment + timedelta(minutes=CODE_MINUTES),
        )
    return code


def link_with_code(
    archive: Archive, account: AccountRef, code: str, *, now: datetime | None = None
) -> Linked:
    """Link ``account`` with the account that asked for ``code``. Raises ``LinkError``."""
    moment = now or datetime.now(UTC)
    typed = "".join(c for c in code.upper() if c in CODE_ALPHABET)  # dashes, spaces, "。"
    with archive.db.write() as session:
        found = link_store.take_code(session, typed)
        if found is None or _utc(found.expires_at) < moment:
            raise LinkError("link_unknown_code", "no such code, or it has expired")
        first = AccountRef(found.platform, found.user_id)
        if first == account:
            raise LinkError("link_same_account", "a code links two different accounts")
        communities = sorted(
            set(link_store.communities_of_account(session, first.platform, first.user_id))
            | set(link_store.communities_of_account(session, account.platform, account.user_id))
        )
        for community_id in communities:
            _link_in(session, community_id, first, account, Method.COMMAND, first.key, None, moment)
    return Linked(first, account, tuple(communities))


def link_by_steward(
    archive: Archive,
    community_id: str,
    first: AccountRef,
    second: AccountRef,
    *,
    steward: str,
    evidence: str,
) -> Linked:
    """A steward links two accounts in one community from a signed paper form."""
    if first == second:
        raise LinkError("link_same_account", "a link joins two different accounts")
    with archive.db.write() as session:
        _link_in(
            session, community_id, first, second, Method.PAPER, steward, evidence, datetime.now(UTC)
        )
    return Linked(first, second, (community_id,))


def _link_in(
    session: Session,
    community_id: str,
    first: AccountRef,
    second: AccountRef,
    method: Method,
    actor: str,
    evidence: str | None,
    at: datetime,
) -> None:
    one = link_store.person_of_account(session, community_id, first.platform, first.user_id)
    two = link_store.person_of_account(session, community_id, second.platform, second.user_id)
    if one is not None and one == two:
        return
    if one is None and two is None:
        return
    if one is None or two is None:
        keep = one if one is not None else two
        missing = second if one is not None else first
        assert keep is not None
        dump.add_account(session, community_id, keep, missing.platform, missing.user_id)
    else:
        keep = one
        _adopt_latest_choices(session, keep, two)
        link_store.merge_people(session, keep, two)
    people.append_ledger(
        session,
        ConsentEvent(
            community_id=community_id,
            person_id=keep,
            field="link",
            old_value=None,
            new_value="linked",
            method=method.value,
            actor=actor,
            evidence=f"{first.key} + {second.key}" + (f": {evidence}" if evidence else ""),
            at=at,
        ),
    )


def _adopt_latest_choices(session: Session, keep: int, gone: int) -> None:
    """Before a merge: ``keep`` takes whichever level, attribution and public choice was
    decided last by either of the two, and a name ``gone`` has and ``keep`` lacks."""
    mine, theirs = people.get_consent(session, keep), people.get_consent(session, gone)
    for field in ("level", "attribution"):
        if _latest(session, gone, field) > _latest(session, keep, field):
            setattr(mine, field, getattr(theirs, field))
            if field == "level":
                mine.level_event_id = theirs.level_event_id
    if _latest(session, gone, "public") > _latest(session, keep, "public"):
        people.set_public(session, keep, people.is_public(session, gone), datetime.now(UTC))
    mine.updated_at = max(_utc(mine.updated_at), _utc(theirs.updated_at))
    if mine.prompted_at is None:
        mine.prompted_at = theirs.prompted_at
    session.add(mine)
    kept, other = session.get(Person, keep), session.get(Person, gone)
    if kept is not None and other is not None and not kept.display_name and other.display_name:
        kept.display_name = other.display_name
        session.add(kept)
    session.flush()


def _latest(session: Session, person_id: int, field: str) -> datetime:
    found = session.execute(
        select(func.max(col(ConsentEvent.at))).where(
            col(ConsentEvent.person_id) == person_id, col(ConsentEvent.field) == field
        )
    ).scalar_one_or_none()
    return _utc(found) if found is not None else datetime.min.replace(tzinfo=UTC)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
