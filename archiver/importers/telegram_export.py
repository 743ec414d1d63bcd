"""Reader for Telegram Desktop's "Export chat history" JSON (``result.json``, one chat).

Pure parsing, no database: :func:`open_export` reads and checks the file and returns a
:class:`TelegramExport`, whose :meth:`TelegramExport.entries` turns the export's ``messages``
list into :class:`ExportedMessage` records, one :class:`MalformedEntry` for each entry that
cannot be read (the import goes on), and skips (and counts) service messages.

Both schema generations are read:

* **legacy** (Telegram Desktop before 2021): integer ``from_id``, ``date``/``edited`` in the
  exporter's local time without an offset, ``text`` as a string or a list of strings and
  ``{type, text}`` parts;
* **current**: ``from_id`` as ``"user123"``/``"channel123"``/``"chat123"``, ``date_unixtime`` /
  ``edited_unixtime`` (strings of digits, always preferred), ``text_entities`` (always a list),
  ``reactions``, ``reply_to_peer_id``, newer media kinds.

Decisions (see also the field docs below):

* **Chat id** (:attr:`ExportedChat.chat_id`, the Bot API form, so that it matches the
  ``spaces`` of the config): ``public_supergroup``, ``private_supergroup``, ``public_channel``
  and ``private_channel`` → ``"-100" + id``; ``private_group`` (basic group) → ``"-" + id``;
  ``personal_chat``, ``bot_chat``, ``saved_messages``, ``replies`` and ``verification_codes`` →
  the id as it is. An id that is already negative is kept as it is. Any other chat type is
  refused with an :class:`~archiver.errors.ImportFormatError`, since its id cannot be mapped.
* **Author id**: ``"user123"`` → ``"123"``; ``"channel123"`` (a channel posting, or an anonymous
  group admin) → ``"-100123"``; ``"chat123"`` → ``"-123"``. A legacy integer ``from_id`` is a
  user id, except that in a channel or supergroup export an integer equal to the chat's own id
  is the chat posting as itself (→ ``"-100" + id``). No ``from_id`` at all → ``None``.
* **Text**: ``text_entities`` joined when it is a non-empty list, else ``text`` (a string, or a
  list of strings and parts) joined. Only the visible text is kept: the ``href`` of a
  ``text_link`` and the ``user_id`` of a ``mention_name`` are not part of it. Newlines and
  spaces are kept as written.
* **Dates**: ``date_unixtime``/``edited_unixtime`` win; the legacy ``date``/``edited`` are read
  in ``local_tz`` (an offset written in the string wins over ``local_tz``); a wall time that
  occurs twice at a DST change is read as its first occurrence (``fold=0``).
* **Message ids**: the export's ``id`` as a string. In a supergroup that was once a basic group,
  the basic group's history appears with negative ids (``"-999678449"``): they are unique in the
  export but are not Bot API message ids of the supergroup.
* **Media kind**: the document's ``media_type`` as written (``sticker``, ``animation``,
  ``video_file``, ``video_message``, ``voice_message``, ``audio_file``, or whatever a newer
  Telegram Desktop writes); else ``photo``, ``file`` (a document of no special kind), ``poll``,
  ``venue`` (``place_name``), ``location``, ``contact``, ``todo_list``, ``game``, ``invoice``,
  ``giveaway``, ``giveaway_results``, ``paid_media``; ``None`` for a text-only message. Media
  that was not downloaded ("(File not included. …)") has the same kind.
* **Replies**: ``reply_to`` is the replied-to message id, or ``None`` when the export says the
  replied-to message lives in another chat (``reply_to_peer_id`` naming another chat).
* **Reactions**: an ``emoji`` reaction is its emoji; a ``custom_emoji`` reaction is
  ``"custom_emoji:" + document_id``; a ``paid`` (Telegram Stars) reaction is ``"⭐"``; an unknown
  kind is its ``emoji`` when it has one, else its ``type``. ``from_ids`` are the ``recent``
  reactors normalised like author ids (users → digits, channels → ``"-100…"``); recent entries
  without a usable ``from_id`` are left out.
* **Entries that are not messages**: ``"type": "service"`` entries are skipped and counted in
  :attr:`TelegramExport.service_count`; ``"type": "unsupported"`` (a message Telegram Desktop
  could not export: it has only an id) and any other unknown type yield a
  :class:`MalformedEntry`, so the importer can count what it could not keep.
* **Strictness**: an entry whose ``id``, date, ``from_id``, ``from``, ``text``,
  ``text_entities``, ``reply_to_message_id``, edit date or ``reactions`` is missing where
  required or of the wrong type yields a :class:`MalformedEntry` rather than a guess: a message
  must never be attributed to the wrong person or the wrong time.
* **Input**: a ``result.json``, or the export folder that holds it. A full-account export
  ("Export Telegram data", with ``chats.list``) is refused with a hint to export the one chat.
* **Memory**: the file is never held whole. :func:`open_export` reads only the header (up to
  ``messages``); :meth:`TelegramExport.entries` streams the ``messages`` list
  (``archiver.importers.json_stream``: runs of entries parsed by the C scanner, a chunk at a
  time), so a 1,000,000-message export (600 MB) is read in a few tens of MB. Call it once per
  opened export. A JSON error among the messages is therefore raised by ``entries()`` when it
  is reached, not by :func:`open_export` (an import keeps the batches finished before it, as
  after a crash; a rerun with a repaired file completes it).
* **Telegram Desktop quirk**: it writes control characters in text as ``\\xHH``, which is not
  valid JSON; each such escape is repaired (``\\u00HH``) where the parser meets it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import msgspec
from msgspec import UNSET, UnsetType

from archiver.errors import ImportFormatError
from archiver.importers.files import VARIES, hour_offset, json_stream
from archiver.importers.json_stream import JsonStream

__all__ = [
    "CHAT_ID_PREFIXES",
    "ExportedChat",
    "ExportedMessage",
    "ExportedReaction",
    "MalformedEntry",
    "TelegramExport",
    "open_export",
]


@dataclass(frozen=True, slots=True)
class ExportedReaction:
    """One reaction on a message, as the export summarises it."""

    emoji: str
    """The emoji; ``"custom_emoji:<document_id>"`` for a custom emoji, ``"⭐"`` for a paid one."""
    count: int
    """How many people reacted this way (may exceed ``len(from_ids)``)."""
    from_ids: tuple[str, ...]
    """Who reacted recently (the export lists only a few), normalised like
    :attr:`ExportedMessage.author_id` (users: digits); ``()`` when the export names nobody."""


@dataclass(frozen=True, slots=True)
class ExportedMessage:
    """One ordinary message of the export (service messages are never yielded)."""

    index: int
    """Position in the export's ``messages`` list (for error messages)."""
    id: str
    """The export's message id as a string (the Bot API ``message_id`` in supergroups)."""
    sent_at: datetime
    """When it was sent: timezone-aware, UTC."""
    author_id: str | None
    """Users: digits (``"368718073"``); chats posting as themselves: ``"-100…"``; or ``None``."""
    author_name: str | None
    """The export's ``from`` (``None`` for deleted accounts)."""
    text: str
    """Plain visible text, newlines kept; ``""`` for a message without text."""
    reply_to: str | None
    """The id of the message this one replies to, in the same chat."""
    edited_at: datetime | None
    """When it was last edited: timezone-aware, UTC."""
    media_kind: str | None
    """``"photo"``, ``"sticker"``, ``"video_file"``, ``"voice_message"``, ``"file"``, ``"poll"``,
    ``"location"``, ``"venue"``, ``"contact"``, … or ``None`` for a text-only message."""
    reactions: tuple[ExportedReaction, ...]
    """The message's reactions, in the export's order."""
    forwarded: bool
    """Whether it was forwarded from elsewhere (``forwarded_from`` present)."""


