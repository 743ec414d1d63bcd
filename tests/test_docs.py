"""Docs and code stay together: every CLI command is documented in the README."""

from __future__ import annotations

from pathlib import Path

import typer

from bot.cli.main import app

ROOT = Path(__file__).resolve().parents[1]


def command_names(typer_app: typer.Typer, prefix: str = "") -> set[str]:
    names = {
        prefix + (c.name or c.callback.__name__)
        for c in typer_app.registered_commands
        if c.callback is not None
    }
    for group in typer_app.registered_groups:
        assert group.typer_instance is not None
        names |= command_names(group.typer_instance, f"{prefix}{group.name} ")
    return names


def test_every_cli_command_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    names = command_names(app)
    assert {
        "import",
        "export",
        "search",
        "onthisday",
        "forget",
        "backup",
        "db upgrade",
        "demo",
    } <= names
    missing = [name for name in sorted(names) if f"`{name}" not in readme]
    assert missing == []


def test_readme_opens_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    head = readme[:400]
    assert "pip install -e . && community-memory demo" in head
    assert "pip install -e '.[test]' && pytest" in head


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install -e '.[test]' && pytest" in ci
    assert "COMMUNITY_MEMORY_TEST_PG_URL" in ci
