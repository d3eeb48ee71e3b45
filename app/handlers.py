"""One handler renders every error in API.md's shape, FastAPI's own 404/405/422 and 500s included.

Validation details name the record index and field, never the value that was sent: a raw email
must not come back in an error, be logged, or be kept.
"""

import logging
from collections.abc import Iterable, Sequence
from typing import Any, Final

import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from app.errors import (
    BadRequest,
    Conflict,
    IdcheckError,
    InvalidInput,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from matching import KeyRing
from schemas import admin, datasets, verify
from signatures import FIELDS, KINDS

log = logging.getLogger("idcheck")
_MODELS: Final = [
    model
    for module in (admin, datasets, verify)
    for model in vars(module).values()
    if isinstance(model, type) and issubclass(model, BaseModel)
]

_BY_STATUS: dict[int, type[IdcheckError]] = {
    400: BadRequest,
    404: NotFound,
    405: MethodNotAllowed,
    409: Conflict,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    422: InvalidInput,
}


def render(error: IdcheckError, request: Request | None = None) -> JSONResponse:
    if request is not None:
        request.app.state.metrics.rejected.labels(reason=error.code).inc()
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


# Names a location may show. A dict key the client sent is none of these and is dropped: it could
# be anything, a raw email included, and nothing the client sent comes back in an error.
_NAMES: Final = frozenset(
    {
        *FIELDS,
        *KINDS,
        *(name for model in _MODELS for name in model.model_fields),
        *("path", "query", "header", "dataset_id", "org_id", "key_id"),
    }
)


def detail(loc: Sequence[int | str], message: str) -> dict[str, Any]:
    """{"index", "field", "message"} from a location such as ("records", 3, "email")."""
    parts = list(loc)
    index = None
    if len(parts) >= 2 and parts[0] == "records" and isinstance(parts[1], int):
        index = parts[1]
        parts = parts[2:]
    shown = [str(part) for part in parts if isinstance(part, int) or part in _NAMES]
    return {"index": index, "field": ".".join(shown) or None, "message": message}


def validation_details(
    errors: Sequence[Any], *, strip: int = 0, prefix: tuple[int | str, ...] = ()
) -> list[dict[str, Any]]:
    """Pydantic errors -> details; ``input`` and ``ctx`` (which may hold raw values) are dropped.

    ``strip`` drops leading location parts (FastAPI's "body"); ``prefix`` puts some in front (the
    record a line-by-line validation was about)."""
    return [detail((*prefix, *tuple(e["loc"])[strip:]), str(e["msg"])) for e in errors]


def unknown_versions(keyring: KeyRing, versions: Iterable[int]) -> list[dict[str, Any]]:
    """A detail for each record (by index) whose key version is not live."""
    return [
        detail(("records", index, "key_version"), "unknown key version")
        for index, version in enumerate(versions)
        if not keyring.knows(version)
    ]


def _allowed(request: Request) -> str:
    """Every method some route serves on this path (Starlette names only the first route's)."""
    path = request.url.path
    methods = {
        method
        for route in request.app.routes
        if isinstance(route, APIRoute) and route.path_regex.fullmatch(path)
        for method in route.methods or ()
    }
    return ", ".join(sorted(methods))


def install(app: FastAPI) -> None:
    @app.exception_handler(IdcheckError)
    async def _ours(request: Request, error: IdcheckError) -> JSONResponse:
        return render(error, request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = error.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return render(BadRequest("the body is not valid JSON", code="invalid_json"), request)
        if any(tuple(e["loc"])[:1] == ("path",) for e in errors):
            # An id in the path that is not one names nothing: the URL is not found (ids are
            # opaque; the same answer as for an id that does not exist).
            return render(NotFound("no such object: ids are UUIDs"), request)
        body_errors = [e for e in errors if tuple(e["loc"])[:1] == ("body",)]
        details = validation_details(body_errors, strip=1)
        details += validation_details([e for e in errors if e not in body_errors])
        return render(
            InvalidInput("the request is not valid: see details", details=details), request
        )

    @app.exception_handler(HTTPException)
    async def _starlette(request: Request, error: HTTPException) -> JSONResponse:
        kind = _BY_STATUS.get(error.status_code, BadRequest)
        message = {
            404: "no such route",
            405: "method not allowed on this route",
        }.get(error.status_code, str(error.detail))
        headers = dict(error.headers or {})
        if error.status_code == 405:
            headers["Allow"] = _allowed(request)
        return render(kind(message, headers=headers), request)

    @app.exception_handler(sqlalchemy.exc.IntegrityError)
    async def _integrity(request: Request, error: sqlalchemy.exc.IntegrityError) -> JSONResponse:
        log.warning("integrity error: %s", type(error.orig).__name__)
        return render(Conflict("this conflicts with an existing object"), request)

    @app.exception_handler(sqlalchemy.exc.DBAPIError)
    @app.exception_handler(sqlalchemy.exc.TimeoutError)
    @app.exception_handler(OSError)
    async def _store(request: Request, error: Exception) -> JSONResponse:
        answer = request.app.state.store.answer(error)
        if answer is None:
            raise error
        return render(answer, request)
