"""Paper consent: a roster CSV of signed forms, recorded in the consent ledger.

Columns: ``account,level,attribution,recorded_by,recorded_at,evidence`` — for example
``telegram:123456,all,named,王阿姨 (楼长),2026-10-30T19:00:00+08:00,纸质同意书 #001``.
The whole file is checked before anything is recorded, so a typo on line 40 does not leave
lines 1–39 half-applied; a rerun records nothing new (a choice already in force is no change).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import Session

from archiver.archive import Archive
from archiver.consent import Actor, Attribution, Level, Method, apply_attribution, apply_level
from archiver.errors import CommunityMemoryError, ImportFormatError
from archiver.events import AccountRef
from archiver.media_files import remove_unused_files
from archiver.segmentation import Segmenter
from storage import people
from storage.erase import purge_residue

COLUMNS = ("account", "level", "attribution", "recorded_by", "recorded_at", "evidence")


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """One signed form."""

    line: int
    account: AccountRef
    level: Level
    attribution: Attribution | None
    recorded_by: str
    recorded_at: datetime
    evidence: str


def read_roster(path: Path, *, timezone: str) -> list[RosterEntry]:
    """Read and check a roster; ``ImportFormatError`` names the file and line of the first
    problem. Times without an offset are read in the community's ``timezone``."""
    zone = ZoneInfo(timezone)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise ImportFormatError("file not found", path=path) from exc
    except IsADirectoryError as exc:
        raise ImportFormatError("is a folder, not a roster CSV file", path=path) from exc
    except OSError as exc:
        raise ImportFormatError(f"cannot read the file: {exc.strerror or exc}", path=path) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ImportFormatError(
            "not UTF-8 text: save the roster as CSV UTF-8", path=path, entry=f"line {line}"
        ) from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = tuple(name.strip() for name in (reader.fieldnames or ()))
        missing = [column for column in COLUMNS if column not in header]
        if missing:
            raise ImportFormatError(
                f"missing column(s) {', '.join(missing)}; the header must be " + ",".join(COLUMNS),
                path=path,
                entry="line 1",
            )
        entries: list[RosterEntry] = []
        seen: dict[AccountRef, int] = {}
        for row in reader:
            line = reader.line_num
            if None in row or None in row.values():
                raise ImportFormatError(
                    f"{'more' if None in row else 'fewer'} values than the header has columns "
                    "(a comma inside a value needs quotes)",
                    path=path,
                    entry=f"line {line}",
                )
            clean = {str(k).strip(): str(v).strip() for k, v in row.items()}
            entry = _entry(clean, line, zone, path)
            if entry.account in seen:
                raise ImportFormatError(
                    f"{entry.account.key} is already on line {seen[entry.account]}",
                    path=path,
                    entry=f"line {line}",
                )
            seen[entry.account] = line
            entries.append(entry)
    except csv.Error as exc:
        raise ImportFormatError(
            f"not a valid CSV file ({exc})", path=path, entry=f"line {reader.line_num}"
        ) from exc
    return entries


def roster_account(written: str) -> AccountRef:
    """The account a roster line names. A Telegram export calls a person ``user123456``
    (its ``from_id``): copied into a roster as ``telegram:user123456`` it is the same person
    as ``telegram:123456``, so it is read as that. Anything else that is no Telegram user id
    (a ``channel…`` id, a name) or no Matrix user id is refused in one line, rather than
    recorded as a person who will never write."""
    account = AccountRef.parse(written)
    if account.platform == "telegram":
        # The export's forms, read as the importer reads a from_id: user123 → 123, and a
        # chat posting as itself, channel123 → -100123, chat123 → -123.
        user_id = account.user_id
        if user_id.startswith("user"):
            user_id = user_id.removeprefix("user")
        elif user_id.startswith("channel"):
            user_id = "-100" + user_id.removeprefix("channel")
        elif user_id.startswith("chat"):
            user_id = "-" + user_id.removeprefix("chat")
        if not re.fullmatch(r"-?\d+", user_id):
            raise CommunityMemoryError(
                f"{written!r}: a Telegram account is a number, like telegram:123456 "
                "(the export's from_id 'user123456' is that person)"
            )
        return AccountRef("telegram", user_id)
    if account.platform == "matrix" and not re.fullmatch(r"@[^:\s]+:\S+", account.user_id):
        raise CommunityMemoryError(
            f"{written!r}: a Matrix account looks like matrix:@name:example.org"
        )
    return account


