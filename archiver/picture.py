"""The digest's picture: the week's words as a cloud, above a bar chart of the week's days.

A word cloud is what neighbours look at first on a Sunday evening (their own words, big when
many used them); the bars underneath show which days the group was lively. Both are drawn with
Pillow — the cloud's layout is ours, with numpy: each word, biggest first, takes the free spot
nearest the middle (an integral image finds every free spot at once), so the same digest always
gives the same picture, and no plotting library is loaded.

Chinese needs a CJK font. ``find_cjk_font`` looks for one on the system — Noto Sans CJK
(Debian's ``fonts-noto-cjk``), Source Han Sans, WenQuanYi (``fonts-wqy-microhei``,
``fonts-wqy-zenhei``), Droid Sans Fallback, or the Chinese fonts of macOS and Windows — and
checks that it really draws Chinese. Without one there is no picture (the digest goes out as
text): never boxes instead of characters. A word with a character the font lacks is left out of
the cloud, and such characters are dropped from the title, for the same reason.

The picture holds no sentences, only the community's name, numbers, dates and the words; the
seven day labels come from the caller (``archiver.digest.weekdays``), in the community's
language.
"""

from __future__ import annotations

import functools
import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from archiver.digest import Digest

if TYPE_CHECKING:
    from PIL import Image, ImageDraw
    from PIL.ImageFont import FreeTypeFont

__all__ = [
    "HEIGHT",
    "WIDTH",
    "CjkFont",
    "cloud_words",
    "default_font_dirs",
    "find_cjk_font",
    "render_picture",
]

WIDTH, HEIGHT = 1200, 800
MAX_WORDS = 60
CELL = 2  # the cloud's layout works on cells of 2 × 2 pixels

# File names of fonts known to cover Chinese (lower case), best first. The face wanted from a
# collection (.ttc) is the Simplified Chinese one when there is a choice.
KNOWN_FONTS = (
    "notosanscjk-regular.ttc",
    "notosanscjksc-regular.otf",
    "notosanssc-regular.otf",
    "notosanssc-regular.ttf",
    "sourcehansanssc-regular.otf",
    "sourcehansans-regular.ttc",
    "wqy-microhei.ttc",
    "wqy-zenhei.ttc",
    "notoserifcjk-regular.ttc",
    "droidsansfallbackfull.ttf",
    "droidsansfallback.ttf",
    "pingfang.ttc",
    "hiragino sans gb.ttc",
    "stheiti medium.ttc",
    "msyh.ttc",
    "msyh.ttf",
    "simhei.ttf",
    "simsun.ttc",
)
# Bold companions (same collection layout) for the title, when installed.
BOLD_OF = {
    "notosanscjk-regular.ttc": "NotoSansCJK-Bold.ttc",
    "notosanscjksc-regular.otf": "NotoSansCJKsc-Bold.otf",
    "notosanssc-regular.otf": "NotoSansSC-Bold.otf",
    "sourcehansanssc-regular.otf": "SourceHanSansSC-Bold.otf",
    "notoserifcjk-regular.ttc": "NotoSerifCJK-Bold.ttc",
}
_PROBE = "邻居记忆"  # the font must draw these …
_MISSING = "\U0010fffd"  # … differently from a code point no font has

BACKGROUND = (255, 248, 236)
INK = (61, 58, 54)
MUTED = (138, 129, 120)
PALETTE = (
    (209, 73, 91),
    (0, 121, 140),
    (237, 174, 73),
    (48, 99, 142),
    (106, 76, 147),
    (42, 157, 143),
    (231, 111, 81),
    (0, 61, 91),
)
BAR = (242, 166, 90)
BAR_BUSIEST = (231, 111, 81)


@dataclass(frozen=True, slots=True)
class CjkFont:
    """A font file (and the face in it) that draws Chinese, with its bold companion if any."""

    path: Path
    index: int
    name: str
    bold: Path | None = None


