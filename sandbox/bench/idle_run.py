"""The bench's idle-``run`` figure: ``community-memory run`` as a real process, both adapters
configured, connected and idle, and its peak resident memory over a few seconds.

- **Telegram**: the bot long-polls the project's Bot API emulator (``sandbox/emulator``).
- **Matrix**: when ``matrix-synapse`` is installed (the test extras), a throwaway local Synapse
  (``sandbox/synapse.py``) is started; a bot account is registered, a resident makes a
  room and invites it, and the run process accepts the invite, greets, and keeps syncing that
  room (end-to-end encryption on, as for a real deployment with ``matrix-nio[e2e]``). Without
  Synapse — or when it cannot start — the figure is of the Telegram-only run, and
  ``run_idle_adapters`` says so.

"Idle" is: the Telegram poller is waiting in a long poll with nothing queued, and the Matrix
adapter has joined the room and saved its sync token with nothing new for
``SETTLE_SECONDS`` (its next sync is a 30-second long poll). Only the run process is measured,
never the emulator (in this process) or Synapse (a process of its own).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.synapse import Account, Synapse, synapse_available

SAMPLE_SECONDS = 3.0
SETTLE_SECONDS = 1.5
CONNECT_TIMEOUT = 60.0
RUN_BOT = "from bot.cli.main import main; main()"


@dataclass
class IdleRun:
    """What the phase measured: the peak RSS (None if it could not), the adapters the run
    had configured, and why anything is missing."""

    rss_mb: float | None = None
    adapters: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _MatrixRoom:
    """The Matrix side: the homeserver, the bot's account and the room it was invited to."""

    synapse: Synapse
    bot: Account
    resident: Account
    room_id: str
    store_dir: Path


def measure_idle_run(folder: Path, sampler: Callable[[int], Any]) -> IdleRun:
    """Start ``community-memory run`` with every adapter this machine can serve, wait until
    it is connected and idle, and sample its RSS for ``SAMPLE_SECONDS``.

    ``sampler(pid)`` is the bench's ``RssSampler``: a context manager with ``peak_mb``.
    Nothing raises: a failure is a ``None`` figure and a note.
    """
    outcome = IdleRun(adapters=["telegram"])
    with ExitStack() as stack:
        try:
            emulator = stack.enter_context(_emulator())
            matrix = _matrix_room(folder, stack, outcome)
            if matrix is not None:
                outcome.adapters.append("matrix")
            config = folder / "run.toml"
            config.write_text(_config_text(folder, emulator, matrix), encoding="utf-8")
            log = folder / "run.log"
            process = stack.enter_context(_run_process(config, log))
            deadline = time.monotonic() + CONNECT_TIMEOUT
            emulator.wait_until_polling(process, log, deadline)
            if matrix is not None:
                _wait_until_matrix_idle(matrix, process, log, deadline)
                # Telegram again: still waiting in a long poll, nothing queued.
                emulator.wait_until_polling(process, log, deadline)
            with sampler(process.pid) as rss:
                time.sleep(SAMPLE_SECONDS)
            _check_alive(process, log)
            outcome.rss_mb = rss.peak_mb
        except Exception as exc:  # a measurement, not a test: report what went wrong
            outcome.rss_mb = None
            outcome.notes.append(f"run idle: could not measure ({exc})")
    return outcome


# --- Telegram -------------------------------------------------------------------------------------


class _Emulator:
    """The Bot API emulator on an event loop in a thread of its own (the bench is not async)."""

    def __init__(self) -> None:
        from sandbox.emulator import BotApiEmulator

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.api = BotApiEmulator(privacy_mode=False)

    def start(self) -> None:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.api.start(), self.loop).result(10)

    def stop(self) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self.api.stop(), self.loop).result(10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
            self.loop.close()

    def wait_until_polling(
        self, process: subprocess.Popen[bytes], log: Path, deadline: float
    ) -> None:
        """Until the run process long-polls with nothing left to fetch."""
        while True:
            _check_alive(process, log)
            wait = self.api.wait_until_polling(timeout=1.0)
            try:
                asyncio.run_coroutine_threadsafe(wait, self.loop).result(5)
                return
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        "the Telegram adapter never long-polled the emulator"
                    ) from None


