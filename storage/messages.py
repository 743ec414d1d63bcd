"""Kept messages, their versions, held messages, tags and stories."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from storage.models import HeldMessage, Message, MessageVersion, Person, Space, Story, Tag


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def insert_ignoring_duplicates(session: Session, model: Any, rows: Sequence[dict[str, Any]]) -> int:
    """Insert rows, silently skipping any that violate a unique constraint (idempotent
    ingestion: a message already kept stays as it is). Returns how many were new."""
    if not rows:
        return 0
    table = _table(model)
    stmt = _insert_skipping_duplicates(session, table)
    if session.get_bind().dialect.name == "postgresql":
        # psycopg batches many rows into one statement and reports no rowcount (-1): count
        # the rows that came back instead.
        key = next(iter(table.primary_key.columns))
        return len(session.connection().execute(stmt.returning(key), list(rows)).all())
    result = session.connection().execute(stmt, list(rows))
    return int(result.rowcount or 0)


def _insert_skipping_duplicates(session: Session, table: Table) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` into ``table`` in the session's dialect."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    raise ValueError(f"no INSERT … ON CONFLICT for {dialect}")  # pragma: no cover


def get_message(session: Session, space_id: int, platform_message_id: str) -> Message | None:
    """The kept message with this platform id in this space."""
    return session.exec(
        select(Message).where(
            Message.space_id == space_id, Message.platform_message_id == platform_message_id
        )
    ).first()


def add_message(session: Session, message: Message) -> Message | None:
    """Keep a message: ``message`` itself comes back with its new ``id``; None (and nothing
    changes) when it is already kept.

    One statement, ``INSERT … ON CONFLICT DO NOTHING RETURNING id`` (SQLite ≥ 3.35 and
    PostgreSQL alike): live ingestion commits one message per transaction, and a second
    query to read the row back was a fifth of its time."""
    table = _table(Message)
    stmt = _insert_skipping_duplicates(session, table).returning(table.c.id)
    new_id = session.connection().execute(stmt, message.model_dump(exclude={"id"})).scalar()
    if new_id is None:
        return None
    message.id = int(new_id)
    return message


def replace_text(
    session: Session, message: Message, text: str, tokens: str, edited_at: datetime
) -> None:
    """Record an edit: the old text becomes a version, the message gets the new text."""
    session.add(
        MessageVersion(
            message_id=message.id,  # type: ignore[arg-type]
            text=message.text,
            valid_from=message.edited_at or message.sent_at,
            replaced_at=edited_at,
        )
    )
    message.text = text
    message.tokens = tokens
    message.edited_at = edited_at
    session.add(message)
    session.flush()


def versions_of(session: Session, message_id: int) -> list[MessageVersion]:
    """Earlier texts of a message, oldest first."""
    return list(
        session.exec(
            select(MessageVersion)
            .where(MessageVersion.message_id == message_id)
            .order_by(col(MessageVersion.id))
        )
    )


def messages_of(session: Session, person_id: int) -> list[Message]:
    """Every kept message by this person."""
    return list(session.exec(select(Message).where(Message.author_id == person_id)))


# --- held messages ---------------------------------------------------------------------------


def get_held(session: Session, space_id: int, platform_message_id: str) -> HeldMessage | None:
    """The held copy of a tagged message awaiting its author's answer."""
    return session.exec(
        select(HeldMessage).where(
            HeldMessage.space_id == space_id,
            HeldMessage.platform_message_id == platform_message_id,
        )
    ).first()


def held_of(session: Session, person_id: int) -> list[HeldMessage]:
    """Every held message by this person."""
    return list(session.exec(select(HeldMessage).where(HeldMessage.author_id == person_id)))


def expired_held(session: Session, now: datetime) -> list[HeldMessage]:
    """Held messages whose time to wait for an answer has passed."""
    return list(session.exec(select(HeldMessage).where(col(HeldMessage.expires_at) <= now)))


def delete_held(session: Session, held: HeldMessage) -> None:
    """Destroy a held copy."""
    session.delete(held)
    session.flush()


# --- tags and stories ------------------------------------------------------------------------


def tags_on(session: Session, space_id: int, platform_message_id: str) -> list[Tag]:
    """Tags on one message (kept or held), oldest first."""
    return list(
        session.exec(
            select(Tag)
            .where(Tag.space_id == space_id, Tag.platform_message_id == platform_message_id)
            .order_by(col(Tag.id))
        )
    )


def find_tag(
    session: Session, space_id: int, platform_message_id: str, tagger_id: int | None
) -> Tag | None:
    """The tag this person put on this message (``None`` tagger: an imported, anonymous tag)."""
    tagger = col(Tag.tagger_id).is_(None) if tagger_id is None else Tag.tagger_id == tagger_id
    return session.exec(
        select(Tag).where(
            Tag.space_id == space_id, Tag.platform_message_id == platform_message_id, tagger
        )
    ).first()


# ``story.name`` is VARCHAR(200): PostgreSQL refuses longer values where SQLite would keep them.
STORY_NAME_MAX = 200


