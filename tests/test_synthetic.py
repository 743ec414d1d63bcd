"""The synthetic export generator of the benchmark: deterministic, a real Telegram Desktop
export to the real parser, realistic texts, and numbers an import must reproduce."""

from __future__ import annotations

import re
import tracemalloc
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from archiver.archive import Archive
from archiver.community import CommunitySettings, ensure_community
from archiver.importers.roster import read_roster
from archiver.importers.telegram import import_telegram
from archiver.importers.telegram_export import ExportedMessage, MalformedEntry, open_export
from archiver.segmentation import Segmenter
from sandbox.bench.synthetic import (
    KEEP_EMOJI,
    LEVEL_MIX,
    SyntheticInfo,
    write_synthetic_export,
    write_synthetic_roster,
)
from storage.models import Account, Consent, Message, Tag
from tests.conftest import rows

SHANGHAI = ZoneInfo("Asia/Shanghai")
CJK = re.compile(r"[\u4e00-\u9fff]")
LATIN = re.compile(r"[A-Za-z]{2,}")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[SyntheticInfo, Path]:
    """3,000 messages and their roster, written once for the module."""
    folder = tmp_path_factory.mktemp("synthetic")
    info = write_synthetic_export(folder / "result.json", 3000)
    roster = folder / "roster.csv"
    write_synthetic_roster(roster, info)
    return info, roster


def test_the_same_arguments_give_the_same_bytes(tmp_path: Path) -> None:
    one = write_synthetic_export(tmp_path / "a.json", 500, seed=3, authors=20)
    two = write_synthetic_export(tmp_path / "b.json", 500, seed=3, authors=20)
    other = write_synthetic_export(tmp_path / "c.json", 500, seed=4, authors=20)
    assert one.path.read_bytes() == two.path.read_bytes()
    assert one.path.read_bytes() != other.path.read_bytes()
    assert (one.kept_by_level, one.tags) == (two.kept_by_level, two.tags)
    write_synthetic_roster(tmp_path / "a.csv", one)
    write_synthetic_roster(tmp_path / "b.csv", two)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_the_real_parser_reads_it(sample: tuple[SyntheticInfo, Path]) -> None:
    info, _ = sample
    export = open_export(info.path, local_tz=SHANGHAI)
    assert export.chat.chat_id == info.chat_id
    assert export.chat.type == "private_supergroup"
    entries = list(export.entries())
    assert not [e for e in entries if isinstance(e, MalformedEntry)]
    messages = [e for e in entries if isinstance(e, ExportedMessage)]
    assert len(messages) == info.messages == 3000
    assert export.service_count == info.service >= 2
    assert info.size == info.path.stat().st_size

    ids = [int(m.id) for m in messages]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(int(m.reply_to) < int(m.id) for m in messages if m.reply_to)
    assert sum(1 for m in messages if m.reply_to) == info.replies > 300
    assert sum(1 for m in messages if m.edited_at) == info.edited > 0
    assert all(m.edited_at > m.sent_at for m in messages if m.edited_at)
    assert sum(1 for m in messages if m.media_kind == "photo") == info.photos > 0
    assert sum(1 for m in messages if "https://example.org/" in m.text) == info.links > 0

    times = [m.sent_at for m in messages]
    assert times == sorted(times)
    start = datetime(2023, 3, 1, tzinfo=UTC)
    assert start <= info.first_at <= times[0]
    assert times[-1] <= info.last_at < start + timedelta(days=3 * 365)
    assert times[-1] - times[0] > timedelta(days=2 * 365)  # spread over the years

    pinned = [m for m in messages if any(r.emoji == KEEP_EMOJI for r in m.reactions)]
    assert len(pinned) == info.keep_reactions > 50
    assert any(r.from_ids for m in pinned for r in m.reactions)
    assert any(not r.from_ids for m in pinned for r in m.reactions if r.emoji == KEEP_EMOJI)
    other = [r.emoji for m in messages for r in m.reactions if r.emoji != KEEP_EMOJI]
    assert len(set(other)) >= 4


