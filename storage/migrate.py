"""Schema migrations (Alembic), run from code: ``db upgrade``, and automatically by ``run`` and
``import``. The scripts live in ``storage/migrations/versions`` and run on both backends.

Alembic is imported only when a schema has to change or be looked at closely: an archive
already at this release's head is recognised with one plain query and the scripts'
``revision`` lines, because Alembic and what it pulls in (its dialect modules, Mako, Pygments)
are some 150 modules and ~10 MB that a long-running ``run`` would otherwise carry for ever.
``run`` goes further and upgrades in a child process (``upgrade_in_child``), so that not even
its first start after an upgrade keeps them (docs/benchmark.md, idle ``run``).
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect

from storage.db import Database, _translated_errors
from storage.errors import StorageError

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_REVISION_LINE = re.compile(r'^revision\s*(?::\s*str\s*)?=\s*"([^"]+)"\s*$', re.MULTILINE)
_DOWN_LINE = re.compile(r'^down_revision\s*(?::[^=\n]*)?=\s*(?:"([^"]+)"|None)\s*$', re.MULTILINE)
_CHILD = "from storage.migrate import _upgrade_child; _upgrade_child()"


def _alembic_config(db: Database) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database"] = db
    return config


def head_revision() -> str:
    """The newest schema revision this release knows."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS_DIR))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(db: Database) -> str | None:
    """The archive's schema revision, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with _translated_errors(db.url), db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def known_revision(db: Database) -> str | None:
    """The archive's schema revision (None when empty); ``StorageError`` when this release
    does not know it, because a newer release wrote the archive."""
    from alembic.script import ScriptDirectory

    revision = current_revision(db)
    if revision is not None:
        try:
            ScriptDirectory(str(MIGRATIONS_DIR)).get_revision(revision)
        except Exception as exc:  # alembic raises several types for an unknown revision
            raise StorageError(
                f"the archive has schema revision {revision}, which this release does not "
                "know: it was written by a newer Community Memory; upgrade the software"
            ) from exc
    return revision


def upgrade(db: Database, revision: str = "head") -> tuple[str | None, str]:
    """Bring the archive's schema to ``revision``; returns (before, after).

    Refuses an archive written by a newer release instead of guessing at it.
    """
    if revision == "head":
        head = _plain_head()
        if head is not None and _plain_revision(db) == head:
            return head, head  # nothing to do, and known without Alembic
    from alembic import command

    before = known_revision(db)
    with _translated_errors(db.url):
        command.upgrade(_alembic_config(db), revision)
    after = current_revision(db)
    assert after is not None
    return before, after


def is_current(db: Database) -> bool:
    """True when the archive is at this release's newest revision; ``StorageError`` for an
    archive from a newer release (see ``known_revision``)."""
    head = _plain_head()
    if head is not None and _plain_revision(db) == head:
        return True
    return known_revision(db) == head_revision()


def upgrade_in_child(url: str) -> tuple[str | None, str]:
    """``upgrade`` the archive at ``url`` in a child process of this interpreter, so that
    Alembic is loaded there and not here; returns (before, after). No child is started when
    the archive is already current. (The URL goes through a pipe, not the command line, where
    any user of the machine could read its password.)

    Raises:
        StorageError: as ``upgrade`` would (the child's one-line message).
    """
    database = Database(url)
    try:
        head = _plain_head()
        if head is not None and _plain_revision(database) == head:
            return head, head
    finally:
        database.close()
    child = subprocess.run(
        [sys.executable, "-c", _CHILD],
        input=url,
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )
    try:
        answer = json.loads(child.stdout)
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or child.returncode != 0 or "after" not in answer:
        message = answer.get("error") if isinstance(answer, dict) else None
        if not message:
            last = child.stderr.strip().splitlines()[-1:] or [f"exit status {child.returncode}"]
            message = f"the schema upgrade failed: {last[0]}"
        raise StorageError(str(message))
    before, after = answer["before"], str(answer["after"])
    if before != after:
        log.info("archive schema upgraded from %s to %s", before or "empty", after)
    return before, after


def _upgrade_child() -> None:
    """The child of ``upgrade_in_child``: the URL on stdin, one JSON line on stdout."""
    database = Database(sys.stdin.read())
    try:
        before, after = upgrade(database)
    except StorageError as exc:
        print(json.dumps({"error": str(exc)}))
        raise SystemExit(1) from None
    finally:
        database.close()
    print(json.dumps({"before": before, "after": after}))


def _plain_head(versions: Path = MIGRATIONS_DIR / "versions") -> str | None:
    """This release's newest revision, read from the scripts' ``revision`` and
    ``down_revision`` lines without importing Alembic; None unless they make one straight
    line of history (then Alembic is asked). tests/test_run_memory.py checks it agrees."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in versions.glob("*.py"):
        if script.name == "__init__.py":
            continue
        source = script.read_text(encoding="utf-8")
        revision, down = _REVISION_LINE.findall(source), _DOWN_LINE.findall(source)
        if len(revision) != 1 or len(down) != 1 or revision[0] in revisions:
            return None
        revisions.add(revision[0])
        if down[0]:
            parents.add(down[0])
    heads = revisions - parents
    if len(heads) != 1 or not parents <= revisions or len(parents) != len(revisions) - 1:
        return None
    return heads.pop()


def _plain_revision(db: Database) -> str | None:
    """The archive's revision by one plain query (None when it has none, or several)."""
    with _translated_errors(db.url), db.engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    return str(rows[0][0]) if len(rows) == 1 else None
