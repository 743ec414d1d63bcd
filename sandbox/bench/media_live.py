"""The bench's "live text while a 20 MB video downloads" phase (DESIGN.md's budget: the live
median unchanged, ≤ 2 ms).

The bot's real file path runs in a thread of its own with an event loop, as the adapter's
media queue does: python-telegram-bot's ``Bot.get_file`` and ``download_as_bytearray``
against the project's Bot API emulator (serving from the same process: pessimistic, Telegram's
servers are elsewhere), then ``keep_file`` off the loop — hash, stage the 20 MB under a
temporary name, record the row. Video after video, until the measurement ends. Meanwhile this
thread stores live texts through ``ingest_message`` exactly as the plain live phase does, and
times each.
"""

from __future__ import annotations

import asyncio
import os
import struct
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from telegram import Bot

from archiver.archive import Archive
from archiver.events import AccountRef, ChatRef, MediaRef, MessageEvent
from archiver.ingest import ingest_message
from archiver.media import MediaSettings
from archiver.media_files import FileOutcome, keep_file
from sandbox.emulator import BotApiEmulator

VIDEO_BYTES = 20 * 1024 * 1024 - 4096  # just under what a bot may download
TOKEN = "123456:BENCH"


@dataclass
class Downloads:
    """What the background thread did while the texts were timed."""

    stop: threading.Event = field(default_factory=threading.Event)
    ready: threading.Event = field(default_factory=threading.Event)
    kept: int = 0
    seconds: float = 0.0
    error: BaseException | None = None


def timed_ingest(
    archive: Archive,
    chat: ChatRef,
    author: AccountRef,
    texts: list[str],
    prefix: str,
    base: datetime,
    *,
    pause: float = 0.0,
) -> list[float]:
    """Each text stored as a live message (``ingest_message``, one second apart from
    ``base``), and how long each took; ``pause`` seconds between them."""
    timings: list[float] = []
    for index, text in enumerate(texts):
        event = MessageEvent(
            chat=chat,
            message_id=f"{prefix}-{index}",
            author=author,
            sent_at=base + timedelta(seconds=index),
            text=text,
        )
        started = time.perf_counter()
        ingest_message(archive, event)
        timings.append(time.perf_counter() - started)
        if pause:
            time.sleep(pause)
    return timings


def timed_ingest_while_downloading(
    archive: Archive,
    chat_id: str,
    author: AccountRef,
    texts: list[str],
    folder: Path,
) -> tuple[list[float], Downloads]:
    """Each text's ``ingest_message`` time while videos download and are kept."""
    archive.media = MediaSettings(folder / "bench-media")
    chat = ChatRef("telegram", chat_id)
    downloads = Downloads()
    worker = threading.Thread(
        target=lambda: asyncio.run(_download_videos(archive, chat, author, downloads)),
        name="media-downloads",
    )
    worker.start()
    if not downloads.ready.wait(30):
        downloads.stop.set()
        worker.join()
        raise RuntimeError(f"the media phase's emulator did not start: {downloads.error}")
    base = datetime(2031, 1, 1, tzinfo=UTC)
    try:
        # texts arrive over time, not all at once
        timings = timed_ingest(archive, chat, author, texts, "live-media", base, pause=0.002)
    finally:
        downloads.stop.set()
        worker.join()
        archive.media = None
    if downloads.error is not None:
        raise downloads.error
    return timings, downloads


def phone_video(media_data: bytes) -> bytes:
    """An MP4's layout around ``media_data``: ``ftyp``, a ``moov`` whose ``udta`` says where
    it was filmed (``©xyz``), then the ``mdat`` — what ``archiver.video_metadata`` walks."""

    def box(kind: bytes, content: bytes) -> bytes:
        return struct.pack(">I", 8 + len(content)) + kind + content

    place = box(b"\xa9xyz", struct.pack(">HH", 18, 0x15C7) + b"+31.2304+121.4737/")
    moov = box(b"moov", box(b"mvhd", bytes(100)) + box(b"udta", place))
    return box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41") + moov + box(b"mdat", media_data)


async def _download_videos(
    archive: Archive, chat: ChatRef, author: AccountRef, downloads: Downloads
) -> None:
    try:
        async with BotApiEmulator(bot_username="bench_bot", token=TOKEN) as emu:
            resident = emu.add_user("Resident")
            group = emu.create_group("Bench", members=[resident])
            async with Bot(TOKEN, base_url=emu.base_url, base_file_url=emu.base_file_url) as bot:
                downloads.ready.set()
                number = 0
                started = time.perf_counter()
                while not downloads.stop.is_set():
                    number += 1
                    # Different bytes each time: every video is a new file to hash and write,
                    # laid out as a phone's MP4 (its filming place blanked on the way in).
                    video = phone_video(os.urandom(64) + bytes(VIDEO_BYTES - 64))
                    sent = emu.user_sends_file(group, resident, video, "video")
                    assert sent.attachment is not None
                    file_id = str(sent.attachment[1]["file_id"])
                    message_id = f"video-{number}"
                    await asyncio.to_thread(_keep_message, archive, chat, author, message_id)
                    file = await bot.get_file(file_id)
                    data = bytes(await file.download_as_bytearray())
                    result = await asyncio.to_thread(
                        keep_file, archive, chat, message_id, data, MediaRef("video", file_id)
                    )
                    if result.outcome is FileOutcome.STORED:
                        downloads.kept += 1
                downloads.seconds = time.perf_counter() - started
    except BaseException as exc:  # reported to the measuring thread
        downloads.error = exc
        downloads.ready.set()


def _keep_message(archive: Archive, chat: ChatRef, author: AccountRef, message_id: str) -> None:
    ingest_message(
        archive,
        MessageEvent(
            chat=chat,
            message_id=message_id,
            author=author,
            sent_at=datetime(2031, 6, 1, tzinfo=UTC),
            text="",
            media_kind="video",
        ),
    )
