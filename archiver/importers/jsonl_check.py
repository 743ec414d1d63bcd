"""Pass one of ``import jsonl``: reading an export line by line and checking it whole.

Every line is checked — JSON, keys and their types, the order of line types, every reference
(a message's author, space and ledger entry …) — and nothing is written: a file that fails is
refused with its file name and line number. ``check_file`` returns the ``Plan`` that pass two
(``archiver.importers.jsonl``) writes from; ``scan`` reads the file again for the batches.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from archiver.consent import Attribution, Level
from archiver.errors import CommunityMemoryError, ImportFormatError
from archiver.events import PLATFORMS, AccountRef
from archiver.media import KINDS
from archiver.policy import STEWARD_CHANGES, normalise
from archiver.stewards import StewardReason

SCHEMA = 2  # reads 1 (no vote or policy_event lines) and 2
ORDER = (
    "community",
    "space",
    "person",
    "consent_event",
    "story",
    "message",
    "message_version",
    "tag",
    "post",
    # Added within schema 1 (an addition: last, after everything an earlier reader knows).
    "steward",
    # Schema 2: the community's decisions.
    "vote",
    "policy_event",
)
LEDGER_FIELDS = ("level", "attribution", "message", "erasure", "link", "public")

# --- the format: keys per line type ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Key:
    """One key of a line type: its JSON kind, whether it must be there, may be null, how long."""

    kind: str  # "str" | "int" | "bool" | "time" | "ints"
    required: bool = True
    nullable: bool = False
    max_len: int | None = None
    default: Any = None


def _opt(kind: str, *, max_len: int | None = None, default: Any = None) -> _Key:
    """An optional key that may be null."""
    return _Key(kind, required=False, nullable=True, max_len=max_len, default=default)


_SPECS: dict[str, dict[str, _Key]] = {
    "community": {
        "schema": _Key("int"),
        "id": _Key("str", max_len=64),
        "name": _Key("str"),
        "language": _Key("str", required=False, max_len=8, default="zh"),
        "timezone": _Key("str", required=False, max_len=64, default="Asia/Shanghai"),
        "keep_emoji": _Key("str", required=False, max_len=32, default="📌"),
        "hold_hours": _Key("int", required=False, default=72),
        "created_at": _opt("time"),
        "exported_at": _opt("time"),
        "generator": _opt("str"),
    },
    "space": {
        "id": _Key("str", max_len=16 + 1 + 255),
        "platform": _opt("str", max_len=16),
        "chat_id": _opt("str", max_len=255),
        "title": _opt("str"),
        "active": _Key("bool", required=False, default=True),
        "created_at": _opt("time"),
    },
    "person": {
        "id": _Key("int"),
        "accounts": _Key("strs"),
        "level": _Key("str"),
        "attribution": _Key("str"),
        "display_name": _opt("str"),
        "level_event": _opt("int"),
        "prompted_at": _opt("time"),
        "updated_at": _opt("time"),
        "created_at": _opt("time"),
        "public": _Key("bool", required=False, default=False),
    },
    "consent_event": {
        "id": _Key("int"),
        "person": _Key("int"),
        "field": _Key("str", max_len=16),
        "old_value": _opt("str", max_len=32),
        "new_value": _Key("str", max_len=32),
        "method": _Key("str", max_len=16),
        "actor": _Key("str", max_len=300),
        "recorded_by": _opt("str"),
        "evidence": _opt("str"),
        "space": _opt("str"),
        "platform_message_id": _opt("str", max_len=64),
        "at": _Key("time"),
    },
    "story": {
        "id": _Key("int"),
        "name": _Key("str", max_len=200),
        "created_by": _opt("int"),
        "created_at": _opt("time"),
    },
    "message": {
        "id": _Key("int"),
        "space": _Key("str"),
        "platform_message_id": _Key("str", max_len=64),
        "author": _Key("int"),
        "consent_event": _Key("int"),
        "sent_at": _Key("time"),
        "text": _Key("str"),
        "source": _Key("str", max_len=32),
        "reply_to": _opt("str", max_len=64),
        "edited_at": _opt("time"),
        "media_kind": _opt("str", max_len=32),
        # Added within schema 1 (optional: older files have none, older readers ignore it).
        "media": _opt("media"),
        "tags": _opt("ints"),
        "story_ids": _opt("ints"),
        "kept_at": _opt("time"),
    },
    "message_version": {
        "id": _Key("int"),
        "message": _Key("int"),
        "space": _Key("str"),
        "platform_message_id": _Key("str", max_len=64),
        "text": _Key("str"),
        "valid_from": _Key("time"),
        "replaced_at": _Key("time"),
    },
    "tag": {
        "id": _Key("int"),
        "message": _Key("int"),
        "space": _Key("str"),
        "platform_message_id": _Key("str", max_len=64),
        "tagger": _Key("int", nullable=True),
        "story": _opt("int"),
        "method": _Key("str", max_len=16),
        "created_at": _Key("time"),
    },
    "post": {
        "id": _Key("int"),
        "kind": _Key("str", max_len=32),
        "period": _Key("str", max_len=32),
        "status": _Key("str", required=False, max_len=16, default="sent"),
        "created_at": _Key("time"),
        "sent_at": _opt("time"),
    },
    "vote": {
        "id": _Key("int"),
        "space": _Key("str"),
        "policy": _Key("str", max_len=16),
        "value": _Key("str", max_len=64),
        "proposed_by": _Key("int"),
        "roll": _Key("int"),
        "needed": _Key("int"),
        "opened_at": _Key("time"),
        "closes_at": _Key("time"),
        "closed_at": _Key("time"),
        "result": _Key("str", max_len=16),
        "yes": _Key("int"),
        "no": _Key("int"),
    },
    "policy_event": {
        "id": _Key("int"),
        "policy": _Key("str", max_len=16),
        "value": _Key("str", max_len=64),
        "old_value": _opt("str", max_len=64),
        "vote": _opt("int"),
        "actor": _Key("str", max_len=300),
        "evidence": _opt("str"),
        "at": _Key("time"),
    },
    "steward": {
        "person": _Key("int"),
        "reason": _Key("str", max_len=16),
        "space": _opt("str"),
        "since": _opt("time"),
    },
}


class _LineError(Exception):
    """A problem with one line; turned into an ``ImportFormatError`` naming file and line."""


def _value(kind: str, name: str, key: _Key, value: Any) -> Any:
    if value is None:
        if key.nullable:
            return None
        raise _LineError(f"{kind}: {name!r} must not be null")
    if key.kind == "str":
        if not isinstance(value, str):
            raise _LineError(f"{kind}: {name!r} must be a string")
        if key.max_len is not None and len(value) > key.max_len:
            raise _LineError(f"{kind}: {name!r} is longer than {key.max_len} characters")
        return value
    if key.kind == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            raise _LineError(f"{kind}: {name!r} must be an integer")
        return value
    if key.kind == "bool":
        if not isinstance(value, bool):
            raise _LineError(f"{kind}: {name!r} must be true or false")
        return value
    if key.kind == "time":
        if not isinstance(value, str):
            raise _LineError(f"{kind}: {name!r} must be an ISO 8601 time string")
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise _LineError(f"{kind}: {name!r} {value!r} is not an ISO 8601 time") from None
        if moment.tzinfo is None:
            raise _LineError(f"{kind}: {name!r} {value!r} has no UTC offset")
        return moment.astimezone(UTC)
    if key.kind == "ints":
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            raise _LineError(f"{kind}: {name!r} must be a list of integers")
        return value
    if key.kind == "media":
        return _media(kind, name, value)
    assert key.kind == "strs"
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _LineError(f"{kind}: {name!r} must be a list of strings")
    return value


def _media(kind: str, name: str, value: Any) -> dict[str, Any]:
    """A message's file: its hash, kind and what the archive records about it."""
    if not isinstance(value, dict):
        raise _LineError(f"{kind}: {name!r} must be an object or null")
    digest = value.get("sha256")
    if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise _LineError(f"{kind}: {name}.sha256 must be 64 lower-case hex digits")
    if value.get("kind") not in KINDS:
        raise _LineError(f"{kind}: {name}.kind must be one of {', '.join(KINDS)}")
    for number in ("size", "width", "height", "duration"):
        found = value.get(number)
        if found is not None and (not isinstance(found, int) or isinstance(found, bool)):
            raise _LineError(f"{kind}: {name}.{number} must be an integer or null")
    file_name = value.get("file_name")
    if file_name is not None and (not isinstance(file_name, str) or len(file_name) > 255):
        raise _LineError(f"{kind}: {name}.file_name must be a string of at most 255 characters")
    return {
        "sha256": digest,
        "kind": value["kind"],
        "duration": value.get("duration"),
        "file_name": file_name,
    }


