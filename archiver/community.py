"""A community's settings as the archiver sees them (platform-neutral, config-independent)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlmodel import Session

from archiver.errors import CommunityMemoryError, UnknownCommunityError
from archiver.events import ChatRef
from storage import communities
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
