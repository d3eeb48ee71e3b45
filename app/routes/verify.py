"""Buyers: verify raw records (signed here, in memory, then dropped) or records signed locally."""

from collections.abc import Mapping
from typing import cast

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from app.auth import BuyerPrincipal
from app.deps import KeyRingDep, MetricsDep, SettingsDep, TransactionDep
from app.errors import InvalidInput, detail, unknown_versions
from app.metrics import Metrics
from app.routes import AUTHENTICATED
from app.services.verify import verify
from app.transaction import TransactionalRoute
from matching import Judgement, Usage, probe_raw, probe_signed
from schemas.verify import (
    Check,
    Result,
    SignedVerifyRequest,
    UsageSummary,
    VerifyRequest,
    VerifyResponse,
)
from schemas.vocabulary import Endpoint
from signatures.kinds import Kind

router = APIRouter(
    prefix="/v1", tags=["buyers"], route_class=TransactionalRoute, responses=AUTHENTICATED
)

_RECORD_FIELDS = {"ref", "city"}


def _check_count(count: int, limit: int) -> None:
    if count > limit:
        raise InvalidInput(
            f"at most {limit:,} records a request",
            details=[detail(("records", limit), f"record {limit} is over the limit of {limit:,}")],
        )


def _answer(
    refs: list[str | None], verdicts: list[Judgement], usage: Usage, endpoint: str, metrics: Metrics
) -> VerifyResponse:
    metrics.verify_requests.labels(endpoint=endpoint).inc()
    metrics.verified_records.labels(endpoint=endpoint).inc(usage.records)
    metrics.billable_records.labels(endpoint=endpoint).inc(usage.billable_records)
    metrics.matched_records.labels(endpoint=endpoint).inc(usage.matched_records)
    for verdict in verdicts:
        for kind, check in verdict.checks.items():
            metrics.checks.labels(kind=kind, match=str(check.match).lower()).inc()
    return VerifyResponse(
        results=[
            Result(
                ref=ref,
                checks={
                    cast(Kind, kind): Check(match=c.match, sources=c.sources, last_seen=c.last_seen)
                    for kind, c in verdict.checks.items()
                },
                invalid=list(verdict.invalid),
                verdict=verdict.verdict,
            )
            for ref, verdict in zip(refs, verdicts, strict=True)
        ],
        usage=UsageSummary(
            records=usage.records,
            billable_records=usage.billable_records,
            matched_records=usage.matched_records,
        ),
    )


@router.post("/verify", operation_id="verify")
async def verify_raw(
    body: VerifyRequest,
    buyer: BuyerPrincipal,
    transaction: TransactionDep,
    keyring: KeyRingDep,
    settings: SettingsDep,
    metrics: MetricsDep,
) -> VerifyResponse:
    """Check raw records: normalised and signed in memory, never stored, never logged."""
    _check_count(len(body.records), settings.max_verify_records)
    default_country = body.default_country.value
    records = [record.model_dump(exclude=_RECORD_FIELDS) for record in body.records]
    probes = await run_in_threadpool(probe_raw, records, keyring, default_country)
    del records
    session = await transaction.session()  # the work begins once the records are normalised
    verdicts, usage = await verify(session, buyer, Endpoint.RAW, body.purpose, probes)
    return _answer([r.ref for r in body.records], verdicts, usage, Endpoint.RAW, metrics)


@router.post("/verify/signed", operation_id="verify_signed")
async def verify_signed(
    body: SignedVerifyRequest,
    buyer: BuyerPrincipal,
    transaction: TransactionDep,
    keyring: KeyRingDep,
    settings: SettingsDep,
    metrics: MetricsDep,
) -> VerifyResponse:
    """Check records signed locally with the signing key: only signatures cross the wire."""
    _check_count(len(body.records), settings.max_verify_records)
    unknown = unknown_versions(keyring, (record.key_version for record in body.records))
    if unknown:
        raise InvalidInput("unknown key versions", details=unknown[:100])
    probes = probe_signed(
        ((r.key_version, cast(Mapping[str, str], r.signatures)) for r in body.records), keyring
    )
    session = await transaction.session()
    verdicts, usage = await verify(session, buyer, Endpoint.SIGNED, body.purpose, probes)
    return _answer([r.ref for r in body.records], verdicts, usage, Endpoint.SIGNED, metrics)
