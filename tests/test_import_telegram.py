"""``import telegram``: a Telegram Desktop export into an archive, consent first.

The sample community (sandbox/demo, expectations in its README) with its roster, on every backend:
exact numbers, nothing of people who did not say yes, every kept message traceable to a
ledger entry, idempotent reruns, crash safety, malformed entries, the real sample exports of
../shared/data/telegram, and rows identical to what live ingestion writes.
"""

from __future__ import annotations

import csv
import json
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, func
from sqlmodel import SQLModel, select

from archiver.archive import Archive, open_archive
from archiver.community import CommunitySettings, ensure_community
from archiver.consent import Actor
from archiver.errors import CommunityMemoryError, ImportFormatError
from archiver.events import AccountRef, ChatRef
from archiver.forget import forget_message, forget_person
from archiver.importers.telegram import ImportReport, import_telegram
from archiver.importers.telegram_export import ExportedMessage, open_export
from archiver.ingest import ingest_message
from archiver.recall import search
from storage import imports
from storage.models import Account, Consent, ConsentEvent, HeldMessage, Message, Person, Tag
from tests.conftest import (
    BACKENDS,
    CHAT,
    COMMUNITY,
    PG_URL,
    SETTINGS,
    SHARED_DATA,
    add_community,
    archive_bytes,
    message,
    person_of,
    rows,
)

DEMO = Path(__file__).resolve().parents[1] / "sandbox" / "demo"
EXPORT = DEMO / "sunshine_garden.json"
ROSTER = DEMO / "roster.csv"

# sandbox/demo/README.md, "Residents and consent" and "Expectations"
KEPT_BY_AUTHOR = {"10001": 55, "10002": 31, "10003": 42, "10004": 42, "10005": 2, "10006": 2}
NAMES = {
    "10001": "王阿姨",
    "10002": "保安李师傅",
    "10003": "张老师",
    "10004": "陈伟 Chen Wei",
    "10005": "Emma",
    "10006": "小刘",
}
NOT_YES = ("10007", "10008", "10009")  # none, unknown, unknown
PINNED_ON_ALL = {"217", "137", "187", "257", "266", "108", "112", "122", "130", "234", "255"}
PINNED_ON_ALL |= {"275", "157", "204", "211", "250"}
PINNED_ON_TAGGED_KEPT = {"186", "239", "25", "170"}
PINNED_NOT_KEPT = {"113", "238", "216", "175"}
OTHER_REACTIONS_ONLY = {"210", "259"}
NEVER = {
    "238": "一九八六年这片还是稻田，我骑着二八自行车来这儿钓过黄鳝，如今楼里都换上新电梯了。",
    "175": "我外婆年轻时在黄浦江边卖了三十年栀子花，橘子这个名字就是她起的。",
}
RARE_WORDS = ("稻田", "黄鳝", "二八自行车", "外婆", "黄浦江", "栀子花")
CONTROL = "各位邻居好！阳光花园邻里群今天开张了"  # message 2, kept: the byte check can fail
SHANGHAI = ZoneInfo("Asia/Shanghai")


# --- helpers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Imported:
    archive: Archive
    report: ImportReport


