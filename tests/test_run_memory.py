"""What keeps an idle ``run`` small (docs/benchmark.md, idle ``run``): Alembic stays out of the
bot's process (a current archive is recognised without it; ``run`` upgrades in a child
process), and the platform libraries do not load optional packages the bot never uses.

What a process has imported is read in a fresh interpreter of its own: this test process has
imported everything long ago.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from archiver.errors import StorageError
from storage.db import Database
from storage.migrate import (
    MIGRATIONS_DIR,
    _plain_head,
    current_revision,
    head_revision,
    is_current,
    upgrade,
    upgrade_in_child,
)

ROOT = Path(__file__).resolve().parents[1]


def fresh_python(code: str) -> dict[str, object]:
    """Run ``code`` in a new interpreter; it ends by printing one JSON object."""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def test_the_head_read_from_the_scripts_is_alembics() -> None:
    assert _plain_head() == head_revision()


def test_a_second_head_leaves_the_decision_to_alembic(tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    shutil.copytree(MIGRATIONS_DIR / "versions", versions)
    assert _plain_head(versions) == head_revision()  # the copy reads the same
    (versions / "0099_branch.py").write_text(
        'revision = "0099"\ndown_revision = "0002"\n', encoding="utf-8"
    )
    assert _plain_head(versions) is None  # two heads: 0099 and the real one
    (versions / "0099_branch.py").write_text("revision = compute()\n", encoding="utf-8")
    assert _plain_head(versions) is None  # a line it cannot read


def test_a_current_archive_opens_without_alembic(db_url: str) -> None:
    database = Database(db_url)
    try:
        upgrade(database)
    finally:
        database.close()
    seen = fresh_python(
        "import json, sys\n"
        "from archiver.archive import open_archive\n"
        "from storage.migrate import is_current\n"
        f"archive = open_archive({db_url!r})\n"
        "current = is_current(archive.db)\n"
        "archive.close()\n"
        "print(json.dumps({'current': current, 'alembic': 'alembic' in sys.modules}))\n"
    )
    assert seen == {"current": True, "alembic": False}


def test_an_archive_that_is_not_current_is_still_upgraded_by_open_archive(db_url: str) -> None:
    database = Database(db_url)
    try:
        upgrade(database, "0003")
        assert not is_current(database)
    finally:
        database.close()
    seen = fresh_python(
        "import json, sys\n"
        "from archiver.archive import open_archive\n"
        "from storage.migrate import current_revision\n"
        f"archive = open_archive({db_url!r})\n"
        "revision = current_revision(archive.db)\n"
        "archive.close()\n"
        "print(json.dumps({'revision': revision, 'alembic': 'alembic' in sys.modules}))\n"
    )
    assert seen == {"revision": head_revision(), "alembic": True}


def test_upgrade_in_child_keeps_alembic_out_of_this_process(db_url: str) -> None:
    seen = fresh_python(
        "import json, sys\n"
        "from storage.migrate import upgrade_in_child\n"
        f"first = upgrade_in_child({db_url!r})\n"
        f"again = upgrade_in_child({db_url!r})\n"
        "print(json.dumps({'first': first, 'again': again, 'alembic': 'alembic' in sys.modules}))\n"
    )
    head = head_revision()
    assert seen == {"first": [None, head], "again": [head, head], "alembic": False}
    database = Database(db_url)
    try:
        assert current_revision(database) == head and is_current(database)
    finally:
        database.close()


def test_upgrade_in_child_refuses_an_archive_from_a_newer_release(db_url: str) -> None:
    database = Database(db_url)
    try:
        upgrade(database)
        with database.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999_future'")
    finally:
        database.close()
    with pytest.raises(StorageError) as raised:
        upgrade_in_child(db_url)
    message = str(raised.value)
    assert "9999_future" in message and "newer" in message and "\n" not in message
    database = Database(db_url)
    try:
        assert current_revision(database) == "9999_future"  # left as it was
    finally:
        database.close()


def test_the_adapters_load_without_the_optional_packages_the_bot_never_uses() -> None:
    seen = fresh_python(
        "import json, sys\n"
        "from bot.app.runner import UNUSED_OPTIONAL, without_unused_optional\n"
        "with without_unused_optional():\n"
        "    import bot.platforms.telegram.adapter, bot.platforms.matrix.adapter\n"
        "loaded = {name: name in sys.modules for name in UNUSED_OPTIONAL}\n"
        "import cryptography, psycopg  # installed (test extras): importable again after\n"
        "after = [cryptography.__name__, psycopg.__name__]\n"
        "print(json.dumps({'loaded': loaded, 'after': after}))\n"
    )
    assert seen == {
        "loaded": {"cryptography": False, "psycopg": False},
        "after": ["cryptography", "psycopg"],
    }


def test_a_package_already_imported_is_left_alone() -> None:
    """An archive on PostgreSQL has imported psycopg before the adapters are imported."""
    seen = fresh_python(
        "import json, sys\n"
        "import psycopg\n"
        "from bot.app.runner import without_unused_optional\n"
        "with without_unused_optional():\n"
        "    import bot.platforms.matrix.adapter\n"
        "    import peewee\n"
        "print(json.dumps({'same': sys.modules['psycopg'] is psycopg,\n"
        "                  'peewee_sees_it': peewee.pg3_errors is not None}))\n"
    )
    assert seen == {"same": True, "peewee_sees_it": True}
