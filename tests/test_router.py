"""The chat contract (DESIGN.md, "Chat contract" and "Consent model"), line by line, through
the shared ``Router`` with a real archive: command parsing, consent prompts and their answers,
keeping by command, hashtag and reaction, the keep prompt, ``unkeep``, ``forget``, ``mydata``,
recall, private chats, and the bot joining and leaving. No mocks; each test runs on every
backend, and each positive sits beside its negative."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, date, datetime, time

import pytest

from archiver.archive import Archive
from archiver.community import CommunitySettings, SpaceRef, community_of_chat, ensure_community
from archiver.consent import Level, consent_of
from archiver.events import ChatRef, DeleteEvent, EditEvent
from archiver.prompts import PromptKind, attach_message, get_prompt
from archiver.reactions import keep_emoji
from archiver.recall import search
from bot.chat.messages import ButtonResult, Incoming, Reaction, Reply
from bot.chat.router import ASK_BURST, ASK_WINDOW_S, Router
from bot.chat.texts import text
from storage.models import ConsentEvent, HeldMessage, Message, MessageVersion, Space, Tag
from tests.conftest import (
    CHAT,
    COMMUNITY,
    SETTINGS,
    account,
    add_community,
    archive_bytes,
    leftovers,
    person_of,
    rows,
    say,
)

BOT = "memory_bot"
ME, BOB, CAROL, STRANGER = 1, 2, 3, 99
NAMES = {ME: "李阿姨", BOB: "王师傅", CAROL: "张老师", STRANGER: "路人"}
SENT = datetime(2025, 11, 20, 12, 0, tzinfo=UTC)
TODAY = date(2026, 3, 15)
RIVERSIDE = "riverside"
RIVER_CHAT = ChatRef("telegram", "-1002222222222")
# Help names the reaction residents can make: on Telegram, where 📌 is no reaction, ✍.
TELEGRAM_KEEP = keep_emoji("telegram", "📌")
_message_ids = itertools.count(1000)


@pytest.fixture
def router(archive: Archive) -> Router:
    """The router as the Telegram adapter builds it, on a fixed day (15 March 2026)."""
    return Router(archive, bot_usernames={"telegram": BOT}, today=lambda zone: TODAY)


# --- helpers -----------------------------------------------------------------------------------


def zh(key: str, **values: object) -> str:
    """A text of the test community (阳光花园, in Chinese)."""
    return text("zh", key, community=SETTINGS.name, **values)


def incoming(
    user: int,
    body: str,
    *,
    reply_to: Incoming | None = None,
    reply_to_id: str | None = None,
    to_bot: bool = False,
    chat: ChatRef = CHAT,
    private: bool = False,
    sent_at: datetime = SENT,
) -> Incoming:
    """``user`` writes ``body`` in the group (or, ``private``, to the bot): a reply carries
    the replied-to message's content, as Telegram delivers it."""
    if private:
        chat = ChatRef("telegram", str(user))
    target = reply_to.as_event() if reply_to is not None else None
    return Incoming(
        chat=chat,
        private=private,
        message_id=str(next(_message_ids)),
        sender=account(user),
        sender_name=NAMES.get(user, f"邻居{user}"),
        text=body,
        sent_at=sent_at,
        reply_to_id=reply_to.message_id if reply_to is not None else reply_to_id,
        reply_to=target,
        reply_to_is_bot=to_bot,
    )


def one(replies: list[Reply] | ButtonResult) -> Reply:
    """The single reply of a router call."""
    assert isinstance(replies, list) and len(replies) == 1, replies
    return replies[0]


def data(prompt: Reply, answer: str) -> str:
    """The button data that gives ``answer`` to a prompt."""
    (button,) = [b for b in prompt.buttons if b.data.endswith(f":{answer}")]
    return button.data


def press(
    router: Router, user: int, prompt: Reply, answer: str, *, private: bool = False
) -> ButtonResult:
    """``user`` presses the ``answer`` button under ``prompt``."""
    chat = ChatRef("telegram", str(user)) if private else prompt.chat
    return router.on_button(chat, private, account(user), NAMES[user], data(prompt, answer))


def react(
    router: Router,
    user: int,
    message_id: str,
    emoji: str,
    *,
    target: Incoming | None = None,
) -> list[Reply] | ButtonResult:
    """``user`` reacts to a message of the group (with its content when ``target`` is given,
    as Matrix can fetch it; Telegram never can)."""
    return router.on_reaction(
        Reaction(
            chat=CHAT,
            message_id=message_id,
            by=account(user),
            by_name=NAMES[user],
            emoji=emoji,
            target=target.as_event() if target is not None else None,
        )
    )


def posted(archive: Archive, prompt: Reply) -> str:
    """The adapter posted ``prompt``: remember its message id (Matrix answers react to it)."""
    assert prompt.prompt_id is not None
    message_id = str(next(_message_ids))
    attach_message(archive, prompt.prompt_id, message_id)
    return message_id


def level(archive: Archive, user: int, community: str = COMMUNITY) -> Level:
    return consent_of(archive, community, account(user)).level


def ledger(archive: Archive) -> list[tuple[str, str, str, str]]:
    """Every ledger entry as (field, new value, method, actor)."""
    return [(e.field, e.new_value, e.method, e.actor) for e in rows(archive, ConsentEvent)]


def found(archive: Archive, query: str, community: str = COMMUNITY) -> list[str]:
    """The texts search finds, newest first."""
    return [hit.text for hit in search(archive, community, query, limit=100)]


def choose(router: Router, user: int, choice: str, chat: ChatRef = CHAT) -> None:
    """``user`` types ``/consent <choice>`` in the group."""
    router.on_message(incoming(user, f"/consent {choice}", chat=chat))


def add_riverside(archive: Archive) -> None:
    """A second community, in English, with one Telegram group."""
    ensure_community(
        archive,
        CommunitySettings(
            id=RIVERSIDE,
            name="Riverside",
            language="en",
            spaces=(SpaceRef(RIVER_CHAT.platform, RIVER_CHAT.chat_id),),
        ),
    )


# --- command parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed", ["/help", "!help", "/help@memory_bot", "/HELP", "!Help@Memory_Bot", "/start"]
)
def test_help_is_answered_with_either_prefix_and_this_bots_name(router: Router, typed: str) -> None:
    said = incoming(ME, typed)
    reply = one(router.on_message(said))
    assert reply == Reply(CHAT, zh("help", emoji=TELEGRAM_KEEP), reply_to=said.message_id)


@pytest.mark.parametrize("typed", ["!help", "/help", "!HELP"])
def test_both_prefixes_work_in_a_matrix_room_too(
    router: Router, archive: Archive, typed: str
) -> None:
    room = ChatRef("matrix", "!garden:example.org")
    ensure_community(
        archive, replace(SETTINGS, spaces=(*SETTINGS.spaces, SpaceRef(room.platform, room.chat_id)))
    )
    reply = one(router.on_message(incoming(ME, typed, chat=room)))
    assert reply.chat == room and reply.text == zh("help", emoji="📌")  # any emoji on Matrix


