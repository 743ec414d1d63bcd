"""The archive website's yardstick: tg-archive 1.3.1's ``--build`` on the same messages.

tg-archive (what groups use today for Telegram archive sites) builds from its own SQLite
``messages``/``users`` tables, which it normally fills from Telegram. Here they are filled
from the bench's synthetic export — every message of it — and ``tg-archive --build`` is timed
in its own process, as an operator runs it. It is not a dependency: install it in a virtual
environment of its own (it needs ``setuptools<81``) and pass its executable to
``community-memory bench --tg-archive PATH``.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path


def tg_archive_build_seconds(executable: Path, export: Path, folder: Path) -> tuple[float, int]:
    """Seconds ``tg-archive --build`` takes on the messages of ``export``; and how many."""
    site = folder / "tg-archive"
    subprocess.run([str(executable), "--new", "--path", str(site)], check=True, capture_output=True)
    config = site / "config.yaml"
    text = config.read_text(encoding="utf-8")
    text = text.replace('group: "your_group_name', 'group: "bench" #')
    config.write_text(text, encoding="utf-8")
    data = site / "data.sqlite"
    count = _fill(executable, data, export)
    started = time.perf_counter()
    subprocess.run(
        [str(executable), "--build", "--config", "config.yaml", "--data", "data.sqlite"],
        cwd=site,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started, count


def _fill(executable: Path, data: Path, export: Path) -> int:
    """tg-archive's own schema (created by its own code), filled from the export."""
    python = executable.parent / "python"
    subprocess.run(
        [str(python), "-c", f"from tgarchive.db import DB; DB({str(data)!r})"],
        check=True,
        capture_output=True,
    )
    exported = json.loads(export.read_text(encoding="utf-8"))
    users: dict[int, str] = {}
    rows = []
    for entry in exported["messages"]:
        if entry.get("type") != "message" or not str(entry.get("from_id", "")).startswith("user"):
            continue
        user = int(str(entry["from_id"]).removeprefix("user"))
        users[user] = str(entry.get("from") or user)
        text = entry.get("text", "")
        if isinstance(text, list):
            text = "".join(p if isinstance(p, str) else p.get("text", "") for p in text)
        when = datetime.fromtimestamp(int(entry["date_unixtime"]), UTC)
        edited = entry.get("edited_unixtime")
        rows.append(
            (
                entry["id"],
                "message",
                when.strftime("%Y-%m-%d %H:%M:%S"),
                datetime.fromtimestamp(int(edited), UTC).strftime("%Y-%m-%d %H:%M:%S")
                if edited
                else None,
                text,
                entry.get("reply_to_message_id"),
                user,
            )
        )
    with sqlite3.connect(data) as db:
        db.executemany(
            "INSERT INTO users (id, username, first_name) VALUES (?, ?, ?)",
            [(uid, f"u{uid}", name) for uid, name in users.items()],
        )
        db.executemany(
            "INSERT INTO messages (id, type, date, edit_date, content, reply_to, user_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    return len(rows)
