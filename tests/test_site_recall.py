"""Recall of the website's offline search on real chat text.

The sample community (``sandbox/demo/sunshine_garden.json``: mixed Chinese and English neighbours'
chat) is imported with its roster and built into a site; then the browser's search algorithm
(``static/search.js``: cut the query, look the terms up in the built ``t-NN.js`` files, keep the
messages whose text contains every part) is replayed here over the built files, for every
Chinese substring of two to four characters that occurs in at least two kept messages, and
compared with the messages that really contain it. The browser itself runs the same code in
tests/test_site_browser.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from archiver.archive import Archive
from archiver.community import ensure_community
from archiver.importers.telegram import import_telegram
from archiver.site.build import build_site
from archiver.site.search_index import DOC_BUCKET, shard_of
from tests.conftest import COMMUNITY, SETTINGS

DEMO = Path(__file__).resolve().parents[1] / "sandbox" / "demo"
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
WORDS = re.compile(r"[^\W_]+")


def load(path: Path) -> dict[str, object]:
    """The data of one ``CM.x(year, n, {...});`` file."""
    text = path.read_text(encoding="utf-8")
    payload = text[text.index("{") : text.rindex("}") + 1]
    found: dict[str, object] = json.loads(payload)
    return found


def cut(query: str) -> tuple[list[str], list[str]]:
    """search.js's CM.cut: the parts every result must contain, and the terms to look up."""
    parts: list[str] = []
    terms: list[str] = []
    lowered = query.lower()
    for run in CJK.findall(lowered):
        parts.append(run)
        if len(run) == 1:
            terms.append(run)
        terms.extend(run[i : i + 2] for i in range(len(run) - 1))
    for word in WORDS.findall(CJK.sub(" ", lowered)):
        parts.append(word)
        terms.append(word)
    return parts, list(dict.fromkeys(terms))


def browser_search(site: Path, query: str) -> set[int]:
    parts, terms = cut(query)
    found: set[int] = set()
    for year_folder in sorted((site / "search").iterdir()):
        candidates: set[int] | None = None
        for term in terms:
            shard = load(year_folder / f"t-{shard_of(term):02d}.js")
            deltas = shard.get(term, [])
            assert isinstance(deltas, list)
            ids, value = set(), 0
            for delta in deltas:
                value += delta
                ids.add(value)
            candidates = ids if candidates is None else candidates & ids
        for mid in candidates or set():
            docs = load(year_folder / f"d-{mid // DOC_BUCKET:03d}.js")
            doc = docs[str(mid)]
            assert isinstance(doc, list)
            if all(part in doc[3].lower() for part in parts):
                found.add(mid)
    return found


def test_recall_on_the_sample_communitys_chat(archive: Archive, tmp_path: Path) -> None:
    ensure_community(archive, SETTINGS)
    import_telegram(archive, COMMUNITY, DEMO / "sunshine_garden.json", roster=DEMO / "roster.csv")
    site = tmp_path / "site"
    build_site(archive, COMMUNITY, site)
    texts: dict[int, str] = {}
    for year_folder in (site / "search").iterdir():
        for docs_file in year_folder.glob("d-*.js"):
            for mid, doc in load(docs_file).items():
                assert isinstance(doc, list)
                texts[int(mid)] = doc[3]
    assert len(texts) == 174
    counts: dict[str, int] = {}
    for text in texts.values():
        seen = set()
        for run in CJK.findall(text):
            for size in (2, 3, 4):
                seen.update(run[i : i + size] for i in range(len(run) - size + 1))
        for substring in seen:
            counts[substring] = counts.get(substring, 0) + 1
    queries = sorted(q for q, n in counts.items() if n >= 2)
    assert len(queries) > 300
    expected_total = found_total = correct = 0
    for query in queries:
        expected = {mid for mid, text in texts.items() if query in text.lower()}
        found = browser_search(site, query)
        expected_total += len(expected)
        found_total += len(found)
        correct += len(expected & found)
    recall, precision = correct / expected_total, correct / found_total
    print(f"\n[site search] {len(queries)} queries: recall {recall:.1%}, precision {precision:.1%}")
    assert recall == 1.0 and precision == 1.0
    # English words are found as whole words, mixed queries need every part.
    assert browser_search(site, "lift") and browser_search(site, "电梯 lift") <= browser_search(
        site, "lift"
    )
