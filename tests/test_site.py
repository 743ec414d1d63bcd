"""``export site``: the archive website — privacy by construction and by bytes, incremental
rebuilds (and what a ``forget`` leaves: nothing), escaping, the folder rules, the CLI."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from archiver.archive import Archive
from archiver.consent import Actor, Attribution, Level, Method, set_attribution
from archiver.forget import forget_person
from archiver.ingest import ingest_message
from archiver.preservation import tag_message
from archiver.site import en
from archiver.site.build import MANIFEST, SiteFolderError, build_site, chat_html
from archiver.site.search_index import shard_of, terms_of
from bot.cli.main import app
from tests.conftest import CHAT, COMMUNITY, account, message, say, tag

NAMED, ANON, SILENT, REFUSER, TAGGER = 840021001, 840021002, 840021003, 840021004, 840021005
NAMED_NAME, ANON_NAME, SILENT_NAME, REFUSER_NAME = "王阿姨", "陈秘密", "赵不语", "钱不要"

KEPT_NAMED = "电梯终于修好了，谢谢物业和志愿者"
KEPT_ANON = "The volunteers fixed the lift lights"
NEVER_ANSWERED = "我家的门禁密码是四四七一"
REFUSED = "这句话我不同意保存"
HELD = "只有被标记才会留下的一句话"


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, 0, tzinfo=UTC)


@pytest.fixture
def community(archive: Archive) -> Archive:
    """A named resident, an anonymous one, one who never answered (whose tagged message is
    held), one who said no, and a story."""
    say(archive, NAMED, Level.ALL, name=NAMED_NAME)
    set_attribution(
        archive, COMMUNITY, account(NAMED), Attribution.NAMED,
        actor=Actor(account(NAMED)), method=Method.COMMAND,
    )  # fmt: skip
    say(archive, ANON, Level.ALL, name=ANON_NAME)
    say(archive, REFUSER, Level.NONE, name=REFUSER_NAME)
    say(archive, TAGGER, Level.ALL, name="标记人")
    first = message(1, NAMED, KEPT_NAMED, sent_at=at(14), name=NAMED_NAME)
    ingest_message(archive, first)
    ingest_message(archive, message(2, ANON, KEPT_ANON, sent_at=at(15), name=ANON_NAME))
    silent = message(3, SILENT, NEVER_ANSWERED, sent_at=at(15, 13), name=SILENT_NAME)
    ingest_message(archive, silent)
    tag_message(archive, tag(TAGGER, silent))  # held: its author has not answered
    ingest_message(archive, message(4, REFUSER, REFUSED, sent_at=at(16), name=REFUSER_NAME))
    reply = replace(
        message(5, ANON, "回复：太好了 https://example.org/lift?a=1", sent_at=at(16, 9)),
        reply_to="1",
    )
    ingest_message(archive, reply)
    unkept_reply = replace(
        message(6, NAMED, "我同意楼上的", sent_at=at(16, 10), name=NAMED_NAME), reply_to="3"
    )
    ingest_message(archive, unkept_reply)
    tag_message(archive, tag(TAGGER, first, story="电梯之战"))
    return archive


def site_text(out: Path) -> str:
    """Every file of the built site, as one text (for grepping)."""
    return "\n".join(
        path.read_text(encoding="utf-8") for path in sorted(out.rglob("*")) if path.is_file()
    )


def test_the_site_shows_what_is_kept_and_names_only_the_named(
    community: Archive, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    report = build_site(community, COMMUNITY, out)
    assert report.messages == 4 and report.stories == 1 and report.first_build
    everything = site_text(out)
    for kept in (KEPT_NAMED, KEPT_ANON, "我同意楼上的"):
        assert kept in everything
    assert NAMED_NAME in everything
    assert "一位邻居" in everything  # the anonymous author, as shown
    month = (out / "2026-03.html").read_text(encoding="utf-8")
    assert 'id="m' in month and 'lang="zh-Hans"' in month
    # The reply quote links to the replied-to message's permalink; the reply to an unkept
    # message says only that.
    assert "2026-03.html#m" in month and "回复一条没有保存的消息" in month
    story = next(out.glob("story-*.html")).read_text(encoding="utf-8")
    assert "电梯之战" in story and KEPT_NAMED in story and KEPT_ANON not in story
    assert (out / "about.html").is_file() and (out / "search.html").is_file()


def test_nothing_unconsented_and_no_account_id_is_in_any_file(
    community: Archive, tmp_path: Path
) -> None:
    """By bytes: the never-answered (held) and refused texts, their names, the anonymous
    person's name, and every platform id are in no file of the site."""
    out = tmp_path / "site"
    build_site(community, COMMUNITY, out)
    everything = site_text(out)
    for absent in (NEVER_ANSWERED, HELD, REFUSED, SILENT_NAME, REFUSER_NAME, ANON_NAME):
        assert absent not in everything, absent
    for user in (NAMED, ANON, SILENT, REFUSER, TAGGER):
        assert str(user) not in everything, user
    assert CHAT.chat_id not in everything and CHAT.chat_id.removeprefix("-100") not in everything
    # The search index has no term of what is not kept either.
    for term in terms_of(NEVER_ANSWERED, "门禁 密码"):
        shard = (out / "search" / "2026" / f"t-{shard_of(term):02d}.js").read_text("utf-8")
        assert f'"{term}":' not in shard


