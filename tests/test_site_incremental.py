"""``export site`` updates: a rebuild that reads only what changed since the last build makes
the same bytes as a build from scratch, falls back to reading everything when something was
erased, and keeps no platform id in what it remembers."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from archiver.archive import Archive
from archiver.consent import Actor, Attribution, Level, Method, set_attribution
from archiver.events import EditEvent
from archiver.forget import forget_message, forget_person
from archiver.ingest import edit_message, ingest_message
from archiver.preservation import tag_message, unkeep
from archiver.site import build
from archiver.site.build import MANIFEST, SiteReport, build_site
from storage.models import Message
from tests.conftest import CHAT, COMMUNITY, account, message, rows, say, tag

NAMED, ANON, TAGGER = 840031001, 840031002, 840031005
NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
FIRST_ID = 5_550_000  # platform message ids: distinctive, to grep for


def pmid(n: int) -> int:
    return FIRST_ID + n


def archive_id(archive: Archive, n: int) -> int:
    """The archive's id of the message ``pmid(n)``."""
    found = [m.id for m in rows(archive, Message) if m.platform_message_id == str(pmid(n))]
    assert len(found) == 1
    return int(found[0])


def at(year: int, month: int, day: int, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def files_of(out: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(out)): path.read_bytes()
        for path in sorted(out.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }


def manifest_of(out: Path) -> dict[str, object]:
    manifest: dict[str, object] = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    manifest.pop("built_at")
    return manifest


def rebuild_as_fresh(archive: Archive, out: Path, fresh: Path) -> SiteReport:
    """Update ``out``, build ``fresh`` from nothing, and check they are the same, byte for
    byte (and their manifests too, but for the build time)."""
    report = build_site(archive, COMMUNITY, out, now=NOW)
    build_site(archive, COMMUNITY, fresh, now=NOW)
    updated, scratch = files_of(out), files_of(fresh)
    assert sorted(updated) == sorted(scratch)
    assert [name for name in updated if updated[name] != scratch[name]] == []
    assert manifest_of(out) == manifest_of(fresh)
    return report


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three messages a page, so that a few messages fill several pages and can move."""
    monkeypatch.setattr(build, "PAGE_SIZE", 3)


@pytest.fixture
def garden(archive: Archive, small_pages: None) -> Archive:
    say(archive, NAMED, Level.ALL, name="王阿姨")
    set_attribution(
        archive, COMMUNITY, account(NAMED), Attribution.NAMED,
        actor=Actor(account(NAMED)), method=Method.COMMAND,
    )  # fmt: skip
    say(archive, ANON, Level.ALL, name="陈秘密")
    say(archive, TAGGER, Level.ALL, name="标记人")
    december = [at(2025, 12, day) for day in (1, 2, 4, 5)]  # two pages
    for n, when in enumerate(december, start=1):
        author = NAMED if n % 2 else ANON
        ingest_message(archive, message(pmid(n), author, f"十二月第{n}条 电梯", sent_at=when))
    for n in range(5, 8):
        ingest_message(archive, message(pmid(n), NAMED, f"一月第{n}条", sent_at=at(2026, 1, n)))
    quoting = message(pmid(8), ANON, "三月回复十二月的第三条", sent_at=at(2026, 3, 3))
    ingest_message(archive, replace(quoting, reply_to=str(pmid(3))))
    waiting = message(pmid(9), NAMED, "回复一条还没有保存的消息", sent_at=at(2026, 3, 4))
    ingest_message(archive, replace(waiting, reply_to=str(pmid(20))))
    ingest_message(
        archive, message(pmid(10), ANON, "三月的第三条 volunteer", sent_at=at(2026, 3, 5))
    )
    tag_message(archive, tag(TAGGER, str(pmid(1)), story="电梯之战"))
    return archive


def test_an_update_makes_the_same_site_as_a_build_from_scratch(
    garden: Archive, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    first = build_site(garden, COMMUNITY, out, now=NOW)
    assert first.full_read
    fresh = iter(tmp_path / f"fresh-{n}" for n in range(100))

    unchanged = rebuild_as_fresh(garden, out, next(fresh))
    assert not unchanged.full_read and unchanged.written == 0 and unchanged.months_rendered == 0

    # New messages: one in the newest month, one that opens a month between two others and is
    # the message an earlier reply was waiting for.
    ingest_message(garden, message(pmid(11), NAMED, "三月的新消息", sent_at=at(2026, 3, 20)))
    ingest_message(garden, message(pmid(20), ANON, "二月终于有人说话", sent_at=at(2026, 2, 8)))
    report = rebuild_as_fresh(garden, out, next(fresh))
    assert not report.full_read and report.months_rendered >= 3  # Jan, Feb, Mar
    assert "二月终于有人说话" in (out / "2026-03.html").read_text(encoding="utf-8")  # quoted

    # An old message arrives late: December's third message moves to page 2, and the March
    # page that quotes it (another year) must link to its new place.
    ingest_message(garden, message(pmid(12), ANON, "迟到的十二月消息", sent_at=at(2025, 12, 3)))
    report = rebuild_as_fresh(garden, out, next(fresh))
    assert not report.full_read
    link = f"2025-12-2.html#m{archive_id(garden, 3)}"
    assert link in (out / "2026-03.html").read_text(encoding="utf-8")

    # A month in a new year: the last month of the year before links to it.
    ingest_message(garden, message(pmid(16), NAMED, "新年好", sent_at=at(2027, 1, 1)))
    assert not rebuild_as_fresh(garden, out, next(fresh)).full_read
    assert "2027-01.html" in (out / "2026-03.html").read_text(encoding="utf-8")

    # An edit of a quoted message; tags, a new story, a story moved, a tag taken back.
    edit_message(
        garden,
        EditEvent(CHAT, str(pmid(3)), account(NAMED), "十二月第3条 改过了", at(2026, 11, 1)),
    )
    assert not rebuild_as_fresh(garden, out, next(fresh)).full_read
    assert "十二月第3条 改过了" in (out / "2026-03.html").read_text(encoding="utf-8")
    tag_message(garden, tag(TAGGER, str(pmid(5)), story="一月的故事"))
    tag_message(garden, tag(NAMED, str(pmid(2))))
    assert not rebuild_as_fresh(garden, out, next(fresh)).full_read
    tag_message(garden, tag(TAGGER, str(pmid(1)), story="一月的故事"))  # moves to a story
    unkeep(garden, CHAT, str(pmid(2)), tagger=account(NAMED))
    assert not rebuild_as_fresh(garden, out, next(fresh)).full_read

    # A new name, and an attribution choice: every page showing them changes.
    ingest_message(
        garden, message(pmid(13), NAMED, "改了名字", sent_at=at(2026, 3, 21), name="王奶奶")
    )
    assert not rebuild_as_fresh(garden, out, next(fresh)).full_read
    set_attribution(
        garden, COMMUNITY, account(ANON), Attribution.NAMED,
        actor=Actor(account(ANON)), method=Method.COMMAND,
    )  # fmt: skip
    assert not rebuild_as_fresh(garden, out, next(fresh)).full_read
    assert "陈秘密" in (out / "2025-12.html").read_text(encoding="utf-8")

    # Erasure: the whole outline is read again, and nothing of what was erased stays.
    forget_person(garden, COMMUNITY, account(ANON), actor=Actor(account(ANON)))
    report = rebuild_as_fresh(garden, out, next(fresh))
    assert report.full_read and report.removed >= 1
    everything = b"".join(files_of(out).values()).decode("utf-8")
    for gone in ("陈秘密", "二月终于有人说话", "迟到的十二月消息", "volunteer"):
        assert gone not in everything, gone
    assert not (out / "2026-02.html").exists()
    # The newest message forgotten and a new one kept before the next build: on SQLite the
    # new one takes the forgotten one's id, and the count is the same — still seen.
    forget_message(garden, CHAT, str(pmid(13)), actor=Actor(account(NAMED)))
    ingest_message(garden, message(pmid(14), NAMED, "之后的消息", sent_at=at(2026, 3, 22)))
    assert rebuild_as_fresh(garden, out, next(fresh)).full_read
    ingest_message(garden, message(pmid(15), NAMED, "再之后", sent_at=at(2026, 3, 23)))
    assert not rebuild_as_fresh(garden, out, next(fresh)).full_read


def test_what_the_manifest_remembers_holds_no_platform_id(garden: Archive, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build_site(garden, COMMUNITY, out, now=NOW)
    manifest = (out / MANIFEST).read_text(encoding="utf-8")
    assert '"outline"' in manifest
    for platform_id in [*(pmid(n) for n in range(21)), NAMED, ANON, TAGGER]:
        assert str(platform_id) not in manifest, platform_id
    assert CHAT.chat_id.removeprefix("-100") not in manifest
    for name in ("王阿姨", "陈秘密", "标记人", "电梯"):  # names and texts only as hashes
        assert name not in json.dumps(json.loads(manifest)["outline"], ensure_ascii=False)


@pytest.mark.parametrize(
    "damage", ["no outline", "odd outline", "broken outline", "a page gone", "settings"]
)
def test_an_update_reads_everything_when_it_cannot_trust_the_last_build(
    garden: Archive, tmp_path: Path, damage: str
) -> None:
    out = tmp_path / "site"
    build_site(garden, COMMUNITY, out, now=NOW)
    ingest_message(garden, message(pmid(11), NAMED, "三月的新消息", sent_at=at(2026, 3, 20)))
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    if damage == "no outline":
        del manifest["outline"]
    elif damage == "odd outline":
        manifest["outline"]["count"] += 1
    elif damage == "broken outline":
        manifest["outline"]["months"] = {"2026-03": "?"}
    elif damage == "settings":
        manifest["outline"]["site"] = "another time zone"
    else:
        (out / "2025-12-2.html").unlink()
    (out / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    report = rebuild_as_fresh(garden, out, tmp_path / "fresh")
    assert report.full_read
    assert (out / "2025-12-2.html").is_file()


def test_edits_after_the_last_build_are_seen_even_in_old_months(
    garden: Archive, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    build_site(garden, COMMUNITY, out, now=NOW)
    when = NOW + timedelta(days=1)
    edit_message(garden, EditEvent(CHAT, str(pmid(6)), account(NAMED), "一月 新的文字", when))
    report = rebuild_as_fresh(garden, out, tmp_path / "fresh")
    assert not report.full_read and "2026-01.html" in report.written_files
    assert "一月 新的文字" in (out / "2026-01.html").read_text(encoding="utf-8")
