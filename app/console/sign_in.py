"""Signing in with an API key (exchanged for a session at once: the key is kept nowhere), and
signing out. The sign-in form, made before any session, carries a double-submit CSRF token."""

import hmac
import logging
import secrets
from typing import Annotated

from fastapi import APIRouter
from fastapi import Form
from fastapi import Request
from fastapi import Response
from fastapi.responses import RedirectResponse

from app.console.web import CONSOLE
from app.console.web import NAVIGATION
from app.console.web import SESSION_COOKIE
from app.console.web import SIGN_IN_COOKIE
from app.console.web import ConsoleRoute
from app.console.web import SignInNeeded
from app.console.web import Viewer
from app.console.web import page
from app.console.web import session_principal
from app.console.web import viewer_for
from app.deps import SessionDep
from app.deps import SettingsDep
from app.errors import Forbidden
from app.errors import Unauthenticated
from app.services.console_sessions import close_session
from app.services.console_sessions import open_session
from app.services.principals import find_principal
from schemas.vocabulary import Role

log = logging.getLogger("idcheck")

router = APIRouter(prefix=CONSOLE, route_class=ConsoleRoute, include_in_schema=False)

#: An API key is "idc_" + role + "_" (+ "test_") + 40 hex: anything longer is not one.
MAX_KEY_LENGTH = 64


def _cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    """HttpOnly, SameSite=Strict, the console's path only, Secure when served over TLS."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=CONSOLE,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


@router.get("/", name="console_home")
async def home(request: Request) -> Response:
    """The signed-in role's first page, or the sign-in form."""
    try:
        principal = await session_principal(request)
    except SignInNeeded:
        return RedirectResponse(f"{CONSOLE}/sign-in", status_code=303)
    return RedirectResponse(NAVIGATION[principal.role][0][0], status_code=303)


def _sign_in_form(request: Request, status: int = 200, message: str | None = None) -> Response:
    token = secrets.token_urlsafe(24)
    response = page(request, None, "sign_in.html", status, csrf=token, message=message)
    _cookie(request, response, SIGN_IN_COOKIE, token, max_age=3600)
    return response


@router.get("/sign-in", name="console_sign_in_form")
async def sign_in_form(request: Request) -> Response:
    return _sign_in_form(request)


@router.post("/sign-in", name="console_sign_in")
async def sign_in(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    key: Annotated[str, Form(max_length=MAX_KEY_LENGTH)],
    csrf: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """The key is checked, a session opened, and only the session's token goes to the browser."""
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    if not expected or not hmac.compare_digest(expected.encode(), csrf.encode()):
        raise Forbidden(
            "the sign-in form's CSRF token is missing or wrong: reload the page and sign in again",
            details=[{"index": None, "field": "csrf", "message": "missing or wrong"}],
        )
    keyring = request.app.state.keyring
    try:
        principal = await find_principal(session, keyring, key.strip())
    except Unauthenticated:
        return _sign_in_form(request, 401, "That key is not a valid API key (or was revoked).")
    request.app.state.rate_limiter.take(principal.key_id)  # sessions made as fast as requests
    if earlier := request.cookies.get(SESSION_COOKIE):  # this browser's last session ends here
        await close_session(session, keyring, earlier)
    opened = await open_session(session, keyring, principal, settings.console_session_ttl)
    log.info("console sign-in: %s key of organisation %s", principal.role, principal.org_id)
    response = RedirectResponse(f"{CONSOLE}/", status_code=303)
    _cookie(request, response, SESSION_COOKIE, opened.token, settings.console_session_minutes * 60)
    response.delete_cookie(SIGN_IN_COOKIE, path=CONSOLE)
    return response


@router.post("/sign-out", name="console_sign_out")
async def sign_out(
    request: Request, session: SessionDep, _: Annotated[Viewer, viewer_for(*Role, sandbox=True)]
) -> Response:
    """The session ends in the store (its cookie alone would outlive it), and in the browser."""
    await close_session(session, request.app.state.keyring, request.cookies[SESSION_COOKIE])
    response = RedirectResponse(f"{CONSOLE}/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=CONSOLE)
    return response
