"""The weekly digest: numbers, highlights, words, stories and new neighbours of one ISO week
in the community's own calendar — only kept messages, anonymous authors never named."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, update

from archiver.archive import Archive
from archiver.consent import Actor, Attribution, Level, Method, set_attribution
from archiver.digest import Digest, IsoWeek, build_digest, quote, render, weekdays
from archiver.errors import UnknownCommunityError
from archiver.events import ChatRef, MessageEvent
from archiver.forget import forget_message
from archiver.ingest import ingest_message
from archiver.preservation import TagOutcome, tag_message
from bot.chat.texts import text
from storage.models import HeldMessage, Message, Tag
from tests.conftest import (
    CHAT,
    COMMUNITY,
    account,
    add_community,
    cli,
    message,
    one_line_error,
    rows,
    say,
    tag,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
WEEK = IsoWeek(2026, 47)  # Monday 16 to Sunday 22 November 2026

# The sample community's people (Telegram user ids).
WANG = 1  # 王阿姨: all, named
CHEN = 2  # 陈伟 Chen Wei: all, anonymous (writes Chinese and English)
EMMA = 3  # Emma: all, named (English)
LIU = 4  # 小刘: tagged, anonymous — kept only when tagged
ZHAO = 5  # 赵叔叔: none — never kept, tags refused
LIN = 6  # 林姐: never answered — a tagged message of hers is held, never shown
LI = 7  # 李师傅: all, named; kept messages before this week already

# (platform message id, author, local time in Shanghai, text)
SAMPLE: list[tuple[int, int, str, str]] = [
    (99, LI, "2026-11-12 21:00", "晚上巡逻，东门一切正常。"),
    (100, WANG, "2026-11-15 23:59", "周日晚上，明天电梯检修，大家注意。"),  # the week before
    (101, WANG, "2026-11-16 00:05", "明天电梯检修，三号楼的邻居记得走楼梯。"),
    (102, CHEN, "2026-11-16 08:10", "收到！电梯检修要多久？"),
    (103, EMMA, "2026-11-16 09:00", "The lift in block 3 is being repaired today."),
    (104, ZHAO, "2026-11-16 09:30", "电梯又坏了，物业到底管不管？"),  # none: never kept
    (105, WANG, "2026-11-16 10:00", "好的，收到"),
    (106, LIU, "2026-11-16 12:00", "我来组织志愿者帮老人搬东西上楼。"),  # tagged → kept
    (107, LIU, "2026-11-16 12:05", "电梯检修的时候我可以帮忙。"),  # not tagged: not kept
    (108, LI, "2026-11-17 07:30", "早上好，电梯检修今天下午结束。"),
    (109, CHEN, "2026-11-17 08:00", "Volunteers needed: carrying groceries for the elderly."),
    (110, EMMA, "2026-11-17 08:30", "I volunteered! Happy to help with groceries."),
    (111, LIN, "2026-11-17 09:00", "我外婆的栀子花今年又开了，送给帮忙的志愿者。"),  # held
    (112, WANG, "2026-11-18 19:00", "哈哈哈 👍👍"),
    (113, WANG, "2026-11-18 19:05", "志愿者队这周帮了六户人家，谢谢大家！"),
    (114, EMMA, "2026-11-19 18:00", "Thank you volunteers, the groceries arrived safely."),
    (115, CHEN, "2026-11-19 20:00", "https://example.org/lift-report 电梯检修报告"),
    (116, WANG, "2026-11-20 10:00", "我的电话号码是 13800138000，别告诉别人。"),  # forgotten
    (117, CHEN, "2026-11-21 15:00", "周末志愿者队在花园里种花，欢迎大家来。"),
    (118, EMMA, "2026-11-21 15:30", "The garden planting was lovely, thanks volunteers!"),
    (119, LI, "2026-11-22 23:59", "这周电梯检修顺利，志愿者辛苦了。"),
    (120, WANG, "2026-11-23 00:00", "新的一周，大家早上好！"),  # the week after
]
NAMES = {WANG: "王阿姨", CHEN: "陈伟 Chen Wei", EMMA: "Emma", LIU: "小刘", LI: "李师傅"}
LEVELS = {
    WANG: Level.ALL,
    CHEN: Level.ALL,
    EMMA: Level.ALL,
    LIU: Level.TAGGED,
    ZHAO: Level.NONE,
    LI: Level.ALL,
}
NAMED = (WANG, EMMA, LI)
# (tagger, message id, story): who keeps what during the week.
TAGS = [
    (CHEN, 101, "电梯检修"),
    (EMMA, 101, None),
    (LI, 101, "电梯检修"),
    (WANG, 106, "志愿者队"),
    (CHEN, 113, "志愿者队"),
    (EMMA, 113, None),
    (EMMA, 119, "电梯检修"),
    (WANG, 104, None),  # 赵叔叔 said none: refused
    (WANG, 111, None),  # 林姐 never answered: held
    (CHEN, 99, "巡逻"),  # filed last week: that story did not grow this week
]
TAGGED_AT = datetime(2026, 11, 22, 12, 0, tzinfo=SHANGHAI)
OLD_TAG_AT = datetime(2026, 11, 13, 12, 0, tzinfo=SHANGHAI)


def local(moment: str, zone: ZoneInfo = SHANGHAI) -> datetime:
    return datetime.strptime(moment, "%Y-%m-%d %H:%M").replace(tzinfo=zone)


def event(message_id: int, *, chat: ChatRef = CHAT, zone: ZoneInfo = SHANGHAI) -> MessageEvent:
    pid, author, at, body = next(m for m in SAMPLE if m[0] == message_id)
    return message(pid, author, body, sent_at=local(at, zone), name=NAMES.get(author), chat=chat)


def build_sample(archive: Archive) -> None:
    """The sample week, through the archiver as the bots would drive it."""
    for person, level in LEVELS.items():
        say(archive, person, level, name=NAMES.get(person))
    for person in NAMED:
        set_attribution(
            archive,
            COMMUNITY,
            account(person),
            Attribution.NAMED,
            actor=Actor(account(person)),
            method=Method.COMMAND,
        )
    for pid, *_ in SAMPLE:
        ingest_message(archive, event(pid))
    outcomes = {}
    for tagger, pid, story in TAGS:
        outcomes[pid] = tag_message(archive, tag(tagger, event(pid), story=story)).outcome
    assert outcomes[104] is TagOutcome.REFUSED
    assert outcomes[111] is TagOutcome.HELD
    # The tags were made during the week (tag_message stamps them with the real clock).
    with archive.db.write() as session:
        session.execute(update(Tag).values(created_at=TAGGED_AT))
        session.execute(
            update(Tag).where(col(Tag.platform_message_id) == "99").values(created_at=OLD_TAG_AT)
        )
    forget_message(archive, CHAT, "116", actor=Actor(account(WANG)))


@pytest.fixture
def sample(archive: Archive) -> Archive:
    build_sample(archive)
    return archive


def t(language: str) -> functools.partial[str]:
    return functools.partial(text, language)


# --- the sample week ----------------------------------------------------------------------------


def test_sample_week_numbers(sample: Archive) -> None:
    digest = build_digest(sample, COMMUNITY, WEEK)
    assert digest is not None
    assert (digest.week, digest.timezone, digest.community_name) == (
        WEEK,
        "Asia/Shanghai",
        "阳光花园",
    )
    assert digest.start == datetime(2026, 11, 16, tzinfo=SHANGHAI)
    assert digest.end == datetime(2026, 11, 23, tzinfo=SHANGHAI)
    # Kept: 101 102 103 105 106 108 109 110 112 113 114 115 117 118 119 (116 was forgotten,
    # 104 is 赵叔叔's, 107 was never tagged, 111 is held; 100 and 120 are outside the week).
    assert digest.messages == 15
    assert digest.neighbours == 5  # 王阿姨, 陈伟, Emma, 小刘, 李师傅
    assert digest.tagged == 4  # 101, 106, 113, 119
    assert digest.per_day == (5, 3, 2, 2, 0, 2, 1)
    assert not digest.quiet


def test_sample_week_highlights(sample: Archive) -> None:
    digest = build_digest(sample, COMMUNITY, WEEK)
    assert digest is not None
    assert [(h.platform_message_id, h.author, h.tags) for h in digest.highlights] == [
        ("101", "王阿姨", 3),
        ("113", "王阿姨", 2),
        ("106", None, 1),  # 小刘 is anonymous; 106 before 119 (earlier)
    ]
    first = digest.highlights[0]
    assert first.quote == "明天电梯检修，三号楼的邻居记得走楼梯。"
    assert first.sent_at == datetime(2026, 11, 16, 0, 5, tzinfo=SHANGHAI)
    assert first.sent_at.utcoffset() == timedelta(hours=8)
    assert first.space == "telegram:-1001987654321"
    kept = {m.platform_message_id: m.id for m in rows(sample, Message)}
    assert [h.id for h in digest.highlights] == [kept["101"], kept["113"], kept["106"]]


def test_sample_week_words(sample: Archive) -> None:
    digest = build_digest(sample, COMMUNITY, WEEK)
    assert digest is not None
    assert [(k.word, k.messages) for k in digest.keywords] == EXPECTED_WORDS


# volunteers (4 messages; "volunteered" is the same word) outranks 检修 and 电梯 (5 each) as
# jieba's table does not know it and gives it the median IDF; 115's link (…/lift-report) does
# not count, so "lift" is in one message only and is not a word of the week.
EXPECTED_WORDS = [("volunteers", 4), ("检修", 5), ("电梯", 5), ("groceries", 3), ("志愿者", 4)]


def test_sample_week_stories_and_new_neighbours(sample: Archive) -> None:
    digest = build_digest(sample, COMMUNITY, WEEK)
    assert digest is not None
    # Most grown first, then by name; 巡逻 had its message filed the week before.
    assert [(s.name, s.added, s.total) for s in digest.stories] == [
        ("志愿者队", 2, 2),
        ("电梯检修", 2, 2),
    ]
    # 李师傅 and 王阿姨 kept messages the week before; Emma, 陈伟 and 小刘 are new, and only
    # Emma chose to be named.
    assert digest.new_neighbours == 3
    assert digest.new_neighbour_names == ("Emma",)


def test_nothing_unkept_held_or_erased_shows(sample: Archive) -> None:
    digest = build_digest(sample, COMMUNITY, WEEK)
    assert digest is not None
    everything = json.dumps(digest.to_json(), ensure_ascii=False)
    for language in ("zh", "en"):
        everything += render(digest, t(language))
    for never in ("物业", "管不管", "栀子花", "外婆", "13800138000", "电话", "帮忙"):
        assert never not in everything, never
    assert [
        h.platform_message_id
        for h in digest.highlights
        if h.platform_message_id in {"104", "107", "111", "116"}
    ] == []
    # The held copy is there, waiting; the digest never read it.
    assert [h.platform_message_id for h in rows(sample, HeldMessage)] == ["111"]


def test_anonymous_authors_are_never_named(sample: Archive) -> None:
    digest = build_digest(sample, COMMUNITY, WEEK)
    assert digest is not None
    everything = json.dumps(digest.to_json(), ensure_ascii=False)
    for language in ("zh", "en"):
        everything += render(digest, t(language))
    assert "陈伟" not in everything and "Chen Wei" not in everything
    assert "小刘" not in everything
    assert "王阿姨" in everything and "Emma" in everything


# --- text ----------------------------------------------------------------------------------------


def test_render_in_chinese_and_english(sample: Archive) -> None:
    digest = build_digest(sample, COMMUNITY, WEEK)
    assert digest is not None
    zh = render(digest, t("zh")).splitlines()
    assert zh[0] == "📖 阳光花园 · 本周回忆（11月16日—11月22日）"
    assert zh[1] == "这周留下了 15 条消息，来自 5 位邻居。"
    assert "• 一位邻居：“我来组织志愿者帮老人搬东西上楼。” 📌1" in zh
    assert "📚 故事有了新篇章：志愿者队（+2）、电梯检修（+2）" in zh
    assert "👋 欢迎Emma和另外 2 位邻居第一次留下记忆！" in zh  # no spaces around names
    en = render(digest, t("en")).splitlines()
    assert en[0] == "📖 阳光花园 · this week, 16 Nov – 22 Nov"
    assert en[1] == "Kept this week: 15 messages from 5 neighbours."
    assert "• a neighbour: “我来组织志愿者帮老人搬东西上楼。” 📌1" in en
    assert "👋 Welcome, Emma and 2 more: your first memories are kept!" in en
    assert weekdays(t("zh"))[0] == "周一" and weekdays(t("en"))[-1] == "Sun"


def test_one_message_one_neighbour(archive: Archive) -> None:
    say(archive, WANG, Level.ALL, name="王阿姨")
    ingest_message(archive, event(101))
    digest = build_digest(archive, COMMUNITY, WEEK)
    assert digest is not None
    assert render(digest, t("en")).splitlines()[1] == "Kept this week: 1 message from 1 neighbour."
    assert "👋 Welcome, a neighbour: your first memories are kept!" in render(digest, t("en"))


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("短句", "短句"),
        ("  多余的   空格\n换行  ", "多余的 空格 换行"),
        ("长" * 80, "长" * 59 + "…"),
        ("word " * 20, "word word word word word word word word word word word…"),
        ("a" * 58 + "。。。。", "a" * 58 + "…"),
        ("e" * 59 + "\u0301" + "y" * 10, "e" * 58 + "…"),
        ("好" * 58 + "👨\u200d👩\u200d👧" + "好", "好" * 58 + "…"),
    ],
)
def test_quote(body: str, expected: str) -> None:
    assert quote(body) == expected
    assert len(quote(body)) <= 60


# --- the calendar -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "week"),
    [
        ("2026-W47", IsoWeek(2026, 47)),
        ("2026w01", IsoWeek(2026, 1)),
        ("2020-W53", IsoWeek(2020, 53)),
    ],
)
def test_iso_week_parse(value: str, week: IsoWeek) -> None:
    assert IsoWeek.parse(value) == week
    assert IsoWeek.parse(str(week)) == week


@pytest.mark.parametrize("value", ["", "2026-47", "2026-W00", "2026-W54", "2025-W53", "W47", "x"])
def test_iso_week_parse_refuses(value: str) -> None:
    with pytest.raises(ValueError, match="week"):
        IsoWeek.parse(value)


def test_iso_week_containing_year_edges() -> None:
    assert IsoWeek.containing(datetime(2026, 1, 1).date()) == IsoWeek(2026, 1)
    assert IsoWeek.containing(datetime(2027, 1, 1).date()) == IsoWeek(2026, 53)
    assert IsoWeek(2026, 53).monday == datetime(2026, 12, 28).date()


# Instants around the New York spring-forward (Sunday 8 March 2026, 02:00 → 03:00) and the
# Shanghai-midnight of the same days (Shanghai has no daylight saving).
DST_MESSAGES = [
    # (id, UTC instant)
    (1, datetime(2026, 3, 2, 4, 59, tzinfo=UTC)),  # NY Sun 1 Mar 23:59 EST · SH Mon 2 Mar 12:59
    (2, datetime(2026, 3, 2, 5, 0, tzinfo=UTC)),  # NY Mon 2 Mar 00:00 EST · SH Mon 13:00
    (3, datetime(2026, 3, 8, 6, 59, tzinfo=UTC)),  # NY Sun 8 Mar 01:59 EST (just before)
    (4, datetime(2026, 3, 8, 7, 0, tzinfo=UTC)),  # NY Sun 8 Mar 03:00 EDT (just after)
    (5, datetime(2026, 3, 8, 15, 59, tzinfo=UTC)),  # NY Sun 11:59 EDT · SH Sun 23:59
    (6, datetime(2026, 3, 8, 16, 0, tzinfo=UTC)),  # NY Sun 12:00 EDT · SH Mon 9 Mar 00:00
    (7, datetime(2026, 3, 9, 3, 59, tzinfo=UTC)),  # NY Sun 8 Mar 23:59 EDT
    (8, datetime(2026, 3, 9, 4, 0, tzinfo=UTC)),  # NY Mon 9 Mar 00:00 EDT
]


@pytest.mark.parametrize(
    ("zone", "ids", "hours", "per_day"),
    [
        ("America/New_York", [2, 3, 4, 5, 6, 7], 167, (1, 0, 0, 0, 0, 0, 5)),
        ("Asia/Shanghai", [1, 2, 3, 4, 5], 168, (2, 0, 0, 0, 0, 0, 3)),
    ],
)
def test_week_boundaries_in_the_community_zone(
    archive: Archive, zone: str, ids: list[int], hours: int, per_day: tuple[int, ...]
) -> None:
    chat = ChatRef("matrix", "!hudson:example.org")
    add_community(archive, "hudson", chat, timezone=zone)
    say(archive, WANG, Level.ALL, community="hudson")
    for pid, at in DST_MESSAGES:
        assert ingest_message(archive, message(pid, WANG, f"消息{pid}", sent_at=at, chat=chat)).kept
    digest = build_digest(archive, "hudson", IsoWeek(2026, 10))
    assert digest is not None
    assert digest.end.astimezone(UTC) - digest.start.astimezone(UTC) == timedelta(hours=hours)
    assert digest.start.tzinfo == ZoneInfo(zone)
    assert (digest.start.hour, digest.end.hour) == (0, 0)
    assert digest.messages == len(ids)
    assert digest.per_day == per_day


def test_default_week_is_the_current_local_week(sample: Archive) -> None:
    # Sunday 22 November 16:30 UTC is already Monday 23 November in Shanghai.
    late = datetime(2026, 11, 22, 16, 30, tzinfo=UTC)
    digest = build_digest(sample, COMMUNITY, now=late)
    assert digest is not None
    assert digest.week == IsoWeek(2026, 48)
    digest = build_digest(sample, COMMUNITY, now=late - timedelta(hours=1))
    assert digest is not None
    assert digest.week == WEEK


# --- quiet weeks and errors -------------------------------------------------------------------


def test_a_quiet_week_gets_a_kind_note(sample: Archive) -> None:
    digest = build_digest(sample, COMMUNITY, IsoWeek(2026, 45))
    assert digest is not None and digest.quiet
    assert (digest.messages, digest.neighbours, digest.per_day) == (0, 0, (0,) * 7)
    assert digest.highlights == digest.keywords == digest.stories == ()
    assert render(digest, t("zh")) == text("zh", "digest_quiet", name="阳光花园")
    assert render(digest, t("en")).startswith("🌙 A quiet week in 阳光花园")


def test_a_quiet_week_can_say_nothing(sample: Archive) -> None:
    assert build_digest(sample, COMMUNITY, IsoWeek(2026, 45), quiet_note=False) is None
    assert build_digest(sample, COMMUNITY, WEEK, quiet_note=False) is not None


def test_a_week_with_only_unkept_messages_is_quiet(archive: Archive) -> None:
    say(archive, ZHAO, Level.NONE)
    ingest_message(archive, event(104))
    ingest_message(archive, event(111))  # 林姐 never answered
    digest = build_digest(archive, COMMUNITY, WEEK)
    assert digest is not None and digest.quiet


def test_unknown_community(archive: Archive) -> None:
    with pytest.raises(UnknownCommunityError):
        build_digest(archive, "nowhere", WEEK)


def test_digest_stays_within_its_community(sample: Archive) -> None:
    other = ChatRef("telegram", "-100555")
    add_community(sample, "elsewhere", other)
    say(sample, 42, Level.ALL, community="elsewhere")
    ingest_message(
        sample, message(1, 42, "别的小区的电梯", sent_at=local("2026-11-18 10:00"), chat=other)
    )
    mine = build_digest(sample, COMMUNITY, WEEK)
    theirs = build_digest(sample, "elsewhere", WEEK)
    assert mine is not None and theirs is not None
    assert (mine.messages, theirs.messages) == (15, 1)
    assert theirs.new_neighbours == 1 and theirs.new_neighbour_names == ()


# --- JSON and the CLI -------------------------------------------------------------------------


def test_json_shape(sample: Archive) -> None:
    data = build_digest(sample, COMMUNITY, WEEK)
    assert data is not None
    shape = data.to_json()
    assert list(shape) == [
        "community",
        "name",
        "language",
        "timezone",
        "week",
        "start",
        "end",
        "quiet",
        "stats",
        "highlights",
        "message_ids",
        "keywords",
        "stories",
        "new_neighbour_names",
        "photo",
    ]
    assert shape["photo"] is None, "the sample week has no photo"
    assert shape["start"] == "2026-11-16T00:00:00+08:00"
    assert json.loads(json.dumps(shape)) == shape


@pytest.fixture
def cli_archive(tmp_path: Path, db_url: str) -> Iterator[tuple[Path, Archive]]:
    """The sample week in an archive at ``db_url``, and a config pointing at it."""
    from archiver.archive import open_archive
    from archiver.community import ensure_community
    from tests.conftest import SETTINGS

    archive = open_archive(db_url)
    try:
        ensure_community(archive, SETTINGS)
        build_sample(archive)
    finally:
        archive.close()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\nurl = "{db_url}"\n\n'
        f'[[communities]]\nid = "{COMMUNITY}"\nname = "阳光花园"\nlanguage = "en"\n'
        'spaces = [{ platform = "telegram", chat = "-1001987654321" }]\n',
        encoding="utf-8",
    )
    yield config, archive


def test_cli_digest_json(cli_archive: tuple[Path, Archive]) -> None:
    config, _ = cli_archive
    result = cli(config, "digest", "--community", COMMUNITY, "--week", "2026-W47", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["week"] == "2026-W47"
    assert data["stats"] == {
        "messages": 15,
        "neighbours": 5,
        "tagged": 4,
        "new_neighbours": 3,
        "per_day": [5, 3, 2, 2, 0, 2, 1],
    }
    assert [h["platform_message_id"] for h in data["highlights"]] == ["101", "113", "106"]
    assert data["message_ids"] == [h["id"] for h in data["highlights"]]
    assert [(k["word"], k["messages"]) for k in data["keywords"]] == EXPECTED_WORDS
    assert [s["name"] for s in data["stories"]] == ["志愿者队", "电梯检修"]


def test_cli_digest_readable(cli_archive: tuple[Path, Archive], tmp_path: Path) -> None:
    config, _ = cli_archive
    result = cli(config, "digest", "--community", COMMUNITY, "--week", "2026-W47")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "📖 阳光花园 · this week, 16 Nov – 22 Nov"  # the community writes English
    assert "✨ Highlights" in lines


def test_cli_digest_writes_the_picture(cli_archive: tuple[Path, Archive], tmp_path: Path) -> None:
    from archiver.picture import find_cjk_font

    if find_cjk_font() is None:
        pytest.skip("no CJK font on this machine (Debian: apt-get install fonts-noto-cjk)")
    config, _ = cli_archive
    target = tmp_path / "digest.png"
    result = cli(
        config, "digest", "--community", COMMUNITY, "--week", "2026-W47", "--picture", str(target)
    )
    assert result.exit_code == 0, result.output
    assert target.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_cli_digest_quiet_week(cli_archive: tuple[Path, Archive]) -> None:
    config, _ = cli_archive
    result = cli(config, "digest", "--community", COMMUNITY, "--week", "2026-W45", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["quiet"] is True
    result = cli(config, "digest", "--community", COMMUNITY, "--week", "2026-W45")
    assert result.stdout.startswith("🌙 A quiet week in 阳光花园")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--community", "nowhere"], "unknown community 'nowhere'"),
        (["--community", COMMUNITY, "--week", "2026-47"], "--week"),
        (["--community", COMMUNITY, "--week", "2025-W53"], "2025 has no week 53"),
    ],
)
def test_cli_digest_errors(
    cli_archive: tuple[Path, Archive], args: list[str], fragment: str
) -> None:
    config, _ = cli_archive
    one_line_error(cli(config, "digest", *args), fragment)


def test_digest_type_is_frozen(sample: Archive) -> None:
    digest = build_digest(sample, COMMUNITY, WEEK)
    assert isinstance(digest, Digest)
    with pytest.raises(AttributeError):
        digest.messages = 0  # type: ignore[misc]
