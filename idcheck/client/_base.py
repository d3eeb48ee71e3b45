"""What the sync and async clients share: settings, how a call is built, how an answer is read."""

import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Generic
from typing import TypeVar

import httpx

from idcheck.client._exceptions import APIError
from idcheck.client._exceptions import TransportError
from idcheck.client._exceptions import error_class
from idcheck.client._retry import Retry
from idcheck.client._retry import retried
from idcheck.client._retry import retry_after

T = TypeVar("T")
DEFAULT_URL = "http://127.0.0.1:8000"
USER_AGENT = "idcheck-python"


@dataclass(frozen=True)
class Call(Generic[T]):
    """One API operation: the request to make and how to read a 2xx answer."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    json: Any = None
    content: bytes | None = None  # bytes, not a stream: a retry sends it again
    params: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    idempotency_key: str | None = None  # writes get one; it stays the same across retries


@dataclass(frozen=True)
class RetryEvent:
    """Given to ``on_retry`` before each wait: which try failed, why, and the wait."""

    attempt: int
    delay: float
    reason: str  # "503 store_unavailable", "ConnectError", ...


class BaseClient:
    """What Client and AsyncClient share: configuration, requests, answers and retries."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        retry: Retry | None = None,
        on_retry: Callable[[RetryEvent], None] | None = None,
        transport: Any = None,
        verify: Any = True,
        max_connections: int = 10,
    ) -> None:
        """``base_url`` and ``api_key`` default to $IDCHECK_URL and $IDCHECK_API_KEY;
        ``transport`` is an httpx transport (``httpx.BaseTransport`` for Client,
        ``httpx.AsyncBaseTransport`` for AsyncClient), ``verify`` httpx's TLS verification."""
        self.base_url = (base_url or os.environ.get("IDCHECK_URL") or DEFAULT_URL).rstrip("/")
        key = api_key or os.environ.get("IDCHECK_API_KEY")
        self._headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if key:
            self._headers["Authorization"] = f"Bearer {key}"
        self.timeout = httpx.Timeout(timeout)
        self.retry = retry or Retry()
        self._on_retry = on_retry
        self._connect(
            base_url=self.base_url,
            headers=self._headers,
            timeout=self.timeout,
            transport=transport,
            verify=verify,
            limits=httpx.Limits(max_connections=max_connections),
        )

    def _connect(self, **options: Any) -> None:
        """Open the httpx client (sync or async) with these options."""
        raise NotImplementedError

    def _request_args(self, call: Call[Any]) -> dict[str, Any]:
        headers = dict(call.headers)
        if call.idempotency_key is not None:
            headers["Idempotency-Key"] = call.idempotency_key
        args: dict[str, Any] = {"headers": headers, "params": call.params}
        if call.json is not None:
            args["content"] = json.dumps(call.json, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        elif call.content is not None:
            args["content"] = call.content
        return args

    def _answer(self, call: Call[T], response: httpx.Response, attempt: int) -> T | float:
        """The parsed answer, or the seconds to wait before trying again; raises an APIError."""
        if response.is_success:
            return call.parse(response)
        error = _api_error(response)
        delay = (
            self.retry.delay(attempt, error.retry_after) if retried(response, error.code) else None
        )
        if delay is None:
            raise error
        self._notify(attempt, delay, f"{error.status} {error.code}")
        return delay

    def _lost(self, error: httpx.TransportError, attempt: int) -> float:
        delay = self.retry.delay(attempt, None)
        if delay is None:
            tries = "1 try" if attempt == 1 else f"{attempt} tries"
            raise TransportError(
                f"{type(error).__name__} at {self.base_url} after {tries}: {error}"
            ) from error
        self._notify(attempt, delay, type(error).__name__)
        return delay

    def _notify(self, attempt: int, delay: float, reason: str) -> None:
        if self._on_retry is not None:
            self._on_retry(RetryEvent(attempt, delay, reason))


def new_idempotency_key() -> str:
    return f"sdk-{uuid.uuid4().hex}"


def _api_error(response: httpx.Response) -> APIError:
    try:
        error = response.json()["error"]
        code, message = str(error["code"]), str(error["message"])
        details = list(error.get("details") or [])
    except (ValueError, KeyError, TypeError):
        code, message, details = "unexpected_answer", response.text[:200], []
    kind = error_class(response.status_code, code)
    request_id = response.headers.get("x-request-id")
    return kind(response.status_code, code, message, details, retry_after(response), request_id)