def test_a_rebuild_writes_only_what_changed(community: Archive, tmp_path: Path) -> None:
    out = tmp_path / "site"
    april = datetime(2026, 4, 2, tzinfo=UTC)
    ingest_message(community, message(7, NAMED, "四月的第一条", sent_at=april))
    build_site(community, COMMUNITY, out)
    again = build_site(community, COMMUNITY, out)
    assert not again.first_build and again.written == 0 and again.months_rendered == 0
    ingest_message(community, message(8, NAMED, "四月的新消息", sent_at=april.replace(day=3)))
    grown = build_site(community, COMMUNITY, out)
    assert grown.months_rendered == 1  # April; March shows nothing new
    assert "2026-04.html" in grown.written_files and "2026-03.html" not in grown.written_files
    assert "index.html" in grown.written_files  # the newest messages and the counts
    assert "四月的新消息" in (out / "2026-04.html").read_text(encoding="utf-8")
    assert set(grown.written_files) <= {
        "2026-04.html", "index.html", "search/days.js", *[
            f for f in grown.written_files if f.startswith("search/")
        ]
    }  # fmt: skip


def test_forget_then_rebuild_leaves_no_trace(community: Archive, tmp_path: Path) -> None:
    out = tmp_path / "site"
    ingest_message(
        community, message(8, ANON, "二月里只有我说过话", sent_at=datetime(2026, 2, 2, tzinfo=UTC))
    )
    build_site(community, COMMUNITY, out)
    assert (out / "2026-02.html").is_file()
    assert KEPT_ANON in site_text(out)
    forget_person(community, COMMUNITY, account(ANON), actor=Actor(account(ANON)))
    report = build_site(community, COMMUNITY, out)
    everything = site_text(out)
    for gone in (KEPT_ANON, "太好了", "example.org/lift", "二月里只有我说过话"):
        assert gone not in everything, gone
    assert not (out / "2026-02.html").exists(), "a month with nothing left is removed"
    assert "2026-02.html" not in json.loads((out / MANIFEST).read_text())["files"]
    assert report.removed >= 1
    assert KEPT_NAMED in everything  # the others' memories stay


def test_escaping_renders_attacks_as_text() -> None:
    html = str(
        chat_html('<script>alert(1)</script> "><img src=x onerror=alert(2)> javascript:alert(3)')
    )
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "&quot;&gt;&lt;img" in html
    assert "href" not in html  # javascript: is never a link
    linked = str(chat_html("see https://example.org/a?b=1&c=2. thanks\nnext"))
    assert '<a href="https://example.org/a?b=1&amp;c=2"' in linked
    assert "2</a>. thanks<br>" in linked


def test_the_folder_rules(community: Archive, tmp_path: Path) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(SiteFolderError, match="not empty"):
        build_site(community, COMMUNITY, busy)
    assert sorted(p.name for p in busy.iterdir()) == ["notes.txt"]
    build_site(community, COMMUNITY, busy, overwrite=True)
    assert (busy / "index.html").is_file() and (busy / "notes.txt").read_text() == "mine"
    afile = tmp_path / "file"
    afile.write_text("x", encoding="utf-8")
    with pytest.raises(SiteFolderError, match="is a file"):
        build_site(community, COMMUNITY, afile)
    manifest = json.loads((busy / MANIFEST).read_text())
    manifest["community"] = "another"
    (busy / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(SiteFolderError, match="'another'"):
        build_site(community, COMMUNITY, busy)


def test_cli_export_site(community: Archive, tmp_path: Path, db_url: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\nurl = "{community.db.url}"\n', encoding="utf-8")
    out = tmp_path / "site"
    runner = CliRunner()
    first = runner.invoke(
        app, ["--config", str(config), "export", "site", str(out), "--community", COMMUNITY]
    )
    assert first.exit_code == 0, first.output
    assert "built" in first.stdout and (out / "index.html").is_file()
    second = runner.invoke(
        app, ["--config", str(config), "export", "site", str(out), "--community", COMMUNITY]
    )
    assert "updated" in second.stdout and "0 files written" in second.stdout
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x").write_text("x", encoding="utf-8")
    refused = runner.invoke(
        app,
        [
            "--config",
            str(config),
            "export",
            "site",
            str(tmp_path / "other"),
            "--community",
            COMMUNITY,
        ],
    )
    assert refused.exit_code == 1 and "not empty" in refused.stderr
    assert "Traceback" not in refused.output


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York", "Asia/Kathmandu", "UTC"])
def test_messages_land_on_their_local_day_across_dst_and_odd_offsets(zone: str) -> None:
    """The layout's date arithmetic (offset looked up per UTC day) agrees with a conversion
    per message, around DST changes and for a +5:45 zone."""
    from zoneinfo import ZoneInfo

    from archiver.site.build import _Site
    from storage.site import OutlineRow

    local = ZoneInfo(zone)
    site = _Site(en.TEXTS, "Garden", "en", local, datetime.now(UTC))
    start = datetime(2026, 3, 7, tzinfo=UTC)  # New York's spring change is on 8 March 2026
    moments = [start + timedelta(minutes=37 * n) for n in range(600)]
    moments += [datetime(2026, 11, 1, h, m, tzinfo=UTC) for h in range(24) for m in (0, 59)]
    rows = [
        OutlineRow(n, 1, str(n), when, None, None, None, 1, None, "anonymous", 0, ())
        for n, when in enumerate(sorted(moments))
    ]
    entries, _pages = site.lay_out(rows)
    for entry in entries:
        expected = entry.row.sent_at.astimezone(local)
        assert (entry.month, entry.day) == (expected.strftime("%Y-%m"), expected.day)
