"""The week's words: TF-IDF over the stored jieba tokens of a week's kept messages, against
jieba's IDF table.

``message.tokens`` holds each text cut in search mode, which adds the shorter dictionary words
inside a long one just before it (志愿 志愿者 志愿者队); ``plain_words`` drops those again, so an
idea is counted once, not two or three times. Reading the stored tokens takes about 0.05 s for
10,000 messages; cutting every text again in plain mode gave the same words and took 0.2 s.

- **TF** is the number of the week's messages that use a word (a word repeated in one message
  counts once, so one excited neighbour cannot fill the list alone).
- **IDF** comes from jieba's table (``jieba/analyse/idf.txt``, 270,000 words), read once, the
  first time it is needed, without importing ``jieba.analyse`` (which would load the table a
  second time into its own object). Words the table lacks — most English words, new names —
  get its median, as jieba itself does.
- **Noise** never counts: Chinese and English stop-words, chat noise (哈哈哈, 好的, 收到, lol,
  ok), phrases ending in a particle (好了吗), the bot's own words (keep, 留存), single Chinese
  characters, anything with a digit (prices, times, door and phone numbers), links, e-mail
  addresses and @mentions (such a text is cut again without them), emoji, and commands
  (``/search …``).
- **English** is lower-cased and stemmed lightly (plurals, -ed, -ing: volunteers, volunteered
  → volunteer), and a word is shown the way neighbours wrote it most often.

A word must appear in at least ``min_messages`` messages (2 by default) to be a word of the
week: in a small week, a word used once says little about the week.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from archiver.segmentation import Segmenter

__all__ = [
    "IdfTable",
    "Keyword",
    "idf_table",
    "is_noise",
    "plain_words",
    "stem",
    "week_words",
]


@dataclass(frozen=True, slots=True)
class Keyword:
    """A word of the week: as neighbours wrote it, its score, and how many messages used it."""

    word: str
    score: float
    messages: int

    def to_json(self) -> dict[str, object]:
        """The ``--json`` form."""
        return {"word": self.word, "score": self.score, "messages": self.messages}


@dataclass(frozen=True, slots=True)
class IdfTable:
    """jieba's inverse document frequencies, and the value for words it does not list.

    Kept as the file's UTF-8 bytes (word → value): splitting bytes is three times faster than
    decoding and parsing 270,000 lines, and only the few thousand words of a week are ever
    looked up.
    """

    idf: dict[bytes, bytes]
    median: float

    def __getitem__(self, word: str) -> float:
        raw = self.idf.get(word.encode("utf-8"))
        return self.median if raw is None else float(raw)

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and word.encode("utf-8") in self.idf


def _idf_path() -> Path:
    # find_spec locates the installed package without running its __init__.
    spec = importlib.util.find_spec("jieba")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - a dependency
        raise RuntimeError("jieba is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "analyse" / "idf.txt"


@functools.cache
def idf_table() -> IdfTable:
    """jieba's IDF table, read on first use and kept (about 0.15 s and 35 MB, once)."""
    parts = _idf_path().read_bytes().split()
    words, values = parts[0::2], parts[1::2]
    counts = Counter(values)
    # Only about 3,300 distinct values: every word shares one bytes object per value.
    shared = {value: value for value in counts}
    idf = dict(zip(words, map(shared.__getitem__, values), strict=True))
    # jieba's own default for unknown words: the middle of the sorted values.
    middle, seen, median = len(values) // 2, 0, 0.0
    for value, count in sorted((float(v), n) for v, n in counts.items()):
        seen += count
        if seen > middle:
            median = value
            break
    return IdfTable(idf=idf, median=median)


# --- noise --------------------------------------------------------------------------------------


def _word_list(text: str) -> frozenset[str]:
    """A word list written as text, words separated by white space."""
    return frozenset(text.split())


