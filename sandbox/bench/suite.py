"""``community-memory bench``: the project measures itself against DESIGN.md's budget.

One run, on a deterministic synthetic community (``sandbox.bench.synthetic``):

- import of a Telegram Desktop export through the real ``import telegram`` path, beside the
  physical reference on the same data (rjieba segmentation + raw ``sqlite3.executemany``);
- the same history in every other format ``import`` reads (Element, ChatLab JSON and JSONL,
  WeChatMsg CSV, PyWxDump CSV and JSON: ``sandbox.bench.readers``), each imported through
  the real path into an SQLite archive of its own (``import_<format>_msgs_per_s``);
- live ingestion: normalized message event → committed row;
- search latency over 200 queries (one and two words, Chinese and English, with and without
  results), newest first;
- on-this-day latency;
- the weekly digest for a 10,000-message week, picture included;
- peak RSS of each phase, and of an idle ``community-memory run`` with both adapters
  configured: Telegram on the local Bot API emulator, Matrix on a throwaway local Synapse when
  ``matrix-synapse`` is installed (``run_idle_adapters`` says which ran).

Figures are named with their units (``import_msgs_per_s``, ``search_p95_ms``) and stay stable,
so runs can be compared over time. Nothing here is asserted: the budget is read, not enforced.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from archiver.archive import Archive, open_archive
from archiver.community import CommunitySettings, SpaceRef, ensure_community
from archiver.consent import Actor, Level, Method, set_level
from archiver.events import AccountRef, ChatRef, MessageEvent
from archiver.importers.telegram import import_telegram
from archiver.importers.telegram_export import ExportedMessage, open_export
from archiver.ingest import ingest_message
from archiver.recall import on_this_day, search
from sandbox.bench.media_live import VIDEO_BYTES, timed_ingest, timed_ingest_while_downloading
from sandbox.bench.readers import READERS, import_each, write_reader_files
from sandbox.bench.synthetic import DEFAULT_CHAT_ID, write_synthetic_export, write_synthetic_roster

COMMUNITY = "bench"
TIMEZONE = "Asia/Shanghai"
SEARCH_QUERIES = 200
LIVE_MESSAGES = 500
ONTHISDAY_DAYS = 50
DIGEST_MESSAGES = 10_000
BUDGET = {
    "import_msgs_per_s": (">=", 50_000),
    **{f"import_{name}_msgs_per_s": (">=", 50_000) for name in READERS},
    "live_median_ms": ("<=", 2.0),
    "live_media_median_ms": ("<=", 2.0),
    "search_p95_ms": ("<=", 15.0),
    "search_max_ms": ("<=", 100.0),
    "onthisday_max_ms": ("<=", 5.0),
    "digest_s": ("<=", 1.5),
    "run_idle_rss_mb": ("<=", 150.0),
    "site_incremental_s": ("<=", 1.0),
}
SITE_MAX_MESSAGES = 200_000  # the site's budget is set at 100,000 messages
SITE_NEW_MESSAGES = 1_000
# Words of the synthetic texts (found) and words that are in none (not found).
FOUND_WORDS = ("电梯", "快递", "志愿者", "物业", "停车", "parcel", "lift", "volunteer", "garden")
MISSING_WORDS = ("火箭", "潜水艇", "zeppelin", "saxophone", "量子", "独角兽")

Progress = Callable[[str], None]


@dataclass
class BenchResult:
    """Every figure of one run, by stable name."""

    figures: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """One JSON object: the figures, the budget verdicts, and notes."""
        verdicts: dict[str, bool | None] = {}
        for name, (op, limit) in BUDGET.items():
            value = self.figures.get(name)
            if isinstance(value, int | float):
                verdicts[name] = value >= limit if op == ">=" else value <= limit
            else:
                verdicts[name] = None
        return {**self.figures, "within_budget": verdicts, "notes": self.notes}


class RssSampler:
    """Peak resident memory of a process while a phase runs (sampled from /proc)."""

    def __init__(self, pid: int | None = None, interval: float = 0.02) -> None:
        self.pid = pid or os.getpid()
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes(self.pid))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self.peak = rss_bytes(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes(self.pid))

    @property
    def peak_mb(self) -> float:
        """The peak in MiB, rounded."""
        return round(self.peak / 2**20, 1)


def rss_bytes(pid: int) -> int:
    """Current resident set size of ``pid`` (0 when it is gone or /proc is missing)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return 0
    return 0