@dataclass(frozen=True, slots=True)
class MalformedEntry:
    """An entry of the ``messages`` list that cannot be read as a message."""

    index: int
    """Position in the export's ``messages`` list."""
    id: str | None
    """The entry's id when it has a usable one."""
    reason: str
    """What is wrong, one short line (e.g. ``"missing 'date'"``)."""
    unsupported: bool = False
    """Telegram Desktop's own ``"type": "unsupported"``: a message it could not export. Not
    a fault of the file: skipped and counted apart, never a failed import."""


@dataclass(frozen=True, slots=True)
class ExportedChat:
    """The exported chat itself."""

    chat_id: str
    """The Bot API chat id (see the module docs for the mapping)."""
    name: str
    """The chat's name (``"Saved Messages"`` for saved messages, which have none)."""
    type: str
    """The export's ``type``, e.g. ``"public_supergroup"``."""


class _MessageBuilder:
    """Builds an :class:`ExportedMessage` about three times faster than its frozen ``__init__``.

    A frozen dataclass sets each field through ``object.__setattr__``; this twin, with the very
    same slots, sets them directly and then becomes an ``ExportedMessage`` (``__class__``
    assignment between classes of identical layout). The result is an ordinary, frozen,
    hashable ``ExportedMessage``. :func:`_message_factory` checks at import time that this works
    on the running interpreter and falls back to the dataclass itself otherwise.
    """

    __slots__ = (
        "author_id",
        "author_name",
        "edited_at",
        "forwarded",
        "id",
        "index",
        "media_kind",
        "reactions",
        "reply_to",
        "sent_at",
        "text",
    )

    def __init__(
        self,
        index: int,
        id: str,
        sent_at: datetime,
        author_id: str | None,
        author_name: str | None,
        text: str,
        reply_to: str | None,
        edited_at: datetime | None,
        media_kind: str | None,
        reactions: tuple[ExportedReaction, ...],
        forwarded: bool,
    ) -> None:
        self.index = index
        self.id = id
        self.sent_at = sent_at
        self.author_id = author_id
        self.author_name = author_name
        self.text = text
        self.reply_to = reply_to
        self.edited_at = edited_at
        self.media_kind = media_kind
        self.reactions = reactions
        self.forwarded = forwarded
        self.__class__ = ExportedMessage  # type: ignore[assignment]


