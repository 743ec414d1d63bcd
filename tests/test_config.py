"""Configuration: defaults, the documented example, ${VAR}, relative paths and one-line errors."""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from pydantic import BaseModel

from archiver.community import CommunitySettings, SpaceRef
from archiver.errors import ConfigError
from bot.app.config import (
    CONFIG_ENV_VAR,
    CommunityConfig,
    Config,
    MatrixConfig,
    load_config,
    resolve_config_path,
)

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "config.example.toml"
DOCS = REPO / "docs" / "config.md"
EXAMPLE_ENV = {"TELEGRAM_BOT_TOKEN": "123456:telegram-token", "MATRIX_ACCESS_TOKEN": "syt_matrix"}

COMMUNITY = '[[communities]]\nid = "a"\nname = "A"\n'
MATRIX = '[matrix]\nhomeserver = "https://m.example.org"\nuser_id = "@bot:example.org"\n'


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def load_text(tmp_path: Path, text: str, environ: Mapping[str, str] | None = None) -> Config:
    return load_config(write(tmp_path, text), environ=environ or {})


def config_error(
    tmp_path: Path, text: str, key: str | None, environ: Mapping[str, str] | None = None
) -> str:
    """Load ``text`` expecting a ConfigError that is one line, names the file and ``key``."""
    path = write(tmp_path, text, name="community.toml")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ=environ or {})
    message = str(caught.value)
    assert "\n" not in message and "\r" not in message
    assert "community.toml" in message
    assert caught.value.path == path
    if key is not None:
        assert caught.value.key == key
        assert f": {key}: " in message
    return message


# --- defaults and the example ------------------------------------------------------------------


def test_defaults_without_a_file(tmp_path: Path) -> None:
    config = load_config(None, environ={}, cwd=tmp_path)
    assert config.storage.url == f"sqlite:///{tmp_path.as_posix()}/community-memory.db"
    assert config.storage.media_dir == str(tmp_path / "media")
    assert config.telegram is None
    assert config.matrix is None
    assert config.communities == []
    assert config.path is None
    assert config.community("anything") is None


def test_community_defaults() -> None:
    community = CommunityConfig(id="a", name="A")
    assert community.to_settings() == CommunitySettings(id="a", name="A")
    assert (community.language, community.timezone) == ("zh", "Asia/Shanghai")
    assert (community.digest, community.on_this_day) == ("sun 20:00", "09:00")
    assert (community.keep_emoji, community.hold_hours) == ("📌", 72)


def test_example_loads_as_documented() -> None:
    config = load_config(EXAMPLE, environ=EXAMPLE_ENV)
    assert config.path == EXAMPLE
    assert config.storage.url == f"sqlite:///{REPO.as_posix()}/community-memory.db"
    assert config.storage.media_dir == str(REPO / "media")
    assert config.telegram is not None
    assert config.telegram.token == EXAMPLE_ENV["TELEGRAM_BOT_TOKEN"]
    assert config.telegram.base_url == ""
    assert config.matrix == MatrixConfig(
        homeserver="https://matrix.example.org",
        user_id="@memory:example.org",
        access_token=EXAMPLE_ENV["MATRIX_ACCESS_TOKEN"],
        device_id="COMMUNITYMEMORY",
        store_dir=str(REPO / "matrix-store"),
    )
    assert [c.to_settings() for c in config.communities] == [
        CommunitySettings(
            id="sunshine-garden",
            name="阳光花园",
            language="zh",
            timezone="Asia/Shanghai",
            keep_emoji="📌",
            hold_hours=72,
            digest="sun 20:00",
            on_this_day="09:00",
            spaces=(
                SpaceRef("telegram", "-1001234567890"),
                SpaceRef("matrix", "!abcdef:example.org"),
            ),
        ),
        CommunitySettings(
            id="riverside-court",
            name="Riverside Court",
            language="en",
            timezone="Europe/London",
            keep_emoji="⭐",
            hold_hours=48,
            digest="fri 18:30",
            on_this_day="",
            spaces=(SpaceRef("telegram", "-1009876543210"),),
        ),
    ]
    garden = config.community("sunshine-garden")
    assert garden is not None and garden.name == "阳光花园"
    assert config.community_for_space("matrix", "!abcdef:example.org") is garden
    assert config.community_for_space("telegram", "-1009876543210") is config.communities[1]
    assert config.community_for_space("telegram", "-1") is None


