"""The weekly digest: what a community kept in one ISO week of its own calendar.

``build_digest`` gathers the numbers (messages kept, neighbours who wrote them, messages per
day), the highlights (the most-tagged kept messages, quoted briefly), the week's words
(``archiver.keywords``), the stories that grew and the neighbours whose first kept message
fell in the week. The result, a ``Digest``, holds no sentences: ``render`` turns it into the
post's text with a catalogue function from the caller (the bot's ``text(language, …)``), and
``archiver.picture.render_picture`` draws its PNG. Any adapter can post both.

Rules it keeps:

- Only kept messages count: held copies are never read, erased ones are gone.
- An author is named only when they chose ``named``; otherwise ``author`` is None and the text
  says "a neighbour" (一位邻居).
- The week runs from Monday 00:00 to the next Monday 00:00 in the community's time zone, as one
  UTC range (167 or 169 hours in a week where daylight saving starts or ends).
- A quiet week (nothing kept) gives a digest with ``quiet`` set — ``render`` says a short,
  kind word — or no digest at all when the community chose ``quiet_note=False``.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from archiver.archive import Archive
from archiver.consent_policy import shown_name
from archiver.errors import UnknownCommunityError
from archiver.keywords import Keyword, week_words
from storage import communities
from storage.digest import (
    StoryGrowth,
    WeekMessage,
    WeekPhoto,
    first_kept_at,
    messages_between,
    most_tagged_photo,
    stories_grown,
)

__all__ = [
    "Digest",
    "DigestPhoto",
    "Highlight",
    "IsoWeek",
    "Keyword",
    "StoryGrowth",
    "TextFn",
    "build_digest",
    "quote",
    "render",
    "weekdays",
]

QUOTE_CHARS = 60
HIGHLIGHTS = 3
KEYWORDS = 50
WORDS_IN_TEXT = 10
WELCOME_NAMES = 5

_WEEK = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True, order=True)
class IsoWeek:
    """An ISO 8601 week (``2026-W47``): Monday to Sunday."""

    year: int
    week: int

    def __post_init__(self) -> None:
        # Raises ValueError for week 0, week 53 of a year that has 52, year 0 …
        date.fromisocalendar(self.year, self.week, 1)

    @classmethod
    def parse(cls, value: str) -> IsoWeek:
        """``2026-W47`` (also ``2026W47``, ``2026-w47``); ValueError if it is not a week."""
        match = _WEEK.match(value)
        if match is None:
            raise ValueError(f"{value!r} is not an ISO week like 2026-W47")
        try:
            return cls(int(match[1]), int(match[2]))
        except ValueError:
            raise ValueError(f"{value!r}: year {match[1]} has no week {match[2]}") from None

    @classmethod
    def containing(cls, day: date) -> IsoWeek:
        """The week a calendar day belongs to."""
        year, week, _ = day.isocalendar()
        return cls(year, week)

    @property
    def monday(self) -> date:
        """The week's first day."""
        return date.fromisocalendar(self.year, self.week, 1)

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """Monday 00:00 and the next Monday 00:00, local time in ``zone`` (aware)."""
        return (
            datetime.combine(self.monday, time(0), zone),
            datetime.combine(self.monday + timedelta(days=7), time(0), zone),
        )

    def __str__(self) -> str:
        return f"{self.year:04d}-W{self.week:02d}"


@dataclass(frozen=True, slots=True)
class Highlight:
    """A kept message of the week that neighbours tagged, quoted briefly."""

    id: int
    space: str
    platform_message_id: str
    sent_at: datetime  # in the community's time zone
    author: str | None  # None: anonymous ("a neighbour")
    quote: str  # at most QUOTE_CHARS characters; "" for a photo or file without a caption
    tags: int
    replies: int  # kept replies to it in the same week

    def to_json(self) -> dict[str, object]:
        """The ``--json`` form."""
        return {
            "id": self.id,
            "space": self.space,
            "platform_message_id": self.platform_message_id,
            "sent_at": self.sent_at.isoformat(),
            "author": self.author,
            "quote": self.quote,
            "tags": self.tags,
            "replies": self.replies,
        }


@dataclass(frozen=True, slots=True)
class DigestPhoto:
    """The week's most-tagged photo: its message, stored file and caption."""

    id: int
    sha256: str
    author: str | None  # None: anonymous ("a neighbour")
    caption: str  # quoted like a highlight; "" when the photo had none
    tags: int

    def to_json(self) -> dict[str, object]:
        """The ``--json`` form."""
        return {
            "id": self.id,
            "sha256": self.sha256,
            "author": self.author,
            "caption": self.caption,
            "tags": self.tags,
        }


