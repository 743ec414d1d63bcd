"""The bot's update queue and ``getUpdates`` long polling, as the Bot API server runs them.

* An update is kept until the bot confirms it: a ``getUpdates`` call with ``offset`` drops
  every update whose ``update_id`` is smaller. A bot that fetched updates and crashed before
  confirming them gets them again. A negative ``offset`` counts from the end of the queue.
* ``allowed_updates`` is applied when an update is *created*: a type not allowed at that
  moment is never queued, and an update already queued stays queued after the setting
  changes. The setting persists between calls until a call passes a new list.
* Long polling: with ``timeout`` > 0 and nothing to return, the call waits until an update
  arrives (it is answered at once) or the timeout passes (an empty list). When a second
  call starts waiting while one is already waiting, Telegram ends the *earlier* one with
  409 ``Conflict: terminated by other getUpdates request; make sure that only one bot
  instance is running`` — so two pollers with one token keep knocking each other out.
* Updates not fetched in time expire (a day for most, 150 s for callback queries).

Not reproduced: Telegram raises a repeated short poll's timeout to 3 s and delays
back-to-back 409 answers by 3 s; both would only slow tests down.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.emulator import errors
from sandbox.emulator.errors import ApiError
from sandbox.emulator.rules import DEFAULT_ALLOWED_UPDATES, DEFAULT_UPDATE_LIFETIME, UPDATE_LIFETIME

#: What ends a long poll: ``None`` (look again: updates arrived, or the emulator is
#: stopping) or the error to answer with.
_Wake = ApiError | None


@dataclass(frozen=True)
class PendingUpdate:
    """A queued update waiting for confirmation."""

    update_id: int
    kind: str
    payload: dict[str, Any]
    expires_at: float

    def to_api(self) -> dict[str, Any]:
        """The ``Update`` JSON object."""
        return {"update_id": self.update_id, self.kind: self.payload}


class UpdateQueue:
    """Updates for one bot, with Telegram's confirmation and long-polling rules."""

    def __init__(self, clock: Callable[[], float], first_update_id: int = 1) -> None:
        self._clock = clock
        self._items: list[PendingUpdate] = []
        self._next_id = first_update_id
        self._poll: asyncio.Future[_Wake] | None = None
        self._changed: list[asyncio.Future[None]] = []
        self._closed = False
        #: The current ``allowed_updates`` setting.
        self.allowed: frozenset[str] = DEFAULT_ALLOWED_UPDATES

    @property
    def long_poll_waiting(self) -> bool:
        """A ``getUpdates`` call is waiting for updates right now."""
        return self._poll is not None and not self._poll.done()

    def push(self, kind: str, payload: dict[str, Any]) -> int | None:
        """Queues an update unless ``allowed_updates`` excludes its type; wakes a long poll."""
        if kind not in self.allowed:
            return None
        update_id = self._next_id
        self._next_id += 1
        lifetime = UPDATE_LIFETIME.get(kind, DEFAULT_UPDATE_LIFETIME)
        self._items.append(PendingUpdate(update_id, kind, payload, self._clock() + lifetime))
        if self._poll is not None and not self._poll.done():
            self._poll.set_result(None)
        self._notify_changed()
        return update_id

    def pending(self) -> list[PendingUpdate]:
        """Updates not yet confirmed (and not expired), oldest first."""
        self._expire()
        return list(self._items)

    def drop_all(self) -> None:
        """Forgets every pending update (``deleteWebhook``/``setWebhook`` with
        ``drop_pending_updates``)."""
        self._items.clear()
        self._notify_changed()

    def _expire(self) -> None:
        now = self._clock()
        self._items = [item for item in self._items if item.expires_at >= now]

    def _confirm(self, offset: int) -> None:
        if not self._items:
            return
        if offset < 0:
            offset += self._next_id
        head = self._items[0].update_id
        if offset <= head or offset > self._next_id:
            return  # nothing to confirm; an offset past the end is ignored, as on Telegram
        self._items = [item for item in self._items if item.update_id >= offset]
        self._notify_changed()

    def _take(self, limit: int) -> list[dict[str, Any]]:
        self._expire()
        return [item.to_api() for item in self._items[:limit]]

    async def get_updates(self, offset: int, limit: int, timeout: int) -> list[dict[str, Any]]:
        """One ``getUpdates`` call: confirm, then answer now or wait up to ``timeout`` seconds.

        Raises:
            ApiError: 409 when a newer ``getUpdates`` call took over this one.
        """
        self._confirm(offset)
        updates = self._take(limit)
        if updates or timeout <= 0 or self._closed:
            return updates
        self.abort_long_poll(errors.CONFLICT_GET_UPDATES)
        poll: asyncio.Future[_Wake] = asyncio.get_running_loop().create_future()
        self._poll = poll
        self._notify_changed()
        try:
            async with asyncio.timeout(timeout):
                outcome = await poll
        except TimeoutError:
            return []
        finally:
            if self._poll is poll:
                self._poll = None
        if outcome is not None:
            raise outcome
        return self._take(limit)

    def abort_long_poll(self, description: str) -> None:
        """Ends a waiting long poll with 409 and ``description``."""
        if self._poll is not None and not self._poll.done():
            self._poll.set_result(ApiError(409, description))

    def close(self) -> None:
        """Answers a waiting long poll with no updates (the emulator is stopping)."""
        self._closed = True
        if self._poll is not None and not self._poll.done():
            self._poll.set_result(None)
        self._notify_changed()

    def reopen(self) -> None:
        """Accepts long polls again after :meth:`close` (the emulator restarted)."""
        self._closed = False

    async def wait_changed(self) -> None:
        """Waits until an update is queued or confirmed, or a long poll starts waiting."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._changed.append(waiter)
        try:
            await waiter
        finally:
            if waiter in self._changed:
                self._changed.remove(waiter)

    def _notify_changed(self) -> None:
        for waiter in self._changed:
            if not waiter.done():
                waiter.set_result(None)
        self._changed.clear()
