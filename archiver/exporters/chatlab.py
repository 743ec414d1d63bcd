"""``export chatlab``: a community's kept messages as ChatLab JSON Lines, so residents can take
their archive to the analysis tools they already use (ChatLab's standard format, v0.0.2: a
``header`` line, ``member`` lines, ``message`` lines in the order they were kept — for an
import, the file's order).

What leaves the archive, and what does not:

* Only kept messages (nothing held, nothing of anyone who did not say yes: such people have
  no messages in the archive, and they get no member line).
* A name only as attribution allows: the stored display name of a resident who chose
  ``named``; everyone else is ``anonymous_name`` ("a neighbour").
* A member's ``platformId`` is their account (``wechat:wxid_…``, ``telegram:123``) only when
  they chose ``named``; an anonymous resident is ``person-<n>``, a number that means
  something only inside this file — their platform id would name them. Taggers, consent
  records and the ledger are not exported (``export jsonl`` is the full archive).
* ``meta.platform`` is the platform of the chats with kept messages (``mixed`` when there
  are several); each message's ``platformMessageId`` is ``space-id:message-id`` of the archive, and
  a reply (type 25) has the replied-to message's in ``replyToMessageId`` (that message is in
  the file only when it is kept too).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from archiver.archive import Archive
from archiver.consent_policy import Level, keeps_name
from archiver.errors import UnknownCommunityError
from archiver.exporters.jsonl import check_target, new_file
from storage import communities, dump, imports, people

CHATLAB_VERSION = "0.0.2"
PAGE_SIZE = 5000
# the archive's media kinds → ChatLab's message types (text 0, reply 25)
_TYPES = {
    "photo": 1,
    "voice_message": 2,
    "audio": 2,
    "video": 3,
    "video_file": 3,
    "video_message": 3,
    "file": 4,
    "document": 4,
    "sticker": 5,
    "animation": 5,
    "link": 7,
    "location": 8,
    "venue": 8,
    "forwarded_chat": 26,
    "contact": 27,
    "announcement": 80,  # ChatLab's system type: the text says 群公告 (see below)
    "sign_up": 0,  # 接龙 is text in ChatLab, recognised by its "#接龙"
}
ANNOUNCEMENT = "群公告"

Progress = Callable[[int], None]


@dataclass
class ChatLabReport:
    """What an export wrote."""

    path: Path
    members: int = 0
    messages: int = 0

    def summary(self) -> str:
        """One line for the CLI."""
        return f"wrote {self.path}: {self.messages} messages of {self.members} residents (ChatLab)"


def export_chatlab(
    archive: Archive,
    community_id: str,
    out: Path,
    *,
    anonymous_name: str,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> ChatLabReport:
    """Write the community's kept messages to ``out`` (see the module doc); refuses an
    existing file unless ``overwrite``. The file appears whole or not at all."""
    out = Path(out)
    check_target(out, overwrite=overwrite)
    report = ChatLabReport(out)
    with new_file(out, overwrite=overwrite) as handle, archive.db.read() as session:
        dump.begin_snapshot(session)
        _write(session, community_id, handle.write, anonymous_name, report, progress)
    return report


def _line(write: Callable[[str], object], record: dict[str, Any]) -> None:
    write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")


def _write(
    session: Session,
    community_id: str,
    write: Callable[[str], object],
    anonymous_name: str,
    report: ChatLabReport,
    progress: Progress | None,
) -> None:
    community = communities.get_community(session, community_id)
    if community is None:
        raise UnknownCommunityError(community_id)
    spaces = communities.list_spaces(session, community_id)
    platforms = (
        sorted(
            {
                space.platform
                for space in spaces
                if space.id is not None and imports.space_has_messages(session, space.id)
            }
        )
        or sorted({space.platform for space in spaces})
        or ["mixed"]
    )
    _line(
        write,
        {
            "_type": "header",
            "chatlab": {
                "version": CHATLAB_VERSION,
                "exportedAt": int(datetime.now(UTC).timestamp()),
                "generator": "community-memory",
            },
            "meta": {
                "name": community.name,
                "platform": platforms[0] if len(platforms) == 1 else "mixed",
                "type": "group",
                "groupId": community.id,
            },
        },
    )
    members: dict[int, tuple[str, str]] = {}  # person id → (platformId, name)
    for person in people.people_overview(session, community_id):
        if not person.messages:
            continue  # nothing of theirs is kept: they are not in the file at all
        named = (
            person.attribution == "named"
            and keeps_name(Level(person.level))
            and bool(person.display_name)
            and bool(person.accounts)
        )
        if named:
            assert person.display_name is not None
            members[person.person_id] = (person.accounts[0], person.display_name)
        else:
            members[person.person_id] = (f"person-{len(members) + 1}", anonymous_name)
    for platform_id, name in members.values():
        _line(write, {"_type": "member", "platformId": platform_id, "accountName": name})
    report.members = len(members)
    after = 0
    while True:
        page = dump.messages_page(session, community_id, after, PAGE_SIZE)
        if not page:
            break
        for message in page:
            sender, name = members[message.author_id]
            record: dict[str, Any] = {
                "_type": "message",
                "sender": sender,
                "accountName": name,
                "timestamp": int(message.sent_at.timestamp()),
                "type": _TYPES.get(message.media_kind or "", 0 if not message.media_kind else 99),
                "content": message.text or None,
                "platformMessageId": f"{message.space_id}:{message.platform_message_id}",
            }
            if message.reply_to is not None:
                record["type"] = 25 if record["type"] == 0 else record["type"]
                record["replyToMessageId"] = f"{message.space_id}:{message.reply_to}"
            if message.media_kind == "announcement" and ANNOUNCEMENT not in message.text[:12]:
                record["content"] = f"{ANNOUNCEMENT}：{message.text}"
            _line(write, record)
            report.messages += 1
        after = page[-1].id
        if progress is not None:
            progress(report.messages)
