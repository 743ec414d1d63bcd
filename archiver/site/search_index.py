"""The archive website's search index: plain JavaScript files loaded with ``<script>`` tags.

A folder opened from ``file://`` has no web server, and browsers refuse ``fetch()`` there, so
the index is data wrapped in function calls (``CM.terms(...)``, ``CM.docs(...)``) that
``search.js`` loads by adding script elements — the same files work on any static host.

Terms are the archive's own stored search tokens (jieba's search mode, lower-cased: the words
the archive's full-text search uses) plus every two-character window of each run of Chinese
characters (so names, partial words and words the dictionary does not know are found). The
browser cuts a query the same way it can without a dictionary — a Chinese run of two or more
characters into its windows, a single character as itself, other runs into lower-cased words
— intersects the postings, then keeps only the messages whose text really contains each part
of the query, in order. That check makes the windows exact: a match is a real substring.

The index is cut by year, so that a rebuild after a week of chat rewrites only this year's
files. Per year ``YYYY``: ``search/YYYY/t-NN.js`` (postings of the terms whose hash falls in
shard NN, message ids delta-encoded), ``search/YYYY/d-NNN.js`` (the year's messages with ids in
one bucket of ``DOC_BUCKET``: page link, date, author as shown, text) and
``search/YYYY/days.js`` (its month-day index for "on this day"). A query loads, for each year,
the few term shards it needs, then the documents of its candidates.
"""

from __future__ import annotations

import json
import operator
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

TERM_SHARDS = 64
DOC_BUCKET = 500
DAY_MEMORIES = 3  # kept per year and day in the "on this day" index

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{2,}")


@dataclass(frozen=True, slots=True)
class IndexedMessage:
    """What the index needs of a message."""

    id: int
    url: str  # "2026-03.html#m123"
    date: str  # local "2026-03-15 08:30"
    author: str  # as shown: a name, or "a neighbour"
    text: str
    tokens: str


def shard_of(term: str) -> int:
    """FNV-1a over the term's code points; ``search.js`` computes the same."""
    h = 2166136261
    for ch in term:
        h ^= ord(ch)
        h = (h * 16777619) & 0xFFFFFFFF
    return h % TERM_SHARDS


def terms_of(text: str, tokens: str) -> set[str]:
    """The terms a message is found by (see the module doc)."""
    terms = set(tokens.split())
    for run in _CJK_RUN.findall(text):
        terms.update(map(operator.add, run, run[1:]))  # its two-character windows, in C
    return terms


def term_files(messages: Iterable[IndexedMessage], *, folder: str) -> dict[str, str]:
    """``FOLDER/t-NN.js`` → its content (``folder`` is ``search/YYYY``)."""
    year = int(folder.rsplit("/", 1)[1])
    postings: dict[str, list[int]] = defaultdict(list)
    for message in sorted(messages, key=lambda m: m.id):
        for term in terms_of(message.text, message.tokens):
            postings[term].append(message.id)
    shards: list[dict[str, list[int]]] = [{} for _ in range(TERM_SHARDS)]
    for term, ids in sorted(postings.items()):  # the same index gives the same bytes
        shards[shard_of(term)][term] = _deltas(ids)
    return {
        f"{folder}/t-{number:02d}.js": f"CM.terms({year},{number},{_json(shard)});\n"
        for number, shard in enumerate(shards)
    }


def doc_files(messages: Iterable[IndexedMessage], *, folder: str) -> dict[str, str]:
    """``FOLDER/d-NNN.js`` → its content."""
    year = int(folder.rsplit("/", 1)[1])
    buckets: dict[int, dict[str, list[str]]] = defaultdict(dict)
    for m in messages:
        buckets[m.id // DOC_BUCKET][str(m.id)] = [m.url, m.date, m.author, m.text]
    return {
        f"{folder}/d-{bucket:03d}.js": f"CM.docs({year},{bucket},{_json(docs)});\n"
        for bucket, docs in sorted(buckets.items())
    }


def days_file(year: str, memories: dict[str, list[list[str]]]) -> str:
    """``search/YYYY/days.js``: month-day → [[year, url, author, snippet], …]."""
    return f"CM.days({int(year)},{_json(memories)});\n"


def _deltas(ids: list[int]) -> list[int]:
    """Sorted ids as gaps (small numbers: a smaller file)."""
    return list(map(operator.sub, ids, [0, *ids[:-1]]))


def _json(value: object) -> str:
    # Inside a <script> file: "</" cannot end anything here, but escaping it costs nothing.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
