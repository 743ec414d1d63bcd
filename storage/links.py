"""Linking a resident's accounts: one-time codes, and merging two person rows into one.

``merge_people`` moves everything of one person to the other in the caller's transaction:
accounts, consent ledger, kept and held messages, tags, stories, stewardship, proposals and
ballots. Rows that would then say the same thing twice (two tags by the same person on one
message, two answers in one vote) keep one: the tag that came first, the answer that came last.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, select, update
from sqlmodel import Session, col

from storage.models import (
    Account,
    Ballot,
    Consent,
    ConsentEvent,
    HeldMessage,
    LinkCode,
    Message,
    Person,
    PublicChoice,
    Steward,
    Story,
    Tag,
    Vote,
)


def save_code(session: Session, code: str, platform: str, user_id: str, expires: datetime) -> None:
    """A new code for this account (an earlier code of the same account is dropped)."""
    session.execute(
        delete(LinkCode).where(col(LinkCode.platform) == platform, col(LinkCode.user_id) == user_id)
    )
    session.add(LinkCode(code=code, platform=platform, user_id=user_id, expires_at=expires))
    session.flush()


def take_code(session: Session, code: str) -> LinkCode | None:
    """The code's row, deleted (a code works once); None when there is no such code."""
    found = session.get(LinkCode, code)
    if found is not None:
        session.delete(found)
        session.flush()
    return found


def drop_expired_codes(session: Session, now: datetime) -> None:
    """Codes whose time ran out."""
    session.execute(delete(LinkCode).where(col(LinkCode.expires_at) < now))


def merge_people(session: Session, keep: int, gone: int) -> None:
    """Everything of person ``gone`` becomes person ``keep``'s; ``gone`` is deleted."""
    for model, column in (
        (Account, "person_id"),
        (ConsentEvent, "person_id"),
        (Message, "author_id"),
        (HeldMessage, "author_id"),
        (Story, "created_by"),
        (Vote, "proposed_by"),
    ):
        table: Any = getattr(model, "__table__")  # noqa: B009  (SQLModel sets it at runtime)
        session.execute(update(table).where(table.c[column] == gone).values({column: keep}))
    _merge_tags(session, keep, gone)
    _merge_ballots(session, keep, gone)
    both = exists().where(col(Steward.person_id) == keep)
    session.execute(delete(Steward).where(col(Steward.person_id) == gone, both))
    session.execute(update(Steward).where(col(Steward.person_id) == gone).values(person_id=keep))
    # ``keep`` has taken over the latest public choice already (archiver.links).
    session.execute(delete(PublicChoice).where(col(PublicChoice.person_id) == gone))
    session.execute(delete(Consent).where(col(Consent.person_id) == gone))
    session.execute(delete(Person).where(col(Person.id) == gone))


def _merge_tags(session: Session, keep: int, gone: int) -> None:
    tag: Any = Tag.__table__  # type: ignore[attr-defined]
    other = tag.alias("other")
    twice = exists().where(
        other.c.tagger_id == keep,
        other.c.space_id == tag.c.space_id,
        other.c.platform_message_id == tag.c.platform_message_id,
    )
    session.execute(delete(tag).where(tag.c.tagger_id == gone, twice))
    session.execute(update(Tag).where(col(Tag.tagger_id) == gone).values(tagger_id=keep))


def _merge_ballots(session: Session, keep: int, gone: int) -> None:
    rows = (
        session.execute(select(Ballot).where(col(Ballot.person_id).in_((keep, gone))))
        .scalars()
        .all()
    )
    by_vote: dict[int, list[Ballot]] = {}
    for ballot in rows:
        by_vote.setdefault(ballot.vote_id, []).append(ballot)
    for ballots in by_vote.values():
        latest = max(ballots, key=lambda b: b.at)
        for ballot in ballots:
            if ballot is not latest:
                session.delete(ballot)
        session.flush()
        if latest.person_id != keep:
            latest.person_id = keep
            session.add(latest)
    session.flush()


def person_of_account(
    session: Session, community_id: str, platform: str, user_id: str
) -> int | None:
    """The person id behind an account in a community."""
    found = session.execute(
        select(col(Account.person_id)).where(
            and_(
                col(Account.community_id) == community_id,
                col(Account.platform) == platform,
                col(Account.user_id) == user_id,
            )
        )
    ).scalar_one_or_none()
    return None if found is None else int(found)


def communities_of_account(session: Session, platform: str, user_id: str) -> list[str]:
    """Every community where the archive knows this account."""
    stmt = select(col(Account.community_id)).where(
        col(Account.platform) == platform, col(Account.user_id) == user_id
    )
    return sorted({community for (community,) in session.execute(stmt)})