def _ms(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)

    def pick(quantile: float) -> float:
        return ordered[min(len(ordered) - 1, int(quantile * len(ordered)))]

    return {
        "p50": round(statistics.median(ordered) * 1000, 3),
        "p95": round(pick(0.95) * 1000, 3),
        "p99": round(pick(0.99) * 1000, 3),
        "max": round(ordered[-1] * 1000, 3),
    }


def run_bench(
    messages: int,
    *,
    db_url: str | None = None,
    workdir: Path | None = None,
    progress: Progress | None = None,
    run_idle: bool = True,
    tg_archive: Path | None = None,
) -> BenchResult:
    """Run every phase; ``db_url`` (an empty database) instead of a fresh SQLite file;
    ``tg_archive``: tg-archive's executable, to time its ``--build`` beside the site's."""
    step = progress or (lambda _what: None)
    result = BenchResult()
    with _workdir(workdir) as folder:
        url = db_url or f"sqlite:///{folder / 'bench.db'}"
        result.figures.update(
            {
                "messages": messages,
                "backend": url.split(":", 1)[0].split("+")[0],
                "python": sys.version.split()[0],
                "cpus": os.cpu_count(),
            }
        )
        step("writing the synthetic export")
        export = folder / "result.json"
        info = write_synthetic_export(export, messages)
        roster = folder / "roster.csv"
        write_synthetic_roster(roster, info)

        archive = open_archive(url)
        try:
            ensure_community(archive, _settings(info.chat_id))
            step("import")
            _import_phase(archive, export, roster, result)
            # before the reference, which holds every text in memory: the readers' peak RSS
            # is then their own (above the Telegram import's, which ran in this process)
            _readers_phase(export, roster, folder, result, step)
            step("physical reference")
            _reference_phase(export, folder, result)
            step("live ingestion")
            _live_phase(archive, info.chat_id, result)
            step("live ingestion while a 20 MB video downloads")
            _live_media_phase(archive, info.chat_id, folder, result)
            step("search")
            _search_phase(archive, result)
            step("on this day")
            _onthisday_phase(archive, result)
        finally:
            archive.close()
        if messages <= SITE_MAX_MESSAGES:
            step("archive website")
            _site_phase(messages, folder, result, tg_archive)
        else:
            result.notes.append(
                f"site: not built above {SITE_MAX_MESSAGES:,} messages (its budget is at "
                "100,000: run bench --messages 100000)"
            )
        step("weekly digest")
        _digest_phase(folder, db_url, result)
        if run_idle:
            step("idle run")
            _idle_run_phase(folder, result)
    return result


@contextmanager
def _workdir(given: Path | None) -> Iterator[Path]:
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="cm-bench-") as name:
        yield Path(name)


def _settings(chat_id: str) -> CommunitySettings:
    return CommunitySettings(
        id=COMMUNITY, name="基准小区", timezone=TIMEZONE, spaces=(SpaceRef("telegram", chat_id),)
    )


def _import_phase(archive: Archive, export: Path, roster: Path, result: BenchResult) -> None:
    with RssSampler() as rss:
        started = time.perf_counter()
        _, report = import_telegram(archive, COMMUNITY, export, roster=roster)
        elapsed = time.perf_counter() - started
    result.figures.update(
        {
            "import_s": round(elapsed, 3),
            "import_msgs_per_s": round(report.entries / elapsed),
            "import_kept": report.kept,
            "import_peak_rss_mb": rss.peak_mb,
        }
    )