def _message_factory() -> Callable[..., ExportedMessage]:
    """The fastest way to build an ExportedMessage that gives the same object as the class."""
    fields = ExportedMessage.__dataclass_fields__
    sent, edited = datetime(2020, 1, 1, tzinfo=UTC), datetime(2021, 1, 1, tzinfo=UTC)
    args = (0, "0", sent, "1", "a", "t", "2", edited, "photo", (), True)  # all distinct
    if sorted(fields) == sorted(_MessageBuilder.__slots__):
        try:
            probe: object = _MessageBuilder(*args)
        except TypeError:  # __class__ assignment refused by this interpreter
            return ExportedMessage
        if type(probe) is ExportedMessage and probe == ExportedMessage(*args):
            return cast("Callable[..., ExportedMessage]", _MessageBuilder)
    return ExportedMessage


_new_message = _message_factory()


CHAT_ID_PREFIXES: dict[str, str] = {
    "public_supergroup": "-100",
    "private_supergroup": "-100",
    "public_channel": "-100",
    "private_channel": "-100",
    "private_group": "-",
    "personal_chat": "",
    "bot_chat": "",
    "saved_messages": "",
    "replies": "",
    "verification_codes": "",
}
"""Export chat ``type`` → prefix that turns the export's bare ``id`` into the Bot API chat id."""

# Which key makes a message a media message, in order of precedence, and its media kind.
# ``media_type`` (documents: sticker, animation, video_file, …) is handled before these.
_MEDIA_KEYS: tuple[tuple[str, str], ...] = (
    ("photo", "photo"),
    ("file", "file"),
    ("poll", "poll"),
    ("place_name", "venue"),
    ("location_information", "location"),
    ("contact_information", "contact"),
    ("todo_list", "todo_list"),
    ("game_title", "game"),
    ("invoice_information", "invoice"),
    ("giveaway_information", "giveaway"),
    ("giveaway_results", "giveaway_results"),
    ("paid_stars_amount", "paid_media"),
)

# Keys an ordinary text message may have; when an entry has no other key, the media lookup is
# skipped (one C-level subset test instead of a dozen dict probes).
_PLAIN_KEYS = frozenset(
    {
        "id",
        "type",
        "date",
        "date_unixtime",
        "edited",
        "edited_unixtime",
        "from",
        "from_id",
        "author",
        "forwarded_from",
        "forwarded_from_id",
        "saved_from",
        "reply_to_message_id",
        "reply_to_peer_id",
        "via_bot",
        "text",
        "text_entities",
        "reactions",
        "inline_bot_buttons",
    }
)


# -- the typed fast path ----------------------------------------------------------------------
#
# Most runs of entries in a real export have one shape. msgspec decodes such a run straight
# into these structs, skipping what the importer does not read (a message's text is written
# twice, in ``text`` and ``text_entities``, and only one is needed per entry), about three times
# faster than ``json.loads`` builds dicts. The types admit only the usual shape: a run holding
# anything else fails to decode and is read as plain JSON by the checks of the dict path, so
# every unusual entry is judged by one set of rules (tests/test_telegram_export_typed.py
# compares both paths entry by entry).


class _Part(msgspec.Struct):
    """One element of ``text_entities`` (only its visible text is read)."""

    text: str


