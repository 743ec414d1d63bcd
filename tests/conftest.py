"""Shared fixtures: an archive on every backend the run has.

Storage-touching tests take ``archive`` (or ``db_url``) and run once on SQLite and, when
``COMMUNITY_MEMORY_TEST_PG_URL`` is set, once more on PostgreSQL, each in a schema of its own.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine

from archiver.archive import Archive, open_archive
from archiver.community import CommunitySettings, SpaceRef, ensure_community
from archiver.events import AccountRef, ChatRef, MessageEvent

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
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'archive.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.fixture
def archive(db_url: str) -> Iterator[Archive]:
    """A migrated archive with one community (阳光花园) and one Telegram group."""
    opened = open_archive(db_url)
    ensure_community(opened, SETTINGS)
    try:
        yield opened
    finally:
        opened.close()


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
