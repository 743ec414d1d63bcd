"""``import element``: Element's "Export chat" JSON of a Matrix room, consent first — the same
people and the same space as the live Matrix bot's, edits as versions, redactions not kept."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from archiver.archive import Archive
from archiver.community import CommunitySettings, SpaceRef, ensure_community
from archiver.consent import Actor, Level, Method, set_level
from archiver.events import AccountRef, ChatRef, MessageEvent
from archiver.importers.element import ElementExport
from archiver.importers.pipeline import ImportReport, dry_run, run_import
from archiver.importers.readers import open_for_import
from archiver.ingest import ingest_message
from storage import people
from storage.models import ConsentEvent, Message, MessageVersion, Person, Space, Tag
from tests.conftest import COMMUNITY, SETTINGS, archive_bytes, cli, one_line_error, rows

ROOM = "!lifts2019:example.org"
ALL = "@wang:example.org"
TAGGED = "@tagged:example.org"
NONE = "@none:example.org"
ABSENT = "@absent:example.org"
T0 = int(datetime(2023, 5, 1, 2, 0, tzinfo=UTC).timestamp() * 1000)


def event(n: int, sender: str, kind: str = "m.room.message", **fields: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "room_id": ROOM,
        "sender": sender,
        "event_id": f"$e{n}",
        "origin_server_ts": T0 + n * 60_000,
        "content": {},
        "unsigned": {"age": 1000},
        **fields,
    }


def text(n: int, sender: str, body: str, **content: Any) -> dict[str, Any]:
    return event(n, sender, content={"msgtype": "m.text", "body": body, **content})


def member(n: int, who: str, name: str) -> dict[str, Any]:
    return event(
        n,
        who,
        "m.room.member",
        state_key=who,
        content={"membership": "join", "displayname": name},
    )


def events() -> list[dict[str, Any]]:
    edited = text(6, ALL, "电梯周三修")
    edited["unsigned"]["m.relations"] = {
        "m.replace": {
            "event_id": "$e7",
            "origin_server_ts": T0 + 7 * 60_000,
            "sender": ALL,
            "content": {
                "msgtype": "m.text",
                "body": "* 电梯周四修",
                "m.new_content": {"msgtype": "m.text", "body": "电梯周四修"},
                "m.relates_to": {"rel_type": "m.replace", "event_id": "$e6"},
            },
        }
    }
    redacted = event(8, ALL, content={})
    redacted["unsigned"]["redacted_because"] = {"type": "m.room.redaction", "sender": ALL}
    reply = text(
        9,
        ALL,
        "> <@wang:example.org> 电梯周四修\n\n好的，大家周四走楼梯",
        **{"m.relates_to": {"m.in_reply_to": {"event_id": "$e6"}}},
    )
    return [
        event(0, ALL, "m.room.create", state_key="", content={"creator": ALL}),
        member(1, ALL, "王阿姨"),
        member(2, NONE, "NONE_NAME"),
        text(3, ALL, "各位邻居好，电梯又坏了"),
        text(4, TAGGED, "TAGGED_SECRET 只存被标记的"),
        text(5, NONE, "NONE_SECRET 请不要保存"),
        edited,
        # the edit itself, as Element also lists it
        text(
            7,
            ALL,
            "* 电梯周四修",
            **{
                "m.new_content": {"msgtype": "m.text", "body": "电梯周四修"},
                "m.relates_to": {"rel_type": "m.replace", "event_id": "$e6"},
            },
        ),
        redacted,
        reply,
        text(10, ABSENT, "ABSENT_SECRET 我没回答"),
        event(
            11,
            TAGGED,
            "m.reaction",
            content={"m.relates_to": {"rel_type": "m.annotation", "event_id": "$e3", "key": "📌"}},
        ),
        event(
            12,
            ALL,
            content={"msgtype": "m.image", "body": "lift.jpg", "filename": "lift.jpg"},
        ),
        event(13, ALL, "m.room.encrypted", content={"algorithm": "m.megolm.v1.aes-sha2"}),
    ]


def write_export(path: Path, items: list[dict[str, Any]] | None = None, **header: Any) -> Path:
    document = {
        "room_name": "阳光花园 Matrix",
        "room_creator": ALL,
        "topic": "邻里",
        "export_date": "5/1/2024",
        "exported_by": ALL,
        **header,
        "messages": events() if items is None else items,
    }
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def write_roster(path: Path) -> Path:
    lines = ["account,level,attribution,recorded_by,recorded_at,evidence"]
    for who, level in ((ALL, "all"), (TAGGED, "tagged"), (NONE, "none")):
        lines.append(f"matrix:{who},{level},named,楼长,2023-01-01T10:00:00+08:00,纸质同意书")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def import_element(archive: Archive, path: Path, roster: Path | None = None) -> ImportReport:
    return run_import(
        archive, COMMUNITY, open_for_import("element", path, "Asia/Shanghai"), roster=roster
    )


@pytest.fixture
def imported(archive: Archive, tmp_path: Path) -> tuple[Archive, ImportReport]:
    report = import_element(
        archive, write_export(tmp_path / "export.json"), write_roster(tmp_path / "r.csv")
    )
    return archive, report


def test_only_what_the_roster_allows_is_kept(imported: tuple[Archive, ImportReport]) -> None:
    archive, report = imported
    kept = {m.platform_message_id: m for m in rows(archive, Message)}
    assert set(kept) == {"$e3", "$e6", "$e9", "$e12"}
    assert report.kept == 4
    assert report.not_consented == 3  # tagged (nothing tags it on import), none, absent
    assert report.unsupported == 1  # the encrypted event
    assert report.malformed == 0
    ledger = {e.id: e for e in rows(archive, ConsentEvent)}
    assert all(ledger[m.consent_event_id].new_value == "all" for m in kept.values())
    assert all(m.source == "import:element" for m in kept.values())
    assert kept["$e12"].media_kind == "photo" and kept["$e12"].text == ""


def reaction(n: int, sender: str, target: int, key: str, **fields: Any) -> dict[str, Any]:
    relation = {"rel_type": "m.annotation", "event_id": f"$e{target}", "key": key}
    return event(n, sender, "m.reaction", content={"m.relates_to": relation}, **fields)


def test_keep_reactions_after_the_message_tag_it_on_import(
    archive: Archive, tmp_path: Path
) -> None:
    """Reactions come after their message in the file: the reader's first pass finds them.
    A 📌 on a ``tagged`` author's message keeps it, tagged by whoever reacted; a 👍 tags
    nothing; a 📌 taken back (redacted) tags nothing; a 📌 never keeps a ``none`` author's."""
    taken_back = reaction(23, ALL, 21, "📌")
    taken_back["unsigned"]["redacted_because"] = {"type": "m.room.redaction", "sender": ALL}
    items = [
        member(1, ALL, "王阿姨"),
        text(20, TAGGED, "TAGGED_KEPT 周六九点喷泉边集合"),
        text(21, TAGGED, "TAGGED_UNKEPT 我随便说说"),
        text(22, NONE, "NONE_SECRET 请不要保存"),
        reaction(24, ALL, 20, "📌"),
        reaction(25, ABSENT, 20, "📌"),  # never answered: tags, but is named nowhere
        reaction(26, ALL, 20, "📌"),  # the same person twice: one tag
        reaction(27, ALL, 21, "👍"),
        taken_back,
        reaction(28, ALL, 22, "📌"),
    ]
    path = write_export(tmp_path / "export.json", items)
    report = import_element(archive, path, write_roster(tmp_path / "r.csv"))
    kept = {m.platform_message_id: m for m in rows(archive, Message)}
    assert set(kept) == {"$e20"} and report.kept == 1
    tags = rows(archive, Tag)
    assert {t.platform_message_id for t in tags} == {"$e20"} and len(tags) == 2
    with archive.db.read() as session:
        wang = people.find_person(session, COMMUNITY, "matrix", ALL)
    assert wang is not None and wang.id in {t.tagger_id for t in tags}
    if archive.db.is_sqlite:
        stored = archive_bytes(archive)
        assert b"TAGGED_UNKEPT" not in stored and b"NONE_SECRET" not in stored
    # The preview (``--dry-run``) reads the same reactions.
    preview = dry_run(
        archive,
        COMMUNITY,
        ElementExport(path, ZoneInfo("Asia/Shanghai")),
        keep_emoji=SETTINGS.keep_emoji,
        timezone="Asia/Shanghai",
    )
    by_account = {a.account: a for a in preview.authors}
    assert (by_account[f"matrix:{TAGGED}"].kept, by_account[f"matrix:{TAGGED}"].not_kept) == (1, 1)