class _Entry(msgspec.Struct):
    """One entry of ``messages`` in the usual shape; absent keys are ``UNSET``."""

    id: int | UnsetType = UNSET
    type: str | UnsetType | None = UNSET
    date_unixtime: str | UnsetType | None = UNSET
    date: str | UnsetType | None = UNSET
    from_id: str | int | UnsetType | None = UNSET
    from_: str | UnsetType | None = msgspec.field(default=UNSET, name="from")
    text: str | list[str | dict[str, Any]] | UnsetType = UNSET
    text_entities: list[_Part] | UnsetType = UNSET
    reply_to_message_id: int | UnsetType | None = UNSET
    reply_to_peer_id: str | int | UnsetType | None = UNSET
    edited_unixtime: str | UnsetType | None = UNSET
    edited: str | UnsetType | None = UNSET
    reactions: msgspec.Raw | UnsetType = UNSET
    forwarded_from: msgspec.Raw | UnsetType = UNSET
    media_type: str | UnsetType | None = UNSET
    # present or not is all that counts (see _MEDIA_KEYS)
    photo: msgspec.Raw | UnsetType = UNSET
    file: msgspec.Raw | UnsetType = UNSET
    poll: msgspec.Raw | UnsetType = UNSET
    place_name: msgspec.Raw | UnsetType = UNSET
    location_information: msgspec.Raw | UnsetType = UNSET
    contact_information: msgspec.Raw | UnsetType = UNSET
    todo_list: msgspec.Raw | UnsetType = UNSET
    game_title: msgspec.Raw | UnsetType = UNSET
    invoice_information: msgspec.Raw | UnsetType = UNSET
    giveaway_information: msgspec.Raw | UnsetType = UNSET
    giveaway_results: msgspec.Raw | UnsetType = UNSET
    paid_stars_amount: msgspec.Raw | UnsetType = UNSET


_decode_run = msgspec.json.Decoder(list[_Entry]).decode
_decode_raw = msgspec.json.decode
assert {key for key, _ in _MEDIA_KEYS} <= set(_Entry.__struct_fields__)

_SAVED_MESSAGES_NAME = "Saved Messages"


def _short(value: object) -> str:
    """A value shown in a one-line reason: its repr, cut to 40 characters."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _json_kind(value: object) -> str:
    """The JSON name of a parsed value's type, for messages."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "null"


_ABSENT = object()  # the document has no such member


def _read_header(path: Path) -> tuple[dict[str, object], object]:
    """The export's members other than ``messages`` (read whole: they are small), and
    ``messages`` itself: ``list`` when it is a list (not read here), the value when it is
    something else, ``_ABSENT`` when there is none.

    Telegram Desktop writes ``name``, ``type`` and ``id`` before ``messages``, so the reading
    stops there; when ``type`` or ``id`` come only after it, the list is skipped to reach them.
    """
    header: dict[str, object] = {}
    messages: object = _ABSENT
    with _opened(path) as stream:
        if stream.peek() != "{":
            return header, stream.value()  # not an object: _chat_header says what it is
        for key in stream.members():
            if key != "messages":
                header[key] = stream.value()
            elif stream.peek() != "[":
                messages = stream.value()
            elif "type" in header and "id" in header:
                return header, list
            else:
                stream.skip()
                messages = list
        stream.end()
    return header, messages


def _opened(path: Path) -> contextlib.AbstractContextManager[JsonStream]:
    """The file as a JSON stream, every failure turned into one clear ImportFormatError."""
    return json_stream(
        path, folder="is a folder without a result.json: pass the export's result.json"
    )


def _chat_header(
    header: dict[str, object], messages: object, path: Path
) -> tuple[ExportedChat, int]:
    """Check that the document is one chat's export; return the chat and its bare id."""
    if messages is not list and not header and messages is not _ABSENT:
        raise ImportFormatError(
            f"not a Telegram chat export: the file holds {_json_kind(messages)}, "
            "not an object with 'messages'",
            path=path,
        )
    if messages is _ABSENT:
        chats = header.get("chats")
        if isinstance(chats, dict) or "personal_information" in header:
            listed = chats.get("list") if isinstance(chats, dict) else None
            count = f" with {len(listed)} chats" if isinstance(listed, list) else ""
            raise ImportFormatError(
                f"a full Telegram data export{count}, not a single chat: in Telegram Desktop "
                "open the chat and use 'Export chat history', then import that result.json",
                path=path,
            )
        raise ImportFormatError("not a Telegram chat export: no 'messages' list", path=path)
    if messages is not list:
        raise ImportFormatError(
            f"'messages' is {_json_kind(messages)}, not a list", path=path, entry="messages"
        )
    chat_type = header.get("type")
    bare_id = header.get("id")
    if chat_type is None or bare_id is None:
        missing = [f"'{key}'" for key in ("type", "id") if header.get(key) is None]
        verb = "are" if len(missing) > 1 else "is"
        raise ImportFormatError(
            f"not a Telegram chat export: the chat's {' and '.join(missing)} {verb} missing "
            "(a Telegram Desktop export starts with 'name', 'type', 'id' and 'messages')",
            path=path,
        )
    if not isinstance(chat_type, str) or chat_type not in CHAT_ID_PREFIXES:
        known = ", ".join(CHAT_ID_PREFIXES)
        raise ImportFormatError(
            f"unknown chat type {_short(chat_type)} (known: {known})", path=path, entry="type"
        )
    if type(bare_id) is not int:
        raise ImportFormatError(
            f"the chat id {_short(bare_id)} is not a number", path=path, entry="id"
        )
    chat_id = str(bare_id) if bare_id < 0 else CHAT_ID_PREFIXES[chat_type] + str(bare_id)
    name = header.get("name")
    if not isinstance(name, str):
        name = _SAVED_MESSAGES_NAME if chat_type == "saved_messages" else ""
    return ExportedChat(chat_id=chat_id, name=name, type=chat_type), bare_id


