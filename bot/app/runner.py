"""``community-memory run``: every configured bot in one asyncio process.

Start-up opens (and upgrades) the archive, registers the configured communities, and starts
each platform's adapter; SIGINT and SIGTERM stop them cleanly — each adapter finishes the
update in hand, confirms what it handled, and closes. Held messages whose wait ran out are
purged every few minutes (APScheduler), and each community's digest and on-this-day memories
are posted on its schedule (``bot/app/schedule.py``) once the adapters are connected.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
    JobEvent,
    JobSubmissionEvent,
)
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from archiver.archive import Archive, open_archive
from archiver.community import CommunitySettings, community_ids, ensure_community, load_community
from archiver.errors import ConfigError
from archiver.media_upgrade import clean_stored_files
from archiver.policy import current_policy, with_policy
from archiver.preservation import purge_expired
from archiver.retention import apply_retention
from archiver.votes import close_due
from bot.app.config import Config
from bot.app.schedule import PostSchedule
from bot.chat.messages import PlatformError, Sender
from bot.chat.router import Router

log = logging.getLogger(__name__)

RETENTION_HOURS = 6
VOTE_CHECK_SECONDS = 60.0  # how often votes past their deadline are looked for
PURGE_MINUTES = 10
# Seconds before setting up the scheduled posts again after it failed (doubling, at most 5 min).
SCHEDULE_RETRY_S = 5.0
JOBS_STOP_TIMEOUT_S = 60.0  # how long a stop waits for the scheduled jobs running then
# Packages that the platform libraries import whenever they are installed, for features the
# bot never uses: python-telegram-bot imports ``cryptography`` for Telegram Passport, and
# peewee (nio's key store) ``psycopg`` for a PostgreSQL backend nio never has. The test extras
# (Synapse needs cryptography) and the postgres extra install them; loaded for nothing they
# cost an idle bot some 16 MB (docs/benchmark.md). An archive on PostgreSQL has imported
# psycopg before the adapters are, and then it is left alone.
UNUSED_OPTIONAL = ("cryptography", "psycopg")


def prepare(config: Config) -> Archive:
    """Open the archive, register every configured community and space, and clean the
    files an earlier release stored as they came (``archiver.media_upgrade``)."""
    archive = open_archive(config.storage.url, media=config.media_settings())
    try:
        for community in config.communities:
            ensure_community(archive, community.to_settings())
        clean_stored_files(archive)  # once per media folder, after an upgrade
    except BaseException:
        archive.close()
        raise
    return archive


class RunningJobs:
    """How many scheduled job runs have started and not finished, so that a stop can wait for
    them before the archive is closed: APScheduler's own shutdown only cancels a coroutine
    job (not the thread it awaits) and cannot stop a job in a thread, which would go on using
    a closed archive. Counted from the scheduler's events, which it dispatches on the event
    loop: one ``submitted`` per run, then one ``executed``, ``error`` or ``missed``."""

    def __init__(self, scheduler: AsyncIOScheduler) -> None:
        self._running = 0
        self._changed = asyncio.Event()
        scheduler.add_listener(
            self._on_event,
            EVENT_JOB_SUBMITTED | EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED,
        )

    def _on_event(self, event: JobEvent | JobSubmissionEvent) -> None:
        if event.code == EVENT_JOB_SUBMITTED:
            assert isinstance(event, JobSubmissionEvent)
            self._running += len(event.scheduled_run_times)
        else:
            self._running = max(0, self._running - 1)
        self._changed.set()

    async def finished(self, timeout: float) -> bool:
        """Wait (at most ``timeout`` seconds) until no job is running; False if one still is."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self._running:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return False
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return True