@pytest.mark.parametrize("typed", ["/help@other_bot", "/weather@weather_bot 明天"])
def test_another_bots_commands_get_no_reply_and_are_not_stored(
    router: Router, archive: Archive, typed: str
) -> None:
    assert router.on_message(incoming(STRANGER, typed)) == []  # not even a consent prompt
    assert person_of(archive, STRANGER) is None
    choose(router, ME, "all")
    assert router.on_message(incoming(ME, typed)) == []
    assert rows(archive, Message) == []


@pytest.mark.parametrize("typed", ["/frobnicate", "!Attention everyone", "/shrug", "/Keeep"])
def test_unknown_commands_are_ordinary_words(router: Router, archive: Archive, typed: str) -> None:
    # Not ours, and not addressed to another bot: what a neighbour wrote, kept per consent.
    prompt = one(router.on_message(incoming(STRANGER, typed)))
    assert prompt.buttons  # the never-asked author gets the consent question, as for any text
    choose(router, ME, "all")
    assert router.on_message(incoming(ME, typed)) == []
    assert [m.text for m in rows(archive, Message)] == [typed]


def test_command_names_are_case_insensitive_and_keep_their_arguments(
    router: Router, archive: Archive
) -> None:
    choose(router, BOB, "tagged")
    lift = incoming(BOB, "三号楼的电梯终于修好了")
    router.on_message(lift)
    reply = one(router.on_message(incoming(ME, "/KEEP 电梯之战", reply_to=lift)))
    assert reply.text == zh("keep_kept_story", story="电梯之战")
    result = one(router.on_message(incoming(ME, "!Search 电梯")))
    assert result.text.startswith(zh("search_title", query="电梯"))
    assert "三号楼的电梯终于修好了" in result.text


def test_a_command_is_not_stored_as_a_message(router: Router, archive: Archive) -> None:
    choose(router, ME, "all")
    for typed in ("/search 电梯", "/help", "!onthisday", "/stories", "/keep 电梯之战"):
        router.on_message(incoming(ME, typed))
    assert rows(archive, Message) == []
    router.on_message(incoming(ME, "电梯又坏了"))
    assert found(archive, "电梯") == ["电梯又坏了"]


def test_help_and_start_speak_the_communitys_language(router: Router, archive: Archive) -> None:
    add_riverside(archive)
    english = one(router.on_message(incoming(ME, "/start", chat=RIVER_CHAT)))
    assert english.text == text("en", "help", community="Riverside", emoji=TELEGRAM_KEEP)
    assert english.text.startswith("I am Riverside's community memory")
    chinese = one(router.on_message(incoming(ME, "/start")))
    assert chinese.text == zh("help", emoji=TELEGRAM_KEEP)
    assert "阳光花园" in chinese.text


# --- asking without nagging --------------------------------------------------------------------


def test_an_unknown_persons_first_message_is_not_stored_and_they_are_asked_once(
    router: Router, archive: Archive
) -> None:
    first = incoming(ME, "大家好，我是新搬来的，住五号楼")
    prompt = one(router.on_message(first))
    assert prompt.text == zh("consent_prompt", hello=zh("hello_name", name=NAMES[ME]))
    assert NAMES[ME] in prompt.text
    assert (prompt.mention, prompt.mention_name, prompt.reply_to) == (
        account(ME),
        NAMES[ME],
        first.message_id,
    )
    assert prompt.prompt_id is not None
    assert [b.data for b in prompt.buttons] == [
        f"p:{prompt.prompt_id}:{answer}" for answer in ("all", "tagged", "none")
    ]
    assert [b.emoji for b in prompt.buttons] == ["✅", "📌", "❌"]
    assert all(len(b.data.encode()) < 64 for b in prompt.buttons)
    info = get_prompt(archive, prompt.prompt_id)
    assert info is not None and (info.kind, info.subject) == (PromptKind.CONSENT, account(ME))
    # Nothing stored but the account id (so the bot remembers it asked).
    assert rows(archive, Message) == [] and rows(archive, HeldMessage) == []
    person = person_of(archive, ME)
    assert person is not None and person.display_name is None
    assert ledger(archive) == []
    # The second message: no second prompt.
    assert router.on_message(incoming(ME, "有人知道快递柜在哪吗")) == []
    assert rows(archive, Message) == []


def test_a_member_who_joins_is_asked_once(router: Router, archive: Archive) -> None:
    prompt = one(router.on_member_joined(CHAT, account(ME), NAMES[ME]))
    assert (prompt.mention, prompt.reply_to) == (account(ME), None)
    assert prompt.text == zh("consent_prompt", hello=zh("hello_name", name=NAMES[ME]))
    assert len(prompt.buttons) == 3
    assert router.on_member_joined(CHAT, account(ME), NAMES[ME]) == []
    assert router.on_message(incoming(ME, "大家好")) == []  # asked already, on joining


@pytest.mark.parametrize("answered", [Level.ALL, Level.TAGGED, Level.NONE])
def test_someone_who_already_answered_is_not_asked(
    router: Router, archive: Archive, answered: Level
) -> None:
    say(archive, ME, answered)
    assert router.on_member_joined(CHAT, account(ME), NAMES[ME]) == []
    assert router.on_message(incoming(ME, "大家好")) == []


def test_a_chat_no_community_lists_is_adopted_on_its_first_message(
    router: Router, archive: Archive
) -> None:
    chat = ChatRef("telegram", "-1007770001")
    prompt = one(router.on_message(incoming(ME, "大家好", chat=chat)))
    assert prompt.chat == chat and len(prompt.buttons) == 3
    assert community_of_chat(archive, chat) == "telegram-1007770001"


def test_a_member_joining_a_chat_no_community_lists_is_not_asked(router: Router) -> None:
    assert router.on_member_joined(ChatRef("telegram", "-1007770002"), account(ME), None) == []


# --- answering the consent prompt --------------------------------------------------------------


def test_the_person_answers_their_prompt_once_and_it_closes(
    router: Router, archive: Archive
) -> None:
    prompt = one(router.on_message(incoming(ME, "大家好")))
    result = press(router, ME, prompt, "tagged")
    assert result == ButtonResult(zh("consent_set_tagged"), close_prompt=True)  # no alert
    assert level(archive, ME) is Level.TAGGED
    assert ledger(archive) == [("level", "tagged", "button", "telegram:1")]
    person = person_of(archive, ME)
    assert person is not None and person.display_name == NAMES[ME]
    # A second answer to the closed prompt changes nothing (a change of mind is /consent).
    again = press(router, ME, prompt, "all")
    assert again == ButtonResult(zh("question_closed"), alert=True, close_prompt=True)
    assert level(archive, ME) is Level.TAGGED
    assert len(ledger(archive)) == 1


def test_anyone_else_pressing_gets_not_for_you_and_nothing_changes(
    router: Router, archive: Archive
) -> None:
    prompt = one(router.on_message(incoming(ME, "大家好")))
    for answer in ("all", "tagged", "none"):
        result = press(router, BOB, prompt, answer)
        assert result == ButtonResult(zh("not_for_you"), alert=True)
    assert level(archive, ME) is Level.UNKNOWN and level(archive, BOB) is Level.UNKNOWN
    assert ledger(archive) == []
    person = person_of(archive, ME)
    assert person is not None and person.display_name is None


