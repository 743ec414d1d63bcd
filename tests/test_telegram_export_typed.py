"""The typed fast path of the Telegram export reader gives exactly what the plain path gives.

``open_export(..., typed=True)`` (the default) decodes runs of entries in the usual shape with
msgspec; anything else is read as plain JSON and judged by the dict path. These tests read the
same files both ways and compare every entry, on the real samples, on the bench's synthetic
export, on hand-made odd entries, and on generated ones.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archiver.importers.telegram_export import open_export
from sandbox.bench.synthetic import write_synthetic_export
from tests.test_telegram_export import DATA, DROP, JAKARTA, msg, write_export

SAMPLES = sorted(p.name for p in DATA.glob("*.json")) if DATA.is_dir() else []


def both_ways(path: Path, tz: ZoneInfo = JAKARTA) -> tuple[list[Any], list[Any], int]:
    """(typed entries, plain entries, entries the typed path read); service counts must agree."""
    typed = open_export(path, local_tz=tz)
    plain = open_export(path, local_tz=tz, typed=False)
    fast, slow = list(typed.entries()), list(plain.entries())
    assert typed.service_count == plain.service_count
    assert plain.typed_count == 0
    return fast, slow, typed.typed_count


@pytest.mark.skipif(not SAMPLES, reason=f"sample data not available: {DATA}")
@pytest.mark.parametrize("name", SAMPLES or ["-"])
def test_every_sample_reads_the_same_both_ways(name: str) -> None:
    path = DATA / name
    try:
        fast, slow, _ = both_ways(path)
    except Exception as error:  # the broken samples must fail the same way too
        with pytest.raises(type(error)) as plain_error:
            list(open_export(path, local_tz=JAKARTA, typed=False).entries())
        assert str(plain_error.value) == str(error)
        return
    assert fast == slow


def test_the_synthetic_export_is_read_by_the_typed_path(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    write_synthetic_export(path, 3000)
    fast, slow, typed_count = both_ways(path, ZoneInfo("Asia/Shanghai"))
    assert fast == slow
    assert len(fast) > 2500
    # every entry but the first and the last (each read alone), service messages included
    assert typed_count >= len(fast)


ODD_BUT_USUAL_SHAPE = [
    msg(1),
    msg(2, from_id=None, **{"from": None}),
    msg(3, from_id=DROP, **{"from": DROP}),
    msg(4, text=[], text_entities=[]),
    msg(5, text=DROP, text_entities=[]),
    msg(6, text=DROP, text_entities=DROP),
    msg(7, text=["a ", {"type": "bold", "text": "b"}, " c"], text_entities=[]),
    msg(8, text=[{"type": "bold"}], text_entities=[]),
    msg(9, text_entities=[{"type": "plain", "text": "x"}, {"type": "link", "text": "y"}]),
    msg(10, reactions=None),
    msg(11, reactions=[{"type": "emoji", "count": 2, "emoji": "📌", "recent": []}]),
    msg(12, reactions=[{"type": "emoji", "count": "two", "emoji": "👍"}]),
    msg(13, media_type="", photo="(File not included.)"),
    msg(14, media_type="sticker", file="x.webp"),
    msg(15, place_name="Park", location_information={"latitude": 1}),
    msg(16, reply_to_message_id=3, reply_to_peer_id="channel777"),
    msg(17, reply_to_message_id=3, reply_to_peer_id="channel1234567890"),
    msg(18, reply_to_message_id=None),
    msg(19, edited="2024-05-01T11:00:00", edited_unixtime=DROP),
    msg(20, edited="later", edited_unixtime=DROP),
    msg(21, edited_unixtime="1714561200"),
    msg(22, edited_unixtime="soon"),
    msg(23, date_unixtime=DROP),
    msg(24, date_unixtime=DROP, date="yesterday"),
    msg(25, date_unixtime=DROP, date=DROP),
    msg(26, date_unixtime="soon"),
    msg(27, date_unixtime="99999999999999999999"),
    msg(28, from_id="bot"),
    msg(29, from_id=1234567890),
    msg(30, forwarded_from=None),
    msg(31, type="service", action="pin_message"),
    {"id": 32, "type": "unsupported"},
    msg(33, type="sticker"),
    msg(DROP),
    msg(35, type=DROP),
    msg(36, text="\u0000nul and \U0001f600"),
    msg(37, from_id="channel1234567890"),
    msg(38, paid_stars_amount=5, text=DROP, text_entities=[]),
]


def test_odd_entries_of_the_usual_shape_read_the_same_both_ways(tmp_path: Path) -> None:
    path = write_export(tmp_path, ODD_BUT_USUAL_SHAPE)
    fast, slow, typed_count = both_ways(path)
    assert fast == slow
    # the typed path judged all but the first and the last (each read alone: a run lies between)
    assert typed_count == len(ODD_BUT_USUAL_SHAPE) - 2


def test_a_run_with_an_unusual_entry_is_read_as_plain_json(tmp_path: Path) -> None:
    entries = [msg(1), msg(2), msg(3, from_id=["user1"]), msg(4), "not an entry", msg(6)]
    path = write_export(tmp_path, entries)
    fast, slow, typed_count = both_ways(path)
    assert fast == slow
    assert typed_count == 0


# Values each field may take in generated entries: usual ones, odd ones of the usual shape, and
# ones the typed path refuses (so that whole runs fall back).
FIELD_VALUES: dict[str, list[Any]] = {
    "id": [1, 2, -5, "7", True, None, DROP],
    "type": ["message", "message", "service", "unsupported", None, 3, DROP],
    "date_unixtime": ["1714557600", "x", 1714557600, None, DROP],
    "date": ["2024-05-01T10:00:00", "bad", 5, None, DROP],
    "from_id": ["user42", "channel9", "chat3", 42, "nobody", None, [1], DROP],
    "from": ["Li Lei", None, 5, DROP],
    "text": ["hello", "", ["a", {"type": "bold", "text": "b"}], [{"x": 1}], 7, None, DROP],
    "text_entities": [[{"type": "plain", "text": "hi"}], [], [{"type": "plain"}], "x", None, DROP],
    "reply_to_message_id": [3, None, "3", DROP],
    "reply_to_peer_id": ["channel1234567890", "user5", 9, None, DROP],
    "edited_unixtime": ["1714561200", "soon", 1714561200, None, DROP],
    "edited": ["2024-05-01T11:00:00", "later", None, DROP],
    "reactions": [
        [{"type": "emoji", "count": 1, "emoji": "📌", "recent": [{"from_id": "user1"}]}],
        [{"type": "paid", "count": 3}],
        [{"type": "custom_emoji", "count": 1, "document_id": "55"}],
        [{"count": -1}],
        {},
        None,
        DROP,
    ],
    "media_type": ["sticker", "", None, 4, DROP],
    "photo": ["p.jpg", None, DROP],
    "poll": [{"question": "?"}, DROP],
    "forwarded_from": ["Someone", None, DROP],
}


@st.composite
def entries(draw: st.DrawFn) -> list[Any]:
    count = draw(st.integers(min_value=2, max_value=12))
    result: list[Any] = []
    for _ in range(count):
        fields = {
            name: draw(st.sampled_from(values))
            for name, values in FIELD_VALUES.items()
            if draw(st.booleans())
        }
        result.append(msg(fields.pop("id", 1), **fields))
    return result


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries())
def test_generated_entries_read_the_same_both_ways(generated: list[Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "result.json"
        document = {"name": "T", "type": "private_supergroup", "id": 1234567890}
        document["messages"] = generated
        path.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
        fast, slow, _ = both_ways(path)
        assert fast == slow
