"""What a failure of the store means to a client: 503 when it cannot be reached, 409 when a lock
could not be had in time; anything else is a bug (500).

PostgreSQL says why by SQLSTATE: class 08 (connection), class 53 (too many clients, out of
resources), 57P01-57P03 (shutting down, crashed, starting up), 3D000 (the database is gone),
57014 (a statement ran past statement_timeout), 55P03 (a lock wait ran past lock_timeout).
On SQLite every OperationalError is the file's (locked, unreadable, gone).
"""

import logging
from typing import Final

import sqlalchemy.exc

from app.errors import Conflict
from app.errors import IdcheckError
from app.errors import StoreUnavailable
from schemas.vocabulary import ErrorCode

log = logging.getLogger("idcheck")

_UNREACHABLE: Final = ("08", "53", "57P01", "57P02", "57P03", "3D000", "57014")
_LOCKED: Final = "55P03"


def _sqlstate(error: BaseException) -> str | None:
    for candidate in (error, getattr(error, "orig", None), error.__cause__):
        state = getattr(candidate, "sqlstate", None)
        if isinstance(state, str):
            return state
    return None


def meaning(error: BaseException) -> IdcheckError | None:
    """The error a client gets for this store failure, or None when it is not one."""
    state = _sqlstate(error)
    if state == _LOCKED:
        return Conflict(
            "another request is changing the same objects: retry shortly",
            code=ErrorCode.BUSY,
            headers={"Retry-After": "1"},
        )
    if state is not None and state.startswith(_UNREACHABLE):
        return StoreUnavailable()
    if isinstance(error, sqlalchemy.exc.DBAPIError) and error.connection_invalidated:
        return StoreUnavailable()
    if isinstance(error, sqlalchemy.exc.OperationalError) and state is None:
        return StoreUnavailable()  # SQLite's, or a driver's own connection failure
    if isinstance(error, sqlalchemy.exc.TimeoutError | sqlalchemy.exc.InterfaceError | OSError):
        return StoreUnavailable()  # the pool's timeout, a closed connection, a refused socket
    if type(error).__module__.startswith("asyncpg") and state is None:
        return StoreUnavailable()  # asyncpg's own connection errors (used raw for COPY)
    return None


class StoreHealth:
    """Says once, as a warning, that the store went away, and once that it is back."""

    def __init__(self) -> None:
        self.down = False

    def answer(self, error: BaseException) -> IdcheckError | None:
        """What the client gets for this failure (None: not the store's, a bug), noting an
        unreachable store."""
        meant = meaning(error)
        if isinstance(meant, StoreUnavailable):
            self.failed(error)
        return meant

    def failed(self, error: BaseException) -> None:
        if not self.down:
            self.down = True
            log.warning(
                "store unavailable (%s %s): answering 503 until it is back",
                type(error).__name__,
                _sqlstate(error) or "",
            )

    def answered(self) -> None:
        if self.down:
            self.down = False
            log.info("store available again")