# Function words, pronouns, particles and everyday chat words of two characters or more
# (single Chinese characters never count). Kept short on purpose: IDF already weighs common
# words down; this list removes what IDF cannot tell from content in a neighbours' chat.
ZH_STOP_WORDS = _word_list(
    """
    我们 你们 他们 她们 它们 咱们 大家 各位 自己 人家 别人 有人 邻居 邻居们 群里 群友
    什么 怎么 怎么样 怎样 为什么 为何 哪里 哪儿 哪个 哪些 多少 几个 谁的
    这个 那个 这些 那些 这样 那样 这里 那里 这儿 那儿 这么 那么 这边 那边 这种 那种 这次 那次
    一个 一些 一下 一点 一点儿 一直 一起 一定 一样 一般 一边 一次 一天 一会 一会儿 一下子
    已经 还是 就是 不是 只是 但是 可是 因为 所以 如果 虽然 然后 而且 或者 还有 没有 有没有
    有点 有些 可以 可能 应该 需要 知道 觉得 感觉 认为 看看 看到 听说 说说 想想 出来 起来 过来
    过去 下来 上来 回来 进来 今天 明天 昨天 后天 前天 今晚 明晚 昨晚 早上 上午 中午 下午
    晚上 现在 刚才 刚刚 时候 的话 不过 不要 不会 不能 不用 不行 不错 真的 其实 非常 特别
    比较 所有 其他 其它 另外 东西 事情 还要 还会 也是 都是 就是说 是不是 要不 要是 只有
    只要 然而 而是 并且 以及 之后 之前 以后 以前 最近 马上 已经是 一下下 好像 似乎 估计
    怎么办 没事 没关系 没问题 不客气 不好意思 对不起 谢谢 谢谢大家 感谢 多谢 辛苦 辛苦了
    辛苦啦 好的 好滴 好嘞 好吧 好啊 好呀 好哒 是的 对的 对啊 对呀 是啊 是呀 嗯嗯 哦哦 噢噢
    收到 了解 明白 知道了 可以的 没错 确实 当然 早上好 晚上好 中午好 下午好 早安 晚安
    大家好 你好 您好 再见 拜拜 加油 厉害 点赞 恭喜 哈哈 哈哈哈 呵呵 嘻嘻 嘿嘿 哈哈哈哈
    """
)

EN_STOP_WORDS = _word_list(
    """
    a about above after again against all almost along already also although always am among
    an and another any anybody anyone anything anyway anywhere are around as at away back be
    became because become been before being below besides between both but by came can cannot
    could did do does doing done down during each either else enough even ever every everybody
    everyone everything few for from further get gets getting give given go goes going gone got
    had has have having he her here hers herself him himself his how however i if in into is it
    its itself just keep kept know last least less let like likely made make many may me might
    mine more most much must my myself near need needs never new next no nobody none nor not
    nothing now of off often on once one only onto or other others otherwise our ours ourselves
    out over own per perhaps please put quite rather really said same say says see seem seems
    shall she should since so some somebody someone something sometimes soon still such take
    than that the their theirs them themselves then there these they thing things think this
    those though through thus till to today tomorrow tonight too toward towards under until up
    upon us use used very via want wants was way we well went were what whatever when where
    whether which while who whom whose why will with within without would yes yet yesterday you
    your yours yourself yourselves
    don doesn didn isn aren wasn weren won wouldn couldn shouldn hasn haven hadn ain ll ve re
    im ive id youre thats theres lets
    hello hi hey thanks thank thx pls plz sorry okay ok yeah yep yup nope good great nice cool
    sure maybe morning evening night everyone guys folks dear lol haha hahaha
    neighbour neighbours neighbor neighbors
    needed wanted thought told asked tried trying looking makes making took takes taking comes
    coming saying seemed knew known thinking gave gives giving wants tell
    """
)

# The bot's own words, typed as tags or commands (#keep, #留存, #记住).
BOT_WORDS = frozenset({"keep", "unkeep", "留存", "记住", "digest", "onthisday"})

