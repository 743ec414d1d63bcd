"""The policy ledger, votes and ballots: rows only (``archiver.policy`` and
``archiver.votes`` decide what they mean)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlmodel import Session, col

from storage.messages import insert_ignoring_duplicates
from storage.models import Ballot, Consent, Person, PolicyEvent, Space, Steward, Vote, VotePoll


def append_event(session: Session, event: PolicyEvent) -> PolicyEvent:
    """Add one entry to the ledger (never updated afterwards)."""
    session.add(event)
    session.flush()
    return event


def events(session: Session, community_id: str) -> list[PolicyEvent]:
    """The community's policy ledger, oldest first."""
    stmt = (
        select(PolicyEvent)
        .where(col(PolicyEvent.community_id) == community_id)
        .order_by(col(PolicyEvent.id))
    )
    return list(session.execute(stmt).scalars())


def latest(session: Session, community_id: str) -> dict[str, PolicyEvent]:
    """Policy name → its latest decision (stewards not included: they are a set)."""
    found: dict[str, PolicyEvent] = {}
    for event in events(session, community_id):
        if event.policy not in ("steward", "unsteward"):
            found[event.policy] = event
    return found


def remove_steward(session: Session, community_id: str, person_id: int) -> bool:
    """The person is no longer a steward; False when they were not one."""
    result = session.execute(
        delete(Steward).where(
            col(Steward.community_id) == community_id, col(Steward.person_id) == person_id
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def roll(session: Session, community_id: str) -> set[int]:
    """Who may vote: people at ``all`` or ``tagged``, and stewards (person ids)."""
    consenting = (
        select(col(Consent.person_id))
        .join(Person, col(Person.id) == col(Consent.person_id))
        .where(col(Person.community_id) == community_id, col(Consent.level).in_(("all", "tagged")))
    )
    stewards = select(col(Steward.person_id)).where(col(Steward.community_id) == community_id)
    return {pid for (pid,) in session.execute(consenting)} | {
        pid for (pid,) in session.execute(stewards)
    }


def add_vote(session: Session, vote: Vote) -> Vote:
    """Record a new vote (its poll ids come once the poll is sent: ``set_poll``)."""
    session.add(vote)
    session.flush()
    return vote


def add_poll(
    session: Session,
    vote_id: int,
    space_id: int,
    poll_id: str | None,
    poll_message_id: str | None,
) -> bool:
    """The platform's ids of the vote's poll in one chat (None: the chat refused it); False
    when that chat has one already (the first stays: answers to it keep counting)."""
    row = {
        "vote_id": vote_id,
        "space_id": space_id,
        "poll_id": poll_id,
        "poll_message_id": poll_message_id,
    }
    return bool(insert_ignoring_duplicates(session, VotePoll, [row]))


def vote_by_poll(session: Session, platform: str, poll_id: str) -> Vote | None:
    """The vote whose poll this is, on this platform."""
    stmt = (
        select(Vote)
        .join(VotePoll, col(VotePoll.vote_id) == col(Vote.id))
        .join(Space, col(Space.id) == col(VotePoll.space_id))
        .where(col(VotePoll.poll_id) == poll_id, col(Space.platform) == platform)
    )
    found: Vote | None = session.execute(stmt).scalars().first()
    return found


def polls_of(session: Session, vote_id: int) -> list[tuple[Space, VotePoll]]:
    """The vote's polls, each with its chat, in the order they were opened."""
    stmt = (
        select(Space, VotePoll)
        .join(VotePoll, col(VotePoll.space_id) == col(Space.id))
        .where(col(VotePoll.vote_id) == vote_id)
        .order_by(col(VotePoll.id))
    )
    return [(space, poll) for space, poll in session.execute(stmt)]


def get_vote(session: Session, vote_id: int) -> Vote | None:
    """A vote by id."""
    return session.get(Vote, vote_id)


def open_votes(session: Session, community_id: str | None = None) -> list[Vote]:
    """Votes not closed yet (of one community, or all), oldest first."""
    stmt = select(Vote).where(col(Vote.closed_at).is_(None)).order_by(col(Vote.id))
    if community_id is not None:
        stmt = stmt.where(col(Vote.community_id) == community_id)
    return list(session.execute(stmt).scalars())


def votes_of(session: Session, community_id: str) -> list[Vote]:
    """Every vote of the community, oldest first."""
    stmt = select(Vote).where(col(Vote.community_id) == community_id).order_by(col(Vote.id))
    return list(session.execute(stmt).scalars())


def set_ballot(
    session: Session, vote_id: int, person_id: int, answer: str | None, at: datetime
) -> None:
    """The person's latest answer (``None``: they took it back)."""
    inserted = insert_ignoring_duplicates(
        session, Ballot, [{"vote_id": vote_id, "person_id": person_id, "answer": answer, "at": at}]
    )
    if not inserted:
        session.execute(
            update(Ballot)
            .where(col(Ballot.vote_id) == vote_id, col(Ballot.person_id) == person_id)
            .values(answer=answer, at=at)
        )


def ballots(session: Session, vote_id: int) -> dict[int, str | None]:
    """Person id → latest answer, for one vote."""
    stmt = select(col(Ballot.person_id), col(Ballot.answer)).where(col(Ballot.vote_id) == vote_id)
    return {pid: answer for pid, answer in session.execute(stmt)}


def close_vote(
    session: Session, vote_id: int, *, result: str, yes: int, no: int, at: datetime
) -> bool:
    """Close an open vote; False when it was closed already (closing is done once)."""
    done = session.execute(
        update(Vote)
        .where(col(Vote.id) == vote_id, col(Vote.closed_at).is_(None))
        .values(closed_at=at, result=result, yes=yes, no=no)
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]


def erase_ballots(session: Session, person_id: int) -> int:
    """A forgotten person's answers, in every vote (a closed vote keeps only its counts)."""
    result = session.execute(delete(Ballot).where(col(Ballot.person_id) == person_id))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
