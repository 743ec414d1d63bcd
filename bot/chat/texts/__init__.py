"""Resident-facing texts, one catalogue per language (``zh.py``, ``en.py``).

Handlers and commands never hold texts of their own: they call ``text(language, key, ...)``.
``tests/test_texts.py`` checks that both catalogues have the same keys and placeholders.
"""

from __future__ import annotations

from bot.chat.texts import en, zh

CATALOGUES: dict[str, dict[str, str]] = {"zh": zh.TEXTS, "en": en.TEXTS}
DEFAULT_LANGUAGE = "zh"


def text(language: str, key: str, **values: object) -> str:
    """The text ``key`` in ``language`` (Chinese if the language is unknown), filled in."""
    catalogue = CATALOGUES.get(language, CATALOGUES[DEFAULT_LANGUAGE])
    return catalogue[key].format(**values)
