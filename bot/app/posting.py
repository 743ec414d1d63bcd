"""Posting digests and memories to a community's chats, once.

Each post goes: look in the post log (already there → nothing to do) → build the content →
``claim`` → send to every active chat of the community on every platform that has a sender →
``mark_sent``. Building comes before claiming so that an empty day or a quiet week the
community chose not to hear about leaves no trace in the log; the claim is what makes the post
unique, so two instances that both build still send once. The decisions (what a digest says,
which memories, whose names) are the archiver's; this module only carries them out.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from archiver.archive import Archive
from archiver.community import CommunitySettings, active_spaces
from archiver.digest import IsoWeek, build_digest, render, weekdays
from archiver.errors import CommunityMemoryError
from archiver.events import ChatRef
from archiver.media_files import read_file
from archiver.posts import (
    DIGEST,
    ON_THIS_DAY,
    claim,
    day_period,
    digest_period,
    mark_sent,
    memories_to_post,
    release,
    render_memories,
    status,
)
from bot.chat.messages import PlatformError, Reply, Sender, SendRefusedError
from bot.chat.texts import text

log = logging.getLogger(__name__)


class Outcome(enum.StrEnum):
    """What became of one post."""

    SENT = "sent"  # delivered to at least one chat and recorded
    ALREADY = "already"  # the post log has it: sent before, or being sent by someone else
    NOTHING = "nothing"  # nothing to post (an empty day, a quiet week the community mutes)
    NO_CHATS = "no-chats"  # the community has no chat on a platform that is running


class PostError(CommunityMemoryError):
    """A post could not be delivered to any chat (its claim is released for another try)."""

    def __init__(self, community_id: str, kind: str, period: str, reason: str) -> None:
        self.community_id = community_id
        self.kind = kind
        self.period = period
        super().__init__(f"{kind} {period} of {community_id} was not posted: {reason}")


@dataclass(frozen=True, slots=True)
class Content:
    """A post ready to send."""

    kind: str
    period: str
    text: str
    picture: bytes | None = None
    memory_ids: tuple[int, ...] = ()
    # Residents' photos posted after the main post, each with its caption.
    photos: tuple[tuple[bytes, str], ...] = ()


class Poster:
    """Posts through the running platforms' senders (``{"telegram": adapter, …}``)."""

    def __init__(self, archive: Archive, senders: Mapping[str, Sender]) -> None:
        self.archive = archive
        self.senders = senders

    async def post_digest(
        self, settings: CommunitySettings, week: IsoWeek, *, now: datetime | None = None
    ) -> Outcome:
        """Post the weekly digest of ``week`` (with its picture when a font is found)."""
        period = digest_period(week)
        if await asyncio.to_thread(status, self.archive, settings.id, DIGEST, period):
            return Outcome.ALREADY
        content = await asyncio.to_thread(digest_content, self.archive, settings, week)
        return await self.deliver(settings, content, now=now)

    async def post_on_this_day(
        self, settings: CommunitySettings, day: date, *, now: datetime | None = None
    ) -> Outcome:
        """Post the memories of ``day`` (a local date); nothing on an empty day."""
        period = day_period(day)
        if await asyncio.to_thread(status, self.archive, settings.id, ON_THIS_DAY, period):
            return Outcome.ALREADY
        content = await asyncio.to_thread(memories_content, self.archive, settings, day, now)
        return await self.deliver(settings, content, now=now)

    async def deliver(
        self, settings: CommunitySettings, content: Content | None, *, now: datetime | None = None
    ) -> Outcome:
        """Claim → send to every chat → mark sent. Raises ``PostError`` when no chat got it."""
        if content is None:
            return Outcome.NOTHING
        chats = [
            ChatRef(space.platform, space.chat_id)
            for space in await asyncio.to_thread(active_spaces, self.archive, settings.id)
            if space.platform in self.senders
        ]
        if not chats:
            return Outcome.NO_CHATS
        kind, period = content.kind, content.period
        if not await asyncio.to_thread(claim, self.archive, settings.id, kind, period, now=now):
            return Outcome.ALREADY
        delivered, failures = 0, []
        for chat in chats:
            reply = Reply(chat=chat, text=content.text, picture=content.picture)
            try:
                await self.senders[chat.platform].send(reply)
            except PlatformError as exc:  # one chat failing must not keep the post from others
                # The platform's answer (the bot removed or muted, the network down), not a
                # bug: logged without a traceback. A bug is no PlatformError and goes up.
                why = f"refused ({exc.reason})" if isinstance(exc, SendRefusedError) else str(exc)
                log.warning(
                    "%s %s: not delivered to %s:%s: %s",
                    kind,
                    period,
                    chat.platform,
                    chat.chat_id,
                    why,
                )
                failures.append(f"{chat.platform}:{chat.chat_id}: {why}")
                continue
            delivered += 1
            for photo, caption in content.photos:
                try:
                    await self.senders[chat.platform].send(
                        Reply(chat=chat, text=caption, picture=photo)
                    )
                except PlatformError as exc:  # the post itself arrived: not a failure of it
                    log.warning("%s %s: a photo was not delivered: %s", kind, period, exc)
        if not delivered:
            await asyncio.to_thread(release, self.archive, settings.id, kind, period)
            raise PostError(settings.id, kind, period, "; ".join(failures))
        await asyncio.to_thread(
            functools.partial(
                mark_sent,
                self.archive,
                settings.id,
                kind,
                period,
                memory_ids=content.memory_ids,
                now=now,
            )
        )
        log.info("posted %s %s of %s to %d chat(s)", kind, period, settings.id, delivered)
        return Outcome.SENT


def digest_content(archive: Archive, settings: CommunitySettings, week: IsoWeek) -> Content | None:
    """The digest's text and picture; None for a quiet week the community chose not to hear
    about."""
    from archiver.picture import render_picture  # numpy and Pillow: only when posting

    digest = build_digest(archive, settings.id, week, quiet_note=settings.quiet_digest)
    if digest is None:
        return None
    say = functools.partial(text, settings.language)
    picture = None if digest.quiet else render_picture(digest, weekdays=weekdays(say))
    photos: tuple[tuple[bytes, str], ...] = ()
    if digest.photo is not None:
        data = read_file(archive, settings.id, digest.photo.sha256)
        author = digest.photo.author or say("neighbour")
        caption = (
            say("digest_photo", author=author, caption=digest.photo.caption)
            if digest.photo.caption
            else say("digest_photo_bare", author=author)
        )
        photos = ((data, caption),) if data is not None else ()
    return Content(DIGEST, digest_period(week), render(digest, say), picture, photos=photos)


def memories_content(
    archive: Archive, settings: CommunitySettings, day: date, now: datetime | None = None
) -> Content | None:
    """The day's memories as a post; None on an empty day."""
    memories = memories_to_post(
        archive,
        settings.id,
        day,
        repeat_days=settings.memory_repeat_days,
        month_fallback=settings.on_this_day_month_fallback,
        now=now or datetime.now(UTC),
    )
    if memories is None:
        return None
    say = functools.partial(text, settings.language)
    # A memory with a photo is posted as that photo, the memories as its caption.
    photo = next(
        (
            data
            for m in memories.messages
            if m.file is not None and m.file.kind == "photo"
            for data in [read_file(archive, settings.id, m.file.sha256)]
            if data is not None
        ),
        None,
    )
    return Content(
        ON_THIS_DAY,
        day_period(day),
        render_memories(memories, say),
        picture=photo,
        memory_ids=tuple(memories.message_ids),
    )
