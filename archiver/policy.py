"""Community policy: what the community decided together, over what the config says.

The config's values are the defaults a community starts from; a decision (a vote that
passed, see ``archiver.votes``) is appended to the policy ledger and overrides the default from
then on, across restarts. Each value says where it came from. The policies:

- ``media`` — ``on``/``off``: keep the photos, voice and files of kept messages (the default
  is ``on`` when the archive keeps files at all, ``[media] keep``);
- ``site`` — ``residents``/``public``: who the archive website is for;
- ``digest`` — ``off`` or a weekly slot like ``sun 20:00``;
- ``on_this_day`` — ``off`` or a daily time like ``09:00``;
- ``hold_hours`` — how long a tagged message waits for its author's answer (1–720);
- ``retention`` — ``forever``, or ``5y``: kept messages older than that many years are erased
  (as ``forget`` does, each with its ledger entry).

Stewards are decided the same way (``steward``/``unsteward`` entries, the person's id as the
value). Rights that no decision touches: a policy never keeps a message its author's own
consent does not allow, never names an anonymous person, never blocks ``forget`` — it only
ever keeps *less* than consent allows, or publishes only what people chose to make public.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlmodel import Session

from archiver.archive import Archive
from archiver.community import CommunitySettings
from archiver.errors import CommunityMemoryError, UnknownCommunityError
from archiver.events import AccountRef
from archiver.stewards import StewardReason
from storage import communities, people
from storage import policy as policy_store
from storage import stewards as steward_store
from storage.dump import as_utc
from storage.models import PolicyEvent

POLICIES = ("media", "site", "digest", "on_this_day", "hold_hours", "retention")
STEWARD_CHANGES = ("steward", "unsteward")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = r"([01]?\d|2[0-3]):[0-5]\d"


class PolicyValueError(CommunityMemoryError):
    """A value a policy cannot take (the message says which it can)."""


@dataclass(frozen=True, slots=True)
class PolicyValue:
    """A policy's current value and where it came from."""

    policy: str
    value: str
    source: str  # "config", or "vote 12", or "cli"
    since: datetime | None  # when it was decided (None: the config's default)

    def to_json(self) -> dict[str, object]:
        """The ``--json`` form."""
        return {
            "policy": self.policy,
            "value": self.value,
            "source": self.source,
            "since": None if self.since is None else self.since.isoformat(),
        }


def normalise(policy: str, value: str) -> str:
    """The value in its stored form, or ``PolicyValueError`` saying what is allowed."""
    text = " ".join(value.strip().lower().split())
    if policy == "media" and text in ("on", "off"):
        return text
    if policy == "site" and text in ("residents", "public"):
        return text
    if policy == "digest" and (
        text == "off" or re.fullmatch(rf"({'|'.join(_DAYS)}) {_CLOCK}", text)
    ):
        return _zero_padded(text)
    if policy == "on_this_day" and (text == "off" or re.fullmatch(_CLOCK, text)):
        return _zero_padded(text)
    if policy == "hold_hours" and text.isdigit() and 1 <= int(text) <= 720:
        return str(int(text))
    if policy == "retention" and (
        text == "forever" or (re.fullmatch(r"\d{1,2}y", text) and 1 <= int(text[:-1]) <= 50)
    ):
        return text
    allowed = {
        "media": "on or off",
        "site": "residents or public",
        "digest": "off, or a day and time like sun 20:00",
        "on_this_day": "off, or a time like 09:00",
        "hold_hours": "a number of hours from 1 to 720",
        "retention": "forever, or a number of years like 5y",
    }
    if policy not in allowed:
        raise PolicyValueError(f"{policy!r} is not a policy: {', '.join(POLICIES)}")
    raise PolicyValueError(f"{policy} cannot be {value!r}: {allowed[policy]}")


def _zero_padded(text: str) -> str:
    if text == "off":
        return text
    *day, clock = text.split()
    hour, minute = clock.split(":")
    return " ".join([*day, f"{int(hour):02d}:{minute}"])


