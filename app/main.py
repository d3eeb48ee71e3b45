"""The FastAPI application: made by create_app(), its engine made in the lifespan."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from app import handlers
from app.db import create_engine, create_sessionmaker
from app.metrics import Metrics
from app.middleware import BodyLimit, Observer
from app.models import KeyVersion
from app.routes import admin, datasets, service, verify
from app.settings import Settings
from matching import KeyRing

log = logging.getLogger("idcheck")


async def load_keyring(engine: AsyncEngine, master: bytes) -> KeyRing:
    async with engine.connect() as connection:
        rows = await connection.execute(
            sa.select(KeyVersion.version)
            .where(KeyVersion.retired_at.is_(None))
            .order_by(KeyVersion.version)
        )
        versions = tuple(rows.scalars())
    if not versions:
        raise RuntimeError("no signing-key version in the database: run `idcheck migrate`")
    return KeyRing(master=master, versions=versions, current=versions[-1])


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    production = settings.env == "production"
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings)
        try:
            app.state.keyring = await load_keyring(engine, settings.master_secret)
            app.state.sessionmaker = create_sessionmaker(engine)
            yield
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
    handlers.install(app)
    app.add_middleware(
        BodyLimit,
        json_limit=settings.max_json_body_bytes,
        upload_limit=settings.max_upload_body_bytes,
    )
    app.add_middleware(Observer, metrics=metrics)
    for router in (service.router, admin.router, datasets.router, verify.router):
        # The routers add nothing at inclusion (prefixes, tags and route class are their own), so
        # their routes join the app's as they are: app.routes lists every APIRoute, flat.
        app.router.routes.extend(router.routes)
    return app