def default_font_dirs() -> list[Path]:
    """Where fonts live on Linux, macOS and Windows."""
    home = Path.home()
    dirs = [
        Path("/usr/share/fonts"),
        Path("/usr/local/share/fonts"),
        home / ".local" / "share" / "fonts",
        home / ".fonts",
        Path("/System/Library/Fonts"),
        Path("/Library/Fonts"),
        home / "Library" / "Fonts",
    ]
    windir = os.environ.get("WINDIR")
    if windir:
        dirs.append(Path(windir) / "Fonts")
    return dirs


def find_cjk_font(dirs: Sequence[Path] | None = None) -> CjkFont | None:
    """The best Chinese font in ``dirs`` (default: ``default_font_dirs()``), searched
    recursively and checked to draw Chinese; None when there is none. Remembered per list of
    folders (the search runs once per process)."""
    return _find_cjk_font(tuple(dirs) if dirs is not None else tuple(default_font_dirs()))


@functools.cache
def _find_cjk_font(dirs: tuple[Path, ...]) -> CjkFont | None:
    found: dict[str, Path] = {}
    for folder in dirs:
        if not folder.is_dir():
            continue
        for root, _subdirs, files in os.walk(folder):
            for file in files:
                found.setdefault(file.lower(), Path(root) / file)
    for known in KNOWN_FONTS:
        path = found.get(known)
        if path is None:
            continue
        font = _usable(path)
        if font is not None:
            bold_name = BOLD_OF.get(known)
            bold = found.get(bold_name.lower()) if bold_name else None
            return CjkFont(path=path, index=font[0], name=font[1], bold=bold)
    return None


def _usable(path: Path) -> tuple[int, str] | None:
    """The face of ``path`` to use (Simplified Chinese when a collection offers it) and its
    name, if it draws Chinese; None for a broken file or one without Chinese."""
    from PIL import ImageFont

    # FreeTypeFont, not ImageFont.truetype: truetype() answers a file it cannot read with a
    # system font of the same file name, which would hide a broken or foreign file.
    faces: list[tuple[int, str]] = []
    for index in range(16):
        try:
            face = ImageFont.FreeTypeFont(str(path), 24, index=index)
        except OSError:
            break
        family, style = face.getname()
        faces.append((index, f"{family} {style}".strip()))
        if not str(path).lower().endswith((".ttc", ".otc")):
            break
    faces.sort(key=lambda face: (" SC" not in face[1] and "GB" not in face[1], face[0]))
    for index, name in faces:
        if all(_glyphs(ImageFont.FreeTypeFont(str(path), 24, index=index))(ch) for ch in _PROBE):
            return index, name
    return None


def _glyphs(font: FreeTypeFont) -> Callable[[str], bool]:
    """``covers(ch)``: whether ``font`` has a glyph for the character (not its "missing" box)."""
    from PIL import Image, ImageDraw

    def drawn(ch: str) -> bytes:
        image = Image.new("L", (64, 64), 0)
        ImageDraw.Draw(image).text((8, 8), ch, font=font, fill=255)
        return image.tobytes()

    missing = drawn(_MISSING)

    @functools.cache
    def covers(ch: str) -> bool:
        return ch.isspace() or drawn(ch) != missing

    return covers


# --- drawing ----------------------------------------------------------------------------------


class _Fonts:
    """Sizes of one face. A CJK face costs about 3 MB in FreeType and under a millisecond to
    load, so only the last few sizes are kept (the cloud asks for shrinking sizes in turn)."""

    KEEP = 4

    def __init__(self, path: Path, index: int) -> None:
        self.path, self.index = path, index
        self._sizes: dict[int, FreeTypeFont] = {}

    def __call__(self, size: int) -> FreeTypeFont:
        from PIL import ImageFont

        font = self._sizes.pop(size, None)
        if font is None:
            font = ImageFont.FreeTypeFont(str(self.path), size, index=self.index)
            while len(self._sizes) >= self.KEEP:
                del self._sizes[next(iter(self._sizes))]
        self._sizes[size] = font  # most recently used last
        return font