@pytest.fixture(scope="module", params=BACKENDS)
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Imported]:
    """The sample imported once per backend, for the tests that only read it."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'archive.db'}"
    else:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        sep = "&" if "?" in PG_URL else "?"
        url = f"{PG_URL}{sep}options={quote(f'-csearch_path={schema}')}"
    opened = open_archive(url)
    try:
        ensure_community(opened, SETTINGS)
        yield Imported(opened, import_demo(opened))
    finally:
        opened.close()
        if request.param != "sqlite":
            with admin.connect() as conn:
                conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
            admin.dispose()


def import_demo(archive: Archive, **kwargs: Any) -> ImportReport:
    """Import the sample with its roster; returns the report."""
    _, report = import_telegram(archive, COMMUNITY, EXPORT, roster=ROSTER, **kwargs)
    return report


def user_of(archive: Archive) -> dict[int, str]:
    """person id → Telegram user id."""
    return {a.person_id: a.user_id for a in rows(archive, Account) if a.platform == "telegram"}


def kept(archive: Archive) -> dict[str, Message]:
    """platform message id → kept message."""
    return {m.platform_message_id: m for m in rows(archive, Message)}


def table_counts(archive: Archive) -> dict[str, int]:
    """Rows in every table of the schema (and in the FTS5 index on SQLite)."""
    counts: dict[str, int] = {}
    with archive.db.read() as session:
        for table in SQLModel.metadata.sorted_tables:
            counts[table.name] = int(session.exec(select(func.count()).select_from(table)).one())
        if archive.db.is_sqlite:
            # one docsize row per indexed document
            found = session.connection().exec_driver_sql("SELECT count(*) FROM message_fts_docsize")
            counts["message_fts"] = int(found.scalar_one())
    return counts


def demo_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(EXPORT.read_text(encoding="utf-8"))
    return document


def plain_text(entry: dict[str, Any]) -> str:
    return "".join(part["text"] for part in entry["text_entities"])


def expected_kept_ids() -> set[str]:
    """The README's consent rules applied to the JSON itself (not through the parser)."""
    yes_all = {"10001", "10002", "10003", "10004"}
    tagged = {"10005", "10006"}
    result = set()
    for entry in demo_document()["messages"]:
        if entry["type"] != "message":
            continue
        author = entry["from_id"].removeprefix("user")
        pinned = any(r["emoji"] == "📌" for r in entry.get("reactions", []))
        if author in yes_all or (author in tagged and pinned):
            result.add(str(entry["id"]))
    return result


# --- the sample community --------------------------------------------------------------------


def test_sample_gives_the_readme_numbers(demo: Imported) -> None:
    archive, report = demo.archive, demo.report
    assert (report.entries, report.kept, report.already) == (287, 174, 0)
    assert (report.not_consented, report.malformed, report.service) == (113, 0, 7)
    assert report.consent_changes == 11  # 7 levels + 4 attributions that became "named"
    assert report.kept + report.already + report.not_consented + report.malformed == 287

    messages = kept(archive)
    assert set(messages) == expected_kept_ids()
    users = user_of(archive)
    assert Counter(users[m.author_id] for m in messages.values()) == KEPT_BY_AUTHOR
    assert set(messages) >= PINNED_ON_ALL | PINNED_ON_TAGGED_KEPT
    assert not (PINNED_NOT_KEPT | OTHER_REACTIONS_ONLY) & set(messages)

    first, last = messages["2"], messages["294"]
    assert first.sent_at == datetime(2023, 3, 1, 9, 2, 55, tzinfo=SHANGHAI)
    assert last.sent_at == datetime(2026, 11, 20, 8, 5, tzinfo=SHANGHAI)
    assert min(m.sent_at for m in messages.values()) == first.sent_at
    assert messages["138"].edited_at == datetime(2023, 12, 15, 18, 7, 16, tzinfo=SHANGHAI)
    assert [m for m in messages.values() if m.edited_at is not None] == [messages["138"]]
    assert messages["166"].reply_to == "165"  # a reply to a message that is not kept
    photos = {pid for pid, m in messages.items() if m.media_kind == "photo"}
    assert photos == {"62", "170", "184", "207", "214", "246", "263", "275"}
    assert messages["75"].text.endswith("https://example.org/sunshine-garden/lift-log")
    assert {m.source for m in messages.values()} == {"import:telegram"}
    assert all(m.tokens for m in messages.values() if any(c.isalnum() for c in m.text))
    assert messages["201"].text == "👍" and messages["201"].tokens == ""


def test_tags_are_recorded_with_their_taggers(demo: Imported) -> None:
    archive, report = demo.archive, demo.report
    kept_ids = expected_kept_ids()
    expected = set()
    for entry in demo_document()["messages"]:
        if str(entry["id"]) not in kept_ids:
            continue
        for reaction in entry.get("reactions", []):
            if reaction["emoji"] == "📌":
                recent = [r["from_id"].removeprefix("user") for r in reaction.get("recent", [])]
                expected |= {(str(entry["id"]), user) for user in recent} or {
                    (str(entry["id"]), None)
                }
    users = user_of(archive)
    tags = rows(archive, Tag)
    got = {(t.platform_message_id, users.get(t.tagger_id) if t.tagger_id else None) for t in tags}
    assert got == expected
    assert len(tags) == len(expected) == report.tags == 38
    assert {t.method for t in tags} == {"import"}
    assert {pid for pid, _ in got} == PINNED_ON_ALL | PINNED_ON_TAGGED_KEPT