@pytest.mark.parametrize("garbage", ["", "garbage", "p:x:all", "p:999999999:all", "p::all", "p:1"])
def test_a_stale_or_garbage_button_gets_an_alert_and_changes_nothing(
    router: Router, archive: Archive, garbage: str
) -> None:
    one(router.on_message(incoming(ME, "大家好")))
    result = router.on_button(CHAT, False, account(ME), NAMES[ME], garbage)
    assert result == ButtonResult(zh("question_closed"), alert=True)
    assert ledger(archive) == [] and level(archive, ME) is Level.UNKNOWN


def test_an_answer_the_prompt_does_not_take_gets_an_alert_and_changes_nothing(
    router: Router, archive: Archive
) -> None:
    prompt = one(router.on_message(incoming(ME, "大家好")))
    forged = f"p:{prompt.prompt_id}:yes"
    result = router.on_button(CHAT, False, account(ME), NAMES[ME], forged)
    assert result == ButtonResult(zh("question_closed"), alert=True)
    assert ledger(archive) == [] and level(archive, ME) is Level.UNKNOWN


def test_a_stale_button_is_answered_in_the_communitys_language(
    router: Router, archive: Archive
) -> None:
    add_riverside(archive)
    result = router.on_button(RIVER_CHAT, False, account(ME), None, "p:999999999:all")
    assert result == ButtonResult(text("en", "question_closed"), alert=True)


def test_the_greetings_answers_are_each_persons_own_and_stay_open(
    router: Router, archive: Archive
) -> None:
    """The greeting carries one-tap answers for everyone: each press answers for the one
    who pressed, never for anyone else, and the question stays open for the next person."""
    greeting = one(router.on_bot_added(CHAT, "阳光花园"))
    assert press(router, ME, greeting, "all") == ButtonResult(zh("consent_set_all"))
    assert press(router, BOB, greeting, "none") == ButtonResult(zh("consent_set_none"))
    assert (level(archive, ME), level(archive, BOB)) == (Level.ALL, Level.NONE)
    assert level(archive, CAROL) is Level.UNKNOWN
    assert ledger(archive) == [
        ("level", "all", "button", "telegram:1"),
        ("level", "none", "button", "telegram:2"),
    ]
    # Matrix answers by reaction on the greeting: the same, for the reacting person only.
    message_id = posted(archive, greeting)
    answered = react(router, CAROL, message_id, "📌")
    assert isinstance(answered, ButtonResult) and answered.close_prompt is False
    assert level(archive, CAROL) is Level.TAGGED and level(archive, BOB) is Level.NONE
    # And nobody's words were kept by a press: only what ME writes from now on.
    assert router.on_message(incoming(BOB, "不要存我的话")) == []
    router.on_message(incoming(ME, "好的，存吧"))
    assert [m.text for m in rows(archive, Message)] == ["好的，存吧"]


def test_a_big_group_is_not_flooded_with_consent_questions(archive: Archive) -> None:
    """Many new voices at once: at most ASK_BURST questions per chat in ASK_WINDOW_S; the
    others are asked when they speak again after the pause (silence stays "unknown")."""
    now = [1000.0]
    router = Router(archive, bot_usernames={"telegram": BOT}, clock=lambda: now[0])
    voices = list(range(100, 100 + ASK_BURST + 4))
    asked = [u for u in voices if router.on_message(incoming(u, "大家好"))]
    assert asked == voices[:ASK_BURST]
    # Not asked, so not marked as asked: after the pause, their next words bring the question.
    now[0] += ASK_WINDOW_S
    later = [u for u in voices if router.on_message(incoming(u, "又来了"))]
    assert later == voices[ASK_BURST : 2 * ASK_BURST]
    assert all(level(archive, u) is Level.UNKNOWN for u in voices)
    assert rows(archive, Message) == []
    # Another chat has its own pace.
    other = ChatRef("telegram", "-1005550002")
    router.on_bot_added(other, "幸福里")
    assert router.on_message(incoming(voices[-1], "你好", chat=other))


# --- /consent ----------------------------------------------------------------------------------


def test_consent_shows_the_current_choice_with_one_tap_answers(
    router: Router, archive: Archive
) -> None:
    say(archive, ME, Level.ALL)
    typed = incoming(ME, "/consent")
    reply = one(router.on_message(typed))
    status = zh("consent_status", level=zh("level_all"), attribution=zh("attribution_anonymous"))
    assert reply.text == status + "\n\n" + zh(
        "consent_prompt", hello=zh("hello_name", name=NAMES[ME])
    )
    assert (reply.reply_to, reply.mention) == (typed.message_id, account(ME))
    assert [b.data.rsplit(":", 1)[1] for b in reply.buttons] == ["all", "tagged", "none"]
    assert press(router, ME, reply, "none").notice == zh("consent_set_none")
    assert level(archive, ME) is Level.NONE


def test_consent_of_someone_new_shows_not_chosen_yet(router: Router) -> None:
    reply = one(router.on_message(incoming(ME, "/consent")))
    assert reply.text.startswith(
        zh("consent_status", level=zh("level_unknown"), attribution=zh("attribution_anonymous"))
    )


@pytest.mark.parametrize(
    ("choice", "field"),
    [
        ("all", "level"),
        ("tagged", "level"),
        ("none", "level"),
        ("named", "attribution"),
        ("anonymous", "attribution"),
    ],
)
def test_consent_sets_a_choice_directly_and_the_same_again_is_unchanged(
    router: Router, archive: Archive, choice: str, field: str
) -> None:
    if choice == "anonymous":
        choose(router, ME, "named")  # anonymous is where everyone starts
    before = len(ledger(archive))
    reply = one(router.on_message(incoming(ME, f"/consent {choice.upper()}")))
    assert reply.text == zh(f"consent_set_{choice}")
    assert ledger(archive)[before:] == [(field, choice, "command", "telegram:1")]
    again = one(router.on_message(incoming(ME, f"/consent {choice}")))
    assert again.text == zh("consent_unchanged", choice=zh(f"{field}_{choice}"))
    assert len(ledger(archive)) == before + 1


@pytest.mark.parametrize(
    ("typed", "choice", "field"),
    [
        ("/consent 全部", "all", "level"),
        ("/consent 全部保存", "all", "level"),
        ("/consent 只存被标记的", "tagged", "level"),
        ("/consent 标记", "tagged", "level"),
        ("/consent 不保存", "none", "level"),
        ("/consent 显示名字", "named", "attribution"),
        ("/consent 匿名", "anonymous", "attribution"),
        ("/consent everything", "all", "level"),
    ],
)
def test_consent_takes_the_choice_in_chinese_words_too(
    router: Router, archive: Archive, typed: str, choice: str, field: str
) -> None:
    if choice == "anonymous":
        choose(router, ME, "named")
    before = len(ledger(archive))
    assert one(router.on_message(incoming(ME, typed))).text == zh(f"consent_set_{choice}")
    assert ledger(archive)[before:] == [(field, choice, "command", "telegram:1")]


@pytest.mark.parametrize(
    "typed", ["/consent bogus", "/consent yes", "/consent unknown", "/consent 可以", "/consent 不"]
)
def test_consent_with_an_unknown_choice_shows_the_usage(
    router: Router, archive: Archive, typed: str
) -> None:
    assert one(router.on_message(incoming(ME, typed))).text == zh("consent_usage")
    assert ledger(archive) == []


