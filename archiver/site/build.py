"""``export site``: a community's archive as a static website in a folder.

The site needs nothing but a browser: no server, no network, no web font; every link is
relative, so it works opened from ``file://`` (a folder on the committee's computer, a USB
stick) and from any static host under any path. Pages: the home page, one page per month
(paginated), one per story (printable), about, and search (``search_index``).

**Privacy by construction.** Only kept messages are read (``storage.site``); an author is shown
by name only when ``consent_policy.shown_name`` allows it, otherwise as "a neighbour"; no
platform account id (user, chat or message) is written anywhere — anchors and search ids are
the archive's own message ids. A reply quote is shown only when the replied-to message is kept.

**Incremental.** ``OUT/.community-memory-site.json`` (the manifest) records the community, every
file the build wrote with its hash, and a fingerprint of each month page's content. A rebuild
renders only the months whose fingerprint changed, writes only files whose content changed,
and deletes the files of the last build that this one no longer has — so after ``forget`` a
rebuild leaves no page, quote or index entry of what was erased.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from archiver.archive import Archive
from archiver.consent_policy import shown_name
from archiver.errors import CommunityMemoryError, UnknownCommunityError
from archiver.site import en, zh
from archiver.site.search_index import (
    DAY_MEMORIES,
    DOC_BUCKET,
    TERM_SHARDS,
    IndexedMessage,
    days_file,
    doc_files,
    term_files,
)
from storage import communities
from storage.site import SiteMessage, site_messages, site_stories

MANIFEST = ".community-memory-site.json"
GENERATOR = "community-memory site 1"  # a new value re-renders every page of an older build
PAGE_SIZE = 300  # messages per month page
NEWEST = 10
SNIPPET = 80
CATALOGUES: dict[str, dict[str, str]] = {"zh": zh.TEXTS, "en": en.TEXTS}
STATIC = ("site.css", "site.js", "search.js")

_URL = re.compile(r"https?://[^\s<>\"'，。！？、；：“”‘’（）【】《》]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""

Progress = Callable[[str], None]


class SiteFolderError(CommunityMemoryError):
    """OUT is a folder this build must not write into."""


@dataclass
class SiteReport:
    """What a build did."""

    out: Path
    messages: int = 0
    months: int = 0
    stories: int = 0
    files: int = 0
    written: int = 0
    removed: int = 0
    months_rendered: int = 0
    first_build: bool = True
    written_files: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for people."""
        kind = "built" if self.first_build else "updated"
        return (
            f"{self.out}: {kind} — {self.messages} messages, {self.months} months, "
            f"{self.stories} stories; {self.written} files written, {self.removed} removed, "
            f"{self.files - self.written} unchanged"
        )


@dataclass(frozen=True, slots=True)
class _Shown:
    """A message as the templates show it."""

    id: int
    author_id: int
    page: str
    iso: str
    time_shown: str
    date: str
    day: int
    author: str
    named: bool
    html: Markup
    edited: bool
    media: bool
    tags: int
    stories: tuple[dict[str, str], ...]
    reply: dict[str, str] | None
    reply_hidden: bool
    text: str
    tokens: str