def _clean(kind: str, record: dict[str, Any]) -> dict[str, Any]:
    """The line's values by the spec of its type: checked, times as aware UTC, defaults
    filled in. Keys the spec does not know are ignored (a later release may add some)."""
    cleaned: dict[str, Any] = {}
    for name, key in _SPECS[kind].items():
        if name not in record:
            if key.required:
                raise _LineError(f"a {kind} line needs the key {name!r}")
            cleaned[name] = key.default
            continue
        cleaned[name] = _value(kind, name, key, record[name])
    return cleaned


# --- pass one: reading and checking ----------------------------------------------------------


@dataclass
class Plan:
    """What the first pass learnt: everything but the message, version and tag lines."""

    community: dict[str, Any] = field(default_factory=dict)
    spaces: dict[str, dict[str, Any]] = field(default_factory=dict)  # by "platform:chat_id"
    people: dict[int, dict[str, Any]] = field(default_factory=dict)
    ledger: dict[int, dict[str, Any]] = field(default_factory=dict)
    stories: dict[int, dict[str, Any]] = field(default_factory=dict)
    posts: list[dict[str, Any]] = field(default_factory=list)
    stewards: list[dict[str, Any]] = field(default_factory=list)
    votes: dict[int, dict[str, Any]] = field(default_factory=dict)
    policy_events: list[dict[str, Any]] = field(default_factory=list)
    lines: int = 0


