"""Client and AsyncClient: the same operations (_calls), over httpx, with retries.

with Client("https://idcheck.example", api_key) as client:
    answer = client.verify([{"ref": "1", "email": "jean@example.fr"}], purpose="onboarding")
"""

import asyncio
import functools
import time
from collections.abc import AsyncIterator
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Iterator
from itertools import count
from types import TracebackType
from typing import Any
from typing import Generic
from typing import ParamSpec
from typing import Self
from typing import TypeVar
from typing import overload

import httpx

from idcheck.client import _calls as calls
from idcheck.client._base import BaseClient
from idcheck.client._base import Call

P = ParamSpec("P")
T = TypeVar("T")


class Operation(Generic[P, T]):
    """One API operation as a method: on a Client it returns the answer, on an AsyncClient an
    awaitable of it. Both clients take their methods from one table (Operations)."""

    def __init__(self, builder: Callable[P, Call[T]]) -> None:
        self.builder = builder

    @overload
    def __get__(self, client: None, owner: type) -> Self: ...
    @overload
    def __get__(self, client: "Client", owner: type) -> Callable[P, T]: ...
    @overload
    def __get__(self, client: "AsyncClient", owner: type) -> Callable[P, Awaitable[T]]: ...
    def __get__(self, client: Any, owner: type) -> Any:
        if client is None:
            return self
        builder = self.builder

        def method(*args: P.args, **kwargs: P.kwargs) -> Any:
            return client.send(builder(*args, **kwargs))

        return functools.update_wrapper(method, builder)


class Pages:
    """A list operation as an iterator over all its items, page after page (``has_more``, then
    ``starting_after`` = the last item's id): a generator on a Client, an async generator on an
    AsyncClient. The keyword arguments are the list operation's filters and ``limit``."""

    def __init__(self, builder: Callable[..., Call[Any]], items: str) -> None:
        self.builder = builder
        self.items = items

    def __get__(self, client: Any, owner: type) -> Any:
        if client is None:
            return self
        builder, items = self.builder, self.items
        if isinstance(client, AsyncClient):

            async def walk_async(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
                after = None
                while True:
                    page = await client.send(builder(*args, **kwargs, starting_after=after))
                    found = getattr(page, items)
                    for item in found:
                        yield item
                    if not page.has_more or not found:
                        return
                    after = found[-1].id

            return walk_async

        def walk(*args: Any, **kwargs: Any) -> Iterator[Any]:
            after = None
            while True:
                page = client.send(builder(*args, **kwargs, starting_after=after))
                found = getattr(page, items)
                yield from found
                if not page.has_more or not found:
                    return
                after = found[-1].id

        return walk


class Operations:
    """Every operation of the API, named after its operation id (a test holds them to the
    server's OpenAPI schema); get_usage_csv is get_usage's CSV form."""

    healthz = Operation(calls.healthz)
    readyz = Operation(calls.readyz)
    metrics = Operation(calls.metrics)
    get_signing_key = Operation(calls.get_signing_key)
    list_signing_keys = Operation(calls.list_signing_keys)
    get_current_key_version = Operation(calls.get_current_key_version)
    oprf_evaluate = Operation(calls.oprf_evaluate)
    create_dataset = Operation(calls.create_dataset)
    list_datasets = Operation(calls.list_datasets)
    get_dataset = Operation(calls.get_dataset)
    delete_dataset = Operation(calls.delete_dataset)
    upload_records = Operation(calls.upload_records)
    open_snapshot = Operation(calls.open_snapshot)
    get_snapshot = Operation(calls.get_snapshot)
    upload_snapshot_records = Operation(calls.upload_snapshot_records)
    commit_snapshot = Operation(calls.commit_snapshot)
    abort_snapshot = Operation(calls.abort_snapshot)
    holder_opt_out = Operation(calls.holder_opt_out)
    holder_audit = Operation(calls.holder_audit)
    delete_records = Operation(calls.delete_records)
    verify = Operation(calls.verify)
    verify_signed = Operation(calls.verify_signed)
    get_my_usage = Operation(calls.get_my_usage)
    get_usage = Operation(calls.get_usage)
    get_usage_csv = Operation(calls.get_usage_csv)
    create_org = Operation(calls.create_org)
    create_key = Operation(calls.create_key)
    list_orgs = Operation(calls.list_orgs)
    list_keys = Operation(calls.list_keys)
    revoke_key = Operation(calls.revoke_key)
    set_quota = Operation(calls.set_quota)
    set_evaluation_quota = Operation(calls.set_evaluation_quota)
    admin_opt_out = Operation(calls.admin_opt_out)
    list_key_versions = Operation(calls.list_key_versions)
    rotate_signing_key = Operation(calls.rotate_signing_key)
    retire_key_version = Operation(calls.retire_key_version)
    admin_audit = Operation(calls.admin_audit)
    get_quota = Operation(calls.get_quota)
    # Every item of a list, page after page.
    iter_datasets = Pages(calls.list_datasets, "datasets")
    iter_holder_audit = Pages(calls.holder_audit, "entries")
    iter_orgs = Pages(calls.list_orgs, "orgs")
    iter_keys = Pages(calls.list_keys, "keys")
    iter_audit = Pages(calls.admin_audit, "entries")


class Client(BaseClient, Operations):
    """The blocking client. Use it as a context manager, or call close()."""

    def _connect(self, **options: Any) -> None:
        self._http = httpx.Client(**options)

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


class AsyncClient(BaseClient, Operations):
    """The asyncio client: the same methods as Client, awaited."""

    def _connect(self, **options: Any) -> None:
        self._http = httpx.AsyncClient(**options)

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
