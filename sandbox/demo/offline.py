"""``community-memory demo``: a sample community built offline, end to end.

It imports the shipped sample chat of 阳光花园 (an invented Telegram group, CC0) with its roster
of paper consent forms, then shows what was kept and what was refused, a search, an
on-this-day, that refused texts never reached the database file, a ``forget``, and an export.
It leaves a working archive and a ``config.toml`` behind so the reader can try the CLI on it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from datetime import date
from importlib.resources import as_file, files
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from archiver.archive import Archive, open_archive
from archiver.community import CommunitySettings, SpaceRef, ensure_community
from archiver.consent import Actor
from archiver.events import AccountRef
from archiver.exporters.jsonl import export_jsonl
from archiver.forget import forget_person
from archiver.importers.telegram import import_telegram
from archiver.importers.telegram_export import ExportedMessage, open_export
from archiver.mydata import what_we_hold
from archiver.recall import KeptMessage, on_this_day, search
from archiver.site.build import build_site
from bot.app.config import CommunityConfig, SpaceConfig
from bot.chat.texts import text
from sandbox.demo.live import live_chat

COMMUNITY = CommunitySettings(
    id="sunshine-garden",
    name="阳光花园",
    language="zh",
    timezone="Asia/Shanghai",
    spaces=(SpaceRef("telegram", "-1001987654321"),),
)
ON_THIS_DAY = date(2026, 11, 27)  # the night 李师傅 stopped the thief, three years on
SEARCHES = ("电梯", "募捐 李师傅", "volunteer")
# Written by residents who said no (赵叔叔) or never answered (林姐): must never be stored.
REFUSED = (
    "一九八六年这片还是稻田，我骑着二八自行车来这儿钓过黄鳝",
    "我外婆年轻时在黄浦江边卖了三十年栀子花",
)
FORGETS = AccountRef("telegram", "10004")  # 陈伟 asks to be forgotten
OUTPUTS = ("archive.db", "archive.db-wal", "archive.db-shm", "sunshine-garden.jsonl", "config.toml")


@dataclass(frozen=True, slots=True)
class DemoResult:
    """What the demo produced (for tests and the closing lines)."""

    archive: Path
    export: Path
    config: Path
    kept: int
    not_kept: int


def run_demo(out_dir: Path, console: Console) -> DemoResult:
    """Build the demo archive in ``out_dir`` (replacing an earlier demo's files there)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in OUTPUTS:
        (out_dir / name).unlink(missing_ok=True)
    db_file = (out_dir / "archive.db").resolve()
    config_file = out_dir / "config.toml"
    config_file.write_text(_config_text(db_file), encoding="utf-8")

    sample = files("sandbox.demo")
    with as_file(sample / "sunshine_garden.json") as chat, as_file(sample / "roster.csv") as roster:
        return _run(chat, roster, out_dir, db_file, config_file, console)


def _run(
    chat: Path, roster: Path, out_dir: Path, db_file: Path, config_file: Path, console: Console
) -> DemoResult:
    lang = COMMUNITY.language
    archive = open_archive(f"sqlite:///{db_file}")
    try:
        ensure_community(archive, COMMUNITY)
        console.rule("[bold]阳光花园 · Sunshine Garden — Community Memory demo")
        console.print(
            "A residents' group chat (294 messages, 2023–2026) and a roster of paper consent "
            "forms.\nOnly people who said yes are kept; the others leave no trace.\n"
        )

        _, report = import_telegram(archive, COMMUNITY.id, chat, roster=roster)
        console.print(
            f"[bold]Imported[/]: {report.kept} messages kept, {report.not_consented} not kept "
            f"(no consent), {report.service} service messages skipped, {report.tags} 📌 tags, "
            f"{report.consent_changes} paper consent choices recorded in the ledger.\n"
        )
        _residents(archive, chat, console)
    finally:
        archive.close()

    console.rule("[bold]Live: the neighbours chat with the bot (real bot, local Bot API emulator)")
    live = asyncio.run(live_chat(f"sqlite:///{db_file}", _community_config(), console))
    console.print()

    archive = open_archive(f"sqlite:///{db_file}")
    try:
        for query in SEARCHES:
            _print_messages(
                console,
                f"search “{query}”",
                search(archive, COMMUNITY.id, query, limit=3),
                lang,
            )
        _print_messages(
            console,
            f"on this day · {ON_THIS_DAY:%m-%d} (the night of the thief, and after)",
            on_this_day(archive, COMMUNITY.id, ON_THIS_DAY, limit=3),
            lang,
        )

        console.print("[bold]Refused texts never reach the archive file[/]")
        for sentence in (*REFUSED, *live.refused_texts):
            found = search(archive, COMMUNITY.id, sentence[:8], limit=1)
            in_file = _in_files(db_file, sentence)
            mark = "[green]✓ absent[/]" if not found and not in_file else "[red]✗ FOUND[/]"
            console.print(f"  {mark}  “{sentence[:18]}…”")
        console.print()

        before = what_we_hold(archive, COMMUNITY.id, FORGETS)
        erased = forget_person(archive, COMMUNITY.id, FORGETS, actor=Actor(FORGETS))
        after = what_we_hold(archive, COMMUNITY.id, FORGETS)
        console.print(
            f"[bold]forget[/]: {FORGETS.key} (陈伟) asked to be forgotten — "
            f"{erased.messages} messages and {erased.tags} tags erased "
            f"(held before: {before.messages}, after: {after.messages}); "
            f"the ledger keeps only that it happened ({len(after.ledger)} entries, no text).\n"
        )

        export_file = out_dir / f"{COMMUNITY.id}.jsonl"
        exported = export_jsonl(archive, COMMUNITY.id, export_file)
        console.print(f"[bold]Exported[/]: {exported.summary()}\n")
        # The site is built anew each time (an earlier demo's folder is an earlier build of
        # this community's site: updated in place).
        site = build_site(archive, COMMUNITY.id, out_dir / "site")
        console.print(
            f"[bold]Archive website[/]: {site.summary()}\n"
            f"  open {(out_dir / 'site' / 'index.html').resolve().as_uri()} in a browser\n"
        )
    finally:
        archive.close()

    console.rule("[bold]Try it yourself")
    console.print(
        f"  community-memory --config {config_file} search 电梯 --community {COMMUNITY.id}\n"
        f"  community-memory --config {config_file} onthisday --community {COMMUNITY.id} "
        "--date 2026-03-15\n"
        f"  community-memory --config {config_file} search 志愿者 --community {COMMUNITY.id} "
        "--json\n"
        f"Archive: {db_file}   Export: {export_file}",
        markup=False,
    )
    return DemoResult(db_file, export_file, config_file, report.kept, report.not_consented)


def _residents(archive: Archive, chat: Path, console: Console) -> None:
    """Per resident: what the roster said and what the archive now holds."""
    sent: Counter[str] = Counter()
    for entry in open_export(chat, local_tz=ZoneInfo(COMMUNITY.timezone)).entries():
        if isinstance(entry, ExportedMessage) and entry.author_id:
            sent[entry.author_id] += 1
    table = Table(title="Residents · 居民", title_justify="left")
    for column in ("account", "consent", "name shown", "name in archive", "sent", "kept"):
        table.add_column(column)
    for user_id, count in sorted(sent.items()):
        data = what_we_hold(archive, COMMUNITY.id, AccountRef("telegram", user_id))
        level = data.level.value if data.known else "unknown (never asked)"
        table.add_row(
            f"telegram:{user_id}",
            level,
            data.attribution.value if data.level.is_yes else "—",
            data.display_name or "— (not stored)",
            str(count),
            str(data.messages),
        )
    console.print(table)
    console.print()


def _print_messages(
    console: Console, title: str, messages: list[KeptMessage], language: str
) -> None:
    console.print(f"[bold]{title}[/]")
    if not messages:
        console.print("  (nothing)")
    for message in messages:
        author = message.author or text(language, "neighbour")
        body = " ".join(message.text.split())
        if len(body) > 60:
            body = body[:60] + "…"
        console.print(f"  {message.sent_at:%Y-%m-%d}  {author}: {body}", markup=False)
    console.print()


def _in_files(db_file: Path, sentence: str) -> bool:
    needle = sentence.encode("utf-8")
    for suffix in ("", "-wal", "-shm"):
        part = db_file.with_name(db_file.name + suffix)
        if part.exists() and needle in part.read_bytes():
            return True
    return False


def _community_config() -> CommunityConfig:
    return CommunityConfig(
        id=COMMUNITY.id,
        name=COMMUNITY.name,
        language="zh",
        timezone=COMMUNITY.timezone,
        spaces=[SpaceConfig(platform="telegram", chat=s.chat_id) for s in COMMUNITY.spaces],
    )


def _config_text(db_file: Path) -> str:
    return f"""# Written by `community-memory demo`: the demo archive, ready for the CLI.
[storage]
url = "sqlite:///{db_file.as_posix()}"

[[communities]]
id = "{COMMUNITY.id}"
name = "{COMMUNITY.name}"
language = "{COMMUNITY.language}"
timezone = "{COMMUNITY.timezone}"
spaces = [{{ platform = "telegram", chat = "{COMMUNITY.spaces[0].chat_id}" }}]
"""