@pytest.mark.parametrize(("choice", "stored"), [("all", True), ("tagged", False), ("none", False)])
def test_what_is_stored_follows_the_level(
    router: Router, archive: Archive, choice: str, stored: bool
) -> None:
    choose(router, ME, choice)
    assert router.on_message(incoming(ME, "小区门口的桂花开了，好香")) == []
    assert found(archive, "桂花") == (["小区门口的桂花开了，好香"] if stored else [])
    assert len(rows(archive, Message)) == int(stored)


# --- /keep -------------------------------------------------------------------------------------


def test_keep_on_an_all_authors_message_tags_it_once_per_person(
    router: Router, archive: Archive
) -> None:
    choose(router, BOB, "all")
    lift = incoming(BOB, "三号楼的电梯终于修好了")
    router.on_message(lift)
    keep = incoming(ME, "/keep", reply_to=lift)
    assert one(router.on_message(keep)) == Reply(CHAT, zh("keep_kept"), reply_to=keep.message_id)
    assert one(router.on_message(incoming(ME, "/keep", reply_to=lift))).text == zh("keep_already")
    assert len(rows(archive, Tag)) == 1 and len(rows(archive, Message)) == 1


def test_keep_on_a_tagged_authors_message_stores_it_now_with_the_tag(
    router: Router, archive: Archive
) -> None:
    choose(router, BOB, "tagged")
    lift = incoming(BOB, "三号楼的电梯终于修好了")
    router.on_message(lift)
    assert found(archive, "电梯") == []
    assert one(router.on_message(incoming(ME, "/keep", reply_to=lift))).text == zh("keep_kept")
    assert found(archive, "电梯") == ["三号楼的电梯终于修好了"]
    (made,) = rows(archive, Tag)
    me = person_of(archive, ME)
    assert me is not None
    assert (made.platform_message_id, made.tagger_id, made.method) == (
        lift.message_id,
        me.id,
        "command",
    )


def test_keep_on_an_unknown_authors_message_holds_it_and_asks_the_author(
    router: Router, archive: Archive
) -> None:
    lift = incoming(BOB, "三号楼的电梯终于修好了")
    router.on_message(lift)
    prompt = one(router.on_message(incoming(ME, "/keep", reply_to=lift)))
    assert prompt.text == zh("keep_prompt", name=NAMES[BOB], tagger=NAMES[ME], hours=72)
    assert (prompt.mention, prompt.mention_name, prompt.reply_to) == (
        account(BOB),
        NAMES[BOB],
        lift.message_id,
    )
    assert prompt.prompt_id is not None
    assert [b.data for b in prompt.buttons] == [
        f"p:{prompt.prompt_id}:yes",
        f"p:{prompt.prompt_id}:no",
    ]
    info = get_prompt(archive, prompt.prompt_id)
    assert info is not None and (info.kind, info.subject) == (PromptKind.KEEP, account(BOB))
    assert len(rows(archive, HeldMessage)) == 1
    assert rows(archive, Message) == [] and found(archive, "电梯") == []
    # A second tag adds to the wait; no second prompt.
    waiting = one(router.on_message(incoming(CAROL, "/keep", reply_to=lift)))
    assert waiting.text == zh("keep_waiting") and waiting.buttons == ()
    assert len(rows(archive, Tag)) == 2


def test_keep_on_a_none_authors_message_is_refused_and_nothing_is_stored(
    router: Router, archive: Archive
) -> None:
    choose(router, BOB, "none")
    lift = incoming(BOB, "三号楼的电梯终于修好了")
    router.on_message(lift)
    reply = one(router.on_message(incoming(ME, "/keep 电梯之战", reply_to=lift)))
    assert reply.text == zh("keep_refused") and reply.buttons == ()
    assert rows(archive, Message) == [] and rows(archive, HeldMessage) == []
    assert rows(archive, Tag) == []
    assert one(router.on_message(incoming(ME, "/stories"))).text == zh("stories_none")


def test_keeping_my_own_message_is_a_yes_to_that_message(router: Router, archive: Archive) -> None:
    mine = incoming(ME, "我家猫生了五只小猫，有人想领养吗")
    router.on_message(mine)
    assert one(router.on_message(incoming(ME, "/keep", reply_to=mine))).text == zh("keep_kept")
    assert found(archive, "小猫") == [mine.text]
    assert ledger(archive) == [("message", "yes", "command", "telegram:1")]
    assert level(archive, ME) is Level.UNKNOWN


def test_keep_without_a_reply_shows_a_hint(router: Router, archive: Archive) -> None:
    typed = incoming(ME, "/keep 电梯之战")
    assert one(router.on_message(typed)) == Reply(
        CHAT, zh("keep_needs_reply"), reply_to=typed.message_id
    )
    assert rows(archive, Tag) == []


def test_keep_files_into_a_story_that_stories_and_story_show(
    router: Router, archive: Archive
) -> None:
    assert one(router.on_message(incoming(ME, "/stories"))).text == zh("stories_none")
    choose(router, BOB, "tagged")
    lift = incoming(BOB, "三号楼的电梯终于修好了")
    router.on_message(lift)
    kept = one(router.on_message(incoming(ME, "/keep 电梯之战", reply_to=lift)))
    assert kept.text == zh("keep_kept_story", story="电梯之战")
    stories = one(router.on_message(incoming(CAROL, "/stories")))
    assert stories.text == zh("stories_title") + "\n" + zh("story_line", name="电梯之战", count=1)
    story = one(router.on_message(incoming(CAROL, "/story 电梯之战")))
    line = zh("result_line", date="2025-11-20", author=zh("neighbour"), text=lift.text)
    assert story.text == zh("story_title", name="电梯之战") + "\n" + line
    missing = one(router.on_message(incoming(CAROL, "/story 停车之战")))
    assert missing.text == zh("story_not_found", name="停车之战")
    assert one(router.on_message(incoming(CAROL, "/story"))).text == zh("story_usage")


@pytest.mark.parametrize("hashtag", ["#keep", "#留存", "#记住", "#KEEP", "#Keep!"])
def test_a_reply_with_a_keep_hashtag_tags_like_keep(
    router: Router, archive: Archive, hashtag: str
) -> None:
    choose(router, BOB, "tagged")
    say(archive, ME, Level.TAGGED)
    lift = incoming(BOB, "三号楼的电梯终于修好了")
    router.on_message(lift)
    reply_message = incoming(ME, f"太好了 {hashtag}", reply_to=lift)
    reply = one(router.on_message(reply_message))
    assert reply == Reply(CHAT, zh("keep_kept"), reply_to=reply_message.message_id)
    assert found(archive, "电梯") == [lift.text]
    assert [t.method for t in rows(archive, Tag)] == ["hashtag"]


@pytest.mark.parametrize("text", ["#keeper 哈哈", "##keep", "keep#keep", "#留存款"])
def test_words_that_only_contain_a_hashtag_do_not_tag(
    router: Router, archive: Archive, text: str
) -> None:
    choose(router, BOB, "tagged")
    say(archive, ME, Level.TAGGED)
    lift = incoming(BOB, "三号楼的电梯终于修好了")
    router.on_message(lift)
    assert router.on_message(incoming(ME, text, reply_to=lift)) == []
    assert rows(archive, Tag) == []


