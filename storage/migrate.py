"""Schema migrations (Alembic), run from code: ``db upgrade``, and automatically by ``run`` and
``import``. The scripts live in ``storage/migrations/versions`` and run on both backends."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from storage.db import Database, _translated_errors
from storage.errors import StorageError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def _alembic_config(db: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database"] = db
    return config


def head_revision() -> str:
    """The newest schema revision this release knows."""
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(db: Database) -> str | None:
    """The archive's schema revision, or None for an empty database."""
    with _translated_errors(db.url), db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def known_revision(db: Database) -> str | None:
    """The archive's schema revision (None when empty); ``StorageError`` when this release
    does not know it, because a newer release wrote the archive."""
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
    before = known_revision(db)
    with _translated_errors(db.url):
        command.upgrade(_alembic_config(db), revision)
    after = current_revision(db)
    assert after is not None
    return before, after


def is_current(db: Database) -> bool:
    """True when the archive is at this release's newest revision; ``StorageError`` for an
    archive from a newer release (see ``known_revision``)."""
    return known_revision(db) == head_revision()
