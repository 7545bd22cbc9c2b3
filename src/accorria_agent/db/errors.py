"""Which database errors are about the data (poison: it fails again) and which are about the database.

The webhook intake records a delivery the database refuses and answers 200 (a 5xx makes Meta redeliver it
for ever); the conversation job sets aside an event whose handling fails for a reason other than a
database that is down, busy or deadlocked (a retry would fail the same way, and block the buyer).
"""

from __future__ import annotations

import asyncio
import sqlite3

import asyncpg
import sqlalchemy.exc

# Class 22: data exception (out of range, bad character, too long …); 23: integrity (NOT NULL, unique …).
_POISON_SQLSTATES = ("22", "23")
_POISON_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.DataError,
    sqlite3.DataError,
    sqlite3.IntegrityError,
    sqlalchemy.exc.DataError,
    sqlalchemy.exc.IntegrityError,
    OverflowError,
    UnicodeError,
    ValueError,
    TypeError,
)
# Failures of the database or the path to it: the same work may well succeed when retried.
_TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
    sqlalchemy.exc.DisconnectionError,
    sqlite3.OperationalError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.QueryCanceledError,
    # The server is shutting down, crashed or still starting (SQLSTATE 57P01-57P03): a restart, which
    # SQLAlchemy wraps as a plain DBAPIError. Once taken for poison, it made a send Meta had accepted give
    # up on recording it at once, and the reply was sent again (the PostgreSQL-restart fault test).
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    # "cannot switch to state 12; another operation (2) is in progress": asyncpg's protocol state on a
    # connection the server closed mid-statement (seen in a loop of queries across a fast shutdown), which
    # SQLAlchemy wraps as InternalError. Taken for poison, it made a recorded send give up, and the reply
    # went out twice once its claim was stale.
    asyncpg.exceptions.InternalClientError,
    asyncio.TimeoutError,
    ConnectionError,
    OSError,
)


def _chain(error: BaseException) -> list[BaseException]:
    """The error and what it wraps (SQLAlchemy's ``orig``, Python's ``__cause__``), without cycles."""
    found: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in found):
        found.append(current)
        current = getattr(current, "orig", None) or current.__cause__
    return found


def is_poison(error: BaseException) -> bool:
    """Whether storage refused the *data* (it will refuse it again), not failed (down, busy, deadlocked)."""
    for link in _chain(error):
        if isinstance(link, _POISON_ERRORS):
            return True
        if isinstance(link, asyncpg.PostgresError) and str(getattr(link, "sqlstate", "")).startswith(
            _POISON_SQLSTATES
        ):
            return True
    return False


def is_transient(error: BaseException) -> bool:
    """Whether the database (or the way to it) failed, so that running the same work again may succeed."""
    return any(isinstance(link, _TRANSIENT_ERRORS) for link in _chain(error))


def describe(error: BaseException) -> str:
    """The error as stored in a row: type and message, cut to 500 characters, without NUL (PostgreSQL)."""
    return f"{type(error).__name__}: {error}".replace("\x00", "")[:500]


# The server's refusals that say what is wrong with the URL: no such database, a bad password, no such role.
_NAMED_REFUSALS: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.InvalidCatalogNameError,
    asyncpg.exceptions.InvalidPasswordError,
    asyncpg.exceptions.InvalidAuthorizationSpecificationError,
)


def unusable_database(error: BaseException) -> str | None:
    """A one-line reason when ``error`` says the database cannot be used at all (missing, refusing us, down
    or unreachable), else ``None``: the driver's own first line, without SQL, parameters or the password."""
    for link in _chain(error):
        if isinstance(link, _NAMED_REFUSALS):
            return _first_line(link)
    if is_transient(error):
        return f"{type(error).__name__}: {_first_line(error)}"
    return None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:300] if text else type(error).__name__
