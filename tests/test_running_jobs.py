"""A stop waits for the scheduled jobs in flight (``bot.app.runner.RunningJobs``), on the real
APScheduler: a job in a thread and a coroutine job both end before ``finished`` says so, and
one that outlasts the wait is reported rather than waited for forever."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.app.runner import RunningJobs


async def test_a_stop_waits_for_a_thread_job_and_a_coroutine_job() -> None:
    scheduler = AsyncIOScheduler()
    running = RunningJobs(scheduler)
    started, ended = threading.Event(), []

    def in_a_thread() -> None:  # like purge_expired: APScheduler runs it in its thread pool
        started.set()
        time.sleep(0.3)
        ended.append("thread")

    async def on_the_loop() -> None:  # like tend_votes, awaiting a thread of its own
        await asyncio.to_thread(time.sleep, 0.3)
        ended.append("coroutine")

    now = datetime.now(UTC)
    scheduler.add_job(in_a_thread, "interval", minutes=10, next_run_time=now, coalesce=True)
    scheduler.add_job(on_the_loop, "interval", minutes=10, next_run_time=now, coalesce=True)
    scheduler.start()
    try:
        while not started.is_set():
            await asyncio.sleep(0.01)
        scheduler.pause()
        assert await running.finished(timeout=5)
        assert sorted(ended) == ["coroutine", "thread"]
        assert await running.finished(timeout=0), "nothing left running"
    finally:
        scheduler.shutdown(wait=False)


async def test_a_job_that_outlasts_the_wait_is_reported() -> None:
    scheduler = AsyncIOScheduler()
    running = RunningJobs(scheduler)
    release = asyncio.Event()

    async def stuck() -> None:
        await release.wait()

    scheduler.add_job(stuck, "interval", minutes=10, next_run_time=datetime.now(UTC))
    scheduler.start()
    try:
        await asyncio.sleep(0.1)
        scheduler.pause()
        assert not await running.finished(timeout=0.2)
        release.set()
        assert await running.finished(timeout=5)
    finally:
        scheduler.shutdown(wait=False)