def test_texts_of_people_who_did_not_say_yes_never_reach_the_database(demo: Imported) -> None:
    archive = demo.archive
    messages = kept(archive)
    assert not set(NEVER) & set(messages)
    assert not any(
        word in m.text or word in m.tokens for m in messages.values() for word in RARE_WORDS
    )
    assert rows(archive, HeldMessage) == []
    for word in RARE_WORDS:
        assert search(archive, COMMUNITY, word) == []
    assert search(archive, COMMUNITY, "志愿者")  # the search itself works
    if not archive.db.is_sqlite:
        return
    data = archive_bytes(archive)
    assert CONTROL.encode() in data  # the check can fail
    for text in [*NEVER.values(), *RARE_WORDS]:
        assert text.encode() not in data
    # every message that is not kept: its text is nowhere in the file
    kept_texts = [m.text for m in messages.values()]
    for entry in demo_document()["messages"]:
        if entry["type"] == "message" and str(entry["id"]) not in messages:
            text = plain_text(entry)
            if len(text) >= 6 and not any(text in other for other in kept_texts):
                assert text.encode() not in data, entry["id"]


def test_a_tagged_authors_untagged_messages_are_not_stored(demo: Imported) -> None:
    archive = demo.archive
    users = user_of(archive)
    by_author = Counter(users[m.author_id] for m in rows(archive, Message))
    assert by_author["10005"] == 2 and by_author["10006"] == 2
    messages = kept(archive)
    assert "210" not in messages and "259" not in messages  # 👍 / ❤ only
    assert "287" not in messages  # 小刘's untagged group buy with a link
    assert {"186", "239", "25", "170"} <= set(messages)


def test_names_are_stored_only_for_people_who_said_yes(demo: Imported) -> None:
    archive = demo.archive
    for user, name in NAMES.items():
        person = person_of(archive, user)
        assert person is not None and person.display_name == name
    for user in NOT_YES:
        person = person_of(archive, user)
        assert person is None or person.display_name is None
    stored = {p.display_name for p in rows(archive, Person)} - {None}
    assert stored == set(NAMES.values())
    refused = person_of(archive, "10007")  # 赵叔叔 said none: account id and decision only
    assert refused is not None
    ledger = [e for e in rows(archive, ConsentEvent) if e.person_id == refused.id]
    assert [(e.field, e.new_value) for e in ledger] == [("level", "none")]


def test_every_kept_message_points_to_its_authors_ledger_entry(demo: Imported) -> None:
    archive = demo.archive
    events = {e.id: e for e in rows(archive, ConsentEvent)}
    consents = {c.person_id: c for c in rows(archive, Consent)}
    messages = rows(archive, Message)
    assert len(messages) == 174
    for m in messages:
        event = events[m.consent_event_id]
        assert event.person_id == m.author_id
        assert (event.field, event.new_value, event.method) in {
            ("level", "all", "paper"),
            ("level", "tagged", "paper"),
        }
        assert consents[m.author_id].level_event_id == event.id


def test_reimporting_changes_nothing(archive: Archive) -> None:
    first = import_demo(archive)
    before = table_counts(archive)
    messages_before = sorted((m.model_dump() for m in rows(archive, Message)), key=str)
    second = import_demo(archive)
    assert table_counts(archive) == before
    assert sorted((m.model_dump() for m in rows(archive, Message)), key=str) == messages_before
    assert (second.kept, second.already, second.tags) == (0, first.kept, 0)
    assert (second.not_consented, second.entries) == (first.not_consented, first.entries)
    assert second.consent_changes == 0  # the roster, again: nothing new
    assert before["message"] == 174 and before["tag"] == 38


@pytest.mark.parametrize("crash", ["storage", "progress"])
def test_a_crash_keeps_finished_batches_and_a_rerun_completes(
    archive: Archive, monkeypatch: pytest.MonkeyPatch, crash: str
) -> None:
    calls: list[int] = []

    def fail_third(*_: Any) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk on fire")

    progress: Callable[[int], None] | None = None
    if crash == "storage":
        real = imports.insert_messages

        def failing(*args: Any) -> int:
            fail_third()
            return real(*args)

        monkeypatch.setattr(imports, "insert_messages", failing)
    else:
        progress = fail_third
    with pytest.raises(RuntimeError, match="disk on fire"):
        import_demo(archive, batch_size=20, progress=progress)
    committed = 40 if crash == "storage" else 60  # batch 3 rolled back / batch 3 committed
    assert len(rows(archive, Message)) == committed
    monkeypatch.undo()

    report = import_demo(archive, batch_size=20)
    assert (report.kept, report.already) == (174 - committed, committed)
    assert report.consent_changes == 0  # the roster went in before the first batch
    assert set(kept(archive)) == expected_kept_ids()
    assert len(rows(archive, Tag)) == 38
    if archive.db.is_sqlite:
        assert table_counts(archive)["message_fts"] == 174


