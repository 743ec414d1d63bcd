"""Tests of the Telegram Desktop export parser (archiver.importers.telegram_export).

The real sample exports live in ``../shared/data/telegram`` (third-party data, see its
SOURCES.md); tests that need them skip when the folder is absent. Everything else runs on small
synthetic exports written to ``tmp_path``.
"""

from __future__ import annotations

import dataclasses
import gc
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from archiver.errors import ImportFormatError
from archiver.importers import telegram_export
from archiver.importers.telegram_export import (
    ExportedMessage,
    ExportedReaction,
    MalformedEntry,
    TelegramExport,
    open_export,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "telegram"
JAKARTA = ZoneInfo("Asia/Jakarta")  # where the tgif exports were made (UTC+7, no DST)
BERLIN = ZoneInfo("Europe/Berlin")

# file → (messages, malformed, service) it yields, or the text of the error it raises
EXPECTED: dict[str, tuple[int, int, int] | str] = {
    "tcp_bot.json": (2, 0, 0),
    "tcp_error.json": "invalid JSON at line 5, column 3",
    # valid header, broken entries: each broken entry is a MalformedEntry, the rest imports
    "tcp_error-unexpected.json": (10, 5, 1),
    "tcp_personal.json": (0, 0, 0),  # a personal chat with no messages: still one chat
    "tcp_private_channel.json": (5, 0, 2),
    "tcp_private_group.json": (1, 0, 1),
    "tcp_public_channel.json": (5, 0, 2),
    "tcp_public_supergroup.json": (1, 0, 3),
    "tcp_saved.json": (20, 0, 1),
    "tcp_users_test.json": (8, 0, 1),
    "tgif_biasa-vs-enterprise-linux-distro.json": (37, 0, 0),
    "tgif_coorporate-speak.json": (155, 0, 0),
    "tgif_database-isolation-level.json": (98, 0, 0),
    "tgif_dependency-injection-in-a-nutshell.json": (29, 0, 0),
    "tgif_disable-service-gcp-ingress.json": (38, 0, 0),
    "tgif_membuat-linq-efisien.json": (53, 0, 0),
    "tgif_oop.json": (46, 0, 0),
    "tgif_perlu-belajar-assembly.json": (61, 0, 0),
    "tgif_praktik-load-balancer.json": (43, 0, 0),
    "tgif_pujangga-kode-1.json": (82, 0, 0),
    "tgif_pujangga-kode-2.json": (135, 0, 0),
    "tgif_software-testing.json": (197, 0, 0),
    "tgif_ssl-tidak-hanya-untuk-website.json": (14, 0, 0),
    "tgif_tdd-and-clean-architecture.json": (191, 0, 0),
    "tkonverter_result.json": (25, 1, 61),
    "tkonverter_result_group.json": (23, 1, 21),
}
SAMPLES = sorted(
    set(EXPECTED) | ({p.name for p in DATA.glob("*.json")} if DATA.is_dir() else set())
)


def sample(name: str) -> Path:
    """The path of a sample export, or skip the test when the shared data is absent."""
    path = DATA / name
    if not path.is_file():
        pytest.skip(f"sample data not available: {path}")
    return path


def read_all(
    path: Path, tz: ZoneInfo = JAKARTA
) -> tuple[TelegramExport, list[ExportedMessage], list[MalformedEntry]]:
    """Open an export and split its entries into messages and malformed entries."""
    export = open_export(path, local_tz=tz)
    messages: list[ExportedMessage] = []
    malformed: list[MalformedEntry] = []
    for entry in export.entries():
        if isinstance(entry, MalformedEntry):
            malformed.append(entry)
        else:
            messages.append(entry)
    return export, messages, malformed


def only_messages(path: Path, tz: ZoneInfo = JAKARTA) -> list[ExportedMessage]:
    """All entries of an export that must hold only messages."""
    _, messages, malformed = read_all(path, tz)
    assert malformed == []
    return messages


def by_id(messages: list[ExportedMessage]) -> dict[str, ExportedMessage]:
    return {m.id: m for m in messages}


def write_export(tmp_path: Path, messages: list[Any], **header: Any) -> Path:
    """Write a small single-chat export and return its path."""
    document = {"name": "Test", "type": "private_supergroup", "id": 1234567890, **header}
    document["messages"] = messages
    path = tmp_path / "result.json"
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def msg(id: Any = 1, **fields: Any) -> dict[str, Any]:
    """A current-format text message with overridable fields."""
    entry: dict[str, Any] = {
        "id": id,
        "type": "message",
        "date": "2024-05-01T10:00:00",
        "date_unixtime": "1714557600",
        "from": "Li Lei",
        "from_id": "user42",
        "text": "hello",
        "text_entities": [{"type": "plain", "text": "hello"}],
    }
    entry.update(fields)
    return {k: v for k, v in entry.items() if v is not DROP}


DROP = object()  # msg(field=DROP) removes a field


def utc(year: int, month: int, day: int, hour: int, minute: int, second: int) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# -- every sample ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", SAMPLES)
def test_every_sample_parses_or_fails_as_expected(name: str) -> None:
    path = sample(name)
    expected = EXPECTED.get(name, "no malformed entries")
    if isinstance(expected, str) and expected != "no malformed entries":
        with pytest.raises(ImportFormatError) as caught:
            read_all(path)
        assert expected in str(caught.value)
        assert "\n" not in str(caught.value)
        assert str(path) in str(caught.value)
        return
    export, messages, malformed = read_all(path)
    counts = (len(messages), len(malformed), export.service_count)
    if isinstance(expected, tuple):
        assert counts == expected
    else:
        assert not malformed, f"a new sample file has malformed entries: {malformed}"
    assert len(export) == sum(counts)
    for message in messages:
        assert type(message) is ExportedMessage
        assert message.sent_at.tzinfo is UTC
        assert message.edited_at is None or message.edited_at.tzinfo is UTC
        assert isinstance(message.text, str)
        assert message.author_id is None or message.author_id.lstrip("-").isdigit()
    for entry in malformed:
        assert entry.reason and "\n" not in entry.reason


def test_broken_entries_of_the_unexpected_sample_are_named() -> None:
    _, messages, malformed = read_all(sample("tcp_error-unexpected.json"))
    assert [(m.index, m.id, m.reason) for m in malformed] == [
        (0, "173429", "unknown entry type 'ERROR:wrong_type'"),
        (1, "173429", "invalid 'from_id' 'ERROR:from is string'"),
        (2, "176169", "invalid 'text' {'error': 'ERROR: text is object'}"),
        (6, "210087", "missing 'text'"),
        (7, None, "missing 'id'"),
    ]
    # an entry without from_id is kept, with an unknown author
    assert by_id(messages)["183290"].author_id is None
    assert by_id(messages)["183290"].author_name == "Ben"


# -- exact checks on known messages ---------------------------------------------------------


def test_tgif_legacy_supergroup_messages() -> None:
    export, messages, _ = read_all(sample("tgif_oop.json"))
    assert export.chat.chat_id == "-1001712691810"
    assert export.chat.name == "Teknologi Umum v2.0"
    assert export.chat.type == "public_supergroup"
    found = by_id(messages)

    first = found["95364"]
    assert first.index == 0
    assert first.author_id == "368718073"
    assert first.author_name == "Ahmad Tohir"
    assert first.reply_to == "95359"
    assert first.text == "btw"
    assert first.sent_at == utc(2022, 9, 16, 14, 3, 57)  # 21:03:57 in Jakarta

    link = found["95365"]
    assert link.text == "https://t.me/dotnetcore_id/34404\n\ndapet insight dari ini"
    assert link.reply_to is None

    edited = found["95366"]
    assert edited.edited_at == utc(2022, 9, 16, 14, 4, 57)

    assert found["95370"].forwarded is True
    assert found["95364"].forwarded is False

    deleted = found["95406"]
    assert deleted.author_name is None
    assert deleted.author_id == "1168523623"
    assert deleted.text == "👀 👀 👀"


def test_tgif_unixtime_wins_over_local_time() -> None:
    path = sample("tgif_coorporate-speak.json")
    _, in_jakarta, _ = read_all(path, JAKARTA)
    _, in_berlin, _ = read_all(path, BERLIN)
    assert in_jakarta == in_berlin
    first = by_id(in_jakarta)["10821"]
    assert first.sent_at == utc(2022, 6, 5, 8, 42, 59)
    assert first.edited_at == utc(2022, 6, 5, 9, 2, 30)
    assert first.text == "https://howtoprofessionallysay.akashrajpurohit.com/"
    photo = by_id(in_jakarta)["10822"]
    assert photo.media_kind == "photo"
    assert photo.text == ""


def test_legacy_local_dates_match_unixtime(tmp_path: Path) -> None:
    # the same export with the *_unixtime fields removed reads the same in the exporter's zone
    original = sample("tgif_coorporate-speak.json")
    document = json.loads(original.read_text(encoding="utf-8"))
    for entry in document["messages"]:
        entry.pop("date_unixtime", None)
        entry.pop("edited_unixtime", None)
    legacy = tmp_path / "legacy.json"
    legacy.write_text(json.dumps(document), encoding="utf-8")
    _, from_unixtime, _ = read_all(original, BERLIN)
    _, from_local, _ = read_all(legacy, JAKARTA)
    assert from_local == from_unixtime
    _, wrong_zone, _ = read_all(legacy, BERLIN)
    assert wrong_zone[0].sent_at != from_unixtime[0].sent_at


def test_tkonverter_personal_chat() -> None:
    export, messages, malformed = read_all(sample("tkonverter_result.json"))
    assert export.chat.chat_id == "10001"
    assert export.chat.type == "personal_chat"
    found = by_id(messages)

    first = found["1"]
    # text_entities win over text (this synthetic file makes them differ)
    assert first.text == "Baseaj text with @alice and link"
    assert first.author_id == "777000"
    assert first.sent_at == utc(2026, 2, 1, 9, 0, 0)
    assert first.reactions == (
        ExportedReaction(emoji="🔥", count=2, from_ids=("10001",)),
        ExportedReaction(emoji="custom_emoji:1234567890123456789", count=1, from_ids=()),
        ExportedReaction(emoji="⭐", count=3, from_ids=()),
    )

    second = found["2"]
    assert second.edited_at == utc(2026, 2, 1, 9, 3, 0)
    assert second.forwarded is True
    # reply_to_peer_id names another chat: that message id is not one of this chat's
    assert second.reply_to is None

    kinds = {m.id: m.media_kind for m in messages}
    assert kinds["3"] == "photo"
    assert kinds["4"] == "sticker"
    assert kinds["5"] == "video_message"
    assert kinds["6"] == "voice_message"
    assert kinds["8"] == "video_file"
    assert kinds["9"] == "audio_file"
    assert kinds["10"] == "contact"
    assert kinds["11"] == "location"
    assert kinds["12"] == "location"
    assert kinds["13"] == "venue"
    assert kinds["17"] == "poll"
    assert kinds["22"] == "file"
    assert kinds["84"] is None
    assert found["84"].sent_at == utc(2025, 12, 31, 23, 50, 0)

    assert [(m.index, m.id) for m in malformed] == [(86, "87")]
    assert "could not export" in malformed[0].reason


def test_tkonverter_group_chat() -> None:
    export, messages, _ = read_all(sample("tkonverter_result_group.json"))
    assert export.chat.chat_id == "-20001"  # a basic group
    found = by_id(messages)
    assert found["33"].reactions == (
        ExportedReaction(emoji="👍", count=5, from_ids=("777000", "10001")),
    )
    assert found["26"].reply_to == "7"
    # an empty text_entities list next to a non-empty text: the text is kept
    assert found["7"].text == "Welcome everyone!"
    assert found["34"].text == "Message mentioning @alice and @bob"
    assert found["25"].forwarded is True
    assert found["30"].media_kind == "file"
    assert found["29"].media_kind == "photo"


def test_tcp_flattened_parts_keep_visible_text_and_newlines() -> None:
    _, messages, _ = read_all(sample("tcp_saved.json"), BERLIN)
    found = by_id(messages)
    assert found["173430"].text == (
        "bold italic strikethrough underline @person http://google.com monospace "
        "http://mystery.knightlab.com/"
    )
    assert found["176169"].text == (
        "Learning SQL by solving an SQL murder mystery\nhttp://mystery.knightlab.com/"
    )
    assert found["323662"].text == "- a list\n- with line breaks\n- three \n- four"
    assert found["173429"].media_kind == "photo"
    assert found["173429"].sent_at == utc(2020, 8, 1, 20, 1, 49)  # 22:01:49 CEST
    assert found["7"].reply_to == "6"


def test_tcp_legacy_integer_from_ids() -> None:
    export, messages, _ = read_all(sample("tcp_private_channel.json"))
    assert export.chat.chat_id == "-10010036995664"
    post = by_id(messages)["3"]
    assert post.author_id == "-10010036995664"  # the channel posting as itself
    assert post.reply_to == "2"

    export, messages, _ = read_all(sample("tcp_private_group.json"))
    assert export.chat.chat_id == "-9999999999"
    assert messages[0].author_id == "9999999999"  # a basic group cannot post: a user

    export, messages, _ = read_all(sample("tcp_public_supergroup.json"))
    assert export.chat.chat_id == "-1009888888888"
    assert [(m.id, m.author_id) for m in messages] == [("-999678449", "9999999999")]

    export, messages, _ = read_all(sample("tcp_bot.json"))
    assert export.chat.chat_id == "9999999999"
    assert [m.text for m in messages] == ["/start", "This is a sample message."]
    assert messages[0].author_id == "8888888888"


# -- chat id mapping ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chat_type", "bare_id", "chat_id"),
    [
        ("public_supergroup", 1712691810, "-1001712691810"),
        ("private_supergroup", 1712691810, "-1001712691810"),
        ("public_channel", 44444444444, "-10044444444444"),
        ("private_channel", 10036995664, "-10010036995664"),
        ("private_group", 20001, "-20001"),
        ("personal_chat", 10001, "10001"),
        ("bot_chat", 8888888888, "8888888888"),
        ("saved_messages", 9999999999, "9999999999"),
        ("replies", 1271266957, "1271266957"),
        ("private_group", -20001, "-20001"),  # already in Bot API form
    ],
)
def test_chat_id_mapping(tmp_path: Path, chat_type: str, bare_id: int, chat_id: str) -> None:
    path = write_export(tmp_path, [], type=chat_type, id=bare_id)
    export = open_export(path, local_tz=JAKARTA)
    assert export.chat.chat_id == chat_id
    assert export.chat.type == chat_type


