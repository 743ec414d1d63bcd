"""Stewards: the people who look after a community's archive.

DESIGN.md: "A group or room the bot is added to that no community lists gets a community of its
own with default settings; its admins are its first stewards." When the bot joins a chat, the
adapter tells the router who the chat's admins are (and, on Matrix, who invited it); they are
appointed here. A configured community gets its chats' admins the same way when the bot joins
them. Appointing is idempotent: someone who is already a steward keeps the reason and the date
they first became one, and nobody stops being a steward because they are no longer an admin.

Data minimisation: a steward is an ordinary person row — their account id and consent, no name
unless they said yes to keeping their messages. Being a steward is not consent: a steward's
messages are kept only under their own consent, like anyone's, and they are asked once like
anyone else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from archiver.archive import Archive
from archiver.events import AccountRef, ChatRef
from storage import communities, people
from storage import stewards as steward_store
from storage.dump import as_utc


class StewardReason(StrEnum):
    """How someone became a steward."""

    INVITER = "inviter"  # invited the bot to a Matrix room
    ROOM_ADMIN = "room_admin"  # power level >= 50 in a Matrix room when the bot joined
    GROUP_ADMIN = "group_admin"  # owner or administrator of a Telegram group when it joined
    CLI = "cli"  # appointed by the operator
    VOTE = "vote"  # chosen by a vote of the residents (archiver.votes)


@dataclass(frozen=True, slots=True)
class Appointment:
    """One account to appoint, and why."""

    account: AccountRef
    reason: StewardReason


@dataclass(frozen=True, slots=True)
class StewardInfo:
    """A steward of one community."""

    person_id: int
    accounts: tuple[AccountRef, ...]
    reason: StewardReason
    since: datetime
    space: str | None  # ``platform:chat_id`` of the chat where they became one


def appoint_stewards(
    archive: Archive,
    community_id: str,
    appointments: Sequence[Appointment],
    *,
    chat: ChatRef | None = None,
    at: datetime | None = None,
) -> list[AccountRef]:
    """Appoint each account a steward of the community (``chat``: where they are admins).

    Returns the accounts that became stewards now; accounts that already were are left as
    they are (the first reason wins, also within ``appointments``). A person the archive did
    not know is created with their account id only.
    """
    since = at or datetime.now(UTC)
    appointed: list[AccountRef] = []
    if not appointments:
        return appointed
    with archive.db.write() as session:
        space_id = None
        if chat is not None:
            space = communities.get_space(session, chat.platform, chat.chat_id)
            if space is not None and space.community_id == community_id:
                space_id = space.id
        for appointment in appointments:
            account = appointment.account
            person = people.ensure_person(session, community_id, account.platform, account.user_id)
            assert person.id is not None
            if steward_store.add_steward(
                session,
                community_id,
                person.id,
                reason=appointment.reason.value,
                since=since,
                space_id=space_id,
            ):
                appointed.append(account)
    return appointed


def stewards_of(archive: Archive, community_id: str) -> list[StewardInfo]:
    """The community's stewards, in the order they became stewards."""
    with archive.db.read() as session:
        spaces = {
            s.id: f"{s.platform}:{s.chat_id}"
            for s in communities.list_spaces(session, community_id)
        }
        found: list[StewardInfo] = []
        for row in steward_store.list_stewards(session, community_id):
            found.append(
                StewardInfo(
                    person_id=row.person_id,
                    accounts=tuple(
                        AccountRef(a.platform, a.user_id)
                        for a in people.accounts_of(session, row.person_id)
                    ),
                    reason=StewardReason(row.reason),
                    since=as_utc(row.since),
                    space=None if row.space_id is None else spaces.get(row.space_id),
                )
            )
        return found


def is_steward(archive: Archive, community_id: str, account: AccountRef) -> bool:
    """Whether this account's person is a steward of the community."""
    return steward_since(archive, community_id, account) is not None


def steward_since(archive: Archive, community_id: str, account: AccountRef) -> datetime | None:
    """Since when this account's person is a steward of the community (UTC), or None."""
    with archive.db.read() as session:
        person = people.find_person(session, community_id, account.platform, account.user_id)
        if person is None or person.id is None:
            return None
        row = steward_store.get_steward(session, community_id, person.id)
        return None if row is None else as_utc(row.since)
