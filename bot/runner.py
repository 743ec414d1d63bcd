"""``community-memory run``: every configured bot in one asyncio process.

Start-up opens (and upgrades) the archive, registers the configured communities, and starts
each platform's adapter; SIGINT and SIGTERM stop them cleanly — each adapter finishes the
update in hand, confirms what it handled, and closes. Held messages whose wait ran out are
purged every few minutes (APScheduler).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Awaitable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from archiver.archive import Archive, open_archive
from archiver.community import ensure_community
from archiver.errors import ConfigError
from archiver.preservation import purge_expired
from bot.config import Config
from bot.router import Router

log = logging.getLogger(__name__)

PURGE_MINUTES = 10


def prepare(config: Config) -> Archive:
    """Open the archive and register every configured community and space."""
    archive = open_archive(config.storage.url)
    try:
        for community in config.communities:
            ensure_community(archive, community.to_settings())
    except BaseException:
        archive.close()
        raise
    return archive


async def run_bots(config: Config, *, stop: asyncio.Event | None = None) -> None:
    """Run until SIGINT/SIGTERM (or ``stop`` is set)."""
    if config.telegram is None and config.matrix is None:
        raise ConfigError(
            "no platform is configured: add a [telegram] or [matrix] section", path=config.path
        )
    # python-telegram-bot 22 warns unless durations are timedeltas; say we want them.
    os.environ["PTB_TIMEDELTA"] = os.environ.get("PTB_TIMEDELTA") or "true"
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Not possible outside the main thread (tests) or on Windows: Ctrl-C still works there.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    try:
        archive = await asyncio.to_thread(prepare, config)
        try:
            await _run(config, archive, stop)
        finally:
            await asyncio.to_thread(archive.close)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)


async def _run(config: Config, archive: Archive, stop: asyncio.Event) -> None:
    """The scheduler and every configured adapter, until ``stop``."""
    router = Router(archive)
    scheduler = AsyncIOScheduler()
    # A plain function: APScheduler runs it in its thread pool, off the event loop. (A lambda
    # returning a coroutine would run in a thread too and its coroutine never be awaited.)
    # The first run is now, for what expired while the bot was down.
    scheduler.add_job(
        purge_expired,
        "interval",
        args=[archive],
        minutes=PURGE_MINUTES,
        next_run_time=datetime.now(UTC),
        id="purge-held",
        coalesce=True,
        max_instances=1,
    )
    scheduler.start()
    tasks: list[Awaitable[None]] = []
    try:
        if config.telegram is not None:
            from bot.telegram.adapter import TelegramAdapter

            urls = telegram_urls(config.telegram.base_url)
            adapter = TelegramAdapter(
                router,
                config.telegram.token,
                base_url=urls.get("base_url", ""),
                base_file_url=urls.get("base_file_url", ""),
            )
            tasks.append(adapter.run(stop))
        if config.matrix is not None:
            log.warning("the Matrix adapter is not in this release; [matrix] is ignored")
        log.info("starting; stop with Ctrl-C")
        await asyncio.gather(*tasks)
    finally:
        scheduler.shutdown(wait=False)


def telegram_urls(base_url: str) -> dict[str, str]:
    """A self-hosted Bot API server: ``base_url`` like ``http://host:8081/bot``; files are
    served beside it under ``/file/bot``."""
    if not base_url:
        return {}
    base = base_url.rstrip("/")
    root = base[: -len("/bot")] if base.endswith("/bot") else base
    return {"base_url": base, "base_file_url": f"{root}/file/bot"}
