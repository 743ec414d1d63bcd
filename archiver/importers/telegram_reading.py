"""Reading an export for ``import``: parse, decide consent, cut the words of what is kept,
and hand it over in batches. Written for ``import telegram`` first, it reads every format the
same way: a reader (``archiver.importers.readers``) yields the entries, this decides them.

This is the importer's first stage (``archiver.importers.pipeline`` writes what it yields). It
needs no database: the consent decisions come in as a plain dict, so the stage can run in a
worker process. For a large export it does (:func:`batches_in_worker`): parsing and cutting
words hold the GIL, and on a second core they overlap with the importer's writing, which
SQLite does mostly without the GIL. The split is by measure (docs/benchmark.md): reading plus
cutting is about half of an import's CPU time, writing with its full-text index the other
half. Batches travel pickled through a pipe, one at a time, so the worker runs at most a batch
or two ahead and memory stays bounded.
"""

from __future__ import annotations

import gc
import os
import pickle
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from archiver.errors import CommunityMemoryError, ImportFormatError
from archiver.importers.entries import EditedMessage, MalformedEntry, Version
from archiver.reactions import bare
from archiver.segmentation import Segmenter

if TYPE_CHECKING:
    from archiver.importers.pipeline import Reader

MALFORMED_EXAMPLES = 5

Consenting = dict[str, tuple[int, int, bool]]
"""author id → (person id, the ledger entry allowing it, kept only when tagged) of those who
said yes"""

KeptMessage = tuple[
    str, datetime, "datetime | None", str, "str | None", "str | None", "str | None", int, int
]
"""(platform id, sent_at, edited_at, text, its index tokens (``None``: left for the importer to
cut), reply_to, media_kind, author's person id, the ledger entry that allows keeping it)"""


@dataclass(slots=True)
class Batch:
    """Messages the consent model keeps, not yet written, with their tags and names, and the
    counts of the entries read so far (cumulative, so the last batch has the totals)."""

    messages: list[KeptMessage] = field(default_factory=list)
    taggers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """platform message id → who put the keep emoji on it (``()``: the export does not say)"""
    names: dict[int, str] = field(default_factory=dict)
    """person id → their latest display name in the batch"""
    seen: int = 0
    """entries read when the batch was cut (for ``progress``)"""
    not_consented: int = 0
    malformed: int = 0
    unsupported: int = 0
    malformed_examples: list[str] = field(default_factory=list)
    service: int = 0
    forgotten: int = 0
    """of ``messages``, how many ``forget`` erased in the archive (set by the importer)"""
    authors: set[str] = field(default_factory=set)
    """authors first met in this batch (whether or not anything of theirs is kept)"""
    versions: dict[str, tuple[Version, ...]] = field(default_factory=dict)
    """platform message id → its earlier texts, for formats that carry edits"""
    skipped: set[str] = field(default_factory=set)
    """of ``messages``, those not written (kept already, or forgotten; set by the importer)"""


def decided_batches(
    export: Reader,
    consenting: Consenting,
    keep_emoji: frozenset[str],
    batch_size: int,
    cut: Callable[[str], str],
    *,
    cut_every_other: bool = False,
) -> Iterator[Batch]:
    """The export's entries decided and cut into batches of at most ``batch_size`` kept
    messages (or ``4 × batch_size`` entries, so a mostly refused export still shows progress).
    Only what the consent model keeps is in them, with its words cut by ``cut`` (the
    segmenter's ``index_tokens``) — with ``cut_every_other``, only every other message's,
    the rest left to the importer (see :func:`batches_in_worker`); everything else is only
    counted."""
    batch = Batch()
    pending = batch.messages
    seen = not_consented = malformed = unsupported = 0
    examples: list[str] = []
    authors: set[str] = set()
    cut_at = quiet = 4 * batch_size
    for entry in export.entries():
        if len(pending) >= batch_size or seen >= cut_at:
            batch.seen, batch.not_consented, batch.malformed = seen, not_consented, malformed
            batch.unsupported = unsupported
            batch.service = export.service_count
            yield batch
            batch = Batch()
            pending = batch.messages
            cut_at = seen + quiet
        seen += 1
        if isinstance(entry, MalformedEntry):
            if entry.unsupported:
                unsupported += 1
                continue
            malformed += 1
            if len(examples) < MALFORMED_EXAMPLES:
                where = f"message {entry.id}" if entry.id else f"entry #{entry.index}"
                examples.append(f"{where}: {entry.reason}")
                batch.malformed_examples.append(examples[-1])
            continue
        author = entry.author_id
        if author is not None and author not in authors:
            authors.add(author)
            batch.authors.add(author)
        decision = consenting.get(author) if author is not None else None
        if decision is None:
            not_consented += 1
            continue
        keep = None
        if entry.reactions:
            for reaction in entry.reactions:
                if bare(reaction.emoji) in keep_emoji:
                    keep = reaction
                    break
        if keep is not None:
            batch.taggers[entry.id] = keep.from_ids
        elif decision[2]:  # an untagged message of someone who said `tagged`
            not_consented += 1
            continue
        person_id = decision[0]
        pending.append(
            (
                entry.id,
                entry.sent_at,
                entry.edited_at,
                entry.text,
                None if cut_every_other and len(pending) & 1 else cut(entry.text),
                entry.reply_to,
                entry.media_kind,
                person_id,
                decision[1],
            )
        )
        if entry.author_name:
            batch.names[person_id] = entry.author_name
        if entry.__class__ is EditedMessage:
            batch.versions[entry.id] = entry.versions
    batch.seen, batch.not_consented, batch.malformed = seen, not_consented, malformed
    batch.unsupported = unsupported
    batch.service = export.service_count
    yield batch


