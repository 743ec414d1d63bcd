"""``export jsonl``: a community's whole archive as JSON Lines (docs/export-format.md).

One JSON object per line, each with a ``type``, in a fixed order: ``community`` (with the
schema version), ``space``, ``person``, ``consent_event``, ``story``, ``message``,
``message_version``, ``tag``, ``post``, ``steward``, ``vote``, ``policy_event``. Only what
the community keeps goes out: held messages (their authors have not said yes) and the tags
waiting on them are not the community's and are never exported, a person's display name is
written only while they have said yes, and of a vote only its tally (not who answered what).

The export streams: messages, versions and tags are read page by page by id inside one
database snapshot and written as they come, so memory stays flat for a million messages and
the file is consistent while the bots keep writing. It is written to a temporary file next to
the target and renamed at the end, so a crash never leaves half a file under the final name.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO

from sqlmodel import Session

from archiver.archive import Archive
from archiver.consent_policy import Level, keeps_name
from archiver.errors import CommunityMemoryError, UnknownCommunityError
from storage import communities, dump, people
from storage import media as media_store
from storage import policy as policy_store
from storage import stewards as steward_store
from storage.dump import as_utc, as_utc_or_none
from storage.models import Media

SCHEMA = 2  # 2: vote and policy_event lines (the community's decisions)
PAGE_SIZE = 2000

Progress = Callable[[int], None]
"""Called with the number of messages written so far."""


@dataclass
class ExportReport:
    """What an export wrote: how many lines of each type, and the file's size."""

    path: Path
    community_id: str
    spaces: int = 0
    people: int = 0
    consent_events: int = 0
    stories: int = 0
    messages: int = 0
    message_versions: int = 0
    tags: int = 0
    posts: int = 0
    stewards: int = 0
    votes: int = 0
    policy_events: int = 0
    bytes: int = 0
    files: int = 0  # messages' files copied to the --media folder
    files_missing: int = 0  # named by a message but not found under media_dir

    @property
    def lines(self) -> int:
        """Every line of the file, the ``community`` line included."""
        return 1 + (
            self.spaces
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
        """One line for people: what went into which file."""
        return (
            f"{self.community_id} → {self.path}: {self.messages} messages, "
            f"{self.message_versions} earlier versions, {self.tags} tags, {self.stories} stories, "
            f"{self.people} people, {self.consent_events} consent entries, {self.posts} posts, "
            f"{self.stewards} stewards, {self.votes} votes, {self.policy_events} decisions "
            f"({self.lines} lines, {self.bytes:,} bytes)"
            + (f"; {self.files} files copied" if self.files else "")
            + (f"; {self.files_missing} files missing from media_dir" if self.files_missing else "")
        )

    def to_json(self) -> dict[str, object]:
        """The ``--json`` form."""
        return {
            "path": str(self.path),
            "community": self.community_id,
            "lines": self.lines,
            "spaces": self.spaces,
            "people": self.people,
            "consent_events": self.consent_events,
            "stories": self.stories,
            "messages": self.messages,
            "message_versions": self.message_versions,
            "tags": self.tags,
            "posts": self.posts,
            "stewards": self.stewards,
            "votes": self.votes,
            "policy_events": self.policy_events,
            "bytes": self.bytes,
            "files": self.files,
            "files_missing": self.files_missing,
        }


def generator() -> str:
    """The ``generator`` value: this software and its version."""
    try:
        version = metadata.version("community-memory")
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        version = "unknown"
    return f"community-memory {version}"


def export_jsonl(
    archive: Archive,
    community_id: str,
    out: Path,
    *,
    overwrite: bool = False,
    progress: Progress | None = None,
    page_size: int = PAGE_SIZE,
    media: Path | None = None,
) -> ExportReport:
    """Write the community's archive to ``out`` (see the module docstring), and with
    ``media`` the files its messages name into that folder (``<xx>/<sha256>``).

    Refuses an existing ``out`` unless ``overwrite``; raises ``UnknownCommunityError`` for a
    community the archive lacks and ``CommunityMemoryError`` when the file cannot be written.
    """
    out = Path(out)
    check_target(out, overwrite=overwrite)
    if media is not None and archive.media is None:
        raise CommunityMemoryError("--media: this archive keeps no files ([media] keep = false)")
    report = ExportReport(path=out, community_id=community_id)
    with new_file(out, overwrite=overwrite) as handle:
        with archive.db.read() as session:
            dump.begin_snapshot(session)
            writer = _Writer(session, community_id, handle.write, report, progress, page_size)
            writer.run()
        handle.flush()
        report.bytes = os.fstat(handle.fileno()).st_size
        if media is not None and archive.media is not None:
            source = archive.media.media_dir / community_id
            report.files, report.files_missing = _copy_files(writer.hashes, source, media)
    return report


def _copy_files(hashes: set[str], source: Path, target: Path) -> tuple[int, int]:
    """Copy each file (not its thumbnail: an import makes its own) as ``<xx>/<sha256>``;
    (copied, missing). A file already there with the right name is the same file."""
    copied = missing = 0
    for digest in sorted(hashes):
        path = source / digest[:2] / digest
        destination = target / digest[:2] / digest
        if destination.is_file():
            copied += 1
            continue
        if not path.is_file():
            missing += 1
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)
        copied += 1
    return copied, missing