async def run_bots(config: Config, *, stop: asyncio.Event | None = None) -> None:
    """Run until SIGINT/SIGTERM (or ``stop`` is set)."""
    if config.telegram is None and config.matrix is None:
        raise ConfigError(
            "no platform is configured: add a [telegram] or [matrix] section", path=config.path
        )
    config.require_credentials()
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
    router = Router(archive, configured=[c.to_settings() for c in config.communities])
    scheduler = AsyncIOScheduler()
    running = RunningJobs(scheduler)
    # A new vote's other chats get their polls at once, not at the next check ("votes").
    router.vote_opened = functools.partial(run_job_now, scheduler, "votes")
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
    tasks: list[Awaitable[None]] = []
    # Platform → adapter, for the scheduled posts (bot/app/schedule.py), and its "connected" event.
    senders: dict[str, Sender] = {}
    ready: dict[str, asyncio.Event] = {}
    posts: asyncio.Future[PostSchedule | None] | None = None
    try:
        if config.telegram is not None:
            with without_unused_optional():
                from bot.platforms.telegram.adapter import TelegramAdapter

            urls = telegram_urls(config.telegram.base_url)
            adapter = TelegramAdapter(
                router,
                config.telegram.token,
                base_url=urls.get("base_url", ""),
                base_file_url=urls.get("base_file_url", ""),
            )
            tasks.append(adapter.run(stop))
            senders["telegram"], ready["telegram"] = adapter, adapter.ready
        if config.matrix is not None:
            with without_unused_optional():
                from bot.platforms.matrix.adapter import MatrixAdapter

            matrix = MatrixAdapter(router, config.matrix)
            tasks.append(matrix.run(stop))
            senders["matrix"], ready["matrix"] = matrix, matrix.ready
        # Votes are polled in every chat of their community; those whose deadline passed are
        # closed, tallied and announced (archiver.votes).
        scheduler.add_job(
            tend_votes,
            "interval",
            args=[archive, router, senders],
            seconds=VOTE_CHECK_SECONDS,
            next_run_time=datetime.now(UTC),
            id="votes",
            coalesce=True,
            max_instances=1,
        )
        # Communities that decided a retention have their oldest kept messages erased.
        scheduler.add_job(
            retention_check,
            "interval",
            args=[archive],
            hours=RETENTION_HOURS,
            next_run_time=datetime.now(UTC),
            id="retention",
            coalesce=True,
            max_instances=1,
        )
        scheduler.start()
        log.info("starting; stop with Ctrl-C")
        posts = asyncio.ensure_future(
            _schedule_posts_retrying(config, archive, scheduler, senders, ready, stop)
        )
        await asyncio.gather(*tasks)
    finally:
        scheduler.pause()
        if posts is not None:
            if posts.done() and not posts.cancelled() and posts.exception() is None:
                schedule = posts.result()
                if schedule is not None:
                    await schedule.drain()
            posts.cancel()
            await asyncio.gather(posts, return_exceptions=True)
        # Paused, the scheduler starts no new run; let the ones in flight end before the
        # archive they use is closed.
        if not await running.finished(JOBS_STOP_TIMEOUT_S):
            log.warning("stopping with a scheduled job still running")
        scheduler.shutdown(wait=False)


def run_job_now(scheduler: AsyncIOScheduler, job_id: str) -> None:
    """Bring a scheduled job's next run forward to now (callable from any thread). While
    the bot stops there may be no job left to run: its next start runs it anyway."""
    try:
        scheduler.modify_job(job_id, next_run_time=datetime.now(UTC))
    except Exception as exc:
        log.info("the %s job was not run early: %s", job_id, exc)


def retention_check(archive: Archive) -> None:
    """Apply every community's decided retention (archiver.retention); a plain function,
    run in the scheduler's thread pool. Never raises: logged instead."""
    for community_id in community_ids(archive):
        try:
            apply_retention(archive, community_id)
        except Exception:
            log.exception("retention of %s could not be applied", community_id)


async def tend_votes(archive: Archive, router: Router, senders: dict[str, Sender]) -> None:
    """Open each open vote's poll in the other chats of its community (a community spanning
    a Telegram group and a Matrix room votes in both), then close the votes whose deadline
    passed: each is tallied and decided once (in the archive), its polls ended and its result
    said in every chat that had it. Never raises: a chat that cannot be told is logged — the
    decision stands."""
    try:
        wanted = await asyncio.to_thread(router.polls_to_open, tuple(senders))
    except Exception:
        log.exception("votes: cannot look for the polls still to open")
        wanted = []
    for reply in wanted:
        try:
            await senders[reply.chat.platform].send(reply)
        except PlatformError as exc:
            log.warning("a vote's poll was not opened in %s: %s", reply.chat.chat_id, exc)
    try:
        closed = await asyncio.to_thread(close_due, archive)
    except Exception:
        log.exception("votes: cannot close the votes that are due")
        return
    for vote in closed:
        log.info("vote %s of %s closed: %s", vote.vote_id, vote.community_id, vote.result)
        said = await asyncio.to_thread(router.vote_closed, vote)
        for poll, result in zip(vote.polls, said, strict=True):
            sender = senders.get(poll.chat.platform)
            if sender is None:
                continue
            try:
                if poll.poll_message_id is not None:
                    await sender.close_poll(poll.chat, poll.poll_message_id)
                await sender.send(result)
            except PlatformError as exc:
                log.warning("vote %s: %s was not told: %s", vote.vote_id, poll.chat.chat_id, exc)