def batches_in_worker(
    path: Path,
    local_tz: ZoneInfo,
    consenting: Consenting,
    keep_emoji: frozenset[str],
    batch_size: int,
    words: Sequence[str] = (),
    *,
    fmt: str = "telegram",
) -> Iterator[Batch]:
    """:func:`decided_batches` of the export at ``path`` (read as ``fmt``, a reader of
    ``archiver.importers.readers``), computed in a worker process.

    The worker is this module run by the same interpreter (``python -m``), not a
    ``multiprocessing`` child: nothing of the importer's process is forked (it has threads)
    or imported again (its main script). Arguments go in pickled on its stdin, batches come
    back pickled on its stdout. An ``ImportFormatError`` of the worker is raised here as it
    was raised there; the worker is stopped when the caller stops early.

    The worker cuts the words of every other kept message and leaves the rest to the
    importer's main thread: on two cores, the reading process and the writing process are
    then about equally busy (the main thread is otherwise idle while SQLite writes; measured
    in docs/benchmark.md). ``words`` are the community words the segmenter was taught.
    """
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(entry for entry in sys.path if entry)}
    worker = subprocess.Popen(
        [sys.executable, "-m", __name__],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
    )
    assert worker.stdin is not None and worker.stdout is not None
    try:
        with worker.stdin:
            arguments = (
                fmt,
                str(path),
                local_tz.key,
                consenting,
                keep_emoji,
                batch_size,
                list(words),
            )
            pickle.dump(arguments, worker.stdin)
        while True:
            try:
                message = pickle.load(worker.stdout)
            except EOFError:
                raise CommunityMemoryError(
                    f"{path}: the export reader stopped unexpectedly (exit code {worker.wait()})"
                ) from None
            kind = message[0]
            if kind == "batch":
                yield message[1]
            elif kind == "done":
                return
            elif kind == "format":
                _, reason, entry = message
                raise ImportFormatError(reason, path=path, entry=entry)
            else:
                raise CommunityMemoryError(f"{path}: the export reader failed: {message[1]}")
    finally:
        if worker.poll() is None:
            worker.kill()
        worker.stdout.close()
        worker.wait()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while batches are read or written.

    Reading and writing create millions of short-lived tuples, strings and datetimes, none in
    reference cycles (reference counting frees them), yet every 700 new containers trigger a
    collection that walks the young ones: about a tenth of an import's time for nothing.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _work() -> None:
    """The worker (``python -m archiver.importers.telegram_reading``): read the arguments,
    send every batch, then ``done`` (or what went wrong)."""
    gc.disable()  # see collector_paused: the worker only reads, decides and sends
    fmt, path, zone, consenting, keep_emoji, batch_size, words = pickle.load(sys.stdin.buffer)
    # The pipe to the importer carries pickles only: it gets a descriptor of its own, and
    # anything a library prints (Python or C, to descriptor 1) goes to stderr instead.
    sys.stdout.flush()
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    try:
        from archiver.importers.readers import open_reader

        export = open_reader(fmt, Path(path), ZoneInfo(zone))
        cut = Segmenter(words).index_tokens
        batches = decided_batches(
            export, consenting, keep_emoji, batch_size, cut, cut_every_other=True
        )
        for batch in batches:
            pickle.dump(("batch", batch), out, pickle.HIGHEST_PROTOCOL)
            out.flush()
        pickle.dump(("done",), out)
    except ImportFormatError as error:
        prefix = (f"{error.path}: " if error.path else "") + (
            f"{error.entry}: " if error.entry else ""
        )
        text = str(error)
        pickle.dump(("format", text.removeprefix(prefix), error.entry), out)
    except BrokenPipeError:  # the importer stopped reading: nothing to tell
        return
    except Exception as error:  # reported to the importer, which raises it
        pickle.dump(("failed", f"{type(error).__name__}: {error}"), out)
    out.flush()


if __name__ == "__main__":
    # run the module's own copy (not __main__'s), so that batches pickle as its Batch
    from archiver.importers.telegram_reading import _work as work

    work()
