"""Names as people write them, end to end: a holder pushes the holder's side of 1,000 pairs of the
corpus (corpus/names.csv) with `idcheck push`, a buyer checks the buyer's side raw and signed
locally with `idcheck verify`, and every pair check comes back at the level its class says."""

import csv
import os
import random
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.cli.people import write_csv
from bench.names import Pair
from bench.names import read
from idcheck.client import Client
from signatures import PAIR_KINDS
from tests.helpers.commands import IDCHECK
from tests.helpers.databases import Database
from tests.helpers.servers import Server
from tests.helpers.servers import auth
from tests.helpers.servers import remote_org
from tests.helpers.servers import start_server

SAMPLE = 1_000
#: Pair kinds that sign no given name: blind to compound given names and initials.
WITHOUT_GIVEN = {"email_name", "phone_name"}
CELLS = {"exact": "yes", "close": "close", "none": "no"}


def expected_level(pair: Pair, kind: str) -> str:
    """The level a pair check must reach, from the pair's label alone (corpus/README.md)."""
    if pair.label == "identical" or (pair.label == "particle" and pair.variant == "joined"):
        return "exact"
    if pair.label in ("compound_given", "initial") and kind in WITHOUT_GIVEN:
        return "exact"  # the given name is not part of the check, the rest is identical
    if pair.label in ("negative", "initial"):
        return "none"  # initials are not tolerated: a J. could be any J
    return "close"


@pytest.fixture(scope="module")
def server(module_database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from start_server(module_database, tmp_path_factory.mktemp("server"))


def _idcheck(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(IDCHECK), *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _env(tmp_path: Path, url: str, key: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDCHECK_")}
    return env | {
        "IDCHECK_STATE_DIR": str(tmp_path / "state"),
        "IDCHECK_CONFIG_DIR": str(tmp_path / "config"),
        "IDCHECK_URL": url,
        "IDCHECK_API_KEY": key,
    }


def _rows(pairs: list[Pair], who: str) -> Iterator[dict[str, str]]:
    for number, pair in enumerate(pairs):
        yield {"external_id": f"p-{number}", **pair.side(who)}


def test_levels_match_the_corpus_labels_raw_and_signed(server: Server, tmp_path: Path) -> None:
    pairs = random.Random(18).sample(read(), SAMPLE)
    with server.client() as client:
        _, holder = remote_org(client, server.admin_key, "holder", "names holder")
        _, buyer = remote_org(client, server.admin_key, "buyer", "names buyer")
    with Client(server.url, holder) as sdk:
        dataset = str(sdk.create_dataset("names", "contract").id)
    write_csv(tmp_path / "holder.csv", _rows(pairs, "holder"))
    write_csv(tmp_path / "buyer.csv", _rows(pairs, "buyer"))
    _idcheck(
        _env(tmp_path, server.url, holder),
        *("push", str(tmp_path / "holder.csv"), "--dataset", dataset, "--id-column", "Référence"),
    )
    with Client(server.url, holder) as sdk:
        detail = sdk.get_dataset(dataset)
    assert detail.records == SAMPLE
    assert detail.close_forms > 30 * SAMPLE  # about ten forms a pair kind, four pair kinds

    buyer_env = _env(tmp_path, server.url, buyer)
    outputs = {}
    for mode, extra in (("raw", []), ("signed", ["--local-sign"])):
        output = tmp_path / f"{mode}.csv"
        _idcheck(buyer_env, "verify", str(tmp_path / "buyer.csv"), "-o", str(output),
                 "--purpose", "names", *extra)  # fmt: skip
        outputs[mode] = output.read_bytes()
    assert outputs["raw"] == outputs["signed"]
    with (tmp_path / "raw.csv").open(encoding="utf-8-sig", newline="") as handle:
        results = list(csv.DictReader(handle, delimiter=";"))

    wrong: Counter[tuple[str, ...]] = Counter()
    levels: Counter[str] = Counter()
    for pair, result in zip(pairs, results, strict=True):
        for kind in PAIR_KINDS:
            if not result[f"idcheck_{kind}"]:  # a field invalid on a side (a phone, rarely)
                levels["unchecked"] += 1
                continue
            expected = CELLS[expected_level(pair, kind)]
            levels[expected] += 1
            if result[f"idcheck_{kind}"] != expected:
                wrong[(pair.label, pair.variant, kind, result[f"idcheck_{kind}"])] += 1
        assert result["idcheck_verdict"] == ("verified" if "yes" in (
            result[f"idcheck_{kind}"] for kind in PAIR_KINDS) else "partial"), pair  # fmt: skip
    assert not wrong, wrong.most_common(10)
    assert levels["unchecked"] <= 0.01 * SAMPLE
    assert min(levels[cell] for cell in CELLS.values()) >= 200  # every level well represented

    # The API's own answer for a few pairs: the level beside the match.
    records = [{"ref": str(n), **pair.side("buyer")} for n, pair in enumerate(pairs[:50])]
    answer = httpx.post(
        f"{server.url}/v1/verify",
        json={"purpose": "names", "records": records},
        headers=auth(buyer),
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    for pair, result in zip(pairs, answer.json()["results"], strict=False):
        for kind in PAIR_KINDS & result["checks"].keys():
            check = result["checks"][kind]
            assert check["level"] == expected_level(pair, kind), (pair, kind)
            assert check["match"] is (check["level"] == "exact")