def test_progress_counts_entries_as_their_batches_commit(archive: Archive) -> None:
    refused: list[int] = []  # without the roster nobody said yes: nothing to write …
    import_telegram(archive, COMMUNITY, EXPORT, progress=refused.append, batch_size=20)
    assert refused == [80, 160, 240, 287]  # … and progress is shown all the same
    calls: list[int] = []
    import_demo(archive, batch_size=20, progress=calls.append)
    assert calls == sorted(calls) and calls[-1] == 287
    assert len(calls) >= 174 // 20


def test_malformed_entries_are_counted_with_examples(archive: Archive, tmp_path: Path) -> None:
    document = demo_document()
    entries = document["messages"]
    by_id = {e["id"]: e for e in entries}
    del by_id[2]["date"], by_id[2]["date_unixtime"]  # 张老师, would be kept
    by_id[75]["from_id"] = 12.5  # 陈伟, would be kept
    entries += [{"id": 900 + n, "type": "unsupported"} for n in range(5)]
    entries.append(42)
    path = tmp_path / "result.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")

    _, report = import_telegram(archive, COMMUNITY, path, roster=ROSTER)
    # Telegram Desktop's own "unsupported" entries are skipped and counted apart: they are
    # no fault of the file (issue 14), so they never make the import fail.
    assert (report.malformed, report.unsupported) == (3, 5)
    assert report.entries == 287 + 6
    assert report.kept == 172 and report.not_consented == 113
    assert (
        report.kept + report.already + report.not_consented + report.malformed
        + report.unsupported
    ) == report.entries  # fmt: skip
    assert len(report.malformed_examples) == 3
    assert report.malformed_examples[0].startswith("message 2: ")
    assert "date" in report.malformed_examples[0]
    assert report.malformed_examples[1].startswith("message 75: ")
    assert report.malformed_examples[2].startswith("entry #")
    assert "294" in kept(archive)  # the import went on to the end


def test_a_message_id_twice_in_one_export_is_kept_once(archive: Archive, tmp_path: Path) -> None:
    document = demo_document()
    entries = document["messages"]
    entries.append(dict(next(e for e in entries if e["id"] == 2)))
    path = tmp_path / "result.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    _, report = import_telegram(archive, COMMUNITY, path, roster=ROSTER)
    assert (report.entries, report.kept, report.already) == (288, 174, 1)
    assert len(rows(archive, Message)) == 174


def test_a_chat_of_another_community_is_refused(archive: Archive) -> None:
    add_community(archive, "elsewhere", ChatRef("telegram", "-1005550001"))
    before = table_counts(archive)
    with pytest.raises(CommunityMemoryError, match=COMMUNITY):
        import_telegram(archive, "elsewhere", EXPORT, roster=ROSTER)
    assert table_counts(archive) == before


def test_an_unknown_community_is_refused(archive: Archive) -> None:
    with pytest.raises(CommunityMemoryError, match="nowhere"):
        import_telegram(archive, "nowhere", EXPORT)


