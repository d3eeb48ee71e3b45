"""Verify: index values looked up, verdicts given, the request metered."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Principal
from app.metering import record_usage
from matching import Probe, Usage, Verdict, judge, lookup, probe_values, tally


async def verify(
    session: AsyncSession, buyer: Principal, endpoint: str, purpose: str, probes: list[Probe]
) -> tuple[list[Verdict], Usage]:
    hits = await lookup(session, probe_values(probes))
    verdicts = [judge(probe, hits) for probe in probes]
    usage = tally(verdicts)
    await record_usage(session, buyer, endpoint, purpose, usage)
    return verdicts, usage