def defaults(settings: CommunitySettings, *, keeps_files: bool) -> dict[str, str]:
    """What the config says, as policy values."""
    return {
        "media": "on" if keeps_files else "off",
        "site": "residents",
        "digest": settings.digest or "off",
        "on_this_day": settings.on_this_day or "off",
        "hold_hours": str(settings.hold_hours),
        "retention": "forever",
    }


def current_policy(archive: Archive, settings: CommunitySettings) -> dict[str, PolicyValue]:
    """Every policy's current value: decided, else the config's."""
    with archive.db.read() as session:
        decided = policy_store.latest(session, settings.id)
    found = {}
    for name, value in defaults(settings, keeps_files=archive.media is not None).items():
        event = decided.get(name)
        if event is None:
            found[name] = PolicyValue(name, value, "config", None)
        else:
            found[name] = PolicyValue(name, event.value, _source(event), as_utc(event.at))
    return found


def decided_value(session: Session, community_id: str, policy: str) -> str | None:
    """The latest decision on ``policy``, if the community ever took one."""
    event = policy_store.latest(session, community_id).get(policy)
    return None if event is None else event.value


def with_policy(archive: Archive, settings: CommunitySettings) -> CommunitySettings:
    """The settings the bot runs by: the config's, with the community's decisions over them
    (the schedule reads these at every check, so a decided time takes effect without a
    restart)."""
    with archive.db.read() as session:
        decided = policy_store.latest(session, settings.id)
    changes: dict[str, object] = {}
    if "digest" in decided:
        changes["digest"] = "" if decided["digest"].value == "off" else decided["digest"].value
    if "on_this_day" in decided:
        value = decided["on_this_day"].value
        changes["on_this_day"] = "" if value == "off" else value
    if "hold_hours" in decided:
        changes["hold_hours"] = int(decided["hold_hours"].value)
    return replace(settings, **changes) if changes else settings  # type: ignore[arg-type]


def record_decision(
    session: Session,
    community_id: str,
    policy: str,
    value: str,
    *,
    actor: str,
    vote_id: int | None = None,
    evidence: str | None = None,
    at: datetime | None = None,
) -> PolicyEvent:
    """Append a decision to the ledger and carry out what is stored elsewhere (stewards in
    their table). In the caller's transaction. The other policies are read from the ledger
    where they apply (tagging, files, the schedule)."""
    moment = at or datetime.now(UTC)
    if policy in STEWARD_CHANGES:
        person_id = int(value)
        if policy == "steward":
            reason = StewardReason.VOTE if vote_id else StewardReason.CLI
            steward_store.add_steward(
                session, community_id, person_id, reason=reason.value, since=moment
            )
        else:
            policy_store.remove_steward(session, community_id, person_id)
        old = None
    else:
        value = normalise(policy, value)
        old = decided_value(session, community_id, policy)
    return policy_store.append_event(
        session,
        PolicyEvent(
            community_id=community_id,
            policy=policy,
            value=value,
            old_value=old,
            vote_id=vote_id,
            actor=actor,
            evidence=evidence,
            at=moment,
        ),
    )


def change_steward(
    archive: Archive,
    community_id: str,
    account: AccountRef,
    *,
    add: bool,
    actor: str,
    evidence: str | None = None,
) -> bool:
    """Appoint or remove a steward outside a vote (the operator with evidence, or a steward
    stepping down); True when something changed. Recorded in the policy ledger."""
    with archive.db.write() as session:
        if communities.get_community(session, community_id) is None:
            raise UnknownCommunityError(community_id)
        if add:
            person = people.ensure_person(session, community_id, account.platform, account.user_id)
        else:
            found = people.find_person(session, community_id, account.platform, account.user_id)
            if found is None:
                return False
            person = found
        assert person.id is not None
        is_one = steward_store.get_steward(session, community_id, person.id) is not None
        if is_one == add:
            return False
        record_decision(
            session,
            community_id,
            "steward" if add else "unsteward",
            str(person.id),
            actor=actor,
            evidence=evidence,
        )
        return True


def ledger(archive: Archive, community_id: str) -> list[PolicyEvent]:
    """The community's policy ledger, oldest first."""
    with archive.db.read() as session:
        return policy_store.events(session, community_id)


def _source(event: PolicyEvent) -> str:
    return f"vote {event.vote_id}" if event.vote_id is not None else event.actor
