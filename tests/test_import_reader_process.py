"""``import telegram`` reads a large export in a worker process: the same archive, the same
report, the same errors and crash safety as reading it in the importer's own process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from archiver.archive import Archive
from archiver.errors import ImportFormatError
from archiver.importers import telegram
from archiver.segmentation import Segmenter
from storage import imports
from storage.models import Message, Tag
from tests.test_import_telegram import COMMUNITY, import_demo, rows, table_counts


def archive_rows(archive: Archive) -> list[tuple[Any, ...]]:
    return sorted(
        (m.platform_message_id, m.author_id, m.sent_at, m.edited_at, m.text, m.tokens)
        for m in rows(archive, Message)
    )


def test_the_worker_gives_what_the_importer_itself_gives(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = import_demo(archive, batch_size=20)
    expected = (archive_rows(archive), table_counts(archive), len(rows(archive, Tag)))
    # the same export again, read by a worker: everything is already kept
    monkeypatch.setattr(telegram, "READER_PROCESS_MIN_BYTES", 0)
    again = import_demo(archive, batch_size=20)
    assert (again.kept, again.already) == (0, here.kept)
    assert (again.entries, again.not_consented, again.malformed, again.service) == (
        here.entries,
        here.not_consented,
        here.malformed,
        here.service,
    )
    assert (archive_rows(archive), table_counts(archive), len(rows(archive, Tag))) == expected


def test_every_message_read_by_the_worker_has_its_words_cut(
    archive: Archive, monkeypatch: pytest.MonkeyPatch, segmenter: Segmenter
) -> None:
    # the worker cuts every other message and the importer the rest: none may be left out
    monkeypatch.setattr(telegram, "READER_PROCESS_MIN_BYTES", 0)
    report = import_demo(archive, batch_size=20)
    messages = rows(archive, Message)
    assert len(messages) == report.kept > 40
    assert [m.tokens for m in messages] == [segmenter.index_tokens(m.text) for m in messages]
    assert all(m.tokens for m in messages if any(ch.isalnum() for ch in m.text))


def test_the_worker_imports_from_scratch_and_survives_a_crash(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(telegram, "READER_PROCESS_MIN_BYTES", 0)
    real = imports.insert_messages
    calls: list[int] = []

    def failing(*args: Any) -> int:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk on fire")
        return real(*args)

    monkeypatch.setattr(imports, "insert_messages", failing)
    with pytest.raises(RuntimeError, match="disk on fire"):
        import_demo(archive, batch_size=20)
    assert len(rows(archive, Message)) == 40
    monkeypatch.setattr(imports, "insert_messages", real)
    report = import_demo(archive, batch_size=20)
    assert (report.kept, report.already) == (174 - 40, 40)


def test_a_json_error_in_the_messages_comes_back_from_the_worker(
    archive: Archive, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(telegram, "READER_PROCESS_MIN_BYTES", 0)
    path = tmp_path / "result.json"
    path.write_text(
        '{"name": "x", "type": "private_supergroup", "id": 1555000777, "messages": [\n'
        ' {"id": 1, "type": "service"},\n {"id": 2 "type": "message"}\n]}\n',
        encoding="utf-8",
    )
    with pytest.raises(ImportFormatError) as caught:
        telegram.import_telegram(archive, COMMUNITY, path)
    assert str(caught.value) == (
        f"{path}: invalid JSON at line 3, column 11: Expecting ',' delimiter"
    )
