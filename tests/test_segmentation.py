"""Word segmentation: the stored and queried token forms (archiver.segmentation)."""

from __future__ import annotations

import rjieba
from hypothesis import given, settings
from hypothesis import strategies as st

from archiver import segmentation
from archiver.segmentation import MAX_TOKEN_CHARS, Segmenter, normalized

TEXTS = st.text(
    alphabet=st.sampled_from(list("电梯修好了今天楼下开会谢谢ΣΑΣ İ Hello WORLD 12，。！🙂\n\t-_.")),
    max_size=40,
)


def reference(text: str) -> str:
    """The stored form spelled out token by token, without any cache."""
    return " ".join(form for form in map(normalized, rjieba.cut_for_search(text, False)) if form)


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_index_tokens_are_the_normalized_tokens_joined(text: str) -> None:
    segmenter = Segmenter()
    assert segmenter.index_tokens(text) == reference(text)
    assert segmenter.index_tokens(text) == reference(text)  # from the cache, the same


def test_punctuation_spaces_and_overlong_runs_are_dropped_and_words_lowered() -> None:
    segmenter = Segmenter()
    long_run = "a" * (MAX_TOKEN_CHARS + 1)
    assert segmenter.index_tokens(f"电梯，修好了！ Hello  WORLD 🙂 {long_run}") == (
        "电梯 修好 了 hello world"
    )
    assert segmenter.query_tokens("电梯 Hello hello ！") == ["电梯", "hello"]


def test_the_token_cache_is_emptied_at_its_cap() -> None:
    segmenter = Segmenter()
    forms = segmenter._normalized
    cap = segmentation.TOKEN_CACHE
    for index in range(cap):
        forms[f"w{index}"]  # reading a new token fills the cache
    assert len(forms) == cap
    assert forms["Next"] == "next"  # a new token at the cap: emptied, then this one
    assert len(forms) == 1
