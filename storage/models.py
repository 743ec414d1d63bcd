"""The archive's tables (SQLModel).

Times are timezone-aware in Python and stored in UTC (SQLModel's ``UTCDateTime``):
``timestamptz`` on PostgreSQL, UTC text without offset on SQLite, so comparisons and indexes
behave the same on both; a naive datetime is refused when bound. They come back aware, in UTC;
the archiver converts to the community's time zone at the edges. Platform ids (chats, users,
messages) are strings.

Message texts are ``ChatText`` and display names ``ChatString``: PostgreSQL cannot store the NUL
character, so it is dropped on both backends and reads back the same whichever backend holds it.

The schema itself is owned by the Alembic migrations in ``storage/migrations``; these classes
must match them (``tests/test_migrations.py`` checks that they do).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Dialect, Index, String, Text, TypeDecorator, UniqueConstraint
from sqlmodel import Field, SQLModel


class _WithoutNul(TypeDecorator[str]):
    """Drops NUL characters on the way in (PostgreSQL refuses them in text columns)."""

    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, str) and "\x00" in value:
            return value.replace("\x00", "")
        return value


class ChatText(_WithoutNul):
    """``Text`` without NUL characters, for what people write."""

    impl = Text
    cache_ok = True


class ChatString(_WithoutNul):
    """``String`` (VARCHAR) without NUL characters, for the names people give themselves."""

    impl = String
    cache_ok = True


class Community(SQLModel, table=True):
    """A neighbourhood: one archive, its settings and its spaces."""

    id: str = Field(primary_key=True, max_length=64)
    name: str
    language: str = Field(default="zh", max_length=8)
    timezone: str = Field(default="Asia/Shanghai", max_length=64)
    keep_emoji: str = Field(default="📌", max_length=32)
    hold_hours: int = 72
    created_at: datetime


class Space(SQLModel, table=True):
    """One chat of a community (a Telegram group or a Matrix room)."""

    __table_args__ = (UniqueConstraint("platform", "chat_id", name="uq_space_platform_chat"),)

    id: int | None = Field(default=None, primary_key=True)
    community_id: str = Field(foreign_key="community.id", index=True, max_length=64)
    platform: str = Field(max_length=16)
    chat_id: str = Field(max_length=255)
    title: str | None = None
    active: bool = True
    created_at: datetime


class Person(SQLModel, table=True):
    """A resident within one community.

    ``display_name`` is filled only while the person has said yes (level ``all`` or
    ``tagged``); for anyone else the archive holds nothing but their accounts and consent.
    """

    id: int | None = Field(default=None, primary_key=True)
    community_id: str = Field(foreign_key="community.id", index=True, max_length=64)
    display_name: str | None = Field(default=None, sa_type=ChatString)
    created_at: datetime


class Account(SQLModel, table=True):
    """A platform account (``telegram:123``, ``matrix:@a:b.org``) of a person in a community."""

    __table_args__ = (
        UniqueConstraint("community_id", "platform", "user_id", name="uq_account_user"),
    )

    id: int | None = Field(default=None, primary_key=True)
    community_id: str = Field(foreign_key="community.id", max_length=64)
    person_id: int = Field(foreign_key="person.id", index=True)
    platform: str = Field(max_length=16)
    user_id: str = Field(max_length=255)


class Consent(SQLModel, table=True):
    """A person's current consent (the latest state the ledger leads to)."""

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    level: str = Field(default="unknown", max_length=16)
    attribution: str = Field(default="anonymous", max_length=16)
    # The ledger entry that set the current level: messages kept under it point there too.
    level_event_id: int | None = None
    # When the bot last asked unprompted (it asks at most once).
    prompted_at: datetime | None = None
    updated_at: datetime


