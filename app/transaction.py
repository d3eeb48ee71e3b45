"""The request owns the transaction: one session per request, committed in one place.

Routes use TransactionalRoute; services only flush. The commit happens after the endpoint returns
and before the response leaves, so no answer goes out whose writes (a usage event, a batch) are not
durable; any exception rolls everything back.
"""

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


class RequestTransaction:
    """A session made on first use, so that routes which never touch the store cost nothing."""

    def __init__(self, maker: async_sessionmaker[AsyncSession]) -> None:
        self._maker = maker
        self._session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            self._session = self._maker()
        return self._session

    async def commit(self) -> None:
        if self._session is not None:
            await self._session.commit()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()  # rolls back whatever was not committed


class TransactionalRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            transaction = RequestTransaction(request.app.state.sessionmaker)
            request.state.transaction = transaction
            try:
                response = await handler(request)
                await transaction.commit()
                return response
            finally:
                await transaction.close()

        return run


def session_of(request: Request) -> AsyncSession:
    transaction: Any = request.state.transaction
    assert isinstance(transaction, RequestTransaction)
    return transaction.session
