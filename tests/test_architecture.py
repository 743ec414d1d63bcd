"""The folders are the architecture: imports only go bot → archiver → storage, and the
archiver never touches a platform library."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "storage": {"archiver", "bot", "telegram", "nio"},
    "archiver": {"bot", "telegram", "nio"},
}


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module a file imports (including lazy, in-function imports)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_one_way(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_modules(path) & FORBIDDEN[package])
        for path in files
        if imported_modules(path) & FORBIDDEN[package]
    }
    assert offenders == {}


def test_the_check_can_fail(tmp_path: Path) -> None:
    sample = tmp_path / "x.py"
    sample.write_text("def f():\n    from bot.cli import app\n", encoding="utf-8")
    assert "bot" in imported_modules(sample)


ADAPTERS = ("bot/telegram", "bot/matrix")


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_adapters_go_through_the_router(adapter: str) -> None:
    """An adapter translates; the router decides. It never reaches into the archive."""
    offenders = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / adapter).rglob("*.py"))
        if "router.archive" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