def test_a_keep_hashtag_without_a_reply_does_nothing(router: Router, archive: Archive) -> None:
    choose(router, ME, "all")
    assert router.on_message(incoming(ME, "#keep 这个群真好")) == []
    assert rows(archive, Tag) == []
    assert found(archive, "这个") == ["#keep 这个群真好"]  # an ordinary message of an `all`


@pytest.mark.parametrize("typed", ["/keep", "/keep 电梯之战", "记下来 #keep"])
def test_keeping_a_bot_message_does_nothing(router: Router, archive: Archive, typed: str) -> None:
    say(archive, ME, Level.TAGGED)
    replies = router.on_message(incoming(ME, typed, reply_to_id="77", to_bot=True))
    assert replies == []
    assert rows(archive, Tag) == [] and rows(archive, HeldMessage) == []


# --- the keep prompt ---------------------------------------------------------------------------


def held_lift(router: Router, body: str = "三号楼的电梯终于修好了") -> tuple[Incoming, Reply]:
    """Bob (never answered) writes; I keep it: Bob's message is held and Bob is asked."""
    lift = incoming(BOB, body)
    router.on_message(lift)
    return lift, one(router.on_message(incoming(ME, "/keep", reply_to=lift)))


def test_the_author_says_yes_and_the_message_is_kept(router: Router, archive: Archive) -> None:
    lift, prompt = held_lift(router)
    result = press(router, BOB, prompt, "yes")
    assert result == ButtonResult(zh("kept_yes"), close_prompt=True)
    assert found(archive, "电梯") == [lift.text]
    assert rows(archive, HeldMessage) == []
    assert ledger(archive) == [("message", "yes", "button", "telegram:2")]
    assert level(archive, BOB) is Level.UNKNOWN  # a yes to one message, not to everything


def test_the_author_says_no_and_the_held_copy_is_destroyed(
    router: Router, archive: Archive, backend: str
) -> None:
    secret = "我家阳台漏水已经三个月了，物业一直推来推去 zqheldsecret"
    control = "物业今天在东门贴了停水通知 ctlkeepcontrol"
    choose(router, CAROL, "all")
    router.on_message(incoming(CAROL, control))
    _lift, prompt = held_lift(router, secret)
    if backend == "sqlite":
        assert leftovers(archive, [secret]) == [secret]  # the scan sees a held copy
    result = press(router, BOB, prompt, "no")
    assert result == ButtonResult(zh("kept_no"), close_prompt=True)
    assert rows(archive, HeldMessage) == [] and found(archive, "阳台") == []
    assert ledger(archive)[-1] == ("message", "no", "button", "telegram:2")
    if backend == "sqlite":
        assert leftovers(archive, [secret]) == []
        assert b"zqheldsecret" not in archive_bytes(archive)
        assert leftovers(archive, [control]) == [control]


@pytest.mark.parametrize("other", [ME, CAROL])
def test_someone_else_pressing_the_keep_prompt_changes_nothing(
    router: Router, archive: Archive, other: int
) -> None:
    _lift, prompt = held_lift(router)
    for answer in ("yes", "no"):
        assert press(router, other, prompt, answer) == ButtonResult(zh("not_for_you"), alert=True)
    assert len(rows(archive, HeldMessage)) == 1
    assert rows(archive, Message) == [] and ledger(archive) == []


def test_pressing_an_answered_keep_prompt_says_closed(router: Router, archive: Archive) -> None:
    lift, prompt = held_lift(router)
    press(router, BOB, prompt, "yes")
    closed = ButtonResult(zh("question_closed"), alert=True, close_prompt=True)
    for answer in ("yes", "no"):
        assert press(router, BOB, prompt, answer) == closed
    assert found(archive, "电梯") == [lift.text] and len(ledger(archive)) == 1


# --- reactions ---------------------------------------------------------------------------------


def test_the_keep_emoji_keeps_quietly(router: Router, archive: Archive) -> None:
    choose(router, BOB, "tagged")
    lift = incoming(BOB, "三号楼的电梯终于修好了")
    router.on_message(lift)
    assert react(router, ME, lift.message_id, "📌", target=lift) == []
    assert found(archive, "电梯") == [lift.text]
    assert [t.method for t in rows(archive, Tag)] == ["reaction"]
    assert react(router, ME, lift.message_id, "📌", target=lift) == []  # already: still quiet


def test_the_keep_emoji_on_an_unknown_authors_message_asks_the_author(
    router: Router, archive: Archive
) -> None:
    lift = incoming(BOB, "三号楼的电梯终于修好了")
    router.on_message(lift)
    prompt = one(react(router, ME, lift.message_id, "📌", target=lift))
    assert prompt.text == zh("keep_prompt", name=NAMES[BOB], tagger=NAMES[ME], hours=72)
    assert (prompt.mention, prompt.reply_to) == (account(BOB), lift.message_id)
    assert len(prompt.buttons) == 2 and len(rows(archive, HeldMessage)) == 1
    assert found(archive, "电梯") == []


def test_the_keep_emoji_on_a_none_authors_message_is_refused(
    router: Router, archive: Archive
) -> None:
    choose(router, BOB, "none")
    lift = incoming(BOB, "三号楼的电梯终于修好了")
    router.on_message(lift)
    reply = one(react(router, ME, lift.message_id, "📌", target=lift))
    assert reply.text == zh("keep_refused")
    assert rows(archive, Tag) == [] and rows(archive, Message) == []


def test_the_keep_emoji_without_content_asks_for_a_reply_unless_the_message_is_kept(
    router: Router, archive: Archive
) -> None:
    choose(router, BOB, "tagged")
    unseen = incoming(BOB, "三号楼的电梯终于修好了")
    router.on_message(unseen)
    reply = one(react(router, ME, unseen.message_id, "📌"))
    assert reply == Reply(CHAT, zh("keep_unavailable"), reply_to=unseen.message_id)
    assert rows(archive, Tag) == [] and rows(archive, Message) == []
    choose(router, CAROL, "all")
    kept = incoming(CAROL, "今晚七点在花园里放电影")
    router.on_message(kept)
    assert react(router, ME, kept.message_id, "📌") == []
    assert [t.platform_message_id for t in rows(archive, Tag)] == [kept.message_id]


@pytest.mark.parametrize("emoji", ["👍", "❤️", "✅", "❌"])
def test_other_emoji_do_nothing(router: Router, archive: Archive, emoji: str) -> None:
    choose(router, BOB, "tagged")
    lift = incoming(BOB, "三号楼的电梯终于修好了")
    router.on_message(lift)
    assert react(router, ME, lift.message_id, emoji, target=lift) == []
    assert rows(archive, Tag) == [] and rows(archive, Message) == []


def test_a_community_can_choose_its_keep_emoji(router: Router, archive: Archive) -> None:
    ensure_community(archive, replace(SETTINGS, keep_emoji="⭐"))
    choose(router, BOB, "tagged")
    lift = incoming(BOB, "三号楼的电梯终于修好了")
    router.on_message(lift)
    assert react(router, ME, lift.message_id, "📌", target=lift) == []
    assert rows(archive, Tag) == []
    assert react(router, ME, lift.message_id, "⭐", target=lift) == []
    assert found(archive, "电梯") == [lift.text]


