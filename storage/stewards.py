"""Stewards: who looks after a community's archive, since when, and how they became one."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from storage.messages import insert_ignoring_duplicates
from storage.models import Steward


def add_steward(
    session: Session,
    community_id: str,
    person_id: int,
    *,
    reason: str,
    since: datetime,
    space_id: int | None = None,
) -> bool:
    """Make the person a steward of the community; False (and nothing changes) when they
    already are one — the first way they became one is the one kept."""
    added = insert_ignoring_duplicates(
        session,
        Steward,
        [
            {
                "community_id": community_id,
                "person_id": person_id,
                "reason": reason,
                "space_id": space_id,
                "since": since,
            }
        ],
    )
    return added > 0


def get_steward(session: Session, community_id: str, person_id: int) -> Steward | None:
    """The person's steward row in the community, if they are a steward there."""
    return session.exec(
        select(Steward).where(Steward.community_id == community_id, Steward.person_id == person_id)
    ).first()


def list_stewards(session: Session, community_id: str) -> list[Steward]:
    """The community's stewards, in the order they became stewards."""
    return list(
        session.exec(
            select(Steward).where(Steward.community_id == community_id).order_by(col(Steward.id))
        )
    )
