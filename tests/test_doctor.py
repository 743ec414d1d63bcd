"""``community-memory doctor`` against the Bot API emulator: each finding with its fix.

The CLI runs in a worker thread (it calls ``asyncio.run`` itself) while the emulator serves on
the test's event loop.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from archiver.archive import open_archive
from bot.cli.main import app
from sandbox.emulator import BotApiEmulator, Chat

GROUP_TITLE = "阳光花园"


def write_config(folder: Path, url: str, token: str, base_url: str, chat_id: int) -> Path:
    path = folder / "config.toml"
    path.write_text(
        f'[storage]\nurl = "{url}"\n\n'
        f'[telegram]\ntoken = "{token}"\nbase_url = "{base_url}"\n\n'
        f'[[communities]]\nid = "sunshine"\nname = "{GROUP_TITLE}"\n'
        f'spaces = [{{ platform = "telegram", chat = "{chat_id}" }}]\n',
        encoding="utf-8",
    )
    return path


async def doctor(config: Path) -> Result:
    """Run ``community-memory --config … doctor`` off the event loop."""
    return await asyncio.to_thread(CliRunner().invoke, app, ["--config", str(config), "doctor"])


def marked(result: Result, mark: str) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith(mark)]


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(bot_username="memory_bot", privacy_mode=True) as emu:
        yield emu


def group_with_bot(emu: BotApiEmulator, *, admin: bool) -> Chat:
    owner = emu.add_user("Alice")
    group = emu.create_group(GROUP_TITLE, members=[owner])
    emu.add_bot_to_group(group, by=owner, admin=admin)
    return group


async def test_privacy_mode_and_missing_admin_rights_are_reported_with_fixes(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    group = group_with_bot(emulator, admin=False)
    url = f"sqlite:///{tmp_path / 'archive.db'}"
    config = write_config(tmp_path, url, emulator.token, emulator.base_url, group.id)
    result = await doctor(config)

    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert marked(result, "✓ telegram: token valid, bot @memory_bot")
    problems = marked(result, "✗")
    assert len(problems) == 2, result.stdout
    assert problems[0].startswith("✗ telegram: privacy mode is on")
    assert problems[1].startswith(
        f"✗ telegram group {group.id} (sunshine): the bot is not an admin"
    )
    fixes = [line.strip() for line in result.stdout.splitlines() if line.strip().startswith("fix:")]
    assert any("/setprivacy" in fix for fix in fixes)
    assert any("administrator" in fix for fix in fixes)
    # Checking never creates the archive: `run` does.
    assert marked(result, "✓ archive: none yet")
    assert not (tmp_path / "archive.db").exists()


async def test_an_admin_bot_without_privacy_mode_is_all_good(
    emulator: BotApiEmulator, tmp_path: Path, db_url: str
) -> None:
    emulator.set_privacy_mode(False)
    group = group_with_bot(emulator, admin=True)
    open_archive(db_url).close()  # an archive `run` made
    config = write_config(tmp_path, db_url, emulator.token, emulator.base_url, group.id)
    result = await doctor(config)

    assert result.exit_code == 0, result.output
    assert marked(result, "✗") == [] and "fix:" not in result.stdout
    assert marked(result, "✓ archive: schema")
    assert marked(result, "✓ telegram: privacy mode off")
    assert marked(result, f"✓ telegram group {group.id} (sunshine): the bot is an admin")


async def test_a_wrong_token_is_one_clear_line(emulator: BotApiEmulator, tmp_path: Path) -> None:
    group = group_with_bot(emulator, admin=True)
    url = f"sqlite:///{tmp_path / 'archive.db'}"
    config = write_config(tmp_path, url, "123456789:WrongToken", emulator.base_url, group.id)
    result = await doctor(config)

    assert result.exit_code == 1, result.output
    assert marked(result, "✗") == ["✗ telegram: the token was refused"]
    assert "@BotFather" in result.stdout and "Traceback" not in result.output


async def test_a_group_without_the_bot(emulator: BotApiEmulator, tmp_path: Path) -> None:
    owner = emulator.add_user("Alice")
    never = emulator.create_group("没有机器人的群", members=[owner])
    left = group_with_bot(emulator, admin=False)
    emulator.remove_bot(left, by=next(iter(left.members.values())).user)
    url = f"sqlite:///{tmp_path / 'archive.db'}"
    for group in (never, left):
        config = write_config(tmp_path, url, emulator.token, emulator.base_url, group.id)
        result = await doctor(config)
        assert result.exit_code == 1, result.output
        [problem] = [line for line in marked(result, "✗") if "group" in line]
        assert problem.startswith(f"✗ telegram group {group.id} (sunshine): ")
        assert "add the bot" in result.stdout


async def test_an_unreachable_bot_api_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"sqlite:///{tmp_path / 'archive.db'}"
    config = write_config(tmp_path, url, "1:x", f"http://127.0.0.1:{port}/bot", -100123)
    result = await doctor(config)
    assert result.exit_code == 1, result.output
    [problem] = marked(result, "✗")
    assert problem.startswith("✗ telegram: ") and "Traceback" not in result.output
