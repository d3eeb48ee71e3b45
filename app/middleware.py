"""Pure ASGI middleware: body size limits, and the observer (access log, metrics, 500s)."""

import json
import logging
import re
import time
import traceback
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import IdcheckError, PayloadTooLarge
from app.metrics import Metrics

access_log = logging.getLogger("idcheck.access")
error_log = logging.getLogger("idcheck")

UPLOAD_PATH: Final = re.compile(r"/v1/datasets/[^/]+(/snapshots/[^/]+)?/records")


async def _send_error(send: Send, error: IdcheckError) -> None:
    body = json.dumps(error.body()).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in error.headers.items()]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """413 before a large body is buffered: by Content-Length, else by counting while reading.

    Uploads (NDJSON, streamed) get their own, larger limit; every other route the JSON limit.
    """

    def __init__(
        self, app: ASGIApp, *, json_limit: int, upload_limit: int, metrics: Metrics
    ) -> None:
        self.app = app
        self.json_limit = json_limit
        self.upload_limit = upload_limit
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload_limit if UPLOAD_PATH.fullmatch(scope["path"]) else self.json_limit
        too_large = PayloadTooLarge(f"the body is larger than {limit:,} bytes")
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            self.metrics.rejected.labels(reason=too_large.code).inc()
            await _send_error(send, too_large)
            return
        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise too_large
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded and message["type"] == "http.response.start" and not started:
                # Whatever the app made of the interrupted read (FastAPI turns it into a 400),
                # the client is told the truth.
                started = True
                await _send_error(send, too_large)
                return
            if exceeded and started:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except PayloadTooLarge:
            if not started:
                await _send_error(send, too_large)


class Observer:
    """Access log (method, route template, status, time: never a query string or a body),
    request metrics, and a JSON 500 for anything unexpected, logged without its message."""

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
        except Exception as error:
            frames = "\n".join(
                f"  {frame.filename}:{frame.lineno} in {frame.name}"
                for frame in traceback.extract_tb(error.__traceback__)
            )
            error_log.error("unexpected %s\n%s", type(error).__name__, frames)
            if not response_started:
                await _send_error(send, IdcheckError("internal error"))
            self.metrics.rejected.labels(reason="internal_error").inc()
            status = 500
        finally:
            elapsed = time.perf_counter() - started
            route, method = self._route(scope), scope["method"]
            self.metrics.requests.labels(route=route, method=method, status=str(status)).inc()
            self.metrics.latency.labels(route=route, method=method).observe(elapsed)
            access_log.info("%s %s %d %.1fms", method, route, status, elapsed * 1000)
