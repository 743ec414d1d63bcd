"""Shared fixtures: an archive on every backend the run has.

Storage-touching tests take ``archive`` (or ``db_url``) and run once on SQLite and, when
``COMMUNITY_MEMORY_TEST_PG_URL`` is set, once more on PostgreSQL: ``db_url`` in a schema of its
own, ``archive`` in one migrated schema emptied before each test. Helpers below (``say``,
``tag``, ``rows``, ``leftovers`` …) keep the tests short.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine
from sqlmodel import SQLModel, select
from typer.testing import CliRunner, Result

from archiver.archive import Archive
from archiver.community import CommunitySettings, SpaceRef, ensure_community
from archiver.consent import Actor, ConsentChange, Level, Method, set_level
from archiver.events import AccountRef, ChatRef, MessageEvent, TagEvent, TagMethod
from archiver.segmentation import Segmenter
from storage.db import Database
from storage.migrate import is_current, upgrade
from storage.models import Person
from storage.people import find_person

# python-telegram-bot 22 warns (an error here) unless durations are timedeltas; `run` opts in
# the same way (bot/app/runner.py). PTB reads it when a duration is used, so setting it here is
# early enough.
os.environ["PTB_TIMEDELTA"] = os.environ.get("PTB_TIMEDELTA") or "true"

PG_URL = os.environ.get("COMMUNITY_MEMORY_TEST_PG_URL", "")
BACKENDS = ["sqlite", *(["postgresql"] if PG_URL else [])]
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

COMMUNITY = "sunshine"
CHAT = ChatRef("telegram", "-1001987654321")
SETTINGS = CommunitySettings(
    id=COMMUNITY,
    name="阳光花园",
    timezone="Asia/Shanghai",
    spaces=(SpaceRef(CHAT.platform, CHAT.chat_id),),
)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """``sqlite``, and ``postgresql`` when the run has a PostgreSQL URL."""
    backend: str = request.param
    return backend


def _pg_schema_url(schema: str) -> str:
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options={quote(f'-csearch_path={schema}')}"


@contextlib.contextmanager
def _pg_schema() -> Iterator[str]:
    """A new, empty PostgreSQL schema (its URL), dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield _pg_schema_url(schema)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.fixture
def db_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty database URL on each backend."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'archive.db'}"
        return
    with _pg_schema() as url:
        yield url


@pytest.fixture(scope="session")
def segmenter() -> Segmenter:
    """One segmenter for the whole run (loading the dictionary takes a tenth of a second).
    Shared: a test that teaches it words builds its own."""
    return Segmenter()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory, segmenter: Segmenter) -> Path:
    """A migrated SQLite archive with the test community, made once and copied per test."""
    path = tmp_path_factory.mktemp("template") / "archive.db"
    template = Archive(db=Database(f"sqlite:///{path}"), segmenter=segmenter)
    upgrade(template.db)
    ensure_community(template, SETTINGS)
    with template.db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    template.close()
    return path


@pytest.fixture(scope="session")
def pg_archive_db() -> Iterator[Database]:
    """A migrated PostgreSQL schema, emptied and reused by every ``archive`` test, with one
    engine kept open (a new schema and engine per test would cost a quarter of a second)."""
    with _pg_schema() as url:
        db = Database(url)
        try:
            upgrade(db)
            yield db
        finally:
            db.close()


@pytest.fixture
def archive(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, segmenter: Segmenter
) -> Iterator[Archive]:
    """A migrated archive with one community (阳光花园) and one Telegram group.

    The same as ``open_archive`` + ``ensure_community``, only faster: on SQLite a template file
    is copied to the ``db_url`` path; on PostgreSQL a schema migrated once is emptied (so the
    archive is *not* at ``db_url`` there, and its ``Database`` is shared). The segmenter is
    shared too.
    """
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "archive.db"
        shutil.copyfile(template, target)
        opened = Archive(db=Database(f"sqlite:///{target}"), segmenter=segmenter)
        assert is_current(opened.db)
    else:
        opened = Archive(db=request.getfixturevalue("pg_archive_db"), segmenter=segmenter)
        tables = reversed(SQLModel.metadata.sorted_tables)
        with opened.db.engine.begin() as conn:  # one round trip
            conn.exec_driver_sql("; ".join(f"DELETE FROM {table.name}" for table in tables))
        ensure_community(opened, SETTINGS)
    try:
        yield opened
    finally:
        opened.close()  # on PostgreSQL: releases the pooled connections, the engine stays usable