@contextmanager
def _emulator() -> Iterator[_Emulator]:
    emulator = _Emulator()
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


# --- Matrix ---------------------------------------------------------------------------------------


def _matrix_room(folder: Path, stack: ExitStack, outcome: IdleRun) -> _MatrixRoom | None:
    """A local Synapse with the bot's account and a room it is invited to; None (and a note)
    when Synapse is not installed or does not start."""
    if not synapse_available():
        outcome.notes.append(
            "run idle: Telegram only (matrix-synapse is not installed, so there is no local "
            "homeserver for the Matrix adapter; pip install -e '.[test]')"
        )
        return None
    synapse = Synapse(folder / "synapse")
    try:
        synapse.start()
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        synapse.stop()
        outcome.notes.append(f"run idle: Telegram only (the local Synapse did not start: {exc})")
        return None
    stack.callback(synapse.stop)
    bot = synapse.register("memory")
    resident = synapse.register("resident")
    created = synapse.request(
        "POST",
        "/_matrix/client/v3/createRoom",
        {"name": "基准小区", "preset": "private_chat", "invite": [bot.user_id]},
        token=resident.access_token,
    )
    return _MatrixRoom(synapse, bot, resident, created["room_id"], folder / "matrix-store")


def _wait_until_matrix_idle(
    matrix: _MatrixRoom, process: subprocess.Popen[bytes], log: Path, deadline: float
) -> None:
    """Until the bot has joined the room and its saved sync token has not moved for
    ``SETTLE_SECONDS`` (everything so far handled; the next sync is a long poll)."""
    members = f"/_matrix/client/v3/rooms/{urllib.parse.quote(matrix.room_id)}/joined_members"
    state = matrix.store_dir / "state.json"
    while True:
        _check_alive(process, log)
        joined = matrix.synapse.request("GET", members, token=matrix.resident.access_token)
        if matrix.bot.user_id in joined.get("joined", {}):
            break
        if time.monotonic() > deadline:
            raise TimeoutError("the Matrix adapter never joined the room it was invited to")
        time.sleep(0.1)
    last, since = _sync_token(state), time.monotonic()
    while True:
        _check_alive(process, log)
        token = _sync_token(state)
        if token != last:
            last, since = token, time.monotonic()
        elif token is not None and time.monotonic() - since >= SETTLE_SECONDS:
            return
        if time.monotonic() > deadline:
            raise TimeoutError("the Matrix adapter never settled after joining the room")
        time.sleep(0.1)


def _sync_token(state: Path) -> str | None:
    """The sync token the Matrix adapter saved last (None before its first save)."""
    try:
        token = json.loads(state.read_text(encoding="utf-8")).get("next_batch")
    except (OSError, ValueError):
        return None
    return token if isinstance(token, str) else None


# --- the run process ------------------------------------------------------------------------------


def _config_text(folder: Path, emulator: _Emulator, matrix: _MatrixRoom | None) -> str:
    text = (
        f'[storage]\nurl = "sqlite:///{folder / "run.db"}"\nmedia_dir = "{folder / "media"}"\n\n'
        f'[telegram]\ntoken = "{emulator.api.token}"\nbase_url = "{emulator.api.base_url}"\n'
    )
    if matrix is not None:
        # The registered device: the adapter keeps its encryption keys in store_dir.
        text += (
            f'\n[matrix]\nhomeserver = "{matrix.synapse.url}"\n'
            f'user_id = "{matrix.bot.user_id}"\n'
            f'access_token = "{matrix.bot.access_token}"\n'
            f'device_id = "{matrix.bot.device_id}"\n'
            f'store_dir = "{matrix.store_dir}"\n'
        )
    return text


@contextmanager
def _run_process(config: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``community-memory run`` (the console script's code, by this interpreter), its output
    in ``log``; terminated (killed after ten seconds) at the end."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", RUN_BOT, "--config", str(config), "run"],
            cwd=config.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _check_alive(process: subprocess.Popen[bytes], log: Path) -> None:
    if process.poll() is not None:
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-5:]
        raise RuntimeError(
            f"community-memory run exited with {process.returncode}: {' / '.join(tail)}"
        )
