"""The Telegram adapter: python-telegram-bot in, router out.

Telegram updates become ``Incoming`` messages, reactions and button presses for the shared
router; its ``Reply``s become Telegram messages (HTML-escaped, split at 4096 characters, with
inline buttons). Polling is our own loop around ``Bot.get_updates`` so an update is confirmed to
Telegram only after the router has handled it — and so after its row is committed: a crash
never loses an accepted message, and a restart re-delivers at most what was not finished (which
ingestion ignores, being idempotent). An update whose handling failed because the archive was
unreachable is not confirmed either: polling pauses and Telegram delivers it again.

Telegram-specific decisions are documented in ``docs/telegram.md``.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import functools
import html
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Any, TypeVar

from telegram import (
    Bot,
    CallbackQuery,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageReactionUpdated,
    ReactionTypeEmoji,
    ReplyParameters,
    Update,
    User,
)
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
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
    ContextTypes,
    MessageHandler,
    MessageReactionHandler,
    PollAnswerHandler,
    filters,
)
from telegram.request import HTTPXRequest

from archiver.errors import StorageError
from archiver.events import AccountRef, ChatRef, EditEvent, MediaRef, MessageEvent
from archiver.stewards import Appointment, StewardReason
from bot.chat.media_queue import MediaQueue
from bot.chat.messages import (
    ButtonResult,
    FileTooLargeError,
    Incoming,
    PlatformError,
    PollRequest,
    Reaction,
    Reply,
)
from bot.chat.router import Router
from bot.platforms.telegram.errors import mapped

log = logging.getLogger(__name__)

PLATFORM = "telegram"
ALLOWED_UPDATES = (
    "message",
    "edited_message",
    "callback_query",
    "message_reaction",
    "my_chat_member",
    "poll_answer",
)
POLL_TIMEOUT = 30
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_DOWNLOAD = 20 * 1024 * 1024  # the most a bot may download through the Bot API
SEND_ATTEMPTS = 5
RECENT_MESSAGES = 2000
OWN_MESSAGES = 2000
# Waiting for an unreachable archive (or network) before trying again: doubling up to this.
MAX_BACKOFF = 30.0

T = TypeVar("T")


class TelegramAdapter:
    """One bot token's connection: build it, ``await run(stop)``, and it cleans up itself."""

    def __init__(
        self,
        router: Router,
        token: str,
        *,
        base_url: str = "",
        base_file_url: str = "",
        poll_timeout: int = POLL_TIMEOUT,
    ) -> None:
        self.router = router
        self.poll_timeout = poll_timeout
        # One connection suffices for the long poll.
        builder = (
            ApplicationBuilder()
            .token(token)
            .updater(None)
            .request(HTTPXRequest(connection_pool_size=8))
            .get_updates_request(HTTPXRequest(connection_pool_size=1))
        )
        if base_url:
            builder = builder.base_url(base_url)
        if base_file_url:
            builder = builder.base_file_url(base_file_url)
        self.application: Application[Any, Any, Any, Any, Any, Any] = builder.build()
        # Content of recent messages, in memory only, so that a keep reaction (which carries
        # no content on Telegram) can still hold the message for its author's answer.
        self._recent: OrderedDict[tuple[str, str], MessageEvent] = OrderedDict()
        # @username → user id of people seen writing, in memory only (for `propose steward @x`).
        self._usernames: OrderedDict[str, str] = OrderedDict()
        # The bot's own recent messages: a keep reaction on one is not a resident's memory.
        self._own: OrderedDict[tuple[str, str], None] = OrderedDict()
        # Set by the error handler when an update failed for a reason that will pass (the
        # archive was unreachable): the update is then not confirmed, and comes again.
        self._retry_update: BaseException | None = None
        # Set once the bot is connected (``run``): scheduled posts wait for it.
        self.ready = asyncio.Event()
        # Files of kept messages download here, never in the update's own handling.
        self.media = MediaQueue(router, self._fetch_file, self._send_all)
        self._register_handlers()

    @property
    def bot(self) -> Bot:
        """The python-telegram-bot ``Bot``."""
        bot: Bot = self.application.bot
        return bot

    # --- handlers, in the order they are tried -------------------------------------------------

    def _register_handlers(self) -> None:
        app = self.application
        app.add_handler(
            ChatMemberHandler(self._on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER)
        )
        app.add_handler(CallbackQueryHandler(self._on_button))
        app.add_handler(MessageReactionHandler(self._on_reaction))
        app.add_handler(PollAnswerHandler(self._on_poll_answer))
        app.add_handler(MessageHandler(filters.StatusUpdate.NEW_CHAT_MEMBERS, self._on_joined))
        app.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE, self._on_edit))
        app.add_handler(
            MessageHandler(filters.UpdateType.MESSAGE & ~filters.StatusUpdate.ALL, self._on_message)
        )
        app.add_error_handler(self._on_error)

    async def _on_message(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """A message in a group or a private chat."""
        message = update.message
        if message is None or message.from_user is None or message.from_user.is_bot:
            return
        if message.from_user.username:
            self._usernames[message.from_user.username.lower()] = str(message.from_user.id)
            while len(self._usernames) > RECENT_MESSAGES:
                self._usernames.popitem(last=False)
        incoming = self._incoming(message, message.from_user)
        if not incoming.private:
            self._remember(incoming.as_event())
        await self._send_all(await self._call(self.router.on_message, incoming))
        if incoming.private:
            return
        # Offered after the text is settled: the queue fetches only what is kept or held —
        # this message's file, or the replied-to one's if this reply tagged it.
        if incoming.media is not None:
            self.media.offer(incoming.chat, incoming.message_id, incoming.media)
        target = incoming.reply_to
        if target is not None and target.media is not None:
            self.media.offer(target.chat, target.message_id, target.media)

    async def _on_edit(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """An edited message: a new version of a kept one."""
        message = update.edited_message
        if message is None or message.from_user is None or message.chat.type == ChatType.PRIVATE:
            return
        event = EditEvent(
            chat=_chat(message),
            message_id=str(message.message_id),
            editor=_account(message.from_user),
            text=message.text or message.caption or "",
            edited_at=message.edit_date or message.date,
        )
        if (event.chat.chat_id, event.message_id) in self._recent and not message.from_user.is_bot:
            # A later keep reaction must hold the text as it is now, not as first sent.
            self._remember(_event(message, message.from_user))
        await self._call(self.router.on_edit, event)

    async def _on_joined(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """New members: each is asked once (the bot itself is handled by my_chat_member)."""
        message = update.message
        if message is None:
            return
        for member in message.new_chat_members:
            if member.is_bot:
                continue
            replies = await self._call(
                self.router.on_member_joined, _chat(message), _account(member), member.full_name
            )
            await self._send_all(replies)

    async def _on_my_chat_member(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """The bot was added to or removed from a group."""
        change: ChatMemberUpdated | None = update.my_chat_member
        if change is None or change.chat.type == ChatType.PRIVATE:
            return
        chat = ChatRef(PLATFORM, str(change.chat.id))
        was_in = change.old_chat_member.status in _PRESENT
        is_in = change.new_chat_member.status in _PRESENT
        if is_in and not was_in:
            stewards = await self._group_admins(change.chat.id)
            await self._send_all(
                await self._call(self.router.on_bot_added, chat, change.chat.title, stewards)
            )
        elif was_in and not is_in:
            await self._call(self.router.on_bot_removed, chat)

    async def _group_admins(self, chat_id: int) -> list[Appointment]:
        """The group's owner and administrators, people only: its stewards (DESIGN: "its
        admins are its first stewards"). When Telegram cannot say (network trouble, the bot
        removed again meanwhile), none: the bot still joins and greets."""
        try:
            admins = await self._retrying(lambda: self.bot.get_chat_administrators(chat_id))
        except TelegramError as exc:
            log.warning("could not read the administrators of %s: %s", chat_id, exc)
            return []
        return [
            Appointment(_account(admin.user), StewardReason.GROUP_ADMIN)
            for admin in admins
            if not admin.user.is_bot
        ]

    async def _on_button(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """A press on one of the bot's buttons."""
        query: CallbackQuery | None = update.callback_query
        if query is None or query.data is None:
            return
        message = query.message
        private = message is None or message.chat.type == ChatType.PRIVATE
        chat = ChatRef(PLATFORM, str(message.chat.id)) if message else ChatRef(PLATFORM, "")
        result = await self._call(
            self.router.on_button,
            chat,
            private,
            _account(query.from_user),
            query.from_user.full_name,
            query.data,
        )
        try:
            await self._retrying(
                lambda: query.answer(text=result.notice[:200], show_alert=result.alert)
            )
        except BadRequest as exc:
            # Answered already (a press delivered again after a restart) or too old: the
            # press itself was handled, so go on closing the prompt and replying.
            log.info("could not answer button press %s: %s", query.id, exc)
        if result.close_prompt and isinstance(message, Message):
            await self._close_prompt(str(message.chat.id), str(message.message_id))
        await self._send_all(list(result.replies))

    async def _close_prompt(self, chat_id: str, message_id: str) -> None:
        """An answered prompt loses its buttons (``editMessageReplyMarkup`` without a
        keyboard), so it no longer looks answerable. Closing one already closed — its answer
        delivered again, or a second answer — gets Telegram's "message is not modified":
        nothing to do."""
        try:
            await self._retrying(
                lambda: self.bot.edit_message_reply_markup(
                    chat_id=int(chat_id), message_id=int(message_id), reply_markup=None
                )
            )
        except BadRequest as exc:  # not modified (closed already), or gone: nothing to close
            log.info("prompt %s in %s not closed: %s", message_id, chat_id, exc)
        except TelegramError as exc:
            # The answer is in the archive already; the buttons stay until its person's next
            # tap, which changes nothing and closes it then.
            log.warning("could not close prompt %s in %s: %s", message_id, chat_id, exc)

    async def _on_reaction(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """A person's reactions on a message changed (reported only to admin bots): each
        emoji added is a reaction, each one taken away (in ``old_reaction``, not in
        ``new_reaction``) a reaction taken back."""
        change: MessageReactionUpdated | None = update.message_reaction
        if change is None or change.user is None or change.user.is_bot:
            return
        old = {r.emoji for r in change.old_reaction if isinstance(r, ReactionTypeEmoji)}
        new = {r.emoji for r in change.new_reaction if isinstance(r, ReactionTypeEmoji)}
        added = [
            r.emoji
            for r in change.new_reaction
            if isinstance(r, ReactionTypeEmoji) and r.emoji not in old
        ]
        removed = [
            r.emoji
            for r in change.old_reaction
            if isinstance(r, ReactionTypeEmoji) and r.emoji not in new
        ]
        chat = ChatRef(PLATFORM, str(change.chat.id))
        message_id = str(change.message_id)
        if (chat.chat_id, message_id) in self._own and not await self._call(
            self.router.is_prompt, chat, message_id
        ):
            return  # a reaction on one of the bot's own messages that asks nothing
        for emoji in removed:
            # The keep emoji taken back removes that person's tag; on a prompt, nothing.
            await self._call(
                self.router.on_reaction_removed,
                Reaction(chat, message_id, _account(change.user), change.user.full_name, emoji),
            )
        for emoji in added:
            reaction = Reaction(
                chat=chat,
                message_id=str(change.message_id),
                by=_account(change.user),
                by_name=change.user.full_name,
                emoji=emoji,
                target=self._recent.get((chat.chat_id, str(change.message_id))),
            )
            result = await self._call(self.router.on_reaction, reaction)
            if reaction.target is not None and reaction.target.media is not None:
                self.media.offer(chat, message_id, reaction.target.media)  # if it tagged it
            if isinstance(result, ButtonResult):
                # An answer to a prompt by reaction (✍ on a consent question is "only
                # tagged"): Telegram cannot pop up a notice for a reaction, so confirm in the
                # chat; someone else's reaction on the prompt changes nothing and says nothing.
                if not result.alert:
                    await self._send_all([Reply(chat, result.notice, reply_to=message_id)])
                if result.close_prompt:
                    await self._close_prompt(chat.chat_id, message_id)
                await self._send_all(list(result.replies))
            else:
                await self._send_all(result)

    async def _on_poll_answer(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """An answer in a vote's poll (``option_ids`` empty: taken back)."""
        answer = update.poll_answer
        if answer is None or answer.user is None or answer.user.is_bot:
            return  # an anonymous admin answering as the group: nobody to check on the roll
        option = answer.option_ids[0] if answer.option_ids else None
        await self._call(self.router.on_poll_answer, answer.poll_id, _account(answer.user), option)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log every handler error with its traceback; the resident sees nothing broken.
        When the archive could not be reached, the update is kept for another try."""
        if isinstance(context.error, StorageError):
            self._retry_update = context.error
            log.warning("archive unavailable, the update will come again: %s", context.error)
            return
        log.error("error while handling %s", describe(update), exc_info=context.error)

    # --- translating ------------------------------------------------------------------------------

    def _incoming(self, message: Message, sender: User) -> Incoming:
        reply = message.reply_to_message
        reply_event = None
        if reply is not None and reply.from_user is not None and not reply.from_user.is_bot:
            reply_event = _event(reply, reply.from_user)
        return Incoming(
            chat=_chat(message),
            private=message.chat.type == ChatType.PRIVATE,
            message_id=str(message.message_id),
            sender=_account(sender),
            sender_name=sender.full_name,
            text=message.text or message.caption or "",
            sent_at=message.date,
            reply_to_id=str(reply.message_id) if reply is not None else None,
            reply_to=reply_event,
            reply_to_is_bot=bool(
                reply is not None and reply.from_user is not None and reply.from_user.is_bot
            ),
            media_kind=_media_kind(message),
            chat_title=message.chat.title,
            media=_media_ref(message),
            mentions=self._mentions(message),
        )

    def _mentions(self, message: Message) -> tuple[AccountRef, ...]:
        """Who the message mentions: a text mention carries the person; an @username is
        known when the bot has seen that person write (Telegram resolves no usernames for
        bots)."""
        found: list[AccountRef] = []
        for entity, value in message.parse_entities(["text_mention", "mention"]).items():
            if entity.user is not None:
                found.append(_account(entity.user))
            elif value.lstrip("@").lower() in self._usernames:
                found.append(AccountRef(PLATFORM, self._usernames[value.lstrip("@").lower()]))
        return tuple(found)

    def _remember(self, event: MessageEvent) -> None:
        key = (event.chat.chat_id, event.message_id)
        self._recent[key] = event
        self._recent.move_to_end(key)
        while len(self._recent) > RECENT_MESSAGES:
            self._recent.popitem(last=False)

    def _remember_own(self, chat_id: str, message_id: str) -> None:
        self._own[(chat_id, message_id)] = None
        while len(self._own) > OWN_MESSAGES:
            self._own.popitem(last=False)

    # --- sending ------------------------------------------------------------------------------

    async def _send_all(self, replies: Sequence[Reply]) -> None:
        """Answer residents: a reply the chat refused is logged (``send`` did), not raised —
        the update was handled, and the next replies still go."""
        for reply in replies:
            try:
                await self.send(reply)
            except PlatformError as exc:
                log.warning("a reply in %s was not delivered: %s", reply.chat.chat_id, exc)

    async def send(self, reply: Reply) -> None:
        """Deliver one reply; a private one falls back to its group notice when the person
        never started the bot.

        Raises:
            SendRefusedError: the group refused it (403: the bot was removed, and the group is
                marked inactive; 400: e.g. no right to write there).
            PlatformUnavailableError: Telegram could not be reached, after waiting.
        """
        if reply.private_to is not None:
            try:
                await self._send_text(reply.private_to.user_id, reply, private=True)
            except Forbidden:
                if reply.fallback is not None:
                    await self.send(reply.fallback)
                return
            if reply.confirmation is not None:
                await self.send(reply.confirmation)
            return
        try:
            if reply.picture is not None:
                await self._send_picture(reply.chat.chat_id, reply)
            else:
                await self._send_text(reply.chat.chat_id, reply, private=False)
            if reply.poll is not None:
                await self._send_poll(reply.chat, reply.poll)
        except TelegramError as exc:
            if isinstance(exc, Forbidden):
                log.warning("removed from %s: %s", reply.chat.chat_id, exc)
                await self._call(self.router.on_bot_removed, reply.chat)
            raise mapped(exc, reply.chat) from exc

    async def _send_poll(self, chat: ChatRef, poll: PollRequest) -> None:
        """A vote's poll: not anonymous (``poll_answer`` updates say who answered, so the
        roll can be checked — the poll's text says so), one answer, changeable, closed by
        the bot at the vote's deadline (``close_poll``). When Telegram refuses it, there is
        no vote."""
        try:
            sent = await self._retrying(
                functools.partial(
                    self.bot.send_poll,
                    chat_id=int(chat.chat_id),
                    question=poll.question,
                    options=list(poll.options),
                    is_anonymous=False,
                    allows_multiple_answers=False,
                    allows_revoting=True,
                )
            )
        except BadRequest:
            await self._send_all(await self._call(self.router.poll_failed, chat, poll.vote_id))
            raise
        if sent.poll is not None:
            self._remember_own(chat.chat_id, str(sent.message_id))
            await self._call(
                self.router.poll_sent, chat, poll.vote_id, sent.poll.id, str(sent.message_id)
            )

    async def close_poll(self, chat: ChatRef, poll_message_id: str) -> None:
        """Stop a vote's poll (``stopPoll``); one already closed is fine.

        Raises:
            SendRefusedError: the group refused it.
            PlatformUnavailableError: Telegram could not be reached, after waiting.
        """
        try:
            await self._retrying(
                functools.partial(
                    self.bot.stop_poll, chat_id=int(chat.chat_id), message_id=int(poll_message_id)
                )
            )
        except BadRequest as exc:
            if "already been closed" not in exc.message:
                raise mapped(exc, chat) from exc
        except TelegramError as exc:
            raise mapped(exc, chat) from exc

    async def _send_text(self, chat_id: str, reply: Reply, *, private: bool) -> None:
        markup = None
        if reply.buttons:
            markup = InlineKeyboardMarkup(
                [[InlineKeyboardButton(b.label, callback_data=b.data)] for b in reply.buttons]
            )
        chunks = split_text(_with_mention(reply), MAX_TEXT)
        reply_to = None
        if reply.reply_to and not private:
            reply_to = ReplyParameters(int(reply.reply_to), allow_sending_without_reply=True)
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            sent = await self._retrying(
                functools.partial(
                    self.bot.send_message,
                    chat_id=int(chat_id),
                    text=chunk,
                    parse_mode=ParseMode.HTML,
                    reply_parameters=reply_to if index == 0 else None,
                    reply_markup=markup if last else None,
                )
            )
            if not private:
                self._remember_own(chat_id, str(sent.message_id))
            if last and reply.prompt_id is not None:
                await self._call(self.router.prompt_sent, reply.prompt_id, str(sent.message_id))

    async def _send_picture(self, chat_id: str, reply: Reply) -> None:
        """A photo with the text as its caption; what does not fit in a caption (1,024
        characters) follows as messages of its own, cut at a line break."""
        assert reply.picture is not None
        caption, *more = split_text(_with_mention(reply), MAX_CAPTION)
        sent = await self._retrying(
            functools.partial(
                self.bot.send_photo,
                chat_id=int(chat_id),
                photo=reply.picture,
                caption=caption or None,
                parse_mode=ParseMode.HTML,
            )
        )
        self._remember_own(chat_id, str(sent.message_id))
        rest = "\n".join(more)
        for chunk in split_text(rest, MAX_TEXT) if rest else []:
            sent = await self._retrying(
                functools.partial(
                    self.bot.send_message,
                    chat_id=int(chat_id),
                    text=chunk,
                    parse_mode=ParseMode.HTML,
                )
            )
            self._remember_own(chat_id, str(sent.message_id))

    @asynccontextmanager
    async def connected(self) -> AsyncIterator[TelegramAdapter]:
        """The bot ready to send, without polling (``digest --post`` from the command line).

        Raises:
            ConfigError: Telegram refused the token.
        """
        try:
            await self.application.initialize()
        except BaseException as exc:
            await self.bot.shutdown()  # closes the connections and lets initialize() reopen them
            if isinstance(exc, InvalidToken):
                raise mapped(exc) from None
            raise
        try:
            yield self
        finally:
            await self.application.shutdown()

    async def _retrying(self, action: Callable[[], Awaitable[T]]) -> T:
        """Run a Bot API call, waiting out flood control (429) as often as Telegram asks —
        up to SEND_ATTEMPTS — so no reply is dropped for being rate limited."""
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                return await action()
            except RetryAfter as exc:
                if attempt == SEND_ATTEMPTS:
                    raise
                await asyncio.sleep(_seconds(exc))
            except TimedOut:
                if attempt == SEND_ATTEMPTS:
                    raise
                await asyncio.sleep(attempt)
        raise AssertionError("unreachable")

    async def _call(self, function: Callable[..., T], *args: Any) -> T:
        """Run a router or archiver call off the event loop (database work blocks)."""
        return await asyncio.to_thread(function, *args)

    async def _fetch_file(self, ref: MediaRef) -> bytes:
        """A file's bytes by its ``file_id``: ``getFile``, then the download. The Bot API
        hands a bot at most 20 MB (``file is too big``); that becomes ``FileTooLargeError``."""
        try:
            file = await self._retrying(lambda: self.bot.get_file(ref.handle))
            data = await self._retrying(file.download_as_bytearray)
        except BadRequest as exc:
            if "too big" in exc.message.lower():
                raise FileTooLargeError(exc.message, MAX_DOWNLOAD) from None
            raise mapped(exc) from None
        except TelegramError as exc:
            raise mapped(exc) from None
        return bytes(data)

    # --- running ------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set. Each update is handled to the end before the next
        ``get_updates`` confirms it.

        Raises:
            ConfigError: Telegram refused the token.
        """
        try:
            if not await self._start(stop):
                return
            self.media.start()
            try:
                await self._poll(stop)
            finally:
                await self.media.stop()
                await self.application.shutdown()
        except InvalidToken as exc:
            raise mapped(exc) from None

    async def _start(self, stop: asyncio.Event) -> bool:
        """Initialize (PTB asks ``get_me``: the bot's username) and make sure no webhook is
        set, waiting out network trouble (a bot started before the network is up); False
        when stopped meanwhile."""
        backoff = 1.0
        while not stop.is_set():
            try:
                await self.application.initialize()
            except BaseException as exc:
                # Bot.shutdown, not the requests' own: it also clears PTB's "initialized"
                # flag, so the next initialize() opens the connections again. Closing them
                # alone left every later try failing with "HTTPXRequest is not initialized".
                await self.bot.shutdown()
                if not isinstance(exc, TimedOut | NetworkError) or isinstance(exc, BadRequest):
                    raise
                log.warning("telegram: cannot reach the Bot API yet: %s", exc)
                await _sleep_unless(stop, backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            try:
                self.router.bot_usernames[PLATFORM] = self.bot.username or ""
                await self._retrying(lambda: self.bot.delete_webhook(drop_pending_updates=False))
            except BaseException:
                await self.application.shutdown()
                raise
            log.info("telegram: polling as @%s", self.bot.username)
            self.ready.set()
            return True
        return False

    async def _poll(self, stop: asyncio.Event) -> None:
        offset: int | None = None
        backoff = 1.0
        while not stop.is_set():
            try:
                updates = await self._fetch(offset, stop)
            except RetryAfter as exc:
                await _sleep_unless(stop, _seconds(exc))
                continue
            except InvalidToken:
                raise
            except Conflict as exc:
                log.error("another instance polls with this token: %s", exc)
                await _sleep_unless(stop, backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            except (TimedOut, NetworkError) as exc:
                log.warning("polling: %s", exc)
                await _sleep_unless(stop, backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            if updates is None:
                break  # stopping
            failed = False
            for update in updates:
                self._retry_update = None
                await self.application.process_update(update)
                if self._retry_update is not None:
                    failed = True  # not confirmed: the next get_updates starts again from it
                    break
                offset = update.update_id + 1
            if failed:
                await _sleep_unless(stop, backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
            else:
                backoff = 1.0
        if offset is not None:
            await self._confirm(offset)

    async def _fetch(self, offset: int | None, stop: asyncio.Event) -> tuple[Update, ...] | None:
        """One long poll; None when ``stop`` was set first. Never leaves a request behind."""
        fetch = asyncio.ensure_future(
            self.bot.get_updates(
                offset=offset,
                timeout=self.poll_timeout,
                allowed_updates=ALLOWED_UPDATES,
                read_timeout=self.poll_timeout + 10,
            )
        )
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            # Also when this task is cancelled: the HTTP request must end before shutdown.
            for task in (fetch, stopping):
                task.cancel()
            await asyncio.gather(fetch, stopping, return_exceptions=True)
        if fetch.cancelled():
            return None
        return fetch.result()

    async def _confirm(self, offset: int) -> None:
        """Tell Telegram the handled updates need not come again (on a clean stop)."""
        try:
            await self.bot.get_updates(
                offset=offset, timeout=0, limit=1, allowed_updates=ALLOWED_UPDATES
            )
        except TelegramError as exc:
            log.warning("could not confirm the last updates: %s", exc)


_PRESENT = {
    ChatMemberStatus.MEMBER,
    ChatMemberStatus.ADMINISTRATOR,
    ChatMemberStatus.OWNER,
    ChatMemberStatus.RESTRICTED,
}


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    """Sleep, waking early when ``stop`` is set."""
    with suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


def _with_mention(reply: Reply) -> str:
    """The reply as Telegram HTML: escaped, and the addressed person's name (its first
    appearance) linked to them so Telegram notifies them even without a username."""
    body = html.escape(reply.text, quote=False)
    if reply.mention is None or not reply.mention_name or reply.mention.platform != PLATFORM:
        return body
    name = html.escape(reply.mention_name, quote=False)
    if not reply.mention.user_id.isdigit() or name not in body:
        return body
    if utf16_length(body) + 40 > MAX_TEXT:
        return body  # a link must never be cut in two by splitting
    link = f'<a href="tg://user?id={reply.mention.user_id}">{name}</a>'
    return body.replace(name, link, 1)


def _seconds(exc: RetryAfter) -> float:
    value = exc.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


def _chat(message: Message) -> ChatRef:
    return ChatRef(PLATFORM, str(message.chat.id))


def _account(user: User) -> AccountRef:
    return AccountRef(PLATFORM, str(user.id))


def _event(message: Message, author: User) -> MessageEvent:
    return MessageEvent(
        chat=_chat(message),
        message_id=str(message.message_id),
        author=_account(author),
        sent_at=message.date,
        text=message.text or message.caption or "",
        author_name=author.full_name,
        reply_to=(str(message.reply_to_message.message_id) if message.reply_to_message else None),
        media_kind=_media_kind(message),
        media=_media_ref(message),
    )


def _media_kind(message: Message) -> str | None:
    for kind in (
        "photo",
        "video",
        "animation",
        "document",
        "audio",
        "voice",
        "video_note",
        "sticker",
        "location",
        "contact",
        "poll",
    ):
        if getattr(message, kind, None):
            return kind
    return None


def _media_ref(message: Message) -> MediaRef | None:
    """The file to keep with this message, if it has one we keep (stickers, locations, polls
    and contacts are not files of a memory). Photos: the largest size Telegram made. The
    sender's own file name is kept for documents and audio; other kinds have only names
    their app made up."""
    if message.photo:
        largest = message.photo[-1]
        return MediaRef("photo", largest.file_id, size=largest.file_size)
    for kind in ("video", "animation", "audio", "voice", "video_note", "document"):
        file = getattr(message, kind, None)
        if file is None:
            continue
        seconds = getattr(file, "duration", None)
        if isinstance(seconds, dtm.timedelta):
            seconds = seconds.total_seconds()
        return MediaRef(
            kind,
            file.file_id,
            size=file.file_size,
            file_name=getattr(file, "file_name", None) if kind in ("document", "audio") else None,
            mime=getattr(file, "mime_type", None),
            duration=int(seconds) if seconds is not None else None,
        )
    return None


def utf16_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP is two)."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split a long text into pieces of at most ``limit`` UTF-16 units, at line breaks where
    possible, never inside an HTML entity (``&amp;``)."""
    pieces: list[str] = []
    rest = text
    while utf16_length(rest) > limit:
        cut = limit
        while utf16_length(rest[:cut]) > limit:
            cut -= utf16_length(rest[:cut]) - limit
        line = rest.rfind("\n", 0, cut)
        if line > 0:
            cut = line
        else:
            amp = rest.rfind("&", max(0, cut - 8), cut)
            if amp > 0 and ";" not in rest[amp:cut]:
                cut = amp
        pieces.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def describe(update: object) -> str:
    """An update for the log: its ids and kind only. Never its text or anyone's name — the
    sender may not have said yes to being kept, and logs are kept too."""
    if not isinstance(update, Update):
        return type(update).__name__
    parts = [f"update {update.update_id}"]
    kind = next((name for name in Update.ALL_TYPES if getattr(update, name, None)), None)
    if kind:
        parts.append(kind)
    if update.effective_chat is not None:
        parts.append(f"chat {update.effective_chat.id}")
    if update.effective_message is not None:
        parts.append(f"message {update.effective_message.message_id}")
    if update.effective_user is not None:
        parts.append(f"from {update.effective_user.id}")
    return " ".join(parts)
