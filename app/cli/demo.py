"""`idcheck demo`: the whole product on this machine, offline, in under a minute.

In a temporary folder: a SQLite database, a server on a free local port, an admin who creates a
holder, a buyer and finance; a generated French customer file pushed by the holder (signed here,
only signatures sent); a prospect file verified by the buyer; the verdicts and the finance usage.
"""

import csv
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import httpx
from rich.console import Console
from rich.table import Table

from app.cli.people import HEADER
from app.cli.people import people
from app.cli.people import write_csv
from idcheck.cli.errors import CliError
from idcheck.cli.push import push
from idcheck.cli.remote import Remote
from idcheck.cli.sign import Layout
from idcheck.cli.verify import verify_file
from idcheck.client import Client
from signatures import KINDS


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _idcheck(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "idcheck", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if done.returncode != 0:
        raise CliError(f"idcheck {args[0]} failed: {done.stderr.strip()}")
    return done.stdout.strip()


@contextmanager
def demo_server(workdir: Path) -> Iterator[tuple[str, str]]:
    """A fresh server on a free port: (its URL, an admin key)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDCHECK_")}
    env |= {
        "IDCHECK_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'demo.db'}",
        "IDCHECK_MASTER_KEY": secrets.token_hex(32),
        "IDCHECK_LOG_LEVEL": "WARNING",
    }
    _idcheck(env, "migrate")
    _idcheck(env, "admin", "create-org", "Demo admin", "--role", "admin")
    admin_key = _idcheck(env, "admin", "create-key", "Demo admin")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (workdir / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "idcheck", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise CliError(f"the demo server did not start; see {workdir / 'server.log'}")
            time.sleep(0.1)
        yield url, admin_key
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _org(admin: Client, name: str, role: str) -> str:
    org = admin.create_org(name, role)
    return admin.create_key(org.id, label="demo").key


def write_prospects(path: Path, customers: list[dict[str, str]], seed: int) -> None:
    """Prospects as a buyer has them: customers of the holder, some changed, and strangers."""
    rows: list[dict[str, str]] = []
    for person in customers[:8]:  # known as they are, written differently
        rows.append(
            person | {"email": person["email"].upper(), "phone": "+33 " + person["phone"][1:]}
        )
    for number, person in enumerate(customers[8:12]):  # known, with a new email
        rows.append(person | {"email": f"nouvelle.adresse{number}@exemple.fr"})
    for person in customers[12:15]:  # someone else using a known email: email only
        rows.append(
            person | {"first_name": "Zoé", "last_name": "Inconnue", "phone": "", "street": ""}
        )
    rows.extend(people(8, seed=seed))  # strangers
    rows.append({"last_name": "Erreur", "email": "pas-une-adresse", "phone": "12 34"})
    for row in rows:
        row.pop("external_id", None)
    write_csv(path, iter(rows))


def _verdicts(console: Console, results: Path) -> None:
    table = Table(title="verdicts (results.csv): ✔ matched, ✘ not, blank not checkable; n = name")
    for column in ["prospect", "verdict", "email", "phone", "email+n", "phone+n"]:
        table.add_column(column)
    for column in ["n+addr", "n+birth", "invalid"]:
        table.add_column(column)
    with results.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle, delimiter=";"):
            name = f"{row[HEADER['first_name']]} {row[HEADER['last_name']]}".strip()
            checks = [{"yes": "✔", "no": "✘"}.get(row[f"idcheck_{c}"], "") for c in KINDS]
            table.add_row(name, row["idcheck_verdict"], *checks, row["idcheck_invalid"])
    console.print(table)


def _usage(console: Console, finance: Client) -> None:
    for group in ("buyer", "holder"):
        table = Table(title=f"finance: GET /v1/usage?group_by={group}")
        for column in (group, "requests", "records", "billable", "matched"):
            table.add_column(column)
        for row in finance.get_usage(group_by=group).rows:
            table.add_row(
                str(getattr(row, group)),
                *(
                    str(n)
                    for n in (row.requests, row.records, row.billable_records, row.matched_records)
                ),
            )
        console.print(table)


def run_demo(workdir: Path, rows: int, console: Console) -> None:
    started = time.perf_counter()
    console.rule("idcheck demo")
    console.print(f"working in {workdir}")
    with demo_server(workdir) as (url, admin_key):
        console.print(f"server up at {url} (SQLite, {workdir / 'demo.db'})")
        with Client(url, admin_key) as admin:
            holder_key = _org(admin, "Boutique Lumière", "holder")
            buyer_key = _org(admin, "Prospectia", "buyer")
            finance_key = _org(admin, "Compta", "finance")
        console.print("admin created a holder (Boutique Lumière), a buyer (Prospectia), finance")
        customers = list(people(rows, seed=7))
        customers_csv, prospects_csv = workdir / "customers.csv", workdir / "prospects.csv"
        write_csv(customers_csv, iter(customers))
        write_prospects(prospects_csv, customers, seed=8)
        with Client(url, holder_key) as holder:
            dataset = holder.create_dataset("Clients 2026", "contract").id
        console.rule(f"holder: idcheck push customers.csv --dataset {dataset}")
        holder_remote = Remote(url, holder_key)
        layout = Layout(id_column="Référence", jobs=1)
        push(customers_csv, str(dataset), holder_remote, layout=layout, console=console)
        console.rule("buyer: idcheck verify prospects.csv -o results.csv")
        results = workdir / "results.csv"
        buyer_remote = Remote(url, buyer_key)
        verify_file(
            prospects_csv, results, buyer_remote, purpose="demo: onboarding checks", console=console
        )
        _verdicts(console, results)
        console.rule("finance")
        with Client(url, finance_key) as finance:
            _usage(console, finance)
    console.print(f"done in {time.perf_counter() - started:.1f} s")


@click.command("demo")
@click.option(
    "--rows",
    type=click.IntRange(20, 100_000),
    default=500,
    show_default=True,
    help="Customers in the holder's generated file.",
)
@click.option(
    "--keep",
    type=click.Path(path_type=Path, file_okay=False),
    help="Work in this folder and keep it (database, CSV files, results, server log).",
)
def demo_command(rows: int, keep: Path | None) -> None:
    """Run the whole product here, offline: push, verify, bill, and show the results."""
    console = Console()
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        run_demo(keep, rows, console)
        return
    with tempfile.TemporaryDirectory(prefix="idcheck-demo-") as folder:
        run_demo(Path(folder), rows, console)
