"""Linked accounts: a one-time code from one account, typed from the other, makes them one
person — one consent (the latest either chose), one ``mydata``, one ``forget``, one vote; a
steward links from a paper form (a WeChat id from an import too). Codes work once, expire,
and never link an account to itself."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import Result

from archiver.archive import Archive
from archiver.community import SpaceRef, ensure_community
from archiver.consent import (
    Actor,
    Attribution,
    Level,
    Method,
    consent_of,
    set_attribution,
    set_level,
    set_public,
)
from archiver.errors import ConsentError
from archiver.events import AccountRef, ChatRef
from archiver.exporters.jsonl import export_jsonl
from archiver.forget import forget_person
from archiver.importers.jsonl import import_jsonl
from archiver.ingest import ingest_message
from archiver.links import LinkError, link_by_steward, link_with_code, new_code
from archiver.mydata import what_we_hold
from archiver.segmentation import Segmenter
from archiver.stewards import Appointment, StewardReason, appoint_stewards
from archiver.votes import VoteRules, answer, close_due, poll_sent, propose
from bot.chat.messages import Incoming
from bot.chat.router import Router
from bot.chat.texts import text
from storage import people
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Ballot, ConsentEvent, Message, Person
from tests.conftest import CHAT, COMMUNITY, SETTINGS, account, cli, leftovers, message, rows, say
from tests.test_import_wechat import ALL as WECHAT_ALL
from tests.test_import_wechat import import_file, write_chatlab_json, write_roster

MATRIX = AccountRef("matrix", "@wang:example.org")
ROOM = ChatRef("matrix", "!garden:example.org")
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def two_accounts(archive: Archive) -> Archive:
    """Wang writes from Telegram (1, at all) and from Matrix (at none, later), in the same
    community (its Telegram group and Matrix room)."""
    spaces = (SpaceRef("telegram", CHAT.chat_id), SpaceRef("matrix", ROOM.chat_id))
    ensure_community(archive, replace(SETTINGS, spaces=spaces))
    say(archive, 1, Level.ALL, name="王阿姨")
    ingest_message(archive, message(1, 1, "电梯修好了"))
    return archive


def private(user: AccountRef, body: str) -> Incoming:
    return Incoming(
        chat=ChatRef(user.platform, user.user_id),
        private=True,
        message_id="1",
        sender=user,
        sender_name=None,
        text=body,
        sent_at=NOW,
    )


def test_a_code_links_two_accounts_into_one_person(two_accounts: Archive) -> None:
    archive = two_accounts
    set_level(archive, COMMUNITY, MATRIX, Level.TAGGED, actor=Actor(MATRIX), method=Method.COMMAND)
    code = new_code(archive, account(1))
    linked = link_with_code(archive, MATRIX, f"{code[:4]}-{code[4:].lower()}")
    assert linked.communities == (COMMUNITY,)
    assert len(rows(archive, Person)) == 1, "one person"
    # One choice: the latest either of the two made (Matrix said `tagged` last).
    assert consent_of(archive, COMMUNITY, account(1)).level is Level.TAGGED
    assert consent_of(archive, COMMUNITY, MATRIX).level is Level.TAGGED
    held = what_we_hold(archive, COMMUNITY, MATRIX)
    assert held.messages == 1 and set(held.accounts) == {"telegram:1", MATRIX.key}
    [entry] = [e for e in rows(archive, ConsentEvent) if e.field == "link"]
    assert entry.evidence == f"telegram:1 + {MATRIX.key}" and entry.method == "command"
    with pytest.raises(LinkError) as used:
        link_with_code(archive, MATRIX, code)
    assert used.value.reason == "link_unknown_code", "a code works once"


def test_codes_expire_and_never_link_an_account_to_itself(two_accounts: Archive) -> None:
    code = new_code(two_accounts, account(1), now=NOW)
    with pytest.raises(LinkError) as late:
        link_with_code(two_accounts, MATRIX, code, now=NOW + timedelta(minutes=11))
    assert late.value.reason == "link_unknown_code"
    again = new_code(two_accounts, account(1))
    with pytest.raises(LinkError) as itself:
        link_with_code(two_accounts, account(1), again)
    assert itself.value.reason == "link_same_account"


def test_linked_accounts_vote_once_and_are_forgotten_together(two_accounts: Archive) -> None:
    archive = two_accounts
    for user in (2, 3):
        say(archive, user, Level.ALL)
    set_level(archive, COMMUNITY, MATRIX, Level.ALL, actor=Actor(MATRIX), method=Method.COMMAND)
    ingest_message(archive, message(2, 1, "another from Telegram"))
    proposal = propose(archive, CHAT, account(2), "media", "off", rules=VoteRules(), now=NOW)
    # The community's Telegram group and its Matrix room each have the vote's poll.
    poll_sent(archive, proposal.vote_id, CHAT, "poll", "9")
    poll_sent(archive, proposal.vote_id, ROOM, "$start", "$start")
    answer(archive, "poll", account(1), "yes", now=NOW)
    assert not answer(archive, "poll", MATRIX, "no", now=NOW), "a Telegram poll, from Matrix"
    answer(archive, "$start", MATRIX, "no", now=NOW + timedelta(seconds=5))
    assert len(rows(archive, Ballot)) == 2, "two people, before the link"
    link_with_code(archive, MATRIX, new_code(archive, account(1)))
    [ballot] = rows(archive, Ballot)
    assert ballot.answer == "no", "one person, one answer: the latest"
    answer(archive, "poll", account(3), "yes", now=NOW)
    answer(archive, "poll", account(2), "yes", now=NOW)
    [closed] = close_due(archive, now=NOW + timedelta(hours=73))
    assert (closed.yes, closed.no) == (2, 1)

    report = forget_person(archive, COMMUNITY, MATRIX, actor=Actor(MATRIX))
    assert report.messages == 2, "the Telegram account's messages went too"
    assert [m.text for m in rows(archive, Message)] == []


def test_a_steward_links_from_a_paper_form_and_the_chat_offers_the_code(
    two_accounts: Archive,
) -> None:
    archive = two_accounts
    set_attribution(
        archive, COMMUNITY, account(1), Attribution.NAMED, actor=Actor(account(1)),
        method=Method.COMMAND,
    )  # fmt: skip
    linked = link_by_steward(
        archive, COMMUNITY, account(1), MATRIX, steward="张老师", evidence="form #12"
    )
    assert linked.communities == (COMMUNITY,)
    [entry] = [e for e in rows(archive, ConsentEvent) if e.field == "link"]
    assert (entry.method, entry.actor) == ("paper", "张老师")
    assert "form #12" in (entry.evidence or "")
    assert consent_of(archive, COMMUNITY, MATRIX).level is Level.ALL

    router = Router(archive)
    [code_reply] = router.on_message(private(AccountRef("telegram", "5"), "/link"))
    assert "/link " in code_reply.text and code_reply.private_to is None
    code = code_reply.text.rsplit("/link ", 1)[1]
    five = AccountRef("matrix", "@five:example.org")
    [done] = router.on_message(private(five, f"!link {code}"))
    assert done.text == text(
        "zh", "link_done", first="telegram:5", second="matrix:@five:example.org"
    )
    [wrong] = router.on_message(
        private(AccountRef("matrix", "@five:example.org"), "!link ABCD-EFGH")
    )
    assert wrong.text == text("zh", "link_unknown_code")


def test_linking_on_the_command_line_needs_two_accounts_and_evidence(
    two_accounts: Archive, tmp_path: Path
) -> None:
    if not two_accounts.db.is_sqlite:
        pytest.skip("the CLI opens the archive by URL; the PostgreSQL fixture's is a schema")
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\nurl = "{two_accounts.db.url}"\n', encoding="utf-8")

    def run(*args: str) -> Result:
        return cli(config, "link", "--community", COMMUNITY, *args)

    one = run("--person", "telegram:1", "--evidence", "form #3")
    assert one.exit_code == 1 and "the two accounts" in one.stderr
    bare = run("--person", "telegram:1", "--person", MATRIX.key, "--evidence", " ")
    assert bare.exit_code == 1 and "--evidence" in bare.stderr
    done = run("--person", "telegram:1", "--person", MATRIX.key, "--evidence", "form #3",
               "--steward", "张老师")  # fmt: skip
    assert done.exit_code == 0, done.output
    assert what_we_hold(two_accounts, COMMUNITY, MATRIX).messages == 1


def test_consent_public_is_a_personal_choice_kept_in_the_ledger_and_the_export(
    two_accounts: Archive, tmp_path: Path, segmenter: Segmenter
) -> None:
    router = Router(two_accounts)
    said = router.on_message(incoming_in_group(account(1), "/consent public"))
    assert [r.text for r in said] == [text("zh", "consent_set_public")]
    again = router.on_message(incoming_in_group(account(1), "/consent 公开"))
    assert [r.text for r in again] == [
        text("zh", "consent_unchanged", choice=text("zh", "choice_public"))
    ]
    with two_accounts.db.read() as session:
        assert people.public_people(session, COMMUNITY) == {person_id(two_accounts, account(1))}
    # No one else can make it for them: a steward's paper form is refused.
    with pytest.raises(ConsentError):
        set_public(two_accounts, COMMUNITY, account(2), True, actor=Actor(account(1)),
                   method=Method.COMMAND)  # fmt: skip

    out = tmp_path / "export.jsonl"
    export_jsonl(two_accounts, COMMUNITY, out)
    target = Archive(db=Database(f"sqlite:///{tmp_path / 'new.db'}"), segmenter=segmenter)
    try:
        upgrade(target.db)
        import_jsonl(target, out)
        with target.db.read() as session:
            assert len(people.public_people(session, COMMUNITY)) == 1
    finally:
        target.close()
    router.on_message(incoming_in_group(account(1), "/consent private"))
    with two_accounts.db.read() as session:
        assert people.public_people(session, COMMUNITY) == set()
        fields = [e.new_value for e in people.community_ledger(session, COMMUNITY)
                  if e.field == "public"]  # fmt: skip
    assert fields == ["public", "private"]


def incoming_in_group(user: AccountRef, body: str) -> Incoming:
    return Incoming(
        chat=CHAT, private=False, message_id="77", sender=user, sender_name=None, text=body,
        sent_at=NOW,
    )  # fmt: skip


def person_id(archive: Archive, user: AccountRef) -> int:
    with archive.db.read() as session:
        found = people.find_person(session, COMMUNITY, user.platform, user.user_id)
        assert found is not None and found.id is not None
        return found.id


def test_a_steward_records_a_paper_form_in_the_chat_but_never_over_an_own_choice(
    two_accounts: Archive,
) -> None:
    """``record ACCOUNT LEVEL [ATTRIBUTION] EVIDENCE`` from a steward: in the ledger as a paper
    form; from anyone else: refused; for someone who chose in the chat: refused."""
    archive = two_accounts
    router = Router(archive)
    appoint_stewards(archive, COMMUNITY, [Appointment(account(9), StewardReason.CLI)])
    [refused] = router.on_message(incoming_in_group(account(2), "/record telegram:7 all 表#8"))
    assert refused.text == text("zh", "record_not_steward")
    [usage] = router.on_message(incoming_in_group(account(9), "/record telegram:7 maybe"))
    assert usage.text == text("zh", "record_usage")
    [done] = router.on_message(
        incoming_in_group(account(9), "/record telegram:7 all named 纸质同意书 #8")
    )
    assert done.text == text(
        "zh", "record_done", account="telegram:7", level=text("zh", "level_all")
    )
    state = consent_of(archive, COMMUNITY, account(7))
    assert (state.level, state.attribution) == (Level.ALL, Attribution.NAMED)
    with archive.db.read() as session:
        entries = [e for e in people.community_ledger(session, COMMUNITY) if e.method == "paper"]
    assert {(e.field, e.new_value, e.actor, e.evidence) for e in entries} == {
        ("level", "all", "steward:telegram:9", "纸质同意书 #8"),
        ("attribution", "named", "steward:telegram:9", "纸质同意书 #8"),
    }
    # Account 1 chose in the chat themselves: their own choice stands.
    [own] = router.on_message(incoming_in_group(account(9), "/record telegram:1 none 表#9"))
    assert own.text == text("zh", "record_own_choice")
    assert consent_of(archive, COMMUNITY, account(1)).level is Level.ALL


def test_a_wechat_id_from_an_import_is_linked_by_a_paper_form_and_forgotten_with_it(
    two_accounts: Archive, tmp_path: Path
) -> None:
    """A WeChat history imported with its roster, then a steward's paper form links the
    resident's WeChat id to their Telegram account: one person, and ``forget`` from
    Telegram erases what the import kept of them too."""
    archive = two_accounts
    history = write_chatlab_json(tmp_path / "chatlab.json")
    import_file(archive, history, roster=write_roster(tmp_path / "r.csv"))
    wechat = AccountRef("wechat", WECHAT_ALL.wxid)
    imported = [m.text for m in rows(archive, Message) if m.text != "电梯修好了"]
    assert "各位邻居好，明天上午停水" in imported

    link_by_steward(archive, COMMUNITY, account(1), wechat, steward="张老师", evidence="form #21")
    held = what_we_hold(archive, COMMUNITY, account(1))
    assert set(held.accounts) == {"telegram:1", wechat.key}
    assert held.messages == 1 + len(imported)

    report = forget_person(archive, COMMUNITY, account(1), actor=Actor(account(1)))
    assert report.messages == 1 + len(imported)
    assert rows(archive, Message) == []
    if archive.db.is_sqlite:
        assert leftovers(archive, ["电梯修好了", *(t for t in imported if t)]) == []