def test_the_space_and_people_are_the_live_matrix_bots(
    imported: tuple[Archive, ImportReport],
) -> None:
    archive, _ = imported
    (space,) = [s for s in rows(archive, Space) if s.platform == "matrix"]
    assert space.chat_id == ROOM
    names = {p.display_name for p in rows(archive, Person) if p.display_name}
    assert names == {"王阿姨"}
    # the live bot's message in that room lands in the same space, from the same person
    ingest_message(
        archive,
        MessageEvent(
            chat=ChatRef("matrix", ROOM),
            message_id="$live1",
            author=AccountRef("matrix", ALL),
            sent_at=datetime(2024, 6, 1, tzinfo=UTC),
            text="直播的消息",
        ),
    )
    live = next(m for m in rows(archive, Message) if m.platform_message_id == "$live1")
    imported_one = next(m for m in rows(archive, Message) if m.platform_message_id == "$e3")
    assert (live.space_id, live.author_id) == (imported_one.space_id, imported_one.author_id)


def test_edits_become_versions_and_replies_point_at_their_event(
    imported: tuple[Archive, ImportReport],
) -> None:
    archive, _ = imported
    kept = {m.platform_message_id: m for m in rows(archive, Message)}
    edited = kept["$e6"]
    assert edited.text == "电梯周四修"
    assert edited.edited_at is not None
    (version,) = rows(archive, MessageVersion)
    assert (version.message_id, version.text) == (edited.id, "电梯周三修")
    reply = kept["$e9"]
    assert (reply.reply_to, reply.text) == ("$e6", "好的，大家周四走楼梯")


