"""The ``community-memory`` command line (Typer).

Thin by design: each command opens what it needs, calls one archiver function, prints the
result, and turns our exceptions into one line on stderr and exit code 1. Progress bars go to
stderr and only on a terminal, so pipes stay clean.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, contextmanager
from datetime import date, datetime
from enum import StrEnum
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from archiver.archive import Archive, open_archive
from archiver.community import CommunitySettings, ensure_community, load_community
from archiver.consent import Actor
from archiver.errors import CommunityMemoryError, ConfigError, StorageError, UnknownCommunityError
from archiver.events import AccountRef, ChatRef
from archiver.recall import KeptMessage
from bot.app.config import Config, load_config, resolve_config_path
from bot.chat.texts import text

if TYPE_CHECKING:
    import zipfile

    from archiver.importers.pipeline import DryRunReport, ImportReport
    from archiver.media_files import ImportedFiles
    from bot.app.posting import Outcome, Poster
    from bot.chat.messages import Sender

app = typer.Typer(
    help="Community Memory: a consent-first memory for residents' group chats.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
stewards_app = typer.Typer(
    help="The community's stewards: list, add, remove.", no_args_is_help=True
)
app.add_typer(stewards_app, name="stewards")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

P = ParamSpec("P")
R = TypeVar("R")


def friendly(command: Callable[P, R]) -> Callable[P, R]:
    """Report our own errors as one line on stderr and exit 1 — never a traceback for a
    user mistake. Anything else is a bug and keeps its traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except CommunityMemoryError as exc:  # StorageError is one of them
            err.print(f"error: {exc}", markup=False)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err.print("interrupted", markup=False)
            raise typer.Exit(130) from None

    return wrapper


def _version() -> str:
    try:
        return version("community-memory")
    except PackageNotFoundError:  # running from a source tree without install
        return "unknown"


def _print_version(value: bool) -> None:
    if value:
        out.print(f"community-memory {_version()}", markup=False)
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="Config file (default: $COMMUNITY_MEMORY_CONFIG, else ./config.toml if it "
            "exists, else built-in defaults with SQLite at ./community-memory.db).",
            show_default=False,
        ),
    ] = None,
    show_version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the version and exit.",
            is_eager=True,  # before click asks for a command
            callback=_print_version,
        ),
    ] = False,
) -> None:
    """Community Memory keeps only what residents agreed to keep, in an archive they own."""
    ctx.obj = config


def _config(ctx: typer.Context) -> Config:
    path = resolve_config_path(ctx.obj, os.environ)
    return load_config(path)


def _open(config: Config, *, migrate: bool) -> Archive:
    """Open the configured archive. Read-only commands never create or upgrade it."""
    url = config.storage.url
    if not migrate and url.startswith("sqlite:///"):
        file = Path(url.removeprefix("sqlite:///"))
        if not file.exists():
            raise StorageError(
                f"no archive at {file}: import a chat first, or run `community-memory db upgrade`"
            )
    archive = open_archive(url, migrate=migrate, media=config.media_settings())
    try:
        for community in config.communities:
            if migrate:
                ensure_community(archive, community.to_settings())
    except BaseException:
        archive.close()
        raise
    return archive


@contextmanager
def _archive(ctx: typer.Context, *, migrate: bool) -> Iterator[tuple[Config, Archive]]:
    config = _config(ctx)
    archive = _open(config, migrate=migrate)
    try:
        yield config, archive
    finally:
        archive.close()


def _settings(config: Config, archive: Archive, community_id: str) -> CommunitySettings:
    """The community as configured, else as stored; unknown → one-line error."""
    configured = config.community(community_id)
    if configured is not None:
        return configured.to_settings()
    return load_community(archive, community_id)


