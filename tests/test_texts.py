"""The zh and en catalogues stay in step: same keys, same placeholders."""

from __future__ import annotations

import string

from bot.chat.texts import CATALOGUES, text


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_catalogues_have_the_same_keys() -> None:
    assert set(CATALOGUES["zh"]) == set(CATALOGUES["en"])


def test_placeholders_match() -> None:
    for key, template in CATALOGUES["zh"].items():
        assert placeholders(template) == placeholders(CATALOGUES["en"][key]), key


def test_unknown_language_falls_back_to_chinese() -> None:
    assert text("fr", "neighbour") == text("zh", "neighbour") == "一位邻居"
    assert text("en", "neighbour") == "a neighbour"