def test_secrets_never_reach_the_database(
    imported: tuple[Archive, ImportReport], backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("the database file's bytes: SQLite")
    archive, _ = imported
    archive.db.engine.dispose()
    data = archive_bytes(archive)
    assert "各位邻居好".encode() in data
    for secret in ("TAGGED_SECRET", "NONE_SECRET", "ABSENT_SECRET", "NONE_NAME"):
        assert secret.encode() not in data, secret


def test_reimporting_adds_nothing(archive: Archive, tmp_path: Path) -> None:
    path, roster = write_export(tmp_path / "e.json"), write_roster(tmp_path / "r.csv")
    first = import_element(archive, path, roster)
    counts = (len(rows(archive, Message)), len(rows(archive, MessageVersion)))
    again = import_element(archive, path, roster)
    assert (again.kept, again.already, again.consent_changes) == (0, first.kept, 0)
    assert (len(rows(archive, Message)), len(rows(archive, MessageVersion))) == counts


def test_a_second_export_of_the_room_overlaps_without_duplicates(
    archive: Archive, tmp_path: Path
) -> None:
    roster = write_roster(tmp_path / "r.csv")
    import_element(archive, write_export(tmp_path / "a.json", events()[:8]), roster)
    later = [*events()[3:], text(20, ALL, "新的一周")]
    report = import_element(archive, write_export(tmp_path / "b.json", later), roster)
    assert (report.kept, report.already) == (3, 2)  # $e9 $e12 $e20 new; $e3 $e6 again
    assert len(rows(archive, Message)) == 5
    assert len(rows(archive, MessageVersion)) == 1


def test_a_room_the_live_bot_keeps_is_imported_into_its_community(
    archive: Archive, tmp_path: Path
) -> None:
    ensure_community(
        archive,
        CommunitySettings(id="lifts", name="电梯群", spaces=(SpaceRef("matrix", ROOM),)),
    )
    path = write_export(tmp_path / "e.json")
    with pytest.raises(Exception, match="belongs to community 'lifts'"):
        import_element(archive, path)
    set_level(
        archive, "lifts", AccountRef("matrix", ALL), Level.ALL,
        actor=Actor(AccountRef("matrix", ALL)), method=Method.COMMAND,
    )  # fmt: skip
    report = run_import(archive, "lifts", open_for_import("element", path, "Asia/Shanghai"))
    assert report.kept == 4


def test_without_a_room_id_the_export_gets_a_stable_space_of_its_own(tmp_path: Path) -> None:
    items = events()
    for item in items:
        item.pop("room_id")
    one = ElementExport(write_export(tmp_path / "a.json", items), local_tz=None)  # type: ignore[arg-type]
    two = ElementExport(write_export(tmp_path / "b.json", items[:5]), local_tz=None)  # type: ignore[arg-type]
    assert one.chat.chat_id.startswith("element:")
    assert one.chat.chat_id == two.chat.chat_id


# -- malformed files and the CLI ----------------------------------------------------------------


@pytest.fixture
def config_file(tmp_path: Path, db_url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[storage]\nurl = "{db_url}"\n\n[[communities]]\nid = "{COMMUNITY}"\nname = "阳光花园"\n',
        encoding="utf-8",
    )
    return path


def test_a_truncated_export_is_one_line_and_changes_nothing(
    config_file: Path, tmp_path: Path
) -> None:
    path = write_export(tmp_path / "e.json")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    roster = write_roster(tmp_path / "r.csv")
    result = cli(config_file, "import", "element", str(path), "--community", COMMUNITY,
                 "--roster", str(roster))  # fmt: skip
    assert "truncated" in one_line_error(result)
    people = cli(config_file, "people", "--community", COMMUNITY, "--json")
    assert json.loads(people.stdout) == []


def test_a_file_that_is_no_element_export_is_one_line(config_file: Path, tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"name": "x", "messages": []}), encoding="utf-8")
    result = cli(config_file, "import", "element", str(path), "--community", COMMUNITY)
    assert "not an Element export" in one_line_error(result)


