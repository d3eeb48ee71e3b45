"""The `idcheck` command line: holders' and buyers' tools, a demo, and the service's commands."""

import click

from app.cli.datasets import datasets_group
from app.cli.demo import demo_command
from app.cli.push import push_command
from app.cli.remote import login_command
from app.cli.service import (
    admin_group,
    migrate_command,
    purge_command,
    serve_command,
    usage_group,
)
from app.cli.sign import sign_command
from app.cli.verify import verify_command
from signatures import FIELDS, InvalidValue, check_default_country, check_field


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="idcheck")
def cli() -> None:
    """idcheck: privacy-preserving ID checks."""


@cli.command("normalize")
@click.argument("field", type=click.Choice(FIELDS))
@click.argument("value")
@click.option("--country", help="The record's own country (sets phone region, postcode rules).")
@click.option("--default-country", default="FR", show_default=True)
def normalize_command(field: str, value: str, country: str | None, default_country: str) -> None:
    """Print VALUE's normal form as spec v1 gives it, or say why it is invalid."""
    try:
        check_default_country(default_country)
        normalized = check_field(field, value, country=country, default_country=default_country)
    except ValueError as exc:  # InvalidValue, or a bad default country
        kind = "invalid" if isinstance(exc, InvalidValue) else "error"
        raise click.ClickException(f"{kind} {field}: {exc}") from None
    if normalized is None:
        raise click.ClickException(f"absent {field}: empty after trimming")
    click.echo(normalized)


for command in (
    sign_command,
    login_command,
    datasets_group,
    push_command,
    verify_command,
    demo_command,
    serve_command,
    migrate_command,
    purge_command,
    admin_group,
    usage_group,
):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="idcheck")