def test_on_telegram_the_writing_hand_stands_for_the_keep_emoji(
    router: Router, archive: Archive
) -> None:
    # 📌 is not a Telegram reaction: ✍ (either form) tags there, as the community's 📌 would.
    choose(router, BOB, "tagged")
    lift = incoming(BOB, "三号楼的电梯终于修好了")
    router.on_message(lift)
    assert react(router, ME, lift.message_id, "✍️", target=lift) == []
    assert found(archive, "电梯") == [lift.text]
    assert [t.method for t in rows(archive, Tag)] == ["reaction"]
    prompt = one(router.on_message(incoming(CAROL, "大家好")))
    assert react(router, CAROL, posted(archive, prompt), "✍") == ButtonResult(
        zh("consent_set_tagged"), close_prompt=True
    )
    assert level(archive, CAROL) is Level.TAGGED


def test_the_writing_hand_is_no_tag_where_the_keep_emoji_is_a_telegram_reaction(
    router: Router, archive: Archive
) -> None:
    ensure_community(archive, replace(SETTINGS, keep_emoji="🔥"))
    choose(router, BOB, "tagged")
    lift = incoming(BOB, "三号楼的电梯终于修好了")
    router.on_message(lift)
    assert react(router, ME, lift.message_id, "✍", target=lift) == []
    assert rows(archive, Tag) == []
    assert react(router, ME, lift.message_id, "🔥", target=lift) == []
    assert found(archive, "电梯") == [lift.text]


@pytest.mark.parametrize(("emoji", "chosen"), [("✅", "all"), ("📌", "tagged"), ("❌", "none")])
def test_a_reaction_on_a_consent_prompt_is_an_answer_never_a_tag(
    router: Router, archive: Archive, emoji: str, chosen: str
) -> None:
    prompt = one(router.on_message(incoming(ME, "大家好")))
    bot_message = posted(archive, prompt)
    assert react(router, BOB, bot_message, emoji) == ButtonResult(zh("not_for_you"), alert=True)
    assert level(archive, ME) is Level.UNKNOWN and ledger(archive) == []
    result = react(router, ME, bot_message, emoji)
    assert result == ButtonResult(zh(f"consent_set_{chosen}"), close_prompt=True)
    assert level(archive, ME) is Level(chosen)
    assert ledger(archive) == [("level", chosen, "reaction", "telegram:1")]
    assert rows(archive, Tag) == []
    assert react(router, ME, bot_message, "👍") == []


def test_a_reaction_on_a_keep_prompt_is_an_answer_never_a_tag(
    router: Router, archive: Archive
) -> None:
    lift, prompt = held_lift(router)
    bot_message = posted(archive, prompt)
    assert react(router, BOB, bot_message, "📌") == []  # not an answer here, and not a tag
    assert react(router, ME, bot_message, "✅") == ButtonResult(zh("not_for_you"), alert=True)
    assert len(rows(archive, HeldMessage)) == 1 and ledger(archive) == []
    assert [t.platform_message_id for t in rows(archive, Tag)] == [lift.message_id]
    assert react(router, BOB, bot_message, "✅") == ButtonResult(zh("kept_yes"), close_prompt=True)
    assert found(archive, "电梯") == [lift.text]
    assert ledger(archive) == [("message", "yes", "reaction", "telegram:2")]


def test_a_reaction_no_on_a_keep_prompt_destroys_the_held_copy(
    router: Router, archive: Archive
) -> None:
    _lift, prompt = held_lift(router)
    bot_message = posted(archive, prompt)
    assert react(router, BOB, bot_message, "❌") == ButtonResult(zh("kept_no"), close_prompt=True)
    assert rows(archive, HeldMessage) == [] and rows(archive, Message) == []


def test_a_reaction_in_a_chat_no_community_lists_does_nothing(router: Router) -> None:
    reaction = Reaction(ChatRef("telegram", "-1009"), "5", account(ME), None, "📌")
    assert router.on_reaction(reaction) == []


# --- /unkeep -----------------------------------------------------------------------------------


def test_unkeep_removes_my_tag(router: Router, archive: Archive) -> None:
    choose(router, BOB, "tagged")
    lift = incoming(BOB, "三号楼的电梯终于修好了")
    router.on_message(lift)
    router.on_message(incoming(ME, "/keep", reply_to=lift))
    assert one(router.on_message(incoming(CAROL, "/unkeep", reply_to=lift))).text == zh(
        "unkeep_none"
    )
    assert found(archive, "电梯") == [lift.text]
    done = one(router.on_message(incoming(ME, "/unkeep", reply_to=lift)))
    assert done.text == zh("unkeep_done")
    assert rows(archive, Tag) == []
    assert found(archive, "电梯") == []  # kept only because it was tagged
    assert one(router.on_message(incoming(ME, "/unkeep", reply_to=lift))).text == zh("unkeep_none")


def test_unkeep_without_a_reply_shows_a_hint(router: Router) -> None:
    assert one(router.on_message(incoming(ME, "/unkeep"))).text == zh("unkeep_needs_reply")


# --- /forget -----------------------------------------------------------------------------------


def neighbourhood(router: Router) -> list[Incoming]:
    """Bob and I keep everything; we each wrote about the lift."""
    choose(router, ME, "all")
    choose(router, BOB, "all")
    mine = [incoming(ME, "电梯里的广告太多了"), incoming(ME, "电梯按钮坏了一个")]
    bobs = incoming(BOB, "电梯维修电话是八八八八")
    for said in [*mine, bobs]:
        router.on_message(said)
    return [*mine, bobs]


def test_forget_asks_to_confirm_and_yes_erases_everything_of_mine(
    router: Router, archive: Archive
) -> None:
    _mine, _other, bobs = neighbourhood(router)
    typed = incoming(ME, "/forget")
    confirm = one(router.on_message(typed))
    assert confirm.text == zh("forget_confirm")
    assert (confirm.mention, confirm.reply_to) == (account(ME), typed.message_id)
    assert [b.data.rsplit(":", 1)[1] for b in confirm.buttons] == ["yes", "no"]
    assert confirm.prompt_id is not None
    info = get_prompt(archive, confirm.prompt_id)
    assert info is not None and info.kind is PromptKind.FORGET
    result = press(router, ME, confirm, "yes")
    assert result == ButtonResult(
        zh("forget_done", messages=2, held=0, tags=0, level=zh("level_all")), close_prompt=True
    )
    assert found(archive, "电梯") == [bobs.text]
    assert level(archive, ME) is Level.ALL  # the choice stays; the words are gone
    assert ledger(archive)[-1] == ("erasure", "all", "command", "telegram:1")


def test_forget_confirmed_by_someone_else_erases_nothing(router: Router, archive: Archive) -> None:
    neighbourhood(router)
    confirm = one(router.on_message(incoming(ME, "/forget")))
    assert press(router, BOB, confirm, "yes") == ButtonResult(zh("not_for_you"), alert=True)
    assert len(found(archive, "电梯")) == 3


def test_forget_answered_no_erases_nothing(router: Router, archive: Archive) -> None:
    neighbourhood(router)
    confirm = one(router.on_message(incoming(ME, "/forget")))
    assert press(router, ME, confirm, "no") == ButtonResult(
        zh("forget_cancelled"), close_prompt=True
    )
    assert len(found(archive, "电梯")) == 3
    assert press(router, ME, confirm, "yes") == ButtonResult(
        zh("question_closed"), alert=True, close_prompt=True
    )
    assert len(found(archive, "电梯")) == 3