@dataclass(frozen=True, slots=True)
class Digest:
    """One community's week, as numbers and quotes — no sentences (see ``render``)."""

    community_id: str
    community_name: str
    language: str
    timezone: str
    week: IsoWeek
    start: datetime  # Monday 00:00, local
    end: datetime  # the next Monday 00:00, local
    messages: int  # kept messages sent in the week
    neighbours: int  # distinct authors of them
    tagged: int  # how many of them carry at least one tag
    per_day: tuple[int, ...]  # kept messages per local day, Monday first (7 numbers)
    highlights: tuple[Highlight, ...]
    keywords: tuple[Keyword, ...]  # most characteristic first
    stories: tuple[StoryGrowth, ...]  # stories with messages filed into them this week
    new_neighbours: int  # authors whose first kept message is in this week
    new_neighbour_names: tuple[str, ...]  # those of them who chose ``named``, oldest first
    photo: DigestPhoto | None = None  # the week's most-tagged photo (at least one tag)

    @property
    def quiet(self) -> bool:
        """Nothing was kept this week."""
        return self.messages == 0

    @property
    def last_day(self) -> date:
        """The week's Sunday."""
        return self.week.monday + timedelta(days=6)

    def to_json(self) -> dict[str, object]:
        """The ``--json`` form (stable keys)."""
        return {
            "community": self.community_id,
            "name": self.community_name,
            "language": self.language,
            "timezone": self.timezone,
            "week": str(self.week),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "quiet": self.quiet,
            "stats": {
                "messages": self.messages,
                "neighbours": self.neighbours,
                "tagged": self.tagged,
                "new_neighbours": self.new_neighbours,
                "per_day": list(self.per_day),
            },
            "highlights": [h.to_json() for h in self.highlights],
            "message_ids": [h.id for h in self.highlights],
            "keywords": [k.to_json() for k in self.keywords],
            "stories": [{"name": s.name, "added": s.added, "total": s.total} for s in self.stories],
            "new_neighbour_names": list(self.new_neighbour_names),
            "photo": None if self.photo is None else self.photo.to_json(),
        }


def build_digest(
    archive: Archive,
    community_id: str,
    week: IsoWeek | None = None,
    *,
    quiet_note: bool = True,
    now: datetime | None = None,
    highlights: int = HIGHLIGHTS,
    keywords: int = KEYWORDS,
) -> Digest | None:
    """The digest of ``week`` (default: the week of ``now``, in the community's time zone).

    Returns None only for a quiet week when ``quiet_note`` is False (the community chose to
    hear nothing then). ``UnknownCommunityError`` for a community the archive lacks.
    """
    with archive.db.read() as session:
        community = communities.get_community(session, community_id)
        if community is None:
            raise UnknownCommunityError(community_id)
        zone = ZoneInfo(community.timezone)
        if week is None:
            week = IsoWeek.containing((now or datetime.now(UTC)).astimezone(zone).date())
        start, end = week.bounds(zone)
        start_utc, end_utc = start.astimezone(UTC), end.astimezone(UTC)
        rows = messages_between(session, community_id, start_utc, end_utc)
        if not rows and not quiet_note:
            return None
        authors = sorted({row.author_id for row in rows})
        firsts = first_kept_at(session, community_id, authors) if rows else {}
        grown = stories_grown(session, community_id, start_utc, end_utc) if rows else []
        photo = most_tagged_photo(session, community_id, start_utc, end_utc) if rows else None
        name, language, zone_name = community.name, community.language, community.timezone

    per_day = [0] * 7
    for row in rows:
        per_day[(row.sent_at.astimezone(zone).date() - week.monday).days] += 1
    newcomers = sorted(
        (first, author) for author, first in firsts.items() if start_utc <= first < end_utc
    )
    named = _named_authors(rows)
    return Digest(
        community_id=community_id,
        community_name=name,
        language=language,
        timezone=zone_name,
        week=week,
        start=start,
        end=end,
        messages=len(rows),
        neighbours=len(authors),
        tagged=sum(1 for row in rows if row.tag_count > 0),
        per_day=tuple(per_day),
        highlights=tuple(_highlights(rows, zone, highlights)),
        keywords=tuple(
            week_words(archive.segmenter, ((r.text, r.tokens) for r in rows), limit=keywords)
        ),
        stories=tuple(grown),
        new_neighbours=len(newcomers),
        new_neighbour_names=tuple(named[a] for _, a in newcomers if a in named),
        photo=_photo(photo, rows),
    )


def _photo(photo: WeekPhoto | None, rows: Sequence[WeekMessage]) -> DigestPhoto | None:
    if photo is None:
        return None
    row = next((r for r in rows if r.id == photo.message_id), None)
    if row is None:  # pragma: no cover - read in the same transaction as the rows
        return None
    return DigestPhoto(
        photo.message_id, photo.sha256, _shown_author(row), quote(row.text), photo.tag_count
    )


