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
file the build wrote with its hash, a signature of each month page and of each year's search
files, and an *outline state*: how many messages were kept up to which archive id, the edit
history's watermark, each month's message count and the (time, archive id) of each page's
first message, and hashes of each year's tags, of the names shown and of the story names.
A rebuild checks the archive against it (``_read_changes``): if no message up to that id is
gone, it reads in full only the years with new, edited or re-tagged messages, with messages of
a renamed person or story, with replies to any of those or to a message that moved to another
page, or beside a new month — the *outline*
of those years (every kept message without its text: when, who as shown, edits, tags,
stories, replies), from which it lays out their pages and computes the signatures; the other
years' pages are placed from the state. When anything may have been erased, the whole outline
is read (``_read_all``), as on a first build. Either way it then reads the texts of only the
months and years whose signature changed, renders those pages and search files, writes only
files whose content changed, and deletes the files of the last build that this one no longer
has — so after ``forget`` a rebuild leaves no page, quote or index entry of what was erased.
The state holds archive ids, times and counts the site shows, and hashes: no platform id and
no text.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import pickle
import re
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from sqlmodel import Session

from archiver.archive import Archive
from archiver.consent_policy import shown_name
from archiver.errors import CommunityMemoryError, UnknownCommunityError
from archiver.site import en, zh
from archiver.site.media import copy_files, file_html
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
from storage import people as people_store
from storage import policy as policy_store
from storage.site import (
    OutlineRow,
    People,
    SiteFile,
    SiteStory,
    site_files,
    site_keys,
    site_outline,
    site_people,
    site_stories,
    site_tagged,
    site_texts,
    site_texts_between,
    site_totals,
    site_version_mark,
)

MANIFEST = ".community-memory-site.json"
GENERATOR = "community-memory site 2"  # a new value re-renders every page of an older build
PAGE_SIZE = 300  # messages per month page
PARALLEL_MIN = 20_000  # messages to index before it is worth a second process
NEWEST = 10
SNIPPET = 80
CATALOGUES: dict[str, dict[str, str]] = {"zh": zh.TEXTS, "en": en.TEXTS}
STATIC = ("site.css", "site.js", "search.js")

