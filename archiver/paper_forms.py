"""A steward records a resident's signed paper consent form from the chat (``record``), as the
CLI's ``--roster`` does for many at once.

Only a steward of the community may, and only with evidence (which form). A paper form fills
in for someone who has not chosen in the chat: when the person has answered themselves (a
button, a command, a reaction), their own choice stands and the form is refused — no steward
overrides a person's own consent. Recorded in the consent ledger with method ``paper``, the
steward and the evidence, like a roster entry.
"""

from __future__ import annotations

from archiver.archive import Archive
from archiver.consent import Actor, Attribution, Level, Method, set_attribution, set_level
from archiver.errors import CommunityMemoryError
from archiver.events import AccountRef
from archiver.stewards import is_steward
from storage import people

OWN_METHODS = (Method.BUTTON.value, Method.COMMAND.value, Method.REACTION.value)


class PaperFormError(CommunityMemoryError):
    """A form that cannot be recorded; ``reason`` is a key of the chat's texts."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def record_paper_form(
    archive: Archive,
    community_id: str,
    subject: AccountRef,
    level: Level,
    attribution: Attribution | None,
    *,
    steward: AccountRef,
    evidence: str,
) -> None:
    """Record the form (see the module doc). Raises ``PaperFormError``."""
    if not is_steward(archive, community_id, steward):
        raise PaperFormError("record_not_steward", f"{steward.key} is not a steward")
    if not evidence.strip():
        raise PaperFormError("record_usage", "a paper form needs its evidence")
    if chose_themselves(archive, community_id, subject):
        raise PaperFormError("record_own_choice", f"{subject.key} chose in the chat already")
    actor = Actor(steward=steward.key, evidence=evidence.strip())
    set_level(archive, community_id, subject, level, actor=actor, method=Method.PAPER)
    if attribution is not None:
        set_attribution(
            archive, community_id, subject, attribution, actor=actor, method=Method.PAPER
        )


def chose_themselves(archive: Archive, community_id: str, subject: AccountRef) -> bool:
    """Whether the person has made a level or attribution choice in the chat themselves."""
    with archive.db.read() as session:
        person = people.find_person(session, community_id, subject.platform, subject.user_id)
        if person is None or person.id is None:
            return False
        return any(
            event.field in ("level", "attribution") and event.method in OWN_METHODS
            for event in people.ledger(session, person.id)
        )