class Checker:
    """Checks the lines of one file in order and keeps what later lines refer to."""

    def __init__(self) -> None:
        self.plan = Plan()
        self.position = -1  # index in ORDER of the last line type seen
        self.accounts: dict[str, int] = {}
        self.story_names: set[str] = set()
        self.message_ids: set[int] = set()
        self.version_ids: set[int] = set()
        self.tag_ids: set[int] = set()
        self.post_keys: set[tuple[str, str]] = set()
        self.steward_people: set[int] = set()

    def check(self, record: Any) -> tuple[str, dict[str, Any]]:
        """The line's type and cleaned values; ``_LineError`` if it is wrong."""
        if not isinstance(record, dict):
            raise _LineError("not a JSON object")
        kind = record.get("type")
        first = self.position < 0
        if first:
            _check_first(record)
        if kind is None:
            raise _LineError('no "type" key')
        if kind not in _SPECS:
            raise _LineError(
                f"unknown line type {kind!r} (schema {SCHEMA} has: {', '.join(ORDER)})"
            )
        position = ORDER.index(kind)
        if kind == "community" and not first:
            raise _LineError("a second community line: one file holds one community")
        if position < self.position:
            raise _LineError(
                f"a {kind} line after {ORDER[self.position]} lines: "
                f"lines come in the order {', '.join(ORDER)}"
            )
        self.position = position
        values = _clean(kind, record)
        getattr(self, f"_{kind}")(values)
        self.plan.lines += 1
        return kind, values

    def finish(self) -> Plan:
        """Checks that need the whole file; the plan for writing."""
        if self.position < 0:
            raise _LineError("empty file: not a Community Memory export")
        for person in self.plan.people.values():
            event_id = person["level_event"]
            if event_id is None:
                continue
            event = self.plan.ledger.get(event_id)
            if event is None or event["person"] != person["id"] or event["field"] != "level":
                raise _LineError(
                    f"person {person['id']}: level_event {event_id} is not one of their "
                    "level entries in the consent ledger"
                )
        return self.plan

    def _community(self, values: dict[str, Any]) -> None:
        if not values["id"].strip():
            raise _LineError("community: 'id' is empty")
        try:
            ZoneInfo(values["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            raise _LineError(f"community: unknown time zone {values['timezone']!r}") from None
        self.plan.community = values

    def _space(self, values: dict[str, Any]) -> None:
        key = values["id"]
        platform, _, chat_id = key.partition(":")
        if platform not in PLATFORMS or not chat_id:
            raise _LineError(f"space: 'id' {key!r} is not platform:chat_id")
        if values["platform"] not in (None, platform) or values["chat_id"] not in (None, chat_id):
            raise _LineError(f"space {key}: 'platform' and 'chat_id' do not match 'id'")
        if key in self.plan.spaces:
            raise _LineError(f"space {key} is already on an earlier line")
        values["platform"], values["chat_id"] = platform, chat_id
        self.plan.spaces[key] = values

    def _person(self, values: dict[str, Any]) -> None:
        pid = values["id"]
        if pid in self.plan.people:
            raise _LineError(f"person {pid} is already on an earlier line")
        if not values["accounts"]:
            raise _LineError(f"person {pid}: 'accounts' is empty")
        for key in values["accounts"]:
            try:
                AccountRef.parse(key)
            except CommunityMemoryError as exc:
                raise _LineError(f"person {pid}: {exc}") from None
            if key in self.accounts:
                raise _LineError(f"person {pid}: {key} is also person {self.accounts[key]}")
            self.accounts[key] = pid
        _choice(values, "level", Level, f"person {pid}")
        _choice(values, "attribution", Attribution, f"person {pid}")
        self.plan.people[pid] = values

    def _consent_event(self, values: dict[str, Any]) -> None:
        eid = values["id"]
        if eid in self.plan.ledger:
            raise _LineError(f"consent_event {eid} is already on an earlier line")
        if values["person"] not in self.plan.people:
            raise _LineError(f"consent_event {eid}: no person {values['person']} in the file")
        if values["field"] not in LEDGER_FIELDS:
            raise _LineError(
                f"consent_event {eid}: field {values['field']!r} is not one of "
                + ", ".join(LEDGER_FIELDS)
            )
        if values["space"] is not None and values["space"] not in self.plan.spaces:
            raise _LineError(f"consent_event {eid}: no space {values['space']} in the file")
        self.plan.ledger[eid] = values

    def _story(self, values: dict[str, Any]) -> None:
        sid = values["id"]
        if sid in self.plan.stories or values["name"] in self.story_names:
            raise _LineError(f"story {sid} ({values['name']!r}) is already on an earlier line")
        if values["created_by"] is not None and values["created_by"] not in self.plan.people:
            raise _LineError(f"story {sid}: no person {values['created_by']} in the file")
        self.story_names.add(values["name"])
        self.plan.stories[sid] = values

    def _message(self, values: dict[str, Any]) -> None:
        mid = values["id"]
        if mid in self.message_ids:
            raise _LineError(f"message {mid} is already on an earlier line")
        self._space_of(values, f"message {mid}")
        if values["author"] not in self.plan.people:
            raise _LineError(f"message {mid}: no person {values['author']} in the file")
        event = self.plan.ledger.get(values["consent_event"])
        if event is None:
            raise _LineError(
                f"message {mid}: no consent_event {values['consent_event']} in the file"
            )
        if event["person"] != values["author"]:
            raise _LineError(
                f"message {mid}: consent_event {values['consent_event']} is not its author's"
            )
        self.message_ids.add(mid)

    def _message_version(self, values: dict[str, Any]) -> None:
        vid = values["id"]
        if vid in self.version_ids:
            raise _LineError(f"message_version {vid} is already on an earlier line")
        self._space_of(values, f"message_version {vid}")
        if values["message"] not in self.message_ids:
            raise _LineError(f"message_version {vid}: no message {values['message']} in the file")
        self.version_ids.add(vid)

    def _tag(self, values: dict[str, Any]) -> None:
        tid = values["id"]
        if tid in self.tag_ids:
            raise _LineError(f"tag {tid} is already on an earlier line")
        self._space_of(values, f"tag {tid}")
        if values["message"] not in self.message_ids:
            raise _LineError(f"tag {tid}: no message {values['message']} in the file")
        if values["tagger"] is not None and values["tagger"] not in self.plan.people:
            raise _LineError(f"tag {tid}: no person {values['tagger']} in the file")
        if values["story"] is not None and values["story"] not in self.plan.stories:
            raise _LineError(f"tag {tid}: no story {values['story']} in the file")
        self.tag_ids.add(tid)

    def _post(self, values: dict[str, Any]) -> None:
        key = (values["kind"], values["period"])
        if key in self.post_keys:
            raise _LineError(f"post {key[0]} {key[1]} is already on an earlier line")
        self.post_keys.add(key)
        self.plan.posts.append(values)

    def _steward(self, values: dict[str, Any]) -> None:
        pid = values["person"]
        if pid not in self.plan.people:
            raise _LineError(f"steward: no person {pid} in the file")
        if pid in self.steward_people:
            raise _LineError(f"steward: person {pid} is already on an earlier steward line")
        reasons = [reason.value for reason in StewardReason]
        if values["reason"] not in reasons:
            raise _LineError(
                f"steward {pid}: reason {values['reason']!r} is not one of {', '.join(reasons)}"
            )
        if values["space"] is not None and values["space"] not in self.plan.spaces:
            raise _LineError(f"steward {pid}: no space {values['space']} in the file")
        self.steward_people.add(pid)
        self.plan.stewards.append(values)

    def _vote(self, values: dict[str, Any]) -> None:
        vid = values["id"]
        if vid in self.plan.votes:
            raise _LineError(f"vote {vid} is already on an earlier line")
        self._space_of(values, f"vote {vid}")
        if values["proposed_by"] not in self.plan.people:
            raise _LineError(f"vote {vid}: no person {values['proposed_by']} in the file")
        self._decision(values, f"vote {vid}")
        if values["result"] not in ("passed", "rejected", "no_quorum"):
            raise _LineError(f"vote {vid}: result {values['result']!r} is not passed, "
                             "rejected or no_quorum")  # fmt: skip
        self.plan.votes[vid] = values

    def _policy_event(self, values: dict[str, Any]) -> None:
        eid = values["id"]
        self._decision(values, f"policy_event {eid}")
        if values["vote"] is not None and values["vote"] not in self.plan.votes:
            raise _LineError(f"policy_event {eid}: no vote {values['vote']} in the file")
        self.plan.policy_events.append(values)

    def _decision(self, values: dict[str, Any], what: str) -> None:
        """A vote's or a decision's policy and value: one that exists, and a value it can
        take (a steward change names a person of the file)."""
        policy = values["policy"]
        if policy in STEWARD_CHANGES:
            if not values["value"].isdigit() or int(values["value"]) not in self.plan.people:
                raise _LineError(f"{what}: no person {values['value']} in the file")
            return
        try:
            values["value"] = normalise(policy, values["value"])
        except CommunityMemoryError as exc:
            raise _LineError(f"{what}: {exc}") from None

    def _space_of(self, values: dict[str, Any], what: str) -> None:
        if values["space"] not in self.plan.spaces:
            raise _LineError(f"{what}: no space {values['space']} in the file")


def _check_first(record: dict[str, Any]) -> None:
    """The first line says what the file is: a community line of a schema we read."""
    if record.get("type") != "community":
        raise _LineError(
            'the first line must be the community line ({"type": "community", "schema": 1, …}):'
            " this is not a Community Memory export"
        )
    schema = record.get("schema")
    if not isinstance(schema, int) or isinstance(schema, bool) or schema < 1:
        raise _LineError(f"community: 'schema' must be a positive integer, not {schema!r}")
    if schema > SCHEMA:
        raise _LineError(
            f"export schema {schema} was written by a newer Community Memory "
            f"(this release reads schema {SCHEMA}): upgrade Community Memory to import it"
        )


def _choice(
    values: dict[str, Any], name: str, choices: type[Level | Attribution], what: str
) -> None:
    allowed = [c.value for c in choices]
    if values[name] not in allowed:
        raise _LineError(f"{what}: {name} {values[name]!r} is not one of {', '.join(allowed)}")


def _records(path: Path) -> Iterator[tuple[int, Any]]:
    """``(line number, parsed JSON)`` for each non-blank line; errors name the line."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise ImportFormatError("file not found", path=path) from None
    except IsADirectoryError:
        raise ImportFormatError("is a folder, not an export file", path=path) from None
    except OSError as exc:
        raise ImportFormatError(f"cannot read the file ({exc.strerror})", path=path) from exc
    with handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise ImportFormatError(
                    "not UTF-8 text", path=path, entry=f"line {number}"
                ) from None
            if number == 1:
                text = text.removeprefix("\ufeff")
            if not text.strip():
                continue
            try:
                yield number, json.loads(text)
            except json.JSONDecodeError as exc:
                raise ImportFormatError(
                    f"not valid JSON ({exc.msg} at column {exc.colno})",
                    path=path,
                    entry=f"line {number}",
                ) from None


def scan(path: Path, checker: Checker) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every line of the file, checked: ``(type, values)``."""
    for number, record in _records(path):
        try:
            yield checker.check(record)
        except _LineError as exc:
            raise ImportFormatError(str(exc), path=path, entry=f"line {number}") from None


def check_file(path: Path) -> Plan:
    """Read and check the whole file without writing anything (the first pass)."""
    checker = Checker()
    for _ in scan(path, checker):
        pass
    try:
        return checker.finish()
    except _LineError as exc:
        raise ImportFormatError(str(exc), path=path) from None
