"""The bulk importer's column formatters give exactly what SQLAlchemy's own processors give."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from storage.imports import _column_formatter
from storage.models import Message, Person

TIMES = [
    datetime(2023, 3, 1, 8, 3, 2, tzinfo=UTC),
    datetime(2023, 3, 1, 8, 3, 2, 7, tzinfo=UTC),
    datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=8))),
    datetime(2021, 3, 28, 2, 30, tzinfo=ZoneInfo("Europe/Berlin")),
    datetime(1, 1, 2, 0, 0, tzinfo=timezone(timedelta(hours=-5))),
    datetime(999, 12, 31, 12, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2023, 3, 1, 8, 3, 2, tzinfo=UTC),
    datetime(2023, 3, 1, 8, 3, 2, tzinfo=ZoneInfo("UTC")),
    None,
]


def _sqlalchemy(column: Any, dialect: Any, values: list[Any]) -> list[Any]:
    processor = column.type.dialect_impl(dialect).bind_processor(dialect)
    return [processor(value) for value in values] if processor else list(values)


@pytest.mark.parametrize("name", ["sent_at", "edited_at", "kept_at"])
def test_times_are_formatted_like_sqlalchemy_on_sqlite(name: str) -> None:
    dialect = sqlite.dialect()
    column = Message.__table__.c[name]  # type: ignore[attr-defined]
    formatter = _column_formatter(column.type, dialect)
    assert formatter is not None
    shared = TIMES[0]
    values = [*TIMES, shared, shared, None, None]
    assert formatter(values) == _sqlalchemy(column, dialect, values)


def test_a_naive_time_is_refused_like_sqlalchemy_refuses_it() -> None:
    dialect = sqlite.dialect()
    column = Message.__table__.c["sent_at"]  # type: ignore[attr-defined]
    formatter = _column_formatter(column.type, dialect)
    assert formatter is not None
    naive = datetime(2023, 3, 1, 8, 3, 2)
    with pytest.raises(ValueError):
        _sqlalchemy(column, dialect, [naive])
    with pytest.raises(ValueError):
        formatter([naive])


@pytest.mark.parametrize(("model", "name"), [(Message, "text"), (Person, "display_name")])
def test_texts_lose_nul_characters_like_sqlalchemy(model: Any, name: str) -> None:
    dialect = sqlite.dialect()
    column = model.__table__.c[name]
    formatter = _column_formatter(column.type, dialect)
    assert formatter is not None
    values = ["电梯\x00修好了", "plain", "", None, "\x00\x00", "a\x00b\x00c"]
    assert (
        formatter(values)
        == _sqlalchemy(column, dialect, values)
        == [
            "电梯修好了",
            "plain",
            "",
            None,
            "",
            "abc",
        ]
    )


def test_postgresql_keeps_sqlalchemys_own_processors_for_times() -> None:
    # psycopg takes datetime objects: only SQLite stores times as text
    column = Message.__table__.c["sent_at"]  # type: ignore[attr-defined]
    assert _column_formatter(column.type, postgresql.dialect()) is None
