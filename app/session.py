"""One session per request, made on first use; the route class commits it (transaction.py)."""

from typing import Any

from fastapi import Request
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


def session_of(request: Request) -> AsyncSession:
    transaction: Any = request.state.transaction
    assert isinstance(transaction, RequestTransaction)
    return transaction.session
