"""Storage's one exception: the database could not do what was asked.

It is raised by ``storage`` only, translated from SQLAlchemy/driver errors at the edge that
calls them, and ``archiver.errors`` re-exports it so callers see one family of errors.
"""

from __future__ import annotations


class StorageError(Exception):
    """The database is unreachable, locked, too new for this release, or refused a write."""
