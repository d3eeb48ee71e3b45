"""Health, readiness and metrics (public)."""

import hmac

import sqlalchemy as sa
from fastapi import APIRouter
from fastapi import Request
from fastapi import Response
from prometheus_client import CONTENT_TYPE_LATEST

from app.deps import MetricsDep
from app.deps import SessionDep
from app.deps import SettingsDep
from app.errors import StoreUnavailable
from app.errors import Unauthenticated
from app.replicas import Replicas
from app.routes import error_responses
from app.transaction import TransactionalRoute
from schemas.service import Health

router = APIRouter(route_class=TransactionalRoute)


@router.get("/healthz", operation_id="healthz", tags=["service"], response_model_exclude_none=True)
async def healthz() -> Health:
    """200 while the process runs."""
    return Health(status="ok")


@router.get(
    "/readyz",
    operation_id="readyz",
    tags=["service"],
    responses=error_responses(503),
    response_model_exclude_none=True,
)
async def readyz(request: Request, session: SessionDep) -> Health:
    """200 when the store answers, else 503; ``degraded`` (still 200) when replicas are
    configured and none takes lookups (the primary answers them)."""
    try:
        await session.execute(sa.text("SELECT 1"))
    except Exception:
        raise StoreUnavailable() from None
    replicas: Replicas = request.app.state.replicas
    if not replicas.configured:
        return Health(status="ok")
    usable = len(replicas.usable())
    return Health(
        status="ok" if usable else "degraded",
        replicas=len(replicas.replicas),
        usable_replicas=usable,
    )


@router.get(
    "/metrics",
    operation_id="metrics",
    tags=["service"],
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}, **error_responses(401)},
)
async def metrics(request: Request, settings: SettingsDep, registry: MetricsDep) -> Response:
    """Prometheus text format; behind a bearer token when IDCHECK_METRICS_TOKEN is set."""
    if settings.metrics_token is not None:
        expected = f"Bearer {settings.metrics_token.get_secret_value()}".encode()
        presented = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(presented, expected):
            raise Unauthenticated()
    return Response(registry.exposition(), media_type=CONTENT_TYPE_LATEST)