def check_target(out: Path, *, overwrite: bool) -> None:
    """Refuse an export file name that is a folder, in a missing folder, or taken (unless
    ``overwrite``): before anything is read (every exporter's check)."""
    if out.is_dir():
        raise CommunityMemoryError(f"{out} is a folder: give the export a file name")
    if not out.parent.is_dir():
        raise CommunityMemoryError(f"cannot write {out}: folder {out.parent} does not exist")
    if out.exists() and not overwrite:
        raise CommunityMemoryError(f"{out} already exists: choose another name or overwrite it")


@contextlib.contextmanager
def new_file(out: Path, *, overwrite: bool) -> Iterator[TextIO]:
    """``out`` appears whole or not at all (every exporter's file): the body writes UTF-8
    text to a temporary file beside it; when the body ends without error the file is synced
    and given its name (``publish``). On any error it is removed, and an ``OSError`` becomes
    one ``cannot write`` line."""
    try:
        fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    except OSError as exc:
        raise CommunityMemoryError(f"cannot write {out}: {exc.strerror or exc}") from exc
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        publish(tmp, out, overwrite=overwrite)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CommunityMemoryError(f"cannot write {out}: {exc.strerror or exc}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def publish(tmp: Path, out: Path, *, overwrite: bool) -> None:
    """Give the finished file its name: atomically, and without replacing a file that
    appeared meanwhile unless ``overwrite``."""
    if overwrite:
        os.replace(tmp, out)
    else:
        try:
            os.link(tmp, out)  # fails if ``out`` exists: no race with another writer
        except FileExistsError as exc:
            raise CommunityMemoryError(
                f"{out} already exists: choose another name or overwrite it"
            ) from exc
        except OSError:  # a file system without hard links
            if out.exists():
                raise CommunityMemoryError(
                    f"{out} already exists: choose another name or overwrite it"
                ) from None
            os.replace(tmp, out)
        else:
            tmp.unlink()
    _sync_folder(out.parent)


def _sync_folder(folder: Path) -> None:
    """Make the rename durable (best effort: not every system can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _time(moment: datetime) -> str:
    return as_utc(moment).isoformat()


def _time_or_none(moment: datetime | None) -> str | None:
    value = as_utc_or_none(moment)
    return None if value is None else value.isoformat()


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else as_utc(moment).isoformat()


def _media_line(file: Media) -> dict[str, object]:
    return {
        "sha256": file.sha256,
        "kind": file.kind,
        "mime": file.mime,
        "size": file.size,
        "width": file.width,
        "height": file.height,
        "duration": file.duration,
        "file_name": file.file_name,
    }


class _Writer:
    """Writes the lines of one export, type by type, counting them in the report."""

    def __init__(
        self,
        session: Session,
        community_id: str,
        write: Callable[[str], object],
        report: ExportReport,
        progress: Progress | None,
        page_size: int,
    ) -> None:
        self.session = session
        self.community_id = community_id
        self._write = write
        self.report = report
        self.progress = progress
        self.page_size = page_size
        self.space_keys: dict[int, str] = {}
        self.hashes: set[str] = set()  # the files the messages name

    def line(self, record: dict[str, Any]) -> None:
        self._write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")

    def run(self) -> None:
        self.community()
        self.spaces()
        self.people()
        self.ledger()
        self.stories()
        self.messages()
        self.versions()
        self.tags()
        self.posts()
        self.stewards()
        self.votes()
        self.policy_events()

    def community(self) -> None:
        row = communities.get_community(self.session, self.community_id)
        if row is None:
            raise UnknownCommunityError(self.community_id)
        self.line(
            {
                "type": "community",
                "schema": SCHEMA,
                "id": row.id,
                "name": row.name,
                "language": row.language,
                "timezone": row.timezone,
                "keep_emoji": row.keep_emoji,
                "hold_hours": row.hold_hours,
                "created_at": _time(row.created_at),
                "exported_at": _time(datetime.now(UTC)),
                "generator": generator(),
            }
        )

    def spaces(self) -> None:
        for space in communities.list_spaces(self.session, self.community_id):
            assert space.id is not None
            key = f"{space.platform}:{space.chat_id}"
            self.space_keys[space.id] = key
            self.line(
                {
                    "type": "space",
                    "id": key,
                    "platform": space.platform,
                    "chat_id": space.chat_id,
                    "title": space.title,
                    "active": space.active,
                    "created_at": _time(space.created_at),
                }
            )
            self.report.spaces += 1

    def people(self) -> None:
        accounts: dict[int, list[str]] = {}
        for account in people.list_accounts(self.session, self.community_id):
            accounts.setdefault(account.person_id, []).append(
                f"{account.platform}:{account.user_id}"
            )
        public = people.public_people(self.session, self.community_id)
        for person, consent in people.list_people(self.session, self.community_id):
            assert person.id is not None
            record: dict[str, Any] = {"type": "person", "id": person.id}
            # Data minimisation: a name only for someone who said yes.
            if person.display_name and keeps_name(Level(consent.level)):
                record["display_name"] = person.display_name
            record.update(
                {
                    "accounts": accounts.get(person.id, []),
                    "level": consent.level,
                    "attribution": consent.attribution,
                    "level_event": consent.level_event_id,
                    "prompted_at": _time_or_none(consent.prompted_at),
                    "updated_at": _time(consent.updated_at),
                    "created_at": _time(person.created_at),
                    # Schema 2: their own `consent public` (the ledger's `public` entries).
                    "public": person.id in public,
                }
            )
            self.line(record)
            self.report.people += 1

    def ledger(self) -> None:
        for event in people.community_ledger(self.session, self.community_id):
            self.line(
                {
                    "type": "consent_event",
                    "id": event.id,
                    "person": event.person_id,
                    "field": event.field,
                    "old_value": event.old_value,
                    "new_value": event.new_value,
                    "method": event.method,
                    "actor": event.actor,
                    "recorded_by": event.recorded_by,
                    "evidence": event.evidence,
                    "space": None if event.space_id is None else self.space_keys[event.space_id],
                    "platform_message_id": event.platform_message_id,
                    "at": _time(event.at),
                }
            )
            self.report.consent_events += 1

    def stories(self) -> None:
        for story in dump.stories_by_id(self.session, self.community_id):
            self.line(
                {
                    "type": "story",
                    "id": story.id,
                    "name": story.name,
                    "created_by": story.created_by,
                    "created_at": _time(story.created_at),
                }
            )
            self.report.stories += 1

    def messages(self) -> None:
        after = 0
        while page := dump.messages_page(self.session, self.community_id, after, self.page_size):
            tags: dict[int, list[int]] = {}
            stories: dict[int, set[int]] = {}
            for tag in dump.tags_of_messages(
                self.session, self.community_id, page[0].id, page[-1].id
            ):
                tags.setdefault(tag.message_id, []).append(tag.tag_id)
                if tag.story_id is not None:
                    stories.setdefault(tag.message_id, set()).add(tag.story_id)
            files = media_store.media_by_message(self.session, [m.id for m in page])
            for message in page:
                file = files.get(message.id)
                if file is not None:
                    self.hashes.add(file.sha256)
                self.line(
                    {
                        "type": "message",
                        "id": message.id,
                        "space": self.space_keys[message.space_id],
                        "platform_message_id": message.platform_message_id,
                        "author": message.author_id,
                        "sent_at": message.sent_at.isoformat(),
                        "edited_at": _time_or_none(message.edited_at),
                        "text": message.text,
                        "reply_to": message.reply_to,
                        "media_kind": message.media_kind,
                        "media": None if file is None else _media_line(file),
                        "tags": tags.get(message.id, []),
                        "story_ids": sorted(stories.get(message.id, ())),
                        "source": message.source,
                        "consent_event": message.consent_event_id,
                        "kept_at": message.kept_at.isoformat(),
                    }
                )
            self.report.messages += len(page)
            after = page[-1].id
            if self.progress:
                self.progress(self.report.messages)

    def versions(self) -> None:
        after = 0
        while page := dump.versions_page(self.session, self.community_id, after, self.page_size):
            for version in page:
                self.line(
                    {
                        "type": "message_version",
                        "id": version.id,
                        "message": version.message_id,
                        "space": self.space_keys[version.space_id],
                        "platform_message_id": version.platform_message_id,
                        "text": version.text,
                        "valid_from": version.valid_from.isoformat(),
                        "replaced_at": version.replaced_at.isoformat(),
                    }
                )
            self.report.message_versions += len(page)
            after = page[-1].id

    def tags(self) -> None:
        after = 0
        while page := dump.tags_page(self.session, self.community_id, after, self.page_size):
            for tag in page:
                self.line(
                    {
                        "type": "tag",
                        "id": tag.id,
                        "message": tag.message_id,
                        "space": self.space_keys[tag.space_id],
                        "platform_message_id": tag.platform_message_id,
                        "tagger": tag.tagger_id,
                        "story": tag.story_id,
                        "method": tag.method,
                        "created_at": tag.created_at.isoformat(),
                    }
                )
            self.report.tags += len(page)
            after = page[-1].id

    def posts(self) -> None:
        for post in dump.posts_by_id(self.session, self.community_id):
            self.line(
                {
                    "type": "post",
                    "id": post.id,
                    "kind": post.kind,
                    "period": post.period,
                    "status": post.status,
                    "created_at": _time(post.created_at),
                    "sent_at": _time_or_none(post.sent_at),
                }
            )
            self.report.posts += 1

    def stewards(self) -> None:
        # Last, so that this line type, added within schema 1, comes after everything an
        # earlier reader knows.
        for steward in steward_store.list_stewards(self.session, self.community_id):
            self.line(
                {
                    "type": "steward",
                    "person": steward.person_id,
                    "reason": steward.reason,
                    "space": None
                    if steward.space_id is None
                    else self.space_keys[steward.space_id],
                    "since": _time(steward.since),
                }
            )
            self.report.stewards += 1

    def votes(self) -> None:
        # Closed votes only: an open one belongs to its chat's poll, which no other archive
        # has. How each person answered is not the community's memory: only the tally.
        for vote in policy_store.votes_of(self.session, self.community_id):
            if vote.closed_at is None:
                continue
            self.line(
                {
                    "type": "vote",
                    "id": vote.id,
                    "space": self.space_keys[vote.space_id],
                    "policy": vote.policy,
                    "value": vote.value,
                    "proposed_by": vote.proposed_by,
                    "roll": vote.roll,
                    "needed": vote.needed,
                    "opened_at": _when(vote.opened_at),
                    "closes_at": _when(vote.closes_at),
                    "closed_at": _when(vote.closed_at),
                    "result": vote.result,
                    "yes": vote.yes,
                    "no": vote.no,
                }
            )
            self.report.votes += 1

    def policy_events(self) -> None:
        for event in policy_store.events(self.session, self.community_id):
            self.line(
                {
                    "type": "policy_event",
                    "id": event.id,
                    "policy": event.policy,
                    "value": event.value,
                    "old_value": event.old_value,
                    "vote": event.vote_id,
                    "actor": event.actor,
                    "evidence": event.evidence,
                    "at": _when(event.at),
                }
            )
            self.report.policy_events += 1
