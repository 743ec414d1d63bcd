"""Paper consent rosters: read and checked whole before anything is recorded; reruns record
nothing; every mistake is one ImportFormatError naming the file and the line."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func
from sqlmodel import SQLModel, select

from archiver.archive import Archive
from archiver.consent import Attribution, Level, consent_of
from archiver.errors import CommunityMemoryError, ImportFormatError
from archiver.events import AccountRef
from archiver.importers.roster import COLUMNS, import_roster, read_roster, roster_account
from storage.models import ConsentEvent
from tests.conftest import COMMUNITY, account, rows

DEMO_ROSTER = Path(__file__).resolve().parents[1] / "sandbox" / "demo" / "roster.csv"
HEADER = ",".join(COLUMNS)
GOOD = "telegram:1,all,named,楼长 王阿姨,2026-10-30T19:00:00+08:00,纸质同意书 #001"
TZ = "Asia/Shanghai"


def write(tmp_path: Path, *lines: str, name: str = "roster.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def table_counts(archive: Archive) -> dict[str, int]:
    with archive.db.read() as session:
        return {
            table.name: int(session.exec(select(func.count()).select_from(table)).one())
            for table in SQLModel.metadata.sorted_tables
        }


def test_the_sample_roster_reads() -> None:
    entries = read_roster(DEMO_ROSTER, timezone=TZ)
    assert [e.account for e in entries] == [
        AccountRef("telegram", str(10001 + i)) for i in range(7)
    ]
    assert [e.level for e in entries] == [Level.ALL] * 4 + [Level.TAGGED] * 2 + [Level.NONE]
    first = entries[0]
    assert first.line == 2
    assert first.attribution is Attribution.NAMED
    assert first.recorded_by == "王阿姨的女儿 (楼长)"
    assert first.evidence == "纸质同意书 #001"
    assert first.recorded_at == datetime(2026, 10, 30, 19, 0, tzinfo=ZoneInfo(TZ))


def test_optional_attribution_bom_blank_lines_and_local_times(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_bytes(
        (
            "\ufeff" + HEADER + "\r\n"
            "telegram:7,TAGGED,,steward,2026-10-30T19:00:00,form 7\r\n"
            "\r\n"
            ' telegram:8 , none ,anonymous,"steward, second floor",2026-10-30 20:00,'
            '"form 8, signed"\r\n'
        ).encode()
    )
    seven, eight = read_roster(path, timezone=TZ)
    assert (seven.level, seven.attribution) == (Level.TAGGED, None)
    assert seven.recorded_at == datetime(2026, 10, 30, 19, 0, tzinfo=ZoneInfo(TZ))
    assert (eight.account, eight.level) == (AccountRef("telegram", "8"), Level.NONE)
    assert (eight.recorded_by, eight.evidence) == ("steward, second floor", "form 8, signed")
    assert eight.line == 4


def test_import_records_the_ledger_and_a_rerun_records_nothing(archive: Archive) -> None:
    assert import_roster(archive, COMMUNITY, DEMO_ROSTER, timezone=TZ) == 11
    ledger = rows(archive, ConsentEvent)
    assert len(ledger) == 11
    assert {e.method for e in ledger} == {"paper"}
    assert all(e.recorded_by and e.evidence for e in ledger)
    assert {e.actor for e in ledger} == {
        "steward:王阿姨的女儿 (楼长)",
        "steward:张老师 (志愿者队)",
    }
    emma = consent_of(archive, COMMUNITY, account(10005))
    assert (emma.level, emma.attribution) == (Level.TAGGED, Attribution.NAMED)
    before = table_counts(archive)
    assert import_roster(archive, COMMUNITY, DEMO_ROSTER, timezone=TZ) == 0
    assert table_counts(archive) == before


def test_a_changed_line_records_only_the_change(archive: Archive, tmp_path: Path) -> None:
    import_roster(archive, COMMUNITY, DEMO_ROSTER, timezone=TZ)
    lines = DEMO_ROSTER.read_text(encoding="utf-8").splitlines()
    lines[7] = lines[7].replace(",none,", ",tagged,")  # 赵叔叔 changes his mind on paper
    assert import_roster(archive, COMMUNITY, write(tmp_path, *lines), timezone=TZ) == 1
    assert consent_of(archive, COMMUNITY, account(10007)).level is Level.TAGGED


BAD_LINES = {
    "bad level": ("telegram:2,maybe,named,s,2026-10-30T19:00:00+08:00,f", "level 'maybe'"),
    "unknown level": ("telegram:2,unknown,,s,2026-10-30T19:00:00+08:00,f", "level 'unknown'"),
    "bad account": ("tg:2,all,named,s,2026-10-30T19:00:00+08:00,f", "is not an account"),
    "bare user id": ("12345,all,named,s,2026-10-30T19:00:00+08:00,f", "is not an account"),
    "bad attribution": ("telegram:2,all,famous,s,2026-10-30T19:00:00+08:00,f", "attribution"),
    "duplicate account": (GOOD, "telegram:1 is already on line 2"),
    "empty evidence": ("telegram:2,all,named,s,2026-10-30T19:00:00+08:00,", "evidence is empty"),
    "empty recorded_by": ("telegram:2,all,named,,2026-10-30T19:00:00+08:00,f", "recorded_by"),
    "bad date": ("telegram:2,all,named,s,30/10/2026,f", "recorded_at '30/10/2026'"),
    "too many values": ("telegram:2,all,named,s,2026-10-30T19:00:00+08:00,f,extra", "more values"),
    "too few values": ("telegram:2,all,named", "fewer values"),
}


@pytest.mark.parametrize("case", sorted(BAD_LINES))
def test_a_bad_line_is_named(tmp_path: Path, case: str) -> None:
    line, reason = BAD_LINES[case]
    path = write(tmp_path, HEADER, GOOD, line, "telegram:3,all,named,s,2026-10-30,f")
    with pytest.raises(ImportFormatError) as caught:
        read_roster(path, timezone=TZ)
    error = caught.value
    assert error.entry == "line 3"
    assert error.path == path
    assert str(error).startswith(f"{path}: line 3: ")
    assert reason in str(error)


@pytest.mark.parametrize("case", ["bad level", "duplicate account", "too few values"])
def test_a_bad_line_records_nothing(archive: Archive, tmp_path: Path, case: str) -> None:
    path = write(tmp_path, HEADER, GOOD, BAD_LINES[case][0])
    before = table_counts(archive)
    with pytest.raises(ImportFormatError, match="line 3"):
        import_roster(archive, COMMUNITY, path, timezone=TZ)
    assert table_counts(archive) == before  # line 2 was fine, and is not recorded either


@pytest.mark.parametrize(
    ("content", "line", "reason"),
    [
        (b"account,level,recorded_by,recorded_at,evidence\n", "line 1", "attribution"),
        (b"", "line 1", "missing column"),
        (
            (HEADER + "\n" + GOOD + "\n").encode()
            + "telegram:2,all,,王,2026-10-30,f\n".encode("gbk"),
            "line 3",
            "not UTF-8",
        ),
    ],
    ids=["missing column", "empty file", "not UTF-8"],
)
def test_a_bad_file_is_refused_whole(
    tmp_path: Path, content: bytes, line: str, reason: str
) -> None:
    path = tmp_path / "roster.csv"
    path.write_bytes(content)
    with pytest.raises(ImportFormatError, match=reason) as caught:
        read_roster(path, timezone=TZ)
    assert caught.value.entry == line
    assert str(path) in str(caught.value)


def test_a_file_that_is_not_utf8_records_nothing(archive: Archive, tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_bytes(DEMO_ROSTER.read_text(encoding="utf-8").encode("gbk"))
    before = table_counts(archive)
    with pytest.raises(ImportFormatError, match="line 2: not UTF-8"):
        import_roster(archive, COMMUNITY, path, timezone=TZ)
    assert table_counts(archive) == before


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ImportFormatError, match="not found") as caught:
        read_roster(tmp_path / "nope.csv", timezone=TZ)
    assert caught.value.path == tmp_path / "nope.csv"
    with pytest.raises(ImportFormatError, match="folder"):
        read_roster(tmp_path, timezone=TZ)


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("telegram:1462097294", "telegram:1462097294"),
        ("telegram:user1462097294", "telegram:1462097294"),  # the export's from_id, copied
        ("telegram:channel1234567", "telegram:-1001234567"),  # a channel posting as itself
        ("matrix:@alice:example.org", "matrix:@alice:example.org"),
    ],
)
def test_roster_accounts_as_people_write_them(written: str, key: str) -> None:
    assert roster_account(written).key == key


@pytest.mark.parametrize(
    "written",
    ["telegram:chat12ab", "telegram:王阿姨", "telegram:12x", "matrix:alice", "matrix:@alice"],
)
def test_a_roster_account_that_is_no_person_is_refused_in_one_line(written: str) -> None:
    with pytest.raises(CommunityMemoryError) as raised:
        roster_account(written)
    assert "\n" not in str(raised.value) and written in str(raised.value)