def test_a_bad_roster_records_nothing(archive: Archive, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    lines = ROSTER.read_text(encoding="utf-8").splitlines()
    lines[5] = lines[5].replace(",tagged,", ",maybe,")
    roster.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = table_counts(archive)
    with pytest.raises(ImportFormatError, match="line 6"):
        import_telegram(archive, COMMUNITY, EXPORT, roster=roster)
    assert table_counts(archive) == before


def test_nul_characters_are_dropped_like_live_ingestion(archive: Archive, tmp_path: Path) -> None:
    document = demo_document()
    entry = next(e for e in document["messages"] if e["id"] == 2)
    entry["text"] = entry["text_entities"][0]["text"] = "before\u0000after"
    path = tmp_path / "result.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    import_telegram(archive, COMMUNITY, path, roster=ROSTER)
    assert kept(archive)["2"].text == "beforeafter"


def test_an_imported_row_reads_back_like_a_live_one(archive: Archive) -> None:
    import_demo(archive)
    imported = kept(archive)["138"]  # 张老师: edited, and kept under her paper consent
    live = ingest_message(
        archive,
        message("live-138", "10003", imported.text, sent_at=imported.sent_at, name="张老师"),
    )
    assert live.kept and live.message_id is not None
    again = kept(archive)
    twin = again["live-138"]
    skip = {"id", "platform_message_id", "source", "kept_at", "edited_at"}
    assert again["138"].model_dump(exclude=skip) == twin.model_dump(exclude=skip)
    for one in (again["138"], twin):
        assert one.sent_at.tzinfo is not None and one.sent_at.utcoffset() is not None
        assert one.kept_at.tzinfo is not None
    # what lies in the database: the same representation for both rows
    with archive.db.read() as session:
        raw = session.connection().exec_driver_sql(
            "SELECT platform_message_id, sent_at, kept_at, edited_at, text, tokens "
            "FROM message WHERE platform_message_id IN ('138', 'live-138') "
            "ORDER BY platform_message_id"
        )
        row_import, row_live = list(raw)
    assert row_import[1] == row_live[1]  # the same instant, written the same way
    assert type(row_import[2]) is type(row_live[2])
    assert row_import[4:] == row_live[4:]
    if archive.db.is_sqlite:
        pattern = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}")
        for value in (row_import[1], row_import[2], row_import[3], row_live[1], row_live[2]):
            assert isinstance(value, str) and pattern.fullmatch(value), value


# --- the real sample exports (../shared/data/telegram) ----------------------------------------

SAMPLES = SHARED_DATA / "telegram"
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"{SAMPLES} is absent")


def roster_for(path: Path, authors: set[str], out: Path) -> Path:
    """A roster granting ``all`` to every author of an export."""
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ("account", "level", "attribution", "recorded_by", "recorded_at", "evidence")
        )
        for number, author in enumerate(sorted(authors), start=1):
            writer.writerow(
                (f"telegram:{author}", "all", "named", "test steward", "2026-11-01T10:00:00",
                 f"form {path.stem} #{number}")
            )  # fmt: skip
    return out


@needs_samples
def test_every_sample_export_imports_with_consent_for_every_author(
    archive: Archive, tmp_path: Path
) -> None:
    """Each chat gets a fresh community; exports of one chat (the tgif threads) share it."""
    files = sorted(p for p in SAMPLES.glob("*.json") if p.name != "tcp_error.json")
    assert len(files) >= 20
    ids_per_chat: dict[str, set[str]] = {}
    for path in files:
        export = open_export(path, local_tz=SHANGHAI)
        chat = export.chat.chat_id
        entries = list(export.entries())
        messages = [e for e in entries if isinstance(e, ExportedMessage)]
        authored = [m for m in messages if m.author_id]
        authors = {m.author_id for m in authored if m.author_id}
        community = "c" + chat.replace("-", "m")
        if chat not in ids_per_chat:
            ensure_community(archive, CommunitySettings(id=community, name=path.stem))
            ids_per_chat[chat] = set()
        roster = roster_for(path, authors, tmp_path / f"{path.stem}.csv")
        _, report = import_telegram(archive, community, path, roster=roster)
        new = {m.id for m in authored} - ids_per_chat[chat]
        assert report.kept == len(new), path.name
        assert report.kept + report.already == len(authored), path.name
        assert report.not_consented == len(messages) - len(authored), path.name
        assert report.malformed + report.unsupported == len(entries) - len(messages), path.name
        assert report.service == export.service_count, path.name
        ids_per_chat[chat] |= new
    total = sum(len(ids) for ids in ids_per_chat.values())
    assert len(rows(archive, Message)) == total > 1000
    by_space = Counter(m.space_id for m in rows(archive, Message))
    assert sorted(by_space.values()) == sorted(len(ids) for ids in ids_per_chat.values() if ids)


@needs_samples
def test_the_invalid_sample_fails_before_anything_is_written(
    archive: Archive, tmp_path: Path
) -> None:
    roster = roster_for(SAMPLES / "tcp_error.json", {"9999999999"}, tmp_path / "r.csv")
    before = table_counts(archive)
    with pytest.raises(ImportFormatError, match=r"tcp_error\.json"):
        import_telegram(archive, COMMUNITY, SAMPLES / "tcp_error.json", roster=roster)
    assert table_counts(archive) == before


