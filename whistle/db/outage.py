"""Which driver errors mean "the database is not available right now", in one place.

Both the command line (one sentence instead of a traceback) and the web (503 with Retry-After
instead of 500) ask this module, so the two agree on what an outage is.
"""

from __future__ import annotations

import sqlite3

import asyncpg

# SQLite says these when the file or its directory cannot be written or opened; they pass when
# an administrator fixes the disk, so they are outages, not bugs.
_SQLITE_OUTAGE_WORDS = (
    "unable to open",
    "readonly",
    "read-only",
    "disk i/o",
    "database or disk is full",
    "database is locked",
    "disk image is malformed",
)


def is_unavailable(error: BaseException) -> bool:
    """True when ``error`` says the database cannot be reached or written at the moment
    (server down, refused, authentication, missing database, read-only or full disk)."""
    if isinstance(error, OSError | TimeoutError):
        return True
    if isinstance(
        error,
        asyncpg.PostgresConnectionError
        | asyncpg.InterfaceError
        # A pooled connection cut while in use ("cannot switch to state ..."), seen when the
        # server stops mid-query: the next request gets a fresh connection.
        | asyncpg.InternalClientError
        | asyncpg.InvalidCatalogNameError
        | asyncpg.InvalidAuthorizationSpecificationError
        | asyncpg.CannotConnectNowError
        | asyncpg.TooManyConnectionsError
        | asyncpg.AdminShutdownError
        | asyncpg.CrashShutdownError
        | asyncpg.ReadOnlySQLTransactionError
        | asyncpg.DiskFullError
        | asyncpg.InsufficientResourcesError,
    ):
        return True
    if isinstance(error, sqlite3.OperationalError):
        text = str(error).lower()
        return any(word in text for word in _SQLITE_OUTAGE_WORDS)
    return False
