"""The week's words: stop-words and chat noise, links and mentions, light English stemming,
search-mode sub-words, jieba's IDF table (read once, lazily) and a stable order."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from archiver.keywords import idf_table, is_noise, plain_words, stem, week_words
from archiver.segmentation import Segmenter

ROOT = Path(__file__).resolve().parents[1]


def words(segmenter: Segmenter, texts: list[str], **options: int) -> list[tuple[str, int]]:
    """The week's words of these texts, tokens made as ingestion stores them."""
    pairs = [(text, segmenter.index_tokens(text)) for text in texts]
    return [(k.word, k.messages) for k in week_words(segmenter, pairs, **options)]


@pytest.mark.parametrize(
    ("word", "stemmed"),
    [
        ("volunteers", "volunteer"),
        ("volunteered", "volunteer"),
        ("volunteering", "volunteer"),
        ("parties", "party"),
        ("communities", "community"),
        ("cookies", "cookie"),
        ("classes", "class"),
        ("glass", "glass"),
        ("bus", "bus"),
        ("stopped", "stop"),
        ("baked", "bake"),
        ("hoping", "hope"),
        ("hopping", "hop"),
        ("fixed", "fix"),
        ("agreed", "agree"),
        ("need", "need"),
        ("speed", "speed"),
        ("used", "used"),
        ("thing", "thing"),
        ("spring", "spring"),
        ("lift", "lift"),
        ("gas", "gas"),
    ],
)
def test_stem(word: str, stemmed: str) -> None:
    assert stem(word) == stemmed


@pytest.mark.parametrize(
    "token",
    [
        "哈哈",
        "哈哈哈",
        "哈哈哈哈哈哈",
        "呵呵",
        "嗯嗯",
        "好的",
        "收到",
        "谢谢",
        "辛苦了",
        "大家",
        "好了吗",
        "又坏了",
        "电",  # one character
        "123",
        "3号楼",
        "13800138000",
        "lol",
        "lmao",
        "hahaha",
        "ok",
        "okay",
        "okok",
        "the",
        "thanks",
        "keep",
        "留存",
        "记住",
        "a" * 30,
    ],
)
def test_noise(token: str) -> None:
    assert is_noise(token)


@pytest.mark.parametrize("token", ["电梯", "志愿者", "李师傅", "lift", "volunteers", "garden"])
def test_not_noise(token: str) -> None:
    assert not is_noise(token)


NOISE = [
    "哈哈哈哈",
    "哈哈哈",
    "好的好的",
    "收到，谢谢",
    "👍👍👍",
    "🎉🎉",
    "ok ok lol",
    "okok",
    "https://example.org/garden/photos",
    "www.example.org/garden 👀",
    "@emma_w @bob",
    "@zhang:example.org",
    "garden@example.org",
    "/search 花园",
    "!search garden",
    "今天 3 点，6 号楼 502",
]


def test_chat_noise_links_mentions_emoji_and_commands_never_count(segmenter: Segmenter) -> None:
    assert words(segmenter, NOISE, min_messages=1) == []
    texts = [*NOISE, "花园的桂花开了", "The garden is lovely", "@emma_w 花园 https://example.org/x"]
    # 花园 in two messages; then words jieba's table does not know (median IDF, 11.95) before
    # 桂花 (8.98).
    assert words(segmenter, texts, min_messages=1) == [
        ("花园", 2),
        ("garden", 1),
        ("lovely", 1),
        ("桂花", 1),
    ]


def test_a_word_counts_once_per_message(segmenter: Segmenter) -> None:
    assert words(segmenter, ["电梯电梯电梯！电梯！", "电梯坏了"]) == [("电梯", 2)]


def test_a_word_must_recur(segmenter: Segmenter) -> None:
    texts = ["电梯修好了", "电梯又停了", "楼下的桂花开了"]
    assert words(segmenter, texts) == [("电梯", 2)]
    assert ("桂花", 1) in words(segmenter, texts, min_messages=1)


def test_english_is_lower_cased_and_stemmed(segmenter: Segmenter) -> None:
    texts = [
        "Volunteers wanted!",
        "I volunteered yesterday",
        "More VOLUNTEERS please",
        "The volunteer team",
    ]
    # One word, shown the way most messages wrote it (lower-cased).
    assert words(segmenter, texts) == [("volunteers", 4)]


def test_search_mode_sub_words_do_not_count(segmenter: Segmenter) -> None:
    # Stored tokens of 志愿者 are 志愿 愿者 志愿者: only 志愿者 is a word of the text.
    assert segmenter.index_tokens("志愿者") == "志愿 愿者 志愿者"
    assert words(segmenter, ["志愿者来了", "谢谢志愿者"]) == [("志愿者", 2)]


@pytest.mark.parametrize(
    "text",
    [
        "中华人民共和国成立了",
        "志愿者队伍在小区门口值班",
        "电梯间的灯坏了",
        "The volunteers fixed the lift, 电梯修好了",
    ],
)
def test_plain_words_match_a_plain_cut(segmenter: Segmenter, text: str) -> None:
    stored = segmenter.index_tokens(text).split()
    assert set(plain_words(stored)) == set(segmenter.query_tokens(text))


def test_idf_weighs_common_words_down(segmenter: Segmenter) -> None:
    # Both in two messages: 栀子花 is rarer than 电梯 in jieba's table, so it ranks first.
    texts = ["电梯 栀子花", "电梯 栀子花"]
    assert [w for w, _ in words(segmenter, texts)] == ["栀子花", "电梯"]
    table = idf_table()
    assert table["栀子花"] > table["电梯"]
    assert table["a-word-jieba-never-saw"] == table.median


def test_idf_table_is_jiebas_and_read_once() -> None:
    table = idf_table()
    assert idf_table() is table
    assert len(table.idf) > 250_000
    assert table["电梯"] == pytest.approx(8.85725253506)
    assert table.median == pytest.approx(11.9547675029)  # jieba.analyse's own median


def test_order_is_stable(segmenter: Segmenter) -> None:
    texts = [
        "电梯 物业 花园",
        "电梯 物业",
        "花园 物业 lift",
        "lift 花园",
        "电梯 lift",
    ] * 3
    expected = words(segmenter, texts)
    shuffled = texts[:]
    random.Random(5).shuffle(shuffled)
    assert words(segmenter, shuffled) == expected
    assert words(segmenter, texts, limit=2) == expected[:2]
    assert words(segmenter, texts, limit=0) == []
    assert words(segmenter, []) == []


def test_heavy_modules_load_lazily() -> None:
    """Importing the digest modules loads no IDF table, numpy or Pillow; reading the table
    does not import jieba.analyse (which would load a second copy)."""
    code = (
        "import sys\n"
        "import archiver.digest, archiver.keywords, archiver.picture\n"
        "heavy = ('jieba', 'jieba.analyse', 'numpy', 'PIL', 'matplotlib')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
        "archiver.keywords.idf_table()\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.splitlines() == ["[]", "[]"]