def _readers_phase(
    export: Path, roster: Path, folder: Path, result: BenchResult, step: Progress
) -> None:
    """Every other reader on the same history (``sandbox.bench.readers``), each into an
    SQLite archive of its own; its files are removed afterwards (they are big at 1M)."""
    step("writing the history in every format")
    files = write_reader_files(export, roster, folder, ZoneInfo(TIMEZONE))
    try:
        for name, figures in import_each(files, folder, TIMEZONE, RssSampler, step):
            result.figures.update(
                {
                    f"import_{name}_s": round(figures.seconds, 3),
                    f"import_{name}_msgs_per_s": round(figures.entries / figures.seconds),
                    f"import_{name}_kept": figures.kept,
                    f"import_{name}_peak_rss_mb": figures.peak_rss_mb,
                }
            )
            for leftover in folder.glob(f"reader-{name}.db*"):
                leftover.unlink()
    finally:
        for path in (*files.files.values(), *files.rosters.values()):
            path.unlink(missing_ok=True)


def _reference_phase(export: Path, folder: Path, result: BenchResult) -> None:
    """The same messages through rjieba and a raw ``executemany``: what the hardware allows."""
    import rjieba

    texts: list[tuple[str, int, str]] = []
    for entry in open_export(export, local_tz=ZoneInfo(TIMEZONE)).entries():
        if isinstance(entry, ExportedMessage):
            texts.append((entry.id, int(entry.sent_at.timestamp()), entry.text))
    cutter = rjieba.Jieba()
    started = time.perf_counter()
    rows = [
        (mid, ts, text, " ".join(cutter.cut_for_search(text, False))) for mid, ts, text in texts
    ]
    segment_s = time.perf_counter() - started
    database = folder / "reference.db"
    connection = sqlite3.connect(database)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(
        "CREATE TABLE m (id TEXT PRIMARY KEY, sent_at INTEGER, text TEXT, tokens TEXT)"
    )
    started = time.perf_counter()
    with connection:
        connection.executemany("INSERT INTO m VALUES (?, ?, ?, ?)", rows)
    insert_s = time.perf_counter() - started
    connection.close()
    count = max(1, len(rows))
    reference = count / (segment_s + insert_s) if segment_s + insert_s else 0.0
    ours = result.figures.get("import_msgs_per_s", 0)
    result.figures.update(
        {
            "reference_segment_msgs_per_s": round(count / segment_s) if segment_s else None,
            "reference_insert_rows_per_s": round(count / insert_s) if insert_s else None,
            "reference_msgs_per_s": round(reference),
            "import_fraction_of_reference": round(ours / reference, 3) if reference else None,
        }
    )


def _live_texts(seed: int, count: int) -> list[str]:
    """Chat-like texts of 4–12 words, some of them the search phase's words."""
    rng = random.Random(seed)
    words = [*FOUND_WORDS, "今天", "楼下", "开会", "谢谢", "hello", "tomorrow"]
    return [" ".join(rng.choice(words) for _ in range(rng.randint(4, 12))) for _ in range(count)]


def _live_phase(archive: Archive, chat_id: str, result: BenchResult) -> None:
    author = AccountRef("telegram", "900000001")
    set_level(archive, COMMUNITY, author, Level.ALL, actor=Actor(author), method=Method.COMMAND)
    texts = _live_texts(11, LIVE_MESSAGES)
    chat = ChatRef("telegram", chat_id)
    base = datetime(2030, 1, 1, tzinfo=UTC)
    with RssSampler() as rss:
        timings = timed_ingest(archive, chat, author, texts, "live", base)
    figures = _ms(timings)
    result.figures.update(
        {
            "live_median_ms": figures["p50"],
            "live_p99_ms": figures["p99"],
            "live_peak_rss_mb": rss.peak_mb,
        }
    )