async def _schedule_posts_retrying(
    config: Config,
    archive: Archive,
    scheduler: AsyncIOScheduler,
    senders: dict[str, Sender],
    ready: dict[str, asyncio.Event],
    stop: asyncio.Event,
) -> PostSchedule | None:
    """:func:`schedule_posts`, tried again (with the traceback in the log) until it works or
    the bot stops: a failure must neither pass unnoticed nor end the posts for this run; the
    scheduler's other jobs (purging held messages) go on meanwhile."""
    wait = SCHEDULE_RETRY_S
    while not stop.is_set():
        try:
            return await schedule_posts(config, archive, scheduler, senders, ready, stop)
        except Exception:
            log.exception("scheduled posts could not be set up; trying again in %.0f s", wait)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), wait)
        wait = min(wait * 2, 300.0)
    return None


async def schedule_posts(
    config: Config,
    archive: Archive,
    scheduler: AsyncIOScheduler,
    senders: dict[str, Sender],
    ready: dict[str, asyncio.Event],
    stop: asyncio.Event,
) -> PostSchedule | None:
    """Once every adapter is connected, add the digest and on-this-day jobs (and post what
    was missed while the bot was down): see bot/app/schedule.py. None if stopped first."""
    from bot.app.posting import Poster

    waits = [asyncio.ensure_future(event.wait()) for event in ready.values()]
    stopping = asyncio.ensure_future(stop.wait())
    try:
        while waits and not stop.is_set():
            await asyncio.wait({*waits, stopping}, return_when=asyncio.FIRST_COMPLETED)
            waits = [wait for wait in waits if not wait.done()]
    finally:
        for task in (*waits, stopping):
            task.cancel()
        await asyncio.gather(*waits, stopping, return_exceptions=True)
    if stop.is_set():
        return None
    configured = [community.to_settings() for community in config.communities]
    schedule = PostSchedule(
        Poster(archive, senders),
        functools.partial(community_settings, archive, configured),
        after_digest=functools.partial(refresh_site, archive, Path(config.site.out))
        if config.site.out
        else None,
    )
    schedule.install(scheduler, [with_policy(archive, settings) for settings in configured])
    log.info("scheduled posts: set up for %d configured communities", len(configured))
    return schedule


async def refresh_site(archive: Archive, out: Path, settings: CommunitySettings) -> None:
    """Rebuild a community's archive website in ``out/<community id>`` (``[site] out``),
    off the event loop; a failure is logged, never fatal to the bot."""
    from archiver.site.build import build_site, remove_site

    try:
        report = await asyncio.to_thread(build_site, archive, settings.id, out / settings.id)
    except Exception:
        log.exception("the archive website of %s was not rebuilt", settings.id)
        return
    log.info("archive website of %s: %s", settings.id, report.summary())
    # The public website (OUT/<id>-public), as the community decided: built while its policy
    # is `site = public`, removed when it no longer is.
    public = out / f"{settings.id}-public"
    try:
        if current_policy(archive, settings)["site"].value == "public":
            made = await asyncio.to_thread(
                functools.partial(build_site, archive, settings.id, public, public=True)
            )
            log.info("public website of %s: %s", settings.id, made.summary())
        elif await asyncio.to_thread(remove_site, public, settings.id):
            log.info("public website of %s removed: the community decided against it", settings.id)
    except Exception:
        log.exception("the public website of %s was not updated", settings.id)


def community_settings(
    archive: Archive, configured: list[CommunitySettings]
) -> list[CommunitySettings]:
    """Every community's settings: as configured, else as stored (a group that added the bot
    on its own has the defaults) — with what each community decided over them (a voted
    digest or on-this-day time takes effect at the schedule's next check)."""
    known = {settings.id for settings in configured}
    stored = [load_community(archive, cid) for cid in community_ids(archive) if cid not in known]
    return [with_policy(archive, settings) for settings in (*configured, *stored)]


@contextlib.contextmanager
def without_unused_optional() -> Iterator[None]:
    """While the platform libraries are imported, their optional imports of
    ``UNUSED_OPTIONAL`` fail as if those packages were not installed (``None`` in
    ``sys.modules`` is Python's documented way to say so); importing them works again after.
    Packages already imported are left alone."""
    blocked = [name for name in UNUSED_OPTIONAL if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


def telegram_urls(base_url: str) -> dict[str, str]:
    """A self-hosted Bot API server: ``base_url`` like ``http://host:8081/bot``; files are
    served beside it under ``/file/bot``."""
    if not base_url:
        return {}
    base = base_url.rstrip("/")
    root = base[: -len("/bot")] if base.endswith("/bot") else base
    return {"base_url": base, "base_file_url": f"{root}/file/bot"}
