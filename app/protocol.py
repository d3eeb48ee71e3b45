"""uvicorn's HTTP protocol with a deadline on the request line and headers.

uvicorn bounds the wait between two requests of a kept-alive connection (timeout_keep_alive) and
nothing else: a client that opens a connection and sends half a header line would hold it for
ever. Here a timer starts when the connection opens and when a request begins, and stops when its
headers are complete; if it fires first, the client gets a 408 and the connection closes. The
body's pace is BodyBounds' (middleware.py).
"""

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.errors import RequestTimeout
from app.settings import Settings

_BODY = json.dumps(
    RequestTimeout("the request line and headers did not arrive in time").body()
).encode()
_TIMEOUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
    b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(_BODY), _BODY)
)


def _header_timeout() -> float:
    return Settings().header_timeout


class HeaderDeadlineProtocol(HttpToolsProtocol):
    timeout: float | None = None  # read from the settings by the first connection

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if HeaderDeadlineProtocol.timeout is None:
            HeaderDeadlineProtocol.timeout = _header_timeout()
        self._deadline: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        if self._deadline is None:
            assert self.timeout is not None
            self._deadline = self.loop.call_later(self.timeout, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.write(_TIMEOUT)
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)
