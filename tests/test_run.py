"""``community-memory run`` as a real process against the Bot API emulator.

The emulator runs in the test process (its port is fixed once started); the bot is the real
console entry point in a subprocess, with ``--config``. Waiting is always polling with a
deadline, never a fixed sleep: a failure says what it waited for and shows the bot's log.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlmodel import col, select

from sandbox.emulator import BotApiEmulator, Chat, User
from storage.db import Database
from storage.models import Message

STARTUP_S = 30.0  # a cold interpreter importing PTB, SQLAlchemy and the dictionary


class BotProcess:
    """``community-memory --config PATH run``, its output in a log file."""

    def __init__(self, config: Path, log: Path) -> None:
        self.config = config
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [sys.executable, "-c", "from bot.cli.main import main; main()"]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [*command, "--config", str(self.config), "run"],
                cwd=self.config.parent,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    async def stop(self, signum: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        """Send ``signum`` and wait for the exit code."""
        assert self.proc is not None
        self.proc.send_signal(signum)
        return await asyncio.to_thread(self.proc.wait, timeout)

    async def until(self, condition: Callable[[], bool], what: str, timeout: float) -> None:
        """Poll ``condition`` until it holds; fail early if the process died."""
        deadline = time.monotonic() + timeout
        while not condition():
            if not self.running:
                pytest.fail(f"the bot exited while waiting for {what}:\n{self.output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"no {what} after {timeout} s; the bot's log:\n{self.output()}")
            await asyncio.sleep(0.02)


def kept_texts(db: Database) -> list[str]:
    with db.read() as session:
        return list(session.exec(select(Message.text).order_by(col(Message.id))))


class Scene:
    """The emulator, a group, two residents, the config, the process and a reader."""

    def __init__(self, emu: BotApiEmulator, folder: Path, url: str) -> None:
        self.emu = emu
        self.alice: User = emu.add_user("王阿姨")
        self.bob: User = emu.add_user("Bob")
        self.group: Chat = emu.create_group("阳光花园", members=[self.alice, self.bob])
        config = folder / "config.toml"
        config.write_text(
            f'[storage]\nurl = "{url}"\n\n'
            f'[telegram]\ntoken = "{emu.token}"\nbase_url = "{emu.base_url}"\n\n'
            '[[communities]]\nid = "sunshine"\nname = "阳光花园"\n'
            f'spaces = [{{ platform = "telegram", chat = "{self.group.id}" }}]\n',
            encoding="utf-8",
        )
        self.bot = BotProcess(config, folder / "bot.log")
        self.url = url
        self.db: Database | None = None

    def said(self) -> int:
        return len(self.emu.bot_messages(self.group))

    def kept(self) -> list[str]:
        if self.db is None:
            self.db = Database(self.url)
        return kept_texts(self.db)

    async def join_and_consent(self) -> None:
        """The bot is added (it greets); 王阿姨 says keep everything."""
        self.emu.add_bot_to_group(self.group, by=self.alice, admin=True)
        await self.bot.until(lambda: self.said() == 1, "greeting", STARTUP_S)
        self.emu.user_sends(self.group, self.alice, "/consent all")
        await self.bot.until(lambda: self.said() == 2, "answer to /consent all", 10)


@contextlib.asynccontextmanager
async def open_scene(folder: Path, url: str) -> AsyncIterator[Scene]:
    """The emulator and the scene; the process is killed at the end if still running."""
    async with BotApiEmulator(bot_username="memory_bot", privacy_mode=False) as emu:
        scene = Scene(emu, folder, url)
        try:
            yield scene
        finally:
            if scene.bot.running:
                assert scene.bot.proc is not None
                scene.bot.proc.kill()
                await asyncio.to_thread(scene.bot.proc.wait, 10)
            if scene.db is not None:
                scene.db.close()


async def test_run_keeps_messages_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    async with open_scene(tmp_path, f"sqlite:///{tmp_path / 'archive.db'}") as scene:
        scene.bot.start()
        await scene.join_and_consent()
        texts = ["电梯今天又坏了", "物业说明天来修", "修好了，谢谢大家"]
        for words in texts:
            scene.emu.user_sends(scene.group, scene.alice, words)
        scene.emu.user_sends(scene.group, scene.bob, "I never said yes")
        await scene.bot.until(lambda: scene.kept() == texts, "three kept rows", 10)

        started = time.monotonic()
        assert await scene.bot.stop(signal.SIGTERM) == 0, scene.bot.output()
        assert time.monotonic() - started < 5
        assert scene.emu.pending_updates() == [], "a clean stop confirms what it handled"
        assert "Traceback" not in scene.bot.output()
        assert scene.kept() == texts


async def test_killed_mid_stream_then_restarted_loses_and_duplicates_nothing(
    tmp_path: Path, db_url: str
) -> None:
    async with open_scene(tmp_path, db_url) as scene:
        await killed_mid_stream(scene)


async def killed_mid_stream(scene: Scene) -> None:
    scene.bot.start()
    await scene.join_and_consent()
    sent = [f"第{i}条：楼道灯又不亮了" for i in range(80)]

    async def stream() -> None:
        for words in sent:
            scene.emu.user_sends(scene.group, scene.alice, words)
            await asyncio.sleep(0.005)

    streaming = asyncio.create_task(stream())
    await scene.bot.until(lambda: len(scene.kept()) >= 15, "the first rows", 10)
    assert await scene.bot.stop(signal.SIGKILL) == -signal.SIGKILL
    await streaming
    killed_with = len(scene.kept())
    assert killed_with < len(sent), "the kill came mid-stream"

    scene.bot.start()
    await scene.bot.until(lambda: len(scene.kept()) >= len(sent), "every row", 30)
    await scene.emu.wait_until_confirmed(timeout=10)
    assert scene.kept() == sent, "every message once, in order"
    assert await scene.bot.stop(signal.SIGTERM) == 0, scene.bot.output()


async def test_a_refused_token_is_one_line_and_exit_1(tmp_path: Path) -> None:
    async with open_scene(tmp_path, f"sqlite:///{tmp_path / 'archive.db'}") as scene:
        config = scene.bot.config
        config.write_text(
            config.read_text(encoding="utf-8").replace(scene.emu.token, "123456789:Revoked"),
            encoding="utf-8",
        )
        scene.bot.start()
        assert scene.bot.proc is not None
        assert await asyncio.to_thread(scene.bot.proc.wait, STARTUP_S) == 1
        errors = [line for line in scene.bot.output().splitlines() if line.startswith("error:")]
        assert len(errors) == 1, scene.bot.output()
        assert "telegram.token: Telegram refused the token" in errors[0]
        assert "Revoked" not in scene.bot.output(), "a token is never printed"
        assert "Traceback" not in scene.bot.output()
