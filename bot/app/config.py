"""The configuration file: models, loading, ``${VAR}`` substitution and friendly errors.

``config.example.toml`` at the repository root is the documented reference; ``docs/config.md``
explains the decisions. Every problem surfaces as a one-line :class:`ConfigError` naming the
file and the key, never as a pydantic or tomllib traceback.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
import types
import typing
import zoneinfo
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from archiver.community import CommunitySettings, SpaceRef
from archiver.errors import ConfigError
from archiver.media import KINDS, MediaSettings

__all__ = [
    "CONFIG_ENV_VAR",
    "DEFAULT_CONFIG_NAME",
    "CommunityConfig",
    "Config",
    "MatrixConfig",
    "SpaceConfig",
    "StorageConfig",
    "TelegramConfig",
    "load_config",
    "resolve_config_path",
]

CONFIG_ENV_VAR = "COMMUNITY_MEMORY_CONFIG"
DEFAULT_CONFIG_NAME = "config.toml"

_Loc = tuple[str | int, ...]

_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"(\d{1,2}):(\d{2})")
_TELEGRAM_CHAT = re.compile(r"-?\d+")
_ENV_REF = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Keys whose ``${VAR}`` may be unset when the config is loaded: only connecting to a platform
# (``run``, ``doctor``, ``--post``) needs them, so a config copied from the example still
# serves every offline command (search, import, export …) without the bot's secrets.
CREDENTIAL_KEYS = frozenset({"telegram.token", "matrix.access_token", "matrix.password"})
_TOML_POSITION = re.compile(r"\s*\((?:at line (\d+), column (\d+)|at end of document)\)\s*$")
_MAX_EMOJI_CHARS = 16
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _keyed_error(loc: _Loc, reason: str) -> PydanticCustomError:
    """A validation error reported at ``loc`` (relative to the config root) rather than at the
    model that raised it: cross-field checks know better which key is wrong."""
    # The reason goes in through the context so braces in user values are never re-formatted.
    return PydanticCustomError("config", "{reason}", {"reason": reason, "at": loc})


def _base_dir(info: ValidationInfo) -> Path | None:
    context = info.context
    if isinstance(context, Mapping):
        base = context.get("base_dir")
        if isinstance(base, Path):
            return base
    return None


def _resolve_dir(value: str, info: ValidationInfo) -> str:
    base = _base_dir(info)
    if base is None:
        return value
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else base / path)


def _parse_time(value: str) -> str | None:
    """``H:MM`` or ``HH:MM`` → canonical ``HH:MM``; None when it is not a time of day."""
    match = _TIME.fullmatch(value)
    if match is None:
        return None
    hour, minute = int(match[1]), int(match[2])
    if hour > 23 or minute > 59:
        return None
    return f"{hour:02d}:{minute:02d}"


class _Model(BaseModel):
    # A typo'd key must be an error, not a silently ignored setting.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class StorageConfig(_Model):
    """Where the archive lives: a database URL and a folder for media files."""

    url: str = Field(default="sqlite:///community-memory.db", validate_default=True)
    media_dir: str = Field(default="media", validate_default=True)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str, info: ValidationInfo) -> str:
        if "://" not in value:
            raise ValueError(
                f"{value!r} is not a database URL; use e.g. 'sqlite:///community-memory.db' "
                "or 'postgresql+psycopg://user@host/dbname'"
            )
        base = _base_dir(info)
        scheme, rest = value.split("://", 1)
        if base is None or not re.fullmatch(r"sqlite(\+\w+)?", scheme) or not rest.startswith("/"):
            return value
        file, sep, query = rest[1:].partition("?")
        if file in ("", ":memory:") or file.startswith("file:"):
            return value
        path = Path(file).expanduser()
        if not path.is_absolute():
            path = base / path
        # An absolute POSIX path already starts with "/", giving the four slashes SQLAlchemy wants.
        return f"{scheme}:///{path.as_posix()}{sep}{query}"

    @field_validator("media_dir")
    @classmethod
    def _resolve_media_dir(cls, value: str, info: ValidationInfo) -> str:
        if not value:
            raise ValueError("must not be empty")
        return _resolve_dir(value, info)


MEDIA_KINDS = KINDS


class MediaConfig(_Model):
    """Which files are kept with kept messages, and how much (docs/media.md)."""

    # false: the text and the file's kind are kept, never the file.
    keep: bool = True
    # Per kind, in MB; a kind not listed gets `default_max_mb`. 20 MB is the most a Telegram
    # bot may download.
    max_mb: dict[str, float] = Field(default_factory=dict)
    default_max_mb: float = Field(default=20, gt=0)
    # All of a community's files together, in MB; 0 = no quota.
    quota_mb: float = Field(default=2048, ge=0)

    @field_validator("max_mb")
    @classmethod
    def _check_kinds(cls, value: dict[str, float]) -> dict[str, float]:
        for kind, size in value.items():
            if kind not in MEDIA_KINDS:
                close = difflib.get_close_matches(kind, MEDIA_KINDS, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ValueError(f"unknown kind {kind!r}{hint}; kinds are {', '.join(MEDIA_KINDS)}")
            if size <= 0:
                raise ValueError(f"{kind}: a size in MB greater than 0")
        return value

    def settings(self, media_dir: str) -> MediaSettings | None:
        """What the archiver applies (``None`` when files are not kept)."""
        if not self.keep:
            return None
        limits = {kind: self.max_mb.get(kind, self.default_max_mb) for kind in MEDIA_KINDS}
        return MediaSettings(
            media_dir=Path(media_dir),
            max_bytes={kind: int(mb * 1024 * 1024) for kind, mb in limits.items()},
            quota_bytes=int(self.quota_mb * 1024 * 1024) or None,
        )


class SiteConfig(_Model):
    """The archive website that ``run`` keeps up to date (docs/site.md)."""

    # A folder: each community's site is rebuilt in OUT/<community id>/ after its weekly
    # digest. "" = off (`export site` by hand still works).
    out: str = ""

    @field_validator("out")
    @classmethod
    def _resolve_out(cls, value: str, info: ValidationInfo) -> str:
        return _resolve_dir(value, info) if value else ""


class TelegramConfig(_Model):
    """The Telegram bot: its token and, optionally, a self-hosted Bot API server."""

    token: str
    base_url: str = ""

    @field_validator("token")
    @classmethod
    def _check_token(cls, value: str) -> str:
        if not value:
            raise ValueError("must not be empty (ask @BotFather for a token)")
        return value

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} must start with http:// or https://, or be empty")
        return value


class MatrixConfig(_Model):
    """The Matrix account the bot logs in as; exactly one of access_token or password."""

    homeserver: str
    user_id: str
    access_token: str = ""
    password: str = ""
    device_id: str = "COMMUNITYMEMORY"
    store_dir: str = Field(default="matrix-store", validate_default=True)

    @field_validator("homeserver")
    @classmethod
    def _check_homeserver(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} must be a URL starting with https:// (or http://)")
        return value.rstrip("/")

    @field_validator("user_id")
    @classmethod
    def _check_user_id(cls, value: str) -> str:
        if not re.fullmatch(r"@[^:\s]+:\S+", value):
            raise ValueError(f"{value!r} is not a Matrix user id like '@memory:example.org'")
        return value

    @field_validator("device_id")
    @classmethod
    def _check_device_id(cls, value: str) -> str:
        if not value:
            raise ValueError("must not be empty")
        return value

    @field_validator("store_dir")
    @classmethod
    def _resolve_store_dir(cls, value: str, info: ValidationInfo) -> str:
        if not value:
            raise ValueError("must not be empty")
        return _resolve_dir(value, info)

    @model_validator(mode="after")
    def _one_credential(self) -> MatrixConfig:
        if self.access_token and self.password:
            raise _keyed_error(
                ("matrix", "password"), "set either access_token or password, not both"
            )
        if not self.access_token and not self.password:
            raise _keyed_error(
                ("matrix", "access_token"), "set access_token or password (one of them is needed)"
            )
        return self


class SpaceConfig(_Model):
    """One chat of a community: a Telegram group (``chat``) or a Matrix room (``room``)."""

    platform: Literal["telegram", "matrix"]
    chat: str | None = Field(default=None, validate_default=True)
    room: str | None = Field(default=None, validate_default=True)

    @field_validator("chat", mode="before")
    @classmethod
    def _chat_as_text(cls, value: object) -> object:
        # TOML users naturally write chat ids as numbers; the archive keys them as text.
        if isinstance(value, bool) or not isinstance(value, str | int | None):
            raise ValueError("must be the group's chat id, e.g. -1001234567890")
        return str(value) if isinstance(value, int) else value

    @field_validator("chat")
    @classmethod
    def _check_chat(cls, value: str | None, info: ValidationInfo) -> str | None:
        platform = info.data.get("platform")
        if platform == "telegram":
            if value is None:
                raise ValueError("a telegram space needs chat = the group's chat id")
            if not _TELEGRAM_CHAT.fullmatch(value):
                raise ValueError(
                    f"{value!r} is not a Telegram chat id; use the number, e.g. '-1001234567890'"
                )
            return value
        if platform == "matrix" and value is not None:
            raise ValueError("a matrix space has room, not chat")
        return value

    @field_validator("room")
    @classmethod
    def _check_room(cls, value: str | None, info: ValidationInfo) -> str | None:
        platform = info.data.get("platform")
        if platform == "matrix":
            if value is None:
                raise ValueError("a matrix space needs room = the room id ('!…')")
            if not value.startswith("!") or len(value) < 2:
                hint = " (that is an alias; use the room id)" if value.startswith("#") else ""
                raise ValueError(f"{value!r} is not a Matrix room id starting with '!'{hint}")
            return value
        if platform == "telegram" and value is not None:
            raise ValueError("a telegram space has chat, not room")
        return value

    @property
    def chat_id(self) -> str:
        """The platform's id of the chat: Telegram chat id or Matrix room id."""
        chat_id = self.chat if self.platform == "telegram" else self.room
        assert chat_id is not None  # guaranteed by the validators
        return chat_id

    def to_ref(self) -> SpaceRef:
        """This space as the archiver's :class:`SpaceRef`."""
        return SpaceRef(platform=self.platform, chat_id=self.chat_id)


