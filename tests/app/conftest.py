"""The service under test, in process (httpx over ASGI), on each backend of tests/conftest.py."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from app.main import create_app
from app.migrate import migrate
from tests.helpers.databases import Database
from tests.helpers.inprocess import Caller
from tests.helpers.inprocess import bootstrap_admin
from tests.helpers.inprocess import make_settings
from tests.helpers.inprocess import new_org


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    """Tests override settings by redefining this fixture."""
    return {}


@pytest.fixture
async def app(database: Database, settings_overrides: dict[str, object]) -> AsyncIterator[FastAPI]:
    await migrate(database.url)  # the database is built by running the migrations
    application = create_app(make_settings(database, **settings_overrides))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://idcheck.test") as client:
        yield client


@pytest.fixture
async def admin(app: FastAPI) -> Caller:
    return await bootstrap_admin(app)


@pytest.fixture
async def holder(client: httpx.AsyncClient, admin: Caller) -> Caller:
    return await new_org(client, admin, "holder")


@pytest.fixture
async def buyer(client: httpx.AsyncClient, admin: Caller) -> Caller:
    return await new_org(client, admin, "buyer")
