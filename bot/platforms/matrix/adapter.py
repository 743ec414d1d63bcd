"""The Matrix adapter: matrix-nio in, router out.

Room events become ``Incoming`` messages, edits, redactions, reactions and joins for the shared
router; its ``Reply``s become ``m.notice`` messages (prompts get their ✅/📌/❌ answers as the
bot's own reactions, for residents to tap, and are edited to say how they were answered once
they are). The sync loop is our own, around
``AsyncClient.sync``, so that the sync token is saved in ``matrix.store_dir`` only after every
event of that sync was handled — and so after its row was committed. A restart resumes from the
saved token; a ``limited`` timeline (more happened than one sync carries) is filled by paging
back with ``/messages`` down to the previous token. Ingestion is idempotent on the event id, so
an event handled twice (a crash between commit and saving the token) changes nothing.

Matrix-specific decisions are documented in ``docs/matrix.md``.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from nio import (
    AsyncClient,
    AsyncClientConfig,
    DownloadError,
    EncryptionError,
    ErrorResponse,
    JoinError,
    LoginError,
    MatrixRoom,
    MegolmEvent,
    MessageDirection,
    RoomCreateError,
    RoomGetEventError,
    RoomGetStateError,
    RoomGetStateEventError,
    RoomMessagesError,
    RoomPreset,
    RoomSendError,
    SyncError,
    UploadError,
    WhoamiError,
)
from nio.crypto import ENCRYPTION_ENABLED
from nio.crypto.attachments import decrypt_attachment

from archiver.errors import ConfigError, StorageError
from archiver.events import ChatRef, DeleteEvent, EditEvent, MediaRef, MessageEvent
from archiver.media import sniff_mime
from archiver.reactions import is_keep
from archiver.stewards import Appointment, StewardReason
from bot.app.config import MatrixConfig
from bot.chat.media_queue import MediaQueue
from bot.chat.messages import (
    ButtonResult,
    Incoming,
    PlatformError,
    PlatformUnavailableError,
    PollRequest,
    Reaction,
    Reply,
    SendRefusedError,
)
from bot.chat.router import KEEP_HASHTAG, NO, TAGGED, YES, Router
from bot.platforms.matrix import events as mx
from bot.platforms.matrix.power import room_admins
from bot.platforms.matrix.store import MatrixStore

log = logging.getLogger(__name__)

PLATFORM = mx.PLATFORM
SYNC_TIMEOUT_MS = 30_000
TIMELINE_LIMIT = 50
PAGE_LIMIT = 100
SEND_ATTEMPTS = 5
SEEN_EVENTS = 5000
MAX_BACKOFF = 30.0
ANSWER_EMOJI = {YES, TAGGED, NO}
PICTURE_NAMES = {"image/png": "digest.png", "image/jpeg": "photo.jpg"}

T = TypeVar("T")


class MatrixUnavailableError(PlatformUnavailableError):
    """The homeserver could not be reached or refused a request the sync depends on: the
    sync is tried again from the same token."""


class MatrixAdapter:
    """One Matrix account's connection: build it, ``await run(stop)``, and it cleans up."""

    def __init__(
        self,
        router: Router,
        config: MatrixConfig,
        *,
        sync_timeout_ms: int = SYNC_TIMEOUT_MS,
        timeline_limit: int | None = None,
    ) -> None:
        self.router = router
        self.config = config
        self.user_id = config.user_id
        self.sync_timeout_ms = sync_timeout_ms
        self.sync_filter: dict[str, Any] = {
            "room": {
                "timeline": {"limit": timeline_limit or TIMELINE_LIMIT},
                "state": {"lazy_load_members": True},
                "ephemeral": {"types": []},
            },
            "presence": {"types": []},
        }
        self.store = MatrixStore(config.store_dir, config.user_id)
        self.client: Any = None
        # Event ids handled in this process: a sync tried again skips what it already did.
        self._seen: OrderedDict[str, None] = OrderedDict()
        # Accounts that sent m.notice: bots, by Matrix convention; never answered or kept.
        self._bots: set[str] = set()
        # Set once the first sync is handled: the scheduled posts may go out from then on.
        self.ready = asyncio.Event()
        # Files of kept messages download here, never in the event's own handling.
        self.media = MediaQueue(router, self._fetch_file, self._send_all)

    # --- running ------------------------------------------------------------------------------

    def _make_client(self, *, encryption: bool = True) -> Any:
        """The nio client; end-to-end encryption (keys in ``store_dir``) when vodozemac is
        installed and the device is known (given, or made by a password login)."""
        encrypted = (
            encryption
            and ENCRYPTION_ENABLED
            and bool(self.config.device_id or not self.config.access_token)
        )
        if encrypted:
            Path(self.config.store_dir).mkdir(parents=True, exist_ok=True)
        return AsyncClient(
            self.config.homeserver,
            self.user_id,
            device_id=self.config.device_id,
            store_path=self.config.store_dir,
            config=AsyncClientConfig(
                max_limit_exceeded=0,
                max_timeouts=2,
                request_timeout=20,
                encryption_enabled=encrypted,
                store_sync_tokens=False,
            ),
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Sync until ``stop`` is set. ``ready`` is set once the first sync is handled (the
        scheduled posts wait for it).

        Raises:
            ConfigError: the homeserver refused the access token or the password.
        """
        self.client = self._make_client()
        try:
            if not await self._login(stop):
                return
            self.router.bot_usernames.setdefault(PLATFORM, "")
            log.info("matrix: syncing as %s", self.user_id)
            self.media.start()
            try:
                await self._sync_loop(stop)
            finally:
                await self.media.stop()
        finally:
            await self.client.close()

    @asynccontextmanager
    async def connected(self) -> AsyncIterator[MatrixAdapter]:
        """The bot logged in and ready to send, without syncing (``digest --post`` from the
        command line): one login, no sync loop.

        Raises:
            ConfigError: the homeserver refused the access token or the password.
            MatrixUnavailableError: the homeserver could not be reached.
        """
        # No keys: the running bot owns the device's key store (see docs/matrix.md).
        self.client = self._make_client(encryption=False)
        try:
            stop = asyncio.Event()
            try:
                await self._login(stop, attempts=1)
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise MatrixUnavailableError(
                    f"cannot reach {self.config.homeserver}: {exc}"
                ) from None
            yield self
        finally:
            await self.client.close()

    async def _login(self, stop: asyncio.Event, *, attempts: int = 0) -> bool:
        """Log in (or check the access token), waiting out network trouble (``attempts`` times,
        0 for ever; the last trouble is raised); False when stopped meanwhile."""
        backoff = 1.0
        tried = 0
        while not stop.is_set():
            tried += 1
            try:
                if self.config.access_token:
                    self.client.restore_login(
                        self.user_id, self.config.device_id, self.config.access_token
                    )
                    answer = await self.client.whoami()
                    if isinstance(answer, WhoamiError):
                        _raise_for_credentials(answer, "matrix.access_token")
                        raise MatrixUnavailableError(str(answer))
                    if answer.user_id != self.user_id:
                        raise ConfigError(
                            f"the access token belongs to {answer.user_id}, not {self.user_id}",
                            key="matrix.access_token",
                        )
                else:
                    answer = await self.client.login(
                        self.config.password, device_name="Community Memory"
                    )
                    if isinstance(answer, LoginError):
                        _raise_for_credentials(answer, "matrix.password")
                        raise MatrixUnavailableError(str(answer))
                return True
            except (MatrixUnavailableError, aiohttp.ClientError, TimeoutError) as exc:
                if attempts and tried >= attempts:
                    raise
                log.warning("matrix: cannot reach %s yet: %s", self.config.homeserver, exc)
                await _sleep_unless(stop, backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
        return False

    async def _sync_loop(self, stop: asyncio.Event) -> None:
        backoff = 1.0
        while not stop.is_set():
            since = self.store.next_batch
            try:
                response = await self._fetch(since, stop)
                if response is None:
                    return  # stopping
                if isinstance(response, SyncError):
                    _raise_for_credentials(response, "matrix.access_token")
                    raise MatrixUnavailableError(str(response))
                if since is None:
                    # The first start: from now on. What the rooms said before is not replayed
                    # (people consent to what they write from now on); invites are accepted.
                    await self._handle_invites(response)
                else:
                    await self._handle_sync(response, since)
                await self._maintain_keys()
            except (StorageError, MatrixUnavailableError, aiohttp.ClientError, TimeoutError) as exc:
                # Nothing of this sync is confirmed: it comes again from the same token.
                log.warning("matrix: sync not finished, trying again: %s", exc)
                await _sleep_unless(stop, backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            backoff = 1.0
            self.store.next_batch = response.next_batch
            await asyncio.to_thread(self.store.save)
            self.ready.set()

    async def _fetch(self, since: str | None, stop: asyncio.Event) -> Any:
        """One long-polling sync; None when ``stop`` was set first."""
        sync = asyncio.ensure_future(
            self.client.sync(
                timeout=0 if since is None else self.sync_timeout_ms,
                since=since,
                sync_filter=self.sync_filter,
            )
        )
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({sync, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sync, stopping):
                task.cancel()
            await asyncio.gather(sync, stopping, return_exceptions=True)
        if sync.cancelled():
            return None
        return sync.result()

    # --- one sync -------------------------------------------------------------------------------

    async def _maintain_keys(self) -> None:
        """What nio's own sync loop would do for encryption: upload the device's keys, learn
        the members' devices, claim one-time keys, and send the room keys it has to share."""
        client = self.client
        if not client.olm:
            return
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())
        await client.send_to_device_messages()

    async def _retry_pending(self) -> None:
        """Encrypted events whose keys have arrived since: decrypted and handled now."""
        for event_id, entry in list(self.store.pending.items()):
            room_id, source = entry.get("room_id"), entry.get("event")
            decrypted = self._decrypt(str(room_id), source) if isinstance(source, dict) else None
            if decrypted is None:
                continue
            await self._handle_event(str(room_id), decrypted)
            del self.store.pending[event_id]  # only once handled: a failed sync keeps it

    def _decrypt(self, room_id: str, source: mx.Event) -> mx.Event | None:
        """An ``m.room.encrypted`` event decrypted (its plaintext event), or None while its
        key is missing."""
        if not self.client or not self.client.olm:
            return None
        encrypted = MegolmEvent.from_dict(source)
        if not isinstance(encrypted, MegolmEvent):
            return None
        encrypted.room_id = room_id
        try:
            event = self.client.decrypt_event(encrypted)
        except EncryptionError:
            return None
        if not hasattr(event, "source") or getattr(event, "decrypted", False) is not True:
            return None
        plain: mx.Event = dict(event.source)
        plain.setdefault("room_id", room_id)
        return plain

    async def _handle_sync(self, response: Any, since: str) -> None:
        """Every event of one sync, room by room, in order; invites first, leaves last.
        Encrypted events left over from earlier syncs come first, if their keys came."""
        await self._retry_pending()
        await self._handle_invites(response)
        for room_id, info in response.rooms.join.items():
            await self._handle_timeline(room_id, info.timeline, since)
        for room_id, info in response.rooms.leave.items():
            await self._handle_timeline(room_id, info.timeline, since)
            if not self.store.is_direct(room_id):
                await self._call(self.router.on_bot_removed, mx.chat(room_id))

    async def _handle_timeline(self, room_id: str, timeline: Any, since: str) -> None:
        timeline_events = [event.source for event in timeline.events]
        gap: list[mx.Event] = []
        if timeline.limited and timeline.prev_batch:
            gap = await self._fill_gap(room_id, timeline.prev_batch, since)
        room_events = gap + timeline_events
        # A room the bot has just joined: what was said before it came is not replayed.
        for index in range(len(room_events) - 1, -1, -1):
            if mx.fresh_join(room_events[index], self.user_id):
                room_events = room_events[index + 1 :]
                break
        for event in room_events:
            await self._handle_event(room_id, event)

    async def _fill_gap(self, room_id: str, prev_batch: str, since: str) -> list[mx.Event]:
        """The events between the previous sync and this one's timeline, oldest first:
        paged back with ``/messages`` from the timeline's start down to ``since`` (or to the
        bot's own arrival)."""
        found: list[mx.Event] = []
        start = prev_batch
        while True:
            page = await self.client.room_messages(
                room_id,
                start=start,
                end=since,
                direction=MessageDirection.back,
                limit=PAGE_LIMIT,
            )
            if isinstance(page, RoomMessagesError):
                raise MatrixUnavailableError(f"paging back in {room_id}: {page}")
            chunk = [event.source for event in page.chunk]
            for event in chunk:
                found.append(event)
                if mx.fresh_join(event, self.user_id):
                    return list(reversed(found))
            if not chunk or not page.end or page.end == start:
                break
            start = page.end
        if found:
            log.info("matrix: filled a gap of %d events in %s", len(found), room_id)
        return list(reversed(found))

    async def _handle_invites(self, response: Any) -> None:
        """Accept every invite: a direct chat becomes the person's private room with the bot;
        any other room joins the archive (a community of its own if none lists it)."""
        for room_id, info in response.rooms.invite.items():
            # nio's invite member events keep their content apart (it pops it off the
            # source): put it back, or a direct chat's ``is_direct`` is never seen.
            state = [
                {**event.source, "content": event.content}
                if isinstance(getattr(event, "content", None), dict)
                else event.source
                for event in info.invite_state
            ]
            mine: mx.Event = next(
                (
                    e
                    for e in state
                    if e.get("type") == mx.MEMBER and e.get("state_key") == self.user_id
                ),
                {},
            )
            joined = await self.client.join(room_id)
            if isinstance(joined, JoinError):
                log.warning("matrix: could not join %s: %s", room_id, joined)
                continue
            if mx.content(mine).get("is_direct"):
                self.store.direct[str(mine.get("sender"))] = room_id
                continue
            title = next(
                (
                    mx.content(e).get("name")
                    for e in state
                    if e.get("type") == "m.room.name" and mx.content(e).get("name")
                ),
                None,
            )
            stewards = await self._room_stewards(room_id, mine.get("sender"))
            replies = await self._call(self.router.on_bot_added, mx.chat(room_id), title, stewards)
            await self._send_all(replies)

    async def _room_stewards(self, room_id: str, inviter: object) -> list[Appointment]:
        """The first stewards of a room the bot has just joined: whoever invited it, then
        every joined member with power level >= 50 (not the bot). What the homeserver
        cannot tell now leaves only the inviter: the bot still joins and greets."""
        found: list[Appointment] = []
        if isinstance(inviter, str) and inviter and inviter != self.user_id:
            found.append(Appointment(mx.account(inviter), StewardReason.INVITER))
        try:
            state = await self.client.room_get_state(room_id)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("matrix: could not read the admins of %s: %s", room_id, exc)
            return found
        if isinstance(state, RoomGetStateError):
            log.warning("matrix: could not read the admins of %s: %s", room_id, state)
            return found
        for user_id in room_admins(state.events, exclude=self.user_id):
            found.append(Appointment(mx.account(user_id), StewardReason.ROOM_ADMIN))
        return found

    async def _handle_event(self, room_id: str, event: mx.Event) -> None:
        """One timeline event. Errors from the archive propagate (the sync is tried again);
        any other error is logged with its traceback and the event is skipped."""
        event_id = event.get("event_id")
        if not isinstance(event_id, str) or event_id in self._seen:
            return
        if event.get("type") == mx.ENCRYPTED:
            # Its key has not arrived (nio decrypts what it can while syncing): kept in
            # store_dir, tried again after every sync, and never given to the archive.
            decrypted = self._decrypt(room_id, event)
            if decrypted is None:
                self.store.pending[event_id] = {"room_id": room_id, "event": event}
                return
            event = decrypted
        try:
            await self._dispatch(room_id, event)
        except (StorageError, MatrixUnavailableError):
            raise
        except Exception:
            log.exception("matrix: error while handling %s in %s", event_id, room_id)
        self._seen[event_id] = None
        while len(self._seen) > SEEN_EVENTS:
            self._seen.popitem(last=False)

    async def _dispatch(self, room_id: str, event: mx.Event) -> None:
        sender = event.get("sender")
        if sender == self.user_id or not isinstance(sender, str) or mx.is_redacted(event):
            return
        kind = event.get("type")
        if kind == mx.MESSAGE:
            if mx.content(event).get("msgtype") == mx.NOTICE:
                self._bots.add(sender)  # bots speak in notices; they are not residents
                return
            if sender in self._bots:
                return
            if mx.is_edit(event):
                await self._on_edit(room_id, event)
            else:
                await self._on_message(room_id, event)
        elif kind == mx.REACTION and sender not in self._bots:
            await self._on_reaction(room_id, event)
        elif kind in mx.POLL_RESPONSES and sender not in self._bots:
            found = mx.poll_response(event)
            if found is not None:
                start, option = found
                await self._call(self.router.on_poll_answer, start, mx.account(sender), option)
        elif kind == mx.REDACTION:
            target = mx.redacted_id(event)
            if target is None or self.store.is_direct(room_id):
                return
            tagged = self.store.reactions.get(target)
            if tagged is not None and tagged.get("room_id") == room_id:
                await self._on_reaction_redacted(room_id, target, tagged)
            else:
                await self._call(
                    self.router.on_delete,
                    DeleteEvent(mx.chat(room_id), target, by=mx.account(sender)),
                )
        elif kind == mx.MEMBER and mx.fresh_join(event, str(event.get("state_key"))):
            if self.store.is_direct(room_id) or sender in self._bots:
                return
            member = str(event.get("state_key"))
            name = mx.content(event).get("displayname")
            replies = await self._call(
                self.router.on_member_joined,
                mx.chat(room_id),
                mx.account(member),
                name if isinstance(name, str) else None,
            )
            await self._send_all(replies)

    async def _on_message(self, room_id: str, event: mx.Event) -> None:
        """A message in a room or in a private chat with the bot."""
        sender = str(event["sender"])
        text, media_kind = mx.text_of(event)
        reply_to_id = mx.reply_target(event)
        reply_to: MessageEvent | None = None
        reply_to_is_bot = False
        stripped = text.strip()
        if reply_to_id and (stripped.startswith(("!", "/")) or KEEP_HASHTAG.search(text)):
            # Only a command or a #keep needs the replied-to message's content.
            target = await self._get_event(room_id, reply_to_id)
            if target is not None:
                author = target.get("sender")
                reply_to_is_bot = author == self.user_id or author in self._bots
                if not reply_to_is_bot:
                    reply_to = mx.message_event(room_id, target, self._name(room_id, author))
        incoming = Incoming(
            chat=mx.chat(room_id),
            private=self.store.is_direct(room_id),
            message_id=str(event["event_id"]),
            sender=mx.account(sender),
            sender_name=self._name(room_id, sender),
            text=text,
            sent_at=mx.sent_at(event),
            reply_to_id=reply_to_id,
            reply_to=reply_to,
            reply_to_is_bot=reply_to_is_bot,
            media_kind=media_kind,
            chat_title=self._title(room_id),
            media=mx.media_ref(event),
            mentions=tuple(m for m in mx.mentions(event) if m.user_id != self.user_id),
        )
        await self._send_all(await self._call(self.router.on_message, incoming))
        if incoming.private:
            return
        # After the text is settled: the queue fetches only what is kept or held.
        if incoming.media is not None:
            self.media.offer(incoming.chat, incoming.message_id, incoming.media)
        if reply_to is not None and reply_to.media is not None:
            self.media.offer(reply_to.chat, reply_to.message_id, reply_to.media)

    async def _on_edit(self, room_id: str, event: mx.Event) -> None:
        """An ``m.replace``: a new version of a kept (or held) message — only from its author,
        as Matrix clients also require."""
        target_id = mx.relation(event).get("event_id")
        text = mx.new_text(event)
        if not isinstance(target_id, str) or text is None or self.store.is_direct(room_id):
            return
        original = await self._get_event(room_id, target_id)
        if original is None or original.get("sender") != event.get("sender"):
            return
        await self._call(
            self.router.on_edit,
            EditEvent(
                chat=mx.chat(room_id),
                message_id=target_id,
                editor=mx.account(str(event["sender"])),
                text=text,
                edited_at=mx.sent_at(event),
            ),
        )

    async def _on_reaction(self, room_id: str, event: mx.Event) -> None:
        """A reaction: an answer when on one of the bot's prompts (✅/📌/❌), a tag when it is
        the community's keep emoji, nothing otherwise."""
        found = mx.annotation(event)
        if found is None or self.store.is_direct(room_id):
            return
        target_id, emoji = found
        room = mx.chat(room_id)
        keep = await self._call(self.router.keep_emoji_of, room)
        if keep is None:
            return  # a room no community lists
        emoji = next((e for e in ANSWER_EMOJI if mx.bare(e) == mx.bare(emoji)), emoji)
        on_prompt = await self._call(self.router.is_prompt, room, target_id)
        target: MessageEvent | None = None
        if not on_prompt:
            if not is_keep(PLATFORM, keep, emoji):
                return
            original = await self._get_event(room_id, target_id)
            if original is None:
                return
            author = original.get("sender")
            if author == self.user_id or author in self._bots:
                return  # the bot's own words (or another bot's) are not residents' memory
            target = mx.message_event(room_id, original, self._name(room_id, author))
            if target is None:
                return
        elif emoji not in ANSWER_EMOJI:
            return
        sender = str(event["sender"])
        result = await self._call(
            self.router.on_reaction,
            Reaction(
                chat=room,
                message_id=target_id,
                by=mx.account(sender),
                by_name=self._name(room_id, sender),
                emoji=emoji,
                target=target,
            ),
        )
        if target is not None and target.media is not None:
            self.media.offer(room, target_id, target.media)  # kept or held by this tag?
        if not on_prompt:
            # A keep reaction: remembered, so that its redaction (which names only this
            # event) can take its tag back.
            self.store.remember_reaction(str(event["event_id"]), room_id, target_id, sender, emoji)
        if isinstance(result, ButtonResult):
            # An answer: confirmed in the room, and the prompt closed. Someone else's reaction
            # on the prompt changes nothing and says nothing; the prompt stays open.
            if not result.alert:
                await self._send_all([Reply(room, result.notice, reply_to=target_id)])
            if result.close_prompt:
                await self._close_prompt(room_id, target_id)
            await self._send_all(list(result.replies))
        else:
            await self._send_all(result)

    async def _on_reaction_redacted(
        self, room_id: str, reaction_id: str, tagged: dict[str, str]
    ) -> None:
        """A keep reaction was redacted (by its sender or a moderator): the tag it made is
        taken back, as its sender's ``unkeep`` would."""
        await self._call(
            self.router.on_reaction_removed,
            Reaction(
                chat=mx.chat(room_id),
                message_id=tagged.get("message_id", ""),
                by=mx.account(tagged.get("sender", "")),
                by_name=None,
                emoji=tagged.get("emoji", ""),
            ),
        )
        self.store.forget_reaction(reaction_id)

    async def _close_prompt(self, room_id: str, prompt_id: str) -> None:
        """Edit an answered prompt's notice (``m.replace``) so that it says how it was
        answered instead of offering answers. Once only: a notice the homeserver already
        shows edited was closed before (its answer came again after a restart, or a second
        answer came)."""
        note = await self._call(self.router.closed_prompt_text, mx.chat(room_id), prompt_id)
        if note is None:
            return
        raw = await self._fetch_event(room_id, prompt_id)
        if raw is not None and mx.replaced(raw):
            return
        original = raw
        if raw is not None and raw.get("type") == mx.ENCRYPTED:
            original = self._decrypt(room_id, raw)
        try:
            await self._send_event(
                room_id, mx.MESSAGE, mx.closed_prompt_content(prompt_id, original, note)
            )
        except SendRefusedError as exc:
            log.warning("matrix: could not close prompt %s: %s", prompt_id, exc)

    # --- reading --------------------------------------------------------------------------------

    async def _get_event(self, room_id: str, event_id: str) -> mx.Event | None:
        """One event of the room as the server has it (edits bundled), decrypted, or None."""
        source = await self._fetch_event(room_id, event_id)
        if source is not None and source.get("type") == mx.ENCRYPTED:
            return self._decrypt(room_id, source)
        return source

    async def _fetch_event(self, room_id: str, event_id: str) -> mx.Event | None:
        """One event of the room exactly as the server has it (still encrypted, with its
        bundled relations in ``unsigned``), or None."""
        answer = await self.client.room_get_event(room_id, event_id)
        if isinstance(answer, RoomGetEventError):
            if answer.status_code in ("M_NOT_FOUND", "M_FORBIDDEN"):
                return None
            raise MatrixUnavailableError(f"fetching {event_id}: {answer}")
        source: mx.Event = answer.event.source
        return source

    def _name(self, room_id: str, user_id: object) -> str | None:
        room = self.client.rooms.get(room_id) if self.client else None
        if room is None or not isinstance(user_id, str):
            return None
        name: str | None = room.user_name(user_id)
        return name if name and name != user_id else None

    def _title(self, room_id: str) -> str | None:
        room = self.client.rooms.get(room_id) if self.client else None
        name = room.name if room is not None else None
        return name if isinstance(name, str) and name else None

    # --- sending --------------------------------------------------------------------------------

    async def _send_all(self, replies: Sequence[Reply]) -> None:
        """Answer residents: a reply the room refused, or that could not be sent, is logged
        and not raised — the event was handled, and the next replies still go."""
        for reply in replies:
            try:
                await self.send(reply)
            except (SendRefusedError, MatrixUnavailableError) as exc:
                log.warning("matrix: a reply was not delivered: %s", exc)

    async def send(self, reply: Reply) -> None:
        """Deliver one reply; a private one goes to the person's direct room with the bot
        (made on first use), then ``confirmation`` in the room.

        Raises:
            SendRefusedError: the homeserver refused it (the bot is not in the room, or may
                not speak there; a room the bot has left is marked inactive).
            MatrixUnavailableError: the homeserver could not be reached.
        """
        if reply.private_to is not None:
            room_id = await self._direct_room(reply.private_to.user_id)
            sent = None
            if room_id is not None:
                private = Reply(reply.chat, reply.text, buttons=reply.buttons)
                with suppress(SendRefusedError):
                    sent = await self._send_to(room_id, private)
            follow = reply.confirmation if sent else reply.fallback
            if follow is not None:
                await self.send(follow)
            return
        if not self.client.olm and await self._is_encrypted(reply.chat.chat_id):
            # The one-shot poster has no keys (the running bot owns them): never plaintext
            # in an encrypted room.
            raise MatrixUnavailableError(
                f"{reply.chat.chat_id} is encrypted: the running bot posts there on schedule"
            )
        if reply.picture is not None:
            await self._send_picture(reply.chat.chat_id, reply.picture)
        event_id = await self._send_to(reply.chat.chat_id, reply)
        if reply.poll is not None:
            await self._send_poll(reply.chat.chat_id, reply.poll)
        if reply.prompt_id is not None:
            # Attached before the answers are offered, so a fast reaction is recognised.
            await self._call(self.router.prompt_sent, reply.prompt_id, event_id)
            for button in reply.buttons:
                await self._send_event(
                    reply.chat.chat_id,
                    mx.REACTION,
                    mx.reaction_content(event_id, button.emoji),
                )

    async def _fetch_file(self, ref: MediaRef) -> bytes:
        """A file's bytes from the homeserver's media repository (authenticated media), and
        for an encrypted room's attachment decrypted with the key its event carried (the
        hash in the event is checked by the decryption)."""
        answer = await self.client.download(mxc=ref.handle)
        if isinstance(answer, DownloadError):
            raise PlatformError(f"downloading a {ref.kind}: {answer.message}")
        data = bytes(answer.body)
        secret = ref.decryption
        if secret is None:
            return data
        try:
            return bytes(
                decrypt_attachment(
                    data, secret["key"]["k"], secret["hashes"]["sha256"], secret["iv"]
                )
            )
        except (EncryptionError, KeyError, TypeError) as exc:
            raise PlatformError(f"an encrypted {ref.kind} could not be decrypted: {exc}") from None

    async def _send_picture(self, room_id: str, picture: bytes) -> str:
        """Upload a picture (the digest's PNG, a resident's kept JPEG photo) and send it as
        an ``m.image`` (the text follows as a notice).

        Raises:
            MatrixUnavailableError: the homeserver refused the upload.
        """
        mime = sniff_mime(picture)
        name = PICTURE_NAMES.get(mime, "picture")
        room = self.client.rooms.get(room_id)
        encrypt = bool(self.client.olm and room is not None and room.encrypted)
        answer, keys = await self.client.upload(
            io.BytesIO(picture),
            content_type=mime,
            filename=name,
            encrypt=encrypt,
            filesize=len(picture),
        )
        if isinstance(answer, UploadError):
            raise MatrixUnavailableError(f"uploading a picture: {answer}")
        width, height = mx.image_size(picture)
        body: dict[str, Any] = {
            "msgtype": "m.image",
            "body": name,
            "info": {"mimetype": mime, "size": len(picture), "w": width, "h": height},
        }
        if encrypt and keys:
            # An encrypted room gets an encrypted file: its key travels in the (encrypted) event.
            body["file"] = {"url": answer.content_uri, "mimetype": mime, **keys}
        else:
            body["url"] = answer.content_uri
        return await self._send_event(room_id, mx.MESSAGE, body)

    async def _send_poll(self, room_id: str, poll: PollRequest) -> None:
        """A vote's poll as an ``m.poll.start`` (disclosed, one answer); the responses say
        who answered, so the roll can be checked. Closed with ``m.poll.end`` by the bot at
        the vote's deadline (``close_poll``)."""
        try:
            start = await self._send_event(
                room_id, mx.POLL_START, mx.poll_start_content(poll.question, poll.options)
            )
        except PlatformError:
            await self._send_all(
                await self._call(self.router.poll_failed, mx.chat(room_id), poll.vote_id)
            )
            raise
        await self._call(self.router.poll_sent, mx.chat(room_id), poll.vote_id, start, start)

    async def close_poll(self, chat: ChatRef, poll_message_id: str) -> None:
        """End a vote's poll (``m.poll.end``, unstable name as clients render it)."""
        await self._send_event(
            chat.chat_id,
            "org.matrix.msc3381.poll.end",
            mx.poll_end_content(poll_message_id, "The vote is closed."),
        )

    async def _send_to(self, room_id: str, reply: Reply) -> str:
        return await self._send_event(room_id, mx.MESSAGE, mx.notice_content(reply))

    async def _send_event(self, room_id: str, kind: str, body: dict[str, Any]) -> str:
        """Send one event, waiting out rate limits (``M_LIMIT_EXCEEDED``, as long as the
        homeserver asks, up to SEND_ATTEMPTS times); its event id.

        Raises:
            SendRefusedError: the homeserver refused it; a room the bot is no longer in is
                marked inactive (one where it only lacks the power to speak stays active, so
                a later post goes out once it may speak again).
            MatrixUnavailableError: the homeserver could not be reached, SEND_ATTEMPTS times.
        """
        if self.client.olm and room_id not in self.client.rooms:
            await self._learn_room(room_id)
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                answer = await self.client.room_send(
                    room_id, kind, body, ignore_unverified_devices=True
                )
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.warning("matrix: sending to %s failed: %s", room_id, exc)
                if attempt == SEND_ATTEMPTS:
                    raise MatrixUnavailableError(f"sending to {room_id}: {exc}") from exc
                await asyncio.sleep(attempt)
                continue
            if not isinstance(answer, RoomSendError):
                event_id: str = answer.event_id
                return event_id
            if answer.status_code == "M_LIMIT_EXCEEDED" and attempt < SEND_ATTEMPTS:
                wait = (answer.retry_after_ms or 1000) / 1000
                log.info("matrix: rate limited in %s, sending again in %.1f s", room_id, wait)
                await asyncio.sleep(wait)
                continue
            log.warning("matrix: %s refused a message: %s", room_id, answer)
            if (
                answer.status_code == "M_FORBIDDEN"
                and not self.store.is_direct(room_id)
                and not await self._is_member(room_id)
            ):
                await self._call(self.router.on_bot_removed, mx.chat(room_id))
            raise SendRefusedError(mx.chat(room_id), f"{answer.status_code}: {answer.message}")
        raise AssertionError("unreachable")

    async def _is_member(self, room_id: str) -> bool:
        """Whether the bot is still joined to the room (a refusal may only mean it lacks the
        power to speak); when the homeserver cannot say, it is assumed to be (the sync
        reports a real leave anyway)."""
        try:
            answer = await self.client.room_get_state_event(room_id, mx.MEMBER, self.user_id)
        except (aiohttp.ClientError, TimeoutError):
            return True
        if isinstance(answer, RoomGetStateEventError):
            return answer.status_code not in ("M_NOT_FOUND", "M_FORBIDDEN")
        return bool(answer.content.get("membership") == "join")

    async def _is_encrypted(self, room_id: str) -> bool:
        answer = await self.client.room_get_state_event(room_id, "m.room.encryption")
        if isinstance(answer, RoomGetStateEventError):
            if answer.status_code not in ("M_NOT_FOUND", "M_FORBIDDEN"):
                raise MatrixUnavailableError(f"reading {room_id}'s encryption: {answer}")
            return False
        return True

    async def _learn_room(self, room_id: str) -> None:
        """A room joined or made since the last sync is not known to nio yet, which encrypts
        only for rooms it knows: ask the homeserver whether it is encrypted (its members are
        fetched when sending)."""
        room = MatrixRoom(room_id, self.user_id, await self._is_encrypted(room_id))
        self.client.rooms.setdefault(room_id, room)

    async def _direct_room(self, user_id: str) -> str | None:
        """The bot's private room with ``user_id``, created (and remembered) on first use."""
        known = self.store.direct.get(user_id)
        if known is not None:
            return known
        answer = await self.client.room_create(
            is_direct=True, invite=[user_id], preset=RoomPreset.trusted_private_chat
        )
        if isinstance(answer, RoomCreateError):
            log.warning("matrix: could not open a private room with %s: %s", user_id, answer)
            return None
        room_id: str = answer.room_id
        self.store.direct[user_id] = room_id
        await asyncio.to_thread(self.store.save)
        return room_id

    async def _call(self, function: Callable[..., T], *args: Any) -> T:
        """Run a router or archiver call off the event loop (database work blocks)."""
        return await asyncio.to_thread(function, *args)


def _raise_for_credentials(answer: ErrorResponse, key: str) -> None:
    """A refused token or password is the operator's to fix: one clear ConfigError."""
    if answer.status_code in ("M_UNKNOWN_TOKEN", "M_FORBIDDEN", "M_MISSING_TOKEN"):
        what = "access token" if key.endswith("access_token") else "password"
        raise ConfigError(f"the homeserver refused the {what} ({answer.message})", key=key)


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    """Sleep, waking early when ``stop`` is set."""
    with suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
