"""Downloading kept messages' files without ever holding up the live text path.

An adapter handles a message (its text is decided and committed by the router) and then only
*offers* the message's file here: a bounded queue, worked through by one task per adapter.
The worker asks the router whether the file is wanted at all (the message kept or held,
within the limits) before a byte is downloaded, downloads it with the adapter's ``fetch``,
and hands the bytes to the router, which keeps them under the same consent as the text. So a
20 MB video downloads while the next texts are stored as fast as ever (``bench`` measures
it); when the queue is full (a flood of files), further files are skipped and logged — their
messages' texts are kept regardless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from archiver.events import ChatRef, MediaRef
from bot.chat.messages import FileTooLargeError, PlatformError, Reply
from bot.chat.router import Router

log = logging.getLogger(__name__)

QUEUE_SIZE = 256
FINISH_SECONDS = 10.0  # at a stop, how long the files already offered may still take

T = TypeVar("T")
Fetch = Callable[[MediaRef], Awaitable[bytes]]
Send = Callable[[Sequence[Reply]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class FileJob:
    """A message's file to fetch, if the archive wants it."""

    chat: ChatRef
    message_id: str
    ref: MediaRef


class MediaQueue:
    """One adapter's file downloads, one at a time, in the order offered."""

    def __init__(self, router: Router, fetch: Fetch, send: Send, *, size: int = QUEUE_SIZE):
        self._router = router
        self._fetch = fetch
        self._send = send
        self._queue: asyncio.Queue[FileJob] = asyncio.Queue(size)
        self._task: asyncio.Task[None] | None = None
        # The router call running in a thread now, if any: cancelling the worker cannot stop
        # it, so a stop waits for it rather than let it run on against a closed archive.
        self._in_thread: asyncio.Future[Any] | None = None

    def offer(self, chat: ChatRef, message_id: str, ref: MediaRef) -> bool:
        """Queue a file; False (and logged) when the queue is full."""
        try:
            self._queue.put_nowait(FileJob(chat, message_id, ref))
        except asyncio.QueueFull:
            log.warning("too many files waiting: the %s of %s is not kept", ref.kind, message_id)
            return False
        return True

    def start(self) -> None:
        """Start the worker (in the running event loop)."""
        if self._task is None:
            self._task = asyncio.create_task(self._work(), name="media-downloads")

    async def idle(self) -> None:
        """Wait until every file offered so far has been dealt with."""
        await self._queue.join()

    async def stop(self, timeout: float = FINISH_SECONDS) -> None:
        """Let the files already offered finish for up to ``timeout`` seconds, then stop."""
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), timeout)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self._in_thread is not None:
            await asyncio.gather(self._in_thread, return_exceptions=True)
            self._in_thread = None

    async def _off_loop(self, function: Callable[..., T], *args: object) -> T:
        """``function(*args)`` in a thread (the router's database work blocks); shielded, so
        that a stop that cancels the worker can still wait for it to end."""
        call = asyncio.ensure_future(asyncio.to_thread(function, *args))
        self._in_thread = call
        result = await asyncio.shield(call)
        self._in_thread = None
        return result

    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            try:
                await self._handle(job)
            except Exception:  # one bad file must not stop the others
                log.exception("the %s of message %s was not kept", job.ref.kind, job.message_id)
            finally:
                self._queue.task_done()

    async def _handle(self, job: FileJob) -> None:
        router = self._router
        wanted, replies = await self._off_loop(
            router.file_wanted, job.chat, job.message_id, job.ref
        )
        if not wanted:
            await self._send(replies)
            return
        try:
            data = await self._fetch(job.ref)
        except FileTooLargeError as exc:
            refusal = await self._off_loop(
                router.file_too_large, job.chat, job.message_id, job.ref, exc.limit
            )
            await self._send(refusal)
            return
        except PlatformError as exc:
            log.warning(
                "the %s of %s could not be downloaded: %s", job.ref.kind, job.message_id, exc
            )
            return
        replies = await self._off_loop(router.keep_file, job.chat, job.message_id, data, job.ref)
        await self._send(replies)
