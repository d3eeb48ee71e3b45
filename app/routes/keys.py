"""What clients sign with: key versions and their schemes, HMAC keys, and blind evaluation."""

from datetime import UTC
from datetime import datetime

from fastapi import APIRouter
from fastapi import Request
from starlette.concurrency import run_in_threadpool

from app.auth import ClientPrincipal
from app.deps import KeyRingDep
from app.deps import MetricsDep
from app.deps import SettingsDep
from app.deps import TransactionDep
from app.deps import keyring_knowing
from app.errors import Conflict
from app.errors import InvalidInput
from app.errors import detail
from app.routes import AUTHENTICATED
from app.services.evaluations import charge_evaluations
from app.transaction import TransactionalRoute
from matching import KeyRing
from schemas.service import CurrentKeyVersion
from schemas.service import EvaluateRequest
from schemas.service import EvaluateResponse
from schemas.service import KeyVersionInfo
from schemas.service import SigningKeyList
from schemas.service import SigningKeyOut
from schemas.vocabulary import ErrorCode
from signatures import ALGORITHM
from signatures import SPEC
from signatures import Scheme

router = APIRouter(
    prefix="/v1", tags=["keys"], route_class=TransactionalRoute, responses=AUTHENTICATED
)
#: Bad elements named in one answer (the rest are not listed).
MAX_DETAILS = 100


def _signing_key(keyring: KeyRing, version: int) -> SigningKeyOut:
    key = keyring.signing_key(version).hex()
    return SigningKeyOut(version=version, key=key, algorithm=ALGORITHM, spec=SPEC)


@router.get("/signing-key", operation_id="get_signing_key")
async def signing_key(_: ClientPrincipal, keyring: KeyRingDep) -> SigningKeyOut:
    """The current signing key, for an HMAC version: sign records with it, locally. When the
    current version is OPRF (blind mode), no key is handed out: 409 use_blind_evaluation."""
    current = keyring.current
    if keyring.scheme(current) is not Scheme.HMAC:
        raise Conflict(
            f"key version {current} is blind mode ({keyring.scheme(current)}): no key is handed "
            "out; sign through POST /v1/oprf/evaluate",
            code=ErrorCode.USE_BLIND_EVALUATION,
        )
    return _signing_key(keyring, current)


@router.get("/signing-keys", operation_id="list_signing_keys")
async def signing_keys(_: ClientPrincipal, keyring: KeyRingDep) -> SigningKeyList:
    """Every live HMAC version's key, oldest first: a buyer signing locally signs with each (and
    blind with each live OPRF version) so that records of every live version match."""
    return SigningKeyList(keys=[_signing_key(keyring, v) for v in keyring.hmac_versions()])


@router.get("/key-versions/current", operation_id="get_current_key_version")
async def current_key_version(_: ClientPrincipal, keyring: KeyRingDep) -> CurrentKeyVersion:
    """The version to sign with now and its scheme, and every live version."""
    live = [
        KeyVersionInfo(version=v, scheme=keyring.scheme(v), spec=SPEC) for v in keyring.versions
    ]
    current = keyring.current
    return CurrentKeyVersion(version=current, scheme=keyring.scheme(current), spec=SPEC, live=live)


@router.post("/oprf/evaluate", operation_id="oprf_evaluate")
async def oprf_evaluate(
    request: Request,
    body: EvaluateRequest,
    client: ClientPrincipal,
    transaction: TransactionDep,
    settings: SettingsDep,
    metrics: MetricsDep,
) -> EvaluateResponse:
    """Blind evaluation (RFC 9497, modeOPRF, ristretto255-SHA512) under a live OPRF version:
    one evaluated element per blinded element, in order. Nothing of them is stored or logged;
    they are counted against the organisation's monthly evaluation quota."""
    version = body.key_version
    keyring = await keyring_knowing(request, [version])
    if not keyring.knows(version) or keyring.scheme(version) is not Scheme.OPRF:
        raise InvalidInput(
            "key_version is not a live OPRF version: see GET /v1/key-versions/current",
            details=[detail(("key_version",), "not a live OPRF key version")],
        )
    elements = [bytes.fromhex(element) for element in body.elements]
    evaluated = await run_in_threadpool(keyring.blind_evaluate, version, elements)
    bad = [index for index, element in enumerate(evaluated) if element is None]
    if bad:
        raise InvalidInput(
            f"{len(bad):,} elements are not canonical ristretto255 encodings of an element other "
            "than the identity",
            details=[
                detail(("elements", index), "not a canonical non-identity ristretto255 element")
                for index in bad[:MAX_DETAILS]
            ],
        )
    session = await transaction.session()
    await charge_evaluations(
        session, client, len(elements), settings.evaluation_allowance, datetime.now(UTC)
    )
    metrics.evaluations.labels(role=client.role).inc(len(elements))
    answer = [element.hex() for element in evaluated if element is not None]
    return EvaluateResponse(key_version=version, evaluated=answer)
