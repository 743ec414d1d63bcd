"""Votes: the community deciding a policy or a steward together, on the consent roll.

A resident on the roll proposes (``propose media off``, ``propose steward`` as a reply to the
person); the bot opens the platform's own poll (yes / no) in the chat, and in every other chat
of the community (a community spanning a Telegram group and a Matrix room votes in both:
``polls_wanted``), and each answer is stored as it comes, so a restart neither loses nor
double-counts one. Who may vote: residents who said yes to keeping (``all`` or ``tagged``) and
stewards — checked when they answer and again when the vote closes; a person votes once,
whichever of their linked accounts they use, and their latest answer counts (an answer taken
back counts as none). At the deadline the vote closes: fewer voters than the quorum (a share of
the roll when it opened, and at least a minimum) changes nothing; otherwise more yes than no
passes it, and the decision goes into the policy ledger (``archiver.policy``). One open vote
per policy (per person, for stewards).

What no vote can do is in ``archiver.policy``'s docstring: policies only ever keep less than
consent allows.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from archiver.archive import Archive
from archiver.community import space_for
from archiver.errors import CommunityMemoryError
from archiver.events import AccountRef, ChatRef
from archiver.policy import POLICIES, STEWARD_CHANGES, normalise, record_decision
from storage import communities, people
from storage import policy as policy_store
from storage import stewards as steward_store
from storage.models import Space, Vote

YES, NO = "yes", "no"
ANSWERS = (YES, NO)  # the poll's options, in this order


@dataclass(frozen=True, slots=True)
class VoteRules:
    """A community's rules for votes (config: ``vote_quorum_percent``,
    ``vote_min_voters``, ``vote_hours``)."""

    quorum_percent: int = 20
    min_voters: int = 3
    hours: int = 72


class Result(StrEnum):
    """How a vote ended."""

    PASSED = "passed"
    REJECTED = "rejected"
    NO_QUORUM = "no_quorum"


class VoteError(CommunityMemoryError):
    """A proposal that cannot be put to a vote; the message says why, for the chat."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason  # a key of the chat's texts: vote_not_on_roll, vote_open, …


@dataclass(frozen=True, slots=True)
class Proposal:
    """An opened vote, ready for its poll."""

    vote_id: int
    community_id: str
    policy: str
    value: str
    target: AccountRef | None  # for steward votes: the person, by the account named
    closes_at: datetime
    roll: int
    needed: int


@dataclass(frozen=True, slots=True)
class ClosedPoll:
    """A chat that had the vote: its poll to end (None: it never got one) and the result
    to say."""

    chat: ChatRef
    poll_message_id: str | None


@dataclass(frozen=True, slots=True)
class Closed:
    """A vote that closed now, with its tally and its chats (the one it was proposed in
    first)."""

    vote_id: int
    community_id: str
    polls: tuple[ClosedPoll, ...]
    policy: str
    value: str
    result: Result
    yes: int
    no: int
    needed: int


@dataclass(frozen=True, slots=True)
class WantedPoll:
    """An open vote still to be polled in one more chat of its community."""

    vote_id: int
    community_id: str
    chat: ChatRef
    policy: str
    value: str
    proposed_by: int  # the person (``person_account`` names them as they allow)
    closes_at: datetime
    needed: int