# Phrases that end in a particle (好了吗, 又坏了, 来了, 我的) are in jieba's dictionary but are
# not what a week was about.
_ZH_PARTICLE_END = re.compile(r"[了吗呢吧啊呀嘛啦哦哈的么咯呗噢喔]$")
_ZH_LAUGH = re.compile(r"^[哈呵嘿嘻嘎咯嗯哦噢喔啊呀哇呜嘤嗷唔诶欸耶哟嘛呐啦吧]+$")
_EN_NOISE = re.compile(
    r"^(?:a?(?:ha)+h?|(?:he){2,}|(?:hi){2,}|l+o+l+[lo]*|lmf?ao+|rofl|xd+|h{2,}|k+|(?:ok)+|o+k+a*y*"
    r"|yay+|wo+w+|omg+|o+h+|u+h+m*|h+m+|e+r+m+|u+m+|e+h+|ye+s+|ya+y*|ye+a+h+|no+p+e*|na+h+"
    r"|hu+h+|aw+|ty|tks)$"
)
_HAS_DIGIT = re.compile(r"\d")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_LATIN_WORD = re.compile(r"^[a-z]+$")
# Links, e-mail addresses and @mentions (a handle is not a word of the week, and may belong to
# someone who never agreed to anything).
_STRIP = re.compile(
    r"(?i)(?:\b(?:https?|ftp)://\S+|\bwww\.\S+|\S+@\S+\.\w+"
    r"|\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|cn|io|me|info|edu|gov|hk|tw|uk|app|dev)\b\S*"
    r"|@[\w.-]+(?::[\w.-]+)?)"
)
_COMMAND = re.compile(r"^\s*[/!][A-Za-z]")
MAX_WORD_CHARS = 24


def is_noise(word: str) -> bool:
    """True for a lower-cased token that is never a word of the week."""
    if len(word) > MAX_WORD_CHARS or _HAS_DIGIT.search(word) or word in BOT_WORDS:
        return True
    if _HAN.search(word):
        return (
            len(word) < 2
            or word in ZH_STOP_WORDS
            or bool(_ZH_LAUGH.match(word) or _ZH_PARTICLE_END.search(word))
        )
    if _LATIN_WORD.match(word):
        return len(word) < 3 or word in EN_STOP_WORDS or bool(_EN_NOISE.match(word))
    # Other scripts (kana, hangul, Cyrillic …): at least two characters, letters only.
    return len(word) < 2 or not word.isalpha()


# --- English stemming ----------------------------------------------------------------------------

_VOWELS = frozenset("aeiou")
# Plurals of words ending in -ie, which the -ies → -y rule would get wrong.
_IE_PLURALS = frozenset(
    {"aunties", "brownies", "cookies", "dies", "goodies", "lies", "movies", "pies", "selfies"}
    | {"ties", "hippies", "zombies", "calories", "veggies", "rookies", "techies", "newbies"}
)


def _is_consonant(word: str, i: int) -> bool:
    ch = word[i]
    if ch in _VOWELS:
        return False
    if ch == "y":
        return i == 0 or not _is_consonant(word, i - 1)
    return True


def _measure(word: str) -> int:
    """Porter's *m*: how many vowel-consonant sequences the word has."""
    count, seen_vowel = 0, False
    for i in range(len(word)):
        if _is_consonant(word, i):
            if seen_vowel:
                count += 1
            seen_vowel = False
        else:
            seen_vowel = True
    return count


def _ends_cvc(word: str) -> bool:
    """Consonant-vowel-consonant at the end, the last not w, x or y (hop, bak, tir)."""
    n = len(word)
    return (
        n >= 3
        and _is_consonant(word, n - 3)
        and not _is_consonant(word, n - 2)
        and _is_consonant(word, n - 1)
        and word[-1] not in "wxy"
    )