def test_forget_from_someone_the_archive_never_heard_of(router: Router, archive: Archive) -> None:
    reply = one(router.on_message(incoming(STRANGER, "/forget")))
    assert reply.text == zh("forget_nothing") and reply.buttons == ()
    assert person_of(archive, STRANGER) is None


def test_forget_as_a_reply_erases_that_message_of_mine_only(
    router: Router, archive: Archive
) -> None:
    first, second, bobs = neighbourhood(router)
    done = one(router.on_message(incoming(ME, "/forget", reply_to=first)))
    assert done.text == zh("forget_message_done") and done.buttons == ()
    assert found(archive, "电梯") == [bobs.text, second.text]
    not_mine = one(router.on_message(incoming(ME, "/forget", reply_to=bobs)))
    assert not_mine.text == zh("forget_not_yours")
    unknown = incoming(CAROL, "电梯什么时候修")
    router.on_message(unknown)
    gone = one(router.on_message(incoming(CAROL, "/forget", reply_to=unknown)))
    assert gone.text == zh("forget_not_found")
    again = one(router.on_message(incoming(ME, "/forget", reply_to=first)))
    assert again.text == zh("forget_not_found")
    assert found(archive, "电梯") == [bobs.text, second.text]


# --- /mydata -----------------------------------------------------------------------------------


def test_mydata_is_sent_privately_with_my_counts_only(router: Router, archive: Archive) -> None:
    _first, _second, bobs = neighbourhood(router)
    choose(router, BOB, "named")
    router.on_message(incoming(ME, "/keep", reply_to=bobs))
    typed = incoming(ME, "/mydata")
    private = one(router.on_message(typed))
    assert private.private_to == account(ME) and private.chat == CHAT
    assert private.text == zh(
        "mydata",
        level=zh("level_all"),
        attribution=zh("attribution_anonymous"),
        name=NAMES[ME],
        messages=2,
        versions=0,
        held=0,
        files=0,
        tags=1,
        ledger=1,
    )
    assert NAMES[BOB] not in private.text and "八八八八" not in private.text
    assert private.fallback == Reply(CHAT, zh("mydata_start_first"), reply_to=typed.message_id)
    assert private.confirmation == Reply(CHAT, zh("mydata_sent"), reply_to=typed.message_id)


def test_mydata_of_someone_unknown_says_nothing_is_held(router: Router) -> None:
    private = one(router.on_message(incoming(STRANGER, "/mydata")))
    assert private.text == zh("mydata_nothing") and private.private_to == account(STRANGER)


# --- recall ------------------------------------------------------------------------------------


def test_search_shows_a_few_dated_results_newest_first_from_this_community_only(
    router: Router, archive: Archive
) -> None:
    choose(router, ME, "all")
    choose(router, ME, "named")
    choose(router, BOB, "all")
    for day in range(1, 8):
        author = ME if day % 2 else BOB
        said = incoming(author, f"第{day}天：电梯又停了", sent_at=SENT.replace(day=day))
        router.on_message(said)
    add_community(archive, "other", RIVER_CHAT)
    say(archive, CAROL, Level.ALL, community="other")
    router.on_message(incoming(CAROL, "别的小区的电梯", chat=RIVER_CHAT))
    reply = one(router.on_message(incoming(CAROL, "/search 电梯")))
    lines = reply.text.split("\n")
    assert lines[0] == zh("search_title", query="电梯")
    expected = [
        zh(
            "result_line",
            date=f"2025-11-0{day}",
            author=NAMES[ME] if day % 2 else zh("neighbour"),
            text=f"第{day}天：电梯又停了",
        )
        for day in (7, 6, 5, 4, 3)
    ]
    assert lines[1:] == expected
    assert "别的小区" not in reply.text
    there = one(router.on_message(incoming(CAROL, "/search 电梯", chat=RIVER_CHAT)))
    assert there.text.split("\n")[1:] == [
        zh("result_line", date="2025-11-20", author=zh("neighbour"), text="别的小区的电梯")
    ]


def test_search_without_words_shows_the_usage_and_no_hits_say_so(router: Router) -> None:
    assert one(router.on_message(incoming(ME, "/search"))).text == zh("search_usage")
    assert one(router.on_message(incoming(ME, "/search   "))).text == zh("search_usage")
    none = one(router.on_message(incoming(ME, "/search 游泳池")))
    assert none.text == zh("no_results", query="游泳池")


def test_onthisday_shows_memories_from_earlier_years(router: Router, archive: Archive) -> None:
    choose(router, ME, "all")
    days = {
        "2024-03-15": "两年前的今天，小区第一次办春节联欢",
        "2025-03-15": "一年前的今天，门口的樱花开了",
        "2025-03-16": "樱花开的第二天",
        "2026-03-15": "今天的消息不是回忆",
        "2024-02-29": "闰日那天下了雪",
        "2025-02-28": "二月的最后一天",
    }
    for day, said in days.items():
        sent = datetime.fromisoformat(day).replace(hour=4, tzinfo=UTC)
        router.on_message(incoming(ME, said, sent_at=sent))

    def memories(typed: str) -> list[str]:
        return one(router.on_message(incoming(BOB, typed))).text.split("\n")

    def line(day: str) -> str:
        return zh("result_line", date=day, author=zh("neighbour"), text=days[day])

    assert memories("/onthisday") == [
        zh("on_this_day_title", date="03-15"),
        line("2024-03-15"),
        line("2025-03-15"),
    ]
    assert memories("/onthisday 03-16") == [
        zh("on_this_day_title", date="03-16"),
        line("2025-03-16"),
    ]
    assert memories("/onthisday 3-16") == memories("/onthisday 03-16")
    # 2026 has no 29 February: asked for, it shows the 29 Februaries of earlier leap years.
    assert memories("/onthisday 02-29") == [
        zh("on_this_day_title", date="02-29"),
        line("2024-02-29"),
    ]
    # And 28 February of a common year shows 29 February's memories too.
    assert memories("/onthisday 02-28") == [
        zh("on_this_day_title", date="02-28"),
        line("2024-02-29"),
        line("2025-02-28"),
    ]
    assert memories("/onthisday 07-01") == [zh("no_memories", date="07-01")]


@pytest.mark.parametrize("typed", ["/onthisday 13-40", "/onthisday 02-30", "/onthisday 明天"])
def test_onthisday_with_a_date_that_does_not_exist_shows_the_usage(
    router: Router, typed: str
) -> None:
    assert one(router.on_message(incoming(ME, typed))).text == zh("onthisday_usage")


def test_digest_previews_this_weeks_digest(router: Router, archive: Archive) -> None:
    quiet = one(router.on_message(incoming(ME, "/digest"))).text
    assert quiet.startswith("🌙")  # nothing kept this week yet: the kind quiet note
    choose(router, ME, "all")
    choose(router, BOB, "tagged")
    lift = incoming(BOB, "三号楼的电梯终于修好了", sent_at=datetime.combine(TODAY, time(9), UTC))
    router.on_message(lift)
    router.on_message(incoming(ME, "/keep", reply_to=lift))
    router.on_message(incoming(ME, "谢谢物业", sent_at=datetime.combine(TODAY, time(10), UTC)))
    preview = one(router.on_message(incoming(ME, "/digest"))).text
    assert "2 条消息" in preview and "2 位邻居" in preview
    assert "三号楼的电梯终于修好了" in preview  # the tagged highlight
    assert "王师傅" not in preview and "李阿姨" not in preview  # anonymous: never named


