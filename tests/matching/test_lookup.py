"""Lookups on each backend: only live, unobjected records answer, with their holder, dataset and
date."""

from datetime import timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from matching import KeyRing
from matching import Source
from matching import add_optouts
from matching import dataset_counts
from matching import delete_records
from matching import lookup
from matching import optout_values
from matching import purge_expired
from signatures import normalize_record
from tests.helpers.index import TODAY
from tests.helpers.index import new_holder

PAUL = {"email": "paul.durand@exemple.fr", "phone": "06 12 34 56 78", "last_name": "Durand"}
#: A holder that is nobody's here (the sandbox's, in the service).
SANDBOX = UUID(int=1)
ANNE = {"email": "anne.roux@exemple.fr", "last_name": "Roux"}


async def test_a_value_answers_with_each_holder_and_its_latest_date(
    session: AsyncSession, keyring: KeyRing
) -> None:
    first = await new_holder(session, keyring, "first")
    second = await new_holder(session, keyring, "second")
    held = await first.hold("p1", PAUL, updated=TODAY - timedelta(days=30))
    await second.hold("x9", PAUL, updated=TODAY - timedelta(days=2))
    hits = await lookup(
        session, [held.values["email"], b"\x00" * 16], TODAY, sandbox_holder=SANDBOX
    )
    assert hits == {
        held.values["email"]: {
            Source(first.org_id, first.dataset_id): TODAY - timedelta(days=30),
            Source(second.org_id, second.dataset_id): TODAY - timedelta(days=2),
        }
    }
    counts = await dataset_counts(session, first.dataset_id)
    assert (counts.records, counts.signatures) == (1, 4)  # email, phone, email_name, phone_name


async def test_expired_erased_and_purged_records_never_answer(
    session: AsyncSession, keyring: KeyRing
) -> None:
    holder = await new_holder(session, keyring, "holder")
    old = await holder.hold("old", ANNE, updated=TODAY - timedelta(days=400))  # past retention
    assert await lookup(session, [old.values["email"]], TODAY, sandbox_holder=SANDBOX) == {}
    assert await purge_expired(session, TODAY) == {holder.dataset_id: 1}
    gone = await holder.hold("gone", PAUL)
    assert await lookup(session, [gone.values["email"]], TODAY, sandbox_holder=SANDBOX)
    assert await delete_records(session, holder.dataset_id, [gone.record_key, b"\x01" * 16]) == 1
    assert await lookup(session, [gone.values["email"]], TODAY, sandbox_holder=SANDBOX) == {}


async def test_an_objection_silences_every_kind_of_the_record(
    session: AsyncSession, keyring: KeyRing
) -> None:
    holder = await new_holder(session, keyring, "holder")
    paul = await holder.hold("p1", PAUL)
    anne = await holder.hold("a1", ANNE)
    objected = {"phone": normalize_record(PAUL).fields["phone"]}
    assert await add_optouts(session, None, optout_values(objected, keyring)) == 2  # 2 versions
    everything = [*paul.values.values(), *anne.values.values()]
    hits = await lookup(session, everything, TODAY, sandbox_holder=SANDBOX)
    assert set(hits) == set(anne.values.values())  # Paul's email and name pairs are silent too


async def test_the_sandbox_holder_answers_in_the_sandbox_only(
    session: AsyncSession, keyring: KeyRing
) -> None:
    live = await new_holder(session, keyring, "live")
    sandbox = await new_holder(session, keyring, "sandbox")
    paul = await live.hold("p1", PAUL)
    await sandbox.hold("s1", PAUL)
    email = paul.values["email"]
    outside = await lookup(session, [email], TODAY, sandbox_holder=sandbox.org_id)
    inside = await lookup(session, [email], TODAY, sandbox_holder=sandbox.org_id, in_sandbox=True)
    assert set(outside[email]) == {Source(live.org_id, live.dataset_id)}
    assert set(inside[email]) == {Source(sandbox.org_id, sandbox.dataset_id)}