@contextmanager
def _progress(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A progress bar on a terminal (stderr); a silent callback in pipes."""
    if not err.is_terminal:
        yield lambda _done: None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=total)
        yield lambda done: bar.update(task, completed=done)


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def _show(message: KeptMessage, language: str) -> str:
    author = message.author or text(language, "neighbour")
    when = message.sent_at.strftime("%Y-%m-%d %H:%M")
    body = " ".join(message.text.split())
    return f"{when}  {author}: {body}"


# --- import / export --------------------------------------------------------------------------


class ImportFormat(StrEnum):
    """Formats ``import`` reads."""

    telegram = "telegram"
    element = "element"
    wechat = "wechat"
    jsonl = "jsonl"


class ExportFormat(StrEnum):
    """Formats ``export`` writes."""

    jsonl = "jsonl"
    site = "site"
    chatlab = "chatlab"


@app.command("import")
@friendly
def import_command(
    ctx: typer.Context,
    fmt: Annotated[
        ImportFormat,
        typer.Argument(metavar="FORMAT", help="telegram, element, wechat or jsonl."),
    ],
    file: Annotated[Path, typer.Argument(help="The export file.")],
    community: Annotated[
        str | None,
        typer.Option(help="Community id (for jsonl: defaults to the one in the file)."),
    ] = None,
    roster: Annotated[
        Path | None,
        typer.Option(
            help="CSV of paper consent forms: account,level,attribution,"
            "recorded_by,recorded_at,evidence."
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Read the whole file and show, per author, what would be kept and under "
            "which consent; write nothing.",
        ),
    ] = False,
    reader: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="wechat: force the reader (chatlab-json, chatlab-jsonl, wechatmsg-csv, "
            "pywxdump-csv, pywxdump-json) instead of detecting it.",
        ),
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            help="Time zone of times the file writes without an offset (default: the community's)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    media: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            help="jsonl: the folder `export jsonl --media DIR` wrote, to restore the files.",
        ),
    ] = None,
) -> None:
    """Import a chat export. Only messages whose authors consented are kept."""
    if fmt is ImportFormat.jsonl and (dry_run or reader or timezone):
        raise CommunityMemoryError("--dry-run, --format and --timezone are not for import jsonl")
    if timezone is not None:
        _check_timezone(timezone)
    if file.is_dir() and fmt is ImportFormat.telegram:
        # Telegram Desktop writes a folder: result.json beside photos/, files/ …
        if not (file / "result.json").is_file():
            raise CommunityMemoryError(
                f"{file} is a folder without result.json: give Telegram Desktop's export "
                "folder, or the JSON file itself"
            )
        file = file / "result.json"
    if not file.is_file():
        raise CommunityMemoryError(f"{file}: file not found")
    if fmt is not ImportFormat.jsonl and community is None:
        raise CommunityMemoryError(f"import {fmt.value} needs --community ID")
    with contextlib.ExitStack() as stack:
        zip_file = None
        if fmt is ImportFormat.element:
            # Element's export with attachments is a ZIP: export.json beside the files.
            from archiver.importers.element_media import element_json

            file, zip_file = stack.enter_context(element_json(file))
        if dry_run:
            assert community is not None
            _dry_run(ctx, fmt.value, file, community, roster, reader, timezone, as_json)
            return
        _import_chat(ctx, fmt, file, community, roster, reader, timezone, as_json, media, zip_file)


def _import_chat(
    ctx: typer.Context,
    fmt: ImportFormat,
    file: Path,
    community: str | None,
    roster: Path | None,
    reader: str | None,
    timezone: str | None,
    as_json: bool,
    media: Path | None,
    zip_file: zipfile.ZipFile | None,
) -> None:
    """``import``'s work once the file is checked (and, for Element's ZIP, unpacked)."""
    from archiver.importers.pipeline import run_import
    from archiver.importers.readers import open_for_import

    with _archive(ctx, migrate=True) as (config, archive):
        if fmt is ImportFormat.jsonl:
            _import_jsonl(archive, file, community, as_json, media)
            return
        assert community is not None
        created = _ensure_for_import(config, archive, community)
        settings = _settings(config, archive, community)
        export = open_for_import(fmt.value, file, timezone or settings.timezone, forced=reader)
        with _progress(f"importing {file.name}", None) as progress:
            report = run_import(archive, community, export, roster=roster, progress=progress)
        files: ImportedFiles | None = None
        if fmt is ImportFormat.telegram:
            # The photos and files beside result.json, for the messages just kept.
            from archiver.importers.telegram_media import keep_export_files

            chat = ChatRef("telegram", export.chat.chat_id)
            with _progress(f"files of {file.name}", None) as progress:
                files = keep_export_files(archive, file, chat, progress=progress)
        elif zip_file is not None:
            from archiver.importers.element_media import keep_zip_files

            files = keep_zip_files(archive, file, zip_file, ChatRef("matrix", export.chat.chat_id))
        if as_json:
            _print_json(
                {
                    "community": community,
                    "chat": export.chat.name,
                    "format": export.format,
                    **report.to_json(),
                    **(files.to_json() if files is not None else {}),
                }
            )
        else:
            _print_import_report(community, export.chat.name, report, created, fmt.value)
            if files is not None and any(files.to_json().values()):
                out.print(
                    f"files: {files.kept} kept, {files.not_exported} not in the export, "
                    f"{files.missing} missing from the folder, {files.refused} over the limits",
                    markup=False,
                )
        if report.malformed:
            # What could be read is kept; the exit code still tells a script the file is bad.
            raise CommunityMemoryError(
                f"{file}: {report.malformed} of {report.entries} entries are malformed and were "
                f"not imported (first: {report.malformed_examples[0]})"
            )


# what each command's reader skips on purpose (``service``) and cannot read (``unsupported``)
_SKIPPED = {
    "telegram": ("service messages skipped", "that Telegram Desktop could not export skipped"),
    "element": (
        "state, reaction, edit and redacted events skipped",
        "encrypted events the export could not read skipped",
    ),
    "wechat": (
        "system, recalled, red packet, transfer, pat and call messages not stored",
        "of a type this release does not know skipped",
    ),
}


def _print_import_report(
    community: str, chat: str, report: ImportReport, created: bool, command: str = "telegram"
) -> None:
    service, unsupported = _SKIPPED.get(command, _SKIPPED["telegram"])
    if created:
        err.print(f"created community {community!r} with default settings", markup=False)
    out.print(
        f"{chat} → {community}: {report.kept} kept, "
        f"{report.not_consented} not kept (no consent), {report.malformed} malformed"
        + (f", {report.already} already in the archive" if report.already else "")
        + (
            f", {report.forgotten} not brought back (forgotten in this archive)"
            if report.forgotten
            else ""
        )
        + (f", {report.service} {service}" if report.service else "")
        + (f", {report.unsupported} {unsupported}" if report.unsupported else ""),
        markup=False,
    )
    if report.consent_changes:
        out.print(f"paper consent recorded: {report.consent_changes} change(s)", markup=False)
    if report.roster_not_in_export:
        err.print(
            f"warning: {len(report.roster_not_in_export)} roster account(s) wrote nothing in "
            f"this export (a typo, or another group's?): " + ", ".join(report.roster_not_in_export),
            markup=False,
        )
    for example in report.malformed_examples[1:]:
        out.print(f"  malformed: {example}", markup=False)


def _check_timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ValueError, KeyError):
        raise CommunityMemoryError(
            f"--timezone {name!r} is not a time zone (like Asia/Shanghai)"
        ) from None


def _dry_run(
    ctx: typer.Context,
    command: str,
    file: Path,
    community: str,
    roster: Path | None,
    forced: str | None,
    timezone: str | None,
    as_json: bool,
) -> None:
    """``import --dry-run``: what the import would keep, per author; writes nothing (an
    archive that does not exist yet is not created: only the roster's consent counts)."""
    from archiver.importers.pipeline import archive_if_any, dry_run
    from archiver.importers.readers import open_for_import

    config = _config(ctx)
    archive = archive_if_any(config.storage.url)
    try:
        configured = config.community(community)
        if configured is not None:
            settings = configured.to_settings()
        elif archive is not None:
            try:
                settings = load_community(archive, community)
            except UnknownCommunityError:
                settings = CommunitySettings(id=community, name=community)
        else:
            settings = CommunitySettings(id=community, name=community)
        export = open_for_import(command, file, timezone or settings.timezone, forced=forced)
        report = dry_run(
            archive,
            community,
            export,
            keep_emoji=settings.keep_emoji,
            timezone=settings.timezone,
            roster=roster,
        )
    finally:
        if archive is not None:
            archive.close()
    if as_json:
        _print_json({"community": community, "format": export.format, **report.to_json()})
    else:
        _print_dry_run(community, report)


def _print_dry_run(community: str, report: DryRunReport) -> None:
    out.print(
        f"{report.chat} → {community} (dry run, nothing written): {report.kept} would be "
        f"kept, {report.not_kept} not, {report.malformed} malformed"
        + (f", {report.service} not stored by kind (system, recalled …)" if report.service else ""),
        markup=False,
    )
    for author in report.authors:
        name = f" ({author.name})" if author.name else ""
        out.print(
            f"  {author.account or '(no author)'}{name}: {author.kept} kept, "
            f"{author.not_kept} not — consent {author.consent} (from {author.source})",
            markup=False,
        )
    for example in report.malformed_examples:
        out.print(f"  malformed: {example}", markup=False)


def _ensure_for_import(config: Config, archive: Archive, community_id: str) -> bool:
    """Importing into a new community creates it; returns True when it did."""
    if config.community(community_id) is not None:
        return False
    try:
        load_community(archive, community_id)
        return False
    except UnknownCommunityError:
        ensure_community(archive, CommunitySettings(id=community_id, name=community_id))
        return True


def _import_jsonl(
    archive: Archive, file: Path, community: str | None, as_json: bool, media: Path | None
) -> None:
    from archiver.importers.jsonl import import_jsonl

    if media is not None and not media.is_dir():
        raise CommunityMemoryError(f"--media {media}: no such folder")
    with _progress(f"importing {file.name}", None) as progress:
        report = import_jsonl(archive, file, community_id=community, progress=progress, media=media)
    if as_json:
        _print_json(report.to_json())
    else:
        out.print(report.summary(), markup=False)


@app.command("export")
@friendly
def export_command(
    ctx: typer.Context,
    fmt: Annotated[ExportFormat, typer.Argument(metavar="FORMAT", help="jsonl, site or chatlab.")],
    target: Annotated[
        Path, typer.Argument(metavar="OUT", help="File (jsonl, chatlab) or folder (site) to write.")
    ],
    community: Annotated[str, typer.Option(help="Community id.")],
    overwrite: Annotated[
        bool,
        typer.Option(help="jsonl: replace OUT; site: write into a folder that holds other files."),
    ] = False,
    media: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR", help="jsonl: also copy the messages' files into DIR (<xx>/<sha256>)."
        ),
    ] = None,
    public: Annotated[
        bool,
        typer.Option(
            "--public",
            help="site: the public website — only if the community voted for one, only with "
            "the messages of people who chose `consent public`.",
        ),
    ] = False,
) -> None:
    """Export a community's archive: JSON Lines, the archive website (a folder), or ChatLab
    JSON Lines (kept messages, names only as residents chose)."""
    with _archive(ctx, migrate=False) as (config, archive):
        settings = _settings(config, archive, community)
        if media is not None and fmt is not ExportFormat.jsonl:
            raise CommunityMemoryError("--media goes with export jsonl")
        if public and fmt is not ExportFormat.site:
            raise CommunityMemoryError("--public goes with export site")
        if fmt is ExportFormat.chatlab:
            from archiver.exporters.chatlab import export_chatlab

            with _progress(f"exporting {community}", None) as progress:
                written = export_chatlab(
                    archive,
                    community,
                    target,
                    anonymous_name=text(settings.language, "neighbour"),
                    overwrite=overwrite,
                    progress=progress,
                )
            out.print(written.summary(), markup=False)
            return
        if fmt is ExportFormat.site:
            from archiver.site.build import build_site

            site = build_site(archive, community, target, overwrite=overwrite, public=public)
            out.print(site.summary(), markup=False)
            return
        from archiver.exporters.jsonl import export_jsonl

        with _progress(f"exporting {community}", None) as progress:
            report = export_jsonl(
                archive, community, target, overwrite=overwrite, progress=progress, media=media
            )
        out.print(report.summary(), markup=False)