def open_export(path: Path, *, local_tz: ZoneInfo, typed: bool = True) -> TelegramExport:
    """Open a Telegram Desktop single-chat export (``result.json``, or the folder holding it).

    ``local_tz`` is the time zone of the computer that made the export: it is used only for the
    legacy ``date``/``edited`` fields, which have no offset. Raises
    :class:`~archiver.errors.ImportFormatError` (one line, naming the file) when the file
    cannot be read, is not JSON (line and column given), or is not one chat's export. Only the
    header is read here; the messages are read as :meth:`TelegramExport.entries` goes, and a
    JSON error among them is raised from there.

    ``typed=False`` reads every entry as plain JSON, never through the typed fast path (the
    result is the same; tests compare the two).
    """
    path = Path(path)
    if path.is_dir() and (path / "result.json").is_file():
        path = path / "result.json"
    header, messages = _read_header(path)
    chat, bare_id = _chat_header(header, messages, path)
    export = TelegramExport(chat, bare_id=bare_id, local_tz=local_tz, path=path)
    export.typed = typed
    return export


class TelegramExport:
    """An opened export: chat header plus a one-pass iterator of entries."""

    __slots__ = (
        "_bare_id",
        "_count",
        "_local_tz",
        "_offsets",
        "_peers",
        "_started",
        "chat",
        "path",
        "service_count",
        "typed",
        "typed_count",
    )

    format = "telegram"
    """This reader's name (``archiver.importers.readers``)."""
    platform = "telegram"
    """The platform of the export's accounts."""
    source = "import:telegram"
    """What kept messages record as their source."""

    chat: ExportedChat
    """The exported chat."""
    path: Path
    """The file that was read."""
    service_count: int
    """Service messages seen so far in :meth:`entries` (they are skipped, not yielded)."""
    typed: bool
    """Whether runs of entries in the usual shape are decoded by the typed fast path."""
    typed_count: int
    """Entries read so far through the typed fast path."""

    def __init__(
        self,
        chat: ExportedChat,
        *,
        bare_id: int,
        local_tz: ZoneInfo,
        path: Path,
    ) -> None:
        """Wrap an already-checked export; use :func:`open_export` rather than this."""
        self.chat = chat
        self.path = path
        self.service_count = 0
        self.typed = True
        self.typed_count = 0
        self._count: int | None = None  # known once counted or read
        self._bare_id = bare_id
        self._local_tz = local_tz
        self._started = False
        # raw from_id → normalised author id ("" = not a peer id); most chats have few senders
        self._peers: dict[object, str] = {}
        # "YYYY-MM-DDTHH" of a legacy local date → that hour's UTC offset (or VARIES)
        self._offsets: dict[str, timedelta] = {}

    @property
    def local_tz(self) -> ZoneInfo:
        """The time zone the legacy local dates are read in."""
        return self._local_tz

    def __len__(self) -> int:
        """Number of entries in the export's ``messages`` list. Before :meth:`entries` has
        been read through, this reads the file once more to count them."""
        if self._count is None:
            count = 0
            for _ in self._raw_entries():
                count += 1
            self._count = count
        return self._count

    def __repr__(self) -> str:
        """Short description for debugging."""
        return f"<TelegramExport {self.chat.chat_id} {self.chat.name!r} at {self.path}>"

    def entries(self) -> Iterator[ExportedMessage | MalformedEntry]:
        """Yield every message and malformed entry, in the export's order, once.

        Service messages are skipped and counted in :attr:`service_count`. Each raw entry is
        released as soon as it is read, so this can be iterated only once per opened export.
        """
        if self._started:
            raise RuntimeError(
                "TelegramExport.entries() can be iterated only once; reopen the file"
            )
        self._started = True
        return self._iterate()

    def raw_messages(self) -> Iterator[object]:
        """The ``messages`` list's values as parsed JSON (dicts for an export opened with
        ``typed=False``), one at a time: for the file pass (``telegram_media``)."""
        return self._raw_entries()

    def _raw_entries(self) -> Iterator[object]:
        """The ``messages`` list's values, parsed one at a time; then the rest of the file is
        checked (one JSON document, nothing after it)."""
        with _opened(self.path) as stream:
            for key in stream.members():
                if key == "messages":
                    yield from stream.items(_decode_run if self.typed else None)
                else:
                    stream.skip()
            stream.end()

    # -- the hot path ----------------------------------------------------------------------

    def _peer(self, raw: object) -> str:
        """Normalise a ``from_id``-like value: an author id, or ``""`` when it is not one."""
        cls = raw.__class__
        if cls is str or cls is int:
            known = self._peers.get(raw)
            if known is None:
                known = self._peers[raw] = self._normalise_peer(raw)
            return known
        return ""

    def _normalise_peer(self, raw: object) -> str:
        if isinstance(raw, str):
            for prefix, bot_api in (("user", ""), ("channel", "-100"), ("chat", "-")):
                if raw.startswith(prefix):
                    digits = raw[len(prefix) :]
                    if digits.isascii() and digits.isdigit():
                        return bot_api + str(int(digits))
                    return ""
            return ""
        if isinstance(raw, int) and not isinstance(raw, bool):
            if raw < 0:
                return str(raw)
            if raw == self._bare_id and CHAT_ID_PREFIXES[self.chat.type] == "-100":
                return "-100" + str(raw)
            return str(raw)
        return ""

    def _iterate(self) -> Iterator[ExportedMessage | MalformedEntry]:
        peers = self._peers
        peer = self._peer
        chat_id = self.chat.chat_id
        from_ts = datetime.fromtimestamp
        utc = UTC
        plain_keys = _PLAIN_KEYS
        media_keys = _MEDIA_KEYS
        new_message = _new_message
        no_reactions: tuple[ExportedReaction, ...] = ()
        services = 0

        typed = self._typed_entry
        index = -1
        for index, raw in enumerate(self._raw_entries()):
            if raw.__class__ is _Entry:
                self.typed_count += 1
                result = typed(index, raw)
                if result is None:
                    services += 1
                    self.service_count = services
                else:
                    yield result
                continue
            if type(raw) is not dict:
                yield MalformedEntry(index, None, f"entry is {_json_kind(raw)}, not an object")
                continue
            get = raw.get
            kind = get("type")
            if kind != "message":
                if kind == "service":
                    services += 1
                    self.service_count = services
                else:
                    yield self._not_a_message(index, raw, kind)
                continue

            # -- id
            raw_id = get("id")
            if raw_id.__class__ is int:
                message_id = str(raw_id)
            else:
                yield self._bad_id(index, raw_id)
                continue

            # -- sent_at
            stamp = get("date_unixtime")
            if stamp.__class__ is str:
                try:
                    sent_at = from_ts(int(stamp), utc)
                except (OverflowError, OSError, ValueError):
                    yield MalformedEntry(
                        index, message_id, f"invalid 'date_unixtime' {_short(stamp)}"
                    )
                    continue
            elif stamp is None:
                local = get("date")
                if local is None:
                    yield MalformedEntry(index, message_id, "missing 'date'")
                    continue
                sent = self._local_date(local)
                if sent is None:
                    yield MalformedEntry(index, message_id, f"invalid 'date' {_short(local)}")
                    continue
                sent_at = sent
            else:
                sent = self._unix_date(stamp)
                if sent is None:
                    yield MalformedEntry(
                        index, message_id, f"invalid 'date_unixtime' {_short(stamp)}"
                    )
                    continue
                sent_at = sent

            # -- author
            raw_from = get("from_id")
            author_id: str | None
            if raw_from is None:
                author_id = None
            else:
                cls = raw_from.__class__
                author_id = peers.get(raw_from) if cls is str or cls is int else None
                if author_id is None:
                    author_id = peer(raw_from)
                if not author_id:
                    yield MalformedEntry(index, message_id, f"invalid 'from_id' {_short(raw_from)}")
                    continue
            author_name = get("from")
            if author_name is not None and author_name.__class__ is not str:
                yield MalformedEntry(index, message_id, f"invalid 'from' {_short(author_name)}")
                continue

            # -- text
            entities = get("text_entities")
            text: str
            if entities.__class__ is list and entities:
                try:
                    if len(entities) == 1:
                        text = entities[0]["text"]
                        if text.__class__ is not str:
                            raise TypeError
                    else:
                        text = "".join([part["text"] for part in entities])
                except (TypeError, KeyError):
                    yield MalformedEntry(index, message_id, "invalid 'text_entities'")
                    continue
            else:
                body = get("text")
                if body.__class__ is str:
                    text = body
                elif body.__class__ is list:
                    try:
                        text = "".join(
                            [part if part.__class__ is str else part["text"] for part in body]
                        )
                    except (TypeError, KeyError):
                        yield MalformedEntry(index, message_id, "invalid 'text'")
                        continue
                elif body is None and "text" not in raw:
                    if entities.__class__ is not list:
                        yield MalformedEntry(index, message_id, "missing 'text'")
                        continue
                    text = ""
                else:
                    yield MalformedEntry(index, message_id, f"invalid 'text' {_short(body)}")
                    continue
                if entities is not None and entities.__class__ is not list:
                    yield MalformedEntry(index, message_id, "invalid 'text_entities'")
                    continue

            # -- reply_to
            reply = get("reply_to_message_id")
            reply_to: str | None
            if reply is None:
                reply_to = None
            elif reply.__class__ is int:
                reply_to = str(reply)
                other = get("reply_to_peer_id")
                if other is not None and peer(other) != chat_id:
                    reply_to = None  # a reply to a message in another chat
            else:
                yield MalformedEntry(
                    index, message_id, f"invalid 'reply_to_message_id' {_short(reply)}"
                )
                continue

            # -- edited_at
            edited_at: datetime | None
            edited_stamp = get("edited_unixtime")
            if edited_stamp is None:
                edited_local = get("edited")
                if edited_local is None:
                    edited_at = None
                else:
                    edited_at = self._local_date(edited_local)
                    if edited_at is None:
                        yield MalformedEntry(
                            index, message_id, f"invalid 'edited' {_short(edited_local)}"
                        )
                        continue
            else:
                edited_at = self._unix_date(edited_stamp)
                if edited_at is None:
                    yield MalformedEntry(
                        index, message_id, f"invalid 'edited_unixtime' {_short(edited_stamp)}"
                    )
                    continue

            # -- media
            media_kind: str | None = None
            if not raw.keys() <= plain_keys:
                media_type = get("media_type")
                if media_type.__class__ is str and media_type:
                    media_kind = media_type
                else:
                    for key, media in media_keys:
                        if key in raw:
                            media_kind = media
                            break

            # -- reactions
            raw_reactions = get("reactions")
            reactions: tuple[ExportedReaction, ...]
            if raw_reactions is None:
                reactions = no_reactions
            else:
                parsed = self._reactions(raw_reactions)
                if parsed is None:
                    yield MalformedEntry(index, message_id, "invalid 'reactions'")
                    continue
                reactions = parsed

            yield new_message(
                index,
                message_id,
                sent_at,
                author_id,
                author_name,
                text,
                reply_to,
                edited_at,
                media_kind,
                reactions,
                "forwarded_from" in raw,
            )
        self._count = index + 1

    def _typed_entry(self, index: int, entry: _Entry) -> ExportedMessage | MalformedEntry | None:
        """:meth:`_iterate`'s rules for an entry decoded by the typed fast path (``None``: a
        service message). The struct's types already hold what the dict path checks by hand."""
        kind = entry.type
        raw_id = entry.id
        if kind != "message":
            if kind == "service":
                return None
            entry_id: dict[str, object] = {} if raw_id is UNSET else {"id": raw_id}
            return self._not_a_message(index, entry_id, None if kind is UNSET else kind)
        if raw_id is UNSET:
            return self._bad_id(index, None)
        message_id = str(raw_id)

        stamp = entry.date_unixtime
        if stamp.__class__ is str:
            try:
                sent_at = datetime.fromtimestamp(int(stamp), UTC)
            except (OverflowError, OSError, ValueError):
                return MalformedEntry(index, message_id, f"invalid 'date_unixtime' {_short(stamp)}")
        else:
            local = entry.date
            if local is UNSET or local is None:
                return MalformedEntry(index, message_id, "missing 'date'")
            sent = self._local_date(local)
            if sent is None:
                return MalformedEntry(index, message_id, f"invalid 'date' {_short(local)}")
            sent_at = sent

        raw_from = entry.from_id
        author_id: str | None = None
        if raw_from is not UNSET and raw_from is not None:
            author_id = self._peers.get(raw_from) or self._peer(raw_from)
            if not author_id:
                return MalformedEntry(index, message_id, f"invalid 'from_id' {_short(raw_from)}")
        author_name = entry.from_
        if author_name is UNSET:
            author_name = None

        entities = entry.text_entities
        text: str
        if entities:  # UNSET is falsy, like an empty list
            parts = entities
            text = parts[0].text if len(parts) == 1 else "".join([part.text for part in parts])
        else:
            body = entry.text
            if body.__class__ is str:
                text = body
            elif body is UNSET:
                if entities is UNSET:
                    return MalformedEntry(index, message_id, "missing 'text'")
                text = ""
            else:
                try:
                    text = "".join(
                        [
                            part if part.__class__ is str else part["text"]  # type: ignore[index]
                            for part in cast(list[object], body)
                        ]
                    )
                except (TypeError, KeyError):
                    return MalformedEntry(index, message_id, "invalid 'text'")

        reply = entry.reply_to_message_id
        reply_to: str | None = None
        if reply is not UNSET and reply is not None:
            reply_to = str(reply)
            other = entry.reply_to_peer_id
            if other is not UNSET and other is not None and self._peer(other) != self.chat.chat_id:
                reply_to = None  # a reply to a message in another chat

        edited_at: datetime | None = None
        edited_stamp = entry.edited_unixtime
        if edited_stamp is UNSET or edited_stamp is None:
            edited_local = entry.edited
            if edited_local is not UNSET and edited_local is not None:
                edited_at = self._local_date(edited_local)
                if edited_at is None:
                    return MalformedEntry(
                        index, message_id, f"invalid 'edited' {_short(edited_local)}"
                    )
        else:
            edited_at = self._unix_date(edited_stamp)
            if edited_at is None:
                return MalformedEntry(
                    index, message_id, f"invalid 'edited_unixtime' {_short(edited_stamp)}"
                )

        media_kind: str | None = None
        media_type = entry.media_type
        if media_type.__class__ is str and media_type:
            media_kind = media_type
        else:
            for key, media in _MEDIA_KEYS:
                if getattr(entry, key) is not UNSET:
                    media_kind = media
                    break

        reactions: tuple[ExportedReaction, ...] = ()
        if entry.reactions is not UNSET:
            raw_reactions = _decode_raw(entry.reactions)
            if raw_reactions is not None:
                parsed = self._reactions(raw_reactions)
                if parsed is None:
                    return MalformedEntry(index, message_id, "invalid 'reactions'")
                reactions = parsed

        return _new_message(
            index,
            message_id,
            sent_at,
            author_id,
            author_name,
            text,
            reply_to,
            edited_at,
            media_kind,
            reactions,
            entry.forwarded_from is not UNSET,
        )

    # -- the slow paths (rare entries) -------------------------------------------------------

    def _not_a_message(self, index: int, raw: dict[str, object], kind: object) -> MalformedEntry:
        raw_id = raw.get("id")
        entry_id = str(raw_id) if type(raw_id) is int else None
        if kind is None:
            return MalformedEntry(index, entry_id, "missing 'type'")
        if kind == "unsupported":
            return MalformedEntry(
                index,
                entry_id,
                "a message Telegram Desktop could not export ('unsupported')",
                unsupported=True,
            )
        return MalformedEntry(index, entry_id, f"unknown entry type {_short(kind)}")

    @staticmethod
    def _bad_id(index: int, raw_id: object) -> MalformedEntry:
        if raw_id is None:
            return MalformedEntry(index, None, "missing 'id'")
        return MalformedEntry(index, None, f"invalid 'id' {_short(raw_id)}")

    def _local_date(self, value: object) -> datetime | None:
        """A legacy ``date``/``edited`` (local wall time, ISO 8601) in UTC, or ``None``."""
        if value.__class__ is not str:
            return None
        assert isinstance(value, str)
        try:
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is not None:
                return moment.astimezone(UTC)
            if len(value) == 19 and value[13] == ":":  # the exporter's "YYYY-MM-DDTHH:MM:SS"
                hour = value[:13]
                offset = self._offsets.get(hour)
                if offset is None:
                    offset = self._offsets[hour] = hour_offset(moment, self._local_tz)
                if offset is not VARIES:
                    return (moment - offset).replace(tzinfo=UTC)
            return moment.replace(tzinfo=self._local_tz).astimezone(UTC)
        except (ValueError, OverflowError):
            return None

    @staticmethod
    def _unix_date(value: object) -> datetime | None:
        """A ``*_unixtime`` value (string of digits, or a number) in UTC, or ``None``."""
        if not isinstance(value, str | int) or isinstance(value, bool):
            return None
        try:
            return datetime.fromtimestamp(int(value), UTC)
        except (OverflowError, OSError, ValueError):
            return None

    def _reactions(self, value: object) -> tuple[ExportedReaction, ...] | None:
        """The ``reactions`` list, or ``None`` when it is not in the expected shape."""
        if not isinstance(value, list):
            return None
        result: list[ExportedReaction] = []
        for item in value:
            if not isinstance(item, dict):
                return None
            count = item.get("count")
            if type(count) is not int or count < 0:
                return None
            kind = item.get("type")
            emoji = item.get("emoji")
            if kind == "emoji" or (kind is None and emoji is not None):
                if not isinstance(emoji, str) or not emoji:
                    return None
                name = emoji
            elif kind == "custom_emoji":
                document = item.get("document_id")
                if not isinstance(document, str | int) or isinstance(document, bool):
                    return None
                name = f"custom_emoji:{document}"
            elif kind == "paid":
                name = "⭐"
            elif isinstance(emoji, str) and emoji:
                name = emoji
            elif isinstance(kind, str) and kind:
                name = kind
            else:
                return None
            recent = item.get("recent")
            from_ids: tuple[str, ...] = ()
            if isinstance(recent, list):
                found = [
                    reactor
                    for one in recent
                    if isinstance(one, dict) and (reactor := self._peer(one.get("from_id")))
                ]
                from_ids = tuple(found)
            elif recent is not None:
                return None
            result.append(ExportedReaction(emoji=name, count=count, from_ids=from_ids))
        return tuple(result)