def test_saved_messages_without_a_name(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_text(json.dumps({"type": "saved_messages", "id": 5, "messages": []}))
    assert open_export(path, local_tz=JAKARTA).chat.name == "Saved Messages"


# -- authors, replies, reactions, media -----------------------------------------------------


@pytest.mark.parametrize(
    ("from_id", "author_id"),
    [
        ("user368718073", "368718073"),
        ("channel1712691810", "-1001712691810"),
        ("chat20001", "-20001"),
        (368718073, "368718073"),  # legacy: a user
        (1234567890, "-1001234567890"),  # legacy: the supergroup itself (anonymous admin)
        (DROP, None),
    ],
)
def test_author_ids(tmp_path: Path, from_id: Any, author_id: str | None) -> None:
    path = write_export(tmp_path, [msg(from_id=from_id)])
    (message,) = open_export(path, local_tz=JAKARTA).entries()
    assert isinstance(message, ExportedMessage)
    assert message.author_id == author_id


def test_reply_to_peer_in_the_same_chat_is_kept(tmp_path: Path) -> None:
    path = write_export(
        tmp_path,
        [
            msg(1, reply_to_message_id=7, reply_to_peer_id="channel1234567890"),
            msg(2, reply_to_message_id=7, reply_to_peer_id="channel999"),
            msg(3, reply_to_message_id=-5),
        ],
    )
    replies = [m.reply_to for m in only_messages(path)]
    assert replies == ["7", None, "-5"]


def test_text_forms(tmp_path: Path) -> None:
    path = write_export(
        tmp_path,
        [
            msg(1, text="line 1\n  line 2 ", text_entities=DROP),
            msg(
                2,
                text=["a ", {"type": "bold", "text": "b"}, "\n", {"type": "link", "text": "c"}],
                text_entities=DROP,
            ),
            msg(3, text="", text_entities=[]),
            msg(4, text="ignored", text_entities=[{"type": "plain", "text": "x"}, {"text": "y"}]),
            msg(5, text="中文 😀", text_entities=[{"type": "plain", "text": "中文 😀"}]),
        ],
    )
    texts = [m.text for m in only_messages(path)]
    assert texts == ["line 1\n  line 2 ", "a b\nc", "", "xy", "中文 😀"]


def test_media_kinds_and_empty_messages(tmp_path: Path) -> None:
    path = write_export(
        tmp_path,
        [
            msg(1, text="", text_entities=[]),
            msg(2, file="(File not included. Change data exporting settings to download.)"),
            msg(3, file="x.ogg", media_type="voice_message"),
            msg(4, poll={"question": "?", "answers": []}),
            msg(5, location_information=None),
            msg(6, contact_information={"first_name": "A"}),
            msg(7, via_bot="@gif", author="sig"),
        ],
    )
    assert [(m.text, m.media_kind) for m in only_messages(path)] == [
        ("", None),
        ("hello", "file"),
        ("hello", "voice_message"),
        ("hello", "poll"),
        ("hello", "location"),
        ("hello", "contact"),
        ("hello", None),
    ]


def test_reactions_shapes(tmp_path: Path) -> None:
    reactions = [
        {"type": "emoji", "count": 2, "emoji": "📌", "recent": [{"from_id": "user7"}, {}]},
        {"type": "emoji", "count": 1, "emoji": "👍", "recent": [{"from_id": "channel5"}]},
        {"type": "custom_emoji", "count": 1, "document_id": "55"},
        {"type": "paid", "count": 9},
    ]
    path = write_export(tmp_path, [msg(reactions=reactions)])
    (message,) = open_export(path, local_tz=JAKARTA).entries()
    assert isinstance(message, ExportedMessage)
    assert message.reactions == (
        ExportedReaction("📌", 2, ("7",)),
        ExportedReaction("👍", 1, ("-1005",)),
        ExportedReaction("custom_emoji:55", 1, ()),
        ExportedReaction("⭐", 9, ()),
    )


def test_records_are_ordinary_frozen_dataclasses(tmp_path: Path) -> None:
    path = write_export(tmp_path, [msg(7, edited_unixtime="1714557700", forwarded_from=None)])
    (message,) = open_export(path, local_tz=JAKARTA).entries()
    assert type(message) is ExportedMessage
    expected = ExportedMessage(
        index=0,
        id="7",
        sent_at=utc(2024, 5, 1, 10, 0, 0),
        author_id="42",
        author_name="Li Lei",
        text="hello",
        reply_to=None,
        edited_at=utc(2024, 5, 1, 10, 1, 40),
        media_kind=None,
        reactions=(),
        forwarded=True,
    )
    assert message == expected
    assert hash(message) == hash(expected)
    assert repr(message) == repr(expected)
    with pytest.raises(dataclasses.FrozenInstanceError):
        message.text = "changed"  # type: ignore[misc]


# -- legacy dates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        ("2021-07-01T12:00:00", utc(2021, 7, 1, 10, 0, 0)),  # CEST
        ("2021-01-15T12:00:00", utc(2021, 1, 15, 11, 0, 0)),  # CET
        ("2021-10-31T02:30:00", utc(2021, 10, 31, 0, 30, 0)),  # ambiguous: first occurrence
        ("2021-03-28T02:30:00", datetime(2021, 3, 28, 2, 30, tzinfo=BERLIN).astimezone(UTC)),
        ("2021-07-01T12:00:00+08:00", utc(2021, 7, 1, 4, 0, 0)),  # an explicit offset wins
        ("2021-07-01 12:00:00", utc(2021, 7, 1, 10, 0, 0)),
    ],
)
def test_legacy_local_dates(tmp_path: Path, local: str, expected: datetime) -> None:
    path = write_export(tmp_path, [msg(date=local, date_unixtime=DROP, edited=local)])
    (message,) = open_export(path, local_tz=BERLIN).entries()
    assert isinstance(message, ExportedMessage)
    assert message.sent_at == expected
    assert message.sent_at.tzinfo is UTC
    assert message.edited_at == expected


