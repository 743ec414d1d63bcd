"""The Bot API emulator behaves like Telegram, proven with the real python-telegram-bot.

Each test drives the real ``telegram.ext.Application`` (or a real ``telegram.Bot``) over HTTP
against :class:`sandbox.emulator.BotApiEmulator`, so polling, JSON and multipart encoding, error
mapping and handler dispatch are PTB's own.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import struct
import zlib
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from telegram import (
    Bot,
    ChatMemberAdministrator,
    ChatMemberBanned,
    ChatMemberLeft,
    ChatMemberMember,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MessageEntity,
    ReactionTypeEmoji,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    MessageReactionHandler,
    TypeHandler,
    filters,
)

from sandbox.emulator import BotApiEmulator, Chat, User

TOKEN = "123456789:AAEmulatorTokenForTests"
ALLOWED = ["message", "edited_message", "callback_query", "my_chat_member", "message_reaction"]


# --- helpers --------------------------------------------------------------------------------


def png(width: int, height: int) -> bytes:
    """A real PNG image of the given size."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data)
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + b"\xff\x80\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


class Seen:
    """Everything a running bot received, and the polling errors it met."""

    def __init__(self) -> None:
        self.updates: list[Update] = []
        self.errors: list[TelegramError] = []

    async def record(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Handler (group -1): remembers every update."""
        assert isinstance(update, Update)
        self.updates.append(update)

    def texts(self) -> list[str]:
        """Texts of received (non-edited) messages."""
        return [u.message.text for u in self.updates if u.message and u.message.text]

    async def wait_for(self, predicate: Callable[[Update], bool], timeout: float = 5) -> Update:
        """The first received update ``predicate`` accepts, waiting for it."""
        async with asyncio.timeout(timeout):
            while True:
                for update in self.updates:
                    if predicate(update):
                        return update
                await asyncio.sleep(0.01)

    async def wait_for_error(self, kind: type[TelegramError], timeout: float = 5) -> TelegramError:
        """The first polling error of type ``kind``, waiting for it."""
        async with asyncio.timeout(timeout):
            while True:
                for error in self.errors:
                    if isinstance(error, kind):
                        return error
                await asyncio.sleep(0.01)


async def echo_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/echo words: answers with the words and a button."""
    assert update.effective_message is not None
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Keep", callback_data="keep")]])
    await update.effective_message.reply_text(
        " ".join(context.args or []) or "…", reply_markup=keyboard
    )


async def echo_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Plain text that reaches the bot: repeated back."""
    assert update.message is not None and update.message.text is not None
    await update.message.reply_text(f"echo: {update.message.text}")


async def answer_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button press: answered with a short note."""
    assert update.callback_query is not None
    await update.callback_query.answer("noted")


async def ignore(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reactions and membership changes are only recorded."""


def build_app(emu: BotApiEmulator, seen: Seen) -> Application[Any, Any, Any, Any, Any, Any]:
    """The real PTB application against the emulator, with small handlers."""
    app = (
        ApplicationBuilder()
        .token(emu.token)
        .base_url(emu.base_url)
        .base_file_url(emu.base_file_url)
        .build()
    )
    app.add_handler(TypeHandler(Update, seen.record), group=-1)
    app.add_handler(CommandHandler("echo", echo_command))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo_text))
    app.add_handler(CallbackQueryHandler(answer_button))
    app.add_handler(MessageReactionHandler(ignore))
    app.add_handler(ChatMemberHandler(ignore, ChatMemberHandler.MY_CHAT_MEMBER))
    return app


@asynccontextmanager
async def running_bot(
    emu: BotApiEmulator,
    allowed_updates: Sequence[str] | None = ALLOWED,
    seen: Seen | None = None,
) -> AsyncIterator[tuple[Application[Any, Any, Any, Any, Any, Any], Seen]]:
    """Starts polling with the real Application and stops it cleanly."""
    seen = seen or Seen()
    app = build_app(emu, seen)
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(
        allowed_updates=allowed_updates,
        poll_interval=0,
        timeout=dtm.timedelta(seconds=1),
        error_callback=seen.errors.append,
    )
    await emu.wait_until_polling()  # its allowed_updates apply from its first getUpdates on
    try:
        yield app, seen
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


@asynccontextmanager
async def raw_bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    """A real ``telegram.Bot`` against the emulator."""
    async with Bot(emu.token, base_url=emu.base_url, base_file_url=emu.base_file_url) as bot:
        yield bot


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    """A running emulator for the bot @memory_bot."""
    async with BotApiEmulator(bot_username="memory_bot", token=TOKEN) as emulator:
        yield emulator


@pytest.fixture
def people(emu: BotApiEmulator) -> tuple[User, User, Chat]:
    """Alice (the owner) and Bob in the supergroup 阳光花园, without the bot."""
    alice = emu.add_user("Alice", username="alice", language_code="zh")
    bob = emu.add_user("Bob", last_name="Li", language_code="en")
    group = emu.create_group("阳光花园", supergroup=True, members=[alice, bob])
    return alice, bob, group


# --- the bot, its token, its settings -------------------------------------------------------


async def test_get_me_reports_botfather_settings(emu: BotApiEmulator) -> None:
    async with raw_bot(emu) as bot:
        me = await bot.get_me()
    assert me.id == 123456789 and me.is_bot and me.username == "memory_bot"
    assert me.can_join_groups is True
    assert me.can_read_all_group_messages is False  # privacy mode is on by default
    assert me.supports_inline_queries is False


async def test_a_wrong_token_is_unauthorized(emu: BotApiEmulator) -> None:
    wrong = ApplicationBuilder().token("987:Nope").base_url(emu.base_url).build()
    with pytest.raises(InvalidToken) as raised:
        await wrong.initialize()
    assert str(raised.value.__cause__) == "Unauthorized"
    await wrong.bot.shutdown()  # the failed initialize() left the HTTP client open
    assert emu.calls == []  # refused before reaching any method


async def test_json_form_and_query_bodies_are_all_accepted(
    emu: BotApiEmulator, people: tuple[User, User, Chat]
) -> None:
    alice, _, group = people
    emu.add_bot_to_group(group, by=alice)
    url = f"{emu.base_url}{emu.token}"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{url}/sendMessage", json={"chat_id": group.id, "text": "j"}) as r:
            assert r.status == 200 and (await r.json())["result"]["text"] == "j"
        form = {"chat_id": str(group.id), "text": "f"}
        async with http.post(f"{url}/sendmessage", data=form) as r:
            assert r.status == 200 and (await r.json())["result"]["chat"]["id"] == group.id
        async with http.get(f"{url}/getMe") as r:
            assert (await r.json())["result"]["username"] == "memory_bot"
        async with http.get(f"{url}/noSuchMethod") as r:
            assert r.status == 404
            assert await r.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        async with http.post(f"{emu.base_url}abc/getMe") as r:
            assert r.status == 404
    assert [c.params["chat_id"] for c in emu.calls[:2]] == [group.id, group.id]


# --- privacy mode ---------------------------------------------------------------------------


async def test_privacy_mode_delivers_only_commands_replies_mentions_and_service(
    emu: BotApiEmulator, people: tuple[User, User, Chat]
) -> None:
    alice, bob, group = people
    async with running_bot(emu) as (_, seen):
        joined = emu.add_bot_to_group(group, by=alice)
        emu.user_sends(group, alice, "good morning, neighbours")  # not for the bot
        command = emu.user_sends(group, alice, "/echo 你好")
        emu.user_sends(group, bob, "/echo@other_bot hi")  # another bot's command
        emu.user_sends(group, bob, "plain reply to Alice", reply_to=command)
        bot_reply = await emu.wait_for_call(
            "sendMessage", lambda c: c.ok and c.result["text"] == "你好"
        )
        emu.user_sends(
            group, bob, "thanks!", reply_to=group.messages[bot_reply.result["message_id"]]
        )
        emu.user_sends(group, bob, "hey @memory_bot look")
        emu.user_sends(group, bob, "/echo@memory_bot last")
        await seen.wait_for(lambda u: bool(u.message and u.message.text == "/echo@memory_bot last"))
    assert seen.texts() == [
        "/echo 你好",
        "thanks!",
        "hey @memory_bot look",
        "/echo@memory_bot last",
    ]
    service = [u.message for u in seen.updates if u.message and u.message.new_chat_members]
    assert [m.message_id for m in service] == [joined.message_id]
    received_reply = next(
        u.message for u in seen.updates if u.message and u.message.text == "thanks!"
    )
    replied_to = received_reply.reply_to_message  # the bot's message, nested
    assert replied_to is not None and replied_to.from_user is not None
    assert replied_to.from_user.username == "memory_bot"


async def test_an_admin_bot_or_privacy_off_gets_every_message(
    emu: BotApiEmulator, people: tuple[User, User, Chat]
) -> None:
    alice, bob, group = people
    emu.add_bot_to_group(group, by=alice)
    emu.user_sends(group, bob, "hidden")
    emu.promote_bot(group)
    emu.user_sends(group, bob, "seen by an admin")
    emu.demote_bot(group)
    emu.user_sends(group, bob, "hidden again")
    quiet = emu.create_group("楼长群", members=[alice])
    emu.set_privacy_mode(False)
    emu.user_sends(group, bob, "privacy off applies after re-adding only")
    emu.add_bot_to_group(quiet, by=alice)
    emu.user_sends(quiet, alice, "seen: joined with privacy off")
    texts = [u["message"].get("text") for u in emu.pending_updates() if "message" in u]
    assert [t for t in texts if t] == ["seen by an admin", "seen: joined with privacy off"]
    async with raw_bot(emu) as bot:
        assert (await bot.get_me()).can_read_all_group_messages is True


async def test_edits_follow_the_same_rule(
    emu: BotApiEmulator, people: tuple[User, User, Chat]
) -> None:
    alice, _, group = people
    emu.add_bot_to_group(group, by=alice)
    plain = emu.user_sends(group, alice, "plain")
    command = emu.user_sends(group, alice, "/echo one")
    async with running_bot(emu) as (_, seen):
        emu.user_edits(plain, "still plain")
        emu.user_edits(command, "/echo two")
        edit = await seen.wait_for(lambda u: u.edited_message is not None)
        await emu.wait_until_confirmed()
    assert edit.edited_message is not None and edit.edited_message.text == "/echo two"
    assert edit.edited_message.edit_date is not None
    assert [u.edited_message.text for u in seen.updates if u.edited_message] == ["/echo two"]


async def test_history_before_joining_and_deletions_are_never_delivered(
    emu: BotApiEmulator, people: tuple[User, User, Chat]
) -> None:
    alice, bob, group = people
    old = emu.user_sends(group, alice, "/echo before the bot came")
    emu.add_bot_to_group(group, by=alice, admin=True)
    emu.user_edits(old, "/echo edited after it came")  # edits of old messages: not delivered
    fresh = emu.user_sends(group, bob, "after")
    emu.user_deletes(fresh)  # deletions: never delivered
    kinds = [next(k for k in u if k != "update_id") for u in emu.pending_updates()]
    texts = [u["message"].get("text") for u in emu.pending_updates() if "message" in u]
    assert kinds == ["my_chat_member", "message", "message"]
    assert texts == [None, "after"]
    async with raw_bot(emu) as bot:
        with pytest.raises(BadRequest, match="Message to be replied not found"):
            await bot.send_message(group.id, "re", reply_to_message_id=fresh.message_id)
        sent = await bot.send_message(
            group.id, "re", reply_to_message_id=fresh.message_id, allow_sending_without_reply=True
        )
        assert sent.reply_to_message is None
        reply_to_old = await bot.send_message(group.id, "re", reply_to_message_id=old.message_id)
        assert reply_to_old.reply_to_message is not None


# --- updates: allowed_updates, offsets, conflicts --------------------------------------------


async def test_reactions_need_an_admin_bot_and_allowed_updates(
    emu: BotApiEmulator, people: tuple[User, User, Chat]
) -> None:
    alice, bob, group = people
    emu.add_bot_to_group(group, by=alice)
    story = emu.user_sends(group, bob, "/echo the guard caught the thief")
    async with running_bot(emu) as (_, seen):
        emu.user_reacts(alice, story, "👍")  # bot is not an admin: nothing
        emu.promote_bot(group)
        emu.user_reacts(alice, story, "🔥")
        update = await seen.wait_for(lambda u: u.message_reaction is not None)
    reaction = update.message_reaction
    assert reaction is not None and reaction.user is not None and reaction.user.id == alice.id
    assert reaction.old_reaction == (ReactionTypeEmoji("👍"),)
    assert reaction.new_reaction == (ReactionTypeEmoji("🔥"),)
    assert emu.allowed_updates == frozenset(ALLOWED)

    # allowed_updates persists when a poller does not pass it ...
    async with running_bot(emu, allowed_updates=None) as (_, seen):
        emu.user_unreacts(alice, story)
        update = await seen.wait_for(lambda u: u.message_reaction is not None)
        assert update.message_reaction is not None and update.message_reaction.new_reaction == ()
    # ... and an empty list restores the default, which has no reactions.
    async with running_bot(emu, allowed_updates=[]) as (_, seen):
        emu.user_reacts(bob, story, "🎉")
        emu.user_sends(group, bob, "sentinel")
        await seen.wait_for(lambda u: bool(u.message and u.message.text == "sentinel"))
    assert not [u for u in seen.updates if u.message_reaction]
    with pytest.raises(ValueError, match="REACTION_INVALID"):
        emu.user_reacts(alice, story, "📌")  # not one of Telegram's reaction emoji


async def test_unconfirmed_updates_are_redelivered_until_confirmed(
    emu: BotApiEmulator, people: tuple[User, User, Chat]
) -> None:
    alice, _, group = people
    emu.add_bot_to_group(group, by=alice)
    emu.user_sends(group, alice, "/echo first")
    async with raw_bot(emu) as crashed:  # fetches but never confirms, like a crashed bot
        fetched = await crashed.get_updates()
        again = await crashed.get_updates()
    assert [u.update_id for u in fetched] == [u.update_id for u in again] == [1, 2, 3]
    async with running_bot(emu) as (_, seen):
        await seen.wait_for(lambda u: bool(u.message and u.message.text == "/echo first"))
    assert emu.pending_updates() == []  # PTB confirmed them when it stopped
    async with running_bot(emu) as (_, seen):
        emu.user_sends(group, alice, "/echo second")
        await seen.wait_for(lambda u: bool(u.message and u.message.text == "/echo second"))
    assert "/echo first" not in seen.texts()
    async with raw_bot(emu) as bot:
        emu.user_sends(group, alice, "/echo a")
        emu.user_sends(group, alice, "/echo b")
        last = await bot.get_updates(offset=-1)
        assert [u.message.text for u in last if u.message] == ["/echo b"]
        assert [u["message"]["text"] for u in emu.pending_updates()] == ["/echo b"]


async def test_a_second_poller_gets_409_conflict(emu: BotApiEmulator) -> None:
    async with running_bot(emu) as (_, seen):
        async with asyncio.timeout(5):
            while not emu.long_poll_waiting:
                await asyncio.sleep(0.01)
        async with raw_bot(emu) as second:
            with pytest.raises(Conflict) as raised:
                await second.get_updates(timeout=dtm.timedelta(seconds=5))
        first_error = await seen.wait_for_error(Conflict)
    expected = (
        "Conflict: terminated by other getUpdates request; make sure that only one bot "
        "instance is running"
    )
    assert raised.value.message == expected and first_error.message == expected
    conflicts = [c for c in emu.calls if c.method == "getUpdates" and c.error_code == 409]
    assert len(conflicts) >= 2


async def test_long_poll_wakes_as_soon_as_an_update_arrives(
    emu: BotApiEmulator, people: tuple[User, User, Chat]
) -> None:
    alice, _, group = people
    emu.add_bot_to_group(group, by=alice)
    async with raw_bot(emu) as bot:
        first = await bot.get_updates()
        offset = first[-1].update_id + 1
        loop = asyncio.get_running_loop()
        started = loop.time()
        poll = asyncio.create_task(
            bot.get_updates(offset=offset, timeout=dtm.timedelta(seconds=10))
        )
        await asyncio.sleep(0.1)
        emu.user_sends(group, alice, "/echo now")
        updates = await poll
        assert loop.time() - started < 2
        assert [u.message.text for u in updates if u.message] == ["/echo now"]
        assert await bot.get_updates(offset=offset, timeout=dtm.timedelta(seconds=0)) == (
            updates[0],
        )
        empty = await bot.get_updates(
            offset=updates[-1].update_id + 1, timeout=dtm.timedelta(seconds=1)
        )
        assert empty == ()


# --- entities -------------------------------------------------------------------------------


async def test_entity_offsets_are_utf16_code_units(
    emu: BotApiEmulator, people: tuple[User, User, Chat]
) -> None:
    alice, _, group = people
    emu.add_bot_to_group(group, by=alice)
    text = "😀中 /echo@memory_bot hi @memory_bot #留存 https://example.org/x"
    async with running_bot(emu) as (app, seen):
        emu.user_sends(group, alice, text)
        update = await seen.wait_for(lambda u: u.message is not None and u.message.text == text)
        assert update.message is not None
        parsed = update.message.parse_entities()
        sent = await app.bot.send_message(
            group.id, "😀<b>中文</b> &lt;ok&gt;", parse_mode=ParseMode.HTML
        )
    kinds = {entity.type: value for entity, value in parsed.items()}
    assert kinds == {
        MessageEntity.BOT_COMMAND: "/echo@memory_bot",
        MessageEntity.MENTION: "@memory_bot",
        MessageEntity.HASHTAG: "#留存",
        MessageEntity.URL: "https://example.org/x",
    }
    command = next(e for e in update.message.entities if e.type == MessageEntity.BOT_COMMAND)
    assert (command.offset, command.length) == (4, 16)  # 😀 counts 2, 中 counts 1
    assert sent.text == "😀中文 <ok>"
    assert list(sent.parse_entities([MessageEntity.BOLD]).values()) == ["中文"]


# --- callback queries -----------------------------------------------------------------------


async def test_a_callback_query_is_answered_once(
    emu: BotApiEmulator, people: tuple[User, User, Chat]
) -> None:
    alice, bob, group = people
    emu.add_bot_to_group(group, by=alice)
    async with running_bot(emu) as (app, seen):
        emu.user_sends(group, alice, "/echo keep this?")
        sent = await emu.wait_for_call("sendMessage")
        message = group.messages[sent.result["message_id"]]
        query_id = emu.user_presses(bob, message, "keep")
        press = await seen.wait_for(lambda u: u.callback_query is not None)
        await emu.wait_for_call("answerCallbackQuery")
        with pytest.raises(BadRequest, match="Query is too old"):
            await app.bot.answer_callback_query(query_id, text="again")
        with pytest.raises(BadRequest, match="Query is too old"):
            await app.bot.answer_callback_query("12345")
    assert press.callback_query is not None and press.callback_query.data == "keep"
    assert press.callback_query.message is not None
    assert press.callback_query.message.message_id == message.message_id
    assert press.callback_query.from_user.id == bob.id
    assert emu.callback_answer(query_id) == {
        "text": "noted",
        "show_alert": False,
        "url": None,
        "cache_time": 0,
    }
    with pytest.raises(ValueError, match="no button"):
        emu.user_presses(bob, message, "other")


async def test_callback_data_is_at_most_64_bytes(
    emu: BotApiEmulator, people: tuple[User, User, Chat]
) -> None:
    alice, _, group = people
    emu.add_bot_to_group(group, by=alice)

    def keyboard(data: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton("b", callback_data=data)]])

    async with raw_bot(emu) as bot:
        await bot.send_message(group.id, "ok", reply_markup=keyboard("x" * 64))
        for data in ("x" * 65, "中" * 22):  # 66 bytes in UTF-8
            with pytest.raises(BadRequest, match="Button_data_invalid"):
                await bot.send_message(group.id, "too long", reply_markup=keyboard(data))
    assert [m.text for m in emu.bot_messages(group)] == ["ok"]


# --- sendMessage rules ----------------------------------------------------------------------


async def test_text_length_is_counted_in_utf16_after_parsing(
    emu: BotApiEmulator, people: tuple[User, User, Chat]
) -> None:
    alice, _, group = people
    emu.add_bot_to_group(group, by=alice)
    async with raw_bot(emu) as bot:
        await bot.send_message(group.id, "a" * 4096)
        await bot.send_message(group.id, "😀" * 2048)
        await bot.send_message(group.id, "<b>" + "a" * 4096 + "</b>", parse_mode=ParseMode.HTML)
        for text in ("a" * 4097, "😀" * 2049):
            with pytest.raises(BadRequest, match="Message is too long"):
                await bot.send_message(group.id, text)
        with pytest.raises(BadRequest, match="Message text is empty"):
            await bot.send_message(group.id, "  \n ")
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.send_message(-100999, "hello")


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("<div>x</div>", 'Unsupported start tag "div" at byte offset 0'),
        ("中<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ],
)
async def test_bad_html_is_refused_like_telegram(
    emu: BotApiEmulator, people: tuple[User, User, Chat], html: str, reason: str
) -> None:
    alice, _, group = people
    emu.add_bot_to_group(group, by=alice)
    async with raw_bot(emu) as bot:
        with pytest.raises(BadRequest) as raised:
            await bot.send_message(group.id, html, parse_mode=ParseMode.HTML)
    assert raised.value.message == f"Can't parse entities: {reason}".capitalize()
    call = emu.calls[-1]
    assert call.description == f"Bad Request: can't parse entities: {reason}"


async def test_all_telegram_html_tags_are_accepted(
    emu: BotApiEmulator, people: tuple[User, User, Chat]
) -> None:
    alice, _, group = people
    emu.add_bot_to_group(group, by=alice)
    html = (
        "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s>"
        '<strike>k</strike><del>d</del><span class="tg-spoiler">p</span><tg-spoiler>q</tg-spoiler>'
        '<a href="https://example.org">a</a><code>c</code><pre>p</pre>'
        '<pre><code class="language-python">x</code></pre><blockquote>q</blockquote>'
        "<blockquote expandable>x</blockquote>"
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>'
        " &lt;&gt;&amp;&quot;"
    )
    async with raw_bot(emu) as bot:
        sent = await bot.send_message(group.id, html, parse_mode=ParseMode.HTML)
    assert sent.text is not None and sent.text.endswith(' <>&"')
    kinds = [entity.type for entity in sent.entities]
    assert kinds.count(MessageEntity.BOLD) == 2 and kinds.count(MessageEntity.SPOILER) == 2
    assert MessageEntity.EXPANDABLE_BLOCKQUOTE in kinds and MessageEntity.CUSTOM_EMOJI in kinds
    pre = [e for e in sent.entities if e.type == MessageEntity.PRE]
    assert [e.language for e in pre] == [None, "python"]


async def test_private_chats_need_the_user_to_start_the_bot(
    emu: BotApiEmulator, people: tuple[User, User, Chat]
) -> None:
    _, bob, _ = people
    async with running_bot(emu) as (app, seen):
        with pytest.raises(Forbidden, match="bot can't initiate conversation with a user"):
            await app.bot.send_message(bob.id, "hello")
        emu.user_starts_bot(bob, payload="consent")
        await seen.wait_for(lambda u: bool(u.message and u.message.text == "/start consent"))
        await app.bot.send_message(bob.id, "hello")
        emu.user_blocks_bot(bob)
        blocked = await seen.wait_for(lambda u: u.my_chat_member is not None)
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await app.bot.send_message(bob.id, "still there?")
        with pytest.raises(BadRequest, match="Chat not found"):
            await app.bot.send_message(42, "nobody")
    assert blocked.my_chat_member is not None
    assert isinstance(blocked.my_chat_member.new_chat_member, ChatMemberBanned)
    assert [m.text for m in emu.bot_messages(emu.private_chat(bob))] == ["hello"]


async def test_membership_changes_reach_the_bot_as_my_chat_member(
    emu: BotApiEmulator, people: tuple[User, User, Chat]
) -> None:
    alice, _, group = people
    basic = emu.create_group("老年活动室", supergroup=False, members=[alice])
    async with running_bot(emu) as (app, seen):
        emu.add_bot_to_group(group, by=alice)
        emu.promote_bot(group)
        emu.remove_bot(group, by=alice)
        emu.add_bot_to_group(basic, by=alice)
        emu.remove_bot(basic, by=alice)
        await seen.wait_for(
            lambda u: bool(
                u.my_chat_member
                and u.my_chat_member.chat.id == basic.id
                and isinstance(u.my_chat_member.new_chat_member, ChatMemberLeft)
            )
        )
        with pytest.raises(Forbidden, match="bot was kicked from the supergroup chat"):
            await app.bot.send_message(group.id, "hello?")
        with pytest.raises(Forbidden, match="bot is not a member of the group chat"):
            await app.bot.send_message(basic.id, "hello?")
    changes = [u.my_chat_member for u in seen.updates if u.my_chat_member]
    assert [type(c.new_chat_member) for c in changes] == [
        ChatMemberMember,
        ChatMemberAdministrator,
        ChatMemberBanned,
        ChatMemberMember,
        ChatMemberLeft,
    ]
    assert all(c.from_user.id == alice.id for c in changes)
    removal = [u.message for u in seen.updates if u.message and u.message.left_chat_member]
    assert [m.chat.id for m in removal] == [group.id, basic.id]
    assert str(group.id).startswith("-100") and not str(basic.id).startswith("-100")


async def test_send_photo_uploads_the_bytes(
    emu: BotApiEmulator, people: tuple[User, User, Chat]
) -> None:
    alice, _, group = people
    emu.add_bot_to_group(group, by=alice)
    image = png(40, 30)
    async with raw_bot(emu) as bot:
        sent = await bot.send_photo(
            group.id, image, caption="<b>周报</b> 📷", parse_mode=ParseMode.HTML
        )
        assert (sent.photo[-1].width, sent.photo[-1].height) == (40, 30)
        assert sent.caption == "周报 📷" and sent.caption_entities[0].type == MessageEntity.BOLD
        downloaded = await (await bot.get_file(sent.photo[-1].file_id)).download_as_bytearray()
        assert bytes(downloaded) == image
        again = await bot.send_photo(group.id, sent.photo[-1].file_id)
        assert again.photo[-1].file_unique_id == sent.photo[-1].file_unique_id
        with pytest.raises(BadRequest, match="Image_process_failed"):
            await bot.send_photo(group.id, b"not an image at all")
        with pytest.raises(BadRequest, match="Message caption is too long"):
            await bot.send_photo(group.id, image, caption="a" * 1025)
    (message, _) = emu.bot_messages(group)
    assert emu.photo_bytes(message) == image
    upload = next(c for c in emu.calls if c.method == "sendPhoto")
    assert upload.files["photo"] == image


async def test_residents_photos_can_be_downloaded(
    emu: BotApiEmulator, people: tuple[User, User, Chat]
) -> None:
    alice, _, group = people
    emu.add_bot_to_group(group, by=alice, admin=True)
    image = png(8, 8)
    emu.user_sends_photo(group, alice, image, caption="新电梯 #留存")
    async with raw_bot(emu) as bot:
        (update,) = await bot.get_updates(offset=-1)
        assert update.message is not None and update.message.caption == "新电梯 #留存"
        file = await bot.get_file(update.message.photo[-1].file_id)
        assert bytes(await file.download_as_bytearray()) == image


# --- editing, deleting, reacting, commands --------------------------------------------------


async def test_edit_and_delete_follow_telegrams_rules(
    emu: BotApiEmulator, people: tuple[User, User, Chat]
) -> None:
    alice, _, group = people
    emu.add_bot_to_group(group, by=alice)
    theirs = emu.user_sends(group, alice, "/echo mine")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="y")]])
    async with raw_bot(emu) as bot:
        mine = await bot.send_message(group.id, "question", reply_markup=keyboard)
        edited = await bot.edit_message_text("answered", group.id, mine.message_id)
        assert not isinstance(edited, bool)
        assert edited.text == "answered" and edited.reply_markup is None  # keyboard removed
        with pytest.raises(BadRequest, match="Message is not modified"):
            await bot.edit_message_text("answered", group.id, mine.message_id)
        with pytest.raises(BadRequest, match="Message can't be edited"):
            await bot.edit_message_text("hijack", group.id, theirs.message_id)
        with pytest.raises(BadRequest, match="Message can't be deleted"):
            await bot.delete_message(group.id, theirs.message_id)
        assert await bot.delete_message(group.id, mine.message_id) is True
        with pytest.raises(BadRequest, match="Message to delete not found"):
            await bot.delete_message(group.id, mine.message_id)
        with pytest.raises(BadRequest, match="Message to edit not found"):
            await bot.edit_message_text("gone", group.id, mine.message_id)
        emu.promote_bot(group)
        assert await bot.delete_message(group.id, theirs.message_id) is True
    assert emu.bot_messages(group) == []


async def test_chat_queries_commands_and_bot_reactions(
    emu: BotApiEmulator, people: tuple[User, User, Chat]
) -> None:
    alice, bob, group = people
    emu.add_bot_to_group(group, by=alice, admin=True)
    story = emu.user_sends(group, bob, "/echo story")
    async with raw_bot(emu) as bot:
        chat = await bot.get_chat(group.id)
        assert (chat.title, chat.type) == ("阳光花园", "supergroup")
        admins = await bot.get_chat_administrators(group.id)
        assert {a.user.id for a in admins} == {alice.id, emu.bot.id}
        assert isinstance(await bot.get_chat_member(group.id, bob.id), ChatMemberMember)
        assert await bot.get_chat_member_count(group.id) == 3
        assert await bot.set_my_commands([("keep", "保存这条消息"), ("help", "帮助")])
        assert [c.command for c in await bot.get_my_commands()] == ["keep", "help"]
        with pytest.raises(BadRequest, match="Bot_command_invalid"):
            await bot.set_my_commands([("Bad-Name", "x")])
        assert await bot.set_message_reaction(group.id, story.message_id, "👍")
        with pytest.raises(BadRequest, match="Reaction_invalid"):
            await bot.set_message_reaction(group.id, story.message_id, "📌")
        with pytest.raises(BadRequest, match="Message to react not found"):
            await bot.set_message_reaction(group.id, 999, "👍")
        assert await bot.leave_chat(group.id)
        with pytest.raises(Forbidden, match="bot is not a member of the supergroup chat"):
            await bot.get_chat(group.id)
    assert emu.commands() == [
        {"command": "keep", "description": "保存这条消息"},
        {"command": "help", "description": "帮助"},
    ]
    assert story.reactions[emu.bot.id] == [{"type": "emoji", "emoji": "👍"}]
    kinds = [next(k for k in u if k != "update_id") for u in emu.pending_updates()]
    assert kinds[-2:] == ["my_chat_member", "message"]  # the bot hears of its own leaving


async def test_a_webhook_blocks_polling_and_log_out_locks_the_bot(emu: BotApiEmulator) -> None:
    async with raw_bot(emu) as bot:
        assert await bot.set_webhook("https://example.org/hook")
        with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
            await bot.get_updates()
        assert (await bot.get_webhook_info()).url == "https://example.org/hook"
        assert await bot.delete_webhook()
        assert await bot.get_updates() == ()
        assert await bot.log_out()
        with pytest.raises(InvalidToken, match="Unauthorized"):
            await bot.get_me()
    emu.log_in()


# --- injected faults ------------------------------------------------------------------------


async def test_fail_next_answers_like_telegram_and_has_no_effect(
    emu: BotApiEmulator, people: tuple[User, User, Chat], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # PTB 22 warns on int retry_after otherwise
    alice, _, group = people
    emu.add_bot_to_group(group, by=alice)
    emu.fail_next("sendMessage", 429, retry_after=3, times=2)
    async with raw_bot(emu) as bot:
        for _ in range(2):
            with pytest.raises(RetryAfter) as raised:
                await bot.send_message(group.id, "flood")
            assert raised.value.retry_after == dtm.timedelta(seconds=3)
        await bot.send_message(group.id, "through")
        emu.fail_next("sendMessage", 502)
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message(group.id, "gateway")
        emu.fail_next("getChat", 403, description="Forbidden: bot was kicked from the group chat")
        with pytest.raises(Forbidden, match="kicked"):
            await bot.get_chat(group.id)
    assert [m.text for m in emu.bot_messages(group)] == ["through"]
    refused = [c for c in emu.calls if c.method == "sendMessage" and not c.ok]
    assert [c.description for c in refused[:2]] == ["Too Many Requests: retry after 3"] * 2


async def test_a_slow_answer_times_out_although_telegram_did_the_work(
    emu: BotApiEmulator, people: tuple[User, User, Chat]
) -> None:
    alice, _, group = people
    emu.add_bot_to_group(group, by=alice)
    emu.delay_next("sendMessage", 1.0)
    async with raw_bot(emu) as bot:
        with pytest.raises(TimedOut):
            await bot.send_message(group.id, "slow", read_timeout=0.2)
    assert [m.text for m in emu.bot_messages(group)] == ["slow"]  # a retry would duplicate it
    assert emu.calls[-1].method == "sendMessage" and emu.calls[-1].ok


# --- serialisation --------------------------------------------------------------------------

#: Fields Telegram still sends for old clients; PTB keeps them in ``api_kwargs``.
LEGACY_FIELDS = {"new_chat_member", "new_chat_participant", "left_chat_participant"}


def unknown_fields(obj: object) -> set[str]:
    """Fields PTB did not recognise anywhere in a parsed object."""
    found: set[str] = set()
    api_kwargs = getattr(obj, "api_kwargs", None)
    if api_kwargs:
        found |= set(api_kwargs) - LEGACY_FIELDS
    names = {name for cls in type(obj).__mro__ for name in getattr(cls, "__slots__", ())}
    for name in sorted(n for n in names if not n.startswith("_") and n != "api_kwargs"):
        value = getattr(obj, name, None)
        children = value if isinstance(value, tuple) else (value,)
        for child in children:
            if hasattr(child, "api_kwargs"):
                found |= unknown_fields(child)
    return found


async def test_every_update_is_bot_api_json_that_ptb_parses_fully(
    emu: BotApiEmulator, people: tuple[User, User, Chat]
) -> None:
    alice, bob, group = people
    emu.add_bot_to_group(group, by=alice, admin=True)
    emu.add_member(group, emu.add_user("Carol"), by=alice)
    first = emu.user_sends(group, bob, "/echo hi @alice https://example.org")
    async with raw_bot(emu) as bot:
        await bot.get_updates(allowed_updates=[*ALLOWED, "chat_member"])
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Keep", callback_data="keep")]])
        sent = await bot.send_message(group.id, "keep?", reply_markup=keyboard)
        reply = emu.user_sends(group, bob, "yes", reply_to=group.messages[sent.message_id])
        emu.user_edits(first, "/echo edited")
        emu.user_reacts(alice, reply, "👍")
        emu.user_presses(alice, group.messages[sent.message_id], "keep")
        emu.user_sends_photo(group, alice, png(4, 4), caption="看 #留存")
        emu.remove_member(group, bob)
        emu.user_starts_bot(alice)
        updates = await bot.get_updates()
    kinds = {next(k for k in u.to_dict() if k != "update_id") for u in updates}
    assert kinds >= {
        "message",
        "edited_message",
        "message_reaction",
        "callback_query",
        "my_chat_member",
        "chat_member",
    }
    for update in updates:
        assert unknown_fields(update) == set(), update.to_dict()
    replied = next(u.message for u in updates if u.message and u.message.text == "yes")
    assert replied.reply_to_message is not None and replied.reply_to_message.text == "keep?"
    assert replied.reply_to_message.reply_markup is not None