def _live_media_phase(archive: Archive, chat_id: str, folder: Path, result: BenchResult) -> None:
    """The live phase's texts again while videos of 20 MB download and are kept
    (``sandbox/bench/media_live.py``)."""
    author = AccountRef("telegram", "900000001")  # at ``all`` since the live phase
    texts = _live_texts(12, LIVE_MESSAGES)
    timings, downloads = timed_ingest_while_downloading(archive, chat_id, author, texts, folder)
    figures = _ms(timings)
    result.figures.update(
        {
            "live_media_median_ms": figures["p50"],
            "live_media_p99_ms": figures["p99"],
            "media_videos_kept": downloads.kept,
            "media_mb_per_s": round(
                downloads.kept * VIDEO_BYTES / 1_048_576 / max(downloads.seconds, 1e-9), 1
            ),
        }
    )


def _site_phase(messages: int, folder: Path, result: BenchResult, tg_archive: Path | None) -> None:
    """``export site`` on ``messages`` messages that all are kept (everyone on the roster at
    ``all``: the site shows exactly the export), pages and search index included; then a
    rebuild after SITE_NEW_MESSAGES new ones (appended in the newest month, as a week of chat
    is); and, given its executable, tg-archive's ``--build`` on the same messages."""
    from archiver.site.build import build_site

    site_folder = folder / "site-bench"
    export = site_folder / "result.json"
    info = write_synthetic_export(export, messages, seed=13, level_mix={"all": 1.0})
    roster = site_folder / "roster.csv"
    write_synthetic_roster(roster, info)
    archive = open_archive(f"sqlite:///{site_folder / 'site.db'}")
    try:
        ensure_community(archive, _settings(info.chat_id))
        import_telegram(archive, COMMUNITY, export, roster=roster)
        out = site_folder / "site"
        started = time.perf_counter()
        full = build_site(archive, COMMUNITY, out)
        full_s = time.perf_counter() - started
        author = AccountRef("telegram", str(info.authors[0].user_id))
        chat = ChatRef("telegram", info.chat_id)
        last = info.last_at
        for index in range(SITE_NEW_MESSAGES):
            event = MessageEvent(
                chat=chat,
                message_id=f"site-{index}",
                author=author,
                sent_at=last + timedelta(seconds=index + 1),
                text=f"新的一周 电梯 volunteer 第{index}条",
            )
            ingest_message(archive, event)
        started = time.perf_counter()
        again = build_site(archive, COMMUNITY, out)
        incremental_s = time.perf_counter() - started
    finally:
        archive.close()
    size = sum(path.stat().st_size for path in out.rglob("*") if path.is_file())
    result.figures.update(
        {
            "site_messages": full.messages,
            "site_build_s": round(full_s, 3),
            "site_files": full.files,
            "site_mb": round(size / 1e6, 1),
            "site_incremental_s": round(incremental_s, 3),
            "site_incremental_written": again.written,
        }
    )
    if tg_archive is not None:
        from sandbox.bench.tg_archive import tg_archive_build_seconds

        seconds, count = tg_archive_build_seconds(tg_archive, export, site_folder)
        result.figures.update(
            {
                "tg_archive_messages": count,
                "tg_archive_build_s": round(seconds, 3),
                "site_speedup_vs_tg_archive": round(seconds / full_s, 2),
            }
        )


def _queries() -> list[str]:
    rng = random.Random(5)
    queries: list[str] = []
    while len(queries) < SEARCH_QUERIES:
        kind = len(queries) % 4
        if kind == 0:
            queries.append(rng.choice(FOUND_WORDS))
        elif kind == 1:
            queries.append(f"{rng.choice(FOUND_WORDS)} {rng.choice(FOUND_WORDS)}")
        elif kind == 2:
            queries.append(rng.choice(MISSING_WORDS))
        else:
            queries.append(f"{rng.choice(FOUND_WORDS)} {rng.choice(MISSING_WORDS)}")
    return queries


