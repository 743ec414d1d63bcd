"""Matrix power levels: who counts as a room's admin when the bot joins (its first stewards).

Read from the room's whole state (``GET /rooms/{id}/state``): the joined members, the
``m.room.power_levels`` content, and the ``m.room.create`` event, because since room version 12
the room's creators (the create event's sender and its ``additional_creators``) have a power
above every level and are no longer listed in ``users`` (MSC4289). Synapse creates version 12
rooms by default, so leaving this out would miss the person who made the room.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# Moderators and admins: Element shows 50 as "Moderator" and 100 as "Admin"; both can kick,
# ban and redact by default, so both look after the room.
ROOM_ADMIN_LEVEL = 50
# Room versions whose creators outrank every power level (MSC4289), besides 12 and later.
_CREATOR_POWER_VERSIONS = {"org.matrix.hydra.11"}


def room_admins(state: Sequence[dict[str, Any]], *, exclude: str = "") -> list[str]:
    """The joined members of a room whose power level is at least ``ROOM_ADMIN_LEVEL`` — its
    creators too, in rooms where creators outrank every level — in the order of the state,
    without ``exclude`` (the bot itself).

    ``state`` is the room's current state events. A member's level is their entry in the
    power levels' ``users``, else ``users_default`` (0 when absent); a room without a power
    levels event gives its creator 100 and everyone else 0, as the spec says.
    """
    create = _event(state, "m.room.create")
    levels = _event(state, "m.room.power_levels")
    creators = _creators(create)
    creators_outrank = _creators_outrank(_content(create).get("room_version"))
    content = _content(levels)
    users = content.get("users")
    listed: dict[str, Any] = users if isinstance(users, dict) else {}
    default = _level(content.get("users_default"), 0)
    admins: list[str] = []
    for event in state:
        member = event.get("state_key")
        if (
            event.get("type") != "m.room.member"
            or _content(event).get("membership") != "join"
            or not isinstance(member, str)
            or member == exclude
            or member in admins
        ):
            continue
        if creators_outrank and member in creators:
            admins.append(member)
        elif levels is None:
            if member in creators:
                admins.append(member)
        elif _level(listed.get(member), default) >= ROOM_ADMIN_LEVEL:
            admins.append(member)
    return admins


def _event(state: Sequence[dict[str, Any]], kind: str) -> dict[str, Any] | None:
    """The state event of this type with the empty state key, if the room has one."""
    return next(
        (e for e in state if e.get("type") == kind and e.get("state_key", "") == ""),
        None,
    )


def _content(event: dict[str, Any] | None) -> dict[str, Any]:
    content = (event or {}).get("content")
    return content if isinstance(content, dict) else {}


def _creators(create: dict[str, Any] | None) -> set[str]:
    """The room's creators: the create event's sender (``creator`` in old rooms) and its
    ``additional_creators``."""
    if create is None:
        return set()
    content = _content(create)
    found = {value for value in (create.get("sender"), content.get("creator")) if value}
    more = content.get("additional_creators")
    if isinstance(more, list):
        found.update(value for value in more if isinstance(value, str))
    return {value for value in found if isinstance(value, str)}


def _creators_outrank(version: object) -> bool:
    """Whether this room version gives its creators a power above every level."""
    if not isinstance(version, str):
        return False  # no room_version: version 1
    if version in _CREATOR_POWER_VERSIONS:
        return True
    return version.isdigit() and int(version) >= 12


def _level(value: object, default: int) -> int:
    """A power level as homeservers read it: an integer, or a string of one (old rooms)."""
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return default
    return default