_URL = re.compile(r"https?://[^\s<>\"'，。！？、；：“”‘’（）【】《》]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""


T = TypeVar("T")


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
    years_indexed: int = 0
    first_build: bool = True
    full_read: bool = True  # the whole outline read (not only what changed since the last build)
    files_missing: int = 0  # files named by kept messages but not in the media folder
    written_files: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for people."""
        kind = "built" if self.first_build else "updated"
        return (
            f"{self.out}: {kind} — {self.messages} messages, {self.months} months, "
            f"{self.stories} {'story' if self.stories == 1 else 'stories'}; "
            f"{self.written} files written, {self.removed} removed, "
            f"{self.files - self.written} unchanged"
        )


@dataclass(slots=True)
class _Entry:
    """A kept message laid out: where it is shown, when (local), by whom (as shown)."""

    id: int  # the row's (read a million times in a build: a field, not a property)
    row: OutlineRow
    zone: ZoneInfo
    month: str  # "2026-03", local
    day: int  # of the month, local
    author: str
    named: bool
    page: str = ""
    _iso: str = ""

    @property
    def iso(self) -> str:
        """Local time, ISO 8601 (worked out only for what is rendered or indexed)."""
        if not self._iso:
            self._iso = self.row.sent_at.astimezone(self.zone).isoformat()
        return self._iso

    @property
    def url(self) -> str:
        return f"{self.page}#m{self.id}"

    @property
    def date(self) -> str:  # "2026-03-15 08:30"
        iso = self.iso
        return f"{iso[:10]} {iso[11:16]}"


@dataclass
class _Page:
    """One month page (a month of more than PAGE_SIZE messages has several)."""

    month: str
    number: int
    count: int
    path: str
    entries: list[_Entry]
    previous_month: str | None = None
    next_month: str | None = None
    previous_page: str | None = None
    next_page: str | None = None
    day_urls: list[dict[str, Any]] = field(default_factory=list)


def build_site(
    archive: Archive,
    community_id: str,
    out: Path,
    *,
    overwrite: bool = False,
    now: datetime | None = None,
    public: bool = False,
) -> SiteReport:
    """Write (or update) the community's website in ``out``; see the module doc.

    ``public``: the public website — only when the community decided so (policy ``site =
    public``), and only with the messages of people who chose ``consent public`` themselves;
    always read in full (it is rebuilt rarely, and nothing of anyone else may slip in).

    Raises:
        UnknownCommunityError: no such community.
        SiteFolderError: ``out`` is a file, another community's site, or a non-empty folder
            that is no site of ours (unless ``overwrite``); or a public site the community
            did not decide to have.
    """
    with archive.db.read() as session:
        community = communities.get_community(session, community_id)
        if community is None:
            raise UnknownCommunityError(community_id)
        authors: set[int] | None = None
        if public:
            decided = policy_store.latest(session, community_id).get("site")
            if decided is None or decided.value != "public":
                raise SiteFolderError(
                    f"{community_id} has not decided to have a public website: its residents "
                    "can vote for one in the chat (propose site public)"
                )
            authors = people_store.public_people(session, community_id)
    manifest = _check_folder(out, community_id, overwrite)
    texts = CATALOGUES.get(community.language, zh.TEXTS)
    zone = ZoneInfo(community.timezone)
    site = _Site(texts, community.name, community.language, zone, (now or datetime.now(UTC)))
    report = SiteReport(out=out, first_build=not manifest.get("files"))
    current = manifest.get("generator") == GENERATOR
    old_files: dict[str, str] = manifest.get("files", {})
    old_pages: dict[str, str] = manifest.get("months", {}) if current else {}
    old_years: dict[str, str] = manifest.get("years", {}) if current else {}
    state: dict[str, Any] = manifest.get("outline", {}) if current else {}
    if state.get("site") != site.key or not all((out / path).is_file() for path in old_files):
        state = {}
    if public:
        state = {}  # always the whole outline, filtered (see the docstring)

    with archive.db.read() as session:
        site.files = site_files(session, community_id)
        # Files come and go with their messages, but a live download lands after its text:
        # any change to which messages have which file re-reads the outline (files are few).
        media_state = _hash(repr(sorted((m, f.sha256) for m, f in site.files.items())))
        if state.get("media") != media_state:
            state = {}
        stories = site_stories(session, community_id)
        people = site_people(session, community_id)
        shown = _shown_names(people)
        story_names = {story.id: story.name for story in stories}
        layout = None
        if state:
            try:
                layout = _read_changes(
                    session, community_id, site, state, people, shown, story_names, old_pages,
                    old_years,
                )  # fmt: skip
            except (KeyError, TypeError, ValueError, IndexError):  # a manifest edited by hand
                layout = None
        if layout is None:
            layout = _read_all(session, community_id, site, people, authors)
        if authors is not None:  # only the shown messages' files, only stories with them
            shown_ids = {e.id for e in layout.entries}
            site.files = {m: f for m, f in site.files.items() if m in shown_ids}
            stories = [story for story in stories if layout.members.get(story.id)]
            site.public = True
        entries, pages, by_platform_id = layout.entries, layout.pages, layout.known
        report.full_read = layout.full
        page_signatures = {
            p.path: site.page_signature(p, by_platform_id, story_names) for p in pages
        }
        loaded_years = sorted({p.month[:4] for p in pages})
        year_signatures = {
            y: _hash("".join(page_signatures[p.path] for p in pages if p.month[:4] == y))
            for y in loaded_years
        }
        all_pages = layout.page_paths()
        years = sorted({month[:4] for month in layout.months})
        for path in all_pages:  # the pages of the years not read keep their signatures
            page_signatures.setdefault(path, old_pages.get(path, ""))
        for year in years:
            year_signatures.setdefault(year, old_years.get(year, ""))
        changed_pages = [
            p for p in pages
            if old_pages.get(p.path) != page_signatures[p.path] or not (out / p.path).is_file()
        ]  # fmt: skip
        changed_years = [
            y for y in loaded_years
            if old_years.get(y) != year_signatures[y]
            or not (out / f"search/{y}/days.js").is_file()
        ]  # fmt: skip

        # Texts: of the years and months to redo, and of what the other pages quote.
        found: dict[int, tuple[str, str]] = {}
        for year in changed_years:
            found.update(site_texts_between(session, community_id, *site.year_range(year)))
        for month in sorted({p.month for p in changed_pages if p.month[:4] not in changed_years}):
            found.update(site_texts_between(session, community_id, *site.month_range(month)))
        wanted = [e.id for e in layout.newest]
        wanted += [e.id for members in layout.members.values() for e in members]
        shown_entries = [*layout.newest, *(e for m in layout.members.values() for e in m)]
        for entry in [*(e for page in changed_pages for e in page.entries), *shown_entries]:
            target = _reply_target(entry, by_platform_id)
            if target is not None:
                wanted.append(target.id)
        found.update(site_texts(session, [i for i in wanted if i not in found]))

    indexed = {
        year: [
            IndexedMessage(e.id, e.url, e.date, e.author, *found[e.id])
            for e in entries
            if e.month[:4] == year
        ]
        for year in changed_years
    }

    def term_shards() -> tuple[dict[str, str], list[str]]:
        """Write the term shards of the changed years (``search_index``): their hashes, and
        which were written. The largest part of the index, so it gets the other core."""
        made: dict[str, str] = {}
        for year, messages in indexed.items():
            made.update(term_files(messages, folder=f"search/{year}"))
        return _write_changed(out, made, old_files)

    big = sum(map(len, indexed.values())) >= PARALLEL_MIN
    terms: _Inline[tuple[dict[str, str], list[str]]] = (
        _Forked(term_shards) if big else _Inline(term_shards)
    )
    files: dict[str, str] = {}
    for page in changed_pages:
        files[page.path] = site.render(
            "month.html", site.month_context(page, found, by_platform_id, story_names), "month"
        )
        report.months_rendered += 1
    for story in stories:
        members = [
            site.shown(e, found, by_platform_id, story_names)
            for e in layout.members.get(story.id, [])
        ]
        files[f"story-{story.id}.html"] = site.render(
            "story.html",
            {
                "title": site.t("story_title", name=story.name),
                "started": site.t("story_started", date=site.day_text(story.created_at)),
                "messages": members,
            },
            "story",
        )
    newest = [site.shown(e, found, by_platform_id, story_names) for e in reversed(layout.newest)]
    files["index.html"] = site.render(
        "home.html", site.home(layout, stories, newest, years), "home"
    )
    about = site.t("about_text").split("\n")
    files["about.html"] = site.render("about.html", {"about": about}, "about")
    files["search.html"] = site.render("search.html", {"years": " ".join(years)}, "search")
    for year, messages in indexed.items():
        files.update(doc_files(messages, folder=f"search/{year}"))
        files[f"search/{year}/days.js"] = days_file(year, site.day_memories(messages, entries))
    index_hashes, index_written = terms.result()
    report.years_indexed = len(changed_years)
    for name in STATIC:
        files[f"static/{name}"] = _static(name)

    # Unchanged pages and years keep their files as the last build wrote them.
    redone = {page.path for page in changed_pages}
    keep = {path: old_files[path] for path in all_pages if path not in redone}
    unchanged_years = [f"search/{y}/" for y in years if y not in changed_years]
    keep.update(
        {
            path: digest
            for path, digest in old_files.items()
            if path.startswith(tuple(unchanged_years))
        }
    )
    page_hashes, written = _write_changed(out, files, old_files)
    written += index_written
    source = archive.media.media_dir / community_id if archive.media is not None else None
    media_paths, copied, report.files_missing = copy_files(list(site.files.values()), source, out)
    written += copied
    hashes = {**keep, **index_hashes, **page_hashes, **media_paths}
    removed = [path for path in old_files if path not in hashes]
    for path in removed:
        (out / path).unlink(missing_ok=True)
    _remove_empty_folders(out, removed)
    manifest = {
        "generator": GENERATOR,
        "community": community_id,
        "built_at": site.built.isoformat(),
        "files": dict(sorted(hashes.items())),
        "months": dict(sorted(page_signatures.items())),
        "years": dict(sorted(year_signatures.items())),
        "outline": {**layout.state(site.key, shown, story_names), "media": media_state},
    }
    _atomic_write(out / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1))
    report.messages = layout.count
    report.months = len(layout.months)
    report.stories = len(stories)
    report.files = len(hashes)
    report.written = len(written)
    report.written_files = written
    report.removed = len(removed)
    return report


@dataclass
class _Layout:
    """What a build knows of the site's messages: every message of the years it read in full,
    laid out on their pages, and the few others it shows or links to (``known``)."""

    entries: list[_Entry]  # of the years read, oldest first
    pages: list[_Page]  # of the years read
    known: dict[tuple[int, str], _Entry]  # platform key → entry (in memory only)
    months: dict[str, list[Any]]  # every month → [count, [sent µs, id] of each page's first]
    count: int
    neighbours: int
    since: str  # the local date of the first message ("" when there is none)
    newest: list[_Entry]  # the NEWEST newest, oldest first
    members: dict[int, list[_Entry]]  # story id → its messages, oldest first
    tags: dict[str, str]  # year → a hash of its tagged messages' tags and stories
    versions: int  # the edit history's watermark when read
    max_id: int
    max_sent: int | None  # µs, of the message max_id
    full: bool

    def page_paths(self) -> list[str]:
        """Every month page of the site, in order."""
        return [
            _page_path(month, number)
            for month, (_count, firsts) in sorted(self.months.items())
            for number in range(1, len(firsts) + 1)
        ]

    def state(self, key: str, shown: dict[str, str], stories: dict[int, str]) -> dict[str, Any]:
        """What the next build checks the archive against to read only what changed. Archive
        ids, times and counts the site shows, and hashes: no platform id, no text."""
        return {
            "site": key,
            "count": self.count,
            "max_id": self.max_id,
            "max_sent": self.max_sent,
            "versions": self.versions,
            "months": dict(sorted(self.months.items())),
            "tags": dict(sorted(self.tags.items())),
            "people": shown,
            "stories": {str(sid): _hash(name)[:16] for sid, name in sorted(stories.items())},
        }


def _read_all(
    session: Session,
    community_id: str,
    site: _Site,
    people: People,
    authors: set[int] | None = None,
) -> _Layout:
    """The layout from the whole outline: the first build, and whenever what changed since
    the last build cannot be told cheaply (something was erased, a name changed, …). With
    ``authors``, only their messages (the public site)."""
    versions = site_version_mark(session)  # before the outline: a later edit is seen later
    outline = site_outline(session, community_id, people=people)
    if authors is not None:
        outline = [row for row in outline if row.author_id in authors]
    entries, pages = site.lay_out(outline)
    members: dict[int, list[_Entry]] = defaultdict(list)
    tagged = []
    for e in entries:
        row = e.row
        if row.tags:
            tagged.append((e.id, e.month[:4], row.tags, row.story_ids))
            for story_id in row.story_ids:
                members[story_id].append(e)
    last = max(entries, key=lambda e: e.id) if entries else None
    return _Layout(
        entries=entries,
        pages=pages,
        known={(e.row.space_id, e.row.platform_message_id): e for e in entries},
        months=_month_state(pages),
        count=len(entries),
        neighbours=len({e.row.author_id for e in entries}),
        since=entries[0].iso[:10] if entries else "",
        newest=entries[-NEWEST:],
        members=members,
        tags=_tag_years(tagged),
        versions=versions,
        max_id=last.id if last else 0,
        max_sent=_micros(last.row.sent_at) if last else None,
        full=True,
    )


def _read_changes(
    session: Session,
    community_id: str,
    site: _Site,
    state: dict[str, Any],
    people: People,
    shown: dict[str, str],
    story_names: dict[int, str],
    old_pages: dict[str, str],
    old_years: dict[str, str],
) -> _Layout | None:
    """The layout from the last build's outline (``state``) and what changed since: only the
    years with new, edited or re-tagged messages (or replies to them, or messages whose
    page moved) are read in full. None when that cannot be told safely — any message erased
    (the kept messages up to the last build's newest are fewer, or that newest is not the
    same message), an edit history that shrank — and the caller reads everything."""
    versions = site_version_mark(session)
    upto = int(state["max_id"])
    totals = site_totals(session, community_id, upto)
    if (
        totals.count_upto != state["count"]
        or (_micros(totals.sent_at_of) if totals.sent_at_of else None) != state["max_sent"]
        or versions < state["versions"]
    ):
        return None
    tagged = site_tagged(session, community_id)
    tags_by_key = {
        (key.space_id, key.platform_message_id): (count, stories)
        for key, count, stories in tagged.values()
    }
    tags = _tag_years(
        (key.id, site.month_of(key.sent_at)[:4], count, stories)
        for key, count, stories in sorted(tagged.values(), key=lambda item: item[0].id)
    )
    cached: dict[str, list[Any]] = state["months"]
    old_shown: dict[str, str] = state["people"]
    old_stories: dict[str, str] = state["stories"]
    renamed_people = [int(p) for p in {*old_shown, *shown} if old_shown.get(p) != shown.get(p)]
    new_stories = {str(sid): _hash(name)[:16] for sid, name in story_names.items()}
    renamed_stories = {
        int(s) for s in {*old_stories, *new_stories} if old_stories.get(s) != new_stories.get(s)
    }
    changed = site_keys(
        session,
        community_id,
        after_id=upto,
        authors=renamed_people,
        edited_between=(int(state["versions"]), versions) if versions > state["versions"] else None,
    )
    dirty = {site.month_of(key.sent_at)[:4] for key in changed}
    dirty |= {y for y in {*tags, *state["tags"]} if tags.get(y) != state["tags"].get(y)}
    dirty |= {
        site.month_of(key.sent_at)[:4]
        for key, _count, stories in tagged.values()
        if renamed_stories.intersection(stories)
    }
    new_months = {site.month_of(key.sent_at) for key in changed if key.id > upto} - set(cached)
    if new_months:  # their neighbours link to them
        merged = sorted({*cached, *new_months})
        for index, month in enumerate(merged):
            if month in new_months:
                dirty |= {m[:4] for m in merged[max(index - 1, 0) : index + 2]}
    replies = site_keys(
        session,
        community_id,
        replying_to=[(key.space_id, key.platform_message_id) for key in changed],
    )
    dirty |= {site.month_of(key.sent_at)[:4] for key in replies}

    entries: list[_Entry] = []
    pages: list[_Page] = []
    loaded: set[str] = set()
    while dirty - loaded:
        batch = dirty - loaded
        loaded |= batch
        day = timedelta(days=1)
        ranges = [(start - day, end + day) for start, end in map(site.year_range, sorted(batch))]
        rows = site_outline(
            session, community_id, people=people, tagged=tags_by_key, between=ranges
        )
        fresh = [e for e in site.place(rows) if e.month[:4] in batch]
        fresh_pages = site.paginate(fresh)
        moved = []  # messages now on another page than the last build put them on
        for page in fresh_pages:
            before = cached.get(page.month)
            if before is None:  # a new month: all its messages are new
                continue
            firsts = [tuple(first) for first in before[1]]
            for e in page.entries:
                if bisect_right(firsts, (_micros(e.row.sent_at), e.id)) != page.number:
                    moved.append((e.row.space_id, e.row.platform_message_id))
        if moved:  # the pages quoting them link to the new place
            replies = site_keys(session, community_id, replying_to=moved)
            dirty |= {site.month_of(key.sent_at)[:4] for key in replies}
        entries += fresh
        pages += fresh_pages
    entries.sort(key=lambda e: (e.row.sent_at, e.id))
    pages.sort(key=lambda p: (p.month, p.number))
    months = {month: value for month, value in cached.items() if month[:4] not in loaded}
    months.update(_month_state(pages))
    site.link(pages, sorted(months))
    for month, (_count, firsts) in months.items():
        if month[:4] not in loaded and (
            month[:4] not in old_years
            or any(_page_path(month, n) not in old_pages for n in range(1, len(firsts) + 1))
        ):
            return None

    # The messages outside the years read that the site shows or links to.
    known = {(e.row.space_id, e.row.platform_message_id): e for e in entries}
    by_id = {e.id: e for e in entries}
    newest = site_outline(session, community_id, people=people, tagged=tags_by_key, newest=NEWEST)
    wanted = [row.id for row in newest if row.id not in by_id]
    wanted += [mid for mid, (_key, _n, stories) in tagged.items() if stories and mid not in by_id]
    targets = _reply_keys(entries)
    for _round in range(2):  # the messages, then what they quote
        keys = [key for key in targets if key not in known]
        if not wanted and not keys:
            break
        rows = site_outline(
            session, community_id, people=people, tagged=tags_by_key, ids=wanted, keys=keys
        )
        for e in site.place(rows):
            before = months.get(e.month)
            if before is None or e.month[:4] in loaded:
                return None  # not where the last build put it: read everything
            firsts = [tuple(first) for first in before[1]]
            e.page = _page_path(e.month, bisect_right(firsts, (_micros(e.row.sent_at), e.id)))
            known[(e.row.space_id, e.row.platform_message_id)] = by_id[e.id] = e
        wanted = []
        targets = _reply_keys(by_id.values())
    members: dict[int, list[_Entry]] = defaultdict(list)
    for e in sorted(by_id.values(), key=lambda e: (e.row.sent_at, e.id)):
        for story_id in e.row.story_ids:
            members[story_id].append(e)
    last = next((key for key in changed if key.id == totals.max_id), None)
    max_sent = state["max_sent"] if totals.max_id == upto else None
    return _Layout(
        entries=entries,
        pages=pages,
        known=known,
        months=months,
        count=totals.count,
        neighbours=totals.neighbours,
        since=totals.first_sent_at.astimezone(site.zone).isoformat()[:10]
        if totals.first_sent_at
        else "",
        newest=[by_id[row.id] for row in newest],
        members=members,
        tags=tags,
        versions=versions,
        max_id=totals.max_id,
        max_sent=_micros(last.sent_at) if last else max_sent,
        full=False,
    )


def _reply_keys(entries: Iterable[_Entry]) -> set[tuple[int, str]]:
    return {(e.row.space_id, e.row.reply_to) for e in entries if e.row.reply_to is not None}


def _month_state(pages: list[_Page]) -> dict[str, list[Any]]:
    months: dict[str, list[Any]] = {}
    for page in pages:
        month = months.setdefault(page.month, [0, []])
        month[0] += len(page.entries)
        first = page.entries[0]
        month[1].append([_micros(first.row.sent_at), first.id])
    return months


def _tag_years(tagged: Iterable[tuple[int, str, int, tuple[int, ...]]]) -> dict[str, str]:
    """Year → a hash of (id, tags, stories) of its tagged messages, by id."""
    by_year: dict[str, list[tuple[int, int, tuple[int, ...]]]] = defaultdict(list)
    for mid, year, count, stories in tagged:
        by_year[year].append((mid, count, stories))
    return {year: _hash(repr(sorted(items)))[:16] for year, items in by_year.items()}


def _shown_names(people: People) -> dict[str, str]:
    """Person id → a hash of the name the site shows, for those it shows by name."""
    found = {}
    for pid, (name, attribution) in people.items():
        shown = shown_name(attribution, name)
        if shown is not None:
            found[str(pid)] = _hash(shown)[:16]
    return found


def _micros(when: datetime) -> int:
    return (when - _EPOCH_UTC) // _MICROSECOND


class _Inline(Generic[T]):
    """Runs ``compute`` when its result is asked for (the small case of ``_Forked``)."""

    def __init__(self, compute: Callable[[], T]) -> None:
        self._compute = compute

    def result(self) -> T:
        return self._compute()


class _Forked(_Inline[T]):
    """Runs ``compute`` in a forked child (it inherits the build's data: nothing is copied
    there) while the parent goes on; ``result()`` reads what the child sends back. Where
    there is no ``fork``, or the child fails, the parent computes it itself."""

    def __init__(self, compute: Callable[[], T]) -> None:
        super().__init__(compute)
        self._pid = 0
        self._read = -1
        if not hasattr(os, "fork"):
            return
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: compute, send, and leave without running any cleanup
            code = 1
            try:
                os.close(read)
                with os.fdopen(write, "wb") as pipe:
                    pipe.write(pickle.dumps(compute(), protocol=pickle.HIGHEST_PROTOCOL))
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        self._pid, self._read = pid, read

    def result(self) -> T:
        if not self._pid:
            return self._compute()
        with os.fdopen(self._read, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(self._pid, 0)
        if status != 0 or not data:
            return self._compute()
        made: T = pickle.loads(data)  # our own child's, not outside data
        return made


def _reply_target(entry: _Entry, by_platform_id: dict[tuple[int, str], _Entry]) -> _Entry | None:
    if entry.row.reply_to is None:
        return None
    return by_platform_id.get((entry.row.space_id, entry.row.reply_to))


class _Site:
    """Texts, time zone and templates of one build."""

    def __init__(
        self, texts: dict[str, str], name: str, language: str, zone: ZoneInfo, now: datetime
    ) -> None:
        self.texts = texts
        self.name = name
        self.language = language
        self.zone = zone
        self.built = now.astimezone(zone)
        self.env = Environment(
            loader=PackageLoader("archiver.site", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            auto_reload=False,  # one build: no stat of the template on every use
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.month_names = texts.get("month_names", "").split()
        self.neighbour = self.t("neighbour")
        # Kept message id → its file (``storage.site.site_files``), set by the build.
        self.files: dict[int, SiteFile] = {}
        self.public = False  # the public site: a quoted message may be one not shown here
        self.media_labels = {
            kind: self.t(f"media_{kind}")
            for kind in ("photo", "voice", "audio", "video", "document")
        }
        self._escaped: dict[str, str] = {}  # author as shown → escaped

    def t(self, key: str, **values: object) -> str:
        return self.texts[key].format(community=self.name, **values)

    def day_text(self, when: datetime) -> str:
        return when.astimezone(self.zone).strftime("%Y-%m-%d")

    def month_title(self, month: str) -> str:
        year, number = (int(part) for part in month.split("-"))
        name = self.month_names[number - 1] if self.month_names else str(number)
        return self.t("month_title", year=year, month=number, month_name=name)

    def year_range(self, year: str) -> tuple[datetime, datetime]:
        """The year's local start and end, in UTC."""
        start = datetime(int(year), 1, 1, tzinfo=self.zone)
        return start.astimezone(UTC), start.replace(year=int(year) + 1).astimezone(UTC)

    def month_range(self, month: str) -> tuple[datetime, datetime]:
        year, number = (int(part) for part in month.split("-"))
        start = datetime(year, number, 1, tzinfo=self.zone)
        end = (
            start.replace(year=year + 1, month=1)
            if number == 12
            else start.replace(month=number + 1)
        )
        return start.astimezone(UTC), end.astimezone(UTC)

    def render(self, template: str, context: dict[str, Any], kind: str) -> str:
        return self.env.get_template(template).render(
            t=self.t,
            lang="zh-Hans" if self.language == "zh" else self.language,
            page_kind=kind,
            community_name=self.name,
            site_title=self.t("site_title"),
            built=self.built.strftime("%Y-%m-%d %H:%M"),
            **context,
        )

    @property
    def key(self) -> str:
        """What every page depends on besides the messages: a change re-reads everything."""
        return _hash(repr((GENERATOR, self.language, self.name, self.zone.key, PAGE_SIZE)))[:16]

    def month_of(self, when: datetime) -> str:
        """The local month of a time, "2026-03"."""
        return when.astimezone(self.zone).strftime("%Y-%m")

    def lay_out(self, outline: list[OutlineRow]) -> tuple[list[_Entry], list[_Page]]:
        """Every message on its month page; the pages, linked to each other."""
        entries = self.place(outline)
        pages = self.paginate(entries)
        self.link(pages, sorted({page.month for page in pages}))
        return entries, pages

    def place(self, outline: list[OutlineRow]) -> list[_Entry]:
        """Messages with their local month and day and their author as shown."""
        entries: list[_Entry] = []
        zone = self.zone
        # The local date without a conversion per message: the zone's offset is looked up
        # once per UTC day (and per message only on the few days it changes: DST), then
        # dates are whole-day arithmetic, each local day named once.
        offsets: dict[int, int | None] = {}
        dates: dict[int, tuple[str, int]] = {}
        for row in outline:
            stamp = int(row.sent_at.timestamp())
            utc_day = stamp // 86400
            if utc_day not in offsets:
                offsets[utc_day] = _steady_offset(zone, utc_day)
            offset = offsets[utc_day]
            if offset is None:
                offset = _offset_at(zone, stamp)
            local_day = (stamp + offset) // 86400
            local = dates.get(local_day)
            if local is None:
                named = _EPOCH + timedelta(days=local_day)
                local = dates[local_day] = (f"{named.year:04d}-{named.month:02d}", named.day)
            name = shown_name(row.attribution, row.author_name)
            entry = _Entry(
                row.id, row, zone, local[0], local[1], name or self.neighbour, name is not None
            )
            entries.append(entry)
        return entries

    def paginate(self, entries: list[_Entry]) -> list[_Page]:
        """The month pages of these messages (every message of their months, in order)."""
        by_month: dict[str, list[_Entry]] = defaultdict(list)
        for entry in entries:
            by_month[entry.month].append(entry)
        pages: list[_Page] = []
        for month in sorted(by_month):
            items = by_month[month]
            count = (len(items) + PAGE_SIZE - 1) // PAGE_SIZE
            month_pages = []
            for number in range(1, count + 1):
                path = _page_path(month, number)
                chunk = items[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
                for entry in chunk:
                    entry.page = path
                month_pages.append(_Page(month, number, count, path, chunk))
            first_page_of_day: dict[int, str] = {}
            for entry in items:
                first_page_of_day.setdefault(entry.day, entry.page)
            day_urls = [
                {"day": day, "url": f"{path}#d{day}"}
                for day, path in sorted(first_page_of_day.items())
            ]
            for page in month_pages:
                page.day_urls = day_urls
                if page.number > 1:
                    page.previous_page = _page_path(month, page.number - 1)
                if page.number < page.count:
                    page.next_page = _page_path(month, page.number + 1)
            pages += month_pages
        return pages

    def link(self, pages: list[_Page], months: list[str]) -> None:
        """Each page's links to the months before and after it (``months``: all, in order)."""
        position = {month: index for index, month in enumerate(months)}
        for page in pages:
            index = position[page.month]
            page.previous_month = _page_path(months[index - 1], 1) if index > 0 else None
            page.next_month = _page_path(months[index + 1], 1) if index + 1 < len(months) else None

    def page_signature(
        self,
        page: _Page,
        by_platform_id: dict[tuple[int, str], _Entry],
        story_names: dict[int, str],
    ) -> str:
        """Everything a month page shows but the texts (an edit changes ``edited_at``)."""
        shown = []
        for e in page.entries:
            row = e.row
            reply: object = None
            if row.reply_to is not None:
                target = _reply_target(e, by_platform_id)
                reply = (target.url, target.author, target.row.edited_at) if target else "-"
            stories = [story_names.get(s) for s in row.story_ids] if row.story_ids else None
            file = self.files.get(e.id)
            shown.append(
                (e.id, row.sent_at, e.author, e.named, row.edited_at, row.media_kind, row.tags,
                 stories, reply, file.sha256 if file is not None else None)
            )  # fmt: skip
        header = (
            GENERATOR, self.language, self.name, self.zone.key, page.count, page.previous_month,
            page.next_month, page.previous_page, page.next_page, page.day_urls,
        )  # fmt: skip
        return _hash(repr((header, shown)))

    def shown(
        self,
        e: _Entry,
        texts: dict[int, tuple[str, str]],
        by_platform_id: dict[tuple[int, str], _Entry],
        story_names: dict[int, str],
    ) -> Markup:
        """A message as an ``<article>``, with its permalink anchor. Built here rather than
        in a template: a Jinja include per message made a 100,000-message build three times
        slower. Every value is escaped; the text goes through :func:`chat_html`."""
        row = e.row
        eid = e.id
        iso = e.iso
        named = "" if e.named else " anon"
        author = self._escaped.get(e.author)
        if author is None:
            author = self._escaped[e.author] = _esc(e.author)
        parts = [
            f'<article class="msg" id="m{eid}">\n<header><span class="author{named}">'
            f"{author}</span> "
            f'<a class="when" href="{e.page}#m{eid}"><time datetime="{iso}">{iso[11:16]}</time></a>'
        ]
        if row.edited_at is not None:
            parts.append(f' <span class="edited">· {_esc(self.t("edited"))}</span>')
        parts.append("</header>\n")
        if row.reply_to is not None:
            target = _reply_target(e, by_platform_id)
            if target is None:  # a reply to something not kept: say so, show nothing of it
                key = "reply_not_shown" if self.public else "reply_not_kept"
                parts.append(f'<p class="quote">{_esc(self.t(key))}</p>\n')
            else:
                quote = self.t(
                    "quote",
                    author=target.author,
                    snippet=_snippet(texts[target.id][0]),
                )
                parts.append(f'<p class="quote"><a href="{target.url}">{_esc(quote)}</a></p>\n')
        parts.append(f'<div class="text">{_text_html(texts[eid][0])}</div>\n')
        file = self.files.get(eid)
        if file is not None:
            html = file_html(file, texts[eid][0], self.media_labels)
            parts.append(f'<div class="media">{html}</div>\n')
        elif row.media_kind is not None:  # the text was kept, its file not (or not yet)
            parts.append(f'<p class="media none">{_esc(self.t("media"))}</p>\n')
        if row.tags or row.story_ids:
            badges = []
            if row.tags:
                title = _esc(self.t("tags", count=row.tags))
                badges.append(f'<span class="badge tags" title="{title}">📌 {row.tags}</span>')
            badges += [
                f'<a class="badge story" href="story-{s}.html">{_esc(story_names[s])}</a>'
                for s in row.story_ids
                if s in story_names
            ]
            if badges:
                parts.append(f'<p class="badges">{" ".join(badges)}</p>\n')
        parts.append("</article>\n")
        return Markup("".join(parts))

    def month_context(
        self,
        page: _Page,
        texts: dict[int, tuple[str, str]],
        by_platform_id: dict[tuple[int, str], _Entry],
        story_names: dict[int, str],
    ) -> dict[str, Any]:
        groups: dict[int, list[Markup]] = defaultdict(list)
        for e in page.entries:
            groups[e.day].append(self.shown(e, texts, by_platform_id, story_names))
        number = int(page.month[5:7])
        name = self.month_names[number - 1] if self.month_names else str(number)
        return {
            "title": self.month_title(page.month),
            "days": page.day_urls,
            "groups": [
                {
                    "day": day,
                    "title": self.t("day_title", month=number, day=day, month_name=name),
                    "messages": items,
                }
                for day, items in groups.items()
            ],
            "page": page.number,
            "pages": page.count,
            "previous_month": page.previous_month,
            "next_month": page.next_month,
            "previous_page": page.previous_page,
            "next_page": page.next_page,
        }

    def home(
        self, layout: _Layout, stories: list[SiteStory], newest: list[Markup], years: list[str]
    ) -> dict[str, Any]:
        if layout.count:
            stats = self.t(
                "stats", messages=layout.count, neighbours=layout.neighbours, since=layout.since
            )
        else:
            stats = self.t("stats_empty")
        by_year: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for month, (count, _firsts) in sorted(layout.months.items()):
            by_year[month[:4]].append(
                {"url": _page_path(month, 1), "title": self.month_title(month), "count": count}
            )
        return {
            "stats": stats,
            "stories": [
                {
                    "name": s.name,
                    "url": f"story-{s.id}.html",
                    "count": len(layout.members.get(s.id, [])),
                }
                for s in stories
            ],
            "newest": newest,
            "years": sorted(by_year.items(), reverse=True),
            "index_years": years,
        }

    def day_memories(
        self, indexed: list[IndexedMessage], entries: list[_Entry]
    ) -> dict[str, list[list[str]]]:
        """Month-day → a few of the year's memories, most-tagged first."""
        tags = {e.id: e.row.tags for e in entries}
        by_day: dict[str, list[IndexedMessage]] = defaultdict(list)
        for m in indexed:
            by_day[m.date[5:10]].append(m)
        return {
            day: [
                [m.date[:4], m.url, m.author, _snippet(m.text)]
                for m in sorted(items, key=lambda m: (-tags.get(m.id, 0), m.id))[:DAY_MEMORIES]
            ]
            for day, items in sorted(by_day.items())
        }


# --- text ---------------------------------------------------------------------------------


def chat_html(text: str) -> Markup:
    """A message's text as HTML: everything escaped, http(s) links made clickable, line
    breaks kept. Nothing else of the text can become markup (a ``javascript:`` link stays
    text: only ``http://`` and ``https://`` become links)."""
    return Markup(_text_html(text))


def _text_html(text: str) -> str:
    """:func:`chat_html` as a plain string (no Markup made per message)."""
    if "://" not in text:  # most messages: no link at all
        return html.escape(text).replace("\n", "<br>\n")
    parts: list[str] = []
    position = 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(_TRAILING)
        start, end = match.start(), match.start() + len(url)
        parts.append(_esc(text[position:start]))
        parts.append(f'<a href="{_esc(url)}" rel="nofollow noopener noreferrer">{_esc(url)}</a>')
        position = end
    parts.append(_esc(text[position:]))
    return "".join(parts).replace("\n", "<br>\n")


def _esc(value: object) -> str:
    """HTML-escaped text (quotes too: safe in attributes), as a plain string."""
    return html.escape(str(value), quote=True)


_EPOCH = date(1970, 1, 1)
_EPOCH_UTC = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _offset_at(zone: ZoneInfo, stamp: int) -> int:
    offset = datetime.fromtimestamp(stamp, zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _steady_offset(zone: ZoneInfo, utc_day: int) -> int | None:
    """The zone's UTC offset in seconds throughout that UTC day, or None if it changes."""
    first, last = _offset_at(zone, utc_day * 86400), _offset_at(zone, utc_day * 86400 + 86399)
    return first if first == last else None


def _page_path(month: str, number: int) -> str:
    return f"{month}.html" if number == 1 else f"{month}-{number}.html"


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SNIPPET else flat[:SNIPPET] + "…"


# --- files --------------------------------------------------------------------------------


def remove_site(out: Path, community_id: str) -> int:
    """Delete a site this project built in ``out`` (every file its manifest lists, then the
    manifest): a public site the community no longer wants. Returns how many files went;
    anything else in the folder is left alone."""
    manifest_path = out / MANIFEST
    if not manifest_path.is_file():
        return 0
    try:
        manifest: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0
    if manifest.get("community") != community_id:
        return 0
    listed = list(manifest.get("files", {}))
    for path in listed:
        (out / path).unlink(missing_ok=True)
    _remove_empty_folders(out, listed)
    manifest_path.unlink()
    return len(listed)


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


def _write_changed(
    out: Path, files: dict[str, str], old: dict[str, str]
) -> tuple[dict[str, str], list[str]]:
    """Write the files whose content the last build did not have: every file's hash, and
    which were written."""
    hashes: dict[str, str] = {}
    written = []
    for path, content in files.items():
        target = out / path
        digest = hashes[path] = _hash(content)
        if old.get(path) == digest and target.is_file():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(target, content)
        written.append(path)
    return hashes, written


def _atomic_write(path: Path, content: str) -> None:
    """Write via a temporary file and rename: a crash never leaves half a page."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(content, encoding="utf-8")
    os.replace(temporary, path)


def _remove_empty_folders(out: Path, removed: list[str]) -> None:
    for folder in sorted({(out / path).parent for path in removed}, key=lambda f: -len(f.parts)):
        while folder != out and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent


def _hash(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def _static(name: str) -> str:
    content = resources.files("archiver.site").joinpath("static", name).read_text("utf-8")
    if name == "search.js":
        content = content.replace("__TERM_SHARDS__", str(TERM_SHARDS)).replace(
            "__DOC_BUCKET__", str(DOC_BUCKET)
        )
    return content
