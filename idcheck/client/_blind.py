"""Blind signing (blind mode): records signed under an OPRF key version without any key here.

Each signable kind's canonical message is blinded on this machine, the server evaluates the
blinded elements (``oprf_evaluate``, at most 10,000 a request) with a key only it holds, and the
answers are unblinded here into the same 16-byte signatures everything else uses. The server sees
only blinded elements, which say nothing of the values; no key ever leaves it.

    with Client(url, api_key) as client:
        version = client.get_current_key_version().version
        signed = sign_records_blind(client, [{"email": "jean@example.fr"}], version)
"""

import asyncio
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from idcheck.client._client import AsyncClient
from idcheck.client._client import Client
from schemas.service import MAX_EVALUATE_ELEMENTS
from signatures import Names
from signatures import SignedRecord
from signatures import blind_fields
from signatures import finish_records
from signatures import normalize_record
from signatures.oprf import Blinded


@dataclass(frozen=True)
class BlindBatch:
    """Records' blinded messages (slot, message, blinded): send ``requests()`` to the server,
    give ``finish`` the evaluated elements (in the same order)."""

    blinded: list[list[tuple[str, bytes, Blinded]]]

    @classmethod
    def of(
        cls, fields: Sequence[Mapping[str, str]], names: Sequence[Names] | None = None
    ) -> "BlindBatch":
        if names is not None and len(names) != len(fields):
            raise ValueError("one names' words per record")
        return cls(
            [
                blind_fields(one, None if names is None else names[index])
                for index, one in enumerate(fields)
            ]
        )

    def elements(self) -> list[bytes]:
        return [item.element for record in self.blinded for _, _, item in record]

    def requests(self) -> Iterator[list[bytes]]:
        """The blinded elements in requests of at most MAX_EVALUATE_ELEMENTS."""
        elements = self.elements()
        for start in range(0, len(elements), MAX_EVALUATE_ELEMENTS):
            yield elements[start : start + MAX_EVALUATE_ELEMENTS]

    def finish(self, evaluated: Sequence[bytes]) -> list[dict[str, str]]:
        """Each record's signatures (kind -> hex), from the server's evaluations."""
        if len(evaluated) != sum(len(record) for record in self.blinded):
            raise ValueError("the server answered a different number of evaluated elements")
        return finish_records(self.blinded, evaluated)


def sign_fields_blind(
    client: Client,
    key_version: int,
    fields: Sequence[Mapping[str, str]],
    names: Sequence[Names] | None = None,
) -> list[dict[str, str]]:
    """Signatures of already normalised records under an OPRF version, through ``client``; with
    each record's names' words (``NormalizedRecord.names``), their close forms too."""
    batch = BlindBatch.of(fields, names)
    evaluated = [e for part in batch.requests() for e in client.oprf_evaluate(key_version, part)]
    return batch.finish(evaluated)


async def async_sign_fields_blind(
    client: AsyncClient,
    key_version: int,
    fields: Sequence[Mapping[str, str]],
    names: Sequence[Names] | None = None,
) -> list[dict[str, str]]:
    """The same as sign_fields_blind, with an AsyncClient; blinding and unblinding (the group
    operations) run in a thread, off the event loop."""
    batch = await asyncio.to_thread(BlindBatch.of, fields, names)
    evaluated: list[bytes] = []
    for part in batch.requests():
        evaluated += await client.oprf_evaluate(key_version, part)
    return await asyncio.to_thread(batch.finish, evaluated)


def sign_records_blind(
    client: Client,
    records: Sequence[Mapping[str, Any]],
    key_version: int,
    *,
    default_country: str = "FR",
) -> list[SignedRecord]:
    """Normalise raw records (spec v1) and sign them blind: what sign_record gives with a key."""
    normalized = [normalize_record(record, default_country=default_country) for record in records]
    signatures = sign_fields_blind(
        client, key_version, [one.fields for one in normalized], [one.names for one in normalized]
    )
    return [
        SignedRecord.of(signed, one) for one, signed in zip(normalized, signatures, strict=True)
    ]