def story_name(name: str) -> str:
    """A story name as stored: without NUL characters (PostgreSQL refuses them) or
    surrounding spaces, at most ``STORY_NAME_MAX`` long."""
    return name.replace("\x00", "").strip()[:STORY_NAME_MAX].strip()


def get_story(session: Session, community_id: str, name: str) -> Story | None:
    """The community's story of this name (compared as ``story_name`` stores it)."""
    return session.exec(
        select(Story).where(Story.community_id == community_id, Story.name == story_name(name))
    ).first()


def list_stories(session: Session, community_id: str) -> list[tuple[Story, int]]:
    """The community's stories with how many kept messages each holds, by name."""
    kept = (
        select(func.count(func.distinct(Message.id)))
        .select_from(Tag)
        .join(
            Message,
            (col(Message.space_id) == col(Tag.space_id))
            & (col(Message.platform_message_id) == col(Tag.platform_message_id)),
        )
        .where(col(Tag.story_id) == col(Story.id))
        .scalar_subquery()
    )
    rows = session.exec(
        select(Story, kept).where(Story.community_id == community_id).order_by(col(Story.name))
    )
    return [(story, int(count)) for story, count in rows]


def story_messages(session: Session, story_id: int) -> list[Message]:
    """Kept messages filed into a story, oldest first."""
    return list(
        session.exec(
            select(Message)
            .join(
                Tag,
                (col(Message.space_id) == col(Tag.space_id))
                & (col(Message.platform_message_id) == col(Tag.platform_message_id)),
            )
            .where(Tag.story_id == story_id)
            .distinct()
            .order_by(col(Message.sent_at))
        )
    )


def space_keys(session: Session, community_id: str) -> dict[int, str]:
    """``space id → "platform:chat_id"`` for the community."""
    rows = session.exec(
        select(Space.id, Space.platform, Space.chat_id).where(Space.community_id == community_id)
    )
    return {sid: f"{platform}:{chat}" for sid, platform, chat in rows if sid is not None}


def ensure_story(session: Session, community_id: str, name: str, created_by: int | None) -> Story:
    """The community's story of this name, created if new (the name cut by ``story_name``)."""
    story = get_story(session, community_id, name)
    if story is None:
        story = Story(
            community_id=community_id,
            name=story_name(name),
            created_by=created_by,
            created_at=utcnow(),
        )
        session.add(story)
        session.flush()
    return story


def add_tag(session: Session, tag: Tag) -> tuple[Tag, bool]:
    """Tag a message once per tagger; a second tag by the same person only updates the story.
    Returns the tag and whether it is new."""
    existing = find_tag(session, tag.space_id, tag.platform_message_id, tag.tagger_id)
    if existing is not None:
        if tag.story_id is not None and existing.story_id != tag.story_id:
            existing.story_id = tag.story_id
            session.add(existing)
        return existing, False
    session.add(tag)
    session.flush()
    return tag, True


def delete_tag(session: Session, tag: Tag) -> None:
    """Remove one tag."""
    session.delete(tag)
    session.flush()


def add_held(session: Session, held: HeldMessage) -> HeldMessage:
    """Hold a tagged message's content until its author answers."""
    session.add(held)
    session.flush()
    return held


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def kept_platform_ids(session: Session, space_id: int, platform_ids: Sequence[str]) -> set[str]:
    """Which of these platform message ids the space already keeps (one query per batch)."""
    if not platform_ids:
        return set()
    return set(
        session.exec(
            select(Message.platform_message_id).where(
                Message.space_id == space_id,
                col(Message.platform_message_id).in_(list(platform_ids)),
            )
        )
    )


def anonymous_tag_ids(session: Session, space_id: int, platform_ids: Sequence[str]) -> set[str]:
    """Which of these messages already carry a tag with no known tagger (imported tags)."""
    if not platform_ids:
        return set()
    return set(
        session.exec(
            select(Tag.platform_message_id).where(
                Tag.space_id == space_id,
                col(Tag.tagger_id).is_(None),
                col(Tag.platform_message_id).in_(list(platform_ids)),
            )
        )
    )


def set_display_names(session: Session, names: dict[int, str]) -> None:
    """Update display names (people who said yes) in one statement per person."""
    table = _table(Person)
    conn = session.connection()
    for person_id, name in names.items():
        conn.execute(update(table).where(table.c.id == person_id).values(display_name=name))


def count_tags_by(session: Session, person_id: int) -> int:
    """How many tags this person made."""
    return int(
        session.exec(select(func.count()).select_from(Tag).where(Tag.tagger_id == person_id)).one()
    )


def messages_sent_before(
    session: Session, community_id: str, cutoff: datetime, limit: int
) -> list[tuple[int, int]]:
    """Up to ``limit`` of the community's kept messages sent before ``cutoff``:
    (message id, author's person id), oldest first."""
    stmt = (
        select(Message.id, Message.author_id)
        .where(Message.community_id == community_id, Message.sent_at < cutoff)
        .order_by(col(Message.sent_at))
        .limit(limit)
    )
    return [(int(mid), int(author)) for mid, author in session.exec(stmt) if mid is not None]