def build_site(
    archive: Archive,
    community_id: str,
    out: Path,
    *,
    overwrite: bool = False,
    now: datetime | None = None,
) -> SiteReport:
    """Write (or update) the community's website in ``out``; see the module doc.

    Raises:
        UnknownCommunityError: no such community.
        SiteFolderError: ``out`` is a file, another community's site, or a non-empty folder
            that is no site of ours (unless ``overwrite``).
    """
    with archive.db.read() as session:
        community = communities.get_community(session, community_id)
        if community is None:
            raise UnknownCommunityError(community_id)
        messages = site_messages(session, community_id)
        stories = site_stories(session, community_id)
    manifest = _check_folder(out, community_id, overwrite)
    texts = CATALOGUES.get(community.language, zh.TEXTS)
    zone = ZoneInfo(community.timezone)
    built_at = (now or datetime.now(UTC)).astimezone(zone)
    site = _Site(texts, community.name, community.language, zone, built_at)
    report = SiteReport(out=out, first_build=not manifest.get("files"))
    old_files: dict[str, str] = manifest.get("files", {})
    old_months: dict[str, str] = (
        manifest.get("months", {}) if manifest.get("generator") == GENERATOR else {}
    )

    shown, pages, story_members = site.shape(messages, stories)
    files: dict[str, str] = {}  # path → content (pages re-rendered this time)
    keep: dict[str, str] = {}  # path → hash (pages unchanged, not rendered)
    months: dict[str, str] = {}
    for page in pages:
        fingerprint = page.fingerprint()
        months[page.path] = fingerprint
        if old_months.get(page.path) == fingerprint and (out / page.path).is_file():
            keep[page.path] = old_files[page.path]
            continue
        files[page.path] = site.render("month.html", page.context(), kind="month")
        report.months_rendered += 1
    for story in stories:
        members = story_members.get(story.id, [])
        files[f"story-{story.id}.html"] = site.render(
            "story.html",
            {
                "title": site.t("story_title", name=story.name),
                "started": site.t("story_started", date=site.day_text(story.created_at)),
                "messages": members,
            },
            kind="story",
        )
    files["index.html"] = site.render("home.html", site.home(shown, pages, stories, story_members))
    files["about.html"] = site.render(
        "about.html", {"about": site.t("about_text").split("\n")}, kind="about"
    )
    files["search.html"] = site.render("search.html", {}, kind="search")
    indexed = [
        IndexedMessage(m.id, f"{m.page}#m{m.id}", m.date, m.author, m.text, m.tokens) for m in shown
    ]
    files.update(term_files(indexed))
    files.update(doc_files(indexed))
    files["search/days.js"] = days_file(site.day_memories(shown))
    for name in STATIC:
        files[f"static/{name}"] = _static(name)

    written = _write_changed(out, files, old_files)
    hashes = {**keep, **{path: _hash(content) for path, content in files.items()}}
    removed = [path for path in old_files if path not in hashes]
    for path in removed:
        (out / path).unlink(missing_ok=True)
    _remove_empty_folders(out, removed)
    manifest = {
        "generator": GENERATOR,
        "community": community_id,
        "built_at": built_at.isoformat(),
        "files": dict(sorted(hashes.items())),
        "months": months,
    }
    _atomic_write(out / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1))
    report.messages = len(messages)
    report.months = len({p.month for p in pages})
    report.stories = len(stories)
    report.files = len(hashes)
    report.written = len(written)
    report.written_files = written
    report.removed = len(removed)
    return report


# --- shaping: messages into pages -----------------------------------------------------------


@dataclass
class _Page:
    """One month page (a month of more than PAGE_SIZE messages has several)."""

    month: str  # "2026-03"
    number: int
    count: int
    path: str
    title: str
    messages: list[_Shown]
    day_urls: list[dict[str, Any]] = field(default_factory=list)
    previous_month: str | None = None
    next_month: str | None = None
    previous_page: str | None = None
    next_page: str | None = None
    groups: list[dict[str, Any]] = field(default_factory=list)

    def context(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "days": self.day_urls,
            "groups": self.groups,
            "page": self.number,
            "pages": self.count,
            "previous_month": self.previous_month,
            "next_month": self.next_month,
            "previous_page": self.previous_page,
            "next_page": self.next_page,
        }

    def fingerprint(self) -> str:
        """Everything the page shows, hashed: equal fingerprints, equal pages."""
        digest = hashlib.sha256()
        digest.update(
            repr(
                (
                    GENERATOR,
                    self.title,
                    self.count,
                    self.day_urls,
                    self.previous_month,
                    self.next_month,
                    self.previous_page,
                    self.next_page,
                    [_view(m) for m in self.messages],
                    [(g["title"], g["day"]) for g in self.groups],
                )
            ).encode()
        )
        return digest.hexdigest()


def _view(m: _Shown) -> tuple[object, ...]:
    return (
        m.id, m.iso, m.time_shown, m.author, m.named, str(m.html), m.edited, m.media, m.tags,
        m.stories, m.reply, m.reply_hidden,
    )  # fmt: skip


