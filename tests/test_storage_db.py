"""The database handle: bad URLs and broken files as one-line errors, the write transaction
(rollback, BEGIN IMMEDIATE, concurrent writers), and SQLite backups."""

from __future__ import annotations

import socket
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from archiver.archive import Archive, open_archive
from archiver.community import ensure_community
from archiver.consent import Level
from archiver.errors import StorageError
from archiver.ingest import ingest_message
from archiver.recall import search
from storage.backup import backup_sqlite
from storage.db import Database
from storage.models import Community, Message
from tests.conftest import COMMUNITY, SETTINGS, message, rows, say


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("mysql://root@localhost/archive", "only sqlite:/// and postgresql+psycopg://"),
        ("garbage", "is not a database URL"),
        ("", "is not a database URL"),
        ("sqlite:////no/such/folder/archive.db", "folder /no/such/folder does not exist"),
    ],
    ids=["mysql", "garbage", "empty", "missing-folder"],
)
def test_a_bad_url_is_one_line(url: str, fragment: str) -> None:
    with pytest.raises(StorageError) as raised:
        Database(url)
    assert fragment in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_file_that_is_not_an_archive_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my shopping notes, not a database\n" * 200)
    with pytest.raises(StorageError) as raised:
        open_archive(f"sqlite:///{path}")
    assert "not a database" in str(raised.value) and "\n" not in str(raised.value)


def test_an_unreachable_postgresql_is_one_line() -> None:
    url = f"postgresql+psycopg://memory:secret-password@127.0.0.1:{free_port()}/archive"
    with pytest.raises(StorageError) as raised:
        open_archive(url)
    text = str(raised.value)
    assert "\n" not in text and "127.0.0.1" in text
    assert "secret-password" not in text


def test_write_commits_on_success_and_rolls_back_on_error(archive: Archive) -> None:
    with archive.db.write() as session:
        session.add(Community(id="kept", name="Kept", created_at=datetime.now(UTC)))
    with pytest.raises(RuntimeError), archive.db.write() as session:
        session.add(Community(id="lost", name="Lost", created_at=datetime.now(UTC)))
        session.flush()
        raise RuntimeError("something went wrong half-way")
    with archive.db.read() as session:
        ids = set(session.exec(select(Community.id)))
    assert ids == {COMMUNITY, "kept"}


def test_a_write_takes_the_sqlite_lock_up_front(tmp_path: Path) -> None:
    """BEGIN IMMEDIATE: from its start, a write holds the lock another writer needs, so two
    writers queue instead of failing on lock upgrade half-way."""
    archive = open_archive(f"sqlite:///{tmp_path / 'archive.db'}")
    other = sqlite3.connect(tmp_path / "archive.db", timeout=0, isolation_level=None)
    try:
        with archive.db.write() as session:
            session.exec(select(Community)).all()  # only a read, yet the lock is taken
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        with archive.db.read() as session:
            session.exec(select(Community)).all()
            other.execute("BEGIN IMMEDIATE")  # a reader does not hold writers back
            other.execute("ROLLBACK")
    finally:
        other.close()
        archive.close()


def test_two_threads_write_to_one_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'archive.db'}"
    archive = open_archive(url)
    ensure_community(archive, SETTINGS)
    say(archive, 1, Level.ALL)
    say(archive, 2, Level.ALL)
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def writer(author: int) -> None:
        try:
            start.wait()
            for n in range(200):
                ingest_message(archive, message(f"{author}-{n}", author, f"邻居{author}的第{n}条"))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(author,)) for author in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        kept = rows(archive, Message)
        assert len(kept) == 400
        assert {m.platform_message_id for m in kept} == {
            f"{a}-{n}" for a in (1, 2) for n in range(200)
        }
    finally:
        archive.close()


def test_backup_is_a_working_copy(archive: Archive, tmp_path: Path) -> None:
    if not archive.db.is_sqlite:
        with pytest.raises(StorageError) as raised:
            backup_sqlite(archive.db, tmp_path / "backup.db")
        assert "pg_dump" in str(raised.value) and "\n" not in str(raised.value)
        assert not (tmp_path / "backup.db").exists()
        return
    say(archive, 1, Level.ALL)
    for n in range(20):
        ingest_message(archive, message(n, 1, f"电梯第{n}次修好了"))
    out = tmp_path / "backup.db"
    size = backup_sqlite(archive.db, out)
    assert size == out.stat().st_size > 0
    copy = open_archive(f"sqlite:///{out}", migrate=False)
    try:
        assert {m.text for m in rows(copy, Message)} == {m.text for m in rows(archive, Message)}
        assert len(search(copy, COMMUNITY, "电梯", limit=50)) == 20
    finally:
        copy.close()
    with pytest.raises(StorageError, match="already exists"):
        backup_sqlite(archive.db, out)
    nested = tmp_path / "missing" / "folders" / "backup.db"
    assert backup_sqlite(archive.db, nested) == nested.stat().st_size  # folders are created


def test_a_database_error_does_not_carry_residents_words(archive: Archive) -> None:
    """SQLAlchemy puts a failed statement's values in its error message by default; ours
    leaves them out, so a traceback in a log never holds what someone wrote."""
    secret = "只给邻居看的一句话"
    with pytest.raises(Exception) as raised, archive.db.write() as session:
        session.add(
            Message(  # no such community, space or person: the foreign keys refuse it
                community_id="nowhere",
                space_id=999_999,
                platform_message_id="1",
                author_id=999_999,
                consent_event_id=999_999,
                sent_at=datetime.now(UTC),
                text=secret,
                tokens=secret,
                kept_at=datetime.now(UTC),
            )
        )
    chain = []
    error: BaseException | None = raised.value
    while error is not None:
        chain.append(str(error))
        error = error.__cause__ or error.__context__
    assert any("FOREIGN KEY" in text.upper() for text in chain), chain
    assert not any(secret in text for text in chain)