def test_texts_are_realistic(sample: tuple[SyntheticInfo, Path]) -> None:
    info, _ = sample
    export = open_export(info.path, local_tz=SHANGHAI)
    texts = [e.text for e in export.entries() if isinstance(e, ExportedMessage)]
    assert all(20 <= len(text) <= 90 for text in texts)
    assert 45 <= sum(map(len, texts)) / len(texts) <= 65
    chinese = [t for t in texts if CJK.search(t) and not LATIN.search(t.split("https://")[0])]
    english = [t for t in texts if not CJK.search(t)]
    mixed = [t for t in texts if CJK.search(t) and LATIN.search(t.split("https://")[0])]
    for kind in (chinese, english, mixed):
        assert len(kind) > len(texts) / 10
    assert len(set(texts)) > 0.95 * len(texts)
    # jieba finds real words in them, not just single characters
    segmenter = Segmenter()
    words = Counter(
        token for text in chinese[:300] for token in segmenter.index_tokens(text).split()
    )
    assert sum(n for token, n in words.items() if len(token) >= 2) > sum(words.values()) / 2
    assert {"电梯", "快递", "志愿者"} <= set(words)


def test_authors_and_levels_follow_the_mix(sample: tuple[SyntheticInfo, Path]) -> None:
    info, roster = sample
    assert len(info.authors) == 200
    assert len({a.user_id for a in info.authors}) == 200
    by_level = Counter(a.level for a in info.authors)
    assert by_level == {level: round(200 * share) for level, share in LEVEL_MIX.items()}
    export = open_export(info.path, local_tz=SHANGHAI)
    posted = Counter(e.author_id for e in export.entries() if isinstance(e, ExportedMessage))
    assert len(posted) > 150  # many authors …
    assert posted.most_common(1)[0][1] > 10 * 3000 / 200  # … and a few who talk a lot
    assert sum(info.messages_by_level.values()) == info.messages
    assert info.kept_by_level["all"] == info.messages_by_level["all"]
    assert 0 < info.kept_by_level["tagged"] < info.messages_by_level["tagged"]
    assert info.kept_by_level["none"] == info.kept_by_level["unknown"] == 0

    entries = read_roster(roster, timezone="Asia/Shanghai")
    assert len(entries) == 200 - by_level["unknown"]
    levels = {a.user_id: a.level for a in info.authors}
    assert all(levels[e.account.user_id] == e.level.value for e in entries)
    assert len({e.evidence for e in entries}) == len(entries)


def test_an_import_gives_the_numbers_it_promises(archive: Archive, tmp_path: Path) -> None:
    info = write_synthetic_export(tmp_path / "result.json", 1000, seed=11, authors=60)
    roster = tmp_path / "roster.csv"
    lines = write_synthetic_roster(roster, info)
    ensure_community(archive, CommunitySettings(id="synthetic", name="合成"))
    export, report = import_telegram(archive, "synthetic", info.path, roster=roster, batch_size=250)
    assert export.chat.chat_id == info.chat_id
    assert (report.entries, report.malformed, report.service) == (1000, 0, info.service)
    assert (report.kept, report.not_consented) == (info.kept, info.not_kept)
    assert report.tags == info.tags == len(rows(archive, Tag))
    assert report.consent_changes >= lines
    level_of = {c.person_id: c.level for c in rows(archive, Consent)}
    kept = Counter(level_of[m.author_id] for m in rows(archive, Message))
    assert kept == {level: n for level, n in info.kept_by_level.items() if n}
    authors = {a.user_id for a in info.authors if a.level in ("all", "tagged")}
    accounts = {a.person_id: a.user_id for a in rows(archive, Account)}
    assert {accounts[m.author_id] for m in rows(archive, Message)} <= authors
    _, again = import_telegram(archive, "synthetic", info.path, roster=roster)
    assert (again.kept, again.already, again.tags, again.consent_changes) == (0, info.kept, 0, 0)


def test_writing_streams(tmp_path: Path) -> None:
    """Memory does not grow with the export: four times the messages, about the same peak."""
    peaks, sizes = [], []
    for count in (300, 1200):
        tracemalloc.start()
        try:
            info = write_synthetic_export(tmp_path / f"{count}.json", count, authors=20)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        sizes.append(info.size)
    assert sizes[1] > 3.5 * sizes[0]
    assert peaks[1] < sizes[1] / 4  # holding the document would take more than its size
    assert peaks[1] < 2 * peaks[0]


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="authors"):
        write_synthetic_export(tmp_path / "x.json", 10, authors=0)
    with pytest.raises(ValueError, match="unknown level"):
        write_synthetic_export(tmp_path / "x.json", 10, level_mix={"maybe": 1.0})
