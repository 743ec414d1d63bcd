"""``import jsonl``: an export (docs/export-format.md) restored into an archive.

Two passes over the file. The first (``archiver.importers.jsonl_check``) checks every line —
JSON, keys and their types, the order of line types, every reference (a message's author, space
and ledger entry …) — and writes nothing: a file that fails is refused whole, with its file name
and line number. The second, here, writes: first, in one transaction, the community, its
spaces, people, consent ledger, stories, post log and stewards; then messages, earlier versions
and tags in batches, one transaction per batch, so a crash keeps the finished batches and a
rerun adds only what is missing.

Ids are the file's own; every row gets a new id in the archive, and references are remapped
through natural keys: spaces by ``platform:chat_id``, people by any of their accounts, ledger
entries by (person, field, new value, time, method), stories by name, messages by (space,
platform message id), tags by (message, tagger), posts by (kind, period). Matching on those
keys makes the import idempotent and lets it merge into a community that already exists.

Consent is restored as the ledger says: ledger entries are copied as they are (their original
method and actor), and a message points to the restored entry that allowed keeping it. Merging
never resurrects what the archive erased: a message (or tag) whose author (or tagger) used
``forget`` after it was kept is skipped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from archiver.archive import Archive
from archiver.consent_policy import Level, keeps_name
from archiver.errors import CommunityMemoryError
from archiver.events import AccountRef, ChatRef, MediaRef
from archiver.importers.jsonl_check import Checker, Plan, check_file, scan
from archiver.media_files import FileOutcome, keep_file
from archiver.policy import STEWARD_CHANGES
from storage import communities, dump, people
from storage import messages as message_store
from storage import policy as policy_store
from storage import stewards as steward_store
from storage.dump import as_utc
from storage.models import ConsentEvent, Message, MessageVersion, PolicyEvent, Post, Tag, Vote

BATCH_SIZE = 5000


Progress = Callable[[int], None]
"""Called with the number of message lines handled so far."""


@dataclass
class JsonlImportReport:
    """What an import did. ``added`` is 0 on a rerun of the same file."""

    community_id: str = ""
    created_community: bool = False
    lines: int = 0
    spaces: int = 0
    people: int = 0
    people_matched: int = 0
    consent_events: int = 0
    consent_events_matched: int = 0
    stories: int = 0
    messages: int = 0
    messages_already: int = 0
    messages_erased: int = 0
    message_versions: int = 0
    tags: int = 0
    posts: int = 0
    stewards: int = 0
    votes: int = 0
    policy_events: int = 0
    files: int = 0  # messages' files restored (or there already)
    files_missing: int = 0  # named by a message, not in the --media folder
    files_bad: int = 0  # their bytes do not match the hash the file names: not restored
    files_refused: int = 0  # over this archive's limits or quota, or not an image
    files_without_folder: int = 0  # named by messages, but no --media folder was given

    @property
    def added(self) -> int:
        """Rows the import created (the community counts as one)."""
        return (
            int(self.created_community)
            + self.spaces
            + self.people
            + self.consent_events
            + self.stories
            + self.messages
            + self.message_versions
            + self.tags
            + self.posts
            + self.stewards
            + self.votes
            + self.policy_events
        )

    def summary(self) -> str:
        """One line for people: what the import added and what was there already."""
        created = " (new community)" if self.created_community else ""
        skipped = (
            f", {self.messages_erased} not restored (forgotten in this archive)"
            if self.messages_erased
            else ""
        )
        return (
            f"{self.community_id}{created}: {self.messages} messages added, "
            f"{self.messages_already} already there{skipped}; "
            f"{self.message_versions} earlier versions, {self.tags} tags, {self.stories} stories, "
            f"{self.people} new people ({self.people_matched} known), "
            f"{self.consent_events} consent entries ({self.consent_events_matched} known), "
            f"{self.posts} posts, {self.stewards} stewards, {self.votes} votes, "
            f"{self.policy_events} decisions" + self._files_summary()
        )

    def _files_summary(self) -> str:
        if self.files_without_folder:
            return (
                f"; {self.files_without_folder} files not restored: give the folder that "
                "`export jsonl --media DIR` wrote as --media DIR"
            )
        if not (self.files or self.files_missing or self.files_bad or self.files_refused):
            return ""
        problems = [
            f"{count} {what}"
            for count, what in (
                (self.files_missing, "missing"),
                (self.files_bad, "not matching their hash"),
                (self.files_refused, "over this archive's limits"),
            )
            if count
        ]
        return f"; {self.files} files" + (f" ({', '.join(problems)})" if problems else "")

    def to_json(self) -> dict[str, object]:
        """The ``--json`` form."""
        return {
            "community": self.community_id,
            "created_community": self.created_community,
            "lines": self.lines,
            "spaces": self.spaces,
            "people": self.people,
            "people_matched": self.people_matched,
            "consent_events": self.consent_events,
            "consent_events_matched": self.consent_events_matched,
            "stories": self.stories,
            "messages": self.messages,
            "messages_already": self.messages_already,
            "messages_erased": self.messages_erased,
            "message_versions": self.message_versions,
            "tags": self.tags,
            "posts": self.posts,
            "stewards": self.stewards,
            "votes": self.votes,
            "policy_events": self.policy_events,
            "files": self.files,
            "files_missing": self.files_missing,
            "files_bad": self.files_bad,
            "files_refused": self.files_refused,
            "files_without_folder": self.files_without_folder,
            "added": self.added,
        }


# --- pass two: writing -----------------------------------------------------------------------


@dataclass
class _Ids:
    """The file's ids → the archive's, and what the archive erased."""

    spaces: dict[str, int] = field(default_factory=dict)
    people: dict[int, int] = field(default_factory=dict)
    ledger: dict[int, int] = field(default_factory=dict)
    stories: dict[int, int] = field(default_factory=dict)
    erased_person: dict[int, datetime] = field(default_factory=dict)  # archive person id → when
    erased_message: dict[tuple[int, str], datetime] = field(default_factory=dict)


def import_jsonl(
    archive: Archive,
    path: Path,
    *,
    community_id: str | None = None,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
    media: Path | None = None,
) -> JsonlImportReport:
    """Restore an export into the archive, as ``community_id`` if given (else the file's id);
    see the module docstring. ``ImportFormatError`` names the file and line of a bad file,
    and then nothing is written."""
    path = Path(path)
    before = _fingerprint(path)
    plan = check_file(path)
    target = community_id if community_id is not None else plan.community["id"]
    if not target.strip() or len(target) > 64:
        raise CommunityMemoryError(f"{target!r} cannot be a community id (1 to 64 characters)")
    report = JsonlImportReport(community_id=target, lines=plan.lines)
    _unchanged(path, before)
    with archive.db.write() as session:
        ids = _restore_setup(session, plan, target, report)
    writer = _BatchWriter(archive, target, ids, report, progress, batch_size, media)
    for kind, values in scan(path, Checker()):
        writer.add(kind, values)
    writer.flush()
    return report


def _fingerprint(path: Path) -> tuple[int, int]:
    try:
        stat = path.stat()
    except OSError:
        return (-1, -1)  # the first pass reports a missing file
    return (stat.st_size, stat.st_mtime_ns)


def _unchanged(path: Path, before: tuple[int, int]) -> None:
    """The second pass must read the file the first one checked."""
    if _fingerprint(path) != before:
        raise CommunityMemoryError(f"{path} changed while it was being imported: run it again")


def _restore_setup(session: Session, plan: Plan, target: str, report: JsonlImportReport) -> _Ids:
    """Community, spaces, people, ledger, consent, stories, posts and stewards, in the caller's
    transaction; raises (so nothing is written) on a conflict with the archive."""
    ids = _Ids()
    now = datetime.now(UTC)
    _restore_community(session, plan, target, report, now)
    for key, space in plan.spaces.items():
        row = communities.get_space(session, space["platform"], space["chat_id"])
        if row is None:
            row = dump.create_space(
                session,
                community_id=target,
                platform=space["platform"],
                chat_id=space["chat_id"],
                title=space["title"],
                active=space["active"],
                created_at=space["created_at"] or now,
            )
            report.spaces += 1
        elif row.community_id != target:
            raise CommunityMemoryError(
                f"the chat {key} belongs to community {row.community_id!r}, not {target!r}: "
                "one chat, one archive"
            )
        assert row.id is not None
        ids.spaces[key] = row.id
    new_people = _restore_people(session, plan, target, ids, report, now)
    _restore_ledger(session, plan, target, ids, new_people, report, now)
    for person_id in set(ids.people.values()):
        _restore_public_choice(session, person_id)
    for sid, story in plan.stories.items():
        existing = message_store.get_story(session, target, story["name"])
        if existing is None:
            created_at = story["created_at"] or now
            creator = story["created_by"]
            created_by = None if creator is None else ids.people[creator]
            if created_by is not None and _erased(ids.erased_person.get(created_by), created_at):
                created_by = None
            existing = dump.create_story(
                session, target, name=story["name"], created_by=created_by, created_at=created_at
            )
            report.stories += 1
        assert existing.id is not None
        ids.stories[sid] = existing.id
    report.posts += message_store.insert_ignoring_duplicates(
        session,
        Post,
        [
            {
                "community_id": target,
                "kind": post["kind"],
                "period": post["period"],
                "status": post["status"],
                "created_at": post["created_at"],
                "sent_at": post["sent_at"],
            }
            for post in plan.posts
        ],
    )
    for steward in plan.stewards:
        space = steward["space"]
        if steward_store.add_steward(
            session,
            target,
            ids.people[steward["person"]],
            reason=steward["reason"],
            since=steward["since"] or now,
            space_id=None if space is None else ids.spaces[space],
        ):
            report.stewards += 1
    _restore_decisions(session, plan, target, ids, report)
    return ids


def _restore_decisions(
    session: Session, plan: Plan, target: str, ids: _Ids, report: JsonlImportReport
) -> None:
    """Closed votes (their tallies) and the policy ledger, each once: a vote is known by
    what it proposed and when it opened, a decision by what, to what, and when."""

    def mapped(policy: str, value: str) -> str:
        return str(ids.people[int(value)]) if policy in STEWARD_CHANGES else value

    votes: dict[int, int] = {}
    known_votes = {
        (v.policy, v.value, as_utc(v.opened_at)): v.id
        for v in policy_store.votes_of(session, target)
    }
    for vid, vote in plan.votes.items():
        value = mapped(vote["policy"], vote["value"])
        key = (vote["policy"], value, vote["opened_at"])
        found = known_votes.get(key)
        if found is None:
            row = policy_store.add_vote(
                session,
                Vote(
                    community_id=target,
                    space_id=ids.spaces[vote["space"]],
                    policy=vote["policy"],
                    value=value,
                    proposed_by=ids.people[vote["proposed_by"]],
                    roll=vote["roll"],
                    needed=vote["needed"],
                    opened_at=vote["opened_at"],
                    closes_at=vote["closes_at"],
                    closed_at=vote["closed_at"],
                    result=vote["result"],
                    yes=vote["yes"],
                    no=vote["no"],
                ),
            )
            found = row.id
            report.votes += 1
        assert found is not None
        votes[vid] = found
    known_events = {(e.policy, e.value, as_utc(e.at)) for e in policy_store.events(session, target)}
    for event in plan.policy_events:
        value = mapped(event["policy"], event["value"])
        if (event["policy"], value, event["at"]) in known_events:
            continue
        policy_store.append_event(
            session,
            PolicyEvent(
                community_id=target,
                policy=event["policy"],
                value=value,
                old_value=event["old_value"],
                vote_id=None if event["vote"] is None else votes[event["vote"]],
                actor=event["actor"],
                evidence=event["evidence"],
                at=event["at"],
            ),
        )
        report.policy_events += 1  # the history; who is a steward now is on steward lines


def _restore_community(
    session: Session, plan: Plan, target: str, report: JsonlImportReport, now: datetime
) -> None:
    """Create the community from the file, or check that the existing one is the same."""
    existing = communities.get_community(session, target)
    info = plan.community
    if existing is None:
        dump.create_community(
            session,
            community_id=target,
            name=info["name"],
            language=info["language"],
            timezone=info["timezone"],
            keep_emoji=info["keep_emoji"],
            hold_hours=info["hold_hours"],
            created_at=info["created_at"] or now,
        )
        report.created_community = True
        return
    # An existing community keeps its own settings; merging needs a chat in common, so that
    # another neighbourhood's export is not poured into it by mistake.
    have = {f"{s.platform}:{s.chat_id}" for s in communities.list_spaces(session, target)}
    if have and plan.spaces and not have & set(plan.spaces):
        raise CommunityMemoryError(
            f"community {target!r} already exists and holds none of the file's chats "
            f"({', '.join(sorted(plan.spaces))}): import it under another community id"
        )


def _restore_people(
    session: Session,
    plan: Plan,
    target: str,
    ids: _Ids,
    report: JsonlImportReport,
    now: datetime,
) -> set[int]:
    """Match people by account or create them; returns the file ids of the new ones."""
    known = {
        f"{a.platform}:{a.user_id}": a.person_id for a in people.list_accounts(session, target)
    }
    new: set[int] = set()
    for pid, person in plan.people.items():
        matches = {known[key] for key in person["accounts"] if key in known}
        if len(matches) > 1:
            raise CommunityMemoryError(
                f"person {pid} of the file has accounts of {len(matches)} different people "
                f"in community {target!r}: {', '.join(person['accounts'])}"
            )
        accounts = [AccountRef.parse(key) for key in person["accounts"]]
        if matches:
            archive_id = matches.pop()
            for account in accounts:
                if account.key not in known:
                    dump.add_account(session, target, archive_id, account.platform, account.user_id)
            report.people_matched += 1
        else:
            said_yes = keeps_name(Level(person["level"]))
            archive_id = dump.create_person(
                session,
                target,
                display_name=person["display_name"] if said_yes else None,
                created_at=person["created_at"] or now,
                accounts=[(a.platform, a.user_id) for a in accounts],
            )
            new.add(pid)
            report.people += 1
        ids.people[pid] = archive_id
    return new


_LedgerKey = tuple[int, str, str, datetime, str]


def _restore_ledger(
    session: Session,
    plan: Plan,
    target: str,
    ids: _Ids,
    new_people: set[int],
    report: JsonlImportReport,
    now: datetime,
) -> None:
    """Copy the ledger (entries already there are matched, not duplicated), then set each
    person's current consent: a new person's as the file says; a known person's moves to the
    file's choice only where the file's ledger holds a newer one than the archive's."""
    existing: dict[_LedgerKey, ConsentEvent] = {}
    for event in people.community_ledger(session, target):
        assert event.id is not None
        key = (event.person_id, event.field, event.new_value, as_utc(event.at), event.method)
        existing.setdefault(key, event)
        _note_erasure(ids, event)
    latest_before = _latest_choices(existing.values())
    added: list[ConsentEvent] = []
    for eid, entry in plan.ledger.items():
        person_id = ids.people[entry["person"]]
        key = (person_id, entry["field"], entry["new_value"], entry["at"], entry["method"])
        found = existing.get(key)
        if found is None:
            found = people.append_ledger(
                session,
                ConsentEvent(
                    community_id=target,
                    person_id=person_id,
                    field=entry["field"],
                    old_value=entry["old_value"],
                    new_value=entry["new_value"],
                    method=entry["method"],
                    actor=entry["actor"],
                    recorded_by=entry["recorded_by"],
                    evidence=entry["evidence"],
                    space_id=None if entry["space"] is None else ids.spaces[entry["space"]],
                    platform_message_id=entry["platform_message_id"],
                    at=entry["at"],
                ),
            )
            existing[key] = found
            added.append(found)
            _note_erasure(ids, found)
            report.consent_events += 1
        else:
            report.consent_events_matched += 1
        assert found.id is not None
        ids.ledger[eid] = found.id
    latest_added = _latest_choices(added)
    for pid, person in plan.people.items():
        archive_id = ids.people[pid]
        if pid in new_people:
            event_id = person["level_event"]
            dump.save_consent(
                session,
                archive_id,
                level=person["level"],
                attribution=person["attribution"],
                level_event_id=None if event_id is None else ids.ledger[event_id],
                prompted_at=person["prompted_at"],
                updated_at=person["updated_at"] or person["created_at"] or now,
            )
        else:
            _merge_consent(session, archive_id, person, latest_before, latest_added)


def _latest_choices(events: Iterable[ConsentEvent]) -> dict[tuple[int, str], ConsentEvent]:
    """``(person, "level"|"attribution") → `` the newest such ledger entry."""
    latest: dict[tuple[int, str], ConsentEvent] = {}
    for event in events:
        if event.field not in ("level", "attribution"):
            continue
        key = (event.person_id, event.field)
        if key not in latest or as_utc(event.at) >= as_utc(latest[key].at):
            latest[key] = event
    return latest


def _merge_consent(
    session: Session,
    person_id: int,
    person: dict[str, Any],
    before: dict[tuple[int, str], ConsentEvent],
    added: dict[tuple[int, str], ConsentEvent],
) -> None:
    """A known person's consent after the merge: each of level and attribution follows the
    newest ledger choice, the archive's or the file's (``before``/``added``, by ``at``)."""
    current = people.get_consent(session, person_id)
    old_level = current.level
    level, attribution = current.level, current.attribution
    level_event_id, updated_at = current.level_event_id, as_utc(current.updated_at)
    changed = False
    for choice in ("level", "attribution"):
        newer = added.get((person_id, choice))
        older = before.get((person_id, choice))
        if newer is None or (older is not None and as_utc(older.at) >= as_utc(newer.at)):
            continue
        changed = True
        updated_at = max(updated_at, as_utc(newer.at))
        if choice == "level":
            level, level_event_id = newer.new_value, newer.id
        else:
            attribution = newer.new_value
    prompted_at = current.prompted_at if current.prompted_at is not None else person["prompted_at"]
    if not changed and prompted_at == current.prompted_at:
        return
    dump.save_consent(
        session,
        person_id,
        level=level,
        attribution=attribution,
        level_event_id=level_event_id,
        prompted_at=prompted_at,
        updated_at=updated_at,
    )
    if level != old_level:
        # The file's newer choice brings its name with it; a no never keeps one.
        if not keeps_name(Level(level)):
            dump.set_display_name(session, person_id, None)
        elif person["display_name"]:
            dump.set_display_name(session, person_id, person["display_name"])


def _restore_public_choice(session: Session, person_id: int) -> None:
    """``consent public`` is where the person's ``public`` ledger entries lead (the newest)."""
    choices = [e for e in people.ledger(session, person_id) if e.field == "public"]
    if choices:
        newest = max(choices, key=lambda e: (as_utc(e.at), e.id or 0))
        people.set_public(session, person_id, newest.new_value == "public", as_utc(newest.at))


def _note_erasure(ids: _Ids, event: ConsentEvent) -> None:
    """Remember a ``forget`` so that nothing it erased is brought back."""
    if event.field != "erasure":
        return
    at = as_utc(event.at)
    if event.new_value == "all":
        person_id = event.person_id
        if person_id not in ids.erased_person or ids.erased_person[person_id] < at:
            ids.erased_person[person_id] = at
    elif event.space_id is not None and event.platform_message_id is not None:
        key = (event.space_id, event.platform_message_id)
        if key not in ids.erased_message or ids.erased_message[key] < at:
            ids.erased_message[key] = at


def _erased(erased_at: datetime | None, kept_at: datetime) -> bool:
    """True when a ``forget`` came after the thing was kept: it must stay erased."""
    return erased_at is not None and erased_at >= kept_at


class _BatchWriter:
    """Messages, versions and tags of the second pass, written one transaction per batch.

    The file's order (all messages, then versions, then tags) means a version or tag is
    written only after every message it can refer to.
    """

    def __init__(
        self,
        archive: Archive,
        community_id: str,
        ids: _Ids,
        report: JsonlImportReport,
        progress: Progress | None,
        batch_size: int,
        media: Path | None = None,
    ) -> None:
        self.media = media
        self.archive = archive
        self.community_id = community_id
        self.ids = ids
        self.report = report
        self.progress = progress
        self.batch_size = batch_size
        self.kind = ""
        self.pending: list[dict[str, Any]] = []
        self.handled = 0

    def add(self, kind: str, values: dict[str, Any]) -> None:
        if kind not in ("message", "message_version", "tag"):
            return
        if kind != self.kind:
            self.flush()
            self.kind = kind
        self.pending.append(values)
        if len(self.pending) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        with self.archive.db.write() as session:
            if self.kind == "message":
                self._messages(session)
            elif self.kind == "message_version":
                self._versions(session)
            else:
                self._tags(session)
        if self.kind == "message":
            self._files()
            self.handled += len(self.pending)
            if self.progress:
                self.progress(self.handled)
        self.pending = []

    def _files(self) -> None:
        """The committed batch's files, from the ``--media`` folder: each checked against
        the hash its line names, then kept like a live file (consent, limits, metadata) —
        an image that carries no metadata byte for byte, so the round trip keeps the hash."""
        for values in self.pending:
            file = values.get("media")
            if file is None:
                continue
            if self.media is None:
                self.report.files_without_folder += 1
                continue
            digest = file["sha256"]
            try:
                data = (self.media / digest[:2] / digest).read_bytes()
            except OSError:
                self.report.files_missing += 1
                continue
            if hashlib.sha256(data).hexdigest() != digest:
                self.report.files_bad += 1
                continue
            platform, _, chat_id = values["space"].partition(":")
            ref = MediaRef(
                file["kind"], digest, file_name=file["file_name"], duration=file["duration"]
            )
            result = keep_file(
                self.archive,
                ChatRef(platform, chat_id),
                values["platform_message_id"],
                data,
                ref,
                keep_if_clean=True,
            )
            if result.outcome in (FileOutcome.STORED, FileOutcome.ALREADY):
                self.report.files += 1
            elif result.outcome is not FileOutcome.NOT_KEPT:  # forgotten here: not restored
                self.report.files_refused += 1

    def _platform_ids(self) -> dict[int, list[str]]:
        """``space id → platform message ids`` of the pending lines, for one query per space."""
        groups: dict[int, list[str]] = {}
        for values in self.pending:
            groups.setdefault(self.ids.spaces[values["space"]], []).append(
                values["platform_message_id"]
            )
        return groups

    def _found(self, session: Session) -> dict[tuple[int, str], int]:
        """``(space id, platform message id) → message id`` of the pending lines' messages
        that the archive keeps."""
        found: dict[tuple[int, str], int] = {}
        for space_id, pmids in self._platform_ids().items():
            for pmid, message_id in dump.message_ids(session, space_id, pmids).items():
                found[(space_id, pmid)] = message_id
        return found

    def _messages(self, session: Session) -> None:
        now = datetime.now(UTC)
        already = {
            (space_id, pmid)
            for space_id, pmids in self._platform_ids().items()
            for pmid in message_store.kept_platform_ids(session, space_id, pmids)
        }
        rows: list[dict[str, Any]] = []
        for values in self.pending:  # in file order, so ids keep the file's order
            space_id = self.ids.spaces[values["space"]]
            pmid = values["platform_message_id"]
            author = self.ids.people[values["author"]]
            kept_at = values["kept_at"] or values["sent_at"]
            if _erased(self.ids.erased_person.get(author), kept_at) or _erased(
                self.ids.erased_message.get((space_id, pmid)), kept_at
            ):
                self.report.messages_erased += 1
                continue
            if (space_id, pmid) in already:
                self.report.messages_already += 1
                continue
            already.add((space_id, pmid))
            rows.append(
                {
                    "community_id": self.community_id,
                    "space_id": space_id,
                    "platform_message_id": pmid,
                    "author_id": author,
                    "consent_event_id": self.ids.ledger[values["consent_event"]],
                    "sent_at": values["sent_at"],
                    "edited_at": values["edited_at"],
                    "text": values["text"],
                    "tokens": self.archive.segmenter.index_tokens(values["text"]),
                    "reply_to": values["reply_to"],
                    "media_kind": values["media_kind"],
                    "source": values["source"],
                    "kept_at": values["kept_at"] or now,
                }
            )
        message_store.insert_ignoring_duplicates(session, Message, rows)
        self.report.messages += len(rows)

    def _versions(self, session: Session) -> None:
        found = self._found(session)
        have = dump.version_keys(session, list(found.values()))
        rows: list[dict[str, Any]] = []
        for values in self.pending:
            message_id = found.get(
                (self.ids.spaces[values["space"]], values["platform_message_id"])
            )
            if message_id is None:  # its message was not restored: erased in this archive
                continue
            key = (message_id, values["replaced_at"])
            if key in have:
                continue
            have.add(key)
            rows.append(
                {
                    "message_id": message_id,
                    "text": values["text"],
                    "valid_from": values["valid_from"],
                    "replaced_at": values["replaced_at"],
                }
            )
        message_store.insert_ignoring_duplicates(session, MessageVersion, rows)
        self.report.message_versions += len(rows)

    def _tags(self, session: Session) -> None:
        found = self._found(session)
        anonymous = {
            (space_id, pmid)
            for space_id, pmids in self._platform_ids().items()
            for pmid in message_store.anonymous_tag_ids(session, space_id, pmids)
        }
        rows: list[dict[str, Any]] = []
        for values in self.pending:
            key = (self.ids.spaces[values["space"]], values["platform_message_id"])
            if key not in found:  # its message was not restored: erased in this archive
                continue
            tagger = values["tagger"]
            tagger_id = None if tagger is None else self.ids.people[tagger]
            if tagger_id is None:
                # No unique constraint can see two NULL taggers as the same: check here.
                if key in anonymous:
                    continue
                anonymous.add(key)
            elif _erased(self.ids.erased_person.get(tagger_id), values["created_at"]):
                continue
            story = values["story"]
            rows.append(
                {
                    "community_id": self.community_id,
                    "space_id": key[0],
                    "platform_message_id": key[1],
                    "tagger_id": tagger_id,
                    "story_id": None if story is None else self.ids.stories[story],
                    "method": values["method"],
                    "created_at": values["created_at"],
                }
            )
        self.report.tags += message_store.insert_ignoring_duplicates(session, Tag, rows)
