"""Formatted text as the Bot API takes it: ``parse_mode`` HTML, ``entities``, trimming, limits.

:func:`parse_html` follows the Bot API server's parser (TDLib ``parse_html``) step by step, so
the same input is accepted or refused with the same description, including the byte offsets
in messages such as ``Unsupported start tag "div" at byte offset 5``. Supported tags: ``b``,
``strong``, ``i``, ``em``, ``u``, ``ins``, ``s``, ``strike``, ``del``, ``span
class="tg-spoiler"``, ``tg-spoiler``, ``a href``, ``code`` (``class="language-…"``),
``pre``, ``blockquote`` (``expandable``) and ``tg-emoji emoji-id``; character references
``&lt; &gt; &amp; &quot;`` and numeric ones (``&#20013;``, ``&#x4E2D;``).

MarkdownV2 and Markdown are not emulated: they are refused with HTTP 501 so a bot that uses
them fails loudly in tests instead of passing against a parser that is not Telegram's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.emulator import errors
from sandbox.emulator.errors import ApiError
from sandbox.emulator.text import Entity, detect_entities, merge_entities, utf16_len, utf16_slice

_HTML_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins",
        "tg-spoiler", "tg-emoji", "span", "pre", "code", "blockquote",
    }
)  # fmt: skip
_SIMPLE_TAG_TYPES = {
    "i": "italic", "em": "italic", "b": "bold", "strong": "bold",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "u": "underline", "ins": "underline", "tg-spoiler": "spoiler", "span": "spoiler",
}  # fmt: skip
_SPACE = frozenset(b" \t\r\n\v\f\0")
_NAMED_REFERENCES = {b"lt": "<", b"gt": ">", b"amp": "&", b"quot": '"'}
_USER_LINK = re.compile(r"(?i)^tg://user\?id=(\d+)$")
_LINK_SCHEMES = re.compile(r"(?i)^(https?|ftp|tg|ton|tonsite)://\S+$")
_BARE_DOMAIN = re.compile(r"(?i)^[a-z0-9-]+(\.[a-z0-9-]+)+(:\d+)?([/?#]\S*)?$")

#: Looks a user up by id for ``<a href="tg://user?id=…">``; returns User JSON or ``None``.
UserLookup = Callable[[int], dict[str, Any] | None]


@dataclass
class _OpenTag:
    name: str
    argument: str
    utf16_offset: int
    output_begin: int


def _decode_reference(data: bytes, pos: int) -> tuple[int, int]:
    """Decodes the character reference starting at ``data[pos] == '&'``.

    Returns ``(code point, position after it)``, or ``(0, pos)`` when it is not one that
    Telegram decodes (then the ``&`` is kept as text).
    """
    end = pos + 1
    code = 0
    if data[end : end + 1] == b"#":
        end += 1
        if data[end : end + 1] == b"x":
            end += 1
            while end < len(data) and chr(data[end]) in "0123456789abcdefABCDEF":
                code = code * 16 + int(chr(data[end]), 16)
                end += 1
        else:
            while end < len(data) and 48 <= data[end] <= 57:
                code = code * 10 + data[end] - 48
                end += 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return 0, pos
    else:
        while end < len(data) and chr(data[end]).isascii() and chr(data[end]).isalpha():
            end += 1
        name = _NAMED_REFERENCES.get(data[pos + 1 : end])
        if name is None:
            return 0, pos
        code = ord(name)
    if data[end : end + 1] == b";":
        end += 1
    return code, end


def _checked_link(url: str) -> str | None:
    """The link Telegram keeps for ``<a href>``, or ``None`` when it would drop it."""
    url = url.strip()
    if _LINK_SCHEMES.match(url):
        return url
    if _BARE_DOMAIN.match(url):
        return "http://" + url
    return None


def parse_html(html: str, lookup_user: UserLookup | None = None) -> tuple[str, list[Entity]]:
    """Telegram's HTML ``parse_mode``: returns the plain text and its entities.

    Raises:
        ApiError: 400 ``Bad Request: can't parse entities: …`` for markup Telegram refuses.
    """
    data = html.encode("utf-8", "surrogatepass")
    size = len(data)

    def at(index: int) -> int:
        return data[index] if index < size else 0

    def fail(reason: str) -> ApiError:
        return errors.cant_parse_entities(reason)

    out = bytearray()
    entities: list[Entity] = []
    nested: list[_OpenTag] = []
    utf16 = 0
    i = 0
    while i < size:
        char = data[i]
        if char == 0x26:  # '&'
            code, after = _decode_reference(data, i)
            if code:
                utf16 += 2 if code > 0xFFFF else 1
                out += chr(code).encode("utf-8", "surrogatepass")
                i = after
                continue
        if char != 0x3C:  # '<'
            if char & 0xC0 != 0x80:
                utf16 += 2 if char >= 0xF0 else 1
            out.append(char)
            i += 1
            continue

        begin = i
        i += 1
        if at(i) != 0x2F:  # a start tag
            while at(i) not in _SPACE and at(i) != 0x3E:
                i += 1
            if at(i) == 0:
                raise fail(f"Unclosed start tag at byte offset {begin}")
            name = data[begin + 1 : i].decode("utf-8", "replace").lower()
            if name not in _HTML_TAGS:
                raise fail(f'Unsupported start tag "{name}" at byte offset {begin}')
            argument = ""
            while at(i) != 0x3E:
                while at(i) != 0 and at(i) in _SPACE:
                    i += 1
                if at(i) == 0x3E:
                    break
                attribute_begin = i
                while at(i) not in _SPACE and at(i) not in b"=>/\"'":
                    i += 1
                attribute = data[attribute_begin:i]
                if not attribute:
                    raise fail(f'Empty attribute name in the tag "{name}" at byte offset {begin}')
                while at(i) != 0 and at(i) in _SPACE:
                    i += 1
                if at(i) != 0x3D:  # no '=': a bare attribute
                    if at(i) == 0:
                        raise fail(f'Unclosed start tag "{name}" at byte offset {begin}')
                    if name == "blockquote" and attribute == b"expandable":
                        argument = "1"
                    continue
                i += 1
                while at(i) != 0 and at(i) in _SPACE:
                    i += 1
                if at(i) == 0:
                    raise fail(f'Unclosed start tag "{name}" at byte offset {begin}')
                if at(i) not in b"'\"":
                    token_begin = i
                    while chr(at(i)).isascii() and (chr(at(i)).isalnum() or at(i) in b".-"):
                        i += 1
                    value = data[token_begin:i].decode("ascii").lower()
                    if at(i) not in _SPACE and at(i) != 0x3E:
                        raise fail(f"Unexpected end of name token at byte offset {token_begin}")
                else:
                    quote = at(i)
                    i += 1
                    raw = bytearray()
                    while at(i) != quote and at(i) != 0:
                        if at(i) == 0x26:
                            code, after = _decode_reference(data, i)
                            if code:
                                raw += chr(code).encode("utf-8", "surrogatepass")
                                i = after
                                continue
                        raw.append(at(i))
                        i += 1
                    if at(i) == quote:
                        i += 1
                    value = raw.decode("utf-8", "replace")
                if at(i) == 0:
                    raise fail(f"Unclosed start tag at byte offset {begin}")
                if name == "a" and attribute == b"href":
                    argument = value
                elif name == "code" and attribute == b"class" and value.startswith("language-"):
                    argument = value[len("language-") :]
                elif name == "span" and attribute == b"class" and value.startswith("tg-"):
                    argument = value[len("tg-") :]
                elif name == "tg-emoji" and attribute == b"emoji-id":
                    argument = value
                elif name == "blockquote" and attribute == b"expandable":
                    argument = "1"
            if name == "span" and argument != "spoiler":
                raise fail(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
            nested.append(_OpenTag(name, argument, utf16, len(out)))
            i += 1
            continue

        # an end tag
        if not nested:
            raise fail(f"Unexpected end tag at byte offset {begin}")
        while at(i) not in _SPACE and at(i) != 0x3E:
            i += 1
        end_name = data[begin + 2 : i].decode("utf-8", "replace").lower()
        while at(i) != 0 and at(i) in _SPACE:
            i += 1
        if at(i) != 0x3E:
            raise fail(f"Unclosed end tag at byte offset {begin}")
        opened = nested[-1]
        if end_name and end_name != opened.name:
            raise fail(
                f'Unmatched end tag at byte offset {begin}, expected "</{opened.name}>", '
                f'found "</{end_name}>"'
            )
        if utf16 > opened.utf16_offset:
            entity = _entity_for(opened, utf16, out, entities, lookup_user)
            if entity is not None:
                entities.append(entity)
        nested.pop()
        i += 1

    if nested:
        raise fail(f'Can\'t find end tag corresponding to start tag "{nested[-1].name}"')
    try:
        text = out.decode("utf-8")
    except UnicodeDecodeError:
        raise fail(
            "Text contains invalid Unicode characters after decoding HTML entities, check for "
            "unmatched surrogate code units"
        ) from None
    entities = [
        Entity("code", e.offset, e.length) if e.type == "code" and e.language else e
        for e in entities
    ]
    entities.sort(key=lambda e: (e.offset, -e.length))
    return text, entities


def _entity_for(
    opened: _OpenTag,
    utf16_end: int,
    out: bytearray,
    entities: list[Entity],
    lookup_user: UserLookup | None,
) -> Entity | None:
    """The entity a closed tag makes; may turn the previous ``pre``/``code`` into one block."""
    offset, length = opened.utf16_offset, utf16_end - opened.utf16_offset
    name = opened.name
    if name in _SIMPLE_TAG_TYPES:
        return Entity(_SIMPLE_TAG_TYPES[name], offset, length)
    if name == "tg-emoji":
        if not opened.argument.isdigit() or int(opened.argument) == 0:
            raise errors.cant_parse_entities("Invalid custom emoji identifier specified")
        return Entity("custom_emoji", offset, length, custom_emoji_id=opened.argument)
    if name == "a":
        url = opened.argument or out[opened.output_begin :].decode("utf-8", "replace")
        user_link = _USER_LINK.match(url.strip())
        if user_link:
            user = lookup_user(int(user_link.group(1))) if lookup_user else None
            return None if user is None else Entity("text_mention", offset, length, user=user)
        link = _checked_link(url)
        return None if link is None else Entity("text_link", offset, length, url=link)
    if name == "blockquote":
        kind = "expandable_blockquote" if opened.argument else "blockquote"
        return Entity(kind, offset, length)
    previous = entities[-1] if entities else None
    same_span = previous is not None and (previous.offset, previous.length) == (offset, length)
    if name == "pre":
        if same_span and previous is not None and previous.type == "code" and previous.language:
            entities.pop()
            return Entity("pre", offset, length, language=previous.language)
        return Entity("pre", offset, length)
    # name == "code"
    if same_span and previous is not None and previous.type == "pre" and opened.argument:
        entities.pop()
        return Entity("pre", offset, length, language=opened.argument)
    return Entity("code", offset, length, language=opened.argument or None)


_ENTITY_TYPES = frozenset(
    {
        "mention", "hashtag", "cashtag", "bot_command", "url", "email", "phone_number",
        "bold", "italic", "underline", "strikethrough", "spoiler", "blockquote",
        "expandable_blockquote", "code", "pre", "text_link", "text_mention", "custom_emoji",
    }
)  # fmt: skip


def entities_from_param(value: Any, text: str) -> list[Entity]:
    """Entities passed explicitly (``entities``/``caption_entities``), checked and clipped."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise errors.bad_request(errors.ENTITIES_UNPARSABLE) from None
    if not isinstance(value, list):
        raise errors.bad_request(errors.ENTITIES_UNPARSABLE)
    total = utf16_len(text)
    entities: list[Entity] = []
    for item in value:
        if not isinstance(item, dict) or item.get("type") not in _ENTITY_TYPES:
            continue
        offset, length = int(item.get("offset", 0)), int(item.get("length", 0))
        offset, end = max(0, offset), min(total, offset + length)
        if end <= offset:
            continue
        entities.append(
            Entity(
                str(item["type"]),
                offset,
                end - offset,
                url=item.get("url"),
                user=item.get("user"),
                language=item.get("language"),
                custom_emoji_id=item.get("custom_emoji_id"),
            )
        )
    entities.sort(key=lambda e: (e.offset, -e.length))
    return entities


