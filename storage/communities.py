"""Communities and their spaces."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, col, select

from storage.models import Community, Space


def get_community(session: Session, community_id: str) -> Community | None:
    """The community with this id, if the archive has it."""
    return session.get(Community, community_id)


def list_communities(session: Session) -> list[Community]:
    """Every community in the archive, by id."""
    return list(session.exec(select(Community).order_by(col(Community.id))))


def save_community(
    session: Session,
    *,
    community_id: str,
    name: str,
    language: str,
    timezone: str,
    keep_emoji: str,
    hold_hours: int,
) -> Community:
    """Create the community or bring its stored settings in line with these."""
    community = session.get(Community, community_id)
    if community is None:
        community = Community(id=community_id, name=name, created_at=datetime.now(UTC))
    community.name = name
    community.language = language
    community.timezone = timezone
    community.keep_emoji = keep_emoji
    community.hold_hours = hold_hours
    session.add(community)
    session.flush()
    return community


def get_space(session: Session, platform: str, chat_id: str) -> Space | None:
    """The space for this platform chat, in whichever community it belongs to."""
    return session.exec(
        select(Space).where(Space.platform == platform, Space.chat_id == chat_id)
    ).first()


def ensure_space(
    session: Session, community_id: str, platform: str, chat_id: str, title: str | None = None
) -> Space:
    """The space for this chat, created in ``community_id`` if new.

    A chat belongs to one community for good: asking for it under another community returns
    the existing space unchanged, and the caller must check ``space.community_id``.
    """
    space = get_space(session, platform, chat_id)
    if space is None:
        space = Space(
            community_id=community_id,
            platform=platform,
            chat_id=chat_id,
            title=title,
            created_at=datetime.now(UTC),
        )
        session.add(space)
        session.flush()
    elif title and space.title != title and space.community_id == community_id:
        space.title = title
        session.add(space)
    return space


def list_spaces(session: Session, community_id: str) -> list[Space]:
    """The community's spaces, oldest first."""
    return list(
        session.exec(
            select(Space).where(Space.community_id == community_id).order_by(col(Space.id))
        )
    )


def set_space_active(session: Session, space_id: int, active: bool) -> None:
    """Mark a space active (the bot is in it) or inactive (removed, kicked)."""
    space = session.get(Space, space_id)
    if space is not None and space.active != active:
        space.active = active
        session.add(space)
