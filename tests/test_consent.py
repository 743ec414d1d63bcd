"""Consent (DESIGN.md, "Consent model"): levels, attribution, the ledger, who may change what,
data minimisation, asking at most once, and what a yes or a no does to held messages."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from archiver.archive import Archive
from archiver.consent import (
    Actor,
    Attribution,
    Level,
    Method,
    consent_of,
    mark_prompted,
    set_attribution,
    set_level,
)
from archiver.errors import ConsentError, NotYourPromptError
from archiver.ingest import ingest_message
from archiver.preservation import TagOutcome, answer_keep_prompt, tag_message
from archiver.recall import search
from storage.models import Account, Consent, ConsentEvent, HeldMessage, Message, Person, Tag
from tests.conftest import (
    CHAT,
    COMMUNITY,
    account,
    leftovers,
    message,
    person_of,
    rows,
    say,
    tag,
)

ALICE, BOB, CAROL = 1, 2, 3


def ledger(archive: Archive) -> list[ConsentEvent]:
    rows_: list[ConsentEvent] = rows(archive, ConsentEvent)
    return sorted(rows_, key=lambda e: e.id or 0)


def consent_row(archive: Archive, user: int) -> Consent:
    person = person_of(archive, user)
    assert person is not None and person.id is not None
    with archive.db.read() as session:
        found = session.get(Consent, person.id)
        assert found is not None
        return found


def test_someone_never_seen_is_unknown_and_anonymous(archive: Archive) -> None:
    state = consent_of(archive, COMMUNITY, account(ALICE))
    assert (state.level, state.attribution) == (Level.UNKNOWN, Attribution.ANONYMOUS)
    assert state.person_id is None
    assert not state.prompted


@pytest.mark.parametrize(
    ("level", "method"),
    [(Level.ALL, Method.BUTTON), (Level.TAGGED, Method.REACTION), (Level.NONE, Method.COMMAND)],
)
def test_a_choice_is_recorded_with_one_ledger_row(
    archive: Archive, level: Level, method: Method
) -> None:
    change = set_level(
        archive, COMMUNITY, account(ALICE), level, actor=Actor(account(ALICE)), method=method
    )
    assert change.changed and (change.old, change.new) == ("unknown", level.value)
    state = consent_of(archive, COMMUNITY, account(ALICE))
    assert state.level is level
    # A yes is anonymous until the person also chooses "named".
    assert state.attribution is Attribution.ANONYMOUS
    [entry] = ledger(archive)
    assert entry.id == change.ledger_id
    assert entry.person_id == state.person_id
    assert (entry.field, entry.old_value, entry.new_value) == ("level", "unknown", level.value)
    assert (entry.method, entry.actor) == (method.value, "telegram:1")
    assert entry.recorded_by is None and entry.evidence is None
    assert consent_row(archive, ALICE).level_event_id == entry.id


def test_every_change_appends_exactly_one_ledger_row(archive: Archive) -> None:
    say(archive, ALICE, Level.ALL)
    say(archive, ALICE, Level.TAGGED)
    for attribution in (Attribution.NAMED, Attribution.ANONYMOUS):
        set_attribution(
            archive,
            COMMUNITY,
            account(ALICE),
            attribution,
            actor=Actor(account(ALICE)),
            method=Method.BUTTON,
        )
    say(archive, ALICE, Level.NONE)
    say(archive, ALICE, Level.ALL)
    history = [(e.field, e.old_value, e.new_value) for e in ledger(archive)]
    assert history == [
        ("level", "unknown", "all"),
        ("level", "all", "tagged"),
        ("attribution", "anonymous", "named"),
        ("attribution", "named", "anonymous"),
        ("level", "tagged", "none"),
        ("level", "none", "all"),
    ]
    assert consent_row(archive, ALICE).level_event_id == ledger(archive)[-1].id


@pytest.mark.parametrize("level", [Level.ALL, Level.TAGGED, Level.NONE])
def test_choosing_the_same_level_again_appends_nothing(archive: Archive, level: Level) -> None:
    first = say(archive, ALICE, level)
    again = say(archive, ALICE, level)
    assert not again.changed and again.ledger_id is None
    assert len(ledger(archive)) == 1
    assert consent_row(archive, ALICE).level_event_id == first.ledger_id


def test_choosing_the_same_attribution_again_appends_nothing(archive: Archive) -> None:
    say(archive, ALICE, Level.ALL)
    change = set_attribution(
        archive,
        COMMUNITY,
        account(ALICE),
        Attribution.ANONYMOUS,
        actor=Actor(account(ALICE)),
        method=Method.COMMAND,
    )
    assert not change.changed
    assert len(ledger(archive)) == 1


def test_unknown_is_not_a_choice(archive: Archive) -> None:
    with pytest.raises(ConsentError):
        say(archive, ALICE, Level.UNKNOWN)
    assert ledger(archive) == []


@pytest.mark.parametrize(
    "actor",
    [
        Actor(account(BOB)),
        Actor(steward="admin"),  # a steward without a paper form is just someone else
        Actor(),
    ],
    ids=["another-account", "steward-without-paper", "nobody"],
)
def test_only_the_person_themself_can_change_their_consent(archive: Archive, actor: Actor) -> None:
    say(archive, ALICE, Level.TAGGED)
    before = consent_row(archive, ALICE)
    for method in (Method.BUTTON, Method.COMMAND, Method.REACTION):
        with pytest.raises(NotYourPromptError):
            set_level(archive, COMMUNITY, account(ALICE), Level.ALL, actor=actor, method=method)
        with pytest.raises(NotYourPromptError):
            set_attribution(
                archive, COMMUNITY, account(ALICE), Attribution.NAMED, actor=actor, method=method
            )
    after = consent_row(archive, ALICE)
    assert (after.level, after.attribution, after.level_event_id) == (
        before.level,
        before.attribution,
        before.level_event_id,
    )
    assert len(ledger(archive)) == 1


def test_a_refused_change_for_a_new_account_creates_nobody(archive: Archive) -> None:
    with pytest.raises(NotYourPromptError):
        set_level(
            archive,
            COMMUNITY,
            account(ALICE),
            Level.ALL,
            actor=Actor(account(BOB)),
            method=Method.REACTION,
        )
    assert rows(archive, Person) == []
    assert ledger(archive) == []


def test_a_steward_records_a_paper_form_with_its_evidence(archive: Archive) -> None:
    steward = Actor(steward="王阿姨", evidence="纸质同意书 #12, 2026-10-30")
    change = set_level(
        archive, COMMUNITY, account(ALICE), Level.ALL, actor=steward, method=Method.PAPER
    )
    set_attribution(
        archive, COMMUNITY, account(ALICE), Attribution.NAMED, actor=steward, method=Method.PAPER
    )
    assert change.changed
    for entry in ledger(archive):
        assert (entry.method, entry.actor) == ("paper", "steward:王阿姨")
        assert (entry.recorded_by, entry.evidence) == ("王阿姨", "纸质同意书 #12, 2026-10-30")
    state = consent_of(archive, COMMUNITY, account(ALICE))
    assert (state.level, state.attribution) == (Level.ALL, Attribution.NAMED)


def test_a_paper_form_needs_a_steward_and_evidence(archive: Archive) -> None:
    for actor in (
        Actor(steward="王阿姨"),
        Actor(evidence="form 12"),
        Actor(account(ALICE), evidence="form 12"),
        Actor(steward="", evidence="form 12"),
    ):
        with pytest.raises(ConsentError):
            set_level(
                archive, COMMUNITY, account(ALICE), Level.ALL, actor=actor, method=Method.PAPER
            )
    assert consent_of(archive, COMMUNITY, account(ALICE)).level is Level.UNKNOWN
    assert ledger(archive) == []


def test_display_name_is_stored_only_while_the_answer_is_yes(archive: Archive) -> None:
    def name() -> str | None:
        person = person_of(archive, ALICE)
        assert person is not None
        return person.display_name

    say(archive, ALICE, Level.ALL, name="李阿姨")
    assert name() == "李阿姨"
    say(archive, ALICE, Level.TAGGED, name="Alice Li")
    assert name() == "Alice Li"
    say(archive, ALICE, Level.NONE, name="still 李阿姨")
    assert name() is None
    # Choosing attribution while the answer is no stores no name either.
    set_attribution(
        archive,
        COMMUNITY,
        account(ALICE),
        Attribution.NAMED,
        actor=Actor(account(ALICE)),
        method=Method.COMMAND,
        display_name="李阿姨",
    )
    assert name() is None
    say(archive, ALICE, Level.ALL)
    assert name() is None
    set_attribution(
        archive,
        COMMUNITY,
        account(ALICE),
        Attribution.NAMED,
        actor=Actor(account(ALICE)),
        method=Method.COMMAND,
        display_name="李阿姨",
    )
    assert name() == "李阿姨"


def test_a_new_person_holds_only_the_account_id(archive: Archive) -> None:
    """Asked once, tagged by a neighbour, and a tagger: none of them said yes, so the archive
    holds their account ids and nothing else (no name, no text, no ledger entry)."""
    assert mark_prompted(archive, COMMUNITY, account(ALICE))
    held = message(10, BOB, "我家猫又跑到三楼去了", name="Bob 王")
    assert tag_message(archive, tag(CAROL, held)).outcome is TagOutcome.HELD
    people = rows(archive, Person)
    assert len(people) == 3
    assert all(person.display_name is None for person in people)
    accounts = rows(archive, Account)
    assert sorted(a.user_id for a in accounts) == ["1", "2", "3"]
    assert {(a.platform, a.person_id) for a in accounts} == {
        ("telegram", person.id) for person in people
    }
    assert {c.level for c in rows(archive, Consent)} == {"unknown"}
    assert ledger(archive) == []
    assert rows(archive, Message) == []


def test_the_bot_asks_unprompted_at_most_once(archive: Archive) -> None:
    first = ingest_message(archive, message(1, ALICE, "大家好"))
    assert first.should_ask
    assert mark_prompted(archive, COMMUNITY, account(ALICE)) is True
    assert consent_of(archive, COMMUNITY, account(ALICE)).prompted
    assert mark_prompted(archive, COMMUNITY, account(ALICE)) is False
    assert not ingest_message(archive, message(2, ALICE, "还在吗")).should_ask
    assert ledger(archive) == []


@pytest.mark.parametrize("level", [Level.ALL, Level.TAGGED])
def test_saying_yes_releases_held_messages(archive: Archive, level: Level) -> None:
    first = message(10, ALICE, "电梯今天又坏了，物业说明天来修")
    second = message(11, ALICE, "楼下的桂花开了")
    for event in (first, second):
        assert tag_message(archive, tag(BOB, event)).outcome is TagOutcome.HELD
    assert search(archive, COMMUNITY, "电梯") == []

    change = say(archive, ALICE, level)
    assert (change.released, change.destroyed) == (2, 0)
    assert rows(archive, HeldMessage) == []
    [found] = search(archive, COMMUNITY, "电梯")
    assert found.text == first.text and found.tags == 1
    kept = rows(archive, Message)
    assert len(kept) == 2
    assert {m.consent_event_id for m in kept} == {change.ledger_id}
    assert len(rows(archive, Tag)) == 2


def test_saying_none_destroys_held_messages(archive: Archive) -> None:
    secret = "我家密码是 zq7731heldsecret 别告诉别人"
    held = message(10, ALICE, secret)
    assert tag_message(archive, tag(BOB, held)).outcome is TagOutcome.HELD
    if archive.db.is_sqlite:
        assert leftovers(archive, [secret]) == [secret]  # the check below can fail

    change = say(archive, ALICE, Level.NONE)
    assert (change.released, change.destroyed) == (0, 1)
    assert rows(archive, HeldMessage) == []
    assert rows(archive, Tag) == []
    assert rows(archive, Message) == []
    assert search(archive, COMMUNITY, "zq7731heldsecret") == []
    if archive.db.is_sqlite:
        assert leftovers(archive, [secret, "zq7731heldsecret"]) == []


def test_every_kept_message_traces_to_a_yes_of_its_author(archive: Archive) -> None:
    steward = Actor(steward="王阿姨", evidence="form 7")
    # all, then none: what was kept stays, what comes after is not kept.
    say(archive, 1, Level.ALL)
    assert ingest_message(archive, message(1, 1, "第一条")).kept
    say(archive, 1, Level.NONE)
    assert not ingest_message(archive, message(2, 1, "第二条")).kept
    # tagged: kept when tagged.
    say(archive, 2, Level.TAGGED)
    assert tag_message(archive, tag(9, message(3, 2, "第三条"))).outcome is TagOutcome.KEPT
    # unknown, held, then a yes to everything tagged.
    assert tag_message(archive, tag(9, message(4, 3, "第四条"))).outcome is TagOutcome.HELD
    say(archive, 3, Level.TAGGED)
    # unknown, held, then a yes to that one message.
    assert tag_message(archive, tag(9, message(5, 4, "第五条"))).outcome is TagOutcome.HELD
    assert answer_keep_prompt(archive, CHAT, "5", True, actor=account(4), method=Method.BUTTON)
    # unknown, tags their own message.
    assert tag_message(archive, tag(5, message(6, 5, "第六条"))).outcome is TagOutcome.KEPT
    # all, then tagged: the message kept under "all" keeps pointing there.
    say(archive, 6, Level.ALL)
    assert ingest_message(archive, message(7, 6, "第七条")).kept
    say(archive, 6, Level.TAGGED)
    # a paper form.
    set_level(archive, COMMUNITY, account(7), Level.ALL, actor=steward, method=Method.PAPER)
    assert ingest_message(archive, message(8, 7, "第八条")).kept
    # unknown, held, says none: nothing kept.
    assert tag_message(archive, tag(9, message(9, 8, "第九条"))).outcome is TagOutcome.HELD
    say(archive, 8, Level.NONE)

    with archive.db.read() as session:
        kept = session.exec(select(Message.platform_message_id)).all()
        untraced = session.exec(
            select(Message.platform_message_id)
            .outerjoin(
                ConsentEvent,
                (col(ConsentEvent.id) == col(Message.consent_event_id))
                & (col(ConsentEvent.person_id) == col(Message.author_id))
                & (col(ConsentEvent.community_id) == col(Message.community_id)),
            )
            .where(col(ConsentEvent.id).is_(None))
        ).all()
        grounds = session.exec(
            select(ConsentEvent.field, ConsentEvent.new_value)
            .join(Message, col(Message.consent_event_id) == col(ConsentEvent.id))
            .distinct()
        ).all()
    assert sorted(kept) == ["1", "3", "4", "5", "6", "7", "8"]
    assert untraced == []
    assert set(grounds) <= {("level", "all"), ("level", "tagged"), ("message", "yes")}
    assert set(grounds) == {("level", "all"), ("level", "tagged"), ("message", "yes")}
