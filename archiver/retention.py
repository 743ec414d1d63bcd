"""Retention: a community that decided ``retention = 5y`` has kept messages older than five
years erased — as ``forget`` erases (rows, versions, tags, search entries, files, residue),
and never silently: each person whose messages went gets an ``erasure`` entry in the consent
ledger saying how many and why, and the run is logged. ``forever`` (the default) erases
nothing. The runner applies it every few hours; each run erases at most ``BATCH`` messages per
transaction, so a first run on a large archive never holds the database for long.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, datetime

from archiver.archive import Archive
from archiver.media_files import remove_unused_files
from storage import people
from storage import policy as policy_store
from storage.erase import erase_messages, merge_search_index, purge_residue
from storage.messages import messages_sent_before
from storage.models import ConsentEvent

log = logging.getLogger(__name__)

BATCH = 5000


def cutoff_of(value: str, now: datetime) -> datetime | None:
    """The moment before which messages go under ``value`` (``None``: ``forever``)."""
    if not value.endswith("y"):
        return None
    years = int(value[:-1])
    moment = now.astimezone(UTC)
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - years, day=28)


def apply_retention(archive: Archive, community_id: str, *, now: datetime | None = None) -> int:
    """Erase the community's kept messages older than its decided retention; how many."""
    moment = now or datetime.now(UTC)
    with archive.db.read() as session:
        decided = policy_store.latest(session, community_id).get("retention")
    cutoff = cutoff_of(decided.value, moment) if decided is not None else None
    if cutoff is None or decided is None:
        return 0
    why = f" (vote {decided.vote_id})" if decided.vote_id else ""
    erased = 0
    while True:
        with archive.db.write() as session:
            found = messages_sent_before(session, community_id, cutoff, BATCH)
            if not found:
                break
            erase_messages(session, [message_id for message_id, _author in found])
            per_person: dict[int, int] = defaultdict(int)
            for _message_id, author in found:
                per_person[author] += 1
            for person_id, count in per_person.items():
                people.append_ledger(
                    session,
                    ConsentEvent(
                        community_id=community_id,
                        person_id=person_id,
                        field="erasure",
                        old_value=None,
                        new_value="retention",
                        method="policy",
                        actor=f"community policy retention {decided.value}",
                        evidence=f"{count} message(s) sent before {cutoff.date().isoformat()}"
                        + why,
                        at=moment,
                    ),
                )
            merge_search_index(session)
        erased += len(found)
    if erased:
        purge_residue(archive.db)
        remove_unused_files(archive)
        log.info("retention %s of %s: %d message(s) erased", decided.value, community_id, erased)
    return erased
