"""A community's settings as the archiver sees them (platform-neutral, config-independent)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session

from archiver.errors import CommunityMemoryError, UnknownCommunityError
from archiver.events import AccountRef, ChatRef
from storage import communities, people
from storage.models import Space

if TYPE_CHECKING:
    from archiver.archive import Archive


@dataclass(frozen=True, slots=True)
class SpaceRef:
    """One chat of a community: a Telegram group (``chat_id`` is the Bot API chat id) or a
    Matrix room (``chat_id`` is the room id)."""

    platform: str
    chat_id: str

    @property
    def key(self) -> str:
        """``platform:chat_id``, the form used in exports and on the command line."""
        return f"{self.platform}:{self.chat_id}"


@dataclass(frozen=True, slots=True)
class CommunitySettings:
    """What a community decided about itself; stored in the ``community`` table."""

    id: str
    name: str
    language: str = "zh"
    timezone: str = "Asia/Shanghai"
    keep_emoji: str = "📌"
    hold_hours: int = 72
    digest: str = "sun 20:00"
    on_this_day: str = "09:00"
    spaces: tuple[SpaceRef, ...] = field(default_factory=tuple)
    # From the config only (not stored): how the scheduled posts behave.
    memory_repeat_days: int = 365
    on_this_day_month_fallback: bool = False
    quiet_digest: bool = True
    vote_quorum_percent: int = 20
    vote_min_voters: int = 3
    vote_hours: int = 72


def ensure_community(archive: Archive, settings: CommunitySettings) -> None:
    """Create the community (or update its stored settings) and register its spaces.

    A space already registered under another community is an error: one chat, one archive.
    """
    with archive.db.write() as session:
        communities.save_community(
            session,
            community_id=settings.id,
            name=settings.name,
            language=settings.language,
            timezone=settings.timezone,
            keep_emoji=settings.keep_emoji,
            hold_hours=settings.hold_hours,
        )
        for ref in settings.spaces:
            space = communities.ensure_space(session, settings.id, ref.platform, ref.chat_id)
            if space.community_id != settings.id:
                raise CommunityMemoryError(
                    f"{ref.key} already belongs to community {space.community_id!r}, "
                    f"not {settings.id!r}"
                )


def load_community(archive: Archive, community_id: str) -> CommunitySettings:
    """The community's stored settings; ``UnknownCommunityError`` if the archive lacks it."""
    with archive.db.read() as session:
        row = communities.get_community(session, community_id)
        if row is None:
            raise UnknownCommunityError(community_id)
        spaces = tuple(
            SpaceRef(space.platform, space.chat_id)
            for space in communities.list_spaces(session, community_id)
        )
        return CommunitySettings(
            id=row.id,
            name=row.name,
            language=row.language,
            timezone=row.timezone,
            keep_emoji=row.keep_emoji,
            hold_hours=row.hold_hours,
            spaces=spaces,
        )


class UnknownChatError(CommunityMemoryError):
    """The chat is not a space of any community (the bot must register it first)."""

    def __init__(self, chat: ChatRef) -> None:
        self.chat = chat
        super().__init__(f"{chat.platform}:{chat.chat_id} is not a space of any community")


def space_for(session: Session, chat: ChatRef) -> Space:
    """The space of a chat; ``UnknownChatError`` if no community has it."""
    space = communities.get_space(session, chat.platform, chat.chat_id)
    if space is None or space.id is None:
        raise UnknownChatError(chat)
    return space


def community_of_chat(archive: Archive, chat: ChatRef) -> str | None:
    """The id of the community a chat belongs to, or None for a chat no community has."""
    with archive.db.read() as session:
        space = communities.get_space(session, chat.platform, chat.chat_id)
        return space.community_id if space is not None else None


def adopt_chat(archive: Archive, chat: ChatRef, title: str | None) -> str:
    """The community of ``chat``, creating one with default settings for a chat that no
    community lists (DESIGN: "a group … that no community lists gets a community of its own").
    The new community's id is derived from the chat (``telegram-1001234567890``)."""
    existing = community_of_chat(archive, chat)
    if existing is not None:
        with archive.db.write() as session:
            space = space_for(session, chat)
            assert space.id is not None
            communities.set_space_active(session, space.id, True)
        return existing
    slug = re.sub(r"[^a-z0-9]+", "-", f"{chat.platform}-{chat.chat_id}".lower()).strip("-")[:64]
    ensure_community(
        archive,
        CommunitySettings(
            id=slug, name=title or slug, spaces=(SpaceRef(chat.platform, chat.chat_id),)
        ),
    )
    return slug


def set_chat_active(archive: Archive, chat: ChatRef, active: bool) -> None:
    """Record that the bot was removed from (or came back to) a chat."""
    with archive.db.write() as session:
        space = communities.get_space(session, chat.platform, chat.chat_id)
        if space is not None and space.id is not None:
            communities.set_space_active(session, space.id, active)


def communities_of_account(archive: Archive, account: AccountRef) -> list[str]:
    """The communities in which the archive knows this account (for private chats)."""
    with archive.db.read() as session:
        return people.communities_of(session, account.platform, account.user_id)


def active_spaces(archive: Archive, community_id: str) -> list[SpaceRef]:
    """The community's chats the bot is still in, oldest first (where posts go)."""
    with archive.db.read() as session:
        return [
            SpaceRef(space.platform, space.chat_id)
            for space in communities.list_spaces(session, community_id)
            if space.active
        ]


def community_ids(archive: Archive) -> list[str]:
    """Every community in the archive, by id."""
    with archive.db.read() as session:
        return [community.id for community in communities.list_communities(session)]


def created_times(archive: Archive) -> dict[str, datetime]:
    """When each community was created in the archive (UTC): its scheduled posts start then."""
    with archive.db.read() as session:
        return {c.id: c.created_at for c in communities.list_communities(session)}