def test_legacy_dates_across_a_dst_change(tmp_path: Path) -> None:
    # every minute of the night of a DST change reads like zoneinfo reads it
    stamps = [f"2021-10-31T{h:02d}:{m:02d}:00" for h in range(0, 5) for m in range(0, 60, 7)]
    path = write_export(
        tmp_path, [msg(i, date=s, date_unixtime=DROP) for i, s in enumerate(stamps)]
    )
    got = [m.sent_at for m in only_messages(path, BERLIN)]
    want = [datetime.fromisoformat(s).replace(tzinfo=BERLIN).astimezone(UTC) for s in stamps]
    assert got == want


# -- malformed entries ----------------------------------------------------------------------


def test_malformed_entries_do_not_stop_the_import(tmp_path: Path) -> None:
    entries: list[Any] = [
        msg(1),
        msg(2, date="yesterday", date_unixtime=DROP),
        msg(DROP),
        "not an entry",
        msg(5, date=DROP, date_unixtime=DROP),
        msg(6, date_unixtime="soon"),
        msg(7, from_id=["user1"]),
        msg(8, text={"x": 1}, text_entities=DROP),
        msg(9, text_entities=[{"type": "plain"}]),
        msg(10, reply_to_message_id="3"),
        msg(11, edited="later"),
        msg(12, reactions=[{"type": "emoji", "count": "two", "emoji": "👍"}]),
        {"id": 13, "type": "unsupported"},
        msg(14, type="sticker"),
        msg(True),
        msg(16, **{"from": 5}),
        {"id": 17, "type": "service", "action": "pin_message"},
        msg(18),
    ]
    path = write_export(tmp_path, entries)
    export = open_export(path, local_tz=JAKARTA)
    assert len(export) == len(entries)
    got = list(export.entries())
    assert export.service_count == 1
    assert [(e.index, e.id) for e in got if isinstance(e, ExportedMessage)] == [
        (0, "1"),
        (17, "18"),
    ]
    reasons = {e.index: (e.id, e.reason) for e in got if isinstance(e, MalformedEntry)}
    assert reasons == {
        1: ("2", "invalid 'date' 'yesterday'"),
        2: (None, "missing 'id'"),
        3: (None, "entry is a string, not an object"),
        4: ("5", "missing 'date'"),
        5: ("6", "invalid 'date_unixtime' 'soon'"),
        6: ("7", "invalid 'from_id' ['user1']"),
        7: ("8", "invalid 'text' {'x': 1}"),
        8: ("9", "invalid 'text_entities'"),
        9: ("10", "invalid 'reply_to_message_id' '3'"),
        10: ("11", "invalid 'edited' 'later'"),
        11: ("12", "invalid 'reactions'"),
        12: ("13", "a message Telegram Desktop could not export ('unsupported')"),
        13: ("14", "unknown entry type 'sticker'"),
        14: (None, "invalid 'id' True"),
        15: ("16", "invalid 'from' 5"),
    }