def _search_phase(archive: Archive, result: BenchResult) -> None:
    timings: list[float] = []
    hits = 0
    with RssSampler() as rss:
        for query in _queries():
            started = time.perf_counter()
            found = search(archive, COMMUNITY, query, limit=5)
            timings.append(time.perf_counter() - started)
            hits += bool(found)
    figures = _ms(timings)
    result.figures.update(
        {
            "search_queries": len(timings),
            "search_with_results": hits,
            "search_p50_ms": figures["p50"],
            "search_p95_ms": figures["p95"],
            "search_max_ms": figures["max"],
            "search_peak_rss_mb": rss.peak_mb,
        }
    )


def _onthisday_phase(archive: Archive, result: BenchResult) -> None:
    timings: list[float] = []
    found = 0
    first = date(2026, 1, 1)
    for index in range(ONTHISDAY_DAYS):
        day = first + timedelta(days=index * 7)
        started = time.perf_counter()
        found += len(on_this_day(archive, COMMUNITY, day, limit=5))
        timings.append(time.perf_counter() - started)
    figures = _ms(timings)
    result.figures.update(
        {
            "onthisday_median_ms": figures["p50"],
            "onthisday_max_ms": figures["max"],
            "onthisday_memories": found,
        }
    )


def _digest_phase(folder: Path, db_url: str | None, result: BenchResult) -> None:
    """A 10,000-message week (every author at ``all``) in an archive of its own, then the
    digest of that week with its picture."""
    import functools

    from archiver.digest import IsoWeek, build_digest, weekdays
    from archiver.picture import render_picture
    from bot.chat.texts import text

    export = folder / "week.json"
    start = datetime(2030, 3, 4, tzinfo=ZoneInfo(TIMEZONE))  # a Monday
    info = write_synthetic_export(
        export,
        DIGEST_MESSAGES,
        seed=3,
        start=start,
        days=7,
        level_mix={"all": 1.0},
        chat_id=DEFAULT_CHAT_ID + 1,
    )
    roster = folder / "week-roster.csv"
    write_synthetic_roster(roster, info)
    url = f"sqlite:///{folder / 'digest.db'}" if db_url is None else db_url
    archive = open_archive(url)
    try:
        settings = CommunitySettings(
            id="bench-week",
            name="基准小区",
            timezone=TIMEZONE,
            spaces=(SpaceRef("telegram", info.chat_id),),
        )
        ensure_community(archive, settings)
        import_telegram(archive, settings.id, export, roster=roster)
        week = IsoWeek.containing(start.date())
        with RssSampler() as rss:
            started = time.perf_counter()
            digest = build_digest(archive, settings.id, week)
            assert digest is not None
            picture = render_picture(digest, weekdays=weekdays(functools.partial(text, "zh")))
            elapsed = time.perf_counter() - started
    finally:
        archive.close()
    result.figures.update(
        {
            "digest_s": round(elapsed, 3),
            "digest_messages": digest.messages,
            "digest_picture_bytes": len(picture) if picture else 0,
            "digest_peak_rss_mb": rss.peak_mb,
        }
    )
    if picture is None:
        result.notes.append("digest: no CJK font found, so no picture was drawn")


def _idle_run_phase(folder: Path, result: BenchResult) -> None:
    """``community-memory run`` as a real subprocess, idle, with both adapters configured
    (Telegram on the Bot API emulator, Matrix on a local Synapse when it is installed): see
    ``sandbox/bench/idle_run.py``."""
    from sandbox.bench.idle_run import measure_idle_run

    idle = measure_idle_run(folder, lambda pid: RssSampler(pid, interval=0.1))
    result.figures["run_idle_rss_mb"] = idle.rss_mb
    result.figures["run_idle_adapters"] = idle.adapters
    result.notes.extend(idle.notes)


def to_json_text(result: BenchResult) -> str:
    """The ``--json`` output."""
    return json.dumps(result.to_json(), ensure_ascii=False, indent=2)


__all__ = ["BUDGET", "DEFAULT_CHAT_ID", "BenchResult", "run_bench", "to_json_text"]