def test_times_read_back_as_the_exports_unix_times(demo: Imported) -> None:
    """Times read back aware and equal to the export's unix times (both backends)."""
    first = kept(demo.archive)["2"]
    assert first.sent_at.astimezone(UTC) == datetime.fromtimestamp(1677632575, UTC)


def test_the_sample_chat_is_the_fixtures_chat() -> None:
    """The fixtures' community owns the sample's chat, so imports above land in CHAT."""
    assert open_export(EXPORT, local_tz=SHANGHAI).chat.chat_id == CHAT.chat_id


# --- what forget erased stays erased; Telegram's own keep reaction ------------------------------


def test_a_forgotten_person_is_not_brought_back_by_importing_again(
    archive: Archive, tmp_path: Path
) -> None:
    """陈伟 (telegram:10004, at ``all`` on the roster) asks to be forgotten; the steward
    imports the same export again, roster and all: none of his 42 messages come back. What
    he writes after the forget is kept, as the live bot would keep it."""
    import_demo(archive)
    his = [m.text for m in kept(archive).values() if user_of(archive)[m.author_id] == "10004"]
    assert len(his) == 42
    forget_person(archive, COMMUNITY, AccountRef("telegram", "10004"), actor=Actor(steward="cli"))
    document = demo_document()
    later = int(datetime.now(UTC).timestamp()) + 3600
    document["messages"].append(
        {
            "id": 5000, "type": "message", "date": "2030-01-01T00:00:00",
            "date_unixtime": str(later), "from": "陈伟 Chen Wei", "from_id": "user10004",
            "text": "忘记之后我又说了一句话", "text_entities": [],
        }
    )  # fmt: skip
    path = tmp_path / "result.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    _, again = import_telegram(archive, COMMUNITY, path, roster=ROSTER)
    assert again.forgotten == 42 and again.kept == 1
    assert again.kept + again.already + again.forgotten + again.not_consented + again.malformed == (
        again.entries
    )
    now_his = [m.text for m in kept(archive).values() if user_of(archive)[m.author_id] == "10004"]
    assert now_his == ["忘记之后我又说了一句话"]
    if archive.db.is_sqlite:  # and by the file's bytes
        data = archive_bytes(archive)
        assert not [t for t in his if len(t) >= 8 and t.encode() in data]  # "好的": anyone's
        assert CONTROL.encode() in data  # the check can fail: kept texts are in the file


def test_a_forgotten_message_is_not_brought_back(archive: Archive) -> None:
    import_demo(archive)
    assert kept(archive)["2"].text.startswith(CONTROL)
    forget_message(archive, CHAT, "2", actor=Actor(AccountRef("telegram", "10003")))
    again = import_demo(archive)
    assert (again.forgotten, again.kept) == (1, 0)
    assert "2" not in kept(archive) and len(kept(archive)) == 173
    if archive.db.is_sqlite:
        assert CONTROL.encode() not in archive_bytes(archive)


@pytest.mark.parametrize("emoji", ["✍", "✍️"])
def test_telegrams_keep_reaction_tags_on_import(
    archive: Archive, tmp_path: Path, emoji: str
) -> None:
    """Telegram has no 📌 reaction: residents tag with ✍ (the live bot's keep reaction there),
    which an export shows as ✍ or ✍️. Emma is at ``tagged``: her ✍-tagged message is kept,
    her other untagged ones are not."""
    document = demo_document()
    target = next(
        e
        for e in document["messages"]
        if e.get("from_id") == "user10005" and not e.get("reactions")
    )
    target["reactions"] = [
        {
            "type": "emoji", "count": 1, "emoji": emoji,
            "recent": [{"from": "王阿姨", "from_id": "user10001", "date": "2023-04-02T19:13:39"}],
        }
    ]  # fmt: skip
    path = tmp_path / "result.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    _, report = import_telegram(archive, COMMUNITY, path, roster=ROSTER)
    assert str(target["id"]) in kept(archive)
    assert report.kept == 175  # the README's 174, and this one
    assert [t for t in rows(archive, Tag) if t.platform_message_id == str(target["id"])]
