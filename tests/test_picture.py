"""The digest's picture: a real PNG with the week's words and days, drawn with a CJK font found
on the system — and no picture at all (never boxes) when there is no such font."""

from __future__ import annotations

import io
import os
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image, ImageChops

from archiver.digest import Digest, Highlight, IsoWeek
from archiver.keywords import Keyword
from archiver.picture import (
    BACKGROUND,
    HEIGHT,
    WIDTH,
    CjkFont,
    cloud_words,
    find_cjk_font,
    render_picture,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEK = IsoWeek(2026, 47)
WORDS = [
    ("李师傅", 60.0),
    ("电梯", 52.0),
    ("志愿者", 47.0),
    ("volunteer", 40.0),
    ("岗亭", 33.0),
    ("物业", 30.0),
    ("garden", 24.0),
    ("橘子", 21.0),
    ("新年快乐", 18.0),
    ("巡逻", 15.0),
    ("groceries", 12.0),
    ("车库", 10.0),
]


def digest(
    *,
    keywords: list[tuple[str, float]] = WORDS,
    per_day: tuple[int, ...] = (5, 3, 2, 2, 0, 2, 1),
    name: str = "阳光花园🌻",
) -> Digest:
    start = datetime(2026, 11, 16, tzinfo=SHANGHAI)
    return Digest(
        community_id="sunshine",
        community_name=name,
        language="zh",
        timezone="Asia/Shanghai",
        week=WEEK,
        start=start,
        end=start + timedelta(days=7),
        messages=sum(per_day),
        neighbours=min(sum(per_day), 5),
        tagged=1 if sum(per_day) else 0,
        per_day=per_day,
        highlights=(Highlight(1, "telegram:-1", "101", start, "王阿姨", "明天电梯检修", 3, 0),)
        if sum(per_day)
        else (),
        keywords=tuple(Keyword(word, score, 2) for word, score in keywords),
        stories=(),
        new_neighbours=0,
        new_neighbour_names=(),
    )


@pytest.fixture(scope="module")
def font() -> CjkFont:
    """The machine's CJK font. CI installs one (``.ci/run``); elsewhere the test is skipped
    with the command that installs it."""
    found = find_cjk_font()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("no CJK font found: .ci/run should have installed fonts-noto-cjk")
        pytest.skip("no CJK font on this machine (Debian: apt-get install fonts-noto-cjk)")
    return found


def opened(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def test_the_picture_is_a_real_png(font: CjkFont) -> None:
    png = render_picture(
        digest(), weekdays=["周一", "周二", "周三", "周四", "周五", "周六", "周日"]
    )
    assert png is not None
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert 20_000 < len(png) < 2_000_000
    image = opened(png)
    assert (image.format, image.size, image.mode) == ("PNG", (WIDTH, HEIGHT), "RGB")


def test_the_picture_is_not_trivial(font: CjkFont) -> None:
    png = render_picture(digest())
    assert png is not None
    image = opened(png)
    colours = image.getcolors(maxcolors=WIDTH * HEIGHT)
    assert colours is not None and len(colours) > 200  # words in several colours, anti-aliased
    blank = Image.new("RGB", image.size, BACKGROUND)
    ink = ImageChops.difference(image, blank).convert("L").point(lambda v: 255 if v > 40 else 0)
    inked = ink.histogram()[255]
    assert 0.05 < inked / (WIDTH * HEIGHT) < 0.6
    # Both parts are drawn: the cloud in the middle band, the bars at the bottom.
    for band in ((0, 130, WIDTH, 560), (0, 585, WIDTH, HEIGHT)):
        assert ink.crop(band).getbbox() is not None


def test_the_same_digest_gives_the_same_picture(font: CjkFont) -> None:
    assert render_picture(digest()) == render_picture(digest())


def test_every_word_is_placed(font: CjkFont) -> None:
    assert cloud_words(digest(), font) == [word for word, _ in WORDS]


def test_words_the_font_cannot_draw_are_left_out(font: CjkFont) -> None:
    # Egyptian hieroglyphs and an emoji: no CJK font has them; they must not become boxes.
    strange = [("𓀀𓀁", 70.0), ("电梯", 52.0), ("🌻花", 50.0), ("garden", 24.0)]
    assert cloud_words(digest(keywords=strange), font) == ["电梯", "garden"]
    assert render_picture(digest(keywords=strange)) is not None


def test_a_week_without_words_still_has_a_picture(font: CjkFont) -> None:
    png = render_picture(digest(keywords=[]))
    assert png is not None
    assert opened(png).size == (WIDTH, HEIGHT)


def test_a_quiet_week_has_no_picture(font: CjkFont) -> None:
    assert render_picture(digest(keywords=[], per_day=(0,) * 7)) is None


def test_no_font_no_picture(tmp_path: Path) -> None:
    assert find_cjk_font([tmp_path]) is None
    assert render_picture(digest(), font_dirs=[tmp_path]) is None
    assert render_picture(digest(), font_dirs=[tmp_path / "missing"]) is None


def test_a_font_without_chinese_is_not_used(tmp_path: Path) -> None:
    latin = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    if not latin.exists():
        pytest.skip("no DejaVu font to try")
    # Named like a CJK font, but it has no Chinese: it would draw boxes.
    shutil.copy(latin, tmp_path / "wqy-microhei.ttc")
    assert find_cjk_font([tmp_path]) is None
    assert render_picture(digest(), font_dirs=[tmp_path]) is None


def test_a_broken_font_file_is_not_used(tmp_path: Path) -> None:
    (tmp_path / "NotoSansCJK-Regular.ttc").write_bytes(b"not a font")
    assert find_cjk_font([tmp_path]) is None


def test_a_font_found_in_a_given_folder(font: CjkFont, tmp_path: Path) -> None:
    shutil.copy(font.path, tmp_path / font.path.name)
    found = find_cjk_font([tmp_path])
    assert found is not None
    assert (found.path, found.index) == (tmp_path / font.path.name, font.index)
    assert render_picture(digest(), font_dirs=[tmp_path]) is not None


def test_the_simplified_chinese_face_is_chosen(font: CjkFont) -> None:
    if font.path.name != "NotoSansCJK-Regular.ttc":
        pytest.skip("the Noto Sans CJK collection is not the font here")
    assert (font.index, font.name) == (2, "Noto Sans CJK SC Regular")
