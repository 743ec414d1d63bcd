"""The archive website in a real browser: Debian's Chromium, headless, driven by playwright,
opening the site from ``file://`` as a resident would open a folder — search (a Chinese
two-character word, an English word, both), following a result to its message, "on this day"
for a fixed date, and messages that try to inject markup running nothing.

CI installs Chromium (``.ci/run``); elsewhere the module is skipped when there is none, but
never under CI.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest

from archiver.archive import Archive, open_archive
from archiver.community import ensure_community
from archiver.consent import Level
from archiver.importers.telegram import import_telegram
from archiver.ingest import ingest_message
from archiver.site.build import build_site
from tests.conftest import COMMUNITY, SETTINGS, message, say

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists() and not os.environ.get("CI"):
    pytest.skip("no Chromium here (apt-get install chromium)", allow_module_level=True)
from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402

DEMO = Path(__file__).resolve().parents[1] / "sandbox" / "demo"
ATTACKS = (
    "<script>window.pwned = 1</script> 脚本测试",
    '"><img src=x onerror="window.pwned = 2"> 图片测试',
    "javascript:window.pwned=3 链接测试",
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The demo community (imported with its roster) plus a resident's odd messages."""
    folder = tmp_path_factory.mktemp("browser")
    archive: Archive = open_archive(f"sqlite:///{folder / 'archive.db'}")
    try:
        ensure_community(archive, SETTINGS)
        import_telegram(
            archive, COMMUNITY, DEMO / "sunshine_garden.json", roster=DEMO / "roster.csv"
        )
        say(archive, 77, Level.ALL, name="测试员")
        for number, words in enumerate(ATTACKS):
            sent = datetime(2026, 5, 1, 10, number, tzinfo=UTC)
            ingest_message(archive, message(900_000 + number, 77, words, sent_at=sent))
        build_site(archive, COMMUNITY, folder / "site")
    finally:
        archive.close()
    yield folder / "site"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    opened = browser.new_page(viewport={"width": 390, "height": 844})
    dialogs: list[str] = []
    opened.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    yield opened
    assert dialogs == [], "a page opened a dialog: something ran that should not have"
    opened.close()


def search(page: Page, site: Path, query: str) -> list[str]:
    page.goto(f"{site.as_uri()}/search.html?q={quote(query)}")
    page.wait_for_function(
        "document.querySelector('#results .status') && "
        "!document.querySelector('#results .status').textContent.endsWith('…')"
    )
    return page.locator("#results .result .snippet").all_text_contents()


def test_a_chinese_two_character_word_is_found_and_leads_to_its_message(
    page: Page, site: Path
) -> None:
    found = search(page, site, "电梯")
    assert len(found) >= 10 and all("电梯" in text for text in found)
    assert any("阳光花园两部电梯全部更换完成" in text for text in found)
    first = page.locator("#results .result a").first
    href = first.get_attribute("href") or ""
    assert "#m" in href and href.split("#")[0].endswith(".html")
    snippet = page.locator("#results .result .snippet").first.text_content() or ""
    first.click()
    page.wait_for_load_state()
    anchor = page.url.split("#", 1)[1]
    target = page.locator(f"article#{anchor}")
    assert target.count() == 1
    assert snippet.rstrip("…")[:20] in (target.locator(".text").text_content() or "")


def test_an_english_word_and_a_mixed_query(page: Page, site: Path) -> None:
    lift = search(page, site, "lift")
    assert lift and all("lift" in text.lower() for text in lift)
    both = search(page, site, "电梯 lift")
    assert both and all("电梯" in t and "lift" in t.lower() for t in both)
    assert len(both) < len(lift)
    assert search(page, site, "不存在的词语组合") == []
    assert "没有找到" in (page.locator("#results .status").text_content() or "")


def test_on_this_day_for_a_fixed_date(page: Page, site: Path) -> None:
    page.goto(f"{site.as_uri()}/index.html?day=03-15")
    memories = page.locator("#otd .memories li")
    memories.first.wait_for()
    shown = memories.all_text_contents()
    assert any("阳光花园两部电梯全部更换完成" in text for text in shown)
    assert all("2025" in text or "2024" in text or "2023" in text for text in shown)
    page.goto(f"{site.as_uri()}/index.html?day=02-30")
    assert "往年的今天还没有留下记忆" in (page.locator("#otd").text_content() or "")


def test_messages_that_try_markup_run_nothing(page: Page, site: Path) -> None:
    page.goto(f"{site.as_uri()}/2026-05.html")
    texts = page.locator("article .text").all_text_contents()
    assert any("<script>window.pwned = 1</script>" in text for text in texts)
    assert any('"><img src=x onerror=' in text for text in texts)
    assert page.locator("article .text img").count() == 0
    assert page.locator("article .text a").count() == 0  # javascript: is no link
    assert page.evaluate("window.pwned") is None
    found = search(page, site, "onerror")
    assert found and page.locator("#results img").count() == 0
    assert page.evaluate("window.pwned") is None


def test_phone_width_has_no_sideways_scrolling(page: Page, site: Path) -> None:
    for name in ("index.html", "2023-11.html", "about.html", "search.html?q=电梯"):
        page.goto(f"{site.as_uri()}/{name}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{name} is {width}px wide on a 390px phone"
