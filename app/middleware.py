"""Pure ASGI middleware: the key-in-URL refusal, the body's bounds (size and read deadlines), and
the observer (access log, metrics, 500s)."""

import asyncio
import json
import logging
import re
import time
import traceback
from typing import Final
from urllib.parse import unquote_plus

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp
from starlette.types import Message
from starlette.types import Receive
from starlette.types import Scope
from starlette.types import Send

from app.errors import BadRequest
from app.errors import IdcheckError
from app.errors import PayloadTooLarge
from app.errors import RequestTimeout
from app.limits import body_limit
from app.logs import REQUEST_ID
from app.logs import accept_request_id
from app.metrics import Metrics
from app.settings import Settings
from schemas.vocabulary import ErrorCode

access_log = logging.getLogger("idcheck.access")
error_log = logging.getLogger("idcheck")

#: What an API key looks like, anywhere in a decoded query string.
_QUERY_KEY: Final = re.compile(r"idc_[a-z]+_(?:test_)?[0-9a-f]{8}", re.IGNORECASE)
#: Status recorded when the client went away before its answer (nginx's convention).
CLIENT_CLOSED: Final = 499
_CLOSE: Final = (b"connection", b"close")


async def send_error(send: Send, error: IdcheckError, *, close: bool = False) -> None:
    body = json.dumps(error.body()).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in error.headers.items()]
    if close and b"connection" not in {name for name, _ in headers}:
        headers.append(_CLOSE)
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequestId:
    """Every answer carries ``X-Request-Id``: the client's, when well formed, else a new one. It
    is set for the request's task (app.logs.REQUEST_ID), so every log line and error body written
    while serving the request carries it too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = next((v for k, v in scope["headers"] if k == b"x-request-id"), None)
        request_id = accept_request_id(sent)
        header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        token = REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)


class KeyInQuery:
    """400 for an API key in a URL, on every path (known or not), whatever its encoding."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = scope.get("query_string", b"") if scope["type"] == "http" else b""
        if query and _QUERY_KEY.search(unquote_plus(query.decode("latin-1"))):
            error = BadRequest(
                "API keys go in the Authorization header, never in a URL: revoke this key",
                code=ErrorCode.API_KEY_IN_QUERY,
            )
            self.metrics.rejected.labels(reason=error.code).inc()
            await send_error(send, error)
            return
        await self.app(scope, receive, send)


def _has_body(scope: Scope) -> bool:
    headers = dict(scope["headers"])
    length = headers.get(b"content-length", b"0")
    return b"transfer-encoding" in headers or not length.isdigit() or int(length) > 0


class BodyBounds:
    """The body's size and pace, checked as it is read (never before the route asks for it, so
    that a caller's key is checked first).

    - Size: the matched operation's limit (limits.py): 413 by Content-Length before anything is
      read, else as soon as the count passes it.
    - Pace: 408 (and the connection closes) when no byte arrives for body_idle_timeout, or when,
      past that long, the body averages fewer than body_min_rate bytes a second.
    """

    def __init__(self, app: ASGIApp, *, settings: Settings, metrics: Metrics) -> None:
        self.app = app
        self.settings = settings
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings = self.settings
        received = limit = 0
        started: float | None = None
        complete = False
        failure: IdcheckError | None = None
        responded = False

        def fail(error: IdcheckError) -> IdcheckError:
            nonlocal failure
            failure = error
            self.metrics.rejected.labels(reason=error.code).inc()
            return error

        async def bounded_receive() -> Message:
            nonlocal received, limit, started, complete
            if complete:
                return await receive()  # after the body: only a disconnect can come
            if started is None:  # the first read: the route is matched by now
                limit = body_limit(getattr(scope.get("route"), "operation_id", None), settings)
                started = time.monotonic()
                declared = dict(scope["headers"]).get(b"content-length", b"")
                if declared.isdigit() and int(declared) > limit:
                    raise fail(PayloadTooLarge(f"the body is larger than {limit:,} bytes"))
            try:
                message = await asyncio.wait_for(receive(), settings.body_idle_timeout)
            except TimeoutError:
                raise fail(RequestTimeout("no part of the body came in time")) from None
            if message["type"] != "http.request":
                return message
            received += len(message.get("body", b""))
            complete = not message.get("more_body", False)
            if received > limit:
                raise fail(PayloadTooLarge(f"the body is larger than {limit:,} bytes"))
            elapsed = time.monotonic() - started
            slow = received < settings.body_min_rate * elapsed
            if not complete and elapsed > settings.body_idle_timeout and slow:
                raise fail(RequestTimeout("the body comes too slowly"))
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal responded
            if failure is not None and message["type"] == "http.response.start" and not responded:
                # Whatever the app made of the interrupted read, the client is told the truth.
                responded = True
                await send_error(send, failure, close=True)
                return
            if failure is not None and responded:
                return
            if message["type"] == "http.response.start" and not complete and _has_body(scope):
                # Answered before its body was read (401, 403, 413, ...): the connection closes
                # rather than reading the rest of a body nobody will use.
                message = {**message, "headers": [*message["headers"], _CLOSE]}
            responded = responded or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, bounded_receive, guarded_send)
        except (PayloadTooLarge, RequestTimeout):
            if not responded and failure is not None:
                await send_error(send, failure, close=True)


class Observer:
    """Access log (method, route template, status, time: never a query string or a body),
    request metrics, and a JSON 500 for anything unexpected, logged without its message. A client
    that goes away mid-request is logged at INFO and counted as 499, not as a server error."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    @staticmethod
    def _route(scope: Scope) -> str:
        """The matched route's template (set in the scope by the router), else "unmatched"."""
        return str(getattr(scope.get("route"), "path", "unmatched"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        response_started = False

        async def observed_send(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        except ClientDisconnect:
            status = CLIENT_CLOSED
            access_log.info("client disconnected before its answer")
        except Exception as error:
            frames = "\n".join(
                f"  {frame.filename}:{frame.lineno} in {frame.name}"
                for frame in traceback.extract_tb(error.__traceback__)
            )
            error_log.error("unexpected %s\n%s", type(error).__name__, frames)
            if not response_started:
                await send_error(send, IdcheckError("internal error"))
            self.metrics.rejected.labels(reason="internal_error").inc()
            status = 500
        finally:
            elapsed = time.perf_counter() - started
            route, method = self._route(scope), scope["method"]
            self.metrics.requests.labels(route=route, method=method, status=str(status)).inc()
            self.metrics.latency.labels(route=route, method=method).observe(elapsed)
            access_log.info("%s %s %d %.1fms", method, route, status, elapsed * 1000)
