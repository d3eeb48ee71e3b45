"""The request owns the transaction: one session per request, committed in one place.

Routes use TransactionalRoute; services only flush. A request goes through these steps, each
before the work it bounds:

1. the caller's key, in a short read of its own, and the route's roles (401, 403);
2. the body, read whole and bounded (BodyBounds: 413, 408), then parsed as JSON (415, 400), for
   every route but the uploads, which stream their records into a spool themselves;
3. the work: the session begins on first use (an Idempotency-Key's stored answer is replayed
   there), the endpoint runs, and the commit happens after it returns and before the response
   leaves, so no answer goes out whose writes (a usage event, a batch) are not durable; any
   exception rolls everything back. A store that cannot be reached is a 503;
4. for a removal (app/replicas.py: REMOVALS), the answer waits until the replicas show it.
"""

from collections.abc import Callable
from collections.abc import Coroutine
from typing import Any

import pydantic_core
from fastapi import Request
from fastapi import Response
from fastapi.routing import APIRoute

from app.auth import authenticate
from app.auth import check_role
from app.errors import IdcheckError
from app.errors import InvalidJson
from app.errors import UnsupportedMediaType
from app.idempotency import NEVER_STORED
from app.idempotency import Idempotency
from app.limits import LONG_RUNNING
from app.limits import UPLOADS
from app.replicas import REMOVALS
from app.session import Replayed
from app.session import RequestTransaction


def route_roles(route: APIRoute) -> tuple[str, ...] | None:
    """The roles that the route's ``require(...)`` dependency (the console's ``viewer_for``)
    lets through, if it has one."""
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        roles = getattr(dependant.call, "roles", None)
        if roles is not None:
            return tuple(roles)
        pending.extend(dependant.dependencies)
    return None


async def _read_json(request: Request) -> None:
    """The body, read whole (bounded by BodyBounds) and parsed; FastAPI validates what it holds."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type and media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType("send the body as application/json")
    raw = await request.body()
    if raw:
        try:
            # Parsed here so that every body that is not JSON (bad UTF-8, bad syntax, nesting past
            # its limit) is the same 400; Starlette's Request keeps it for FastAPI.
            request._json = pydantic_core.from_json(raw)
        except ValueError:
            raise InvalidJson() from None


def _rate_headers(request: Request) -> dict[str, str]:
    """The caller's RateLimit headers (app/ratelimit.py): none before it is authenticated."""
    headers: dict[str, str] = getattr(request.state, "rate_headers", {})
    return headers


def _with_rate(request: Request, response: Response) -> Response:
    response.headers.update(_rate_headers(request))
    return response


class TransactionalRoute(APIRoute):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.roles = route_roles(self)
        self.streams = self.operation_id in UPLOADS
        self.long_running = self.operation_id in LONG_RUNNING
        self.removes = self.operation_id in REMOVALS

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            state = request.app.state
            transaction = RequestTransaction.open(request, long_running=self.long_running)
            try:
                if self.roles is not None:
                    check_role(await authenticate(request), self.roles, self.operation_id)
                if self.body_field is not None:
                    await _read_json(request)
                elif not self.streams:
                    await request.body()  # nothing is expected; whatever came is bounded
                if self.operation_id not in NEVER_STORED:
                    transaction.idempotency = await Idempotency.of(request)
                try:
                    response = await handler(request)
                except Replayed as replay:
                    if self.removes:  # the first answer may not have seen the replicas settle
                        await state.replicas.settle()
                    return _with_rate(request, replay.response)
                session = transaction.begun
                if transaction.idempotency is not None and session is not None:
                    await transaction.idempotency.store(session, request, response, state.keyring)
                await transaction.commit()
                if self.removes:  # what it removed is gone from the replicas' lookups too
                    await state.replicas.settle()
                return _with_rate(request, response)
            except Exception as error:
                answer = state.store.answer(error)
                told = answer if answer is not None else error
                if isinstance(told, IdcheckError):
                    told.headers = {**_rate_headers(request), **told.headers}
                if answer is None:
                    raise
                raise answer from None
            finally:
                await transaction.close()

        return run
