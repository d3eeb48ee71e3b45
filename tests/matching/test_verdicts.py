"""Probes, judge and tally: pure functions of records, a keyring and lookup hits."""

from datetime import date
from uuid import UUID
from uuid import uuid4

from matching import Hits
from matching import KeyRing
from matching import Probe
from matching import Source
from matching import close_values
from matching import judge
from matching import probe_raw
from matching import probe_signed
from matching import probe_values
from matching import tally
from schemas.vocabulary import Verdict
from signatures import KINDS
from signatures import normalize_record
from signatures import sign_fields

JEANNE = {"email": "Jeanne.Martin@Exemple.fr", "last_name": "Martin", "birth_date": "31/02/1990"}


def test_a_raw_probe_has_one_value_per_kind_and_live_version(keyring: KeyRing) -> None:
    [probe] = probe_raw([JEANNE], keyring, "FR")
    assert set(probe.values) == {"email", "email_name"}
    assert all(len(values) == 2 for values in probe.values.values())  # versions 1 and 2
    assert probe.invalid == ("birth_date",)
    signed = sign_fields(normalize_record(JEANNE).fields, keyring.signing_key(1))
    assert keyring.index_value(1, bytes.fromhex(signed["email"])) in probe.values["email"]


def test_a_signed_probe_is_what_the_client_signed_under_its_version(keyring: KeyRing) -> None:
    signed = sign_fields(normalize_record(JEANNE).fields, keyring.signing_key(1))
    [probe] = probe_signed([[(1, signed)]], keyring)
    [raw] = probe_raw([JEANNE], keyring, "FR")
    assert probe.values["email"][0] == raw.values["email"][0]
    assert probe_values([probe]) == {v for kind in KINDS for v in probe.values.get(kind, ())}


def _probe(*kinds: str) -> Probe:
    return Probe({kind: (kind.encode(),) for kind in kinds})


def _at(holder: UUID) -> Source:
    """The holder's one dataset."""
    return Source(holder, holder)


def test_the_verdict_rules() -> None:
    holder, other = uuid4(), uuid4()
    seen = {_at(holder): date(2026, 5, 1)}
    pair = judge(_probe("email", "email_name"), {b"email_name": seen})
    assert pair.verdict == Verdict.VERIFIED
    contact = judge(_probe("email", "email_name"), {b"email": seen})
    assert contact.verdict == Verdict.PARTIAL
    assert judge(_probe("phone"), {}).verdict == Verdict.UNVERIFIED
    assert judge(Probe({}, ("email",)), {}).verdict == Verdict.INVALID
    found = {_at(holder): date(2026, 1, 1), _at(other): date(2026, 3, 1)}
    both = judge(_probe("email"), {b"email": found})
    check = both.checks["email"]
    assert (check.match, check.sources, check.last_seen) == (True, 2, date(2026, 3, 1))
    assert both.holders == {holder, other}


def test_a_value_signed_by_two_versions_counts_its_holder_once() -> None:
    holder = uuid4()
    probe = Probe({"email": (b"v1", b"v2")})
    hits = {b"v1": {_at(holder): date(2026, 1, 1)}, b"v2": {_at(holder): date(2026, 2, 1)}}
    check = judge(probe, hits).checks["email"]
    assert (check.sources, check.last_seen) == (1, date(2026, 2, 1))


def test_tally_counts_billable_matched_and_credits() -> None:
    holder, other = uuid4(), uuid4()
    hits = {b"email": {_at(holder): date(2026, 1, 1)}, b"phone": {_at(other): date(2026, 1, 1)}}
    judged = [judge(p, hits) for p in (_probe("email"), _probe("phone"), Probe({}, ("email",)))]
    judged.append(judge(_probe("email", "phone"), hits))
    usage = tally(judged)
    assert (usage.records, usage.billable_records, usage.matched_records) == (4, 3, 3)
    assert usage.credits == {holder: 2, other: 2}


def test_two_datasets_of_one_holder_are_one_source_and_each_credited() -> None:
    holder, first, second = uuid4(), uuid4(), uuid4()
    day = date(2026, 1, 1)
    hits = {b"email": {Source(holder, first): day, Source(holder, second): day}}
    judged = judge(_probe("email"), hits)
    assert judged.checks["email"].sources == 1
    usage = tally([judged, judge(_probe("phone"), hits)])
    assert usage.credits == {holder: 1}
    assert usage.dataset_credits == {Source(holder, first): 1, Source(holder, second): 1}


def test_close_forms_are_looked_up_only_where_they_could_match(keyring: KeyRing) -> None:
    """After the kinds' own values: the close forms of a pair kind that did not match exactly,
    and, for one that signs a contact point, only where that contact point matched."""
    person = {**JEANNE, "first_name": "Jeanne", "birth_date": "1990-02-28"}

    def close(*kinds: str) -> set[bytes]:
        probe = probe_raw([person], keyring, "FR")[0]
        return {
            keyring.index_value(version, signature)
            for slot, signed in probe.close.items()
            if slot.split("~")[0] in kinds
            for version, signature in signed
        }

    def asked(*found: str) -> set[bytes]:
        probe = probe_raw([person], keyring, "FR")[0]
        hits: Hits = {value: {} for kind in found for value in probe.values[kind]}
        wanted = close_values([probe], hits, keyring)
        assert all(value in probe_values([probe]) or value in wanted for value in hits)
        return wanted

    assert close("name_birth_date")
    assert close("email_name")
    assert asked() == close("name_birth_date")  # nobody holds the e-mail: no close e-mail name
    assert asked("email") == close("name_birth_date", "email_name")
    assert asked("email", "email_name", "name_birth_date") == set()  # all matched as written
    [probe] = probe_raw([person], keyring, "FR")
    assert not close("email_name") & probe_values([probe])
    # A signed record that sends no e-mail signature: nothing to anchor on, so its close forms
    # are asked for (a holder of that e-mail may have them).
    del probe.values["email"]
    assert close("email_name") <= close_values([probe], {}, keyring)