def account(user_id: int | str) -> AccountRef:
    """A Telegram account."""
    return AccountRef("telegram", str(user_id))


def message(
    message_id: int | str,
    author: int | str,
    text: str,
    *,
    sent_at: datetime | None = None,
    name: str | None = None,
    chat: ChatRef = CHAT,
) -> MessageEvent:
    """A message event in the test group."""
    return MessageEvent(
        chat=chat,
        message_id=str(message_id),
        author=account(author),
        sent_at=sent_at or datetime(2026, 11, 20, 12, 0, tzinfo=UTC),
        text=text,
        author_name=name,
    )


# --- helpers for the archive-core tests ------------------------------------------------------


def say(
    archive: Archive,
    user: int | str,
    level: Level,
    *,
    name: str | None = None,
    community: str = COMMUNITY,
) -> ConsentChange:
    """The person behind ``account(user)`` chooses a consent level by command."""
    return set_level(
        archive,
        community,
        account(user),
        level,
        actor=Actor(account(user)),
        method=Method.COMMAND,
        display_name=name,
    )


def tag(
    tagger: int | str,
    target: MessageEvent | str | int,
    *,
    story: str | None = None,
    chat: ChatRef = CHAT,
    with_content: bool = True,
) -> TagEvent:
    """``tagger`` keeps a message: a reply carrying the message (``target`` an event), or a
    reaction that names only its id (``target`` an id, or ``with_content=False``)."""
    if isinstance(target, MessageEvent):
        return TagEvent(
            chat=target.chat,
            message_id=target.message_id,
            tagger=account(tagger),
            method=TagMethod.COMMAND,
            story=story,
            target=target if with_content else None,
        )
    return TagEvent(
        chat=chat,
        message_id=str(target),
        tagger=account(tagger),
        method=TagMethod.REACTION,
        story=story,
    )


def rows(archive: Archive, model: type[SQLModel]) -> list[Any]:
    """Every row of one table, by primary key."""
    key = model.__table__.primary_key.columns  # type: ignore[attr-defined]
    with archive.db.read() as session:
        return list(session.exec(select(model).order_by(*key)))


def person_of(archive: Archive, user: int | str, community: str = COMMUNITY) -> Person | None:
    """The person row behind ``account(user)``."""
    with archive.db.read() as session:
        return find_person(session, community, "telegram", str(user))


def archive_bytes(archive: Archive) -> bytes:
    """Everything on disk of a SQLite archive: the database file and its -wal and -shm files."""
    path = archive.db.sqlite_path
    assert path is not None, "only a SQLite archive has files"
    data = b""
    for suffix in ("", "-wal", "-shm"):
        part = path.with_name(path.name + suffix)
        if part.exists():
            data += part.read_bytes()
    return data


def cli(config: Path | None, *args: str) -> Result:
    """Invoke the CLI in-process with ``--config`` (stdin is not a terminal: no prompts)."""
    from bot.cli.main import app  # the CLI only for the tests that run it

    prefix = ["--config", str(config)] if config is not None else []
    return CliRunner().invoke(app, [*prefix, *args])


def one_line_error(result: Result, *fragments: str) -> str:
    """A user mistake: exit 1, one line on stderr starting ``error: `` and naming each of
    ``fragments``, no traceback. Returns that line."""
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


def leftovers(archive: Archive, texts: list[str]) -> list[str]:
    """Which of ``texts`` can still be read in the SQLite archive's files (UTF-8 bytes)."""
    data = archive_bytes(archive)
    return [text for text in texts if text.encode("utf-8") in data]


def add_community(
    archive: Archive,
    community_id: str,
    chat: ChatRef,
    *,
    timezone: str = "Asia/Shanghai",
    hold_hours: int = 72,
) -> None:
    """A second community in the same archive, with one chat."""
    ensure_community(
        archive,
        CommunitySettings(
            id=community_id,
            name=community_id,
            timezone=timezone,
            hold_hours=hold_hours,
            spaces=(SpaceRef(chat.platform, chat.chat_id),),
        ),
    )


# --- Matrix --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One real Synapse homeserver for the whole run (``sandbox/synapse.py``), shared
    by every Matrix test file (each test registers accounts of its own, with a fresh uuid);
    skipped when ``matrix-synapse`` is not installed. A test module must not define or import
    a ``synapse`` fixture of its own: pytest would start another homeserver for it."""
    from sandbox.synapse import Synapse, synapse_available

    if not synapse_available():
        pytest.skip("matrix-synapse is not installed (pip install -e '.[test]')")
    server = Synapse(tmp_path_factory.mktemp("synapse"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