def _shown_author(row: WeekMessage) -> str | None:
    return shown_name(row.attribution, row.author_name)


def _named_authors(rows: Sequence[WeekMessage]) -> dict[int, str]:
    named = {}
    for row in rows:
        author = _shown_author(row)
        if author is not None:
            named[row.author_id] = author
    return named


def _highlights(rows: Sequence[WeekMessage], zone: ZoneInfo, limit: int) -> list[Highlight]:
    """Tagged messages, most tags first, then most replies, then the earliest."""
    replies = Counter((row.space, row.reply_to) for row in rows if row.reply_to is not None)
    tagged = [row for row in rows if row.tag_count > 0]
    tagged.sort(
        key=lambda r: (-r.tag_count, -replies[(r.space, r.platform_message_id)], r.sent_at, r.id)
    )
    return [
        Highlight(
            id=row.id,
            space=row.space,
            platform_message_id=row.platform_message_id,
            sent_at=row.sent_at.astimezone(zone),
            author=_shown_author(row),
            quote=quote(row.text),
            tags=row.tag_count,
            replies=replies[(row.space, row.platform_message_id)],
        )
        for row in tagged[: max(0, limit)]
    ]


_JOINERS = "\u200d\ufe0e\ufe0f"  # zero-width joiner, text and emoji presentation selectors
_TRAILING = " ,，、.。;；:：-—"


def quote(text: str, limit: int = QUOTE_CHARS) -> str:
    """``text`` on one line, cut to at most ``limit`` characters with "…" (at a space when
    one is near the end, never inside a combining sequence or a joined emoji)."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    end = max(1, limit - 1)
    while end > 0 and (
        unicodedata.combining(flat[end]) or flat[end] in _JOINERS or flat[end - 1] == "\u200d"
    ):
        end -= 1
    cut = flat[:end]
    space = cut.rfind(" ")
    if space > 0 and space >= len(cut) - 15:
        cut = cut[:space]
    return cut.rstrip(_TRAILING) + "…"


# --- text -----------------------------------------------------------------------------------------

TextFn = Callable[..., str]
"""``t(key, **values)``: the caller's catalogue in the community's language, for example
``functools.partial(bot.chat.texts.text, digest.language)``. Keys used: ``neighbour`` and the
``digest_*`` keys of ``bot/chat/texts``."""


def render(digest: Digest, t: TextFn, *, words: int = WORDS_IN_TEXT) -> str:
    """The digest's post text (the picture's caption or a message of its own)."""
    if digest.quiet:
        return t("digest_quiet", name=digest.community_name)
    separator = t("digest_separator")
    lines = [
        t(
            "digest_title",
            name=digest.community_name,
            start=_day(t, digest.week.monday),
            end=_day(t, digest.last_day),
        ),
        t(
            "digest_stats",
            messages=_count(t, "digest_messages", digest.messages),
            neighbours=_count(t, "digest_neighbours", digest.neighbours),
        ),
    ]
    if digest.highlights:
        lines += ["", t("digest_highlights")]
        lines += [
            t(
                "digest_highlight",
                author=h.author or t("neighbour"),
                quote=h.quote or t("digest_media_only"),
                tags=h.tags,
            )
            for h in digest.highlights
        ]
    if digest.keywords:
        shown = separator.join(k.word for k in digest.keywords[:words])
        lines += ["", t("digest_words", words=shown)]
    if digest.stories:
        grown = separator.join(
            t("digest_story", name=s.name, added=s.added) for s in digest.stories
        )
        lines += ["", t("digest_stories", stories=grown)]
    if digest.new_neighbours:
        names = list(digest.new_neighbour_names[:WELCOME_NAMES])
        others = digest.new_neighbours - len(names)
        if not names:
            who = t("neighbour") if others == 1 else t("digest_neighbours", count=others)
        elif others:
            who = t("digest_and_more", names=separator.join(names), count=others)
        else:
            who = separator.join(names)
        lines += ["", t("digest_welcome", names=who)]
    return "\n".join(lines)


def _count(t: TextFn, key: str, count: int) -> str:
    return t(f"{key}_one") if count == 1 else t(key, count=count)


def _day(t: TextFn, day: date) -> str:
    months = t("digest_months").split()
    return t("digest_date", month=months[day.month - 1], day=day.day)


def weekdays(t: TextFn) -> list[str]:
    """The seven day labels for the picture, Monday first."""
    labels = t("digest_weekdays").split()
    return labels if len(labels) == 7 else []
