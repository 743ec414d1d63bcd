"""Search gives exactly the plain sort's order (newest first, then the higher id) whichever
way ``storage.search`` finds the matches: sorting few, checking the newest ids of many, or
walking every match — with ids out of date order, ties in ``sent_at`` and another community's
messages in between."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from archiver.archive import Archive
from archiver.consent import Level
from archiver.events import ChatRef
from archiver.ingest import ingest_message
from archiver.recall import search
from storage import search as search_store
from tests.conftest import CHAT, COMMUNITY, add_community, message, say

OTHER = "lotus"
OTHER_CHAT = ChatRef("telegram", "-100333")
WORDS = ("电梯", "快递", "garden", "lift")
QUERIES = ("电梯", "快递", "garden", "lift", "电梯 快递", "garden lift", "电梯 garden", "火箭")


@pytest.fixture(scope="module")
def plan() -> list[tuple[str, str, datetime, ChatRef]]:
    """(platform id, text, sent_at, chat) in the order they are kept (the id order): dates
    shuffled against ids, many on the same second, a third in another community."""
    rng = random.Random(7)
    base = datetime(2025, 1, 1, tzinfo=UTC)
    rows = []
    for index in range(160):
        words = [word for word in WORDS if rng.random() < 0.5] or ["你好"]
        when = base + timedelta(minutes=rng.choice([rng.randint(0, 600), 42]))
        chat = OTHER_CHAT if index % 3 == 0 else CHAT
        rows.append((str(index), " ".join(words), when, chat))
    return rows


@pytest.fixture
def kept(archive: Archive, plan: list[tuple[str, str, datetime, ChatRef]]) -> Archive:
    add_community(archive, OTHER, OTHER_CHAT)
    say(archive, 1, Level.ALL)
    say(archive, 1, Level.ALL, community=OTHER)
    for platform_id, text, sent_at, chat in plan:
        assert ingest_message(
            archive, message(platform_id, 1, text, sent_at=sent_at, chat=chat)
        ).kept
    return archive


def expected(
    plan: list[tuple[str, str, datetime, ChatRef]], query: str, limit: int
) -> list[tuple[str, str]]:
    """The plain sort: every match of the community by (sent_at, id) descending."""
    matches = [
        (sent_at, index, platform_id, text)
        for index, (platform_id, text, sent_at, chat) in enumerate(plan)
        if chat == CHAT and all(word in text.split() for word in query.split())
    ]
    matches.sort(reverse=True)
    return [(platform_id, text) for _, _, platform_id, text in matches[:limit]]


@pytest.mark.parametrize(
    ("sort_max", "min_candidates"),
    [
        (500, 32),  # the defaults: few matches here, so they are sorted
        (0, 1),  # always the newest ids as candidates, then the check
        (3, 2),  # candidates from a short list, often mostly another community's
    ],
)
def test_search_order_is_the_plain_sorts_whichever_the_strategy(
    kept: Archive,
    plan: list[tuple[str, str, datetime, ChatRef]],
    monkeypatch: pytest.MonkeyPatch,
    sort_max: int,
    min_candidates: int,
) -> None:
    monkeypatch.setattr(search_store, "SORT_MATCHES_MAX", sort_max)
    monkeypatch.setattr(search_store, "MIN_CANDIDATES", min_candidates)
    monkeypatch.setattr(search_store, "CANDIDATES_PER_RESULT", 1)
    for query in QUERIES:
        for limit in (1, 5, 17, 100):
            found = [(m.platform_message_id, m.text) for m in search(kept, COMMUNITY, query, limit)]
            assert found == expected(plan, query, limit), (query, limit)


def test_ties_in_sent_at_put_the_later_kept_first(
    kept: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_store, "SORT_MATCHES_MAX", 0)
    monkeypatch.setattr(search_store, "MIN_CANDIDATES", 1)
    same = datetime(2030, 6, 1, tzinfo=UTC)
    for platform_id in ("t1", "t2", "t3"):
        assert ingest_message(kept, message(platform_id, 1, "潜水艇", sent_at=same)).kept
    assert [m.platform_message_id for m in search(kept, COMMUNITY, "潜水艇", 2)] == ["t3", "t2"]