def _entry(row: dict[str, str], line: int, zone: ZoneInfo, path: Path) -> RosterEntry:
    where = f"line {line}"
    try:
        account = roster_account(row["account"])
    except CommunityMemoryError as exc:
        raise ImportFormatError(str(exc), path=path, entry=where) from exc
    try:
        level = Level(row["level"].lower())
    except ValueError:
        level = Level.UNKNOWN
    if level is Level.UNKNOWN:
        raise ImportFormatError(
            f"level {row['level']!r} must be all, tagged or none", path=path, entry=where
        )
    attribution: Attribution | None = None
    if row["attribution"]:
        try:
            attribution = Attribution(row["attribution"].lower())
        except ValueError as exc:
            raise ImportFormatError(
                f"attribution {row['attribution']!r} must be named or anonymous",
                path=path,
                entry=where,
            ) from exc
    for column in ("recorded_by", "evidence"):
        if not row[column]:
            raise ImportFormatError(
                f"{column} is empty: a paper consent names who recorded it and the form",
                path=path,
                entry=where,
            )
    try:
        recorded_at = datetime.fromisoformat(row["recorded_at"])
    except ValueError as exc:
        raise ImportFormatError(
            f"recorded_at {row['recorded_at']!r} is not a date like 2026-10-30T19:00:00+08:00",
            path=path,
            entry=where,
        ) from exc
    if recorded_at.tzinfo is None:
        recorded_at = recorded_at.replace(tzinfo=zone)
    return RosterEntry(
        line=line,
        account=account,
        level=level,
        attribution=attribution,
        recorded_by=row["recorded_by"],
        recorded_at=recorded_at,
        evidence=row["evidence"],
    )


def apply_roster(
    session: Session, segmenter: Segmenter, community_id: str, entries: list[RosterEntry]
) -> int:
    """Record the forms in the ledger inside the caller's transaction; returns how many
    changes were new (a rerun returns 0). Choices already in force are skipped up front
    (one query per platform), so a rerun of a long roster costs next to nothing."""
    current: dict[AccountRef, tuple[str, str]] = {}
    for platform in sorted({entry.account.platform for entry in entries}):
        for user_id, known in people.consent_map(session, community_id, platform).items():
            current[AccountRef(platform, user_id)] = (known.level, known.attribution)
    changes = 0
    for entry in entries:
        level, attribution = current.get(entry.account, (None, None))
        actor = Actor(steward=entry.recorded_by, evidence=entry.evidence)
        if level != entry.level.value:
            changes += apply_level(
                session,
                segmenter,
                community_id,
                entry.account,
                entry.level,
                actor=actor,
                method=Method.PAPER,
                at=entry.recorded_at,
            ).changed
        if entry.attribution is not None and attribution != entry.attribution.value:
            changes += apply_attribution(
                session,
                community_id,
                entry.account,
                entry.attribution,
                actor=actor,
                method=Method.PAPER,
                at=entry.recorded_at,
            ).changed
    return changes


def import_roster(archive: Archive, community_id: str, path: Path, *, timezone: str) -> int:
    """Read, check and record a roster in one transaction; returns the new changes."""
    entries = read_roster(path, timezone=timezone)
    with archive.db.write() as session:
        changes = apply_roster(session, archive.segmenter, community_id, entries)
    if changes:
        # A paper "no" destroys what was held for that person: its residue and files too.
        purge_residue(archive.db)
        remove_unused_files(archive)
    return changes
