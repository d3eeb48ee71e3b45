"""Client and AsyncClient: the same operations (client._calls), over httpx, with retries.

with Client("https://idcheck.example", api_key) as client:
    answer = client.verify([{"ref": "1", "email": "jean@example.fr"}], purpose="onboarding")
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from itertools import count
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, Self, TypeVar

import httpx

from idcheck.client import _calls as calls
from idcheck.client._base import BaseClient, Call

P = ParamSpec("P")
T = TypeVar("T")


def _sync(builder: Callable[P, Call[T]]) -> Callable[Concatenate["Client", P], T]:
    def method(self: "Client", /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self.send(builder(*args, **kwargs))

    method.__name__, method.__doc__ = builder.__name__, builder.__doc__
    return method


def _async(builder: Callable[P, Call[T]]) -> Callable[Concatenate["AsyncClient", P], Awaitable[T]]:
    async def method(self: "AsyncClient", /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self.send(builder(*args, **kwargs))

    method.__name__, method.__doc__ = builder.__name__, builder.__doc__
    return method


class Client(BaseClient):
    """The blocking client. Use it as a context manager, or call close()."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        verify: Any = True,
        **options: Any,
    ) -> None:
        super().__init__(base_url, api_key, **options)
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=self._headers,
            timeout=self.timeout,
            transport=transport,
            verify=verify,
        )

    def send(self, call: Call[T]) -> T:
        args = self._request_args(call)
        for attempt in count(1):
            try:
                response = self._http.request(call.method, call.path, **args)
            except httpx.TransportError as exc:
                time.sleep(self._lost(exc, attempt))
                continue
            outcome = self._answer(call, response, attempt)
            if not isinstance(outcome, float):
                return outcome
            time.sleep(outcome)
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    get_signing_key = _sync(calls.get_signing_key)
    create_dataset = _sync(calls.create_dataset)
    list_datasets = _sync(calls.list_datasets)
    get_dataset = _sync(calls.get_dataset)
    delete_dataset = _sync(calls.delete_dataset)
    upload_records = _sync(calls.upload_records)
    delete_records = _sync(calls.delete_records)
    verify = _sync(calls.verify)
    verify_signed = _sync(calls.verify_signed)
    get_my_usage = _sync(calls.get_my_usage)
    get_usage = _sync(calls.get_usage)
    get_usage_csv = _sync(calls.get_usage_csv)
    create_org = _sync(calls.create_org)
    create_key = _sync(calls.create_key)
    revoke_key = _sync(calls.revoke_key)
    set_quota = _sync(calls.set_quota)
    admin_opt_out = _sync(calls.admin_opt_out)


class AsyncClient(BaseClient):
    """The asyncio client: the same methods as Client, awaited."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: Any = True,
        max_connections: int = 10,
        **options: Any,
    ) -> None:
        super().__init__(base_url, api_key, **options)
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=self._headers,
            timeout=self.timeout,
            transport=transport,
            verify=verify,
            limits=httpx.Limits(max_connections=max_connections),
        )

    async def send(self, call: Call[T]) -> T:
        args = self._request_args(call)
        for attempt in count(1):
            try:
                response = await self._http.request(call.method, call.path, **args)
            except httpx.TransportError as exc:
                await asyncio.sleep(self._lost(exc, attempt))
                continue
            outcome = self._answer(call, response, attempt)
            if not isinstance(outcome, float):
                return outcome
            await asyncio.sleep(outcome)
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    get_signing_key = _async(calls.get_signing_key)
    create_dataset = _async(calls.create_dataset)
    list_datasets = _async(calls.list_datasets)
    get_dataset = _async(calls.get_dataset)
    delete_dataset = _async(calls.delete_dataset)
    upload_records = _async(calls.upload_records)
    delete_records = _async(calls.delete_records)
    verify = _async(calls.verify)
    verify_signed = _async(calls.verify_signed)
    get_my_usage = _async(calls.get_my_usage)
    get_usage = _async(calls.get_usage)
    get_usage_csv = _async(calls.get_usage_csv)
    create_org = _async(calls.create_org)
    create_key = _async(calls.create_key)
    revoke_key = _async(calls.revoke_key)
    set_quota = _async(calls.set_quota)
    admin_opt_out = _async(calls.admin_opt_out)
