"""Text as Telegram measures it, and the entities Telegram finds in text by itself.

Telegram counts offsets and lengths in UTF-16 code units: an emoji outside the Basic
Multilingual Plane ("😀") counts 2, a Chinese character ("中") counts 1. Every message that
reaches a bot carries the entities Telegram detected: ``bot_command``, ``mention``,
``hashtag``, ``url`` and ``email``. The rules below follow the Bot API server (TDLib
``MessageEntity.cpp``): a command is ``/`` + 1–64 of ``[A-Za-z0-9_]``, optionally
``@`` + 3–32 of them, not glued to a word; a mention is ``@`` + 4–32 of ``[A-Za-z0-9_]``
not glued to a word; a hashtag is ``#`` + letters/digits/``_`` with at least one letter.
URL detection is a simplified version of Telegram's (scheme URLs, and bare domains under
common top-level domains).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, as Telegram counts it."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def utf16_slice(text: str, offset: int, length: int) -> str:
    """The part of ``text`` an entity with this UTF-16 ``offset``/``length`` covers."""
    data = text.encode("utf-16-le", "surrogatepass")
    return data[2 * offset : 2 * (offset + length)].decode("utf-16-le", "surrogatepass")


@dataclass(frozen=True)
class Entity:
    """A ``MessageEntity``: a typed span of a text, in UTF-16 code units."""

    type: str
    offset: int
    length: int
    url: str | None = None
    user: dict[str, Any] | None = field(default=None, compare=False)
    language: str | None = None
    custom_emoji_id: str | None = None

    @property
    def end(self) -> int:
        """The UTF-16 offset just past the entity."""
        return self.offset + self.length

    def to_api(self) -> dict[str, Any]:
        """The Bot API ``MessageEntity`` JSON object."""
        data: dict[str, Any] = {"offset": self.offset, "length": self.length, "type": self.type}
        if self.url is not None:
            data["url"] = self.url
        if self.user is not None:
            data["user"] = dict(self.user)
        if self.language is not None:
            data["language"] = self.language
        if self.custom_emoji_id is not None:
            data["custom_emoji_id"] = self.custom_emoji_id
        return data


def is_word_character(char: str) -> bool:
    """Letters, digits and ``_`` (TDLib's ``is_word_character``)."""
    return char == "_" or unicodedata.category(char)[0] in "LN"


def _is_ascii_word(char: str) -> bool:
    return char == "_" or ("0" <= char <= "9") or ("a" <= char.lower() <= "z")


def _is_hashtag_letter(char: str) -> bool:
    code = ord(char)
    if char == "_" or code in (0x200C, 0xB7) or 0xD80 <= code <= 0xDFF:
        return True
    category = unicodedata.category(char)
    return category[0] == "L" or category == "Nd"


def _run(text: str, start: int, accept: Any) -> int:
    """Index of the first character at or after ``start`` that ``accept`` refuses."""
    end = start
    while end < len(text) and accept(text[end]):
        end += 1
    return end


def find_bot_commands(text: str) -> list[tuple[int, int]]:
    """Spans (Python indices) of ``/command`` and ``/command@bot`` anywhere in ``text``."""
    spans: list[tuple[int, int]] = []
    for match in re.finditer("/", text):
        begin = match.start()
        if begin > 0:
            prev = text[begin - 1]
            if is_word_character(prev) or prev in "/<>":
                continue
        end = _run(text, begin + 1, _is_ascii_word)
        if not 1 <= end - begin - 1 <= 64:
            continue
        if end < len(text) and text[end] == "@":
            name_end = _run(text, end + 1, _is_ascii_word)
            if not 3 <= name_end - end - 1 <= 32:
                continue
            end = name_end
        if end < len(text) and (is_word_character(text[end]) or text[end] in "/<>"):
            continue
        spans.append((begin, end))
    return spans


def find_mentions(text: str) -> list[tuple[int, int]]:
    """Spans of ``@username`` mentions (4–32 characters, not inside a word)."""
    spans: list[tuple[int, int]] = []
    for match in re.finditer("@", text):
        begin = match.start()
        if begin > 0 and is_word_character(text[begin - 1]):
            continue
        end = _run(text, begin + 1, _is_ascii_word)
        if not 4 <= end - begin - 1 <= 32:
            continue
        if end < len(text) and is_word_character(text[end]):
            continue
        spans.append((begin, end))
    return spans


def find_hashtags(text: str) -> list[tuple[int, int]]:
    """Spans of ``#hashtags`` (``#留存`` included): up to 256 characters, at least one letter."""
    spans: list[tuple[int, int]] = []
    for match in re.finditer("#", text):
        begin = match.start()
        if begin > 0 and _is_hashtag_letter(text[begin - 1]):
            continue
        end = _run(text, begin + 1, _is_hashtag_letter)
        if end == begin + 1 or (end < len(text) and text[end] == "#"):
            continue
        body = text[begin + 1 : min(end, begin + 257)]
        if not any(unicodedata.category(char)[0] == "L" for char in body):
            continue
        spans.append((begin, begin + 1 + len(body)))
    return spans


_URL_END_TRIM = ".:;,('?!`\""
_TLDS = (
    "com|org|net|cn|io|me|ru|info|dev|app|co|uk|de|fr|jp|hk|tw|sg|edu|gov|eu|us|ca|au|in|"
    "xyz|top|site|online|tech|ai|so|ly|gg|tv|cc|biz|mobi|name|pro|museum|travel|tel|shop"
)
_SCHEME_URL = re.compile(r"(?i)(?<![\w@])(?:https?|ftp|tg|ton|tonsite)://[^\s<>\"«»]+")
_BARE_URL = re.compile(
    rf"(?i)(?<![\w@./:-])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:{_TLDS})(?![\w-])"
    r"(?::\d{1,5})?(?:[/?#][^\s<>\"«»]*)?"
)
_EMAIL = re.compile(
    rf"(?i)(?<![\w.+-])[\w.+-]+@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:{_TLDS})(?![\w-])"
)


def _trim_url(text: str, begin: int, end: int) -> tuple[int, int]:
    while end > begin and text[end - 1] in _URL_END_TRIM:
        end -= 1
    # Keep a closing parenthesis only when the URL opened one.
    while (
        end > begin
        and text[end - 1] == ")"
        and text.count("(", begin, end) < text.count(")", begin, end)
    ):
        end -= 1
    return begin, end


def find_urls(text: str) -> list[tuple[int, int, str]]:
    """Spans of links and e-mail addresses, each with its entity type (``url``/``email``)."""
    found: list[tuple[int, int, str]] = [
        (m.start(), m.end(), "email") for m in _EMAIL.finditer(text)
    ]
    for pattern in (_SCHEME_URL, _BARE_URL):
        for match in pattern.finditer(text):
            begin, end = _trim_url(text, match.start(), match.end())
            if end > begin:
                found.append((begin, end, "url"))
    return found


class Utf16Offsets:
    """Converts Python string indices of one text into UTF-16 offsets."""

    def __init__(self, text: str) -> None:
        self._prefix = [0]
        for char in text:
            self._prefix.append(self._prefix[-1] + (2 if ord(char) > 0xFFFF else 1))

    def __call__(self, index: int) -> int:
        return self._prefix[index]


def detect_entities(text: str) -> list[Entity]:
    """The entities Telegram adds to ``text`` by itself, sorted, without overlaps."""
    spans: list[tuple[int, int, str]] = [(b, e, "bot_command") for b, e in find_bot_commands(text)]
    spans += [(b, e, "mention") for b, e in find_mentions(text)]
    spans += [(b, e, "hashtag") for b, e in find_hashtags(text)]
    spans += find_urls(text)
    spans.sort(key=lambda span: (span[0], -(span[1] - span[0])))
    to_utf16 = Utf16Offsets(text)
    entities: list[Entity] = []
    taken_until = 0
    for begin, end, kind in spans:
        if begin < taken_until:
            continue
        taken_until = end
        offset = to_utf16(begin)
        entities.append(Entity(kind, offset, to_utf16(end) - offset))
    return entities


#: Entities inside which Telegram finds nothing more (code, links, custom emoji).
_OPAQUE_TYPES = frozenset({"code", "pre", "text_link", "text_mention", "custom_emoji"})


def merge_entities(given: list[Entity], detected: list[Entity]) -> list[Entity]:
    """``given`` (from markup or the ``entities`` parameter) plus ``detected`` ones that do not
    overlap an opaque given entity, sorted as Telegram sorts them."""
    opaque = [entity for entity in given if entity.type in _OPAQUE_TYPES]
    present = {(entity.type, entity.offset, entity.length) for entity in given}
    merged = list(given)
    for entity in detected:
        if (entity.type, entity.offset, entity.length) in present:
            continue
        if not any(entity.offset < o.end and o.offset < entity.end for o in opaque):
            merged.append(entity)
    merged.sort(key=lambda entity: (entity.offset, -entity.length))
    return merged


def entities_to_api(entities: list[Entity]) -> list[dict[str, Any]]:
    """A list of ``MessageEntity`` JSON objects."""
    return [entity.to_api() for entity in entities]
