"""A faithful Telegram Bot API emulator for tests and the offline demo.

The real python-telegram-bot ``Application`` polls it over HTTP on 127.0.0.1, so polling,
JSON, multipart uploads, error mapping and handler dispatch are all real, while scripted
residents (:class:`BotApiEmulator`) talk in groups. It enforces what Telegram enforces —
privacy mode, reactions only for administrator bots that ask for them, ``getUpdates`` offset
confirmation and 409 on a second poller, UTF-16 entity offsets, callback queries answered
once, Telegram's limits and error descriptions — see :mod:`sandbox.emulator.rules`,
:mod:`sandbox.emulator.updates` and :mod:`sandbox.emulator.formatting`.

Modules: ``emulator`` (test-side API), ``server`` (HTTP, dispatch, call log, faults),
``methods_messages``/``methods_chats`` (Bot API methods), ``state`` (the world),
``model`` (users, chats, messages and their JSON), ``rules`` (what Telegram enforces),
``updates`` (the queue and long polling), ``params`` (request decoding), ``formatting``
(HTML parse mode), ``text`` (UTF-16 and detected entities), ``media`` (photos),
``errors`` (Telegram's error descriptions).
"""

from sandbox.emulator.emulator import BotApiEmulator
from sandbox.emulator.errors import ApiError
from sandbox.emulator.model import CallbackQuery, Chat, Member, Message, User
from sandbox.emulator.server import Call
from sandbox.emulator.text import Entity, utf16_len, utf16_slice

__all__ = [
    "ApiError",
    "BotApiEmulator",
    "Call",
    "CallbackQuery",
    "Chat",
    "Entity",
    "Member",
    "Message",
    "User",
    "utf16_len",
    "utf16_slice",
]
