"""Bot API methods about the bot itself and its chats: getMe, chats and members, commands,
webhook settings, files, close and logOut."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sandbox.emulator import errors, rules
from sandbox.emulator.model import Member
from sandbox.emulator.params import Params
from sandbox.emulator.state import World

_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")


@dataclass(frozen=True)
class Described:
    """A successful result that Telegram answers with a ``description`` too."""

    result: Any
    description: str


def get_me(world: World, p: Params) -> Any:
    """``getMe``: the bot's user, with the settings BotFather controls."""
    data = world.bot.to_api()
    data.update(
        {
            "can_join_groups": world.can_join_groups,
            "can_read_all_group_messages": not world.privacy_mode,
            "supports_inline_queries": world.supports_inline_queries,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
    )
    return data


def get_chat(world: World, p: Params) -> Any:
    """``getChat``."""
    chat = world.find_chat(p.chat_id())
    if chat.is_group:
        rules.check_is_member(chat, world.bot)
    return chat.full_info()


def get_chat_member(world: World, p: Params) -> Any:
    """``getChatMember``: a member's status; someone never in the chat is ``left``."""
    chat = world.find_chat(p.chat_id())
    if chat.is_group:
        rules.check_is_member(chat, world.bot)
    user = world.users.get(p.integer("user_id"))
    if user is None:
        raise errors.bad_request(errors.USER_NOT_FOUND)
    if chat.type == "private":
        known = user is chat.user or user is world.bot
        return Member(user=user, status="member" if known else "left").to_api()
    member = chat.members.get(user.id)
    return (member or Member(user=user, status="left")).to_api()


def get_chat_administrators(world: World, p: Params) -> Any:
    """``getChatAdministrators``: the owner and the administrators (only the owner when
    nobody was promoted). As on Telegram, bots other than this one are left out unless
    ``return_bots``; any member bot may ask, administrator or not."""
    chat = world.find_chat(p.chat_id())
    if chat.type == "private":
        raise errors.bad_request(errors.NO_ADMINS_IN_PRIVATE)
    rules.check_is_member(chat, world.bot)
    with_bots = p.boolean("return_bots")
    return [
        member.to_api()
        for member in chat.members.values()
        if member.is_admin and (with_bots or not member.user.is_bot or member.user is world.bot)
    ]


def get_chat_member_count(world: World, p: Params) -> Any:
    """``getChatMemberCount``."""
    chat = world.find_chat(p.chat_id())
    if chat.type == "private":
        return 2
    rules.check_is_member(chat, world.bot)
    return sum(1 for member in chat.members.values() if member.is_present)


def leave_chat(world: World, p: Params) -> Any:
    """``leaveChat``: the bot leaves a group; it is told (``my_chat_member`` and the
    service message about its own departure)."""
    chat = world.find_chat(p.chat_id())
    if chat.type == "private":
        raise errors.bad_request(errors.PRIVATE_STATUS_UNCHANGEABLE)
    rules.check_is_member(chat, world.bot)
    world.set_bot_status(chat, "left", world.bot)
    message = world.post(chat, world.bot, left_chat_member=world.bot)
    world.deliver_message(message)
    return True


def _scope_key(p: Params) -> tuple[str, str]:
    scope = p.json("scope", errors.SCOPE_UNPARSABLE) or {"type": "default"}
    if not isinstance(scope, dict) or "type" not in scope:
        raise errors.bad_request(errors.SCOPE_UNPARSABLE)
    return json.dumps(scope, sort_keys=True), p.string("language_code") or ""


def set_my_commands(world: World, p: Params) -> Any:
    """``setMyCommands`` (per scope and language)."""
    commands = p.json("commands", errors.COMMANDS_UNPARSABLE)
    if not isinstance(commands, list):
        raise errors.bad_request(errors.COMMANDS_UNPARSABLE)
    cleaned: list[dict[str, Any]] = []
    for item in commands:
        if not isinstance(item, dict):
            raise errors.bad_request(errors.COMMANDS_UNPARSABLE)
        name = str(item.get("command", "")).strip().lstrip("/").lower()
        description = str(item.get("description", "")).strip()
        if not _COMMAND_NAME.match(name) or not 1 <= len(description) <= 256:
            raise errors.bad_request(errors.BOT_COMMAND_INVALID)
        cleaned.append({"command": name, "description": description})
    key = _scope_key(p)
    if cleaned:
        world.commands[key] = cleaned
    else:
        world.commands.pop(key, None)
    return True


def get_my_commands(world: World, p: Params) -> Any:
    """``getMyCommands``."""
    return [dict(command) for command in world.commands.get(_scope_key(p), [])]


def delete_my_commands(world: World, p: Params) -> Any:
    """``deleteMyCommands``."""
    world.commands.pop(_scope_key(p), None)
    return True


def delete_webhook(world: World, p: Params) -> Any:
    """``deleteWebhook`` (``drop_pending_updates`` forgets queued updates)."""
    if p.boolean("drop_pending_updates"):
        world.queue.drop_all()
    was_set = bool(world.webhook_url)
    world.webhook_url = ""
    return Described(True, "Webhook was deleted" if was_set else "Webhook is already deleted")


def set_webhook(world: World, p: Params) -> Any:
    """``setWebhook``: recorded (it makes ``getUpdates`` fail with 409) but the emulator
    never calls webhooks."""
    url = (p.string("url") or "").strip()
    if not url:
        return delete_webhook(world, p)
    if not url.lower().startswith("https://"):
        raise errors.bad_request(errors.BAD_WEBHOOK_URL)
    allowed = rules.parse_allowed_updates(p.json("allowed_updates", "Bad Request: bad JSON"))
    if allowed is not None:
        world.queue.allowed = allowed
    if p.boolean("drop_pending_updates"):
        world.queue.drop_all()
    world.queue.abort_long_poll(errors.CONFLICT_SET_WEBHOOK)
    already = world.webhook_url == url
    world.webhook_url = url
    return Described(True, "Webhook is already set" if already else "Webhook was set")


def get_webhook_info(world: World, p: Params) -> Any:
    """``getWebhookInfo``."""
    info: dict[str, Any] = {
        "url": world.webhook_url,
        "has_custom_certificate": False,
        "pending_update_count": len(world.queue.pending()),
    }
    if world.webhook_url and world.queue.allowed != rules.DEFAULT_ALLOWED_UPDATES:
        info["allowed_updates"] = sorted(world.queue.allowed)
    return info


def get_file(world: World, p: Params) -> Any:
    """``getFile``: its ``file_path`` downloads from the emulator's file URL; a bot may not
    download a file over 20 MB (``file is too big``)."""
    stored = world.files.get(p.string("file_id") or "")
    if stored is None:
        raise errors.bad_request(errors.INVALID_FILE_ID)
    if len(stored.data) > rules.MAX_DOWNLOAD_SIZE:
        raise errors.bad_request(errors.FILE_TOO_BIG)
    return stored.file_object()


def close(world: World, p: Params) -> Any:
    """``close``."""
    return True


def log_out(world: World, p: Params) -> Any:
    """``logOut``: afterwards every call is ``401 Unauthorized`` (until the test logs in)."""
    world.logged_out = True
    return True


METHODS = {
    "getMe": get_me,
    "getChat": get_chat,
    "getChatMember": get_chat_member,
    "getChatAdministrators": get_chat_administrators,
    "getChatMemberCount": get_chat_member_count,
    "leaveChat": leave_chat,
    "setMyCommands": set_my_commands,
    "getMyCommands": get_my_commands,
    "deleteMyCommands": delete_my_commands,
    "deleteWebhook": delete_webhook,
    "setWebhook": set_webhook,
    "getWebhookInfo": get_webhook_info,
    "getFile": get_file,
    "close": close,
    "logOut": log_out,
}
