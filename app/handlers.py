"""One handler renders every error in one shape (docs/api.md), FastAPI's 404/405/422 and 500s too.

Validation details name the record index and field, never the value that was sent: a raw email
must not come back in an error, be logged, or be kept.
"""

import logging

import sqlalchemy.exc
from fastapi import FastAPI
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from app.errors import BadRequest
from app.errors import Conflict
from app.errors import IdcheckError
from app.errors import InvalidInput
from app.errors import InvalidJson
from app.errors import MethodNotAllowed
from app.errors import NotFound
from app.errors import PayloadTooLarge
from app.errors import UnsupportedMediaType
from app.errors import validation_details

log = logging.getLogger("idcheck")

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
            return render(InvalidJson(), request)
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