def _trim(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Strips surrounding whitespace like Telegram, moving entities with the text."""
    stripped_left = text.lstrip()
    shift = utf16_len(text) - utf16_len(stripped_left)
    result = stripped_left.rstrip()
    total = utf16_len(result)
    kept: list[Entity] = []
    for entity in entities:
        offset, end = max(0, entity.offset - shift), min(total, entity.end - shift)
        if end > offset:
            kept.append(
                Entity(
                    entity.type,
                    offset,
                    end - offset,
                    url=entity.url,
                    user=entity.user,
                    language=entity.language,
                    custom_emoji_id=entity.custom_emoji_id,
                )
            )
    return result, kept


def prepare_text(
    raw: str,
    *,
    parse_mode: str | None,
    entities_param: Any = None,
    empty: str | None,
    lookup_user: UserLookup | None = None,
) -> tuple[str, list[Entity]]:
    """Turns a text or caption parameter into what Telegram stores: text plus entities.

    Parses markup (or takes explicit ``entities``), trims surrounding whitespace and adds the
    entities Telegram detects by itself. ``empty`` is the error for a text that ends up
    empty, or ``None`` when empty is allowed (captions). Lengths are checked by the caller,
    after the chat, as the Bot API server does.
    """
    mode = (parse_mode or "").strip()
    if entities_param is not None and entities_param != "":
        text, given = raw, entities_from_param(entities_param, raw)
    elif mode.lower() == "html":
        text, given = parse_html(raw, lookup_user)
    elif mode.lower() in ("markdown", "markdownv2"):
        raise ApiError(
            501, f"Not Implemented: the emulator does not parse {mode}; use parse_mode HTML"
        )
    elif mode:
        raise errors.bad_request(errors.UNSUPPORTED_PARSE_MODE)
    else:
        text, given = raw, []
    text, given = _trim(text, given)
    if not text:
        if empty is not None:
            raise errors.bad_request(empty)
        return "", []
    return text, merge_entities(given, detect_entities(text))


def entity_text(text: str, entity: Entity) -> str:
    """The part of ``text`` that ``entity`` covers."""
    return utf16_slice(text, entity.offset, entity.length)
