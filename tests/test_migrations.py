"""Schema migrations (Alembic) on both backends: from empty, idempotent, down and up again,
the models matching the migrations, a newer archive refused, and SQLite's pragmas."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, MetaData, String, inspect, text
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (the tables on SQLModel.metadata)
from archiver.archive import Archive, open_archive
from archiver.community import ensure_community
from archiver.consent import Level, consent_of
from archiver.errors import StorageError
from archiver.ingest import ingest_message
from archiver.recall import search
from archiver.segmentation import Segmenter
from archiver.stewards import Appointment, StewardReason, appoint_stewards, is_steward
from archiver.votes import VoteRules, answer, close_due, propose
from storage.db import Database
from storage.migrate import _alembic_config, current_revision, head_revision, is_current, upgrade
from tests.conftest import CHAT, SETTINGS, account, message, say

TABLES = {
    "community",
    "space",
    "person",
    "account",
    "consent",
    "consent_event",
    "message",
    "message_version",
    "held_message",
    "story",
    "tag",
    "post",
    "posted_memory",
    "steward",
    "media",
    "policy_event",
    "vote",
    "vote_poll",
    "ballot",
    "link_code",
    "public_choice",
}


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """The empty database at ``db_url``, not migrated."""
    database = Database(db_url)
    try:
        yield database
    finally:
        database.close()


def table_names(db: Database) -> set[str]:
    with db.engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def schema_differences(db: Database, metadata: MetaData) -> list[Any]:
    """What autogenerate would write to make the archive match ``metadata``, leaving out the
    full-text index that the migration makes by hand (FTS5 on SQLite, ``search`` on
    PostgreSQL) and that no model describes."""

    def include_name(name: str | None, kind: str, _parent: dict[str, str | None]) -> bool:
        if kind == "table" and name is not None and name.startswith("message_fts"):
            return False
        return not (kind == "index" and name == "ix_message_search")

    def include_object(obj: Any, name: str | None, kind: str, _reflected: bool, _o: Any) -> bool:
        return not (kind == "column" and name == "search" and obj.table.name == "message")

    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "compare_server_default": True,
                "include_name": include_name,
                "include_object": include_object,
            },
        )
        return list(compare_metadata(context, metadata))


def test_upgrade_from_empty_and_again(db: Database) -> None:
    assert current_revision(db) is None and not is_current(db)
    assert upgrade(db) == (None, head_revision())
    assert table_names(db) >= TABLES
    assert is_current(db)
    assert upgrade(db) == (head_revision(), head_revision())
    assert table_names(db) >= TABLES


def test_open_archive_migrates_unless_told_not_to(db_url: str) -> None:
    with pytest.raises(StorageError, match="db upgrade"):
        open_archive(db_url, migrate=False)
    archive = open_archive(db_url)
    archive.close()
    archive = open_archive(db_url, migrate=False)
    try:
        assert is_current(archive.db)
    finally:
        archive.close()


def test_models_match_the_migrations(db: Database) -> None:
    upgrade(db)
    assert schema_differences(db, SQLModel.metadata) == []


def test_a_model_change_without_a_migration_is_caught(db: Database) -> None:
    """The check above can fail: a column, an index or a length the migrations lack."""
    upgrade(db)
    changed = MetaData()
    for table in SQLModel.metadata.tables.values():
        table.to_metadata(changed)
    assert schema_differences(db, changed) == []  # an exact copy passes
    changed.tables["person"].append_column(Column("nickname", String(40)))
    changed.tables["message"].c.reply_to.type = String(128)
    changed.tables["space"].indexes.clear()
    kinds = set()
    for diff in schema_differences(db, changed):
        kinds.add(diff[0][0] if isinstance(diff, list) else diff[0])
    assert {"add_column", "modify_type", "remove_index"} <= kinds


def test_an_archive_from_a_newer_release_is_refused(db_url: str, db: Database) -> None:
    upgrade(db)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    with pytest.raises(StorageError) as raised:
        upgrade(db)
    text = str(raised.value)
    assert "9999_from_the_future" in text and "newer" in text and "\n" not in text
    # Also when opening without migrating: "run db upgrade" would not help there.
    for migrate in (True, False):
        with pytest.raises(StorageError, match="newer Community Memory"):
            open_archive(db_url, migrate=migrate)
    with pytest.raises(StorageError, match="newer"):
        is_current(db)
    assert current_revision(db) == "9999_from_the_future"


def test_downgrade_to_base_and_upgrade_again(db_url: str, db: Database) -> None:
    upgrade(db)
    command.downgrade(_alembic_config(db), "base")
    assert current_revision(db) is None
    assert table_names(db) <= {"alembic_version"}
    assert upgrade(db) == (None, head_revision())
    assert table_names(db) >= TABLES
    assert schema_differences(db, SQLModel.metadata) == []
    # The full-text index works again (its triggers or generated column were made anew).
    archive = open_archive(db_url)
    try:
        ensure_community(archive, SETTINGS)
        say(archive, 1, Level.ALL)
        ingest_message(archive, message(1, 1, "电梯修好了"))
        assert [m.text for m in search(archive, SETTINGS.id, "电梯")] == ["电梯修好了"]
    finally:
        archive.close()


def test_an_archive_from_before_stewards_opens_and_upgrades(
    db_url: str, db: Database, segmenter: Segmenter
) -> None:
    """An archive at 0003 (the release before stewards), with people and kept messages, is
    upgraded by ``open_archive``: its data intact, the steward table there and working; and
    0004 goes down again without touching the rest."""
    assert upgrade(db, "0003") == (None, "0003")
    before = Archive(db=db, segmenter=segmenter)  # as the earlier release wrote it
    ensure_community(before, SETTINGS)
    say(before, 1, Level.ALL, name="王阿姨")
    ingest_message(before, message(1, 1, "电梯修好了"))
    assert "steward" not in table_names(db)

    archive = open_archive(db_url)
    try:
        assert current_revision(archive.db) == head_revision() and is_current(archive.db)
        assert table_names(archive.db) >= TABLES
        assert [m.text for m in search(archive, SETTINGS.id, "电梯")] == ["电梯修好了"]
        assert consent_of(archive, SETTINGS.id, account(1)).level is Level.ALL
        admin = Appointment(account(1), StewardReason.GROUP_ADMIN)
        assert appoint_stewards(archive, SETTINGS.id, [admin]) == [account(1)]
        assert is_steward(archive, SETTINGS.id, account(1))
    finally:
        archive.close()

    command.downgrade(_alembic_config(db), "0003")
    assert current_revision(db) == "0003"
    assert "steward" not in table_names(db) and "message" in table_names(db)
    upgrade(db)
    reopened = open_archive(db_url, migrate=False)
    try:
        assert [m.text for m in search(reopened, SETTINGS.id, "电梯")] == ["电梯修好了"]
        assert not is_steward(reopened, SETTINGS.id, account(1))  # went with the table
    finally:
        reopened.close()


def test_sqlite_pragmas_are_on_for_every_pooled_connection(tmp_path: Any) -> None:
    db = Database(f"sqlite:///{tmp_path / 'archive.db'}")
    try:
        upgrade(db)
        connections = [db.engine.connect() for _ in range(4)]
        try:
            for conn in connections:
                pragma = conn.exec_driver_sql
                assert pragma("PRAGMA journal_mode").scalar() == "wal"
                assert pragma("PRAGMA foreign_keys").scalar() == 1
                assert pragma("PRAGMA secure_delete").scalar() == 1
                assert pragma("PRAGMA busy_timeout").scalar() == 30_000
        finally:
            for conn in connections:
                conn.close()
        # Foreign keys are enforced, not only switched on.
        with pytest.raises(Exception, match="FOREIGN KEY"), db.engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO space (community_id, platform, chat_id, active, created_at) "
                "VALUES ('no-such-community', 'telegram', '1', 1, '2026-01-01 00:00:00')"
            )
    finally:
        db.close()


def test_an_archive_from_before_media_opens_and_upgrades(
    db_url: str, db: Database, segmenter: Segmenter
) -> None:
    """An archive at 0004 (the release before media files) keeps its messages through the
    upgrade, gains the media table, and 0005 goes down again leaving the rest."""
    assert upgrade(db, "0004") == (None, "0004")
    before = Archive(db=db, segmenter=segmenter)
    ensure_community(before, SETTINGS)
    say(before, 1, Level.ALL)
    ingest_message(before, message(1, 1, "新电梯的照片"))
    assert "media" not in table_names(db)

    archive = open_archive(db_url)
    try:
        assert current_revision(archive.db) == head_revision()
        assert "media" in table_names(archive.db)
        assert [m.text for m in search(archive, SETTINGS.id, "电梯")] == ["新电梯的照片"]
    finally:
        archive.close()
    command.downgrade(_alembic_config(db), "0004")
    assert "media" not in table_names(db) and "message" in table_names(db)
    upgrade(db)
    assert "media" in table_names(db)


def test_a_vote_from_before_vote_polls_keeps_its_poll(
    db_url: str, db: Database, segmenter: Segmenter
) -> None:
    """An archive at 0006 (one poll id on each vote) with an open vote: after the upgrade
    its poll is the vote's poll in the chat it was proposed in, answers to it still count,
    and 0007 goes down again putting the poll id back on the vote."""
    assert upgrade(db, "0006") == (None, "0006")
    before = Archive(db=db, segmenter=segmenter)
    ensure_community(before, SETTINGS)
    for user in (1, 2, 3):
        say(before, user, Level.ALL)
    with db.engine.begin() as conn:  # as 0006's release wrote a vote and its poll
        space = conn.execute(text("SELECT id FROM space")).scalar_one()
        person = conn.execute(text("SELECT id FROM person ORDER BY id")).scalars().first()
        conn.execute(
            text(
                "INSERT INTO vote (community_id, space_id, policy, value, proposed_by, poll_id, "
                "poll_message_id, roll, needed, opened_at, closes_at, yes, no) VALUES (:c, :s, "
                "'media', 'off', :p, 'poll-7', '77', 3, 3, :o, :e, 0, 0)"
            ),
            {"c": SETTINGS.id, "s": space, "p": person, "o": "2026-12-01 12:00:00+00:00",
             "e": "2026-12-04 12:00:00+00:00"},
        )  # fmt: skip

    archive = open_archive(db_url)
    try:
        assert current_revision(archive.db) == head_revision()
        for user in (1, 2, 3):
            assert answer(archive, "poll-7", account(user), "yes")
        [closed] = close_due(archive)
        assert (closed.yes, [(p.chat, p.poll_message_id) for p in closed.polls]) == (
            3, [(CHAT, "77")],
        )  # fmt: skip
        propose(archive, CHAT, account(1), "site", "public", rules=VoteRules())
    finally:
        archive.close()
    command.downgrade(_alembic_config(db), "0006")
    assert "vote_poll" not in table_names(db)
    with db.engine.connect() as conn:
        polls = conn.execute(text("SELECT poll_id, poll_message_id FROM vote ORDER BY id")).all()
    assert [tuple(p) for p in polls] == [("poll-7", "77"), (None, None)]
    upgrade(db)
    assert "vote_poll" in table_names(db)
