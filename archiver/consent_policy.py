"""The consent model's decisions in one place: pure functions of a person's consent.

Every part of the archive that decides whether something of a person's is kept, held, asked
about or shown by name calls these — live ingestion, tags, unkeep, imports, recall, digests,
exports and the site — instead of restating the rule. The decision table in docs/consent.md
is this module; ``tests/test_consent_policy.py`` reads that table and checks every cell.
"""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    """How much of a person's writing the community may keep."""

    UNKNOWN = "unknown"
    ALL = "all"
    TAGGED = "tagged"
    NONE = "none"

    @property
    def is_yes(self) -> bool:
        """``all`` and ``tagged`` are a yes (to everything, or to what others tag)."""
        return self in (Level.ALL, Level.TAGGED)


class Attribution(StrEnum):
    """Whether digests and the site show the person's name."""

    NAMED = "named"
    ANONYMOUS = "anonymous"


class OnTag(StrEnum):
    """What a tag does to a message that is not kept yet."""

    KEEP = "keep"  # kept at once, under the author's yes
    KEEP_AS_OWN_YES = "keep_as_own_yes"  # the author tagged it: a yes to this one message
    HOLD = "hold"  # held apart until the author answers (or the wait runs out)
    REFUSE = "refuse"  # the author said no: nothing is kept, not even held


def keeps_live(level: Level) -> bool:
    """A message someone writes is kept as it arrives only under ``all``."""
    return level is Level.ALL


def on_tag(level: Level, *, by_author: bool) -> OnTag:
    """What tagging a not-yet-kept message does, by its author's level."""
    if level is Level.NONE:
        return OnTag.REFUSE
    if level.is_yes:
        return OnTag.KEEP
    return OnTag.KEEP_AS_OWN_YES if by_author else OnTag.HOLD


def keeps_on_import(level: Level, *, tagged: bool) -> bool:
    """An imported message is kept under ``all``, and under ``tagged`` when it carries the
    community's keep reaction (or another keep mark) in the export."""
    return level is Level.ALL or (level is Level.TAGGED and tagged)


def keeps_name(level: Level) -> bool:
    """A display name is stored only while the person says yes."""
    return level.is_yes


def shown_name(attribution: str, stored_name: str | None) -> str | None:
    """The name to show for a person, or None for "a neighbour": their stored name (kept
    only while they say yes) if they chose ``named``."""
    return stored_name if attribution == _NAMED and stored_name else None


_NAMED = Attribution.NAMED.value  # read once: the site asks this for every message


def keeps_edit(level: Level) -> bool:
    """An edit of a kept message is stored unless its author has since said ``none``."""
    return level is not Level.NONE


def survives_unkeep(level: Level, *, kept_under_all: bool) -> bool:
    """A kept message whose last tag is removed stays if it would be kept untagged: its
    author is at ``all`` now, or it was kept under their ``all``."""
    return level is Level.ALL or kept_under_all


def should_ask(level: Level, *, prompted: bool) -> bool:
    """The bot asks unprompted only someone who never answered and was never asked."""
    return level is Level.UNKNOWN and not prompted
