"""`idcheck datasets`: a holder's datasets, made and read from the command line.

`create` prints the new dataset's id alone on stdout, so that a script can keep it:
`DATASET=$(idcheck datasets create CRM --legal-basis contract)`.
"""

from datetime import datetime
from typing import get_args
from uuid import UUID

import click
from rich.console import Console
from rich.table import Column
from rich.table import Table

from idcheck.cli.remote import api_errors
from idcheck.cli.remote import remote_options
from idcheck.cli.remote import resolve
from schemas.datasets import LegalBasis
from signatures import KINDS


@click.group("datasets")
def datasets_group() -> None:
    """A holder's datasets: create, list, show."""


@datasets_group.command("create")
@click.argument("name")
@click.option(
    "--legal-basis",
    required=True,
    type=click.Choice(get_args(LegalBasis)),
    help="GDPR art. 6(1): why you may keep and share these people's data.",
)
@click.option(
    "--retention-days",
    type=click.IntRange(1, 3650),
    help="Records not refreshed for this long are purged (the server's default: 1095).",
)
@remote_options
def create_command(
    name: str,
    legal_basis: str,
    retention_days: int | None,
    url: str | None,
    api_key: str | None,
    profile: str,
) -> None:
    """Create a dataset NAME and print its id."""
    remote = resolve(url, api_key, profile)
    with api_errors(), remote.client() as client:
        dataset = client.create_dataset(name, legal_basis, retention_days=retention_days)
    click.echo(str(dataset.id))


@datasets_group.command("list")
@remote_options
def list_command(url: str | None, api_key: str | None, profile: str) -> None:
    """The holder's datasets."""
    remote = resolve(url, api_key, profile)
    with api_errors(), remote.client() as client:
        datasets = list(client.iter_datasets())
    table = Table(Column("id", no_wrap=True, min_width=36), "name", "legal basis", "created")
    for dataset in datasets:
        table.add_row(
            str(dataset.id),
            dataset.name,
            dataset.legal_basis,
            dataset.created_at.date().isoformat(),
        )
    Console(soft_wrap=True).print(table)


@datasets_group.command("show")
@click.argument("dataset_id", metavar="ID", type=click.UUID)
@remote_options
def show_command(dataset_id: UUID, url: str | None, api_key: str | None, profile: str) -> None:
    """One dataset: its records and signatures by kind, its last upload and purge."""
    remote = resolve(url, api_key, profile)
    with api_errors(), remote.client() as client:
        detail = client.get_dataset(dataset_id)
    table = Table(title=f"dataset {detail.name}", show_header=False)
    table.add_row("id", str(detail.id))
    table.add_row("legal basis", detail.legal_basis)
    table.add_row("retention (days)", str(detail.retention_days))
    table.add_row("records", f"{detail.records:,}")
    table.add_row("signatures", f"{detail.signatures:,}")
    by_kind = {str(kind): count for kind, count in detail.by_kind.items()}
    for kind in KINDS:
        table.add_row(f"  {kind}", f"{by_kind.get(kind, 0):,}")
    table.add_row("close forms of names", f"{detail.close_forms:,}")
    table.add_row("last upload", _when(detail.last_upload_at))
    table.add_row("purged records", f"{detail.purged_records:,}")
    table.add_row("last purge", _when(detail.last_purge_at))
    Console(soft_wrap=True).print(table)


def _when(moment: datetime | None) -> str:
    return "never" if moment is None else moment.isoformat(timespec="seconds")