def stem(word: str) -> str:
    """A light English stemmer (Porter's steps 1a and 1b): plurals, -ed and -ing.

    Light on purpose: neighbours see these words, and heavier stemmers merge words people
    tell apart (organ/organization). ``volunteers``, ``volunteered``, ``volunteering`` →
    ``volunteer``; ``parties`` → ``party``; ``stopped`` → ``stop``; ``baked`` → ``bake``.
    """
    w = word
    if len(w) <= 3:
        return w
    if w.endswith("sses"):
        w = w[:-2]
    elif w.endswith("ies"):
        w = w[:-1] if w in _IE_PLURALS else w[:-3] + "y"
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if w.endswith("eed"):
        # agreed → agree, but need and speed stay.
        return w[:-1] if _measure(w[:-3]) > 0 else w
    for suffix in ("ing", "ed"):
        if not w.endswith(suffix):
            continue
        base = w[: -len(suffix)]
        if len(base) >= 3 and any(not _is_consonant(base, i) for i in range(len(base))):
            w = _tidy(base)
        break
    return w


def _tidy(base: str) -> str:
    if base.endswith(("at", "bl", "iz")):
        return base + "e"
    if base[-1] == base[-2] and _is_consonant(base, len(base) - 1) and base[-1] not in "lsz":
        return base[:-1]
    if _measure(base) == 1 and _ends_cvc(base):
        return base + "e"
    return base


# --- the week's words -------------------------------------------------------------------------


def plain_words(tokens: Sequence[str]) -> list[str]:
    """The words of a text from its search-mode tokens (``message.tokens`` split), in
    reverse order: search mode puts the shorter dictionary words inside a long word just before
    it (志愿 志愿者 志愿者队), and those are dropped, so each word of the text counts once."""
    words: list[str] = []
    container = ""
    for token in reversed(tokens):
        if len(token) < len(container) and token in container and _HAN.search(token):
            continue
        container = token
        words.append(token)
    return words


def _words(
    segmenter: Segmenter, text: str, tokens: str, keys: dict[str, str | None]
) -> dict[str, str]:
    """``stem → form`` for the distinct words of one message that may count. ``keys``
    remembers each token's stem (None for noise): a week has far fewer distinct tokens than
    tokens."""
    if _COMMAND.match(text):
        return {}
    if "@" in text or "." in text or "/" in text:
        # Perhaps a link, an address or a mention: cut the text again without them.
        stripped = _STRIP.sub(" ", text)
        if stripped != text:
            tokens = segmenter.index_tokens(stripped)
    found: dict[str, str] = {}
    for token in plain_words(tokens.split()):
        if token in keys:
            key = keys[token]
        else:
            key = None if is_noise(token) else stem(token) if _LATIN_WORD.match(token) else token
            keys[token] = key
        if key is not None:
            found.setdefault(key, token)
    return found


def week_words(
    segmenter: Segmenter,
    messages: Iterable[tuple[str, str]],
    *,
    limit: int = 50,
    min_messages: int = 2,
) -> list[Keyword]:
    """The words of these messages — ``(text, tokens)`` pairs, ``tokens`` as stored in
    ``message.tokens`` (``Segmenter.index_tokens(text)``) — most characteristic first (score,
    then how many messages, then the word), at most ``limit``. The same messages always give
    the same list."""
    used: Counter[str] = Counter()
    forms: dict[str, Counter[str]] = {}
    keys: dict[str, str | None] = {}
    for text, tokens in messages:
        for key, form in _words(segmenter, text, tokens, keys).items():
            used[key] += 1
            forms.setdefault(key, Counter())[form] += 1
    if not used:
        return []
    table = idf_table()
    words = []
    for key, count in used.items():
        if count < max(1, min_messages):
            continue
        # The form most messages used; on a tie the shorter, then the first alphabetically.
        form = min(forms[key].items(), key=lambda item: (-item[1], len(item[0]), item[0]))[0]
        idf = table[form] if form in table or key not in table else table[key]
        words.append(Keyword(word=form, score=round(count * idf, 4), messages=count))
    words.sort(key=lambda k: (-k.score, -k.messages, k.word))
    return words[: max(0, limit)]
