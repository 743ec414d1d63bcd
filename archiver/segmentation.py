"""Word segmentation for search and keywords.

``rjieba`` (jieba-rs) cuts with jieba's own dictionary about 20× faster than ``jieba``; with HMM
off the two agree token for token, so we keep HMM off: the same text always gives the same
tokens, and a query is cut exactly the way the indexed text was. Unknown two-character names
fall apart into single characters on both sides, which still matches.

Indexing uses jieba's search mode (``cut_for_search``), which adds the shorter words inside
long ones (电梯间 → 电梯, 电梯间), so a query for a two-character word finds longer compounds.
"""

from __future__ import annotations

from collections.abc import Iterable

import rjieba


class Segmenter:
    """One loaded dictionary, shared by everything in the process.

    ``import rjieba`` already builds a segmenter with jieba's dictionary (its module-level
    default, ~24 MB); every ``Segmenter`` uses that one rather than loading a second copy, so
    community words added here are known process-wide.
    """

    def __init__(self, words: Iterable[str] = ()) -> None:
        self._cut = rjieba.cut
        self._cut_for_search = rjieba.cut_for_search
        self._add = rjieba.add_word
        self._normalized = _TokenForms()
        self.words: list[str] = []
        """The community words added (a worker process that cuts words is given them)."""
        for word in words:
            self.add_word(word)

    def add_word(self, word: str) -> None:
        """Teach the segmenter a community word (a building's name, a neighbour's nickname).

        Texts indexed before keep their old tokens until they are re-indexed.
        """
        word = word.strip()
        if word:
            self._add(word, None, None)
            self.words.append(word)

    def index_tokens(self, text: str) -> str:
        """The space-joined, lower-cased tokens stored in ``message.tokens``."""
        # filter/map and the cache's hits run in C: no Python frame per token on the import's
        # hot path
        forms = self._normalized.__getitem__
        return " ".join(filter(None, map(forms, self._cut_for_search(text, False))))

    def query_tokens(self, query: str) -> list[str]:
        """The distinct tokens of a search query, in order; all must match."""
        seen: dict[str, None] = {}
        for token in map(self._normalized.__getitem__, self._cut(query, False)):
            if token:
                seen.setdefault(token, None)
        return list(seen)


# Longer "words" are runs like a pasted key or "aaaa…": nobody searches for them, and
# PostgreSQL refuses to index a word of 2,048 bytes or more (a CJK character is 3 bytes).
MAX_TOKEN_CHARS = 100
TOKEN_CACHE = 200_000


def normalized(token: str) -> str:
    """The stored form of one token: lower-cased, or "" when it is dropped (spaces,
    punctuation, emoji — no letter or digit — or longer than ``MAX_TOKEN_CHARS``). The same
    for texts and queries on both backends."""
    if len(token) > MAX_TOKEN_CHARS or not any(ch.isalnum() for ch in token):
        return ""
    return token.lower()


class _TokenForms(dict[str, str]):
    """token → :func:`normalized` form, filled as tokens are met.

    Chat vocabulary repeats, and the check costs more than the cutting itself. A plain dict
    whose hits stay in C (``__missing__`` runs only for a new token) is about twice as fast
    per token as ``functools.lru_cache``; it is emptied when it reaches ``TOKEN_CACHE``
    entries, which keeps memory bounded as well.
    """

    def __missing__(self, token: str) -> str:
        if len(self) >= TOKEN_CACHE:
            self.clear()
        form = self[token] = normalized(token)
        return form
