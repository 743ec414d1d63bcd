"""The ``community-memory`` CLI: each command's success path and its error path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.main import app
from tests.conftest import SHARED_DATA, cli, one_line_error

DEMO = Path(__file__).resolve().parents[1] / "sandbox" / "demo"
SAMPLE = DEMO / "sunshine_garden.json"
ROSTER = DEMO / "roster.csv"
COMMUNITY = "sunshine-garden"
# From sandbox/demo/README.md: a sentence by 赵叔叔 (none) and one by 林姐 (never answered).
REFUSED = (
    "一九八六年这片还是稻田，我骑着二八自行车来这儿钓过黄鳝",
    "我外婆年轻时在黄浦江边卖了三十年栀子花",
)


@pytest.fixture
def config_file(tmp_path: Path, db_url: str) -> Path:
    """A config with the test database and the demo community (its Telegram group)."""
    path = tmp_path / "config.toml"
    path.write_text(
        f'[storage]\nurl = "{db_url}"\n\n'
        f'[[communities]]\nid = "{COMMUNITY}"\nname = "阳光花园"\n'
        'spaces = [{ platform = "telegram", chat = "-1001987654321" }]\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture
def imported(config_file: Path) -> Path:
    """The demo sample imported through the CLI."""
    result = cli(
        config_file,
        "import",
        "telegram",
        str(SAMPLE),
        "--community",
        COMMUNITY,
        "--roster",
        str(ROSTER),
    )
    assert result.exit_code == 0, result.output
    return config_file


def test_import_telegram_reports_and_rerun_adds_nothing(config_file: Path) -> None:
    args = [
        "import",
        "telegram",
        str(SAMPLE),
        "--community",
        COMMUNITY,
        "--roster",
        str(ROSTER),
        "--json",
    ]
    first = json.loads(cli(config_file, *args).stdout)
    assert (first["kept"], first["not_consented"], first["malformed"]) == (174, 113, 0)
    assert first["service"] == 7
    assert first["consent_changes"] == 11
    second = json.loads(cli(config_file, *args).stdout)
    assert (second["kept"], second["already_kept"], second["consent_changes"]) == (0, 174, 0)


def test_import_readable_summary(config_file: Path) -> None:
    result = cli(config_file, "import", "telegram", str(SAMPLE), "--community", COMMUNITY)
    assert result.exit_code == 0
    # Without the roster nobody has consented: nothing is kept.
    assert "0 kept, 287 not kept (no consent), 0 malformed" in result.stdout


def test_import_into_new_community_creates_it(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\nurl = "sqlite:///{tmp_path / "a.db"}"\n', encoding="utf-8")
    result = cli(
        config,
        "import",
        "telegram",
        str(SAMPLE),
        "--community",
        "new-place",
        "--roster",
        str(ROSTER),
    )
    assert result.exit_code == 0, result.output
    assert "created community 'new-place'" in result.stderr
    assert "174 kept" in result.stdout


def test_search_json_and_text(imported: Path) -> None:
    data = json.loads(
        cli(imported, "search", "电梯", "--community", COMMUNITY, "--json", "--limit", "50").stdout
    )
    results = data["results"]
    assert len(results) == 18  # sandbox/demo/README.md: 电梯 in 18 kept messages
    assert all("电梯" in r["text"] for r in results)
    dates = [r["sent_at"] for r in results]
    assert dates == sorted(dates, reverse=True)
    assert set(results[0]) == {
        "id",
        "space",
        "platform_message_id",
        "sent_at",
        "text",
        "author",
        "tags",
        "media_kind",
        "media",
    }
    assert results[0]["sent_at"].endswith("+08:00")
    text = cli(imported, "search", "募捐", "--community", COMMUNITY)
    assert text.exit_code == 0
    assert len(text.stdout.strip().splitlines()) == 4


def test_search_shows_anonymous_authors_as_neighbour(imported: Path) -> None:
    # 陈伟 (telegram:10004) consented to `all` but anonymously.
    data = json.loads(
        cli(
            imported, "search", "volunteer", "--community", COMMUNITY, "--json", "--limit", "50"
        ).stdout
    )
    authors = {r["author"] for r in data["results"]}
    assert "陈伟 Chen Wei" not in authors
    assert None in authors
    readable = cli(imported, "search", "volunteer", "--community", COMMUNITY, "--limit", "50")
    assert "一位邻居" in readable.stdout
    assert "陈伟" not in readable.stdout


def test_search_never_shows_refused_text(imported: Path) -> None:
    for sentence in REFUSED:
        data = json.loads(
            cli(imported, "search", sentence[:6], "--community", COMMUNITY, "--json").stdout
        )
        assert data["results"] == []
    empty = cli(imported, "search", "黄鳝", "--community", COMMUNITY)
    assert "没有找到" in empty.stdout


def test_onthisday_json(imported: Path) -> None:
    data = json.loads(
        cli(
            imported,
            "onthisday",
            "--community",
            COMMUNITY,
            "--date",
            "2026-03-15",
            "--json",
            "--limit",
            "100",
        ).stdout
    )
    assert data["date"] == "2026-03-15"
    # sandbox/demo/README.md: 17 kept messages on 03-15 of 2023, 2024 and 2025 (local time).
    assert len(data["message_ids"]) == 17
    assert {m["sent_at"][5:10] for m in data["memories"]} == {"03-15"}
    quiet = cli(imported, "onthisday", "--community", COMMUNITY, "--date", "2026-01-02")
    assert quiet.exit_code == 0
    assert "还没有留下记忆" in quiet.stdout


def test_forget_person(imported: Path) -> None:
    before = json.loads(
        cli(
            imported, "search", "volunteer", "--community", COMMUNITY, "--json", "--limit", "50"
        ).stdout
    )["results"]
    refused = cli(imported, "forget", "--community", COMMUNITY, "--person", "telegram:10004")
    one_line_error(refused, "--yes", "telegram:10004")  # no terminal to ask on
    assert len(
        json.loads(
            cli(
                imported,
                "search",
                "volunteer",
                "--community",
                COMMUNITY,
                "--json",
                "--limit",
                "50",
            ).stdout
        )["results"]
    ) == len(before), "nothing was erased without a confirmation"
    result = cli(
        imported, "forget", "--community", COMMUNITY, "--person", "telegram:10004", "--yes"
    )
    assert result.exit_code == 0, result.output
    assert "42 message(s)" in result.stdout
    after = json.loads(
        cli(
            imported, "search", "volunteer", "--community", COMMUNITY, "--json", "--limit", "50"
        ).stdout
    )["results"]
    assert len(after) < len(before)
    again = cli(imported, "forget", "--community", COMMUNITY, "--person", "telegram:10004", "--yes")
    assert "0 message(s)" in again.stdout


def test_people_lists_accounts_names_only_when_kept_and_counts(imported: Path) -> None:
    result = cli(imported, "people", "--community", COMMUNITY, "--json")
    assert result.exit_code == 0, result.output
    people = {p["accounts"][0]: p for p in json.loads(result.stdout)}
    assert people["telegram:10001"] == {
        "accounts": ["telegram:10001"], "name": "王阿姨", "consent": "all",
        "attribution": "named", "messages": 55,
    }  # fmt: skip
    assert people["telegram:10007"]["consent"] == "none"
    assert people["telegram:10007"]["name"] is None and people["telegram:10007"]["messages"] == 0
    text = cli(imported, "people", "--community", COMMUNITY)
    assert "telegram:10001" in text.stdout and "王阿姨" in text.stdout


def test_import_warns_about_roster_accounts_not_in_the_export(
    config_file: Path, tmp_path: Path
) -> None:
    roster = tmp_path / "roster.csv"
    lines = ROSTER.read_text(encoding="utf-8").splitlines()
    lines.append("telegram:user99999999,all,named,王阿姨,2026-10-30T19:00:00+08:00,纸质同意书 #099")
    roster.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = cli(
        config_file, "import", "telegram", str(SAMPLE), "--community", COMMUNITY,
        "--roster", str(roster),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "1 roster account(s) wrote nothing in this export" in result.stderr
    assert "telegram:99999999" in result.stderr  # read as the number: the same person


def test_import_takes_the_export_folder(config_file: Path, tmp_path: Path) -> None:
    """Telegram Desktop writes a folder (result.json beside photos/ …): that folder works."""
    folder = tmp_path / "ChatExport_2026-11-30"
    folder.mkdir()
    (folder / "result.json").write_bytes(SAMPLE.read_bytes())
    result = cli(
        config_file, "import", "telegram", str(folder), "--community", COMMUNITY,
        "--roster", str(ROSTER), "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["kept"] == 174
    empty = tmp_path / "empty"
    empty.mkdir()
    one_line_error(
        cli(config_file, "import", "telegram", str(empty), "--community", COMMUNITY),
        "without result.json",
    )


def test_forget_shows_the_name_before_erasing(imported: Path) -> None:
    named = cli(imported, "forget", "--community", COMMUNITY, "--person", "telegram:10001")
    one_line_error(named, "forget 王阿姨 (telegram:10001): add --yes")


def test_version() -> None:
    result = cli(None, "--version")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("community-memory ")


def test_digest_picture_creates_folders_and_refuses_a_folder(
    imported: Path, tmp_path: Path
) -> None:
    into_folder = cli(
        imported,
        "digest",
        "--community",
        COMMUNITY,
        "--week",
        "2023-W48",
        "--picture",
        str(tmp_path),
    )
    one_line_error(into_folder, "is a folder")
    target = tmp_path / "new" / "folder" / "digest.png"
    made = cli(
        imported,
        "digest",
        "--community",
        COMMUNITY,
        "--week",
        "2023-W48",
        "--picture",
        str(target),
    )
    assert made.exit_code == 0, made.output
    if target.exists():  # a picture needs a CJK font
        assert target.read_bytes().startswith(b"\x89PNG")
    else:
        assert "no Chinese font" in made.stderr
    quiet = cli(
        imported,
        "digest",
        "--community",
        COMMUNITY,
        "--week",
        "2001-W01",
        "--picture",
        str(tmp_path / "quiet.png"),
    )
    assert quiet.exit_code == 0, quiet.output
    assert "a quiet week has none" in quiet.stderr
    assert not (tmp_path / "quiet.png").exists()


def test_backup_and_db_upgrade(imported: Path, tmp_path: Path, db_url: str) -> None:
    upgrade = cli(imported, "db", "upgrade")
    assert upgrade.exit_code == 0
    assert "already at schema" in upgrade.stdout
    target = tmp_path / "copy.db"
    result = cli(imported, "backup", str(target))
    if db_url.startswith("sqlite"):
        assert result.exit_code == 0, result.output
        assert target.stat().st_size > 0
        one_line_error(cli(imported, "backup", str(target)), "already exists")
        nested = tmp_path / "backups" / "2026" / "copy.db"
        assert cli(imported, "backup", str(nested)).exit_code == 0
        assert nested.stat().st_size > 0
    else:
        one_line_error(result, "pg_dump")


def test_db_upgrade_creates_archive(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\nurl = "sqlite:///{tmp_path / "new.db"}"\n', encoding="utf-8")
    result = cli(config, "db", "upgrade")
    assert result.exit_code == 0
    assert "upgraded from empty" in result.stdout
    assert (tmp_path / "new.db").exists()


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["search", "电梯", "--community", "nowhere"], ["unknown community 'nowhere'"]),
        (["onthisday", "--community", COMMUNITY, "--date", "2026-13-01"], ["--date"]),
        (["import", "telegram", "/nonexistent.json", "--community", COMMUNITY], ["file not found"]),
        (["import", "element", str(SAMPLE), "--community", COMMUNITY], ["not an Element export"]),
        (["export", "site", "docs", "--community", COMMUNITY], ["not empty", "docs"]),
        (["forget", "--community", COMMUNITY, "--person", "10004"], ["telegram:123456"]),
        (["forget", "--community", COMMUNITY, "--person", "telegram:55555"], ["holds nothing"]),
    ],
)
def test_user_mistakes_are_one_line(imported: Path, args: list[str], fragments: list[str]) -> None:
    one_line_error(cli(imported, *args), *fragments)


def test_reading_commands_do_not_create_an_archive(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\nurl = "sqlite:///{tmp_path / "none.db"}"\n', encoding="utf-8")
    one_line_error(cli(config, "search", "x", "--community", "c"), "no archive")
    assert not (tmp_path / "none.db").exists()


def test_config_typo_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[storage]\nurll = "sqlite:///x.db"\n', encoding="utf-8")
    one_line_error(cli(config, "search", "x", "--community", "c"), "urll", "config.toml")


def test_the_example_config_serves_offline_commands_without_tokens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A volunteer copies config.example.toml and imports before creating any bot: only
    connecting needs the tokens, and `run` says which one in one line."""
    for variable in ("TELEGRAM_BOT_TOKEN", "MATRIX_ACCESS_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    example = (Path(__file__).parents[1] / "config.example.toml").read_text(encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(example, encoding="utf-8")
    imported = cli(
        config,
        "import",
        "telegram",
        str(SAMPLE),
        "--community",
        "sunshine-garden",
        "--roster",
        str(ROSTER),
    )
    assert imported.exit_code == 0, imported.output
    found = cli(config, "search", "电梯", "--community", "sunshine-garden", "--json")
    assert found.exit_code == 0, found.output
    one_line_error(cli(config, "run"), "telegram.token", "TELEGRAM_BOT_TOKEN is not set")
    doctor = cli(config, "doctor")
    assert doctor.exit_code == 1
    lines = doctor.stdout.splitlines()
    assert "✗ telegram.token: environment variable TELEGRAM_BOT_TOKEN is not set" in lines
    assert "✗ matrix.access_token: environment variable MATRIX_ACCESS_TOKEN is not set" in lines
    assert any(line.strip().startswith("fix: export the variable") for line in lines)


def test_doctor_lists_a_config_typo_as_an_item_with_its_fix(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[telegram]\ntokn = "1:x"\n', encoding="utf-8")
    result = cli(config, "doctor")
    assert result.exit_code == 1
    [problem, fix] = result.stdout.splitlines()
    assert problem.startswith("✗ config: ") and "telegram.tokn" in problem
    assert "did you mean 'token'?" in problem
    assert "config.example.toml" in fix


def test_doctor_without_a_platform_names_both(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\nurl = "sqlite:///{tmp_path / "a.db"}"\n', encoding="utf-8")
    result = cli(config, "doctor")
    assert result.exit_code == 1
    assert "[telegram]" in result.stdout and "[matrix]" in result.stdout


def test_roster_error_names_line_and_writes_nothing(config_file: Path, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "account,level,attribution,recorded_by,recorded_at,evidence\n"
        "telegram:10001,all,named,楼长,2026-10-30T19:00:00+08:00,form 1\n"
        "telegram:10002,sometimes,named,楼长,2026-10-30T19:00:00+08:00,form 2\n",
        encoding="utf-8",
    )
    result = cli(
        config_file,
        "import",
        "telegram",
        str(SAMPLE),
        "--community",
        COMMUNITY,
        "--roster",
        str(roster),
    )
    one_line_error(result, "line 3", "sometimes")
    data = json.loads(cli(config_file, "search", "电梯", "--community", COMMUNITY, "--json").stdout)
    assert data["results"] == []


@pytest.mark.parametrize("name", ["tcp_error.json", "tcp_error-unexpected.json"])
def test_broken_sample_exports_fail_clearly(config_file: Path, name: str) -> None:
    path = SHARED_DATA / "telegram" / name
    if not path.exists():
        pytest.skip("../shared/data is not present")
    result = cli(config_file, "import", "telegram", str(path), "--community", COMMUNITY)
    one_line_error(result, name)


def test_demo_runs_offline(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    assert "174 messages kept" in result.stdout
    assert "✗ FOUND" not in result.stdout
    # The live chat ran against the real bot: a refused consent, a not-for-you press, a kept
    # petition after its author said yes, a forgotten message.
    live_refused = ("我去看看，物业说下午修好", "我家门锁密码是1234")
    assert result.stdout.count("✓ absent") == len(REFUSED) + len(live_refused)
    assert "这个问题不是问你的哦" in result.stdout
    assert "那条消息已经从档案中删除" in result.stdout
    database = (tmp_path / "demo" / "archive.db").read_bytes()
    for sentence in (*REFUSED, *live_refused):
        assert sentence.encode() not in database
    site = tmp_path / "demo" / "site"
    assert (site / "index.html").is_file() and "Archive website" in result.stdout
    site_bytes = b"".join(p.read_bytes() for p in site.rglob("*") if p.is_file())
    for sentence in (*REFUSED, *live_refused):
        assert sentence.encode() not in site_bytes
    assert "王阿姨".encode() in database  # the check above can fail: kept names are there
    # The config the demo leaves behind works with the CLI.
    again = cli(tmp_path / "demo" / "config.toml", "search", "电梯", "--community", COMMUNITY)
    assert again.exit_code == 0
    assert "电梯" in again.stdout
    petition = cli(
        tmp_path / "demo" / "config.toml", "search", "petition", "--community", COMMUNITY, "--json"
    )
    assert [r["text"] for r in json.loads(petition.stdout)["results"]] == [
        "I'll bring the petition for the lift repairs."
    ]
    # A second run replaces the first demo's files.
    assert CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "demo")]).exit_code == 0
