"""``community-memory bench``: the JSON report's shape (its figures are measured, not tested)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bot.cli.main import app
from sandbox.bench.suite import BUDGET
from sandbox.synapse import synapse_available

FIGURES = {
    "messages": int,
    "backend": str,
    "import_s": float,
    "import_msgs_per_s": int,
    "import_kept": int,
    "import_peak_rss_mb": float,
    "reference_segment_msgs_per_s": int,
    "reference_insert_rows_per_s": int,
    "reference_msgs_per_s": int,
    "import_fraction_of_reference": float,
    "live_median_ms": float,
    "live_media_median_ms": float,
    "live_media_p99_ms": float,
    "media_videos_kept": int,
    "live_p99_ms": float,
    "search_queries": int,
    "search_with_results": int,
    "search_p50_ms": float,
    "search_p95_ms": float,
    "search_max_ms": float,
    "onthisday_median_ms": float,
    "onthisday_max_ms": float,
    "digest_s": float,
    "digest_messages": int,
    "run_idle_rss_mb": float,
}


def test_bench_json_shape(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["bench", "--messages", "2000", "--json", "--workdir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    for name, kind in FIGURES.items():
        assert isinstance(report[name], kind), (name, report[name])
    assert report["messages"] == 2000
    assert report["backend"] == "sqlite"
    assert report["search_queries"] == 200
    # Half the queries use words of the synthetic texts, half words that are in none of them.
    assert 0 < report["search_with_results"] < 200
    assert report["import_kept"] > 0
    assert report["digest_messages"] == 10_000  # the digest phase's busy week, all kept
    # The site is built of all 2,000 (everyone consents in its own export), then rebuilt.
    assert report["site_messages"] == 2000
    assert report["site_incremental_written"] > 0 and report["site_files"] > 60
    assert set(report["within_budget"]) == set(BUDGET)
    assert all(v in (True, False, None) for v in report["within_budget"].values())
    assert isinstance(report["notes"], list)
    # The idle run has both adapters when a local Synapse can be started (the test extras
    # install it), else Telegram only — and says so in a note.
    if synapse_available():
        assert report["run_idle_adapters"] == ["telegram", "matrix"], report["notes"]
    else:
        assert report["run_idle_adapters"] == ["telegram"]
        assert any("Telegram only" in note for note in report["notes"])