def _models_keys(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(dotted path, key) for every field of ``model`` and of the models inside it."""
    for name, field in model.model_fields.items():
        yield f"{prefix}{name}", name
        for inner in _models_in(field.annotation):
            yield from _models_keys(inner, f"{prefix}{name}.")


def _models_in(annotation: object) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    elif typing.get_origin(annotation) in (list, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            yield from _models_in(arg)


ALL_KEYS = sorted(set(_models_keys(Config)))


def test_the_key_walk_sees_nested_models() -> None:
    paths = {path for path, _ in ALL_KEYS}
    assert {"storage.url", "matrix.password", "communities.spaces.room"} <= paths


@pytest.mark.parametrize(("path", "key"), ALL_KEYS, ids=[p for p, _ in ALL_KEYS])
def test_every_key_is_documented_in_the_example(path: str, key: str) -> None:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    table = re.compile(rf"^\s*\[\[?{key}\]\]?\s*$")
    assignment = re.compile(rf"(^[#\s]*|[{{,]\s*){key}\s*=")
    found = [i for i, line in enumerate(lines) if table.search(line) or assignment.search(line)]
    assert found, f"{path} is missing from config.example.toml"
    first = found[0]
    previous = next((line for line in reversed(lines[:first]) if line.strip()), "")
    assert "#" in lines[first] or previous.lstrip().startswith("#"), f"{path} has no comment"


@pytest.mark.parametrize(("path", "key"), ALL_KEYS, ids=[p for p, _ in ALL_KEYS])
def test_every_key_is_in_the_reference_docs(path: str, key: str) -> None:
    docs = DOCS.read_text(encoding="utf-8")
    forms = (key, f"[{key}]", f"[[{key}]]")
    assert any(f"`{form}`" in docs for form in forms), f"{path} is missing from docs/config.md"


# --- values ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chat", "expected"),
    [("-1001234567890", "-1001234567890"), ("-1001234567890", "-1001234567890"), ("42", "42")],
)
def test_integer_chat_ids_become_text(tmp_path: Path, chat: str, expected: str) -> None:
    text = COMMUNITY + f'spaces = [{{ platform = "telegram", chat = {chat} }}]\n'
    (space,) = load_text(tmp_path, text).communities[0].spaces
    assert space.chat == expected
    assert space.to_ref() == SpaceRef("telegram", expected)


@pytest.mark.parametrize(
    ("written", "canonical"),
    [("sun 20:00", "sun 20:00"), ("Mon 9:05", "mon 09:05"), ("  sat  23:59 ", "sat 23:59")],
)
def test_digest_is_normalised(tmp_path: Path, written: str, canonical: str) -> None:
    community = load_text(tmp_path, COMMUNITY + f'digest = "{written}"\n').communities[0]
    assert community.digest == canonical


@pytest.mark.parametrize("field", ["digest", "on_this_day"])
def test_schedules_can_be_switched_off(tmp_path: Path, field: str) -> None:
    community = load_text(tmp_path, COMMUNITY + f'{field} = ""\n').communities[0]
    assert getattr(community, field) == ""


@pytest.mark.parametrize(
    ("kind", "line"),
    [("access_token", 'access_token = "tok"'), ("password", 'password = "secret"')],
)
def test_matrix_accepts_one_credential(tmp_path: Path, kind: str, line: str) -> None:
    matrix = load_text(tmp_path, MATRIX + line + "\n").matrix
    assert matrix is not None
    assert getattr(matrix, kind)
    assert matrix.device_id == "COMMUNITYMEMORY"


# --- ${VAR} substitution -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("${NAME}", "Sunshine"),
        ("${NAME} ${PLACE}", "Sunshine Garden"),
        ("$${NAME}", "${NAME}"),
        ("cost $$5 and $5", "cost $$5 and $5"),
        ("$${NAME} is ${NAME}", "${NAME} is Sunshine"),
    ],
)
def test_environment_substitution(tmp_path: Path, written: str, expected: str) -> None:
    text = f'[[communities]]\nid = "a"\nname = "{written}"\n'
    config = load_text(tmp_path, text, environ={"NAME": "Sunshine", "PLACE": "Garden"})
    assert config.communities[0].name == expected


def test_substitution_reads_os_environ_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CM_TEST_TOKEN", "from-os")
    path = write(tmp_path, '[telegram]\ntoken = "${CM_TEST_TOKEN}"\n')
    telegram = load_config(path).telegram
    assert telegram is not None and telegram.token == "from-os"


def test_missing_environment_variable(tmp_path: Path) -> None:
    text = COMMUNITY + 'spaces = [{ platform = "matrix", room = "${ROOM}" }]\n'
    message = config_error(tmp_path, text, "communities[0].spaces[0].room")
    assert "environment variable ROOM is not set" in message


@pytest.mark.parametrize(
    ("text", "key", "variable"),
    [
        ('[telegram]\ntoken = "${TELEGRAM_BOT_TOKEN}"\n', "telegram.token", "TELEGRAM_BOT_TOKEN"),
        (
            MATRIX + 'access_token = "${MATRIX_ACCESS_TOKEN}"\n',
            "matrix.access_token",
            "MATRIX_ACCESS_TOKEN",
        ),
        (MATRIX + 'password = "${MATRIX_PASSWORD}"\n', "matrix.password", "MATRIX_PASSWORD"),
    ],
)
def test_an_unset_credential_is_needed_only_to_connect(
    tmp_path: Path, text: str, key: str, variable: str
) -> None:
    """Offline commands load a config copied from the example without the bot's secrets;
    connecting (``run``, ``doctor``, ``--post``) asks for them in one line."""
    config = load_text(tmp_path, text)
    assert config.unset_credentials == {key: f"environment variable {variable} is not set"}
    with pytest.raises(ConfigError) as caught:
        config.require_credentials()
    assert str(caught.value).endswith(f"{key}: environment variable {variable} is not set")
    load_text(tmp_path, text, environ={variable: "set"}).require_credentials()


def test_missing_variable_message_matches_the_documented_form(tmp_path: Path) -> None:
    path = write(tmp_path, '[telegram]\ntoken = "${TELEGRAM_BOT_TOKEN}"\n')
    config = load_config(Path("config.toml"), environ={}, cwd=tmp_path)
    assert path.exists()
    with pytest.raises(ConfigError) as caught:
        config.require_credentials()
    assert str(caught.value) == (
        "config.toml: telegram.token: environment variable TELEGRAM_BOT_TOKEN is not set"
    )


@pytest.mark.parametrize("written", ["${}", "${1ABC}", "${A:-b}", "${UNCLOSED"])
def test_malformed_reference(tmp_path: Path, written: str) -> None:
    message = config_error(tmp_path, f'[telegram]\ntoken = "{written}"\n', "telegram.token")
    assert "$${" in message


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "suggestion"),
    [
        ('[storage]\nurll = "sqlite://"\n', "storage.urll", "'url'"),
        ('[telegarm]\ntoken = "x"\n', "telegarm", "'telegram'"),
        ('[telegram]\ntokn = "x"\n', "telegram.tokn", "'token'"),
        (MATRIX + 'acess_token = "x"\n', "matrix.acess_token", "'access_token'"),
        ('[[communities]]\nid = "a"\nnmae = "A"\n', "communities[0].nmae", "'name'"),
        (COMMUNITY + 'timzone = "UTC"\n', "communities[0].timzone", "'timezone'"),
        (
            COMMUNITY + 'spaces = [{ platform = "telegram", chta = "1" }]\n',
            "communities[0].spaces[0].chta",
            "'chat'",
        ),
        ('[[community]]\nid = "a"\n', "community", "'communities'"),
    ],
)
def test_typo_names_the_key_and_suggests(
    tmp_path: Path, text: str, key: str, suggestion: str
) -> None:
    message = config_error(tmp_path, text, key)
    assert f"did you mean {suggestion}?" in message


def test_unknown_key_without_a_close_match_lists_the_allowed_ones(tmp_path: Path) -> None:
    message = config_error(tmp_path, "zzz = 1\n", "zzz")
    assert "allowed: storage, media, site, telegram, matrix, communities" in message


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        # time zone
        (COMMUNITY + 'timezone = "Asia/Shanghi"\n', "communities[0].timezone", "Asia/Shanghai"),
        (COMMUNITY + 'timezone = "Mars/Base"\n', "communities[0].timezone", "unknown time zone"),
        (COMMUNITY + 'timezone = "../etc"\n', "communities[0].timezone", "unknown time zone"),
        # digest and on-this-day
        (COMMUNITY + 'digest = "sunday 20:00"\n', "communities[0].digest", "'<day> HH:MM'"),
        (COMMUNITY + 'digest = "sun 24:00"\n', "communities[0].digest", "'<day> HH:MM'"),
        (COMMUNITY + 'digest = "20:00"\n', "communities[0].digest", "'<day> HH:MM'"),
        (COMMUNITY + 'on_this_day = "9am"\n', "communities[0].on_this_day", "HH:MM"),
        (COMMUNITY + 'on_this_day = "09:60"\n', "communities[0].on_this_day", "HH:MM"),
        # language
        (COMMUNITY + 'language = "fr"\n', "communities[0].language", "'zh' or 'en'"),
        (COMMUNITY + 'language = "zh-CN"\n', "communities[0].language", "'zh' or 'en'"),
        # community fields
        ('[[communities]]\nid = "Sunshine Garden"\nname = "A"\n', "communities[0].id", "id"),
        ('[[communities]]\nid = "-a"\nname = "A"\n', "communities[0].id", "lowercase"),
        ('[[communities]]\nid = "a"\n', "communities[0].name", "required"),
        ('[[communities]]\nid = "a"\nname = " "\n', "communities[0].name", "empty"),
        (COMMUNITY + "hold_hours = 0\n", "communities[0].hold_hours", "greater than or equal"),
        (COMMUNITY + "hold_hours = 721\n", "communities[0].hold_hours", "less than or equal"),
        (COMMUNITY + 'hold_hours = "72"\n', "communities[0].hold_hours", "whole number"),
        (COMMUNITY + "hold_hours = true\n", "communities[0].hold_hours", "whole number"),
        (COMMUNITY + 'keep_emoji = ""\n', "communities[0].keep_emoji", "emoji"),
        (COMMUNITY + 'keep_emoji = "keep this one"\n', "communities[0].keep_emoji", "emoji"),
        # spaces
        (
            COMMUNITY + 'spaces = [{ platform = "discord", chat = "1" }]\n',
            "communities[0].spaces[0].platform",
            "'telegram' or 'matrix'",
        ),
        (
            COMMUNITY + 'spaces = [{ platform = "telegram" }]\n',
            "communities[0].spaces[0].chat",
            "needs chat",
        ),
        (
            COMMUNITY + 'spaces = [{ platform = "telegram", chat = "@group" }]\n',
            "communities[0].spaces[0].chat",
            "Telegram chat id",
        ),
        (
            COMMUNITY + 'spaces = [{ platform = "telegram", chat = true }]\n',
            "communities[0].spaces[0].chat",
            "chat id",
        ),
        (
            COMMUNITY + 'spaces = [{ platform = "telegram", chat = [1] }]\n',
            "communities[0].spaces[0].chat",
            "chat id",
        ),
        (
            COMMUNITY + 'spaces = [{ platform = "matrix", room = 1 }]\n',
            "communities[0].spaces[0].room",
            "string",
        ),
        (COMMUNITY + "digest = 5\n", "communities[0].digest", "string"),
        (COMMUNITY + "hold_hours = 72.5\n", "communities[0].hold_hours", "whole number"),
        (
            COMMUNITY + 'spaces = [{ chat = "1" }]\n',
            "communities[0].spaces[0].platform",
            "required",
        ),
        (
            COMMUNITY + 'spaces = [{ platform = "telegram", chat = "1", room = "!r:x" }]\n',
            "communities[0].spaces[0].room",
            "has chat, not room",
        ),
        (
            COMMUNITY + 'spaces = [{ platform = "matrix", room = "#alias:example.org" }]\n',
            "communities[0].spaces[0].room",
            "alias",
        ),
        (
            COMMUNITY + 'spaces = [{ platform = "matrix" }]\n',
            "communities[0].spaces[0].room",
            "needs room",
        ),
        (
            COMMUNITY + 'spaces = [{ platform = "matrix", chat = "1", room = "!r:x" }]\n',
            "communities[0].spaces[0].chat",
            "has room, not chat",
        ),
        # platforms and storage
        ('[telegram]\ntoken = ""\n', "telegram.token", "empty"),
        ("[telegram]\n", "telegram.token", "required"),
        ('[telegram]\ntoken = "t"\nbase_url = "localhost"\n', "telegram.base_url", "http"),
        (MATRIX + 'access_token = "t"\npassword = "p"\n', "matrix.password", "not both"),
        (MATRIX, "matrix.access_token", "access_token or password"),
        (MATRIX + 'access_token = ""\npassword = ""\n', "matrix.access_token", "password"),
        (
            '[matrix]\nhomeserver = "matrix.example.org"\nuser_id = "@b:x"\naccess_token = "t"\n',
            "matrix.homeserver",
            "https://",
        ),
        (
            '[matrix]\nhomeserver = "https://x"\nuser_id = "bot"\naccess_token = "t"\n',
            "matrix.user_id",
            "user id",
        ),
        ('[storage]\nurl = "community.db"\n', "storage.url", "database URL"),
        ('[storage]\nmedia_dir = ""\n', "storage.media_dir", "empty"),
        # wrong shapes never leak a pydantic message
        ("storage = 1\n", "storage", "table"),
        ("telegram = []\n", "telegram", "table"),
        ("communities = 5\n", "communities", "list"),
        ('[communities]\nid = "a"\nname = "A"\n', "communities", "list"),
        ("[[communities]]\nid = 1\nname = 2\n", "communities[0].id", "string"),
        (COMMUNITY + "spaces = [1]\n", "communities[0].spaces[0]", "table"),
        ('"multi\\nline" = 1\n', '"multi\\nline"', "unknown key"),
    ],
)
def test_bad_values(tmp_path: Path, text: str, key: str, fragment: str) -> None:
    assert fragment in config_error(tmp_path, text, key)


def test_duplicate_community_id(tmp_path: Path) -> None:
    message = config_error(tmp_path, COMMUNITY + COMMUNITY, "communities[1].id")
    assert "duplicate community id 'a'" in message


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ('{ platform = "telegram", chat = "-100" }', '{ platform = "telegram", chat = -100 }'),
        ('{ platform = "matrix", room = "!r:x" }', '{ platform = "matrix", room = "!r:x" }'),
    ],
)
def test_a_space_belongs_to_one_community(tmp_path: Path, first: str, second: str) -> None:
    text = (
        f'[[communities]]\nid = "a"\nname = "A"\nspaces = [{first}]\n'
        f'[[communities]]\nid = "b"\nname = "B"\nspaces = [{second}]\n'
    )
    message = config_error(tmp_path, text, "communities[1].spaces[0]")
    assert "already listed under community 'a'" in message


def test_a_space_listed_twice_in_one_community(tmp_path: Path) -> None:
    space = '{ platform = "telegram", chat = "-100" }'
    text = COMMUNITY + f"spaces = [{space}, {space}]\n"
    config_error(tmp_path, text, "communities[0].spaces[1]")


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ('[storage]\nurl = "sqlite://"\nmedia_dir = = "x"\n', "line 3, column 13"),
        ('[storage]\nurl = "sqlite://\n', "line 2"),
        ("[storage]\nurl = ", "line 2, column 7"),
        ('[storage]\nurl = "a://"\nurl = "b://"\n', "line"),
    ],
)
def test_toml_syntax_error_shows_the_line(tmp_path: Path, text: str, position: str) -> None:
    message = config_error(tmp_path, text, None)
    assert position in message
    assert "invalid TOML" in message


def test_unreadable_file(tmp_path: Path) -> None:
    folder = tmp_path / "community.toml"
    folder.mkdir()
    with pytest.raises(ConfigError) as caught:
        load_config(folder, environ={})
    assert "cannot read" in str(caught.value) and "community.toml" in str(caught.value)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "community.toml"
    path.write_bytes(b'[storage]\nurl = "\xff"\n')
    with pytest.raises(ConfigError, match=r"community\.toml: .*not UTF-8"):
        load_config(path, environ={})


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes("\ufeff".encode() + COMMUNITY.encode())
    assert load_config(path, environ={}).communities[0].id == "a"


# --- relative paths ----------------------------------------------------------------------------


def test_relative_paths_follow_the_config_file(tmp_path: Path) -> None:
    folder = tmp_path / "deploy"
    text = (
        '[storage]\nurl = "sqlite:///data/archive.db"\nmedia_dir = "files/media"\n'
        + MATRIX
        + 'access_token = "t"\nstore_dir = "nio"\n'
    )
    config = load_config(write(folder, text), environ={}, cwd=tmp_path / "elsewhere")
    assert config.storage.url == f"sqlite:///{folder.as_posix()}/data/archive.db"
    assert config.storage.media_dir == str(folder / "files" / "media")
    assert config.matrix is not None
    assert config.matrix.store_dir == str(folder / "nio")


def test_defaults_follow_the_config_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MATRIX + 'password = "p"\n'), environ={})
    assert config.storage.url == f"sqlite:///{tmp_path.as_posix()}/community-memory.db"
    assert config.storage.media_dir == str(tmp_path / "media")
    assert config.matrix is not None and config.matrix.store_dir == str(tmp_path / "matrix-store")


def test_relative_config_path_is_taken_from_cwd(tmp_path: Path) -> None:
    write(tmp_path / "conf", COMMUNITY)
    config = load_config(Path("conf/config.toml"), environ={}, cwd=tmp_path)
    assert config.storage.url == f"sqlite:///{(tmp_path / 'conf').as_posix()}/community-memory.db"
    assert config.path == Path("conf/config.toml")


@pytest.mark.parametrize(
    "url",
    [
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite:////var/lib/memory/archive.db",
        "postgresql+psycopg://memory@localhost/community_memory",
        "sqlite:///file:archive?mode=ro&uri=true",
    ],
)
def test_urls_kept_as_written(tmp_path: Path, url: str) -> None:
    assert load_text(tmp_path, f'[storage]\nurl = "{url}"\n').storage.url == url


def test_sqlite_query_and_driver_survive_resolution(tmp_path: Path) -> None:
    url = load_text(tmp_path, '[storage]\nurl = "sqlite+pysqlite:///a.db?timeout=5"\n').storage.url
    assert url == f"sqlite+pysqlite:///{tmp_path.as_posix()}/a.db?timeout=5"


def test_absolute_directories_kept(tmp_path: Path) -> None:
    media = tmp_path / "absolute-media"
    config = load_text(tmp_path / "x", f'[storage]\nmedia_dir = "{media.as_posix()}"\n')
    assert config.storage.media_dir == str(media)


# --- which file ----------------------------------------------------------------------------------


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_option_wins_over_variable_and_default(workdir: Path) -> None:
    option = write(workdir, "", name="option.toml")
    variable = write(workdir, "", name="variable.toml")
    write(workdir, "")
    environ = {CONFIG_ENV_VAR: str(variable)}
    assert resolve_config_path(option, environ) == option


def test_variable_wins_over_default(workdir: Path) -> None:
    variable = write(workdir, "", name="variable.toml")
    write(workdir, "")
    assert resolve_config_path(None, {CONFIG_ENV_VAR: str(variable)}) == variable


def test_default_file_in_cwd(workdir: Path) -> None:
    write(workdir, "")
    found = resolve_config_path(None, {CONFIG_ENV_VAR: ""})
    assert found is not None and found.resolve() == (workdir / "config.toml").resolve()


def test_no_file_means_builtin_defaults(workdir: Path) -> None:
    assert resolve_config_path(None, {}) is None


@pytest.mark.parametrize("source", ["option", "variable"])
def test_a_named_file_must_exist(workdir: Path, source: str) -> None:
    write(workdir, "")  # a default file must not hide the mistake
    missing = workdir / "missing.toml"
    with pytest.raises(ConfigError) as caught:
        if source == "option":
            resolve_config_path(missing, {})
        else:
            resolve_config_path(None, {CONFIG_ENV_VAR: str(missing)})
    message = str(caught.value)
    assert "\n" not in message
    assert "missing.toml" in message and "config file not found" in message
    if source == "variable":
        assert CONFIG_ENV_VAR in message


def test_load_reports_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"gone\.toml: config file not found"):
        load_config(tmp_path / "gone.toml", environ={})
