"""One work session per request, begun on first use, after the caller's key is checked and its
body read; the route class commits it (transaction.py)."""

import asyncio
import contextlib
from typing import Any
from typing import Final

from fastapi import Request
from fastapi import Response
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker

from app.db import allow_long_statements
from app.db import write_turn
from app.errors import StoreUnavailable
from app.idempotency import Idempotency


class Replayed(Exception):
    """The request's Idempotency-Key was answered before: this is that answer."""

    def __init__(self, response: Response) -> None:
        super().__init__("replayed")
        self.response = response


#: Methods that only read: their transaction reads, on the read-only sessions, with no write turn.
READS: Final = frozenset({"GET", "HEAD"})


class RequestTransaction:
    """The request's unit of work. Its session begins on first use, so that routes which never
    touch the store cost nothing and no connection (or SQLite's write lock) is held while a client
    sends its body. Beginning it checks the Idempotency-Key: a stored answer is replayed.

    On SQLite, writers first queue, in order, on ``write_lock`` (the worker's one writer at a
    time): SQLite's own busy handler polls with growing sleeps and is not fair, so under load an
    unlucky writer could wait seconds while later ones went first (db.write_turn)."""

    def __init__(
        self,
        request: Request,
        maker: async_sessionmaker[AsyncSession],
        *,
        long_running: bool = False,
        write_lock: asyncio.Lock | None = None,
    ) -> None:
        self._request = request
        self._maker = maker
        self._long_running = long_running
        self._write_lock = write_lock
        self._stack = contextlib.AsyncExitStack()
        self.idempotency: Idempotency | None = None
        self._session: AsyncSession | None = None

    @classmethod
    def open(cls, request: Request, *, long_running: bool = False) -> "RequestTransaction":
        """The request's transaction, kept in its state (where dependencies find it): a read
        for GET and HEAD, else a write in the worker's queue of writers."""
        state = request.app.state
        writes = request.method not in READS
        transaction = cls(
            request,
            state.sessionmaker if writes else state.read_sessionmaker,
            long_running=long_running,
            write_lock=state.write_lock if writes else None,
        )
        request.state.transaction = transaction
        return transaction

    async def session(self) -> AsyncSession:
        if self._session is None:
            await self._stack.enter_async_context(write_turn(self._write_lock))
            self._session = self._maker()
            if self._long_running:
                await allow_long_statements(self._session, self._request.app.state.settings)
            if self.idempotency is not None:
                state = self._request.app.state
                replay = await self.idempotency.replay(
                    self._session, self._request, state.keyring, state.settings.idempotency_ttl
                )
                if replay is not None:
                    raise Replayed(replay)
        return self._session

    @property
    def begun(self) -> AsyncSession | None:
        return self._session

    async def commit(self) -> None:
        """The work made durable before its answer leaves; whatever failed, it is not, and no
        answer goes out for it: 503 (the store's health notes the failure, and the recovery)."""
        store = self._request.app.state.store
        try:
            if self._session is not None:
                await self._session.commit()
        except Exception as error:
            store.failed(error)
            raise StoreUnavailable() from error
        store.answered()

    async def close(self) -> None:
        async with self._stack:  # the write turn ends after the session closes
            if self._session is not None:
                await self._session.close()  # rolls back whatever was not committed


def transaction_of(request: Request) -> RequestTransaction:
    transaction: Any = request.state.transaction
    assert isinstance(transaction, RequestTransaction)
    return transaction


async def session_of(request: Request) -> AsyncSession:
    return await transaction_of(request).session()
