"""Engine and session set-up: one ``Database`` per archive, SQLite or PostgreSQL.

SQLite runs in WAL mode with ``foreign_keys`` and ``secure_delete`` on. Every write goes through
``Database.write()``, which opens the transaction with ``BEGIN IMMEDIATE``: the writer takes the
lock up front, so two writers (the bots, a CLI import) queue on ``busy_timeout`` instead of
failing half-way with "database is locked" on lock upgrade. Reads use plain deferred
transactions and never block writers under WAL.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlmodel import Session

from storage.errors import StorageError

_WRITE = "community_memory_write"
BUSY_TIMEOUT_S = 30


class Database:
    """An open archive. Create one at start-up, ``close()`` it at shutdown."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise StorageError(f"storage.url {url!r} is not a database URL") from exc
        self.dialect = parsed.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise StorageError(
                f"storage.url {url!r}: only sqlite:/// and postgresql+psycopg:// are supported"
            )
        # hide_parameters: an error's message must not carry the bound values — residents'
        # texts and names, held ones included — into logs and tracebacks.
        kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
        if self.dialect == "sqlite":
            database = parsed.database or ""
            self.sqlite_path: Path | None = (
                Path(database) if database and database != ":memory:" else None
            )
            if self.sqlite_path is not None and not self.sqlite_path.parent.is_dir():
                raise StorageError(
                    f"cannot create the archive {self.sqlite_path}: "
                    f"folder {self.sqlite_path.parent} does not exist"
                )
            kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_S, "check_same_thread": False}
        else:
            self.sqlite_path = None
            kwargs["pool_pre_ping"] = True
        try:
            self.engine: Engine = create_engine(url, **kwargs)
        except (ArgumentError, NoSuchModuleError, ImportError) as exc:
            raise StorageError(f"storage.url {url!r}: {exc}") from exc
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine, in_memory=self.sqlite_path is None)

    @property
    def is_sqlite(self) -> bool:
        """True for SQLite archives (FTS5, file-level erasure checks, online backup)."""
        return self.dialect == "sqlite"

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; nothing it does is committed."""
        with _translated_errors(self.url), Session(self.engine) as session:
            yield session

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose work is committed as one transaction on success, rolled back on error.

        On SQLite the transaction starts with ``BEGIN IMMEDIATE`` (see the module docstring).
        """
        with _translated_errors(self.url), Session(self.engine, expire_on_commit=False) as session:
            session.connection(execution_options={_WRITE: True})
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    def release_connections(self) -> None:
        """Close the idle pooled connections (connections in use are closed when returned);
        the next session opens fresh ones with the default settings. An in-memory SQLite
        database lives in its connection: there this does nothing."""
        if self.is_sqlite and self.sqlite_path is None:
            return
        self.engine.pool.dispose()


def _configure_sqlite(engine: Engine, *, in_memory: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so BEGIN is ours (below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL survives any process crash; only a power cut can lose the last commits.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextlib.contextmanager
def _translated_errors(url: str) -> Iterator[None]:
    """Turn driver-level failures into one-line ``StorageError``s; let programming errors
    (integrity violations we did not expect, SQL mistakes) through with their traceback."""
    try:
        yield
    except DBAPIError as exc:
        if exc.connection_invalidated or _is_operational(exc):
            raise StorageError(f"database {_redacted(url)}: {_first_line(exc.orig)}") from exc
        raise
    except SQLAlchemyError:
        raise


def _is_operational(exc: DBAPIError) -> bool:
    # A bare DatabaseError (not a subclass such as IntegrityError) is sqlite3's "file is not a
    # database" / "database disk image is malformed": the file, not the program, is at fault.
    name = type(exc.orig).__name__
    return name in ("OperationalError", "InterfaceError", "DatabaseError")


def _first_line(exc: BaseException | None) -> str:
    text = str(exc) if exc is not None else "unknown error"
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def _redacted(url: str) -> str:
    """The URL without its password, for error messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid url>"
