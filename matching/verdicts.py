"""From buyer records to index values (probes), and from lookups to checks, verdicts and usage."""

from collections import Counter
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from typing import Final
from uuid import UUID

from matching.keyring import KeyRing
from matching.lookup import Hits
from matching.lookup import Source
from schemas.vocabulary import Level
from schemas.vocabulary import Verdict
from signatures import CLOSE_SLOTS
from signatures import CONTACT_KINDS
from signatures import KINDS
from signatures import PAIR_KINDS
from signatures import normalize_record


@dataclass(frozen=True, slots=True)
class Probe:
    """One buyer record as index values: slot (a kind, or a close form of a pair kind) -> one
    value per key version that signed it. A close form's value is made when it is looked up
    (``close_values``): until then ``close`` holds its signatures, by key version."""

    values: dict[str, tuple[bytes, ...]]
    invalid: tuple[str, ...] = ()
    close: dict[str, tuple[tuple[int, bytes], ...]] = field(default_factory=dict)


def _probe(
    versions: Iterable[tuple[int, Mapping[str, str]]], keyring: KeyRing, invalid: tuple[str, ...]
) -> Probe:
    """A record's signatures (slot -> hex) under each version: the kinds' own peppered now."""
    values: dict[str, list[bytes]] = {}
    close: dict[str, list[tuple[int, bytes]]] = {}
    for version, signatures in versions:
        for slot, signature in signatures.items():
            if slot in KINDS:
                value = keyring.index_value(version, bytes.fromhex(signature))
                values.setdefault(slot, []).append(value)
            else:
                close.setdefault(slot, []).append((version, bytes.fromhex(signature)))
    return Probe(
        {kind: tuple(v) for kind, v in values.items()},
        invalid,
        {slot: tuple(signed) for slot, signed in close.items()},
    )


def probe_raw(
    records: Iterable[Mapping[str, str | None]], keyring: KeyRing, default_country: str
) -> list[Probe]:
    """Normalise and sign raw records in memory, with every live key version; nothing is kept."""
    probes = []
    for record in records:
        normalized = normalize_record(record, default_country=default_country)
        signed = [
            (version, keyring.sign_fields(version, normalized.fields, normalized.names))
            for version in keyring.versions
        ]
        probes.append(_probe(signed, keyring, tuple(normalized.invalid)))
    return probes


def probe_signed(
    records: Iterable[Sequence[tuple[int, Mapping[str, str]]]], keyring: KeyRing
) -> list[Probe]:
    """Records signed by the buyer, each under one or more key versions: [(key version, {slot:
    hex}), ...]; versions are checked before."""
    return [_probe(versions, keyring, ()) for versions in records]


def probe_values(probes: Iterable[Probe]) -> set[bytes]:
    """The kinds' own values: what is looked up first."""
    return {
        value
        for probe in probes
        for kind, values in probe.values.items()
        if kind in KINDS
        for value in values
    }


#: pair kind -> the contact kinds it signs (email_name: email): its close forms sign them too, so
#: they can match only where one of those matched exactly.
_ANCHORS: Final = {
    kind: [contact for contact in CONTACT_KINDS if set(KINDS[contact]) <= set(KINDS[kind])]
    for kind in PAIR_KINDS
}


def close_values(probes: Iterable[Probe], hits: Hits, keyring: KeyRing) -> set[bytes]:
    """The close forms' values worth looking up once the kinds' own are (``hits``): those of a
    pair kind that did not match exactly, and whose contact kind, if it signs one and the record
    asked for it, did (a close form signs the contact point: without a holder of it, no close
    form can match). Each is peppered now, into its probe's ``values``, where ``judge`` finds
    it."""
    wanted: set[bytes] = set()
    for probe in probes:
        values = probe.values
        for kind, slots in CLOSE_SLOTS.items():
            exact = values.get(kind)
            if exact is None or any(value in hits for value in exact):
                continue
            anchors = [value for anchor in _ANCHORS[kind] for value in values.get(anchor, ())]
            if anchors and not any(value in hits for value in anchors):
                continue
            for slot in slots:
                signed = probe.close.get(slot)
                if signed is None:
                    break  # slots are filled from the first
                values[slot] = tuple(keyring.index_value(v, s) for v, s in signed)
                wanted.update(values[slot])
    return wanted