def render_picture(
    digest: Digest,
    *,
    weekdays: Sequence[str] = (),
    font_dirs: Sequence[Path] | None = None,
) -> bytes | None:
    """The digest's PNG (``WIDTH`` × ``HEIGHT``), or None for a quiet week or when no CJK font
    is found. ``weekdays``: seven labels for the bars, Monday first (else dates only)."""
    if digest.quiet:
        return None
    font = find_cjk_font(font_dirs)
    if font is None:
        return None
    from PIL import Image, ImageDraw

    regular = _Fonts(font.path, font.index)
    bold = _Fonts(font.bold, font.index) if font.bold else regular
    covers = _glyphs(regular(24))
    canvas = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    _title(draw, digest, regular, bold, covers)
    _cloud(canvas, digest, regular, bold, covers, box=(40, 120, WIDTH - 40, 560))
    _bars(draw, digest, weekdays, regular, covers, box=(60, 585, WIDTH - 60, HEIGHT - 30))
    out = io.BytesIO()
    canvas.save(out, format="PNG", optimize=False)
    return out.getvalue()


def _drawable(text: str, covers: Callable[[str], bool]) -> str:
    return "".join(ch for ch in text if covers(ch)).strip()


def _title(
    draw: ImageDraw.ImageDraw,
    digest: Digest,
    regular: _Fonts,
    bold: _Fonts,
    covers: Callable[[str], bool],
) -> None:
    name = _drawable(digest.community_name, covers) or _drawable(digest.community_id, covers)
    draw.text((48, 40), name, font=bold(46), fill=INK)
    first, last = digest.week.monday, digest.last_day
    when = _drawable(f"{digest.week} · {first:%Y-%m-%d} – {last:%m-%d}", covers)
    width = draw.textlength(when, font=regular(26))
    draw.text((WIDTH - 48 - width, 56), when, font=regular(26), fill=MUTED)
    draw.line((48, 110, WIDTH - 48, 110), fill=(234, 224, 208), width=2)


def _cloud(
    canvas: Image.Image,
    digest: Digest,
    regular: _Fonts,
    bold: _Fonts,
    covers: Callable[[str], bool],
    box: tuple[int, int, int, int],
) -> None:
    from PIL import ImageDraw

    left, top, right, bottom = box
    words = _cloud_words(digest, covers)
    draw = ImageDraw.Draw(canvas)
    if not words:
        # A week of photos and emoji: the number of kept messages, big.
        text = str(digest.messages)
        font = bold(180)
        x0, y0, x1, y1 = (int(v) for v in draw.textbbox((0, 0), text, font=font))
        x = left + (right - left - (x1 - x0)) // 2 - x0
        y = top + (bottom - top - (y1 - y0)) // 2 - y0
        draw.text((x, y), text, font=font, fill=PALETTE[0])
        return
    for word, size, x, y, colour in _layout(words, regular, bold, right - left, bottom - top):
        font = bold(size) if size >= 56 else regular(size)
        draw.text((left + x, top + y), word, font=font, fill=colour)


def _cloud_words(digest: Digest, covers: Callable[[str], bool]) -> list[tuple[str, float]]:
    return [(k.word, k.score) for k in digest.keywords if all(map(covers, k.word))][:MAX_WORDS]


def cloud_words(digest: Digest, font: CjkFont) -> list[str]:
    """The words the cloud shows, biggest first: the digest's words that ``font`` can draw
    (a word with a character it lacks is left out), at most ``MAX_WORDS``."""
    covers = _glyphs(_Fonts(font.path, font.index)(24))
    return [word for word, _score in _cloud_words(digest, covers)]


