"""The base of every error Community Memory raises on purpose, and storage's own.

``CommunityMemoryError`` lives here, in the lowest layer, so that ``StorageError`` can be one
of the family while imports still go only ``bot → archiver → storage``; ``archiver.errors``
re-exports both and documents the whole tree.
"""

from __future__ import annotations


class CommunityMemoryError(Exception):
    """Base class: a problem the user can understand and fix, shown as one line."""


class StorageError(CommunityMemoryError):
    """The database is unreachable, locked, too new for this release, or refused a write.

    Raised by ``storage`` only, translated from SQLAlchemy/driver errors at the edge that
    calls them. Callers that can wait (the adapters) catch it before the rest of the family:
    the same update is tried again once the database answers."""
