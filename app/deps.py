"""Annotated dependency aliases that routes declare, and the resources they load and authorise
once (a holder's dataset, one of its snapshots).

Every dependency is a coroutine function: FastAPI runs a plain function (or a class) in its
thread pool, a hop there and back on every request for what is an attribute read."""

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from collections.abc import Iterable
from contextlib import asynccontextmanager
from typing import Annotated
from typing import Final
from uuid import UUID

from fastapi import Depends
from fastapi import FastAPI
from fastapi import Query
from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import HolderPrincipal
from app.db import write_turn
from app.metrics import Metrics
from app.models import Dataset
from app.models import Snapshot
from app.services.datasets import owned_dataset
from app.services.key_versions import load_keyring
from app.services.pages import PageRequest
from app.services.sandbox import ensure_sandbox
from app.services.snapshots import owned_snapshot
from app.session import RequestTransaction
from app.session import session_of
from app.session import transaction_of
from app.settings import Settings
from matching import KeyRing

log = logging.getLogger("idcheck")


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _keyring(request: Request) -> KeyRing:
    keyring: KeyRing = request.app.state.keyring
    return keyring


#: Seconds between two readings of the key ring prompted by requests (see keyring_knowing).
REREAD_AFTER: Final = 1.0


async def reload_keyring(app: FastAPI) -> KeyRing:
    """Read the live key versions again (a rotation or a retirement, here or elsewhere)."""
    started = time.monotonic()
    keyring = await load_keyring(app.state.engine, app.state.settings.master_secret)
    app.state.keyring, app.state.keyring_read_at = keyring, started
    return keyring


@asynccontextmanager
async def writer(app: FastAPI) -> AsyncIterator[AsyncSession]:
    """A write session outside any request, in the worker's queue of writers (SQLite)."""
    async with write_turn(app.state.write_lock), app.state.sessionmaker() as session:
        yield session


async def refresh_sandbox(app: FastAPI) -> None:
    """The sandbox's records signed under the current key version, once per version this worker
    sees (app/services/sandbox.py)."""
    keyring = app.state.keyring
    if getattr(app.state, "sandbox_version", None) == keyring.current:
        return
    async with writer(app) as session:
        if await ensure_sandbox(session, keyring):
            await session.commit()
            log.info("sandbox signed under key version %d", keyring.current)
    app.state.sandbox_version = keyring.current


async def refresh_keyring(app: FastAPI) -> None:
    """The key ring read again, and the sandbox following it: after a rotation or a retirement
    here, and every 30 s for those elsewhere."""
    await reload_keyring(app)
    await refresh_sandbox(app)


async def keyring_knowing(request: Request, versions: Iterable[int] | None) -> KeyRing:
    """The key ring, knowing ``versions`` if they are live in the database when the request asks.

    Every worker reads the key ring every 30 s; a version made current by another worker or by
    the command line within those 30 s is known here as soon as a client names it, so a client
    that learnt of the version from one worker is not refused by another. A request naming a
    version this worker lacks waits for a reading that starts after it asked: one at most every
    REREAD_AFTER seconds per worker, shared by every request waiting for it, so naming unknown
    versions costs the store nothing more. With None (a streamed upload, whose versions are not
    known yet) the ring is read again when it was read over REREAD_AFTER ago, without waiting."""
    state = request.app.state
    keyring: KeyRing = state.keyring
    if versions is None:
        if time.monotonic() - state.keyring_read_at < REREAD_AFTER:
            return keyring
        return await reload_keyring(request.app)
    if all(keyring.knows(version) for version in versions):
        return keyring
    asked = time.monotonic()
    async with state.keyring_lock:
        if state.keyring_read_at >= asked:  # a reading that began after the request asked
            return state.keyring  # type: ignore[no-any-return]
        await asyncio.sleep(max(0.0, state.keyring_read_at + REREAD_AFTER - time.monotonic()))
        return await reload_keyring(request.app)


async def _metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


async def _transaction(request: Request) -> RequestTransaction:
    return transaction_of(request)


#: The request's work session: depending on it begins the work (after the body is read).
SessionDep = Annotated[AsyncSession, Depends(session_of)]
#: For routes that begin their work themselves, after reading (uploads) or normalising (verify).
TransactionDep = Annotated[RequestTransaction, Depends(_transaction)]
SettingsDep = Annotated[Settings, Depends(_settings)]
KeyRingDep = Annotated[KeyRing, Depends(_keyring)]
MetricsDep = Annotated[Metrics, Depends(_metrics)]


async def _page(
    limit: Annotated[int, Query(ge=1, le=1000, description="items in the page")] = 100,
    starting_after: Annotated[
        UUID | None, Query(description="the last id of the page before (its has_more was true)")
    ] = None,
) -> PageRequest:
    return PageRequest(limit, starting_after)


#: A list route's page (docs/api.md, "Lists").
PageDep = Annotated[PageRequest, Depends(_page)]


async def _dataset(dataset_id: UUID, holder: HolderPrincipal, session: SessionDep) -> Dataset:
    return await owned_dataset(session, holder, dataset_id)


#: The caller's dataset named by the path's ``dataset_id`` (404 for anyone else's).
OwnedDataset = Annotated[Dataset, Depends(_dataset)]


async def _snapshot(snapshot_id: UUID, dataset: OwnedDataset, session: SessionDep) -> Snapshot:
    return await owned_snapshot(session, dataset, snapshot_id)


async def _open_snapshot(snapshot_id: UUID, dataset: OwnedDataset, session: SessionDep) -> Snapshot:
    return await owned_snapshot(session, dataset, snapshot_id, open_only=True)


#: The path's snapshot of the caller's dataset (an aborted one is not found).
OwnedSnapshot = Annotated[Snapshot, Depends(_snapshot)]
#: The same, and still open (409 once committed).
OpenSnapshot = Annotated[Snapshot, Depends(_open_snapshot)]