def test_import_element_cli_with_dry_run_and_json(config_file: Path, tmp_path: Path) -> None:
    path, roster = write_export(tmp_path / "e.json"), write_roster(tmp_path / "r.csv")
    args = ["import", "element", str(path), "--community", COMMUNITY, "--roster", str(roster)]
    preview = cli(config_file, *args, "--dry-run", "--json")
    assert preview.exit_code == 0, preview.output
    authors = {a["account"]: a for a in json.loads(preview.stdout)["authors"]}
    assert authors[f"matrix:{ALL}"]["would_keep"] == 4
    assert authors[f"matrix:{ALL}"]["name"] == "王阿姨"
    assert authors[f"matrix:{NONE}"]["consent"] == "none"
    result = cli(config_file, *args, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["kept"] == 4


def test_the_zip_form_brings_the_kept_messages_files(tmp_path: Path) -> None:
    """Element's export with attachments: export.json beside images/ and audio/ in a ZIP.
    Wang's photo (GPS EXIF, cleaned) and voice message are kept with their messages; the
    photo of someone who said no is never read; a file Element left out is counted."""
    from tests.test_media import SERIAL, _jpeg_with_gps
    from tests.test_telegram_media import GPS_POSITION

    items = events()
    voice = event(
        14,
        ALL,
        content={
            "msgtype": "m.audio",
            "body": "Voice message.ogg",
            "org.matrix.msc3245.voice": {},
            "info": {"size": 520},
        },
    )
    theirs = event(15, NONE, content={"msgtype": "m.image", "body": "balcony.jpg"})
    left_out = event(16, ALL, content={"msgtype": "m.video", "body": "big.mp4"})
    items += [voice, theirs, left_out]  # fmt: skip
    json_path = write_export(tmp_path / "export.json", items)
    photo = _jpeg_with_gps()
    zipped = tmp_path / "matrix - 阳光花园 - 2024-05-01.zip"
    with zipfile.ZipFile(zipped, "w") as archive_zip:
        archive_zip.writestr("images/lift-01.05.2023, 10:12:00.jpg", photo)
        archive_zip.writestr("audio/Voice message-01.05.2023, 10:14:00.ogg", b"OggS" + bytes(516))
        archive_zip.writestr("images/balcony-01.05.2023, 10:15:00.jpg", b"NOT_TO_BE_READ")
        archive_zip.write(json_path, "export.json")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\nurl = "sqlite:///{tmp_path / "a.db"}"\n\n'
        f'[[communities]]\nid = "{COMMUNITY}"\nname = "阳光花园"\n',
        encoding="utf-8",
    )
    roster = write_roster(tmp_path / "r.csv")
    args = ["import", "element", str(zipped), "--community", COMMUNITY, "--roster", str(roster)]
    result = cli(config, *args, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["files_kept"], report["files_not_exported"]) == (2, 1)
    media = tmp_path / "media"
    stored = [p.read_bytes() for p in media.rglob("*") if p.is_file()]
    assert len(stored) == 3, "the photo, its thumbnail, the voice message"
    assert all(b"NOT_TO_BE_READ" not in data for data in stored)
    assert all(GPS_POSITION not in data and SERIAL not in data for data in stored)
    again = json.loads(cli(config, *args, "--json").stdout)
    assert again["files_kept"] == 2, "a rerun finds them kept"
    assert len([p for p in media.rglob("*") if p.is_file()]) == 3, "nothing twice"
