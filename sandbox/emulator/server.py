"""The HTTP side: routes, token check, method dispatch, injected faults, the call log.

URLs are Telegram's: ``{base}/bot<token>/<method>`` for calls (GET or POST; method names are
case-insensitive) and ``{base}/file/bot<token>/<file_path>`` for downloads. A malformed token
or an unknown method is ``404 Not Found``; a well-formed but wrong token is
``401 Unauthorized``.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sandbox.emulator import errors, rules
from sandbox.emulator.errors import ApiError
from sandbox.emulator.methods_chats import METHODS as CHAT_METHODS
from sandbox.emulator.methods_chats import Described
from sandbox.emulator.methods_messages import METHODS as MESSAGE_METHODS
from sandbox.emulator.params import Params, api_error_response, read_params
from sandbox.emulator.polls import METHODS as POLL_METHODS
from sandbox.emulator.state import World

_LOGGER = logging.getLogger(__name__)
_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")

Handler = Callable[[World, Params], Any]
HANDLERS: dict[str, tuple[str, Handler]] = {
    name.lower(): (name, handler)
    for name, handler in {**MESSAGE_METHODS, **CHAT_METHODS, **POLL_METHODS}.items()
}


@dataclass
class Call:
    """One Bot API call the bot made, as the emulator answered it."""

    #: The method's canonical name (``sendMessage``), whatever case the bot used.
    method: str
    #: Parameters, typed where the method read them (``chat_id`` as an int).
    params: dict[str, Any]
    #: Uploaded files by field name.
    files: dict[str, bytes] = field(default_factory=dict)
    #: The ``result`` of a successful call.
    result: Any = None
    #: The error code and description of a refused call.
    error_code: int | None = None
    description: str | None = None

    @property
    def ok(self) -> bool:
        """The call succeeded."""
        return self.error_code is None


@dataclass
class Fault:
    """A failure or delay injected into the next calls of one method."""

    times: int
    error: ApiError | None = None
    delay: float = 0.0


class CallLog:
    """Every call in order, with waiting for a matching one."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._waiters: list[tuple[str, Callable[[Call], bool], asyncio.Future[Call]]] = []

    def record(self, call: Call) -> None:
        """Appends a call and wakes whoever waits for one like it."""
        self.calls.append(call)
        for entry in list(self._waiters):
            method, predicate, future = entry
            if future.done() or call.method.lower() != method:
                continue
            try:
                matched = predicate(call)
            except Exception as error:  # the test's predicate failed: the test should see it
                future.set_exception(error)
                self._waiters.remove(entry)
                continue
            if matched:
                future.set_result(call)
                self._waiters.remove(entry)

    async def wait_for(
        self, method: str, predicate: Callable[[Call], bool], timeout: float, after: int
    ) -> Call:
        """The first call of ``method`` at index ``after`` or later that ``predicate``
        accepts, waiting up to ``timeout`` seconds for it."""
        wanted = method.lower()
        for call in self.calls[after:]:
            if call.method.lower() == wanted and predicate(call):
                return call
        future: asyncio.Future[Call] = asyncio.get_running_loop().create_future()
        entry = (wanted, predicate, future)
        self._waiters.append(entry)
        try:
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            recent = ", ".join(
                f"{c.method}{'' if c.ok else f' ({c.error_code})'}" for c in self.calls[-8:]
            )
            raise TimeoutError(
                f"no matching {method} call within {timeout} s; last calls: {recent or 'none'}"
            ) from None
        finally:
            if entry in self._waiters:
                self._waiters.remove(entry)


class BotApiServer:
    """The aiohttp application serving the Bot API for one bot token."""

    def __init__(self, world: World, token: str) -> None:
        self.world = world
        self.token = token
        self.log = CallLog()
        #: Injected faults per lower-case method name, used in order.
        self.faults: dict[str, list[Fault]] = {}
        self.app = web.Application(client_max_size=50 * 1024 * 1024)
        self.app.router.add_route("*", "/bot{token}/{method}", self._handle_call)
        self.app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)

    def _check_token(self, token: str) -> None:
        if not _TOKEN.match(token):
            raise ApiError(404, errors.NOT_FOUND)
        if token != self.token or self.world.logged_out:
            raise ApiError(401, errors.UNAUTHORIZED)

    def add_fault(self, method: str, fault: Fault) -> None:
        """Queues a fault for the next calls of ``method`` (after those queued before)."""
        self.faults.setdefault(method.lower(), []).append(fault)

    def _take_fault(self, method: str) -> Fault | None:
        queued = self.faults.get(method)
        if not queued:
            return None
        fault = queued[0]
        fault.times -= 1
        if fault.times <= 0:
            queued.pop(0)
        return fault

    async def _handle_call(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        try:
            self._check_token(request.match_info["token"])
        except ApiError as error:
            return api_error_response(error)
        canonical, handler = HANDLERS.get(method.lower(), (method, None))
        if method.lower() == "getupdates":
            canonical = "getUpdates"
        call = Call(method=canonical, params={})
        fault: Fault | None = None
        try:
            params = await read_params(request)
            call.params = params.recorded()
            call.files = {name: upload.data for name, upload in params.files.items()}
            fault = self._take_fault(canonical.lower())
            if fault is not None and fault.error is not None:
                raise fault.error
            if canonical == "getUpdates":
                result: Any = await self._get_updates(params)
            elif handler is None:
                _LOGGER.warning("Bot API emulator: method %r is not emulated", method)
                raise ApiError(404, errors.NOT_FOUND)
            else:
                result = handler(self.world, params)
            call.params = params.recorded()
        except ApiError as error:
            call.error_code, call.description = error.error_code, error.description
            self.log.record(call)
            return api_error_response(error)
        body: dict[str, Any] = {"ok": True}
        if isinstance(result, Described):
            body["result"], body["description"] = result.result, result.description
        else:
            body["result"] = result
        call.result = body["result"]
        self.log.record(call)  # recorded before a delay: Telegram has done the work
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        return web.json_response(body)

    async def _get_updates(self, params: Params) -> list[dict[str, Any]]:
        if self.world.webhook_url:
            raise ApiError(409, errors.CONFLICT_WEBHOOK_ACTIVE)
        offset = params.integer("offset")
        limit = min(max(params.integer("limit", rules.MAX_UPDATES_LIMIT), 1), 100)
        timeout = min(max(params.integer("timeout"), 0), rules.LONG_POLL_MAX_TIMEOUT)
        try:
            requested = params.json("allowed_updates", errors.INVALID_JSON_BODY)
        except ApiError:
            requested = None  # Telegram ignores an unreadable list and keeps the setting
        allowed = rules.parse_allowed_updates(requested)
        if allowed is not None:
            self.world.queue.allowed = allowed
        return await self.world.queue.get_updates(offset, limit, timeout)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        try:
            self._check_token(request.match_info["token"])
        except ApiError as error:
            return api_error_response(error)
        stored = self.world.files.by_path(request.match_info["path"])
        if stored is None:
            return api_error_response(ApiError(404, errors.NOT_FOUND))
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )
