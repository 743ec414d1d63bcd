"""Community policy and votes at the archiver level: who may vote, quorum, majority, one
answer per person, answers stored as they come, decisions in the ledger — and the rights no
vote touches."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import Result as CliResult

from archiver.archive import Archive, open_archive
from archiver.community import SpaceRef, ensure_community
from archiver.consent import Actor, Level, Method, set_level
from archiver.events import AccountRef, ChatRef
from archiver.exporters.jsonl import export_jsonl
from archiver.forget import forget_person
from archiver.importers.jsonl import import_jsonl
from archiver.ingest import ingest_message
from archiver.policy import (
    PolicyValueError,
    change_steward,
    current_policy,
    ledger,
    normalise,
    with_policy,
)
from archiver.retention import apply_retention
from archiver.segmentation import Segmenter
from archiver.stewards import StewardReason, is_steward, stewards_of
from archiver.votes import (
    Result,
    VoteError,
    VoteRules,
    answer,
    close_due,
    poll_failed,
    poll_sent,
    polls_wanted,
    propose,
)
from bot.chat.messages import Incoming
from bot.chat.router import Router
from bot.chat.texts import text
from storage import people
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Ballot, Message, Vote
from tests.conftest import CHAT, COMMUNITY, SETTINGS, account, cli, leftovers, message, rows, say

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
RULES = VoteRules(quorum_percent=20, min_voters=3, hours=72)
LATER = NOW + timedelta(hours=73)


@pytest.fixture
def roll(archive: Archive) -> Archive:
    """Ten residents: 1–6 at all, 7–8 tagged, 9 said no, 10 never answered."""
    for user in range(1, 7):
        say(archive, user, Level.ALL)
    for user in (7, 8):
        say(archive, user, Level.TAGGED)
    say(archive, 9, Level.NONE)
    ingest_message(archive, message(1000, 10, "hello"))  # known, never answered
    return archive


def opened(archive: Archive, policy: str = "digest", value: str = "sat 10:00") -> int:
    proposal = propose(archive, CHAT, account(1), policy, value, rules=RULES, now=NOW)
    poll_sent(archive, proposal.vote_id, CHAT, f"poll-{proposal.vote_id}", "77")
    return proposal.vote_id


def test_values_are_checked_and_written_one_way() -> None:
    assert normalise("digest", " Sat  9:05 ") == "sat 09:05"
    assert normalise("on_this_day", "OFF") == "off"
    assert normalise("retention", "5y") == "5y"
    assert normalise("hold_hours", "048") == "48"
    for policy, value in (("media", "maybe"), ("hold_hours", "0"), ("retention", "99y")):
        with pytest.raises(PolicyValueError, match=policy):
            normalise(policy, value)
    with pytest.raises(PolicyValueError, match="not a policy"):
        normalise("colour", "blue")


def test_a_vote_that_passes_changes_the_policy_and_says_so(roll: Archive) -> None:
    vote = opened(roll)
    for user, choice in ((1, "yes"), (2, "yes"), (3, "no"), (4, "yes")):
        assert answer(roll, f"poll-{vote}", account(user), choice, now=NOW)
    assert close_due(roll, now=NOW + timedelta(hours=1)) == [], "not before its deadline"
    [closed] = close_due(roll, now=LATER)
    assert (closed.result, closed.yes, closed.no, closed.needed) == (Result.PASSED, 3, 1, 3)
    assert close_due(roll, now=LATER) == [], "closed once"
    policy = current_policy(roll, SETTINGS)
    assert (policy["digest"].value, policy["digest"].source) == ("sat 10:00", f"vote {vote}")
    assert policy["media"].source == "config"
    assert with_policy(roll, SETTINGS).digest == "sat 10:00"
    [entry] = ledger(roll, COMMUNITY)
    assert (entry.policy, entry.value, entry.old_value, entry.vote_id) == (
        "digest", "sat 10:00", None, vote,
    )  # fmt: skip


def test_a_vote_short_of_its_quorum_changes_nothing(roll: Archive) -> None:
    vote = opened(roll, "hold_hours", "24")
    answer(roll, f"poll-{vote}", account(1), "yes", now=NOW)
    answer(roll, f"poll-{vote}", account(2), "yes", now=NOW)
    [closed] = close_due(roll, now=LATER)
    assert closed.result is Result.NO_QUORUM and ledger(roll, COMMUNITY) == []
    assert with_policy(roll, SETTINGS).hold_hours == SETTINGS.hold_hours


def test_only_the_roll_votes_once_each_with_their_latest_answer(roll: Archive) -> None:
    vote = opened(roll, "media", "off")
    poll = f"poll-{vote}"
    assert not answer(roll, poll, account(9), "yes", now=NOW), "said no to keeping: not on roll"
    assert not answer(roll, poll, account(10), "yes", now=NOW), "never answered: not on roll"
    assert not answer(roll, poll, account(99), "yes", now=NOW), "unknown to the archive"
    assert len(rows(roll, Ballot)) == 0, "an ineligible answer leaves no trace"
    answer(roll, poll, account(1), "yes", now=NOW)
    answer(roll, poll, account(1), "no", now=NOW)  # changed: counted once, as no
    answer(roll, poll, account(2), "yes", now=NOW)
    answer(roll, poll, account(2), None, now=NOW)  # taken back: counts as none
    answer(roll, poll, account(3), "no", now=NOW)
    answer(roll, poll, account(7), "no", now=NOW)
    [closed] = close_due(roll, now=LATER)
    assert (closed.yes, closed.no, closed.result) == (0, 3, Result.REJECTED)


def test_answers_survive_a_restart_mid_vote(roll: Archive, db_url: str) -> None:
    vote = opened(roll, "on_this_day", "off")
    for user in (1, 2, 3):
        answer(roll, f"poll-{vote}", account(user), "yes", now=NOW)
    if not roll.db.is_sqlite:
        pytest.skip("the PostgreSQL fixture's archive lives in a schema of its own")
    again = Archive(db=Database(roll.db.url), segmenter=roll.segmenter)  # another process
    try:
        answer(again, f"poll-{vote}", account(3), "yes", now=NOW)  # re-delivered: once
        [closed] = close_due(again, now=LATER)
        assert (closed.yes, closed.result) == (3, Result.PASSED)
        assert with_policy(again, SETTINGS).on_this_day == ""
    finally:
        again.close()


def test_one_open_vote_per_policy_and_only_the_roll_proposes(roll: Archive) -> None:
    opened(roll, "media", "off")
    with pytest.raises(VoteError) as taken:
        propose(roll, CHAT, account(2), "media", "on", rules=RULES, now=NOW)
    assert taken.value.reason == "vote_open"
    with pytest.raises(VoteError) as refused:
        propose(roll, CHAT, account(9), "site", "public", rules=RULES, now=NOW)
    assert refused.value.reason == "vote_not_on_roll"
    with pytest.raises(PolicyValueError):
        propose(roll, CHAT, account(2), "retention", "sometimes", rules=RULES, now=NOW)


def test_stewards_are_voted_in_and_out_and_step_down(roll: Archive) -> None:
    proposal = propose(
        roll, CHAT, account(1), "steward", "", rules=RULES, target=account(5), now=NOW
    )
    poll_sent(roll, proposal.vote_id, CHAT, "p-steward", "78")
    for user in (1, 2, 3, 4):
        answer(roll, "p-steward", account(user), "yes", now=NOW)
    [closed] = close_due(roll, now=LATER)
    assert closed.result is Result.PASSED and is_steward(roll, COMMUNITY, account(5))
    [chosen] = [s for s in stewards_of(roll, COMMUNITY) if account(5) in s.accounts]
    assert chosen.reason is StewardReason.VOTE
    # Stepping down needs no vote; the ledger says who did what.
    assert change_steward(roll, COMMUNITY, account(5), add=False, actor="telegram:5 (themself)")
    assert not is_steward(roll, COMMUNITY, account(5))
    assert [(e.policy, e.actor) for e in ledger(roll, COMMUNITY)] == [
        ("steward", "vote"),
        ("unsteward", "telegram:5 (themself)"),
    ]


def test_no_vote_keeps_a_no_or_blocks_forget(roll: Archive) -> None:
    vote = opened(roll, "retention", "forever")
    answer(roll, f"poll-{vote}", account(6), "yes", now=NOW)
    # Forgetting a voter mid-vote works, and takes their answer with it.
    report = forget_person(roll, COMMUNITY, account(6), actor=Actor(account(6)))
    assert report.total >= 0 and len(rows(roll, Ballot)) == 0
    for user in (1, 2, 3):
        answer(roll, f"poll-{vote}", account(user), "yes", now=NOW)
    [closed] = close_due(roll, now=LATER)
    assert closed.result is Result.PASSED
    # Whatever was decided, a person who said no is not kept.
    ingest_message(roll, message(2000, 9, "my words stay mine"))
    assert "my words stay mine" not in [m.text for m in rows(roll, Message)]


def test_policy_and_stewards_on_the_command_line(tmp_path: Path) -> None:
    """``policy`` shows each value with its source and the open votes; ``stewards add|remove``
    need evidence and go into the ledger; ``stewards list`` shows them."""
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\nurl = "sqlite:///{tmp_path / "a.db"}"\n\n'
        f'[[communities]]\nid = "{COMMUNITY}"\nname = "阳光花园"\ndigest = "sun 20:00"\n'
        'spaces = [{ platform = "telegram", chat = "-1001987654321" }]\n',
        encoding="utf-8",
    )
    archive = open_archive(f"sqlite:///{tmp_path / 'a.db'}")
    try:
        ensure_community(archive, SETTINGS)
        for user in (1, 2, 3):
            say(archive, user, Level.ALL)
        opened(archive, "site", "public")
    finally:
        archive.close()

    def run(*args: str) -> CliResult:
        return cli(config, *args)

    shown = json.loads(run("policy", "--community", COMMUNITY, "--json").stdout)
    assert shown["policy"]["digest"] == {
        "policy": "digest", "value": "sun 20:00", "source": "config", "since": None,
    }  # fmt: skip
    [vote] = shown["open_votes"]
    assert (vote["policy"], vote["value"], vote["answers"], vote["needed"]) == (
        "site", "public", 0, 3,
    )  # fmt: skip
    assert "open vote" in run("policy", "--community", COMMUNITY).stdout

    missing = run("stewards", "add", "--community", COMMUNITY, "--person", "telegram:2",
                  "--evidence", " ")  # fmt: skip
    assert missing.exit_code == 1 and "--evidence" in missing.stderr
    added = run("stewards", "add", "--community", COMMUNITY, "--person", "telegram:2",
                "--evidence", "signed form of 2026-12-01")  # fmt: skip
    assert added.exit_code == 0 and "is now a steward" in added.stdout
    listed = json.loads(run("stewards", "list", "--community", COMMUNITY, "--json").stdout)
    assert [(s["accounts"], s["reason"]) for s in listed] == [(["telegram:2"], "cli")]
    removed = run("stewards", "remove", "--community", COMMUNITY, "--person", "telegram:2",
                  "--evidence", "moved away")  # fmt: skip
    assert removed.exit_code == 0 and "no longer a steward" in removed.stdout
    archive = open_archive(f"sqlite:///{tmp_path / 'a.db'}")
    try:
        assert [(e.policy, e.actor, e.evidence) for e in ledger(archive, COMMUNITY)] == [
            ("steward", "cli", "signed form of 2026-12-01"),
            ("unsteward", "cli", "moved away"),
        ]
    finally:
        archive.close()


def test_a_decided_retention_erases_old_messages_with_ledger_entries(roll: Archive) -> None:
    old = message(
        3000, 1, "a very old notice about the lift 4411", sent_at=NOW - timedelta(days=800)
    )
    recent = message(3001, 1, "a recent notice", sent_at=NOW - timedelta(days=30))
    for event in (old, recent):
        ingest_message(roll, event)
    assert apply_retention(roll, COMMUNITY, now=NOW) == 0, "forever: the default"
    vote = opened(roll, "retention", "2y")
    for user in (1, 2, 3):
        answer(roll, f"poll-{vote}", account(user), "yes", now=NOW)
    [closed] = close_due(roll, now=LATER)
    assert closed.result is Result.PASSED
    assert apply_retention(roll, COMMUNITY, now=LATER) == 1
    texts = [m.text for m in rows(roll, Message)]
    assert "a recent notice" in texts and old.text not in texts
    with roll.db.read() as session:
        person = people.find_person(session, COMMUNITY, "telegram", "1")
        assert person is not None and person.id is not None
        [entry] = [e for e in people.ledger(session, person.id) if e.field == "erasure"]
    assert entry.new_value == "retention" and "1 message(s) sent before" in (entry.evidence or "")
    assert entry.actor == "community policy retention 2y"
    assert apply_retention(roll, COMMUNITY, now=LATER) == 0, "nothing twice"
    if roll.db.is_sqlite:
        assert leftovers(roll, [old.text]) == []


def test_the_policy_ledger_and_tallies_round_trip_through_jsonl(
    roll: Archive, tmp_path: Path, segmenter: Segmenter
) -> None:
    """``export jsonl`` writes the closed votes (tallies only, never who answered what) and
    the policy ledger; ``import jsonl`` into a new archive restores them, a rerun adds
    nothing, and the restored policy is in force there."""
    vote = opened(roll, "digest", "sat 10:00")
    for user, choice in ((1, "yes"), (2, "yes"), (3, "no")):
        answer(roll, f"poll-{vote}", account(user), choice, now=NOW)
    close_due(roll, now=LATER)
    change_steward(roll, COMMUNITY, account(4), add=True, actor="cli", evidence="form #7")
    opened(roll, "media", "off")  # still open: not exported
    out = tmp_path / "export.jsonl"
    report = export_jsonl(roll, COMMUNITY, out)
    assert (report.votes, report.policy_events) == (1, 2)
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    [vote_line] = [line for line in lines if line["type"] == "vote"]
    assert (vote_line["yes"], vote_line["no"], vote_line["result"]) == (2, 1, "passed")
    assert "ballot" not in {line["type"] for line in lines}

    target = Archive(db=Database(f"sqlite:///{tmp_path / 'new.db'}"), segmenter=segmenter)
    try:
        upgrade(target.db)
        restored = import_jsonl(target, out)
        assert (restored.votes, restored.policy_events) == (1, 2)
        again = import_jsonl(target, out)
        assert (again.votes, again.policy_events, again.added) == (0, 0, 0)
        assert with_policy(target, SETTINGS).digest == "sat 10:00"
        assert is_steward(target, COMMUNITY, account(4))
        assert [(e.policy, e.actor, e.evidence) for e in ledger(target, COMMUNITY)] == [
            ("digest", "vote", None),
            ("steward", "cli", "form #7"),
        ]
    finally:
        target.close()


def test_a_vote_is_polled_in_every_chat_of_its_community(roll: Archive) -> None:
    """A community with a Telegram group, a Matrix room and a second group: the vote is
    proposed in the first, polled in the others (on the platforms running), answered on
    each, and closed in each — a chat that refused the poll is not offered it again."""
    room, other = ChatRef("matrix", "!garden:example.org"), ChatRef("telegram", "-200")
    chats = (CHAT, room, other)
    spaces = tuple(SpaceRef(chat.platform, chat.chat_id) for chat in chats)
    ensure_community(roll, replace(SETTINGS, spaces=spaces))
    wang = AccountRef("matrix", "@wang:example.org")
    set_level(roll, COMMUNITY, wang, Level.ALL, actor=Actor(wang), method=Method.COMMAND)
    vote = propose(roll, CHAT, account(1), "digest", "sat 10:00", rules=RULES, now=NOW).vote_id
    assert polls_wanted(roll, ("telegram", "matrix"), now=NOW) == [], (
        "not before its own chat has the poll: the vote could still be withdrawn"
    )
    assert poll_sent(roll, vote, CHAT, f"poll-{vote}", "77"), "the chat it was proposed in"

    both = {(w.vote_id, w.chat) for w in polls_wanted(roll, ("telegram", "matrix"), now=NOW)}
    assert both == {(vote, room), (vote, other)}
    assert [w.chat for w in polls_wanted(roll, ("matrix",), now=NOW)] == [room]
    assert polls_wanted(roll, ("telegram", "matrix"), now=LATER) == [], "past its deadline"
    assert not poll_sent(roll, vote, room, "$start", "$start"), "another chat"
    assert not poll_failed(roll, vote, other), "the vote goes on where it was polled"
    assert polls_wanted(roll, ("telegram", "matrix"), now=NOW) == []

    assert answer(roll, f"poll-{vote}", account(1), "yes", now=NOW)
    assert answer(roll, "$start", wang, "yes", now=NOW)
    assert not answer(roll, "$start", account(2), "yes", now=NOW), "a Matrix poll, on Telegram"
    assert answer(roll, f"poll-{vote}", account(3), "no", now=NOW)
    [closed] = close_due(roll, now=LATER)
    assert (closed.result, closed.yes, closed.no) == (Result.PASSED, 2, 1)
    assert [(p.chat, p.poll_message_id) for p in closed.polls] == [
        (CHAT, "77"), (room, "$start"), (other, None),
    ]  # fmt: skip


def test_a_poll_refused_where_the_vote_was_proposed_means_no_vote(roll: Archive) -> None:
    room = ChatRef("matrix", "!garden:example.org")
    spaces = (SpaceRef(CHAT.platform, CHAT.chat_id), SpaceRef(room.platform, room.chat_id))
    ensure_community(roll, replace(SETTINGS, spaces=spaces))
    proposal = propose(roll, CHAT, account(1), "media", "off", rules=RULES, now=NOW)
    assert polls_wanted(roll, ("telegram", "matrix"), now=NOW) == [], "the room waits"
    assert poll_failed(roll, proposal.vote_id, CHAT)
    assert polls_wanted(roll, ("telegram", "matrix"), now=NOW) == [], "no vote to poll"
    [closed] = [v for v in rows(roll, Vote) if v.id == proposal.vote_id]
    assert (closed.result, closed.yes, closed.no) == ("no_quorum", 0, 0)
    assert close_due(roll, now=LATER) == [], "closed already: nothing is said twice"


def test_the_other_chats_are_polled_once_the_proposing_chat_has_its_poll(roll: Archive) -> None:
    """The router wakes the runner's vote job (``vote_opened``) when the poll is in the chat
    the vote was proposed in, not before: a refusal there still withdraws the vote."""
    room = ChatRef("matrix", "!garden:example.org")
    spaces = (SpaceRef(CHAT.platform, CHAT.chat_id), SpaceRef(room.platform, room.chat_id))
    ensure_community(roll, replace(SETTINGS, spaces=spaces))
    woken: list[str] = []
    router = Router(roll, vote_opened=lambda: woken.append("votes"))

    def proposal(message_id: str) -> int:
        said = Incoming(
            chat=CHAT,
            private=False,
            message_id=message_id,
            sender=account(1),
            sender_name=None,
            text="/propose media off",
            sent_at=datetime.now(UTC),
        )
        [reply] = router.on_message(said)
        assert reply.poll is not None, reply.text
        return reply.poll.vote_id

    refused = proposal("501")
    assert woken == [] and router.polls_to_open(("telegram", "matrix")) == []
    assert [r.text for r in router.poll_failed(CHAT, refused)] == [
        text("zh", "vote_poll_failed", community=SETTINGS.name)
    ]
    assert woken == [] and router.polls_to_open(("telegram", "matrix")) == []

    held = proposal("502")
    router.poll_sent(CHAT, held, "poll-1", "81")
    assert woken == ["votes"]
    [elsewhere] = router.polls_to_open(("telegram", "matrix"))
    assert elsewhere.chat == room and elsewhere.poll is not None
    router.poll_sent(room, held, "$start", "$start")
    assert woken == ["votes"], "the room's own poll wakes nothing"
    assert router.polls_to_open(("telegram", "matrix")) == []
