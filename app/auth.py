"""Who is calling, found once per request from its API key; roles checked on every route."""

from collections.abc import Sequence
from typing import Annotated
from typing import Any
from typing import Final

from fastapi import Depends
from fastapi import Request

from app.errors import Forbidden
from app.errors import Unauthenticated
from app.services.principals import Principal
from app.services.principals import find_principal
from schemas.vocabulary import CLIENT_ROLES
from schemas.vocabulary import ErrorCode
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
    request.state.principal = principal
    request.state.rate_headers = request.app.state.rate_limiter.take(principal.key_id)
    return principal


#: What a test key may do (docs/sandbox.md): read the sandbox, verify against it, see its own
#: (test) usage, and get what signing needs. Anything else is 403 sandbox_only.
SANDBOX_OPERATIONS: Final = frozenset(
    {
        "list_datasets",
        "get_dataset",
        "verify",
        "verify_signed",
        "get_my_usage",
        "get_signing_key",
        "list_signing_keys",
        "get_current_key_version",
        "oprf_evaluate",
    }
)


def check_role(principal: Principal, roles: Sequence[str], operation_id: str | None) -> None:
    if principal.role not in roles:
        raise Forbidden(f"this route is for {' or '.join(roles)} keys")
    if principal.test and operation_id not in SANDBOX_OPERATIONS:
        raise Forbidden(
            "a test key works in the sandbox only: this route needs a live key",
            code=ErrorCode.SANDBOX_ONLY,
        )


def require(*roles: str) -> Any:
    """A dependency that lets only these roles through (403 for the others). The route class
    reads ``roles`` to check them before the body is read."""

    async def check(
        request: Request, principal: Annotated[Principal, Depends(authenticate)]
    ) -> Principal:
        check_role(principal, roles, getattr(request.scope.get("route"), "operation_id", None))
        return principal

    check.roles = roles  # type: ignore[attr-defined]
    return Depends(check)


AdminPrincipal = Annotated[Principal, require(Role.ADMIN)]
HolderPrincipal = Annotated[Principal, require(Role.HOLDER)]
BuyerPrincipal = Annotated[Principal, require(Role.BUYER)]
ClientPrincipal = Annotated[Principal, require(*CLIENT_ROLES)]