# --- private chats -----------------------------------------------------------------------------


def test_in_a_private_chat_help_consent_mydata_and_forget_work_for_my_community(
    router: Router, archive: Archive
) -> None:
    choose(router, ME, "all")
    router.on_message(incoming(ME, "电梯里的广告太多了"))
    pm = ChatRef("telegram", str(ME))
    help_reply = one(router.on_message(incoming(ME, "/help", private=True)))
    assert (help_reply.chat, help_reply.text) == (pm, zh("help", emoji=TELEGRAM_KEEP))
    shown = one(router.on_message(incoming(ME, "/consent", private=True)))
    assert shown.chat == pm and len(shown.buttons) == 3
    assert shown.prompt_id is not None
    info = get_prompt(archive, shown.prompt_id)
    assert info is not None and info.community_id == COMMUNITY
    assert press(router, BOB, shown, "none", private=True).alert
    assert press(router, ME, shown, "tagged", private=True).notice == zh("consent_set_tagged")
    assert level(archive, ME) is Level.TAGGED
    typed = one(router.on_message(incoming(ME, "/consent all", private=True)))
    assert typed.text == zh("consent_set_all") and level(archive, ME) is Level.ALL
    mydata = one(router.on_message(incoming(ME, "/mydata", private=True)))
    assert mydata.chat == pm and mydata.private_to is None
    assert mydata.text.startswith(zh("mydata", **_mydata_values(messages=1, ledger=3)))
    confirm = one(router.on_message(incoming(ME, "/forget", private=True)))
    assert confirm.text == zh("forget_confirm")
    done = press(router, ME, confirm, "yes", private=True)
    assert done.notice == zh("forget_done", messages=1, held=0, tags=0, level=zh("level_all"))
    assert found(archive, "电梯") == []


def _mydata_values(*, messages: int, ledger: int) -> dict[str, object]:
    return {
        "level": zh("level_all"),
        "attribution": zh("attribution_anonymous"),
        "name": NAMES[ME],
        "messages": messages,
        "versions": 0,
        "files": 0,
        "held": 0,
        "tags": 0,
        "ledger": ledger,
    }


def test_a_private_forget_as_a_reply_still_asks_to_erase_everything(
    router: Router, archive: Archive
) -> None:
    choose(router, ME, "all")
    confirm = one(router.on_message(incoming(ME, "/forget", reply_to_id="5", private=True)))
    assert confirm.text == zh("forget_confirm") and len(confirm.buttons) == 2


@pytest.mark.parametrize(
    "typed", ["/search 电梯", "/keep", "/unkeep", "/stories", "/story 电梯之战", "/digest", "你好"]
)
def test_other_commands_in_a_private_chat_get_no_reply(
    router: Router, archive: Archive, typed: str
) -> None:
    choose(router, ME, "all")
    assert router.on_message(incoming(ME, typed, reply_to_id="5", private=True)) == []
    assert rows(archive, Message) == [] and rows(archive, Tag) == []


def test_in_two_communities_the_bot_asks_which_and_the_id_picks_one(
    router: Router, archive: Archive
) -> None:
    add_riverside(archive)
    choose(router, ME, "all")
    choose(router, ME, "all", chat=RIVER_CHAT)
    for typed in ("/consent", "/consent tagged", "/help", "/mydata", "/forget"):
        ask = one(router.on_message(incoming(ME, typed, private=True)))
        assert ask.buttons == ()
        assert RIVERSIDE in ask.text and COMMUNITY in ask.text
    assert level(archive, ME) is Level.ALL and level(archive, ME, RIVERSIDE) is Level.ALL
    done = one(router.on_message(incoming(ME, f"/consent tagged {RIVERSIDE}", private=True)))
    assert done.text == text("en", "consent_set_tagged")
    assert level(archive, ME, RIVERSIDE) is Level.TAGGED and level(archive, ME) is Level.ALL
    helped = one(router.on_message(incoming(ME, f"/help {COMMUNITY}", private=True)))
    assert helped.text == zh("help", emoji=TELEGRAM_KEEP)


def test_someone_in_no_community_is_told_so_in_private(router: Router, archive: Archive) -> None:
    for typed in ("/help", "/consent all", "/mydata", "/forget"):
        reply = one(router.on_message(incoming(STRANGER, typed, private=True)))
        assert reply.text == text("zh", "private_no_community")
    assert person_of(archive, STRANGER) is None and ledger(archive) == []


# --- the bot joins and leaves; edits and deletions ---------------------------------------------


def test_added_to_a_chat_no_community_lists_the_bot_makes_one_and_says_hello(
    router: Router, archive: Archive
) -> None:
    chat = ChatRef("telegram", "-1005550001")
    greeting = one(router.on_bot_added(chat, "幸福里"))
    assert greeting.chat == chat and greeting.text == text("zh", "greeting", community="幸福里")
    assert [b.data.rsplit(":", 1)[1] for b in greeting.buttons] == ["all", "tagged", "none"]
    assert community_of_chat(archive, chat) == "telegram-1005550001"
    again = one(router.on_bot_added(CHAT, "whatever"))
    assert again.text == zh("greeting")  # a listed chat keeps its community
    assert community_of_chat(archive, CHAT) == COMMUNITY


def test_removed_the_space_is_marked_inactive_and_added_again_active(
    router: Router, archive: Archive
) -> None:
    router.on_bot_removed(CHAT)
    assert [space.active for space in rows(archive, Space)] == [False]
    assert community_of_chat(archive, CHAT) == COMMUNITY  # the archive keeps it
    router.on_bot_added(CHAT, None)
    assert [space.active for space in rows(archive, Space)] == [True]
    router.on_bot_removed(ChatRef("telegram", "-1009"))  # never there: nothing to do


def test_edits_and_deletions_apply_to_kept_messages(router: Router, archive: Archive) -> None:
    choose(router, ME, "all")
    said = incoming(ME, "电梯坏了，大家走楼梯")
    router.on_message(said)
    edited = datetime(2025, 11, 20, 13, 0, tzinfo=UTC)
    router.on_edit(EditEvent(CHAT, said.message_id, account(ME), "电梯修好了", edited))
    assert found(archive, "电梯") == ["电梯修好了"] and found(archive, "楼梯") == []
    assert [v.text for v in rows(archive, MessageVersion)] == [said.text]
    router.on_delete(DeleteEvent(CHAT, said.message_id))
    assert rows(archive, Message) == [] and rows(archive, MessageVersion) == []


def test_edits_and_deletions_of_messages_not_kept_change_nothing(
    router: Router, archive: Archive
) -> None:
    said = incoming(BOB, "电梯坏了")
    router.on_message(said)
    router.on_edit(EditEvent(CHAT, said.message_id, account(BOB), "电梯修好了", SENT))
    router.on_delete(DeleteEvent(CHAT, said.message_id))
    elsewhere = ChatRef("telegram", "-1009")
    router.on_edit(EditEvent(elsewhere, "1", account(BOB), "电梯", SENT))
    router.on_delete(DeleteEvent(elsewhere, "1"))
    assert rows(archive, Message) == [] and ledger(archive) == []
