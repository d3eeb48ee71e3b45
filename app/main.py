"""The FastAPI application: made by create_app() (by serving_app() under `idcheck serve`), its
engine made in the lifespan."""

import asyncio
import contextlib
import copy
import gc
import logging
from collections.abc import AsyncIterator
from collections.abc import Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app import console
from app import handlers
from app.db import allow_long_statements
from app.db import create_engine
from app.db import create_sessionmaker
from app.db import create_single_read_sessionmaker
from app.deps import refresh_keyring
from app.deps import refresh_sandbox
from app.deps import reload_keyring
from app.deps import writer
from app.idempotency import BodyDigest
from app.idempotency import forget_expired_answers
from app.logs import install_record_factory
from app.metrics import Metrics
from app.middleware import BodyBounds
from app.middleware import KeyInQuery
from app.middleware import Observer
from app.middleware import RequestId
from app.ratelimit import RateLimiter
from app.replicas import Replicas
from app.routes import admin
from app.routes import datasets
from app.routes import keys
from app.routes import service
from app.routes import usage
from app.routes import verify
from app.services.console_sessions import forget_expired_sessions
from app.services.privacy import purge
from app.settings import Settings
from app.store import StoreHealth
from matching import refresh_statistics
from schemas.datasets import UploadBody

log = logging.getLogger("idcheck")


async def _housekeeping(app: FastAPI, settings: Settings) -> None:
    """Every 30 s, the key ring is read again (a rotation by another worker or the command line
    reaches this one; the sandbox follows it) and stale planner statistics are refreshed; every
    ten minutes, records past their retention go, and idempotency answers and console sessions
    past their time to live."""
    rounds = 0
    while True:
        await asyncio.sleep(30)
        rounds += 1
        try:
            await refresh_keyring(app)
            async with writer(app) as session:
                await allow_long_statements(session, settings)  # ANALYZE of a large table
                if analysed := await refresh_statistics(session):
                    await session.commit()
                    log.info("analysed %s", ", ".join(analysed))
            if rounds % 20 == 2:  # the first a minute after start
                async with writer(app) as session:
                    await allow_long_statements(session, settings)
                    records = sum((await purge(session)).values())
                    answers = await forget_expired_answers(session, settings.idempotency_ttl)
                    await forget_expired_sessions(session)
                    await session.commit()
                if records or answers:
                    log.info("purged %d expired records, %d idempotency keys", records, answers)
        except Exception as error:  # the store may be down for a while: try again later
            log.warning("housekeeping failed: %s", type(error).__name__)


def _openapi(app: FastAPI, settings: Settings) -> Callable[[], dict[str, Any]]:
    """The schema, with the limits this server runs with: records per request, live key versions.

    So that the schema says exactly what the server accepts (schemathesis holds it to that).
    """
    base: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        if not base:
            base.update(
                get_openapi(
                    title=app.title, version=app.version, summary=app.summary, routes=app.routes
                )
            )
        schema = copy.deepcopy(base)
        components = schema["components"]["schemas"]
        for name in ("VerifyRequest", "SignedVerifyRequest"):
            components[name]["properties"]["records"]["maxItems"] = settings.max_verify_records
        components["DeleteRecords"]["properties"]["external_ids"]["maxItems"] = (
            settings.max_delete_ids
        )
        keyring = getattr(app.state, "keyring", None)
        # The uploads read their body themselves (streamed): their schema joins the components.
        upload = UploadBody.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(upload.pop("$defs"), UploadBody=upload)
        upload["properties"]["records"]["maxItems"] = settings.max_batch_records
        records = [
            components["SignedVerifyRecord"],
            components["VersionSignatures"],
            components["UploadRecord"],
        ]
        if keyring is not None:
            for record in records:
                record["properties"]["key_version"]["enum"] = list(keyring.versions)
        return schema

    return openapi


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    install_record_factory()
    production = settings.env == "production"
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings)
        try:
            app.state.engine = engine
            app.state.keyring_lock = asyncio.Lock()
            await reload_keyring(app)
            app.state.sessionmaker = create_sessionmaker(engine)
            app.state.read_sessionmaker = create_sessionmaker(engine, writes=False)
            app.state.single_read_sessionmaker = create_single_read_sessionmaker(engine, settings)
            # SQLite has one writer: this worker's writers queue for it here, in order.
            app.state.write_lock = asyncio.Lock() if settings.is_sqlite else None
            await refresh_sandbox(app)
            app.state.replicas = replicas = Replicas(settings, metrics)
            await replicas.start(engine)
            housekeeping = asyncio.create_task(_housekeeping(app, settings))
            try:
                yield
            finally:
                housekeeping.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await housekeeping
                await replicas.stop()
        finally:
            await engine.dispose()

    app = FastAPI(
        title="idcheck",
        version="1",
        summary="Privacy-preserving ID checks: keyed signatures, metered verification.",
        lifespan=lifespan,
        docs_url=None if production else "/docs",
        redoc_url=None,
        openapi_url=None if production else "/openapi.json",
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
    app.state.store = StoreHealth()
    handlers.install(app)
    # The last added runs first: name the request, observe, refuse keys in URLs, hash, then
    # bound the body.
    app.add_middleware(BodyBounds, settings=settings, metrics=metrics)
    app.add_middleware(BodyDigest)
    app.add_middleware(KeyInQuery, metrics=metrics)
    app.add_middleware(Observer, metrics=metrics)
    app.add_middleware(RequestId)
    routers = (
        service.router,
        keys.router,
        admin.router,
        datasets.router,
        datasets.optouts_router,
        verify.router,
        usage.router,
    )
    for router in routers:
        # The routers add nothing at inclusion (prefixes, tags and route class are their own), so
        # their routes join the app's as they are: app.routes lists every APIRoute, flat.
        app.router.routes.extend(router.routes)
    console.install(app)
    app.openapi = _openapi(app, settings)  # type: ignore[method-assign]
    return app


def serving_app() -> FastAPI:
    """The app as `idcheck serve` runs it in each worker process. What exists once it is made
    (modules, the app, SQLAlchemy's and pydantic's tables) lives as long as the process: frozen
    out of the collector's sight, a full collection no longer walks it in the middle of a
    request (p99 of a single verify here: about 110 ms before, 45-60 ms after)."""
    app = create_app()
    gc.collect()
    gc.freeze()
    return app
