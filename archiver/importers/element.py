"""``import element``: Element's "Export chat" JSON of a Matrix room.

The file: ``room_name``, ``room_creator``, ``topic``, ``export_date`` (locale-formatted, not
ISO: not read), ``exported_by``, and ``messages``: the room's raw Matrix events (``event_id``,
``sender``, ``origin_server_ts`` in ms, ``content``, ``unsigned``, usually ``room_id``).

Decisions, made to match what the live Matrix bot (``bot/platforms/matrix/events.py``) keeps,
so an imported history and a live one are the same archive:

* **Accounts** are the sender's mxid (``matrix:@user:server``): the live bot's people.
* **The space** is the room id, taken from the events' ``room_id``: the live bot's space for
  that room, so history imported before the bot joined and what it keeps after are one chat.
  An export without any ``room_id`` gets the chat id ``element:`` + a digest of the room's
  creator and name — a space of its own, which a later export of the same room (same creator
  and name) finds again; docs/import.md says so.
* **Names** come from the ``m.room.member`` events in the file: a message's author name is
  their display name as of that point in the file.
* **Messages** are ``m.room.message`` (and ``m.sticker``) events; the platform message id is the
  ``event_id``. The text is the body without a reply's quoted fallback; media (``m.image`` →
  ``photo``, ``m.video``, ``m.audio``, ``m.file`` → ``document``, ``m.location``) keep only a
  caption. Replies come from ``m.relates_to.m.in_reply_to``.
* **Edits** bundled in ``unsigned.m.relations.m.replace`` become versions: the text kept is the
  newest, the original a ``message_version`` (as the live bot stores an edit). An ``m.replace``
  event standing on its own in the list is not a message and is skipped.
* **Reactions** (``m.reaction`` events, ``m.annotation`` relations) come after the message
  they react to, so the reader makes a first pass over the file for them (only when the file
  holds any: a byte search decides) and hands each message its reactions, with who reacted,
  as a Telegram export's are: the keep emoji tag it on import, by the people who reacted, as
  the live bot's tags do. The pass keeps one entry per reacted message and emoji in memory.
* **Not stored**: redacted events (``unsigned.redacted_because``, a redacted reaction tags
  nothing), state and reaction events (counted as ``service``); encrypted events the export
  could not decrypt are counted as ``unsupported``.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from archiver.errors import ImportFormatError
from archiver.importers.entries import (
    EditedMessage,
    ExportedChat,
    ExportedMessage,
    ExportedReaction,
    MalformedEntry,
)
from archiver.importers.files import check_json_end, json_stream
from archiver.importers.telegram_export import _new_message as new_message

SOURCE = "import:element"
MESSAGE = "m.room.message"
STICKER = "m.sticker"
MEMBER = "m.room.member"
ENCRYPTED = "m.room.encrypted"
TEXT_TYPES = ("m.text", "m.emote", "m.notice")
# the live bot's kinds (bot/platforms/matrix/events.py MEDIA_TYPES): the same archive either way
MEDIA_TYPES = {
    "m.image": "photo",
    "m.video": "video",
    "m.audio": "audio",
    "m.file": "document",
    "m.location": "location",
}
ROOM_ID_LOOKAHEAD = 1000
_REPLY_FALLBACK = re.compile(r"\A(?:>[^\n]*\n)+\n?")


class _Content(msgspec.Struct):
    """What is read of an event's ``content`` (decoded into a struct, not a dict: a third
    of the reading time of a million events). Values are checked where they are used."""

    msgtype: Any = None
    body: Any = None
    filename: Any = None
    membership: Any = None
    displayname: Any = None
    relates_to: dict[str, Any] | None = msgspec.field(default=None, name="m.relates_to")


class _Unsigned(msgspec.Struct):
    """What is read of an event's ``unsigned``."""

    redacted_because: Any = None
    relations: dict[str, Any] | None = msgspec.field(default=None, name="m.relations")


class _Event(msgspec.Struct):
    """A Matrix event in the usual shape (other keys ignored)."""

    type: str
    event_id: str | None = None
    sender: str | None = None
    origin_server_ts: int | None = None
    content: _Content = msgspec.field(default_factory=_Content)
    unsigned: _Unsigned | None = None
    state_key: str | None = None
    room_id: str | None = None