def propose(
    archive: Archive,
    chat: ChatRef,
    proposer: AccountRef,
    policy: str,
    value: str,
    *,
    rules: VoteRules,
    target: AccountRef | None = None,
    now: datetime | None = None,
) -> Proposal:
    """Open a vote on ``policy`` (one of ``POLICIES``) taking ``value``, or on making
    ``target`` a steward (``steward``) or not (``unsteward``). Raises ``VoteError``."""
    moment = now or datetime.now(UTC)
    if policy not in (*POLICIES, *STEWARD_CHANGES):
        raise VoteError("vote_unknown_policy", f"{policy!r} is not something to vote on")
    with archive.db.write() as session:
        space = space_for(session, chat)
        assert space.id is not None
        community_id = space.community_id
        roll = policy_store.roll(session, community_id)
        person = people.find_person(session, community_id, proposer.platform, proposer.user_id)
        if person is None or person.id not in roll:
            raise VoteError("vote_not_on_roll", f"{proposer.key} is not on the roll")
        assert person.id is not None
        if policy in STEWARD_CHANGES:
            if target is None:
                raise VoteError("vote_needs_person", "a steward vote needs a person")
            subject = people.ensure_person(session, community_id, target.platform, target.user_id)
            assert subject.id is not None
            is_steward = steward_store.get_steward(session, community_id, subject.id) is not None
            if is_steward == (policy == "steward"):
                raise VoteError("vote_pointless", "nothing to decide")
            value = str(subject.id)
        else:
            value = normalise(policy, value)
        for vote in policy_store.open_votes(session, community_id):
            if vote.policy == policy and (policy not in STEWARD_CHANGES or vote.value == value):
                raise VoteError("vote_open", f"a vote on {policy} is open already")
        needed = max(rules.min_voters, math.ceil(len(roll) * rules.quorum_percent / 100))
        closes = moment + timedelta(hours=rules.hours)
        vote = policy_store.add_vote(
            session,
            Vote(
                community_id=community_id,
                space_id=space.id,
                policy=policy,
                value=value,
                proposed_by=person.id,
                roll=len(roll),
                needed=needed,
                opened_at=moment,
                closes_at=closes,
            ),
        )
        assert vote.id is not None
        # The proposer's own yes is not assumed: they answer in the poll like everyone.
        return Proposal(vote.id, community_id, policy, value, target, closes, len(roll), needed)


def poll_sent(
    archive: Archive, vote_id: int, chat: ChatRef, poll_id: str, poll_message_id: str
) -> bool:
    """The vote's poll is in ``chat``: answers to ``poll_id`` count for it. True when that
    is the chat the vote was proposed in: from now on its other chats can be polled."""
    with archive.db.write() as session:
        space = space_for(session, chat)
        assert space.id is not None
        policy_store.add_poll(session, vote_id, space.id, poll_id, poll_message_id)
        vote = policy_store.get_vote(session, vote_id)
        return vote is not None and vote.space_id == space.id


def poll_failed(archive: Archive, vote_id: int, chat: ChatRef) -> bool:
    """The chat refused the vote's poll. In the chat it was proposed in, before any poll:
    there is no vote (closed as not held, nothing decided; True). In another chat of the
    community the vote goes on where it could be polled, and that chat is not offered the
    poll again (False)."""
    with archive.db.write() as session:
        vote = policy_store.get_vote(session, vote_id)
        space = communities.get_space(session, chat.platform, chat.chat_id)
        if vote is None or vote.id is None or space is None or space.id is None:
            return False
        if vote.space_id != space.id or policy_store.polls_of(session, vote_id):
            policy_store.add_poll(session, vote.id, space.id, None, None)
            return False
        return policy_store.close_vote(
            session, vote_id, result=Result.NO_QUORUM.value, yes=0, no=0, at=datetime.now(UTC)
        )


def polls_wanted(
    archive: Archive, platforms: Collection[str], *, now: datetime | None = None
) -> list[WantedPoll]:
    """Open votes not yet polled in some active chat of their community on one of
    ``platforms``. The chat it was proposed in gets its poll with the proposal, and the
    others only once that poll is there: until then the vote can still be withdrawn (that
    chat refused the poll), which would leave their polls open on a vote that is not held."""
    moment = now or datetime.now(UTC)
    wanted: list[WantedPoll] = []
    with archive.db.read() as session:
        for vote in policy_store.open_votes(session):
            if vote.id is None or _utc(vote.closes_at) <= moment:
                continue
            polls = policy_store.polls_of(session, vote.id)
            if not any(
                space.id == vote.space_id and poll.poll_id is not None for space, poll in polls
            ):
                continue
            polled = {space.id for space, _ in polls}
            chats = [
                space
                for space in communities.list_spaces(session, vote.community_id)
                if space.active
                and space.platform in platforms
                and space.id != vote.space_id
                and space.id not in polled
            ]
            closes = _utc(vote.closes_at)
            for space in chats:
                chat = ChatRef(space.platform, space.chat_id)
                wanted.append(
                    WantedPoll(
                        vote.id,
                        vote.community_id,
                        chat,
                        vote.policy,
                        vote.value,
                        vote.proposed_by,
                        closes,
                        vote.needed,
                    )
                )
    return wanted