def test_long_values_are_cut_in_reasons(tmp_path: Path) -> None:
    path = write_export(tmp_path, [msg(date="x" * 500 + "\n", date_unixtime=DROP)])
    (entry,) = open_export(path, local_tz=JAKARTA).entries()
    assert isinstance(entry, MalformedEntry)
    assert len(entry.reason) < 80
    assert "\n" not in entry.reason


# -- the export as a whole ------------------------------------------------------------------


def test_entries_is_one_pass_and_counts_services(tmp_path: Path) -> None:
    service = {"id": 2, "type": "service", "date": "2024-05-01T10:00:00", "action": "x"}
    path = write_export(tmp_path, [msg(1), service, msg(3)])
    export = open_export(path, local_tz=JAKARTA)
    assert len(export) == 3
    assert export.service_count == 0
    stream = export.entries()
    assert next(stream).id == "1"
    assert export.service_count == 0
    assert next(stream).id == "3"
    assert export.service_count == 1
    assert list(stream) == []
    with pytest.raises(RuntimeError):
        export.entries()
    assert len(export) == 3


def test_a_folder_holding_result_json_is_accepted(tmp_path: Path) -> None:
    write_export(tmp_path, [msg(1)])
    export = open_export(tmp_path, local_tz=JAKARTA)
    assert export.path == tmp_path / "result.json"
    assert len(export) == 1