@dataclass(frozen=True, slots=True)
class KindCheck:
    """A kind's check: its level; the holders that hold the record at that level, and when they
    last updated it."""

    level: Level
    sources: int
    last_seen: date | None

    @property
    def match(self) -> bool:
        """Matched as written (a close check is not a match: only a hint, see ``level``)."""
        return self.level is Level.EXACT


@dataclass(frozen=True, slots=True)
class Judgement:
    checks: dict[str, KindCheck]
    invalid: tuple[str, ...]
    verdict: Verdict
    #: Where this record was confirmed: holders and their datasets (for credits only).
    sources: frozenset[Source]

    @property
    def holders(self) -> frozenset[UUID]:
        """The holders whose data confirmed this record."""
        return frozenset(source.holder for source in self.sources)


_NO_MATCH: Final = KindCheck(Level.NONE, 0, None)


def _sources(values: Iterable[tuple[bytes, ...]], hits: Hits) -> dict[Source, date]:
    """Where any of these values was found, and the last update there."""
    sources: dict[Source, date] = {}
    for versions in values:
        for value in versions:
            for source, seen in hits.get(value, {}).items():
                sources[source] = max(seen, sources.get(source, seen))
    return sources


def judge(probe: Probe, hits: Hits) -> Judgement:
    """Each kind's check (``hits``: of the kinds' own values, then of ``close_values``) and the
    record's verdict: verified on an exact pair check; partial on an exact contact check or a
    close pair check (a close check never verifies on its own); unverified otherwise. Only
    exact checks confirm a record for its holders' credits."""
    checks: dict[str, KindCheck] = {}
    confirmed: set[Source] = set()
    values = probe.values
    for kind in KINDS:
        exact = values.get(kind)
        if exact is None:
            continue
        sources = _sources([exact], hits)
        level = Level.EXACT
        if not sources and kind in CLOSE_SLOTS:
            sources = _sources([values[slot] for slot in CLOSE_SLOTS[kind] if slot in values], hits)
            level = Level.CLOSE
        if not sources:
            checks[kind] = _NO_MATCH
            continue
        holders = {source.holder for source in sources}  # a holder counts once, whatever datasets
        checks[kind] = KindCheck(level, len(holders), max(sources.values()))
        if level is Level.EXACT:
            confirmed.update(sources)
    return Judgement(checks, probe.invalid, _verdict(checks), frozenset(confirmed))


def _verdict(checks: Mapping[str, KindCheck]) -> Verdict:
    exact = {kind for kind, check in checks.items() if check.level is Level.EXACT}
    close = {kind for kind, check in checks.items() if check.level is Level.CLOSE}
    if not checks:
        return Verdict.INVALID
    if exact & PAIR_KINDS:
        return Verdict.VERIFIED
    if exact & CONTACT_KINDS or close:
        return Verdict.PARTIAL
    return Verdict.UNVERIFIED


@dataclass
class Usage:
    records: int = 0
    billable_records: int = 0  # at least one kind signed
    matched_records: int = 0  # at least one check matched
    credits: Counter[UUID] = field(default_factory=Counter)  # holder -> records it confirmed
    #: (holder, dataset) -> records that dataset confirmed (a record two datasets of one holder
    #: confirmed counts in each, and once in its holder's credits).
    dataset_credits: Counter[Source] = field(default_factory=Counter)


def tally(verdicts: Sequence[Judgement]) -> Usage:
    usage = Usage(records=len(verdicts))
    for verdict in verdicts:
        usage.billable_records += bool(verdict.checks)
        usage.matched_records += bool(verdict.sources)
        usage.credits.update(verdict.holders)
        usage.dataset_credits.update(verdict.sources)
    return usage