class _Site:
    """Texts, time zone and templates of one build."""

    def __init__(
        self, texts: dict[str, str], name: str, language: str, zone: ZoneInfo, built: datetime
    ) -> None:
        self.texts = texts
        self.name = name
        self.language = language
        self.zone = zone
        self.built = built
        self.env = Environment(
            loader=PackageLoader("archiver.site", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.month_names = texts.get("month_names", "").split()

    def t(self, key: str, **values: object) -> str:
        return self.texts[key].format(community=self.name, **values)

    def day_text(self, when: datetime) -> str:
        local = when.astimezone(self.zone)
        return local.strftime("%Y-%m-%d")

    def month_title(self, month: str) -> str:
        year, number = (int(part) for part in month.split("-"))
        name = self.month_names[number - 1] if self.month_names else str(number)
        return self.t("month_title", year=year, month=number, month_name=name)

    def render(self, template: str, context: dict[str, Any], *, kind: str = "home") -> str:
        return self.env.get_template(template).render(
            t=self.t,
            lang="zh-Hans" if self.language == "zh" else self.language,
            page_kind=kind,
            community_name=self.name,
            site_title=self.t("site_title"),
            built=self.built.strftime("%Y-%m-%d %H:%M"),
            **context,
        )

    def shape(
        self, messages: list[SiteMessage], stories: list[Any]
    ) -> tuple[list[_Shown], list[_Page], dict[int, list[_Shown]]]:
        """Messages → shown messages on pages; stories → their shown messages."""
        story_names = {s.id: s.name for s in stories}
        by_month: dict[str, list[SiteMessage]] = defaultdict(list)
        locals_: dict[int, datetime] = {}
        for m in messages:
            local = m.sent_at.astimezone(self.zone)
            locals_[m.id] = local
            by_month[local.strftime("%Y-%m")].append(m)
        # Where each message is shown: its month page.
        page_of: dict[int, str] = {}
        layout: list[tuple[str, int, int, list[SiteMessage]]] = []
        for month in sorted(by_month):
            chunk_list = [
                by_month[month][i : i + PAGE_SIZE]
                for i in range(0, len(by_month[month]), PAGE_SIZE)
            ]
            for number, chunk in enumerate(chunk_list, start=1):
                path = _page_path(month, number)
                for m in chunk:
                    page_of[m.id] = path
                layout.append((month, number, len(chunk_list), chunk))
        by_platform_id = {(m.space_id, m.platform_message_id): m for m in messages}
        neighbour = self.t("neighbour")
        shown_by_id: dict[int, _Shown] = {}
        story_members: dict[int, list[_Shown]] = defaultdict(list)
        for m in messages:
            name = shown_name(m.attribution, m.author_name)
            local = locals_[m.id]
            reply, hidden = None, False
            if m.reply_to is not None:
                target = by_platform_id.get((m.space_id, m.reply_to))
                if target is None:
                    hidden = True  # replies to something not kept: say so, show nothing of it
                else:
                    target_name = shown_name(target.attribution, target.author_name)
                    reply = {
                        "url": f"{page_of[target.id]}#m{target.id}",
                        "author": target_name or neighbour,
                        "snippet": _snippet(target.text),
                    }
            shown = _Shown(
                id=m.id,
                author_id=m.author_id,
                page=page_of[m.id],
                iso=local.isoformat(),
                time_shown=local.strftime("%H:%M"),
                date=local.strftime("%Y-%m-%d %H:%M"),
                day=local.day,
                author=name or neighbour,
                named=name is not None,
                html=chat_html(m.text),
                edited=m.edited_at is not None,
                media=m.media_kind is not None,
                tags=m.tags,
                stories=tuple(
                    {"name": story_names[s], "url": f"story-{s}.html"}
                    for s in m.story_ids
                    if s in story_names
                ),
                reply=reply,
                reply_hidden=hidden,
                text=m.text,
                tokens=m.tokens,
            )
            shown_by_id[m.id] = shown
            for s in m.story_ids:
                story_members[s].append(shown)
        pages: list[_Page] = []
        month_first: dict[str, str] = {}
        for month, number, count, chunk in layout:
            path = _page_path(month, number)
            month_first.setdefault(month, path)
            page = _Page(
                month=month,
                number=number,
                count=count,
                path=path,
                title=self.month_title(month),
                messages=[shown_by_id[m.id] for m in chunk],
            )
            pages.append(page)
        ordered = sorted(month_first)
        for page in pages:
            index = ordered.index(page.month)
            page.previous_month = month_first[ordered[index - 1]] if index > 0 else None
            page.next_month = month_first[ordered[index + 1]] if index + 1 < len(ordered) else None
            if page.number > 1:
                page.previous_page = _page_path(page.month, page.number - 1)
            if page.number < page.count:
                page.next_page = _page_path(page.month, page.number + 1)
            first_page_of_day: dict[int, str] = {}
            for other in (p for p in pages if p.month == page.month):
                for item in other.messages:
                    first_page_of_day.setdefault(item.day, other.path)
            page.day_urls = [
                {"day": day, "url": f"{path}#d{day}"}
                for day, path in sorted(first_page_of_day.items())
            ]
            groups: dict[int, list[_Shown]] = defaultdict(list)
            for item in page.messages:
                groups[item.day].append(item)
            number = int(page.month.split("-")[1])
            name = self.month_names[number - 1] if self.month_names else str(number)
            page.groups = [
                {
                    "day": day,
                    "title": self.t("day_title", month=number, day=day, month_name=name),
                    "messages": items,
                }
                for day, items in groups.items()
            ]
        return list(shown_by_id.values()), pages, story_members

    def home(
        self,
        shown: list[_Shown],
        pages: list[_Page],
        stories: list[Any],
        members: dict[int, list[_Shown]],
    ) -> dict[str, Any]:
        if shown:
            stats = self.t(
                "stats",
                messages=len(shown),
                neighbours=len({m.author_id for m in shown}),
                since=shown[0].date[:10],
            )
        else:
            stats = self.t("stats_empty")
        years: dict[str, list[dict[str, Any]]] = defaultdict(list)
        seen: set[str] = set()
        for page in pages:
            if page.month in seen:
                continue
            seen.add(page.month)
            count = sum(len(other.messages) for other in pages if other.month == page.month)
            years[page.month[:4]].append(
                {"url": page.path, "title": self.month_title(page.month), "count": count}
            )
        return {
            "stats": stats,
            "stories": [
                {"name": s.name, "url": f"story-{s.id}.html", "count": len(members.get(s.id, []))}
                for s in stories
            ],
            "newest": list(reversed(shown[-NEWEST:])),
            "years": sorted(years.items(), reverse=True),
        }

    def day_memories(self, shown: list[_Shown]) -> dict[str, list[list[str]]]:
        """Month-day → a few memories per earlier year, most-tagged first."""
        by_day: dict[tuple[str, str], list[_Shown]] = defaultdict(list)
        for m in shown:
            by_day[(m.date[5:10], m.date[:4])].append(m)
        index: dict[str, list[list[str]]] = defaultdict(list)
        for (day, year), items in sorted(by_day.items(), key=lambda kv: (kv[0][0], kv[0][1])):
            best = sorted(items, key=lambda m: (-m.tags, m.id))[:DAY_MEMORIES]
            index[day].extend([year, f"{m.page}#m{m.id}", m.author, _snippet(m.text)] for m in best)
        for day in index:
            index[day].sort(key=lambda entry: entry[0], reverse=True)
        return dict(index)


# --- text ---------------------------------------------------------------------------------


def chat_html(text: str) -> Markup:
    """A message's text as HTML: everything escaped, http(s) links made clickable, line
    breaks kept. Nothing else of the text can become markup (a ``javascript:`` link stays
    text: only ``http://`` and ``https://`` become links)."""
    parts: list[str] = []
    position = 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(_TRAILING)
        start, end = match.start(), match.start() + len(url)
        parts.append(str(escape(text[position:start])))
        parts.append(
            f'<a href="{escape(url)}" rel="nofollow noopener noreferrer">{escape(url)}</a>'
        )
        position = end
    parts.append(str(escape(text[position:])))
    return Markup("".join(parts).replace("\n", "<br>\n"))


def _page_path(month: str, number: int) -> str:
    return f"{month}.html" if number == 1 else f"{month}-{number}.html"


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SNIPPET else flat[:SNIPPET] + "…"


# --- files --------------------------------------------------------------------------------


def _check_folder(out: Path, community_id: str, overwrite: bool) -> dict[str, Any]:
    """The earlier build's manifest (empty for a new folder); refuses what is not ours."""
    if out.exists() and not out.is_dir():
        raise SiteFolderError(f"{out} is a file; give a folder for the website")
    if not out.exists():
        try:
            out.mkdir(parents=True)
        except OSError as exc:
            raise SiteFolderError(f"cannot create {out}: {exc.strerror}") from None
        return {}
    manifest_path = out / MANIFEST
    if manifest_path.is_file():
        try:
            manifest: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            manifest = {}
        if manifest.get("community") not in (None, community_id) and not overwrite:
            raise SiteFolderError(
                f"{out} holds the site of community {manifest.get('community')!r}, not "
                f"{community_id!r}; choose another folder (or --overwrite)"
            )
        if manifest.get("community") == community_id:
            return manifest
        return {}
    if any(out.iterdir()) and not overwrite:
        raise SiteFolderError(
            f"{out} is not empty and holds no earlier build of this site; choose an empty "
            "folder (or --overwrite to write into it anyway)"
        )
    return {}


def _write_changed(out: Path, files: dict[str, str], old: dict[str, str]) -> list[str]:
    written = []
    for path, content in files.items():
        target = out / path
        if old.get(path) == _hash(content) and target.is_file():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(target, content)
        written.append(path)
    return written


def _atomic_write(path: Path, content: str) -> None:
    """Write via a temporary file and rename: a crash never leaves half a page."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(content, encoding="utf-8")
    os.replace(temporary, path)


def _remove_empty_folders(out: Path, removed: list[str]) -> None:
    for folder in {(out / path).parent for path in removed}:
        if folder != out and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def _hash(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def _static(name: str) -> str:
    content = resources.files("archiver.site").joinpath("static", name).read_text("utf-8")
    if name == "search.js":
        content = content.replace("__TERM_SHARDS__", str(TERM_SHARDS)).replace(
            "__DOC_BUCKET__", str(DOC_BUCKET)
        )
    return content


def iter_site_files(out: Path) -> Iterator[Path]:
    """Every file of a built site (for checks)."""
    yield from (path for path in out.rglob("*") if path.is_file())