class CommunityConfig(_Model):
    """One community: its name, language, schedule, tagging emoji and chats."""

    id: str
    name: str
    language: Literal["zh", "en"] = "zh"
    timezone: str = "Asia/Shanghai"
    digest: str = "sun 20:00"
    on_this_day: str = "09:00"
    keep_emoji: str = "📌"
    hold_hours: int = Field(default=72, ge=1, le=720, strict=True)
    memory_repeat_days: int = Field(default=365, ge=0, le=3650, strict=True)
    on_this_day_month_fallback: bool = Field(default=False, strict=True)
    quiet_digest: bool = Field(default=True, strict=True)
    # Votes (docs/governance.md): the quorum as a share of the roll and a least number of
    # voters, and how long a vote stays open.
    vote_quorum_percent: int = Field(default=20, ge=1, le=100, strict=True)
    vote_min_voters: int = Field(default=3, ge=1, le=1000, strict=True)
    vote_hours: int = Field(default=72, ge=1, le=720, strict=True)
    spaces: list[SpaceConfig] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not _SLUG.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a valid id: use 1-64 lowercase letters, digits, '-' or '_', "
                "starting with a letter or digit"
            )
        return value

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not value:
            raise ValueError("must not be empty")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            close = difflib.get_close_matches(value, zoneinfo.available_timezones(), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else " (e.g. 'Asia/Shanghai')"
            raise ValueError(f"unknown time zone {value!r}{hint}") from None
        return value

    @field_validator("digest")
    @classmethod
    def _check_digest(cls, value: str) -> str:
        if not value:
            return value
        parts = value.lower().split()
        time = _parse_time(parts[1]) if len(parts) == 2 and parts[0] in _DAYS else None
        if time is None:
            raise ValueError(
                f"{value!r} is not a weekly time: write '<day> HH:MM' with day one of "
                f"{', '.join(_DAYS)} (e.g. 'sun 20:00'), or '' for no digest"
            )
        return f"{parts[0]} {time}"

    @field_validator("on_this_day")
    @classmethod
    def _check_on_this_day(cls, value: str) -> str:
        if not value:
            return value
        time = _parse_time(value)
        if time is None:
            raise ValueError(
                f"{value!r} is not a time of day: write 'HH:MM' (e.g. '09:00'), or '' for none"
            )
        return time

    @field_validator("keep_emoji")
    @classmethod
    def _check_keep_emoji(cls, value: str) -> str:
        if not value or len(value) > _MAX_EMOJI_CHARS or any(c.isspace() for c in value):
            raise ValueError(f"{value!r} must be a single emoji, e.g. '📌'")
        return value

    def to_settings(self) -> CommunitySettings:
        """These settings as the archiver's platform-neutral :class:`CommunitySettings`."""
        return CommunitySettings(
            id=self.id,
            name=self.name,
            language=self.language,
            timezone=self.timezone,
            keep_emoji=self.keep_emoji,
            hold_hours=self.hold_hours,
            digest=self.digest,
            on_this_day=self.on_this_day,
            spaces=tuple(space.to_ref() for space in self.spaces),
            memory_repeat_days=self.memory_repeat_days,
            on_this_day_month_fallback=self.on_this_day_month_fallback,
            quiet_digest=self.quiet_digest,
            vote_quorum_percent=self.vote_quorum_percent,
            vote_min_voters=self.vote_min_voters,
            vote_hours=self.vote_hours,
        )


class Config(_Model):
    """The whole configuration. A platform runs only when its section is present."""

    storage: StorageConfig = Field(default_factory=StorageConfig)
    media: MediaConfig = Field(default_factory=MediaConfig)
    site: SiteConfig = Field(default_factory=SiteConfig)
    telegram: TelegramConfig | None = None
    matrix: MatrixConfig | None = None
    communities: list[CommunityConfig] = Field(default_factory=list)

    _path: Path | None = PrivateAttr(default=None)
    # key → the problem, for credentials whose environment variable was not set at loading
    _unset_credentials: dict[str, str] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _check_communities(self) -> Config:
        ids: dict[str, int] = {}
        spaces: dict[str, str] = {}
        for index, community in enumerate(self.communities):
            if community.id in ids:
                raise _keyed_error(
                    ("communities", index, "id"),
                    f"duplicate community id {community.id!r} "
                    f"(already used by communities[{ids[community.id]}])",
                )
            ids[community.id] = index
            for space_index, space in enumerate(community.spaces):
                key = space.to_ref().key
                if key in spaces:
                    raise _keyed_error(
                        ("communities", index, "spaces", space_index),
                        f"{key} is already listed under community {spaces[key]!r}; "
                        "a chat belongs to one community",
                    )
                spaces[key] = community.id
        return self

    def media_settings(self) -> MediaSettings | None:
        """The ``[media]`` limits with ``storage.media_dir``, as the archive takes them."""
        return self.media.settings(self.storage.media_dir)

    @property
    def path(self) -> Path | None:
        """The file this configuration was loaded from; None for built-in defaults."""
        return self._path

    @property
    def unset_credentials(self) -> dict[str, str]:
        """Credential keys whose ``${VAR}`` was not set, each with its one-line problem."""
        return dict(self._unset_credentials)

    def require_credentials(self) -> None:
        """Raise :class:`ConfigError` (the first unset credential) before connecting to a
        platform; offline commands never call this."""
        for key, problem in self._unset_credentials.items():
            raise ConfigError(problem, path=self._path, key=key)

    def community(self, community_id: str) -> CommunityConfig | None:
        """The community with this id, or None when the config does not list it."""
        return next((c for c in self.communities if c.id == community_id), None)

    def community_for_space(self, platform: str, chat_id: str) -> CommunityConfig | None:
        """The community that lists this chat, or None when no community lists it."""
        for community in self.communities:
            for space in community.spaces:
                if space.platform == platform and space.chat_id == chat_id:
                    return community
        return None


# --- locating and loading ---------------------------------------------------------------------


def resolve_config_path(cli_value: Path | None, environ: Mapping[str, str]) -> Path | None:
    """Which config file to use: ``--config`` if given, else ``$COMMUNITY_MEMORY_CONFIG`` if set,
    else ``./config.toml`` if it exists, else None (built-in defaults).

    An explicitly named file (option or variable) must exist; raises :class:`ConfigError`.
    """
    if cli_value is not None:
        if not cli_value.is_file():
            raise ConfigError("config file not found", path=cli_value)
        return cli_value
    from_env = environ.get(CONFIG_ENV_VAR, "")
    if from_env:
        path = Path(from_env).expanduser()
        if not path.is_file():
            raise ConfigError(f"config file not found (named by {CONFIG_ENV_VAR})", path=path)
        return path
    default = Path(DEFAULT_CONFIG_NAME)
    return default if default.is_file() else None


def load_config(
    path: Path | None,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Config:
    """Read, substitute and validate the config at ``path``, or the built-in defaults for None.

    Relative paths in the file (SQLite database, media and Matrix store folders) are resolved
    against the file's directory; with no file, against ``cwd`` (default: the process's). A
    relative ``path`` is itself taken relative to ``cwd``. ``${VAR}`` in string values is read
    from ``environ`` (default ``os.environ``). Raises :class:`ConfigError` (one line) on any
    problem — but for an unset variable in a credential (``CREDENTIAL_KEYS``), which is
    recorded instead: :meth:`Config.require_credentials` raises it where a platform is needed.
    """
    environ = os.environ if environ is None else environ
    cwd = Path.cwd() if cwd is None else Path(os.path.abspath(cwd))
    unset: dict[str, str] = {}
    if path is None:
        data: dict[str, Any] = {}
        base_dir = cwd
    else:
        file = path.expanduser()
        file = file if file.is_absolute() else cwd / file
        data = _read_toml(path, file)
        data = _substitute(data, (), environ, path, unset)
        base_dir = file.parent
    # So the default database and media folder get resolved like written ones.
    data.setdefault("storage", {})
    try:
        config = Config.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as error:
        raise _config_error(error, path) from None
    config._path = path
    config._unset_credentials = unset
    return config


def _read_toml(shown: Path, file: Path) -> dict[str, Any]:
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ConfigError("config file not found", path=shown) from None
    except OSError as error:
        raise ConfigError(f"cannot read the config file: {error.strerror}", path=shown) from None
    try:
        # utf-8-sig: editors on Windows like to prepend a byte-order mark.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"the config file is not UTF-8 text (byte {error.start})", path=shown
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(_toml_message(str(error), text), path=shown) from None


def _toml_message(message: str, text: str) -> str:
    """tomllib's message as ``line L, column C: invalid TOML: reason``."""
    match = _TOML_POSITION.search(message)
    reason = message[: match.start()] if match else message
    if match and match[1]:
        line, column = int(match[1]), int(match[2])
    else:
        lines = text.split("\n")
        line, column = len(lines), len(lines[-1]) + 1
    reason = reason[:1].lower() + reason[1:]
    return _one_line(f"line {line}, column {column}: invalid TOML: {reason}")


def _substitute(
    value: Any, loc: _Loc, environ: Mapping[str, str], path: Path, unset: dict[str, str]
) -> Any:
    """Replace ``${VAR}`` in every string of the parsed TOML; ``$${`` stands for ``${``.
    An unset variable in a credential is noted in ``unset`` and left as written."""
    if isinstance(value, str):
        return _substitute_text(value, loc, environ, path, unset)
    if isinstance(value, dict):
        return {k: _substitute(v, (*loc, k), environ, path, unset) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, (*loc, i), environ, path, unset) for i, v in enumerate(value)]
    return value


def _substitute_text(
    text: str, loc: _Loc, environ: Mapping[str, str], path: Path, unset: dict[str, str]
) -> str:
    def replace(match: re.Match[str]) -> str:
        if match[0] == "$${":
            return "${"
        name = match[1]
        if name is None or not _ENV_NAME.fullmatch(name):
            raise ConfigError(
                "invalid ${…} reference: write ${NAME} for an environment variable, "
                "or $${ for a literal ${",
                path=path,
                key=_format_loc(loc),
            )
        if name not in environ:
            key = _format_loc(loc)
            problem = f"environment variable {name} is not set"
            if key not in CREDENTIAL_KEYS:
                raise ConfigError(problem, path=path, key=key)
            unset.setdefault(key, problem)
            return match[0]
        return environ[name]

    return _ENV_REF.sub(replace, text)


# --- turning pydantic errors into one line ----------------------------------------------------


def _format_loc(loc: _Loc) -> str:
    """``("communities", 0, "timezone")`` → ``communities[0].timezone``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        # Quoted TOML keys may hold anything, newlines included; keep the message on one line.
        name = part if _BARE_KEY.fullmatch(part) else json.dumps(part, ensure_ascii=False)
        out += f".{name}" if out else name
    return out


def _config_error(error: ValidationError, path: Path | None) -> ConfigError:
    errors = error.errors()
    # A typo'd key also makes its intended key "missing"; the typo is the one to report.
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc: _Loc = tuple(first["loc"])
    ctx = first.get("ctx") or {}
    if first["type"] == "config":
        loc = tuple(ctx["at"])
        reason = str(ctx["reason"])
    elif first["type"] == "extra_forbidden":
        reason = _unknown_key_reason(loc)
    else:
        reason = _reason(first["type"], first["msg"], first.get("input"))
    return ConfigError(_one_line(reason), path=path, key=_format_loc(loc) or None)


_REASONS: dict[str, str] = {
    "missing": "required key is missing",
    "model_type": "must be a table ([section] or { key = value, … })",
    "model_attributes_type": "must be a table ([section] or { key = value, … })",
    "dict_type": "must be a table ([section] or { key = value, … })",
    "list_type": "must be a list ([ … ])",
    "string_type": "must be a string (in quotes)",
    "int_type": "must be a whole number (without quotes)",
    "int_parsing": "must be a whole number (without quotes)",
    "int_from_float": "must be a whole number (without quotes)",
    "bool_type": "must be true or false (without quotes)",
}


def _reason(kind: str, message: str, value: object) -> str:
    if kind in _REASONS:
        return _REASONS[kind]
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            return message[len(prefix) :]
    reason = re.sub(r"^Input should be", "must be", message)
    if isinstance(value, str | int | float) and len(repr(value)) <= 60:
        reason += f" (got {value!r})"
    return reason


def _unknown_key_reason(loc: _Loc) -> str:
    allowed = _allowed_keys(loc[:-1])
    key = str(loc[-1])
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f"unknown key {key!r} (did you mean {close[0]!r}?)"
    return f"unknown key {key!r} (allowed: {', '.join(allowed)})"


def _allowed_keys(loc: _Loc) -> list[str]:
    """The keys allowed in the table at ``loc``, found by walking the models' fields."""
    model: type[BaseModel] | None = Config
    for part in loc:
        if model is None:
            return []
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        model = _model_in(field.annotation) if field else None
    return list(model.model_fields) if model else []


def _model_in(annotation: object) -> type[BaseModel] | None:
    """The model class inside ``X``, ``X | None`` or ``list[X]``, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (list, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def _one_line(text: str) -> str:
    return " ".join(text.split())