# --- reading back -------------------------------------------------------------------------------


@app.command("people")
@friendly
def people_command(
    ctx: typer.Context,
    community: Annotated[str, typer.Option(help="Community id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Everyone the archive knows: accounts, name (if kept), consent, kept messages."""
    from archiver.mydata import everyone

    with _archive(ctx, migrate=False) as (config, archive):
        _settings(config, archive, community)
        found = everyone(archive, community)
    if as_json:
        _print_json(
            [
                {
                    "accounts": list(p.accounts),
                    "name": p.display_name,
                    "consent": p.level,
                    "attribution": p.attribution,
                    "messages": p.messages,
                }
                for p in found
            ]
        )
        return
    for p in found:
        out.print(
            f"{', '.join(p.accounts):32} {p.level:8} {p.attribution:10} {p.messages:6}  "
            f"{p.display_name or '—'}",
            markup=False,
        )


@app.command("policy")
@friendly
def policy_command(
    ctx: typer.Context,
    community: Annotated[str, typer.Option(help="Community id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The community's policy: each value and where it came from, and the open votes."""
    from archiver.policy import current_policy
    from archiver.votes import open_votes

    with _archive(ctx, migrate=False) as (config, archive):
        settings = _settings(config, archive, community)
        values = current_policy(archive, settings)
        votes = open_votes(archive, community)
    if as_json:
        _print_json(
            {
                "community": community,
                "policy": {name: value.to_json() for name, value in values.items()},
                "open_votes": [vote.to_json() for vote in votes],
            }
        )
        return
    for value in values.values():
        since = f" ({value.since.date().isoformat()})" if value.since else ""
        out.print(f"{value.policy:12} {value.value:12} {value.source}{since}", markup=False)
    for vote in votes:
        out.print(
            f"open vote {vote.id}: {vote.policy} → {vote.value}, closes "
            f"{vote.closes_at.isoformat(timespec='minutes')}, {vote.answers} answered "
            f"(needs {vote.needed})",
            markup=False,
        )


@stewards_app.command("list")
@friendly
def stewards_list_command(
    ctx: typer.Context,
    community: Annotated[str, typer.Option(help="Community id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The community's stewards: their accounts, how and since when."""
    from archiver.stewards import stewards_of

    with _archive(ctx, migrate=False) as (config, archive):
        _settings(config, archive, community)
        found = stewards_of(archive, community)
    if as_json:
        _print_json(
            [
                {
                    "accounts": [a.key for a in s.accounts],
                    "reason": s.reason.value,
                    "since": s.since.isoformat(),
                    "space": s.space,
                }
                for s in found
            ]
        )
        return
    for steward in found:
        accounts = ", ".join(a.key for a in steward.accounts)
        out.print(
            f"{accounts:40} {steward.reason.value:12} {steward.since.date().isoformat()}",
            markup=False,
        )


def _change_steward(
    ctx: typer.Context, community: str, person: str, evidence: str, add: bool
) -> None:
    from archiver.policy import change_steward

    if not evidence.strip():
        raise CommunityMemoryError("--evidence: say on what grounds (a signed form, a vote …)")
    subject = AccountRef.parse(person)
    with _archive(ctx, migrate=False) as (config, archive):
        _settings(config, archive, community)
        changed = change_steward(
            archive, community, subject, add=add, actor="cli", evidence=evidence.strip()
        )
    if add:
        said = "is now a steward" if changed else "is a steward already"
    else:
        said = "is no longer a steward" if changed else "was not a steward"
    out.print(f"{subject.key} {said} of {community}", markup=False)


@stewards_app.command("add")
@friendly
def stewards_add_command(
    ctx: typer.Context,
    community: Annotated[str, typer.Option(help="Community id.")],
    person: Annotated[str, typer.Option(help="The account, as telegram:123456 or matrix:@a:b.")],
    evidence: Annotated[str, typer.Option(help="On what grounds (kept in the policy ledger).")],
) -> None:
    """Appoint a steward (the operator, with evidence; recorded in the policy ledger)."""
    _change_steward(ctx, community, person, evidence, add=True)


@stewards_app.command("remove")
@friendly
def stewards_remove_command(
    ctx: typer.Context,
    community: Annotated[str, typer.Option(help="Community id.")],
    person: Annotated[str, typer.Option(help="The account, as telegram:123456 or matrix:@a:b.")],
    evidence: Annotated[str, typer.Option(help="On what grounds (kept in the policy ledger).")],
) -> None:
    """Remove a steward (the operator, with evidence; recorded in the policy ledger)."""
    _change_steward(ctx, community, person, evidence, add=False)


@app.command("link")
@friendly
def link_command(
    ctx: typer.Context,
    community: Annotated[str, typer.Option(help="Community id.")],
    person: Annotated[
        list[str], typer.Option(help="An account, twice: telegram:123456 and matrix:@a:b.")
    ],
    evidence: Annotated[str, typer.Option(help="The signed form (kept in the consent ledger).")],
    steward: Annotated[str, typer.Option(help="Who recorded it.")] = "cli",
) -> None:
    """Link two accounts of one resident from a signed paper form (docs/governance.md)."""
    from archiver.links import LinkError, link_by_steward

    if len(person) != 2:
        raise CommunityMemoryError("--person: give the two accounts to link, each once")
    if not evidence.strip():
        raise CommunityMemoryError("--evidence: say which signed form this is")
    first, second = (AccountRef.parse(p) for p in person)
    with _archive(ctx, migrate=False) as (config, archive):
        _settings(config, archive, community)
        try:
            link_by_steward(
                archive, community, first, second, steward=steward, evidence=evidence.strip()
            )
        except LinkError as exc:
            raise CommunityMemoryError(str(exc)) from None
    out.print(f"{first.key} and {second.key} are one person in {community}", markup=False)


@app.command("search")
@friendly
def search_command(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="Words to find (Chinese or English).")],
    community: Annotated[str, typer.Option(help="Community id.")],
    limit: Annotated[int, typer.Option(min=1, max=100, help="At most this many.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Search a community's archive, newest first."""
    from archiver.recall import search

    with _archive(ctx, migrate=False) as (config, archive):
        settings = _settings(config, archive, community)
        hits = search(archive, community, query, limit=limit)
    if as_json:
        _print_json(
            {"community": community, "query": query, "results": [h.to_json() for h in hits]}
        )
        return
    if not hits:
        out.print(text(settings.language, "no_results", query=query), markup=False)
        return
    for hit in hits:
        out.print(_show(hit, settings.language), markup=False)


@app.command("onthisday")
@friendly
def onthisday_command(
    ctx: typer.Context,
    community: Annotated[str, typer.Option(help="Community id.")],
    on: Annotated[
        str | None,
        typer.Option("--date", help="YYYY-MM-DD (default: today in the community's zone)."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100, help="At most this many.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    post: Annotated[
        bool, typer.Option("--post", help="Post the day's memories to the community's chats.")
    ] = False,
) -> None:
    """Memories from this day in earlier years."""
    from archiver.recall import on_this_day

    with _archive(ctx, migrate=post) as (config, archive):
        settings = _settings(config, archive, community)
        day = _parse_day(on, settings.timezone)
        if post:
            notice = _post(config, archive, lambda poster: poster.post_on_this_day(settings, day))
            out.print(
                notice.format(what=f"onthisday {day.isoformat()} of {community}"), markup=False
            )
            return
        memories = on_this_day(archive, community, day, limit=limit)
    if as_json:
        _print_json(
            {
                "community": community,
                "date": day.isoformat(),
                "message_ids": [m.id for m in memories],
                "memories": [m.to_json() for m in memories],
            }
        )
        return
    if not memories:
        out.print(text(settings.language, "no_memories", date=day.isoformat()), markup=False)
        return
    out.print(text(settings.language, "on_this_day_title", date=day.isoformat()), markup=False)
    for memory in memories:
        out.print(_show(memory, settings.language), markup=False)


@app.command("digest")
@friendly
def digest_command(
    ctx: typer.Context,
    community: Annotated[str, typer.Option(help="Community id.")],
    week: Annotated[
        str | None,
        typer.Option(help="ISO week, YYYY-Www (default: this week in the community's zone)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    picture: Annotated[
        Path | None, typer.Option(help="Also write the digest's picture (PNG) to this file.")
    ] = None,
    post: Annotated[
        bool, typer.Option("--post", help="Post the digest to the community's chats.")
    ] = False,
) -> None:
    """Preview a community's weekly digest: numbers, highlights, words, stories."""
    from archiver.digest import IsoWeek, build_digest, render, weekdays

    try:
        chosen = IsoWeek.parse(week) if week is not None else None
    except ValueError as exc:
        raise CommunityMemoryError(f"--week {exc}") from None
    if picture is not None and picture.is_dir():
        raise CommunityMemoryError(
            f"--picture {picture} is a folder; give a file name, like digest.png"
        )
    with _archive(ctx, migrate=post) as (config, archive):
        settings = _settings(config, archive, community)
        if post:
            target = chosen or IsoWeek.containing(_parse_day(None, settings.timezone))
            notice = _post(config, archive, lambda poster: poster.post_digest(settings, target))
            out.print(notice.format(what=f"digest {target} of {community}"), markup=False)
            return
        digest = build_digest(archive, community, chosen)
    assert digest is not None  # quiet_note is on: a quiet week still has a digest
    say = functools.partial(text, settings.language)
    written: str | None = None
    if picture is not None:
        from archiver.picture import render_picture

        png = render_picture(digest, weekdays=weekdays(say))
        if png is not None:
            _write_new_file(picture, png, "--picture")
            written = str(picture)
        elif digest.quiet:
            err.print(f"no picture written to {picture}: a quiet week has none", markup=False)
        else:
            err.print(
                "no picture: no Chinese font found (Debian: apt-get install fonts-noto-cjk)",
                markup=False,
            )
    if as_json:
        _print_json({**digest.to_json(), "picture": written})
    else:
        out.print(render(digest, say), markup=False)


def _write_new_file(path: Path, data: bytes, option: str) -> None:
    """Write ``data`` to the file ``path``, creating its folders; one-line errors."""
    if path.is_dir():
        raise CommunityMemoryError(
            f"{option} {path} is a folder; give a file name, like digest.png"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as exc:
        raise CommunityMemoryError(f"{option}: cannot write {path}: {exc.strerror}") from None


_POSTED = {
    "sent": "posted {what}",
    "already": "{what} was already posted; nothing sent",
    "nothing": "nothing to post for {what}",
}


def _post(config: Config, archive: Archive, action: Callable[[Poster], Awaitable[Outcome]]) -> str:
    """Connect to the configured platforms (no polling), run ``action``, and say how it went
    (a template with ``{what}``). A community without a chat on them is an error."""
    from telegram.error import TelegramError

    from bot.app.posting import Outcome, Poster
    from bot.app.runner import telegram_urls
    from bot.chat.router import Router
    from bot.platforms.telegram.adapter import TelegramAdapter

    config.require_credentials()
    os.environ["PTB_TIMEDELTA"] = os.environ.get("PTB_TIMEDELTA") or "true"

    async def run() -> Outcome:
        async with AsyncExitStack() as stack:
            senders: dict[str, Sender] = {}
            if config.telegram is not None:
                urls = telegram_urls(config.telegram.base_url)
                adapter = TelegramAdapter(
                    Router(archive),
                    config.telegram.token,
                    base_url=urls.get("base_url", ""),
                    base_file_url=urls.get("base_file_url", ""),
                )
                senders["telegram"] = await stack.enter_async_context(adapter.connected())
            if config.matrix is not None:
                from bot.platforms.matrix.adapter import MatrixAdapter

                matrix = MatrixAdapter(Router(archive), config.matrix)
                senders["matrix"] = await stack.enter_async_context(matrix.connected())
            if not senders:
                raise ConfigError(
                    "no platform to post through: add a [telegram] or [matrix] section"
                )
            return await action(Poster(archive, senders))

    from bot.platforms.matrix.adapter import MatrixUnavailableError

    try:
        outcome = asyncio.run(run())
    except TelegramError as exc:
        raise CommunityMemoryError(f"telegram: {exc}") from None
    except MatrixUnavailableError as exc:
        raise CommunityMemoryError(f"matrix: {exc}") from None
    if outcome is Outcome.NO_CHATS:
        raise CommunityMemoryError("the community has no chat on a configured platform to post to")
    return _POSTED[outcome.value]


def _parse_day(value: str | None, timezone: str) -> date:
    if value is None:
        return datetime.now(ZoneInfo(timezone)).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommunityMemoryError(f"--date {value!r} is not a date like 2026-03-15") from None


# --- erasure and maintenance ---------------------------------------------------------------------


@app.command("forget")
@friendly
def forget_command(
    ctx: typer.Context,
    community: Annotated[str, typer.Option(help="Community id.")],
    person: Annotated[
        str, typer.Option(help="The account, as telegram:123456 or matrix:@name:server.")
    ],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask to confirm.")] = False,
) -> None:
    """Erase everything a person contributed (their request, carried out by a steward)."""
    from archiver.forget import forget_person
    from archiver.mydata import what_we_hold

    subject = AccountRef.parse(person)
    with _archive(ctx, migrate=False) as (config, archive):
        _settings(config, archive, community)
        held = what_we_hold(archive, community, subject)
        if not held.known:
            raise CommunityMemoryError(
                f"the archive of {community!r} holds nothing of {subject.key}"
            )
        # The name only where the person let it be kept: it tells the steward they have the
        # right person before something that cannot be undone.
        who = f"{held.display_name} ({subject.key})" if held.display_name else subject.key
        if not yes:
            if not sys.stdin.isatty():
                raise CommunityMemoryError(
                    f"forget {who}: add --yes to confirm (no terminal to ask on)"
                )
            typer.confirm(
                f"Erase everything {who} contributed to {community} ({held.messages} kept "
                f"message(s), {held.held} held, {held.files} file(s))? This cannot be undone",
                abort=True,
            )
        report = forget_person(archive, community, subject, actor=Actor(steward="cli"))
    out.print(
        f"forgot {who} in {community}: {report.messages} message(s), "
        f"{report.held} held, {report.tags} tag(s) erased",
        markup=False,
    )


@app.command("backup")
@friendly
def backup_command(
    ctx: typer.Context,
    target: Annotated[Path, typer.Argument(metavar="OUT", help="New file for the copy.")],
) -> None:
    """Copy the SQLite archive safely, even while the bots run, and its kept files into
    OUT.media/ beside it (docs/media.md)."""
    from archiver.media_files import backup_files
    from storage.backup import backup_sqlite
    from storage.db import Database

    with _archive(ctx, migrate=False) as (_config, archive):
        media = target.with_name(target.name + ".media")
        if media.exists():
            raise StorageError(f"{media} already exists; choose a new file name")
        size = backup_sqlite(archive.db, target)
        copy = Database(f"sqlite:///{target}")
        try:
            files = backup_files(archive, copy, media)
        finally:
            copy.close()
    where = f" and {files:,} file(s) to {media}" if files else ""
    out.print(f"backed up to {target} ({size:,} bytes){where}", markup=False)


@db_app.command("upgrade")
@friendly
def db_upgrade_command(ctx: typer.Context) -> None:
    """Create the archive or bring its schema up to date, and clean again the files an
    earlier release stored as they came (archiver/media_upgrade.py)."""
    from archiver.archive import open_archive
    from archiver.media_upgrade import clean_stored_files
    from storage.db import Database
    from storage.migrate import upgrade

    config = _config(ctx)
    database = Database(config.storage.url)
    try:
        before, after = upgrade(database)
    finally:
        database.close()
    if before == after:
        out.print(f"archive already at schema {after}", markup=False)
    else:
        out.print(f"archive upgraded from {before or 'empty'} to schema {after}", markup=False)
    media = config.media_settings()
    if media is not None:
        archive = open_archive(config.storage.url, migrate=False, media=media)  # just upgraded
        try:
            report = clean_stored_files(archive)
        finally:
            archive.close()
        if report.cleaned or report.dropped:
            out.print(
                f"stored files cleaned of their metadata: {report.cleaned}; "
                f"removed as not cleanable: {report.dropped}",
                markup=False,
            )


@app.command("run")
@friendly
def run_command(
    ctx: typer.Context,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more.")] = False,
) -> None:
    """Run the bots of every configured platform (foreground; stop with Ctrl-C)."""
    import asyncio
    import logging

    from bot.app.runner import run_bots
    from storage.migrate import upgrade_in_child

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("httpx", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    config = _config(ctx)
    # Schema upgrades run in a child process: Alembic (~10 MB of modules) never enters the
    # bot, which runs for weeks; run_bots then finds the archive current (docs/benchmark.md).
    upgrade_in_child(config.storage.url)
    asyncio.run(run_bots(config))


@app.command("doctor")
@friendly
def doctor_command(ctx: typer.Context) -> None:
    """Check config, archive, tokens and bot permissions; each problem with its fix."""
    import asyncio

    from bot.cli.doctor import config_check, run_doctor

    try:
        config = _config(ctx)
    except ConfigError as exc:  # a checklist item, not a stop: say what to fix
        checks = [config_check(exc)]
    else:
        checks = asyncio.run(run_doctor(config))
    for check in checks:
        mark = "✓" if check.ok else "✗"
        out.print(f"{mark} {check.what}", markup=False)
        if check.fix:
            out.print(f"    fix: {check.fix}", markup=False)
    if not all(check.ok for check in checks):
        raise typer.Exit(1)


@app.command("bench")
@friendly
def bench_command(
    messages: Annotated[
        int, typer.Option(min=100, help="Size of the synthetic community archive.")
    ] = 100_000,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    db: Annotated[
        str | None,
        typer.Option("--db", help="An empty database URL to measure (default: a temp SQLite)."),
    ] = None,
    workdir: Annotated[
        Path | None, typer.Option(help="Keep the generated files here (default: temporary).")
    ] = None,
    tg_archive: Annotated[
        Path | None,
        typer.Option(
            "--tg-archive",
            help="tg-archive's executable (its own venv): time its --build beside the site's.",
        ),
    ] = None,
) -> None:
    """Measure the performance budget on a synthetic community (see docs/benchmark.md)."""
    from sandbox.bench.suite import BUDGET, run_bench, to_json_text

    with _progress("bench", None) as progress:
        phases = iter(range(1, 100))
        result = run_bench(
            messages,
            db_url=db,
            workdir=workdir,
            progress=lambda _what: progress(next(phases)),
            tg_archive=tg_archive,
        )
    if as_json:
        sys.stdout.write(to_json_text(result) + "\n")
        return
    verdicts = result.to_json()["within_budget"]
    for name, value in result.figures.items():
        budget = BUDGET.get(name)
        mark = ""
        if budget is not None:
            ok = verdicts[name]
            mark = (
                "  (budget "
                + f"{budget[0]} {budget[1]}: "
                + ("ok" if ok else "MISSED" if ok is False else "n/a")
                + ")"
            )
        out.print(f"{name:32} {value}{mark}", markup=False)
    for note in result.notes:
        out.print(f"note: {note}", markup=False)


@app.command("demo")
@friendly
def demo_command(
    target: Annotated[
        Path, typer.Option("--out", help="Folder for the demo archive and export.")
    ] = Path("community-memory-demo"),
) -> None:
    """Build a sample community offline and show what was kept, refused, found and forgotten."""
    from sandbox.demo.offline import run_demo

    run_demo(target, out)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":  # `python -m bot.cli.main …`, as the docs run it from a source tree
    main()
