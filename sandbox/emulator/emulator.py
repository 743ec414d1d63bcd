"""The test-side API: start the emulated Bot API, script residents, inspect what the bot did.

A scripted action does what a Telegram client would let a person do, and raises
``ValueError`` for what a client would not allow (writing in a group one is not in, pressing a
button that does not exist, reacting with an emoji Telegram does not offer). Each action
creates updates for the bot exactly when, and only if, Telegram would.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from aiohttp import web

from sandbox.emulator import rules
from sandbox.emulator.errors import ApiError, error_for_code
from sandbox.emulator.media import check_photo
from sandbox.emulator.model import CallbackQuery, Chat, Member, MemberStatus, Message, User
from sandbox.emulator.polls import answer as answer_poll
from sandbox.emulator.server import BotApiServer, Call, Fault
from sandbox.emulator.state import World
from sandbox.emulator.text import detect_entities, utf16_len


def _accept_all(call: Call) -> bool:
    return True


_FILE_KINDS = ("voice", "audio", "video", "video_note", "document", "animation")


class BotApiEmulator:
    """A Telegram Bot API server on 127.0.0.1 for one bot, with scripted residents.

    Point python-telegram-bot at it with
    ``ApplicationBuilder().token(emu.token).base_url(emu.base_url)
    .base_file_url(emu.base_file_url)``. Scripted actions are plain methods (they take effect
    at once); waiting is explicit (:meth:`wait_for_call`, :meth:`wait_until_confirmed`).

    Args:
        bot_username: the bot's username, without ``@``.
        token: the bot token; its number before ``:`` is the bot's user id.
        bot_name: the bot's display name.
        privacy_mode: BotFather's group privacy setting (on by default, as on Telegram).
        can_join_groups: BotFather's "Allow Groups" setting.
        supports_inline_queries: BotFather's inline mode setting.
        host: the address to listen on.
        port: the port; 0 lets the OS choose.
        clock: the time source for message dates (e.g. a fixed clock for a demo).
        first_update_id: the first ``update_id``.
    """

    def __init__(
        self,
        *,
        bot_username: str = "memory_bot",
        token: str = "123456789:AAEmulatorTokenForTests",
        bot_name: str = "Community Memory",
        privacy_mode: bool = True,
        can_join_groups: bool = True,
        supports_inline_queries: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.time,
        first_update_id: int = 1,
    ) -> None:
        bot_id = int(token.partition(":")[0]) if token.partition(":")[0].isdigit() else 1
        bot = User(id=bot_id, first_name=bot_name, username=bot_username, is_bot=True)
        self._world = World(
            bot=bot,
            privacy_mode=privacy_mode,
            can_join_groups=can_join_groups,
            supports_inline_queries=supports_inline_queries,
            clock=clock,
            first_update_id=first_update_id,
        )
        self._server = BotApiServer(self._world, token)
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None

    # lifecycle --------------------------------------------------------------------------
    async def start(self) -> None:
        """Starts serving on ``host`` (the port is chosen by the OS unless given)."""
        if self._runner is not None:
            raise RuntimeError("the emulator is already running")
        runner = web.AppRunner(self._server.app, handler_cancellation=True, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        self._world.queue.reopen()

    async def stop(self) -> None:
        """Answers waiting long polls and stops serving."""
        if self._runner is None:
            return
        self._world.queue.close()
        runner, self._runner = self._runner, None
        await runner.cleanup()

    async def __aenter__(self) -> BotApiEmulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)`` (PTB appends the token)."""
        return f"http://{self._host}:{self._port}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``ApplicationBuilder().base_file_url(...)``."""
        return f"http://{self._host}:{self._port}/file/bot"

    @property
    def token(self) -> str:
        """The bot token the emulator accepts."""
        return self._server.token

    @property
    def bot(self) -> User:
        """The bot's own user."""
        return self._world.bot

    # world building ---------------------------------------------------------------------
    def add_user(
        self,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        is_premium: bool = False,
    ) -> User:
        """A new Telegram account."""
        return self._world.new_user(
            first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
            is_premium=is_premium,
        )

    def create_group(
        self,
        title: str,
        *,
        supergroup: bool = True,
        members: Iterable[User] = (),
        owner: User | None = None,
        username: str | None = None,
    ) -> Chat:
        """A group the residents already use (the bot is not in it): ``owner`` (default: the
        first member) is its creator. Ids look like Telegram's (``-100…`` for supergroups)."""
        people = list(members)
        creator = owner or (people[0] if people else None)
        if creator is None:
            raise ValueError("a group needs an owner or at least one member")
        chat = self._world.new_group(title, supergroup=supergroup, username=username)
        for user in [creator, *people]:
            self._known(user)
            if user.id not in chat.members:
                status: MemberStatus = "creator" if user is creator else "member"
                chat.members[user.id] = Member(user=user, status=status)
        return chat

    def add_member(self, chat: Chat, user: User, *, by: User | None = None) -> Message:
        """``user`` joins ``chat`` (added by ``by``, or by themself); returns the service
        message."""
        self._known(user)
        current = chat.members.get(user.id)
        if current is not None and current.is_present:
            raise ValueError(f"{user.full_name} is already in {chat.title}")
        if by is not None:
            self._present(chat, by)
        actor = by or user
        old = (current or Member(user=user, status="left")).to_api()
        chat.members[user.id] = Member(user=user, status="member")
        self._world.deliver_member_change(chat, actor, old, chat.members[user.id].to_api())
        message = self._world.post(chat, actor, new_chat_members=[user])
        self._world.deliver_message(message)
        return message

    def remove_member(self, chat: Chat, user: User, *, by: User | None = None) -> Message:
        """``user`` leaves ``chat``, or is removed by ``by`` (banned, in a supergroup)."""
        member = self._present(chat, user)
        actor = by or user
        removed = actor is not user
        status: MemberStatus = "kicked" if removed and chat.type == "supergroup" else "left"
        new = Member(user=user, status=status)
        chat.members[user.id] = new
        self._world.deliver_member_change(chat, actor, member.to_api(), new.to_api())
        message = self._world.post(chat, actor, left_chat_member=user)
        self._world.deliver_message(message)
        return message

    def promote_member(self, chat: Chat, user: User, *, by: User | None = None) -> None:
        """``by`` (default: the owner) makes ``user`` an administrator. As in the emulated
        rights (``can_promote_members`` is off for administrators), only the owner can; an
        administrator bot that asked for ``chat_member`` updates is told."""
        self._change_rank(chat, user, "administrator", by)

    def demote_member(self, chat: Chat, user: User, *, by: User | None = None) -> None:
        """``by`` (default: the owner) makes the administrator ``user`` an ordinary member."""
        self._change_rank(chat, user, "member", by)

    def _change_rank(self, chat: Chat, user: User, status: MemberStatus, by: User | None) -> None:
        member = self._present(chat, user)
        owner = self._owner(chat)
        actor = by or owner
        self._present(chat, actor)
        if actor is not owner:
            raise ValueError(f"only the owner of {chat.title} can promote or demote members")
        if member.status == "creator":
            raise ValueError(f"{user.full_name} owns {chat.title}")
        if member.status == status:
            raise ValueError(f"{user.full_name} is already {status} of {chat.title}")
        old = member.to_api()
        chat.members[user.id] = Member(user=user, status=status, joined_seq=member.joined_seq)
        self._world.deliver_member_change(chat, actor, old, chat.members[user.id].to_api())

    def add_bot_to_group(self, chat: Chat, *, by: User, admin: bool = False) -> Message:
        """``by`` adds the bot (as an administrator if ``admin``). The bot gets
        ``my_chat_member`` and the service message; it never gets earlier messages."""
        if not self._world.can_join_groups:
            raise ValueError("the bot does not allow being added to groups (BotFather)")
        current = self._world.membership(chat)
        if current is not None and current.is_present:
            raise ValueError(f"the bot is already in {chat.title}")
        adder = self._present(chat, by)
        if admin and not adder.is_admin:
            raise ValueError(f"{by.full_name} is not an administrator of {chat.title}")
        self._world.set_bot_status(chat, "administrator" if admin else "member", by)
        message = self._world.post(chat, by, new_chat_members=[self.bot])
        self._world.deliver_message(message)
        return message

    def promote_bot(self, chat: Chat, *, by: User | None = None) -> None:
        """Makes the bot an administrator (it then receives every message)."""
        self._bot_present(chat)
        self._world.set_bot_status(chat, "administrator", by or self._owner(chat))

    def demote_bot(self, chat: Chat, *, by: User | None = None) -> None:
        """Makes the bot an ordinary member again."""
        self._bot_present(chat)
        self._world.set_bot_status(chat, "member", by or self._owner(chat))

    def remove_bot(self, chat: Chat, *, by: User, ban: bool | None = None) -> Message:
        """``by`` removes the bot: ``kicked`` (banned) in a supergroup, ``left`` in a basic
        group, unless ``ban`` says otherwise. The bot is told, then hears nothing more."""
        self._bot_present(chat)
        self._present(chat, by)
        banned = chat.type == "supergroup" if ban is None else ban
        self._world.set_bot_status(chat, "kicked" if banned else "left", by)
        message = self._world.post(chat, by, left_chat_member=self.bot)
        self._world.deliver_message(message)
        return message

    def set_privacy_mode(self, enabled: bool, *, apply_to_existing_groups: bool = False) -> None:
        """BotFather's ``/setprivacy``. As on Telegram, groups the bot is already in keep
        the old setting until the bot is removed and added again, unless
        ``apply_to_existing_groups``."""
        self._world.privacy_mode = enabled
        if apply_to_existing_groups:
            for chat in self._world.chats.values():
                member = self._world.membership(chat)
                if member is not None:
                    member.privacy_mode = enabled

    def private_chat(self, user: User) -> Chat:
        """The private chat between ``user`` and the bot."""
        return self._world.private_chat(self._known(user))

    # residents --------------------------------------------------------------------------
    def user_starts_bot(self, user: User, payload: str | None = None) -> Message:
        """``user`` presses START (or RESTART after blocking): sends ``/start [payload]``."""
        chat = self.private_chat(user)
        if user.blocked_bot:
            user.blocked_bot = False
            kicked = Member(user=self.bot, status="kicked").to_api()
            member = Member(user=self.bot, status="member").to_api()
            self._world.deliver_member_change(chat, user, kicked, member)
        user.started_bot = True
        return self._send(chat, user, f"/start {payload}" if payload else "/start", None)

    def user_blocks_bot(self, user: User) -> None:
        """``user`` blocks the bot: it gets ``my_chat_member`` (``kicked``) and can no longer
        write to them (403 ``bot was blocked by the user``)."""
        if not user.started_bot or user.blocked_bot:
            raise ValueError(f"{user.full_name} has no open chat with the bot")
        user.blocked_bot = True
        chat = self.private_chat(user)
        member = Member(user=self.bot, status="member").to_api()
        kicked = Member(user=self.bot, status="kicked").to_api()
        self._world.deliver_member_change(chat, user, member, kicked)

    def user_sends(
        self, chat: Chat, user: User, text: str, *, reply_to: Message | None = None
    ) -> Message:
        """``user`` writes ``text`` in ``chat``; Telegram adds the entities it detects
        (commands, mentions, hashtags, links), with UTF-16 offsets."""
        if not text.strip():
            raise ValueError("a client cannot send an empty message")
        if utf16_len(text) > rules.MAX_TEXT_LENGTH:
            raise ValueError("a client splits texts over 4096 characters; send parts")
        return self._send(chat, user, text, reply_to)

    def user_sends_photo(
        self,
        chat: Chat,
        user: User,
        image: bytes,
        *,
        caption: str | None = None,
        reply_to: Message | None = None,
    ) -> Message:
        """``user`` sends a photo (PNG, JPEG, GIF or WebP bytes) with an optional caption."""
        self._can_write(chat, user)
        try:
            size = check_photo(image)
        except ApiError as error:
            raise ValueError(f"not a photo Telegram accepts: {error.description}") from None
        stored = self._world.files.add(image, kind="photo", size=size)
        caption = (caption or "").strip()
        if utf16_len(caption) > rules.MAX_CAPTION_LENGTH:
            raise ValueError("a caption is at most 1024 characters")
        message = self._world.post(
            chat,
            user,
            photo=[stored.photo_size()],
            caption=caption or None,
            caption_entities=detect_entities(caption),
            reply_to=self._reply_target(chat, reply_to),
        )
        self._world.deliver_message(message)
        return message

    def user_sends_file(
        self,
        chat: Chat,
        user: User,
        data: bytes,
        kind: str,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        duration: int | None = None,
        caption: str | None = None,
        reply_to: Message | None = None,
    ) -> Message:
        """``user`` sends a file that is not a photo: ``kind`` is the Message field it
        arrives in — ``voice``, ``audio``, ``video``, ``video_note``, ``document`` or
        ``animation``. Files of any size can be sent (a client uploads up to 2 GB); a bot
        may download only those up to 20 MB (``getFile``)."""
        if kind not in _FILE_KINDS:
            raise ValueError(f"{kind!r} is not a file kind the emulator sends")
        self._can_write(chat, user)
        caption = (caption or "").strip()
        if utf16_len(caption) > rules.MAX_CAPTION_LENGTH:
            raise ValueError("a caption is at most 1024 characters")
        stored = self._world.files.add(data, kind=kind, mime_type=mime_type, file_name=file_name)
        file: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(data),
        }
        if kind in ("voice", "audio", "video", "video_note", "animation"):
            file["duration"] = duration or 1
        if kind == "video_note":
            file["length"] = 240
        if kind in ("video", "animation"):
            file["width"], file["height"] = 640, 360
        if kind in ("audio", "document", "video", "animation") and file_name:
            file["file_name"] = file_name
        if mime_type and kind != "video_note":
            file["mime_type"] = mime_type
        message = self._world.post(
            chat,
            user,
            attachment=(kind, file),
            caption=caption or None,
            caption_entities=detect_entities(caption),
            reply_to=self._reply_target(chat, reply_to),
        )
        self._world.deliver_message(message)
        return message

    def user_edits(self, message: Message, text: str) -> Message:
        """The author edits their message; the bot gets ``edited_message`` if it may."""
        author = message.from_user
        if author is None or author.is_bot or message.deleted or message.is_service:
            raise ValueError("only a resident's own, existing message can be edited")
        if not text.strip():
            raise ValueError("a client cannot make a message empty")
        if message.text is not None:
            message.text, message.entities = text, detect_entities(text)
        else:
            message.caption, message.caption_entities = text, detect_entities(text)
        message.edit_date = max(self._world.now(), message.date)
        self._world.deliver_message(message, "edited_message")
        return message

    def user_deletes(self, message: Message) -> None:
        """The message disappears. Bots are never told about deletions."""
        if message.deleted:
            raise ValueError("the message is already deleted")
        message.deleted = True

    def user_reacts(self, user: User, message: Message, *emoji: str) -> None:
        """``user`` sets their reactions on ``message`` to ``emoji`` (replacing earlier ones;
        one reaction for ordinary accounts, three for premium ones). Only emoji Telegram offers
        as reactions are possible (📌 is not one of them)."""
        self._can_read(message.chat, user)
        if message.deleted:
            raise ValueError("the message is deleted")
        new = [{"type": "emoji", "emoji": item} for item in emoji]
        try:
            rules.check_reactions(new, premium=user.is_premium)
        except ApiError as error:
            raise ValueError(
                f"Telegram does not allow this reaction: {error.description}"
            ) from None
        old = message.reactions.get(user.id, [])
        if new:
            message.reactions[user.id] = new
        else:
            message.reactions.pop(user.id, None)
        if old != new:
            self._world.deliver_reaction(message, user, old, new)

    def user_unreacts(self, user: User, message: Message) -> None:
        """``user`` removes their reactions from ``message``."""
        self.user_reacts(user, message)

    def user_presses(self, user: User, message: Message, callback_data: str) -> str:
        """``user`` presses the inline button with ``callback_data`` on the bot's message;
        returns the callback query id the bot must answer."""
        self._can_read(message.chat, user)
        buttons = (message.reply_markup or {}).get("inline_keyboard", [])
        if message.deleted or not any(
            button.get("callback_data") == callback_data for row in buttons for button in row
        ):
            raise ValueError(f"no button with callback_data {callback_data!r} on that message")
        query = CallbackQuery(
            id=self._world.new_query_id(),
            from_user=user,
            message=message,
            data=callback_data,
            chat_instance=str(abs(message.chat.id) * 2654435761 % 10**19),
            date=self._world.now(),
        )
        self._world.callback_queries[query.id] = query
        self._world.queue.push("callback_query", query.to_api())
        return query.id

    def user_answers_poll(self, user: User, message: Message, *option_ids: int) -> None:
        """``user`` answers the bot's poll in ``message`` (no options: takes the answer
        back); the bot gets ``poll_answer`` if the poll is not anonymous."""
        self._can_read(message.chat, user)
        if message.poll is None or message.deleted:
            raise ValueError("that message holds no poll")
        answer_poll(self._world, message.poll, user, list(option_ids))

    # inspection -------------------------------------------------------------------------
    @property
    def calls(self) -> list[Call]:
        """Every Bot API call so far, in order (``getUpdates`` included)."""
        return self._server.log.calls

    def mark(self) -> int:
        """The current position in :attr:`calls`, for ``wait_for_call(after=...)``."""
        return len(self._server.log.calls)

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        *,
        timeout: float = 5.0,
        after: int = 0,
    ) -> Call:
        """The first call of ``method`` (from index ``after`` on) that ``predicate`` accepts,
        waiting for it up to ``timeout`` seconds.

        Raises:
            TimeoutError: no such call came in time (the message lists the last calls).
        """
        return await self._server.log.wait_for(method, predicate or _accept_all, timeout, after)

    def bot_messages(
        self, chat: Chat | None = None, *, include_deleted: bool = False
    ) -> list[Message]:
        """What the bot has sent (in ``chat``, or anywhere), oldest first."""
        chats = [chat] if chat is not None else list(self._world.chats.values())
        found = [
            message
            for each in chats
            for message in each.messages.values()
            if message.from_user is self.bot
            and (include_deleted or not message.deleted)
            and not message.is_service
        ]
        return sorted(found, key=lambda message: message.seq)

    def messages(self, chat: Chat, *, include_deleted: bool = False) -> list[Message]:
        """Everything in ``chat`` (what a member's client shows), oldest first."""
        return [m for m in chat.messages.values() if include_deleted or not m.deleted]

    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates queued for the bot and not yet confirmed, as ``Update`` JSON."""
        return [item.to_api() for item in self._world.queue.pending()]

    async def wait_until_confirmed(self, timeout: float = 5.0) -> None:
        """Waits until the bot has fetched and confirmed every queued update.

        Raises:
            TimeoutError: updates were still pending after ``timeout`` seconds.
        """
        try:
            async with asyncio.timeout(timeout):
                while self._world.queue.pending():
                    await self._world.queue.wait_changed()
        except TimeoutError:
            left = len(self._world.queue.pending())
            raise TimeoutError(f"{left} update(s) still unconfirmed after {timeout} s") from None

    async def wait_until_polling(self, timeout: float = 5.0) -> None:
        """Waits until the bot is long-polling with nothing left to fetch (so its
        ``allowed_updates`` are in force and it has everything queued so far).

        Raises:
            TimeoutError: no long poll was waiting after ``timeout`` seconds.
        """
        try:
            async with asyncio.timeout(timeout):
                while not self._world.queue.long_poll_waiting:
                    await self._world.queue.wait_changed()
        except TimeoutError:
            raise TimeoutError(f"the bot was not long-polling within {timeout} s") from None

    @property
    def allowed_updates(self) -> frozenset[str]:
        """The bot's current ``allowed_updates`` setting."""
        return self._world.queue.allowed

    @property
    def long_poll_waiting(self) -> bool:
        """A ``getUpdates`` long poll is waiting right now."""
        return self._world.queue.long_poll_waiting

    def callback_answer(self, query_id: str) -> dict[str, Any] | None:
        """How the bot answered a button press (``text``, ``show_alert``, ``url``,
        ``cache_time``), or ``None`` if it has not."""
        query = self._world.callback_queries.get(query_id)
        if query is None:
            raise KeyError(query_id)
        return query.answer

    def commands(
        self, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, Any]]:
        """The command list set with ``setMyCommands`` for a scope and language."""
        key = (json.dumps(scope or {"type": "default"}, sort_keys=True), language_code)
        return [dict(command) for command in self._world.commands.get(key, [])]

    def file_bytes(self, file_id: str) -> bytes:
        """The bytes of a stored file."""
        stored = self._world.files.get(file_id)
        if stored is None:
            raise KeyError(file_id)
        return stored.data

    def photo_bytes(self, message: Message) -> bytes:
        """The bytes of a photo message's image."""
        if not message.photo:
            raise ValueError("not a photo message")
        return self.file_bytes(str(message.photo[-1]["file_id"]))

    # faults -----------------------------------------------------------------------------
    def fail_next(
        self,
        method: str,
        error_code: int = 429,
        *,
        retry_after: int = 1,
        times: int = 1,
        description: str | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` fail as Telegram fails them, without effect:
        429 is ``Too Many Requests: retry after N`` with ``parameters.retry_after``; other
        codes get Telegram's usual description unless one is given. Faults queued for one
        method apply in the order they were queued."""
        error = error_for_code(error_code, description, retry_after)
        self._server.add_fault(method, Fault(times=times, error=error))

    def delay_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` take effect at once but are answered only
        after ``seconds`` (longer than the bot's read timeout: it sees ``TimedOut`` although
        Telegram did the work)."""
        self._server.add_fault(method, Fault(times=times, delay=seconds))

    def log_in(self) -> None:
        """Undoes ``logOut`` (calls are accepted again)."""
        self._world.logged_out = False

    # helpers ----------------------------------------------------------------------------
    def _known(self, user: User) -> User:
        if self._world.users.get(user.id) is not user:
            raise ValueError(f"{user.full_name} was not made with add_user()")
        return user

    def _present(self, chat: Chat, user: User) -> Member:
        member = chat.members.get(user.id)
        if member is None or not member.is_present:
            raise ValueError(f"{user.full_name} is not a member of {chat.title}")
        return member

    def _bot_present(self, chat: Chat) -> Member:
        member = self._world.membership(chat)
        if member is None or not member.is_present:
            raise ValueError(f"the bot is not in {chat.title}")
        return member

    def _owner(self, chat: Chat) -> User:
        for member in chat.members.values():
            if member.status == "creator":
                return member.user
        raise ValueError(f"{chat.title} has no owner")

    def _can_read(self, chat: Chat, user: User) -> None:
        if chat.type == "private":
            if chat.user is not user or not user.started_bot:
                raise ValueError(f"{user.full_name} has no chat with the bot")
        else:
            self._present(chat, user)

    def _can_write(self, chat: Chat, user: User) -> None:
        self._can_read(chat, user)
        if chat.type == "private" and user.blocked_bot:
            raise ValueError(f"{user.full_name} blocked the bot; user_starts_bot() restarts it")

    def _reply_target(self, chat: Chat, reply_to: Message | None) -> Message | None:
        if reply_to is not None and (reply_to.chat is not chat or reply_to.deleted):
            raise ValueError("a reply must name an existing message of the same chat")
        return reply_to

    def _send(self, chat: Chat, user: User, text: str, reply_to: Message | None) -> Message:
        self._can_write(chat, user)
        message = self._world.post(
            chat,
            user,
            text=text,
            entities=detect_entities(text),
            reply_to=self._reply_target(chat, reply_to),
        )
        self._world.deliver_message(message)
        return message
