"""Buyers: verify raw records (signed here, in memory, then dropped) or records signed locally."""

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated
from typing import Final
from typing import cast
from uuid import UUID

import pydantic_core
from fastapi import APIRouter
from fastapi import Depends
from fastapi import Request
from fastapi import Response
from starlette.concurrency import run_in_threadpool

from app.auth import BuyerPrincipal
from app.deps import KeyRingDep
from app.deps import MetricsDep
from app.deps import SettingsDep
from app.deps import TransactionDep
from app.deps import keyring_knowing
from app.errors import InvalidInput
from app.errors import detail
from app.errors import unknown_versions
from app.routes import AUTHENTICATED
from app.services.verify import verify
from app.transaction import TransactionalRoute
from matching import Judgement
from matching import Probe
from matching import Usage
from matching import probe_raw
from matching import probe_signed
from schemas.verify import SignedVerifyRequest
from schemas.verify import VerifyRequest
from schemas.verify import VerifyResponse
from schemas.vocabulary import Endpoint

router = APIRouter(
    prefix="/v1", tags=["buyers"], route_class=TransactionalRoute, responses=AUTHENTICATED
)

_RECORD_FIELDS = {"ref", "city"}
#: Raw records normalised and signed on the event loop itself: a few records take less time
#: (tens of microseconds each) than the hop to a thread and back; more go to a thread.
INLINE_RECORDS: Final = 16


@dataclass
class Verifier:
    """What both verify routes need, declared once: the request, the buyer, the request's
    transaction, the keys, the limits and the metrics."""

    request: Request
    buyer: BuyerPrincipal
    transaction: TransactionDep
    #: The keys of this request: the worker's, or a later reading that knows a signed record's
    #: version (verify_signed); close forms are peppered with them when looked up.
    keyring: KeyRingDep
    settings: SettingsDep
    metrics: MetricsDep

    def check_count(self, count: int) -> None:
        limit = self.settings.max_verify_records
        if count > limit:
            raise InvalidInput(
                f"at most {limit:,} records a request",
                details=[
                    detail(("records", limit), f"record {limit} is over the limit of {limit:,}")
                ],
            )

    async def judge(
        self, endpoint: Endpoint, purpose: str, probes: list[Probe]
    ) -> tuple[list[Judgement], Usage, UUID]:
        """Look up, judge and meter in the request's transaction (it begins here, once the
        records are normalised and signed): the verdicts, the usage and its event's id."""
        session = await self.transaction.session()
        verdicts, usage, event_id = await verify(
            session,
            self.buyer,
            endpoint,
            purpose,
            probes,
            self.keyring,
            self.request.app.state.replicas,
        )
        self._count(endpoint, verdicts, usage)
        return verdicts, usage, event_id

    async def probe_raw(self, body: VerifyRequest) -> list[Probe]:
        """The raw records normalised and signed in memory (a thread for more than a few)."""
        self.check_count(len(body.records))
        default_country = body.default_country.value
        records = [record.model_dump(exclude=_RECORD_FIELDS) for record in body.records]
        if len(records) <= INLINE_RECORDS:
            return probe_raw(records, self.keyring, default_country)
        return await run_in_threadpool(probe_raw, records, self.keyring, default_country)

    async def answer(
        self, endpoint: Endpoint, purpose: str, refs: list[str | None], probes: list[Probe]
    ) -> Response:
        """The verdicts (judge) as a VerifyResponse, written as JSON straight from them (no
        model object per check: six a record, a thousand records a request; what the service
        made itself needs no validation)."""
        verdicts, usage, event_id = await self.judge(endpoint, purpose, probes)
        answer = {
            "results": [
                {
                    "ref": ref,
                    "checks": {
                        kind: {
                            "match": c.match,
                            "level": c.level.value,
                            "sources": c.sources,
                            "last_seen": c.last_seen,
                        }
                        for kind, c in verdict.checks.items()
                    },
                    "invalid": list(verdict.invalid),
                    "verdict": verdict.verdict.value,
                }
                for ref, verdict in zip(refs, verdicts, strict=True)
            ],
            "usage": {
                "records": usage.records,
                "billable_records": usage.billable_records,
                "matched_records": usage.matched_records,
                "event_id": event_id,
            },
        }
        return Response(pydantic_core.to_json(answer), media_type="application/json")

    def _count(self, endpoint: Endpoint, verdicts: list[Judgement], usage: Usage) -> None:
        metrics = self.metrics
        metrics.verify_requests.labels(endpoint=endpoint).inc()
        metrics.verified_records.labels(endpoint=endpoint).inc(usage.records)
        if not self.buyer.test:  # a test key's records are never billed
            metrics.billable_records.labels(endpoint=endpoint).inc(usage.billable_records)
        metrics.matched_records.labels(endpoint=endpoint).inc(usage.matched_records)
        checks = Counter(
            (kind, check.level) for verdict in verdicts for kind, check in verdict.checks.items()
        )
        for (kind, level), count in checks.items():  # one increment per label, not per check
            metrics.check(kind, level).inc(count)


async def _verifier(
    request: Request,
    buyer: BuyerPrincipal,
    transaction: TransactionDep,
    keyring: KeyRingDep,
    settings: SettingsDep,
    metrics: MetricsDep,
) -> Verifier:
    """The Verifier, built by a coroutine (FastAPI would build a class in its thread pool)."""
    return Verifier(request, buyer, transaction, keyring, settings, metrics)


VerifierDep = Annotated[Verifier, Depends(_verifier)]


@router.post("/verify", operation_id="verify", response_model=VerifyResponse)
async def verify_raw(body: VerifyRequest, verifier: VerifierDep) -> Response:
    """Check raw records: normalised and signed in memory, never stored, never logged."""
    probes = await verifier.probe_raw(body)
    refs = [record.ref for record in body.records]
    return await verifier.answer(Endpoint.RAW, body.purpose, refs, probes)


@router.post("/verify/signed", operation_id="verify_signed", response_model=VerifyResponse)
async def verify_signed(body: SignedVerifyRequest, verifier: VerifierDep) -> Response:
    """Check records signed locally with the signing key: only signatures cross the wire."""
    verifier.check_count(len(body.records))
    signed = [record.versions() for record in body.records]
    versions = {version for record in signed for version, _ in record}
    keyring = verifier.keyring = await keyring_knowing(verifier.request, versions)
    unknown = unknown_versions(keyring, signed)
    if unknown:
        raise InvalidInput("unknown key versions", details=unknown[:100])
    probes = probe_signed(cast(list[list[tuple[int, Mapping[str, str]]]], signed), keyring)
    refs = [record.ref for record in body.records]
    return await verifier.answer(Endpoint.SIGNED, body.purpose, refs, probes)
