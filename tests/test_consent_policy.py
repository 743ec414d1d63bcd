"""The consent decisions (archiver/consent_policy.py) against docs/consent.md's decision table,
cell by cell: the documentation and the code cannot say different things."""

from __future__ import annotations

from pathlib import Path

import pytest

from archiver.consent_policy import (
    Attribution,
    Level,
    OnTag,
    keeps_edit,
    keeps_live,
    keeps_name,
    keeps_on_import,
    on_tag,
    should_ask,
    shown_name,
    survives_unkeep,
)

DOC = Path(__file__).resolve().parents[1] / "docs" / "consent.md"
COLUMNS = (
    "level",
    "live message",
    "tagged by another",
    "tagged by the author",
    "import, untagged",
    "import, tagged",
    "name kept",
    "edit stored",
    "asked unprompted",
)


def table() -> list[dict[str, str]]:
    """The rows of the decision table in docs/consent.md."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = lines.index("### The decision table")
    rows: list[dict[str, str]] = []
    header: list[str] | None = None
    for line in lines[start:]:
        if not line.startswith("|"):
            if header is not None:
                break
            continue
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if header is None:
            header = cells
        elif not set(cells[0]) <= {"-"}:
            rows.append(dict(zip(header, cells, strict=True)))
    assert header is not None and tuple(header) == COLUMNS
    return rows


def decided(level: Level) -> dict[str, str]:
    """What the code decides, in the table's words."""

    def yes_no(value: bool, yes: str = "kept") -> str:
        return yes if value else "no"

    tag_words = {OnTag.KEEP: "kept", OnTag.KEEP_AS_OWN_YES: "kept", OnTag.HOLD: "held"}
    tag_words[OnTag.REFUSE] = "refused"
    return {
        "level": level.value,
        "live message": yes_no(keeps_live(level)),
        "tagged by another": tag_words[on_tag(level, by_author=False)],
        "tagged by the author": tag_words[on_tag(level, by_author=True)],
        "import, untagged": yes_no(keeps_on_import(level, tagged=False)),
        "import, tagged": yes_no(keeps_on_import(level, tagged=True)),
        "name kept": yes_no(keeps_name(level), "yes"),
        "edit stored": yes_no(keeps_edit(level), "yes"),
        "asked unprompted": "once" if should_ask(level, prompted=False) else "never",
    }


def test_the_table_covers_every_level() -> None:
    assert [row["level"] for row in table()] == [level.value for level in Level]


@pytest.mark.parametrize("row", table(), ids=lambda row: row["level"])
def test_each_row_is_what_the_code_decides(row: dict[str, str]) -> None:
    assert decided(Level(row["level"])) == row


def test_asked_once_means_never_after_being_asked() -> None:
    assert should_ask(Level.UNKNOWN, prompted=False)
    assert not should_ask(Level.UNKNOWN, prompted=True)


def test_tagging_ones_own_message_is_a_yes_to_it_only_while_unknown() -> None:
    assert on_tag(Level.UNKNOWN, by_author=True) is OnTag.KEEP_AS_OWN_YES
    assert on_tag(Level.NONE, by_author=True) is OnTag.REFUSE


@pytest.mark.parametrize(
    ("attribution", "stored", "shown"),
    [
        (Attribution.NAMED, "王阿姨", "王阿姨"),
        (Attribution.ANONYMOUS, "王阿姨", None),  # kept, but not shown
        (Attribution.NAMED, None, None),  # not kept (no yes): nothing to show
        (Attribution.ANONYMOUS, None, None),
    ],
)
def test_a_name_is_shown_only_when_kept_and_chosen(
    attribution: Attribution, stored: str | None, shown: str | None
) -> None:
    assert shown_name(attribution.value, stored) == shown


@pytest.mark.parametrize(
    ("level", "kept_under_all", "survives"),
    [
        (Level.ALL, False, True),
        (Level.TAGGED, True, True),  # kept under an earlier "all": stays
        (Level.TAGGED, False, False),
        (Level.NONE, True, True),  # a later no does not erase; forget does
        (Level.NONE, False, False),
    ],
)
def test_what_survives_unkeep(level: Level, kept_under_all: bool, survives: bool) -> None:
    assert survives_unkeep(level, kept_under_all=kept_under_all) is survives
