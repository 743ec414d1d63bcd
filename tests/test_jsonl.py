"""``export jsonl`` / ``import jsonl``: the format, consent in the export, a faithful round trip,
idempotent merges, and one-line errors for bad files with nothing written."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, func
from sqlmodel import select

from archiver.archive import Archive
from archiver.community import CommunitySettings, SpaceRef, ensure_community
from archiver.consent import (
    Actor,
    Attribution,
    Level,
    Method,
    consent_of,
    mark_prompted,
    set_attribution,
    set_level,
)
from archiver.errors import CommunityMemoryError, ImportFormatError, UnknownCommunityError
from archiver.events import EditEvent, MessageEvent, TagEvent, TagMethod
from archiver.exporters.jsonl import export_jsonl
from archiver.forget import forget_person
from archiver.importers.jsonl import import_jsonl
from archiver.importers.telegram import import_telegram
from archiver.ingest import edit_message, ingest_message
from archiver.preservation import tag_message
from archiver.recall import search
from archiver.segmentation import Segmenter
from storage import communities
from storage import messages as message_store
from storage.db import Database
from storage.migrate import upgrade
from storage.models import (
    Account,
    Community,
    ConsentEvent,
    HeldMessage,
    Message,
    MessageVersion,
    Person,
    Post,
    Space,
    Story,
    Tag,
)
from storage.people import find_person
from tests.conftest import CHAT, COMMUNITY, PG_URL, SETTINGS, account, message

DEMO = Path(__file__).resolve().parents[1] / "sandbox" / "demo"
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)

HELD_TEXT = "我外婆年轻时在黄浦江边卖了三十年栀子花"
NONE_TEXT = "一九八六年这片还是稻田，我骑着二八自行车来这儿钓过黄鳝"
NONE_NAME = "赵叔叔"
HELD_NAME = "林姐"

# The keys every line of a type carries (docs/export-format.md).
KEYS = {
    "community": {
        "schema",
        "id",
        "name",
        "language",
        "timezone",
        "keep_emoji",
        "hold_hours",
        "created_at",
        "exported_at",
        "generator",
    },
    "space": {"id", "platform", "chat_id", "title", "active", "created_at"},
    "person": {
        "id",
        "accounts",
        "level",
        "attribution",
        "level_event",
        "prompted_at",
        "updated_at",
        "created_at",
    },
    "consent_event": {
        "id",
        "person",
        "field",
        "old_value",
        "new_value",
        "method",
        "actor",
        "recorded_by",
        "evidence",
        "space",
        "platform_message_id",
        "at",
    },
    "story": {"id", "name", "created_by", "created_at"},
    "message": {
        "id",
        "space",
        "platform_message_id",
        "author",
        "sent_at",
        "edited_at",
        "text",
        "reply_to",
        "media_kind",
        "tags",
        "story_ids",
        "source",
        "consent_event",
        "kept_at",
    },
    "message_version": {
        "id",
        "message",
        "space",
        "platform_message_id",
        "text",
        "valid_from",
        "replaced_at",
    },
    "tag": {
        "id",
        "message",
        "space",
        "platform_message_id",
        "tagger",
        "story",
        "method",
        "created_at",
    },
    "post": {"id", "kind", "period", "status", "created_at", "sent_at"},
}
ORDER = list(KEYS)
TABLES = (
    Community,
    Space,
    Person,
    Account,
    ConsentEvent,
    Story,
    Message,
    MessageVersion,
    Tag,
    Post,
)


# --- fixtures and helpers ----------------------------------------------------------------------


@pytest.fixture
def fresh_archive(
    db_url: str, tmp_path: Path, segmenter: Segmenter
) -> Iterator[Callable[[], Archive]]:
    """Makes empty archives on the same backend as ``archive`` (another SQLite file, or
    another PostgreSQL schema), without any community."""
    opened: list[Archive] = []
    schemas: list[str] = []
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT") if PG_URL else None

    def make() -> Archive:
        if db_url.startswith("sqlite"):
            url = f"sqlite:///{tmp_path / f'restored-{len(opened)}.db'}"
        else:
            assert admin is not None
            schema = f"t_{uuid.uuid4().hex[:12]}"
            with admin.connect() as conn:
                conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
            schemas.append(schema)
            sep = "&" if "?" in PG_URL else "?"
            url = f"{PG_URL}{sep}options={quote(f'-csearch_path={schema}')}"
        restored = Archive(db=Database(url), segmenter=segmenter)
        upgrade(restored.db)
        opened.append(restored)
        return restored

    try:
        yield make
    finally:
        for restored in opened:
            restored.close()
        if admin is not None:
            with admin.connect() as conn:
                for schema in schemas:
                    conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
            admin.dispose()


def build_community(archive: Archive) -> None:
    """A small community made through the real archiver API."""
    button = Method.BUTTON

    def yes(user: int, level: Level, name: str, *, minutes: int) -> None:
        set_level(
            archive,
            COMMUNITY,
            account(user),
            level,
            actor=Actor(account=account(user)),
            method=button,
            display_name=name,
            at=T0 + timedelta(minutes=minutes),
        )

    yes(101, Level.ALL, "王阿姨", minutes=1)
    set_attribution(
        archive,
        COMMUNITY,
        account(101),
        Attribution.NAMED,
        actor=Actor(account=account(101)),
        method=button,
        at=T0 + timedelta(minutes=2),
    )
    yes(102, Level.TAGGED, "Emma", minutes=3)
    set_level(
        archive,
        COMMUNITY,
        account(105),
        Level.ALL,
        actor=Actor(steward="张老师", evidence="纸质同意书 #005"),
        method=Method.PAPER,
        at=T0 + timedelta(minutes=4),
    )
    set_level(
        archive,
        COMMUNITY,
        account(103),
        Level.NONE,
        actor=Actor(account=account(103)),
        method=Method.COMMAND,
        display_name=NONE_NAME,
        at=T0 + timedelta(minutes=5),
    )

    def say(mid: int, user: int, text: str, name: str, *, hours: int) -> None:
        ingest_message(
            archive, message(mid, user, text, name=name, sent_at=T0 + timedelta(hours=hours))
        )

    say(1, 101, "电梯又坏了，物业什么时候来修？", "王阿姨", hours=1)
    say(2, 101, "保安李师傅昨晚抓到一个偷车贼！", "王阿姨", hours=2)
    say(3, 105, "大家给李师傅募捐吧，我先出一百。", "张老师", hours=3)
    say(4, 103, NONE_TEXT, NONE_NAME, hours=4)  # level none: never kept
    say(5, 105, "The lift is broken again, I walked up 18 floors.", "张老师", hours=5)
    assert ingest_message(archive, message(6, 104, HELD_TEXT, name=HELD_NAME)).kept is False

    # A reply from 王阿姨, and an edit of message 2 (its old text becomes a version).
    ingest_message(
        archive,
        MessageEvent(
            chat=CHAT,
            message_id="7",
            author=account(101),
            sent_at=T0 + timedelta(hours=7),
            text="电梯修好了，谢谢物业。",
            author_name="王阿姨",
            reply_to="1",
        ),
    )
    edit_message(
        archive,
        EditEvent(
            chat=CHAT,
            message_id="2",
            editor=account(101),
            text="保安李师傅昨晚在东门抓到一个偷车贼！",
            edited_at=T0 + timedelta(hours=2, minutes=10),
        ),
    )

    def tag(mid: int, tagger: int, story: str | None, target: Any = None) -> None:
        tag_message(
            archive,
            TagEvent(
                chat=CHAT,
                message_id=str(mid),
                tagger=account(tagger),
                method=TagMethod.COMMAND,
                story=story,
                target=target,
            ),
        )

    tag(1, 102, "电梯之争")
    tag(1, 105, None)
    tag(3, 101, "李师傅和募捐")
    # Emma (tagged) is kept once someone tags her message.
    tag(
        8,
        101,
        "电梯之争",
        message(8, 102, "Lift fixed at last!", name="Emma", sent_at=T0 + timedelta(hours=8)),
    )
    # 林姐 never answered: her tagged message is held, never exported.
    tag(6, 101, "李师傅和募捐", message(6, 104, HELD_TEXT, name=HELD_NAME))
    # 赵叔叔 said none: a tag on his message is refused.
    tag(4, 101, None, message(4, 103, NONE_TEXT, name=NONE_NAME))
    with archive.db.write() as session:
        message_store.insert_ignoring_duplicates(
            session,
            Post,
            [
                {
                    "community_id": COMMUNITY,
                    "kind": "digest",
                    "period": "2026-W45",
                    "status": "sent",
                    "created_at": T0 + timedelta(days=6),
                    "sent_at": T0 + timedelta(days=6, minutes=1),
                }
            ],
        )


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def canonical(path: Path) -> dict[str, list[Any]]:
    """The export with every numeric id replaced by its natural key, and ``exported_at``
    dropped: two exports of equivalent archives give equal results."""
    lines = read_lines(path)
    people = {p["id"]: tuple(p["accounts"]) for p in lines if p["type"] == "person"}
    ledger = {
        e["id"]: (people[e["person"]], e["field"], e["new_value"], e["at"], e["method"])
        for e in lines
        if e["type"] == "consent_event"
    }
    stories = {s["id"]: s["name"] for s in lines if s["type"] == "story"}
    messages = {
        m["id"]: (m["space"], m["platform_message_id"]) for m in lines if m["type"] == "message"
    }
    tags = {
        t["id"]: (t["space"], t["platform_message_id"], people.get(t["tagger"]))
        for t in lines
        if t["type"] == "tag"
    }
    out: dict[str, list[Any]] = {kind: [] for kind in KEYS}
    for line in lines:
        record = dict(line)
        kind = record.pop("type")
        if kind == "community":
            record.pop("exported_at")
        elif kind == "person":
            record["id"] = people[record["id"]]
            if record["level_event"] is not None:
                record["level_event"] = ledger[record["level_event"]]
        elif kind == "consent_event":
            record["id"] = ledger[record["id"]]
            record["person"] = people[record["person"]]
        elif kind == "story":
            record["id"] = stories[record["id"]]
            if record["created_by"] is not None:
                record["created_by"] = people[record["created_by"]]
        elif kind == "message":
            record["id"] = messages[record["id"]]
            record["author"] = people[record["author"]]
            record["consent_event"] = ledger[record["consent_event"]]
            record["tags"] = [tags[t] for t in record["tags"]]
            record["story_ids"] = sorted(stories[s] for s in record["story_ids"])
        elif kind == "message_version":
            record["message"] = messages[record["message"]]
            record["id"] = (record["message"], record["replaced_at"])
        elif kind == "tag":
            record["id"] = tags[record["id"]]
            record["message"] = messages[record["message"]]
            if record["tagger"] is not None:
                record["tagger"] = people[record["tagger"]]
            if record["story"] is not None:
                record["story"] = stories[record["story"]]
        elif kind == "post":
            record.pop("id")
        out[kind].append(record)
    return out


def row_counts(archive: Archive) -> dict[str, int]:
    with archive.db.read() as session:
        return {
            model.__name__: int(session.exec(select(func.count()).select_from(model)).one())
            for model in TABLES
        }


def assert_times_have_offsets(record: dict[str, Any]) -> None:
    for key, value in record.items():
        if (key == "at" or key.endswith("_at")) and value is not None:
            moment = datetime.fromisoformat(value)
            assert moment.tzinfo is not None, (record["type"], key, value)
            assert moment.utcoffset() == timedelta(0), (record["type"], key, value)
            assert value.endswith("+00:00"), value


# --- export ----------------------------------------------------------------------------------


def test_export_writes_every_line_type_in_order(archive: Archive, tmp_path: Path) -> None:
    build_community(archive)
    out = tmp_path / "sunshine.jsonl"
    report = export_jsonl(archive, COMMUNITY, out)
    lines = read_lines(out)
    kinds = [line["type"] for line in lines]
    assert kinds[0] == "community"
    assert kinds == sorted(kinds, key=ORDER.index)
    assert set(kinds) == set(ORDER)
    for line in lines:
        assert KEYS[line["type"]] <= set(line), line
        assert_times_have_offsets(line)
    community = lines[0]
    assert community["schema"] == 2
    assert community["id"] == COMMUNITY
    assert community["generator"].startswith("community-memory ")
    assert report.lines == len(lines)
    assert report.messages == kinds.count("message") == 6
    assert report.bytes == out.stat().st_size
    assert out.read_bytes().decode("utf-8")  # UTF-8 throughout
    assert not list(tmp_path.glob(".*.part"))  # no temporary file left behind


def test_export_content_follows_the_archive(archive: Archive, tmp_path: Path) -> None:
    build_community(archive)
    out = tmp_path / "sunshine.jsonl"
    export_jsonl(archive, COMMUNITY, out)
    lines = read_lines(out)
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        by_kind.setdefault(line["type"], []).append(line)
    assert by_kind["space"][0]["id"] == f"{CHAT.platform}:{CHAT.chat_id}"
    people = {p["accounts"][0]: p for p in by_kind["person"]}
    assert people["telegram:101"]["display_name"] == "王阿姨"
    assert people["telegram:101"]["attribution"] == "named"
    assert people["telegram:103"]["level"] == "none"
    assert "display_name" not in people["telegram:103"]
    assert "display_name" not in people["telegram:104"]  # unknown: account id only
    ledger = {e["id"]: e for e in by_kind["consent_event"]}
    paper = [e for e in ledger.values() if e["method"] == "paper"]
    assert paper[0]["recorded_by"] == "张老师"
    assert paper[0]["evidence"] == "纸质同意书 #005"
    messages = {m["platform_message_id"]: m for m in by_kind["message"]}
    assert set(messages) == {"1", "2", "3", "5", "7", "8"}
    for m in messages.values():
        author = next(p for p in by_kind["person"] if p["id"] == m["author"])
        assert ledger[m["consent_event"]]["person"] == author["id"]
        assert m["source"] == "live"
    assert messages["7"]["reply_to"] == "1"
    assert messages["2"]["edited_at"] is not None
    assert len(messages["1"]["tags"]) == 2
    stories = {s["id"]: s["name"] for s in by_kind["story"]}
    assert [stories[s] for s in messages["1"]["story_ids"]] == ["电梯之争"]
    assert [stories[s] for s in messages["8"]["story_ids"]] == ["电梯之争"]
    (version,) = by_kind["message_version"]
    assert version["message"] == messages["2"]["id"]
    assert version["text"] == "保安李师傅昨晚抓到一个偷车贼！"
    assert {t["message"] for t in by_kind["tag"]} <= {m["id"] for m in messages.values()}
    assert by_kind["post"][0]["period"] == "2026-W45"


def test_export_never_holds_held_messages_or_names_without_consent(
    archive: Archive, tmp_path: Path
) -> None:
    build_community(archive)
    with archive.db.read() as session:
        assert session.exec(select(HeldMessage)).first() is not None  # 林姐's copy is held
    out = tmp_path / "sunshine.jsonl"
    export_jsonl(archive, COMMUNITY, out)
    text = out.read_text(encoding="utf-8")
    for secret in (HELD_TEXT, NONE_TEXT, NONE_NAME, HELD_NAME):
        assert secret not in text
    lines = read_lines(out)
    # The tag waiting on the held message stays with it.
    assert all(t["platform_message_id"] != "6" for t in lines if t["type"] == "tag")


def test_export_refuses_to_overwrite(archive: Archive, tmp_path: Path) -> None:
    out = tmp_path / "sunshine.jsonl"
    out.write_text("keep me", encoding="utf-8")
    with pytest.raises(CommunityMemoryError, match="already exists"):
        export_jsonl(archive, COMMUNITY, out)
    assert out.read_text(encoding="utf-8") == "keep me"
    report = export_jsonl(archive, COMMUNITY, out, overwrite=True)
    assert read_lines(out)[0]["type"] == "community"
    assert report.lines == 2  # the community and its one space
    assert not list(tmp_path.glob(".*.part"))


def test_export_of_unknown_community_leaves_no_file(archive: Archive, tmp_path: Path) -> None:
    out = tmp_path / "nobody.jsonl"
    with pytest.raises(UnknownCommunityError):
        export_jsonl(archive, "nobody", out)
    assert not out.exists()
    assert not list(tmp_path.glob(".*.part"))


def test_export_into_missing_folder_is_one_line_error(archive: Archive, tmp_path: Path) -> None:
    with pytest.raises(CommunityMemoryError, match="does not exist") as error:
        export_jsonl(archive, COMMUNITY, tmp_path / "no" / "such.jsonl")
    assert "\n" not in str(error.value)


def test_export_streams_in_pages(archive: Archive, tmp_path: Path) -> None:
    build_community(archive)
    whole, paged = tmp_path / "whole.jsonl", tmp_path / "paged.jsonl"
    seen: list[int] = []
    export_jsonl(archive, COMMUNITY, whole)
    export_jsonl(archive, COMMUNITY, paged, page_size=2, progress=seen.append)
    assert seen == [2, 4, 6]
    assert canonical(whole) == canonical(paged)


# --- import ----------------------------------------------------------------------------------


def test_round_trip_gives_an_equivalent_archive(
    archive: Archive, fresh_archive: Callable[[], Archive], tmp_path: Path
) -> None:
    build_community(archive)
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    export_jsonl(archive, COMMUNITY, first)
    restored = fresh_archive()
    report = import_jsonl(restored, first)
    assert report.created_community
    assert report.community_id == COMMUNITY
    assert (report.messages, report.message_versions, report.tags) == (6, 1, 4)
    assert report.lines == len(read_lines(first))
    export_jsonl(restored, COMMUNITY, second)
    assert canonical(first) == canonical(second)
    # Restored consent points where it should: messages at the restored ledger entries.
    with restored.db.read() as session:
        for kept in session.exec(select(Message)):
            event = session.get(ConsentEvent, kept.consent_event_id)
            assert event is not None and event.person_id == kept.author_id


def test_rerun_of_import_adds_nothing(
    archive: Archive, fresh_archive: Callable[[], Archive], tmp_path: Path
) -> None:
    build_community(archive)
    out = tmp_path / "sunshine.jsonl"
    export_jsonl(archive, COMMUNITY, out)
    restored = fresh_archive()
    import_jsonl(restored, out)
    before = row_counts(restored)
    again = import_jsonl(restored, out)
    assert again.added == 0
    assert not again.created_community
    assert again.messages_already == 6
    assert (again.people, again.people_matched) == (0, 5)
    assert again.consent_events == 0 and again.consent_events_matched > 0
    assert row_counts(restored) == before


def test_import_into_the_source_archive_merges_idempotently(
    archive: Archive, tmp_path: Path
) -> None:
    build_community(archive)
    out = tmp_path / "sunshine.jsonl"
    export_jsonl(archive, COMMUNITY, out)
    before = row_counts(archive)
    report = import_jsonl(archive, out)
    assert report.added == 0
    assert row_counts(archive) == before


def test_search_works_on_the_restored_archive(
    archive: Archive, fresh_archive: Callable[[], Archive], tmp_path: Path
) -> None:
    build_community(archive)
    out = tmp_path / "sunshine.jsonl"
    export_jsonl(archive, COMMUNITY, out)
    restored = fresh_archive()
    import_jsonl(restored, out)
    found = search(restored, COMMUNITY, "电梯")
    assert {m.platform_message_id for m in found} == {"1", "7"}
    assert found[0].author == "王阿姨"  # named
    assert [m.platform_message_id for m in search(restored, COMMUNITY, "募捐")] == ["3"]
    assert search(restored, COMMUNITY, "栀子花") == []


def test_restored_none_is_remembered(
    archive: Archive, fresh_archive: Callable[[], Archive], tmp_path: Path
) -> None:
    build_community(archive)
    out = tmp_path / "sunshine.jsonl"
    export_jsonl(archive, COMMUNITY, out)
    restored = fresh_archive()
    import_jsonl(restored, out)
    result = ingest_message(restored, message(99, 103, "还是不要保存我的话"))
    assert result.kept is False and result.level is Level.NONE and not result.should_ask
    assert ingest_message(restored, message(98, 101, "新消息")).kept


def test_import_under_another_community_id(
    archive: Archive, fresh_archive: Callable[[], Archive], tmp_path: Path
) -> None:
    build_community(archive)
    out = tmp_path / "sunshine.jsonl"
    export_jsonl(archive, COMMUNITY, out)
    restored = fresh_archive()
    report = import_jsonl(restored, out, community_id="garden-copy")
    assert report.community_id == "garden-copy"
    with restored.db.read() as session:
        assert communities.get_community(session, COMMUNITY) is None
        assert communities.get_community(session, "garden-copy") is not None
    assert search(restored, "garden-copy", "电梯")


def test_import_refuses_a_chat_of_another_community(archive: Archive, tmp_path: Path) -> None:
    build_community(archive)
    out = tmp_path / "sunshine.jsonl"
    export_jsonl(archive, COMMUNITY, out)
    before = row_counts(archive)
    with pytest.raises(CommunityMemoryError, match="belongs to community 'sunshine'"):
        import_jsonl(archive, out, community_id="elsewhere")
    assert row_counts(archive) == before


def test_import_does_not_bring_back_what_was_forgotten(
    archive: Archive, fresh_archive: Callable[[], Archive], tmp_path: Path
) -> None:
    build_community(archive)
    out = tmp_path / "sunshine.jsonl"
    export_jsonl(archive, COMMUNITY, out)
    restored = fresh_archive()
    import_jsonl(restored, out)
    forget_person(restored, COMMUNITY, account(101), actor=Actor(account=account(101)))
    report = import_jsonl(restored, out)
    assert report.messages == 0
    assert report.messages_erased == 3  # 王阿姨's messages 1, 2 and 7
    assert report.tags == 0  # neither the tags on her messages nor the ones she made
    assert search(restored, COMMUNITY, "电梯") == []
    with restored.db.read() as session:
        kept = {m.platform_message_id for m in session.exec(select(Message))}
    assert kept == {"3", "5", "8"}


def test_sample_telegram_community_round_trips(
    archive: Archive, fresh_archive: Callable[[], Archive], tmp_path: Path
) -> None:
    _, imported = import_telegram(
        archive, COMMUNITY, DEMO / "sunshine_garden.json", roster=DEMO / "roster.csv"
    )
    assert imported.kept == 174
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    exported = export_jsonl(archive, COMMUNITY, first, page_size=50)
    assert exported.messages == 174
    text = first.read_text(encoding="utf-8")
    for never in ("稻田", "黄鳝", "二八自行车", "外婆", "黄浦江", "栀子花"):
        assert never not in text
    lines = read_lines(first)
    people = {p["accounts"][0]: p for p in lines if p["type"] == "person"}
    for silent in ("telegram:10007", "telegram:10008", "telegram:10009"):
        assert "display_name" not in people.get(silent, {})
    assert people["telegram:10001"]["display_name"] == "王阿姨"
    assert {m["source"] for m in lines if m["type"] == "message"} == {"import:telegram"}
    restored = fresh_archive()
    report = import_jsonl(restored, first, batch_size=40)
    assert report.messages == 174
    export_jsonl(restored, COMMUNITY, second)
    assert canonical(first) == canonical(second)
    assert import_jsonl(restored, first).added == 0
    for word in ("募捐", "电梯", "志愿者", "volunteer"):
        original = [m.platform_message_id for m in search(archive, COMMUNITY, word, limit=50)]
        assert original
        assert [m.platform_message_id for m in search(restored, COMMUNITY, word, limit=50)] == (
            original
        )


# --- bad files -------------------------------------------------------------------------------


def _valid_lines(archive: Archive, tmp_path: Path) -> list[str]:
    build_community(archive)
    out = tmp_path / "valid.jsonl"
    export_jsonl(archive, COMMUNITY, out)
    return out.read_text(encoding="utf-8").splitlines()


def _without_key(line: str, key: str) -> str:
    record = json.loads(line)
    del record[key]
    return json.dumps(record, ensure_ascii=False)


def _last_message(lines: list[str]) -> int:
    return max(i for i, line in enumerate(lines) if '"type":"message"' in line)


def _with(line: str, **changes: Any) -> str:
    record = json.loads(line)
    record.update(changes)
    return json.dumps(record, ensure_ascii=False)


BAD_FILES: dict[str, tuple[Callable[[list[str]], list[str]], str]] = {
    "not JSON on line 3": (
        lambda lines: [*lines[:2], '{"type": "person", "id": ', *lines[3:]],
        "line 3: not valid JSON",
    ),
    "missing type": (
        lambda lines: [lines[0], _without_key(lines[1], "type"), *lines[2:]],
        'line 2: no "type" key',
    ),
    "schema 3": (
        lambda lines: [_with(lines[0], schema=3), *lines[1:]],
        "line 1: export schema 3 was written by a newer Community Memory",
    ),
    "empty file": (lambda lines: [], "empty file"),
    "first line not community": (
        lambda lines: lines[1:],
        "line 1: the first line must be the community line",
    ),
    "missing required key on the last message": (
        lambda lines: [
            _without_key(line, "text") if i == _last_message(lines) else line
            for i, line in enumerate(lines)
        ],
        "a message line needs the key 'text'",
    ),
    "broken last line": (
        lambda lines: [*lines, '{"type": "post", "id": 9, "kind": "digest"'],
        "line {last}: not valid JSON",
    ),
    "time without offset": (
        lambda lines: [
            _with(line, sent_at="2026-11-01T09:00:00") if '"type":"message"' in line else line
            for line in lines
        ],
        "has no UTC offset",
    ),
    "unknown author": (
        lambda lines: [
            _with(line, author=424242) if '"type":"message"' in line else line for line in lines
        ],
        "no person 424242 in the file",
    ),
    "lines out of order": (
        lambda lines: [lines[0], *reversed(lines[1:])],
        "lines come in the order",
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_file_is_refused_whole_with_one_line_error(
    case: str, archive: Archive, fresh_archive: Callable[[], Archive], tmp_path: Path
) -> None:
    change, expected = BAD_FILES[case]
    lines = change(_valid_lines(archive, tmp_path))
    bad = tmp_path / "bad.jsonl"
    bad.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    expected = expected.replace("{last}", str(len(lines)))
    restored = fresh_archive()
    with pytest.raises(ImportFormatError) as error:
        import_jsonl(restored, bad)
    message_text = str(error.value)
    assert "\n" not in message_text
    assert message_text.startswith(f"{bad}: ")
    assert expected in message_text
    assert all(count == 0 for count in row_counts(restored).values())


def test_missing_file_is_a_format_error(archive: Archive, tmp_path: Path) -> None:
    with pytest.raises(ImportFormatError, match="file not found"):
        import_jsonl(archive, tmp_path / "nothing.jsonl")


def test_import_skips_unknown_keys_and_blank_lines(
    archive: Archive, fresh_archive: Callable[[], Archive], tmp_path: Path
) -> None:
    lines = _valid_lines(archive, tmp_path)
    lines = [_with(lines[0], future_key="ignored"), "", *lines[1:], "   "]
    path = tmp_path / "lenient.jsonl"
    path.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    restored = fresh_archive()
    assert import_jsonl(restored, path).messages == 6


def test_merge_adopts_newer_consent_and_keeps_the_archives_newer_choice(
    archive: Archive, fresh_archive: Callable[[], Archive], tmp_path: Path
) -> None:
    build_community(archive)
    out = tmp_path / "sunshine.jsonl"
    export_jsonl(archive, COMMUNITY, out)
    other = fresh_archive()
    ensure_community(other, SETTINGS)
    # 王阿姨 is known here only as an account the bot asked; 张老师 said no here, later.
    mark_prompted(other, COMMUNITY, account(101))
    set_level(
        other,
        COMMUNITY,
        account(105),
        Level.NONE,
        actor=Actor(account=account(105)),
        method=Method.COMMAND,
        at=T0 + timedelta(days=30),
    )
    report = import_jsonl(other, out)
    assert not report.created_community
    assert report.people_matched == 2
    assert consent_of(other, COMMUNITY, account(101)).level is Level.ALL
    assert consent_of(other, COMMUNITY, account(101)).attribution is Attribution.NAMED
    assert consent_of(other, COMMUNITY, account(105)).level is Level.NONE
    with other.db.read() as session:
        names = {p.id: p.display_name for p in session.exec(select(Person))}
        wang = find_person(session, COMMUNITY, "telegram", "101")
        zhang = find_person(session, COMMUNITY, "telegram", "105")
        assert wang is not None and zhang is not None
        assert names[wang.id] == "王阿姨"
        assert names[zhang.id] is None
        kept = list(session.exec(select(Message).where(Message.author_id == wang.id)))
        assert {m.platform_message_id for m in kept} == {"1", "2", "7"}
        level_event = session.get(ConsentEvent, kept[0].consent_event_id)
        assert level_event is not None
        assert (level_event.field, level_event.new_value, level_event.method) == (
            "level",
            "all",
            "button",
        )
    assert "\n" not in report.summary()
    assert report.to_json()["added"] == report.added
    assert import_jsonl(other, out).added == 0


def test_import_refuses_an_unrelated_community_of_the_same_id(
    archive: Archive, fresh_archive: Callable[[], Archive], tmp_path: Path
) -> None:
    build_community(archive)
    out = tmp_path / "sunshine.jsonl"
    export_jsonl(archive, COMMUNITY, out)
    other = fresh_archive()
    ensure_community(
        other,
        CommunitySettings(id=COMMUNITY, name="别的小区", spaces=(SpaceRef("telegram", "-1002"),)),
    )
    before = row_counts(other)
    with pytest.raises(CommunityMemoryError, match="holds none of the file's chats"):
        import_jsonl(other, out)
    assert row_counts(other) == before
