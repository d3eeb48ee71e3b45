"""The console's plumbing: templates, who is signed in, CSRF, the request's transaction, and
errors as pages (the API's error model: code, message, details, request id).

A page declares its audience with ``viewer_for(roles...)``, as an API route does with
``require``; the route class (ConsoleRoute) owns the transaction as TransactionalRoute does."""

from collections.abc import Callable
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated
from typing import Any
from typing import Final
from typing import TypeVar

from fastapi import Depends
from fastapi import Request
from fastapi import Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel
from pydantic import ValidationError

from app.errors import Forbidden
from app.errors import IdcheckError
from app.errors import InvalidInput
from app.errors import Unauthenticated
from app.errors import detail
from app.errors import validation_details
from app.services.console_sessions import csrf_matches
from app.services.console_sessions import csrf_token
from app.services.console_sessions import find_session
from app.services.principals import Principal
from app.session import READS
from app.session import RequestTransaction
from app.transaction import route_roles
from schemas.vocabulary import ErrorCode
from schemas.vocabulary import Role

CONSOLE: Final = "/console"
SESSION_COOKIE: Final = "idcheck_session"
#: The sign-in form's own CSRF token, before any session (a double-submit cookie).
SIGN_IN_COOKIE: Final = "idcheck_sign_in"
#: What a form may hold when it is read here (a page without form fields of its own; FastAPI
#: reads the others): a few fields, one file. Every body's size is bounded before (BodyBounds).
MAX_FORM_FIELDS: Final = 16

M = TypeVar("M", bound=BaseModel)

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters["number"] = lambda value: f"{int(value):,}"

#: Every page: nothing but its own origin's styles and scripts, no framing, no caching, no
#: referrer (a page's URL may name an organisation).
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

#: Each role's pages, in the navigation's order; the first is the role's home.
NAVIGATION: Final[dict[str, list[tuple[str, str]]]] = {
    Role.HOLDER: [
        ("/console/datasets", "Datasets"),
        ("/console/earnings", "Earnings"),
        ("/console/opt-outs", "Opt-outs"),
    ],
    Role.BUYER: [
        ("/console/usage", "Usage"),
        ("/console/verify", "Verify"),
        ("/console/keys", "Keys"),
    ],
    Role.FINANCE: [("/console/finance", "Usage report")],
    Role.ADMIN: [
        ("/console/admin/orgs", "Organisations"),
        ("/console/admin/key-versions", "Signing keys"),
        ("/console/admin/audit", "Audit log"),
        ("/console/finance", "Usage report"),
    ],
}


class SignInNeeded(Unauthenticated):
    """No live session: a page asks to sign in."""


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is looking: the key the session acts as, and the CSRF token its forms carry."""

    principal: Principal
    csrf: str

    @property
    def navigation(self) -> list[tuple[str, str]]:
        return NAVIGATION[self.principal.role]


async def session_principal(request: Request) -> Principal:
    """Who the session's cookie acts as, found once per request in a short read of its own (the
    route class asks before the body is read): 401 without a live session."""
    known: Principal | None = getattr(request.state, "principal", None)
    if known is not None:
        return known
    state = request.app.state
    async with state.single_read_sessionmaker() as session:
        principal = await find_session(
            session, state.keyring, request.cookies.get(SESSION_COOKIE, "")
        )
    if principal is None:
        raise SignInNeeded()
    request.state.principal = principal
    request.state.rate_headers = state.rate_limiter.take(principal.key_id)
    return principal


async def signed_in(request: Request) -> Viewer:
    """The session's key; on a form, its CSRF token checked before anything else is done."""
    principal = await session_principal(request)
    keyring = request.app.state.keyring
    token = request.cookies.get(SESSION_COOKIE, "")
    if request.method not in READS:
        form = await request.form(max_files=1, max_fields=MAX_FORM_FIELDS)
        presented = form.get("csrf")
        if not isinstance(presented, str) or not csrf_matches(keyring, token, presented):
            raise Forbidden(
                "the form's CSRF token is missing or wrong: reload the page and send it again",
                details=[{"index": None, "field": "csrf", "message": "missing or wrong"}],
            )
    viewer = Viewer(principal=principal, csrf=csrf_token(keyring, token))
    request.state.viewer = viewer  # for an error page's navigation
    return viewer


def viewer_for(*roles: str, sandbox: bool = False) -> Any:
    """A page for these roles (403 for the others); with ``sandbox``, test keys may see it too
    (their sandbox's side of it), else it needs a live key, as the API's routes do."""

    async def check(viewer: Annotated[Viewer, Depends(signed_in)]) -> Viewer:
        principal = viewer.principal
        if principal.role not in roles:
            raise Forbidden(f"this page is for {' or '.join(roles)} keys")
        if principal.test and not sandbox:
            raise Forbidden(
                "a test key works in the sandbox only: this page needs a live key",
                code=ErrorCode.SANDBOX_ONLY,
            )
        return viewer

    check.roles = roles  # type: ignore[attr-defined]
    return Depends(check)


def validated(model: type[M], data: dict[str, Any]) -> M:
    """A form's fields as the API's own request model: the same rules, the same details."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        details = validation_details(error.errors())
        raise InvalidInput("the form is not valid: see details", details=details) from None


def form_day(text: str, field: str) -> date | None:
    """A date input's value: empty for none (a form sends every field, filled or not)."""
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        raise InvalidInput(
            f"{field} is a day: YYYY-MM-DD", details=[detail(("query", field), "not a day")]
        ) from None


def page(
    request: Request, viewer: Viewer | None, template: str, status: int = 200, **context: Any
) -> HTMLResponse:
    return templates.TemplateResponse(
        request, template, {"viewer": viewer, **context}, status_code=status
    )


def error_page(request: Request, error: IdcheckError) -> HTMLResponse:
    request.app.state.metrics.rejected.labels(reason=error.code).inc()
    viewer = getattr(request.state, "viewer", None)
    response = page(request, viewer, "error.html", error.status, error=error.body()["error"])
    response.headers.update({k: v for k, v in error.headers.items() if k != "WWW-Authenticate"})
    return response


class ConsoleRoute(APIRoute):
    """A console page: its own transaction (committed before the page leaves, as the API's),
    a sign-in asked for where a session is needed, every error as a page of its status."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: A page for some roles (viewer_for) needs a session: it is found before the body is read.
        self.signed = route_roles(self) is not None

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            state = request.app.state
            transaction = RequestTransaction.open(request)
            response: Response
            try:
                if self.signed:  # the session first: no form is read for a stranger
                    await session_principal(request)
                response = await handler(request)
                await transaction.commit()
            except SignInNeeded:
                if request.method not in READS:
                    response = error_page(request, Unauthenticated())
                else:
                    response = RedirectResponse(f"{CONSOLE}/sign-in", status_code=303)
            except RequestValidationError as error:
                details = validation_details(list(error.errors()), strip=1)
                invalid = InvalidInput("the form is not valid: see details", details=details)
                response = error_page(request, invalid)
            except IdcheckError as error:
                response = error_page(request, error)
            except Exception as error:
                answer = state.store.answer(error)
                if answer is None:
                    raise
                response = error_page(request, answer)
            finally:
                await transaction.close()
            response.headers.update(SECURITY_HEADERS)
            return response

        return run
