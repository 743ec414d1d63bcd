"""The Matrix tests' homeserver: the throwaway local Synapse of ``sandbox/synapse.py``.

It moved there because ``community-memory bench`` starts one too (shipped code must not import
from ``tests/``); the names stay importable from here for the tests. The session's one Synapse
is the ``synapse`` fixture in ``tests/conftest.py``.
"""

from __future__ import annotations

from sandbox.synapse import (
    RATE_LIMITS,
    SECRET,
    SERVER_NAME,
    START_TIMEOUT,
    Account,
    Synapse,
    free_port,
    synapse_available,
)

__all__ = [
    "RATE_LIMITS",
    "SECRET",
    "SERVER_NAME",
    "START_TIMEOUT",
    "Account",
    "Synapse",
    "free_port",
    "synapse_available",
]