class ConsentEvent(SQLModel, table=True):
    """The append-only consent ledger: one row per change, never updated or deleted.

    ``field`` is ``level``, ``attribution``, ``message`` (a yes/no for one held message,
    identified by ``space_id`` and ``platform_message_id``) or ``erasure`` (a ``forget``).
    """

    __tablename__ = "consent_event"

    id: int | None = Field(default=None, primary_key=True)
    community_id: str = Field(foreign_key="community.id", max_length=64)
    person_id: int = Field(foreign_key="person.id", index=True)
    field: str = Field(max_length=16)
    old_value: str | None = Field(default=None, max_length=32)
    new_value: str = Field(max_length=32)
    method: str = Field(max_length=16)
    actor: str = Field(max_length=300)
    recorded_by: str | None = None
    evidence: str | None = None
    space_id: int | None = None
    platform_message_id: str | None = Field(default=None, max_length=255)
    at: datetime


class Message(SQLModel, table=True):
    """A kept message. Every row points to the ledger entry that allowed keeping it."""

    __table_args__ = (
        UniqueConstraint("space_id", "platform_message_id", name="uq_message_platform"),
        Index("ix_message_community_sent", "community_id", "sent_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    community_id: str = Field(foreign_key="community.id", max_length=64)
    space_id: int = Field(foreign_key="space.id")
    platform_message_id: str = Field(max_length=255)
    author_id: int = Field(foreign_key="person.id", index=True)
    consent_event_id: int = Field(foreign_key="consent_event.id")
    sent_at: datetime
    edited_at: datetime | None = None
    text: str = Field(sa_column=Column(ChatText, nullable=False))
    # Space-joined, lower-cased segmenter tokens: what full-text search indexes.
    tokens: str = Field(sa_column=Column(Text, nullable=False))
    reply_to: str | None = Field(default=None, max_length=255)
    media_kind: str | None = Field(default=None, max_length=32)
    source: str = Field(default="live", max_length=32)
    kept_at: datetime


class MessageVersion(SQLModel, table=True):
    """An earlier text of an edited message."""

    __tablename__ = "message_version"

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", index=True)
    text: str = Field(sa_column=Column(ChatText, nullable=False))
    valid_from: datetime
    replaced_at: datetime


class HeldMessage(SQLModel, table=True):
    """A tagged message whose author has not answered yet: kept apart, never searched or shown,
    released into ``message`` on yes, destroyed on no or when ``expires_at`` passes."""

    __tablename__ = "held_message"
    __table_args__ = (UniqueConstraint("space_id", "platform_message_id", name="uq_held_platform"),)

    id: int | None = Field(default=None, primary_key=True)
    community_id: str = Field(foreign_key="community.id", max_length=64)
    space_id: int = Field(foreign_key="space.id")
    platform_message_id: str = Field(max_length=255)
    author_id: int = Field(foreign_key="person.id", index=True)
    sent_at: datetime
    text: str = Field(sa_column=Column(ChatText, nullable=False))
    reply_to: str | None = Field(default=None, max_length=255)
    media_kind: str | None = Field(default=None, max_length=32)
    held_at: datetime
    expires_at: datetime = Field(index=True)


class Media(SQLModel, table=True):
    """A file kept with a message or with a held copy, stored by content under ``media_dir``.

    Points at the message by its platform id, like ``Tag``: a held photo stays attached when
    its message is released, and goes when the last row for its key is erased. One message
    has at most one file (Telegram and Matrix send an album as several messages)."""

    __table_args__ = (
        UniqueConstraint("space_id", "platform_message_id", name="uq_media_message"),
        Index("ix_media_hash", "community_id", "sha256"),
    )

    id: int | None = Field(default=None, primary_key=True)
    community_id: str = Field(foreign_key="community.id", max_length=64)
    space_id: int = Field(foreign_key="space.id")
    platform_message_id: str = Field(max_length=255)
    kind: str = Field(max_length=16)
    mime: str = Field(max_length=100)
    size: int
    width: int | None = None
    height: int | None = None
    duration: int | None = None  # seconds, for voice, audio and video
    sha256: str = Field(max_length=64)
    has_thumbnail: bool = False
    # The sender's own file name; platform-made names ("photo_12@05-12-2026.jpg") are not kept.
    file_name: str | None = Field(default=None, max_length=255)
    stored_at: datetime


class Story(SQLModel, table=True):
    """A named thread of memory ("the lift fight") that tags can file messages into."""

    __table_args__ = (UniqueConstraint("community_id", "name", name="uq_story_name"),)

    id: int | None = Field(default=None, primary_key=True)
    community_id: str = Field(foreign_key="community.id", max_length=64)
    name: str = Field(max_length=200)
    created_by: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime


class Tag(SQLModel, table=True):
    """Someone asked to keep a message. Points at the message by its platform id, so a tag can
    wait on a held message and survive its release."""

    __table_args__ = (
        UniqueConstraint(
            "space_id", "platform_message_id", "tagger_id", name="uq_tag_message_tagger"
        ),
        Index("ix_tag_message", "space_id", "platform_message_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    community_id: str = Field(foreign_key="community.id", max_length=64)
    space_id: int = Field(foreign_key="space.id")
    platform_message_id: str = Field(max_length=255)
    # None for tags read from an export that does not say who reacted.
    tagger_id: int | None = Field(default=None, foreign_key="person.id")
    story_id: int | None = Field(default=None, foreign_key="story.id")
    method: str = Field(max_length=16)
    created_at: datetime


class Post(SQLModel, table=True):
    """The bot's own posts (digests, memories), unique per community, kind and period.

    ``status``: ``pending`` (claimed, being sent), ``retrying`` (a stale pending claim taken
    over once, see ``archiver.posts``) or ``sent``.
    """

    __table_args__ = (UniqueConstraint("community_id", "kind", "period", name="uq_post_period"),)

    id: int | None = Field(default=None, primary_key=True)
    community_id: str = Field(foreign_key="community.id", max_length=64)
    kind: str = Field(max_length=32)
    period: str = Field(max_length=32)
    status: str = Field(default="pending", max_length=16)
    created_at: datetime
    sent_at: datetime | None = None


class Prompt(SQLModel, table=True):
    """A question the bot asked in a chat (consent, "may we keep this?", forget confirmation).

    Stored so that an answer — a Telegram button press or a Matrix reaction, possibly after a
    restart — can be checked against the one person it is for.
    """

    id: int | None = Field(default=None, primary_key=True)
    community_id: str = Field(foreign_key="community.id", max_length=64)
    # None for a prompt in a private chat (consent or forget, about one community).
    space_id: int | None = Field(default=None, foreign_key="space.id")
    kind: str = Field(max_length=16)
    subject: str = Field(max_length=300)  # "platform:user_id" of the only person who may answer
    target_message_id: str | None = Field(default=None, max_length=255)
    # The bot's own message carrying the prompt, once sent (Matrix answers are reactions on it).
    platform_message_id: str | None = Field(default=None, max_length=255, index=True)
    created_at: datetime
    answered_at: datetime | None = None
    answer: str | None = Field(default=None, max_length=16)


class PostedMemory(SQLModel, table=True):
    """A kept message the bot posted as an "on this day" memory, and when: the same memory is
    not posted again within the community's ``memory_repeat_days``. Erasing the message
    removes these rows too (``ON DELETE CASCADE``)."""

    __tablename__ = "posted_memory"
    __table_args__ = (Index("ix_posted_memory_community_message", "community_id", "message_id"),)

    id: int | None = Field(default=None, primary_key=True)
    community_id: str = Field(foreign_key="community.id", max_length=64)
    message_id: int = Field(foreign_key="message.id", ondelete="CASCADE")
    period: str = Field(max_length=32)  # the post's period: the local date, "2026-11-27"
    posted_at: datetime


class Steward(SQLModel, table=True):
    """A person who looks after the community's archive.

    A steward is an ordinary person row (their accounts and consent; no name unless they said
    yes). ``reason`` says how they became one: ``inviter`` (invited the bot to a Matrix
    room), ``room_admin`` (power level ≥ 50 in a Matrix room), ``group_admin`` (an
    administrator of a Telegram group) or ``cli``; ``space_id`` is the chat where that was
    so (none for ``cli``).
    """

    __table_args__ = (UniqueConstraint("community_id", "person_id", name="uq_steward_person"),)

    id: int | None = Field(default=None, primary_key=True)
    community_id: str = Field(foreign_key="community.id", max_length=64)
    person_id: int = Field(foreign_key="person.id", index=True)
    reason: str = Field(max_length=16)
    space_id: int | None = Field(default=None, foreign_key="space.id")
    since: datetime


class PolicyEvent(SQLModel, table=True):
    """The append-only policy ledger: one row per decided change of a community's policy
    (``media``, ``site``, ``digest``, ``on_this_day``, ``hold_hours``, ``retention``) or of its
    stewards (``steward``/``unsteward``, ``value`` the person id), never updated or deleted.

    ``vote_id`` names the vote that decided it; ``actor`` says who else did (``cli`` with the
    operator's evidence, or a steward stepping down)."""

    __tablename__ = "policy_event"

    id: int | None = Field(default=None, primary_key=True)
    community_id: str = Field(foreign_key="community.id", index=True, max_length=64)
    policy: str = Field(max_length=16)
    value: str = Field(max_length=64)
    old_value: str | None = Field(default=None, max_length=64)
    vote_id: int | None = Field(default=None, foreign_key="vote.id")
    actor: str = Field(max_length=300)
    evidence: str | None = None
    at: datetime


class Vote(SQLModel, table=True):
    """A proposal put to the community, proposed in one of its chats (``space_id``) and
    polled in each of them (``VotePoll``).

    ``roll`` is how many people could vote when it opened (residents at ``all`` or
    ``tagged``, and stewards), ``needed`` the quorum from it. ``result`` is set when it
    closes: ``passed``, ``rejected`` or ``no_quorum``."""

    id: int | None = Field(default=None, primary_key=True)
    community_id: str = Field(foreign_key="community.id", index=True, max_length=64)
    space_id: int = Field(foreign_key="space.id")
    policy: str = Field(max_length=16)
    value: str = Field(max_length=64)
    proposed_by: int = Field(foreign_key="person.id")
    roll: int
    needed: int
    opened_at: datetime
    closes_at: datetime = Field(index=True)
    closed_at: datetime | None = None
    result: str | None = Field(default=None, max_length=16)
    yes: int = 0
    no: int = 0


class VotePoll(SQLModel, table=True):
    """A vote's poll in one chat of its community: a community spanning a Telegram group
    and a Matrix room votes in both, one ballot per person whichever poll they answer.
    ``poll_id`` and ``poll_message_id`` are the platform's (the Telegram poll and its
    message; the Matrix ``m.poll.start`` event, both ids); None: the chat refused the poll
    (it is not offered there again)."""

    __tablename__ = "vote_poll"
    __table_args__ = (UniqueConstraint("vote_id", "space_id", name="uq_vote_poll_space"),)

    id: int | None = Field(default=None, primary_key=True)
    vote_id: int = Field(foreign_key="vote.id", index=True)
    space_id: int = Field(foreign_key="space.id")
    poll_id: str | None = Field(default=None, max_length=255, index=True)
    poll_message_id: str | None = Field(default=None, max_length=255)


class Ballot(SQLModel, table=True):
    """A person's latest answer in a vote (``yes``/``no``; ``None``: retracted). Stored as
    it comes, so a restart loses none; one row per person, so linked accounts vote once."""

    __table_args__ = (UniqueConstraint("vote_id", "person_id", name="uq_ballot_person"),)

    id: int | None = Field(default=None, primary_key=True)
    vote_id: int = Field(foreign_key="vote.id", index=True)
    person_id: int = Field(foreign_key="person.id")
    answer: str | None = Field(default=None, max_length=8)
    at: datetime


class LinkCode(SQLModel, table=True):
    """A one-time code that links two accounts of one resident (``link`` in one private
    chat, ``link CODE`` from the other account within ``expires_at``); deleted once used."""

    __tablename__ = "link_code"

    code: str = Field(primary_key=True, max_length=16)
    platform: str = Field(max_length=16)
    user_id: str = Field(max_length=255)
    expires_at: datetime


class PublicChoice(SQLModel, table=True):
    """A person who chose ``consent public``: their kept messages may also be on a public
    website, if their community decides to have one. Their own choice (in the consent
    ledger, field ``public``); no vote makes it. No row: residents only."""

    __tablename__ = "public_choice"

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    since: datetime
