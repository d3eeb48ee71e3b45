"""The request owns the transaction: one session per request, committed in one place.

Routes use TransactionalRoute; services only flush. The commit happens after the endpoint returns
and before the response leaves, so no answer goes out whose writes (a usage event, a batch) are not
durable; any exception rolls everything back.
"""

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from app.errors import StoreUnavailable
from app.idempotency import Idempotency
from app.session import RequestTransaction


class TransactionalRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            state = request.app.state
            transaction = RequestTransaction(state.sessionmaker)
            request.state.transaction = transaction
            try:
                idempotency = await Idempotency.of(request)
                if idempotency is not None:
                    ttl = state.settings.idempotency_ttl
                    session = transaction.session
                    replay = await idempotency.replay(session, request, state.keyring, ttl)
                    if replay is not None:
                        return replay
                response = await handler(request)
                if idempotency is not None:
                    await idempotency.store(transaction.session, request, response, state.keyring)
                try:
                    await transaction.commit()
                except Exception as error:
                    # Whatever failed, the work is not durable: no answer goes out for it.
                    raise StoreUnavailable() from error
                return response
            finally:
                await transaction.close()

        return run