def answer(
    archive: Archive,
    poll_id: str,
    voter: AccountRef,
    choice: str | None,
    *,
    now: datetime | None = None,
) -> bool:
    """Store a voter's latest answer (``yes``/``no``, ``None``: taken back); False when it
    does not count (no such open vote, or the voter is not on the roll)."""
    with archive.db.write() as session:
        vote = policy_store.vote_by_poll(session, voter.platform, poll_id)
        if vote is None or vote.closed_at is not None or vote.id is None:
            return False
        person = people.find_person(session, vote.community_id, voter.platform, voter.user_id)
        if person is None or person.id not in policy_store.roll(session, vote.community_id):
            return False  # not stored: an ineligible voter leaves no trace
        assert person.id is not None
        policy_store.set_ballot(session, vote.id, person.id, choice, now or datetime.now(UTC))
        return True


def close_due(archive: Archive, *, now: datetime | None = None) -> list[Closed]:
    """Close every vote whose deadline has passed: tally, decide, record. Each vote is
    closed once, however many bots run this at the same time."""
    moment = now or datetime.now(UTC)
    closed: list[Closed] = []
    with archive.db.read() as session:
        due = [
            v.id
            for v in policy_store.open_votes(session)
            if v.id is not None and _utc(v.closes_at) <= moment
        ]
    for vote_id in due:
        found = _close(archive, vote_id, moment)
        if found is not None:
            closed.append(found)
    return closed


def _close(archive: Archive, vote_id: int, moment: datetime) -> Closed | None:
    with archive.db.write() as session:
        vote = policy_store.get_vote(session, vote_id)
        if vote is None or vote.closed_at is not None:
            return None
        eligible = policy_store.roll(session, vote.community_id)
        answers = [
            choice
            for person_id, choice in policy_store.ballots(session, vote_id).items()
            if choice is not None and person_id in eligible
        ]
        yes, no = answers.count(YES), answers.count(NO)
        if yes + no < vote.needed:
            result = Result.NO_QUORUM
        elif yes > no:
            result = Result.PASSED
        else:
            result = Result.REJECTED
        if not policy_store.close_vote(
            session, vote_id, result=result.value, yes=yes, no=no, at=moment
        ):
            return None
        if result is Result.PASSED:
            record_decision(
                session, vote.community_id, vote.policy, vote.value,
                actor="vote", vote_id=vote_id, at=moment,
            )  # fmt: skip
        own = session.get(Space, vote.space_id)
        assert own is not None
        polled = policy_store.polls_of(session, vote_id)
        own_poll = next((p.poll_message_id for space, p in polled if space.id == own.id), None)
        polls = [ClosedPoll(ChatRef(own.platform, own.chat_id), own_poll)]
        polls += [
            ClosedPoll(ChatRef(space.platform, space.chat_id), p.poll_message_id)
            for space, p in polled
            if space.id != own.id
        ]
        return Closed(
            vote_id, vote.community_id, tuple(polls), vote.policy, vote.value, result, yes, no,
            vote.needed,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class OpenVote:
    """A vote still open, as ``policy`` shows it."""

    id: int
    policy: str
    value: str  # for a steward vote: the person's accounts
    raw_value: str  # as stored (a steward vote: the person's id)
    closes_at: datetime
    answers: int  # people who answered so far (an answer taken back is none)
    needed: int

    def to_json(self) -> dict[str, object]:
        """The ``--json`` form."""
        return {
            "id": self.id,
            "policy": self.policy,
            "value": self.value,
            "closes_at": self.closes_at.isoformat(),
            "answers": self.answers,
            "needed": self.needed,
        }


def person_account(archive: Archive, person_id: int) -> AccountRef | None:
    """One account of a person (a steward vote's subject), to name them as they allow."""
    with archive.db.read() as session:
        found = people.accounts_of(session, person_id)
    return AccountRef(found[0].platform, found[0].user_id) if found else None


def open_votes(archive: Archive, community_id: str) -> list[OpenVote]:
    """The community's votes still open, oldest first."""
    found = []
    with archive.db.read() as session:
        for vote in policy_store.open_votes(session, community_id):
            assert vote.id is not None
            value = vote.value
            if vote.policy in STEWARD_CHANGES:
                value = ", ".join(
                    f"{a.platform}:{a.user_id}" for a in people.accounts_of(session, int(value))
                )
            answers = sum(1 for choice in policy_store.ballots(session, vote.id).values() if choice)
            found.append(
                OpenVote(
                    vote.id,
                    vote.policy,
                    value,
                    vote.value,
                    _utc(vote.closes_at),
                    answers,
                    vote.needed,
                )
            )
    return found


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
