"""The folders are the architecture: imports only go bot → archiver → storage, and the
archiver never touches a platform library."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "storage": {"archiver", "bot", "sandbox", "telegram", "nio"},
    "archiver": {"bot", "sandbox", "telegram", "nio"},
    "bot": {"sandbox"},
}
# The only doors from the product into the sandbox: the CLI commands that run it, importing
# it when they run (never at import time, never from `run`).
SANDBOX_DOORS = {"bot/cli/main.py": {"demo_command", "bench_command"}}


def imported_modules(path: Path, *, skip_functions: set[str] | None = None) -> set[str]:
    """Top-level names of every module a file imports (including lazy, in-function imports),
    but for imports inside the functions named in ``skip_functions``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name in (skip_functions or set()):
            skipped.update(id(inner) for inner in ast.walk(node))
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_one_way(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    offenders = {}
    for path in files:
        where = str(path.relative_to(ROOT))
        found = imported_modules(path, skip_functions=SANDBOX_DOORS.get(where)) & FORBIDDEN[package]
        if found:
            offenders[where] = sorted(found)
    assert offenders == {}


def test_the_check_can_fail(tmp_path: Path) -> None:
    sample = tmp_path / "x.py"
    sample.write_text("def f():\n    from bot.cli.main import app\n", encoding="utf-8")
    assert "bot" in imported_modules(sample)
    assert "bot" not in imported_modules(sample, skip_functions={"f"})


def test_the_running_bot_never_loads_the_sandbox() -> None:
    """`run` imports the CLI, config, runner, router and adapters: none of them the sandbox."""
    import subprocess
    import sys

    code = (
        "import sys, bot.cli.main, bot.app.runner, bot.chat.router,"
        " bot.platforms.telegram.adapter, bot.platforms.matrix.adapter;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sandbox'))"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert found.stdout.strip() == "[]"


ADAPTERS = ("bot/platforms/telegram", "bot/platforms/matrix")


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_adapters_go_through_the_router(adapter: str) -> None:
    """An adapter translates; the router decides. It never reaches into the archive."""
    offenders = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / adapter).rglob("*.py"))
        if "router.archive" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
