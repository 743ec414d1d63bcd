"""bot.chat.media_queue at a stop: a file whose download is done but whose keeping is still in
the database (a thread, which cancelling the worker cannot stop) is waited for, so nothing
runs on against the archive once the runner closes it."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest

from archiver.archive import Archive
from archiver.consent import Level
from archiver.events import MediaRef
from archiver.ingest import ingest_message
from archiver.media import MediaSettings
from bot.chat.media_queue import MediaQueue
from bot.chat.messages import Reply
from bot.chat.router import Router
from storage.models import Media
from tests.conftest import CHAT, message, rows, say
from tests.test_media_files import photo

PHOTO = MediaRef("photo", "file-1")


async def test_a_stop_waits_for_the_file_being_kept(archive: Archive, tmp_path: Path) -> None:
    if not archive.db.is_sqlite:
        pytest.skip("holds SQLite's write lock to keep the worker in its database step")
    archive.media = MediaSettings(tmp_path / "media", max_bytes={}, quota_bytes=None)
    say(archive, 1, Level.ALL)
    ingest_message(archive, message(1, 1, "院子里的桂花开了"))
    downloaded = asyncio.Event()

    async def fetch(_ref: MediaRef) -> bytes:  # the platform's file server
        downloaded.set()
        return photo()

    async def send(_replies: Sequence[Reply]) -> None:
        return None

    queue = MediaQueue(Router(archive), fetch, send)
    queue.start()
    assert archive.db.sqlite_path is not None
    writer = sqlite3.connect(archive.db.sqlite_path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another writer: keeping the file has to wait for it
    try:
        assert queue.offer(CHAT, "1", PHOTO)
        await asyncio.wait_for(downloaded.wait(), 10)
        await asyncio.sleep(0.2)  # the worker is now in keep_file, waiting for the lock
        asyncio.get_running_loop().call_later(0.5, writer.execute, "COMMIT")
        await queue.stop(timeout=0.05)  # gives up on the queue at once, cancels the worker
        assert len(rows(archive, Media)) == 1, "the file's keeping ended before stop returned"
    finally:
        writer.close()
