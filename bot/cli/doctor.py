"""``community-memory doctor``: is everything in place for the bots to work?

Each check says what it found and, when something is missing, the fix in one sentence.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from telegram import Bot
from telegram.constants import ChatMemberStatus
from telegram.error import BadRequest, Forbidden, InvalidToken, TelegramError

from archiver.errors import ConfigError, StorageError
from bot.app.config import Config
from bot.app.runner import telegram_urls


@dataclass(frozen=True, slots=True)
class Check:
    """One finding: ``ok``, what was checked, and the fix when it is not ok."""

    ok: bool
    what: str
    fix: str | None = None


def check_archive(config: Config) -> Check:
    """The archive opens and its schema is current."""
    from storage.db import Database
    from storage.migrate import current_revision, head_revision

    url = config.storage.url
    if url.startswith("sqlite:///"):
        file = Path(url.removeprefix("sqlite:///"))
        if not file.exists():
            # Checking must not create the file; `run` creates and migrates it.
            return Check(True, f"archive: none yet at {file} (`run` creates it)")
    try:
        database = Database(config.storage.url)
        try:
            revision = current_revision(database)
        finally:
            database.close()
    except StorageError as exc:
        return Check(False, f"archive: {exc}", "check storage.url in the config")
    if revision is None:
        return Check(False, "archive: empty (no schema yet)", "run `community-memory db upgrade`")
    if revision != head_revision():
        return Check(
            False,
            f"archive: schema {revision}, this release has {head_revision()}",
            "run `community-memory db upgrade` (or just `run`, which upgrades)",
        )
    return Check(True, f"archive: schema {revision} is current")


async def check_telegram(config: Config) -> list[Check]:
    """Token, privacy mode, and admin rights in every configured Telegram group."""
    assert config.telegram is not None
    os.environ["PTB_TIMEDELTA"] = os.environ.get("PTB_TIMEDELTA") or "true"
    urls = telegram_urls(config.telegram.base_url)
    checks: list[Check] = []
    try:
        bot = Bot(
            config.telegram.token,
            base_url=urls.get("base_url", "https://api.telegram.org/bot"),
            base_file_url=urls.get("base_file_url", "https://api.telegram.org/file/bot"),
        )
        async with bot:
            me = await bot.get_me()
            checks.append(Check(True, f"telegram: token valid, bot @{me.username}"))
            checks.append(_privacy(me.can_read_all_group_messages))
            for community in config.communities:
                for space in community.spaces:
                    if space.platform == "telegram":
                        checks.append(await _group(bot, me.id, space.chat_id, community.id))
    except InvalidToken:
        checks.append(
            Check(
                False,
                "telegram: the token was refused",
                "copy the token from @BotFather into telegram.token (or the variable it names)",
            )
        )
    except TelegramError as exc:
        checks.append(Check(False, f"telegram: {exc}", "check telegram.base_url and the network"))
    return checks


def _privacy(reads_all: bool | None) -> Check:
    if reads_all:
        return Check(True, "telegram: privacy mode off (the bot reads group messages)")
    return Check(
        False,
        "telegram: privacy mode is on, so the bot sees only commands and replies to itself "
        "and `consent all` keeps nothing",
        "in @BotFather send /setprivacy, choose the bot, Disable, then remove and re-add it to "
        "each group (or make it an admin there)",
    )


async def _group(bot: Bot, bot_id: int, chat_id: str, community: str) -> Check:
    where = f"telegram group {chat_id} ({community})"
    try:
        member = await bot.get_chat_member(int(chat_id), bot_id)
    except Forbidden:
        return Check(False, f"{where}: the bot is not in it", "add the bot to the group")
    except BadRequest as exc:
        if "chat not found" not in str(exc).lower():
            return Check(False, f"{where}: {exc}", "check the chat id in the config")
        # Telegram knows no such chat for this bot: it was never added, or the id is wrong.
        return Check(
            False,
            f"{where}: not found (the bot was never added, or the chat id is wrong)",
            "add the bot to the group, or check the chat id in the config",
        )
    except TelegramError as exc:
        return Check(False, f"{where}: {exc}", "check the chat id in the config, add the bot")
    if member.status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED):
        return Check(False, f"{where}: the bot is not in it", "add the bot to the group")
    if member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER):
        return Check(True, f"{where}: the bot is an admin (keep reactions reach it)")
    return Check(
        False,
        f"{where}: the bot is not an admin, so keep reactions never reach it",
        "make the bot an administrator of the group (the default rights are enough)",
    )


def config_check(error: ConfigError) -> Check:
    """The config could not be read: the problem, and where the reference is."""
    return Check(
        False,
        f"config: {error}",
        "correct that key; every key is explained in config.example.toml and docs/config.md",
    )


def credential_checks(config: Config) -> list[Check]:
    """A credential whose environment variable is not set: the platform cannot connect."""
    return [
        Check(
            False,
            f"{key}: {problem}",
            f"export the variable before `run` (or write the value into {key})"
            + (", with the token from @BotFather" if key.startswith("telegram") else ""),
        )
        for key, problem in config.unset_credentials.items()
    ]


async def run_doctor(config: Config) -> list[Check]:
    """Every check for this config."""
    checks = [Check(True, f"config: {config.path or 'built-in defaults'}")]
    checks.append(check_archive(config))
    unset = credential_checks(config)
    checks += unset
    unconnectable = {key.partition(".")[0] for key in config.unset_credentials}
    if config.telegram is not None and "telegram" not in unconnectable:
        checks += await check_telegram(config)
    if config.matrix is not None and "matrix" not in unconnectable:
        from bot.platforms.matrix.checks import check_matrix

        checks += await check_matrix(config)
    if config.telegram is None and config.matrix is None:
        checks.append(
            Check(
                False,
                "no platform configured: the bot has nowhere to listen",
                "add a [telegram] section (token from @BotFather) or a [matrix] section "
                "(homeserver, user_id, access_token); see config.example.toml",
            )
        )
    return checks
