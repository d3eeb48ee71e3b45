"""Who is calling, found once per request from its API key; roles checked on every route."""

from collections.abc import Sequence
from typing import Annotated
from typing import Any

from fastapi import Depends
from fastapi import Request

from app.errors import Forbidden
from app.errors import Unauthenticated
from app.services.principals import Principal
from app.services.principals import find_principal
from schemas.vocabulary import CLIENT_ROLES
from schemas.vocabulary import Role


async def authenticate(request: Request) -> Principal:
    """The caller, found once per request, in one read statement of its own: the connection goes
    back to the pool before the body is read (TransactionalRoute authenticates first)."""
    known: Principal | None = getattr(request.state, "principal", None)
    if known is not None:
        return known
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        raise Unauthenticated()
    keyring = request.app.state.keyring
    async with request.app.state.single_read_sessionmaker() as session:
        principal = await find_principal(session, keyring, token.strip())
    request.app.state.rate_limiter.take(principal.key_id)
    request.state.principal = principal
    return principal


def check_role(principal: Principal, roles: Sequence[str]) -> None:
    if principal.role not in roles:
        raise Forbidden(f"this route is for {' or '.join(roles)} keys")


def require(*roles: str) -> Any:
    """A dependency that lets only these roles through (403 for the others). The route class
    reads ``roles`` to check them before the body is read."""

    async def check(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        check_role(principal, roles)
        return principal

    check.roles = roles  # type: ignore[attr-defined]
    return Depends(check)


AdminPrincipal = Annotated[Principal, require(Role.ADMIN)]
HolderPrincipal = Annotated[Principal, require(Role.HOLDER)]
BuyerPrincipal = Annotated[Principal, require(Role.BUYER)]
ClientPrincipal = Annotated[Principal, require(*CLIENT_ROLES)]