def _layout(
    words: Sequence[tuple[str, float]],
    regular: _Fonts,
    bold: _Fonts,
    width: int,
    height: int,
) -> list[tuple[str, int, int, int, tuple[int, int, int]]]:
    """Place words biggest first, each at the free spot nearest the middle.

    Occupancy is a bitmap of the glyphs drawn so far, looked at in cells of ``CELL`` pixels; a
    new word needs every cell of its box (plus a margin) free. An integral image gives the sum
    of every box-sized window at once, so a word costs a few array operations, not a spiral
    walk.
    """
    import numpy as np
    from PIL import Image, ImageDraw

    largest, smallest, margin = 128, 18, 5
    mask = Image.new("L", (width, height), 0)
    pen = ImageDraw.Draw(mask)
    cols_n, rows_n = width // CELL, height // CELL
    centres_y = (np.arange(rows_n) * CELL - height / 2) / height
    centres_x = (np.arange(cols_n) * CELL - width / 2) / width
    # A fixed, gentle unevenness so the cloud is not a perfect ellipse (same picture each run).
    jitter = np.random.default_rng(20261122).random((rows_n, cols_n)) * 0.004
    integral = np.zeros((rows_n + 1, cols_n + 1), dtype=np.int32)
    top_score = words[0][1] or 1.0
    placed = []
    for rank, (word, score) in enumerate(words):
        taken = np.asarray(mask.reduce(CELL), dtype=np.int32)[:rows_n, :cols_n] > 0
        integral[1:, 1:] = taken.cumsum(0).cumsum(1)
        size = round(smallest + (largest - smallest) * (score / top_score) ** 0.9)
        while size >= smallest:
            font = bold(size) if size >= 56 else regular(size)
            x0, y0, x1, y1 = (int(v) for v in pen.textbbox((0, 0), word, font=font))
            w = -(-(x1 - x0 + 2 * margin) // CELL)  # cells, rounded up
            h = -(-(y1 - y0 + 2 * margin) // CELL)
            if w < cols_n and h < rows_n:
                window = (
                    integral[h:, w:] - integral[:-h, w:] - integral[h:, :-w] + integral[:-h, :-w]
                )
                free = window == 0
                if free.any():
                    ny, nx = free.shape
                    # Distance of the box's centre from the middle, relative to the area's size.
                    distance = (
                        (centres_y[:ny, None] + h * CELL / 2 / height) ** 2
                        + (centres_x[None, :nx] + w * CELL / 2 / width) ** 2
                        + jitter[:ny, :nx]
                    )
                    y, x = np.unravel_index(np.where(free, distance, np.inf).argmin(), free.shape)
                    at = (int(x) * CELL + margin - x0, int(y) * CELL + margin - y0)
                    pen.text(at, word, font=font, fill=255)
                    placed.append((word, size, at[0], at[1], PALETTE[rank % len(PALETTE)]))
                    break
            size = int(size * 0.85)
    return placed


def _bars(
    draw: ImageDraw.ImageDraw,
    digest: Digest,
    weekdays: Sequence[str],
    regular: _Fonts,
    covers: Callable[[str], bool],
    box: tuple[int, int, int, int],
) -> None:
    from datetime import timedelta

    left, top, right, bottom = box
    labels = [_drawable(label, covers) for label in weekdays] if len(weekdays) == 7 else []
    counts = digest.per_day
    busiest = max(counts) or 1
    slot = (right - left) / 7
    bar_width = slot * 0.56
    base = bottom - 58  # room for the day and date labels
    tallest = base - top - 34  # room for the count above
    small, tiny = regular(22), regular(18)
    for day, count in enumerate(counts):
        centre = left + slot * (day + 0.5)
        height = max(4.0, tallest * count / busiest) if count else 4.0
        colour = BAR_BUSIEST if count == busiest and count else BAR if count else (234, 224, 208)
        draw.rounded_rectangle(
            (centre - bar_width / 2, base - height, centre + bar_width / 2, base),
            radius=min(10, int(bar_width / 4)),
            fill=colour,
        )
        if count:
            label = str(count)
            width = draw.textlength(label, font=small)
            draw.text((centre - width / 2, base - height - 30), label, font=small, fill=INK)
        when = digest.week.monday + timedelta(days=day)
        texts = [labels[day]] if labels else []
        texts.append(f"{when.month}/{when.day}")
        for line, text in enumerate(texts):
            font = small if line == 0 and labels else tiny
            width = draw.textlength(text, font=font)
            fill = INK if line == 0 and labels else MUTED
            draw.text((centre - width / 2, base + 8 + 26 * line), text, font=font, fill=fill)