_NO_UNSIGNED = _Unsigned()


class _AnnotationContent(msgspec.Struct):
    relates_to: Any = msgspec.field(default=None, name="m.relates_to")


class _AnnotationUnsigned(msgspec.Struct):
    redacted_because: Any = None


class _Annotation(msgspec.Struct):
    """Of any event, only what the first pass reads: structs all the way down, so the other
    keys of a million messages are skipped rather than built into dicts."""

    type: Any = None
    sender: Any = None
    content: _AnnotationContent | None = None
    unsigned: _AnnotationUnsigned | None = None


_decode_annotations = msgspec.json.Decoder(list[_Annotation]).decode
REACTION = "m.reaction"


_decode_run = msgspec.json.Decoder(list[_Event]).decode


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _ms(value: object) -> datetime | None:
    if value.__class__ is not int:
        return None
    try:
        return datetime.fromtimestamp(value / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def text_of(content: _Content, is_reply: bool) -> tuple[str, str | None]:
    """What the person wrote and the media kind, as the live bot reads it."""
    msgtype = content.msgtype
    body = content.body
    text = body if isinstance(body, str) else ""
    if is_reply:
        text = _REPLY_FALLBACK.sub("", text, count=1)
    if msgtype in TEXT_TYPES:
        return text, None
    kind = MEDIA_TYPES.get(str(msgtype), "document")
    filename = content.filename
    caption = text if isinstance(filename, str) and filename and filename != text else ""
    return caption, kind


class ElementExport:
    """An opened Element export (see the module doc)."""

    format = "element"
    platform = "matrix"
    source = SOURCE

    def __init__(self, path: Path, local_tz: ZoneInfo) -> None:
        self.path = path
        self.local_tz = local_tz  # Matrix times are UTC milliseconds: not used
        self.service_count = 0
        self._started = False
        self._reactions: dict[str, dict[str, list[str]]] = {}  # filled by the first pass
        check_json_end(path, b"}")
        header: dict[str, object] = {}
        room_id: str | None = None
        with json_stream(path) as stream:
            if stream.peek() != "{":
                raise ImportFormatError("not an Element export: not a JSON object", path=path)
            for key in stream.members():
                if key != "messages":
                    header[key] = stream.value()
                    continue
                if stream.peek() != "[":
                    raise ImportFormatError("'messages' is not a list", path=path)
                for seen, event in enumerate(stream.items()):
                    found = _dict(event).get("room_id")
                    if isinstance(found, str) and found.startswith("!"):
                        room_id = found
                    if room_id or seen >= ROOM_ID_LOOKAHEAD:
                        break
                break
            else:
                raise ImportFormatError("not an Element export: no 'messages' list", path=path)
        room_name = header.get("room_name")
        name = room_name if isinstance(room_name, str) else ""
        if "room_name" not in header and "exported_by" not in header:
            raise ImportFormatError(
                "not an Element export: no 'room_name' or 'exported_by' before 'messages'",
                path=path,
            )
        if room_id is None:
            creator = header.get("room_creator")
            seed = f"{creator if isinstance(creator, str) else ''}\x1f{name}"
            room_id = "element:" + hashlib.blake2b(seed.encode(), digest_size=8).hexdigest()
        self.chat = ExportedChat(room_id, name or room_id, "room")

    def entries(self) -> Iterator[ExportedMessage | MalformedEntry]:
        """Every message and malformed entry, in the file's order, once."""
        if self._started:
            raise RuntimeError("entries() can be iterated only once; reopen the file")
        self._started = True
        return self._iterate()

    def _iterate(self) -> Iterator[ExportedMessage | MalformedEntry]:
        names: dict[str, str] = {}
        self._reactions = reactions_in(self.path)
        with json_stream(self.path) as stream:
            for key in stream.members():
                if key != "messages":
                    stream.skip()
                    continue
                for index, raw in enumerate(stream.items(_decode_run)):
                    if raw.__class__ is _Event:
                        event: _Event = raw
                    else:
                        try:
                            event = msgspec.convert(raw, _Event)
                        except msgspec.ValidationError as error:
                            yield MalformedEntry(index, None, f"event #{index}: {error}")
                            continue
                    found = self._entry(index, event, names)
                    if found is None:
                        self.service_count += 1
                    else:
                        yield found
            stream.end()

    def _entry(
        self, index: int, event: _Event, names: dict[str, str]
    ) -> ExportedMessage | MalformedEntry | None:
        kind = event.type
        unsigned = event.unsigned or _NO_UNSIGNED
        if unsigned.redacted_because is not None:
            return None
        content = event.content
        if kind == MEMBER:
            who = event.state_key
            name = content.displayname
            if isinstance(who, str) and content.membership == "join":
                if isinstance(name, str) and name:
                    names[who] = name
                else:
                    names.pop(who, None)
            return None
        if kind == ENCRYPTED:
            return MalformedEntry(
                index, event.event_id, "an encrypted event the export did not decrypt", True
            )
        if kind != MESSAGE and kind != STICKER:
            return None
        relation = content.relates_to or {}
        if relation.get("rel_type") == "m.replace":
            return None  # an edit on its own: the edited message carries it (module doc)
        event_id, sender = event.event_id, event.sender
        if not event_id or not sender:
            return MalformedEntry(index, event_id, "missing 'event_id' or 'sender'")
        sent_at = _ms(event.origin_server_ts)
        if sent_at is None:
            return MalformedEntry(index, event_id, "missing or invalid 'origin_server_ts'")
        in_reply_to = _dict(relation.get("m.in_reply_to")).get("event_id")
        reply_to = in_reply_to if isinstance(in_reply_to, str) else None
        media: str | None
        if kind == STICKER:
            text, media = "", "sticker"
        else:
            text, media = text_of(content, reply_to is not None)
        name = names.get(sender)
        reactions = self._reactions.pop(event_id, None)
        reacted = (
            tuple(
                ExportedReaction(key, len(people), tuple(people))
                for key, people in reactions.items()
            )
            if reactions
            else ()
        )
        replace = _dict((unsigned.relations or {}).get("m.replace"))
        new = _dict(_dict(replace.get("content")).get("m.new_content"))
        new_body = new.get("body")
        edited_at = _ms(replace.get("origin_server_ts"))
        if isinstance(new_body, str) and media is None and new_body != text:
            replaced_at = edited_at or sent_at
            return EditedMessage(
                index=index,
                id=event_id,
                sent_at=sent_at,
                author_id=sender,
                author_name=name,
                text=new_body,
                reply_to=reply_to,
                edited_at=replaced_at,
                media_kind=None,
                reactions=reacted,
                forwarded=False,
                versions=((text, sent_at, replaced_at),),
            )
        return new_message(
            index, event_id, sent_at, sender, name, text, reply_to, None, media, reacted, False
        )


def reactions_in(path: Path) -> dict[str, dict[str, list[str]]]:
    """The first pass: reacted event id → emoji → who reacted (in the file's order, each
    person once). Empty, without parsing, when no reaction event is in the file."""
    with path.open("rb") as file:
        if os.fstat(file.fileno()).st_size == 0:
            return {}
        with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
            if data.find(REACTION.encode()) < 0:
                return {}
    found: dict[str, dict[str, list[str]]] = {}
    with json_stream(path) as stream:
        for key in stream.members():
            if key != "messages":
                stream.skip()
                continue
            for raw in stream.items(_decode_annotations):
                if raw.__class__ is _Annotation:
                    event: _Annotation = raw
                    if event.type != REACTION:
                        continue
                    kind, sender = event.type, event.sender
                    redacted = event.unsigned is not None and (
                        event.unsigned.redacted_because is not None
                    )
                    relates_to = event.content.relates_to if event.content else None
                else:
                    item = _dict(raw)
                    kind, sender = item.get("type"), item.get("sender")
                    redacted = _dict(item.get("unsigned")).get("redacted_because") is not None
                    relates_to = _dict(item.get("content")).get("m.relates_to")
                if kind != REACTION or not isinstance(sender, str) or redacted:
                    continue  # not a reaction, or one taken back
                relation = _dict(relates_to)
                target, emoji = relation.get("event_id"), relation.get("key")
                if relation.get("rel_type") != "m.annotation":
                    continue
                if not isinstance(target, str) or not isinstance(emoji, str) or not emoji:
                    continue
                people = found.setdefault(target, {}).setdefault(emoji, [])
                if sender not in people:
                    people.append(sender)
            break
    return found
