"""The public website: only when the community voted for one, only with the messages of
people who chose ``consent public`` themselves — a vote makes no one public — and gone again
when the community decides against it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from archiver.archive import Archive
from archiver.consent import Actor, Method, set_public
from archiver.site import zh
from archiver.site.build import SiteFolderError, build_site, remove_site
from archiver.votes import Result, VoteRules, answer, close_due, poll_sent, propose
from tests.conftest import CHAT, COMMUNITY, account
from tests.test_site import (  # noqa: F401  (a fixture)
    ANON,
    KEPT_ANON,
    KEPT_NAMED,
    NAMED,
    NEVER_ANSWERED,
    REFUSED,
    TAGGER,
    community,
    site_text,
)

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def decide(archive: Archive, value: str) -> None:
    """A vote of three residents on the roll decides ``site``."""
    vote = propose(archive, CHAT, account(NAMED), "site", value, rules=VoteRules(), now=NOW)
    poll_sent(archive, vote.vote_id, CHAT, f"poll-{vote.vote_id}", "1")
    for user in (NAMED, ANON, TAGGER):
        answer(archive, f"poll-{vote.vote_id}", account(user), "yes", now=NOW)
    [closed] = close_due(archive, now=NOW + timedelta(hours=73))
    assert closed.result is Result.PASSED


def test_no_public_site_without_a_decision(community: Archive, tmp_path: Path) -> None:  # noqa: F811
    with pytest.raises(SiteFolderError, match="propose site public"):
        build_site(community, COMMUNITY, tmp_path / "public", public=True)


def test_the_public_site_shows_only_those_who_chose_it(
    community: Archive,  # noqa: F811
    tmp_path: Path,
) -> None:
    decide(community, "public")
    out = tmp_path / "public"
    report = build_site(community, COMMUNITY, out, public=True)
    assert report.messages == 0, "a vote makes no one public: nobody chose it yet"
    assert KEPT_NAMED not in site_text(out)

    me = account(NAMED)
    set_public(community, COMMUNITY, me, True, actor=Actor(me), method=Method.COMMAND)
    build_site(community, COMMUNITY, out, public=True)
    everything = site_text(out)
    assert KEPT_NAMED in everything
    for private in (KEPT_ANON, "太好了", NEVER_ANSWERED, REFUSED):
        assert private not in everything, private
    # Named's reply to a message not on this site says so (the community's site is in zh).
    assert zh.TEXTS["reply_not_shown"] in everything
    residents = tmp_path / "residents"
    build_site(community, COMMUNITY, residents)
    assert KEPT_ANON in site_text(residents), "the residents' site stays as it is"

    # Taking it back takes their words off the public site at the next build.
    set_public(community, COMMUNITY, me, False, actor=Actor(me), method=Method.COMMAND)
    build_site(community, COMMUNITY, out, public=True)
    assert KEPT_NAMED not in site_text(out)

    # The community decides against a public site: it is removed.
    decide(community, "residents")
    with pytest.raises(SiteFolderError):
        build_site(community, COMMUNITY, out, public=True)
    assert remove_site(out, COMMUNITY) > 0
    assert not any(p.is_file() for p in out.rglob("*"))