def test_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_text('{\n "name": "x",\n "type": "bot_chat" "id": 1,\n "messages": []\n}\n')
    with pytest.raises(ImportFormatError) as caught:
        open_export(path, local_tz=JAKARTA)
    message = str(caught.value)
    assert message.startswith(f"{path}: invalid JSON at line 3, column 21")
    assert "\n" not in message
    assert caught.value.path == path


def test_telegram_desktop_x_escapes_are_repaired(tmp_path: Path) -> None:
    # Telegram Desktop writes control characters as \xHH, which JSON does not allow
    body = json.dumps({"type": "bot_chat", "id": 1, "messages": [msg(1, text="TEXT")]})
    body = body.replace('"text_entities": [{"type": "plain", "text": "hello"}]', '"x": 0')
    body = body.replace('"TEXT"', '"a\\x0Bb \\\\x41"')
    assert "\\x0B" in body
    path = tmp_path / "result.json"
    path.write_text(body)
    (message,) = open_export(path, local_tz=JAKARTA).entries()
    assert isinstance(message, ExportedMessage)
    assert message.text == "a\x0bb \\x41"  # an escaped backslash before x stays as it is


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("[]", "not a Telegram chat export: the file holds a list"),
        ('{"about": "x"}', "not a Telegram chat export: no 'messages' list"),
        (
            '{"about": "x", "personal_information": {}, "chats": {"about": "", "list": [{}, {}]}}',
            "a full Telegram data export with 2 chats, not a single chat",
        ),
        (
            '{"room_name": "Lobby", "export_date": "2024", "messages": []}',
            "not a Telegram chat export: the chat's 'type' and 'id' are missing",
        ),
        ('{"id": 1, "messages": []}', "the chat's 'type' is missing"),
        ('{"type": "x", "id": 1, "messages": []}', "unknown chat type 'x'"),
        ('{"type": "bot_chat", "id": "1", "messages": []}', "the chat id '1' is not a number"),
        ('{"type": "bot_chat", "id": 1, "messages": {}}', "'messages' is an object, not a list"),
        ("   \n", "the file is empty"),
    ],
)
def test_files_that_are_not_one_chat_export(tmp_path: Path, content: str, error: str) -> None:
    path = tmp_path / "result.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ImportFormatError) as caught:
        open_export(path, local_tz=JAKARTA)
    assert error in str(caught.value)
    assert "\n" not in str(caught.value)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ImportFormatError, match="no such file"):
        open_export(tmp_path / "missing.json", local_tz=JAKARTA)
    with pytest.raises(ImportFormatError, match=r"folder without a result\.json"):
        open_export(tmp_path, local_tz=JAKARTA)
    binary = tmp_path / "photo.jpg"
    binary.write_bytes(b"\xff\xd8\xff\xe0 not json")
    with pytest.raises(ImportFormatError, match="not UTF-8 text"):
        open_export(binary, local_tz=JAKARTA)


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_bytes(
        b"\xef\xbb\xbf" + json.dumps({"type": "bot_chat", "id": 1, "messages": []}).encode()
    )
    assert open_export(path, local_tz=JAKARTA).chat.chat_id == "1"


def test_fast_records_equal_dataclass_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entries = [msg(1), msg(2, reply_to_message_id=1, photo="p.jpg", forwarded_from="X")]
    fast = only_messages(write_export(tmp_path, entries))
    monkeypatch.setattr(telegram_export, "_new_message", ExportedMessage)
    plain = only_messages(write_export(tmp_path, entries))
    assert fast == plain
    assert [type(m) for m in fast] == [ExportedMessage, ExportedMessage]


def test_garbage_collector_is_left_as_found(tmp_path: Path) -> None:
    assert gc.isenabled()
    open_export(write_export(tmp_path, [msg(1)]), local_tz=JAKARTA)
    assert gc.isenabled()
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ImportFormatError):
        open_export(tmp_path / "bad.json", local_tz=JAKARTA)
    assert gc.isenabled()
