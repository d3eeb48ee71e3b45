"""The `idcheck` command line: the holders' and buyers' tools, and the service's commands when the
server is installed (``pip install 'idcheck[server]'``)."""

import importlib.util

import click

from idcheck.cli.datasets import datasets_group
from idcheck.cli.manage import manage_group
from idcheck.cli.push import push_command
from idcheck.cli.remote import login_command
from idcheck.cli.sign import sign_command
from idcheck.cli.verify import verify_command
from signatures import FIELDS
from signatures import InvalidValue
from signatures import check_default_country
from signatures import check_field


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
    sign_command, login_command, datasets_group, push_command, verify_command, manage_group,
):  # fmt: skip
    cli.add_command(command)


#: What the [server] extra installs: without all of it, `idcheck` is the holders' and buyers' tool.
_SERVER_MODULES = (
    "fastapi", "uvicorn", "pydantic_settings", "sqlalchemy", "asyncpg", "aiosqlite", "alembic",
    "blake3", "prometheus_client", "faker",
)  # fmt: skip


def _server_commands() -> list[click.Command]:
    """The service's commands, or none when only the tools are installed."""
    if any(importlib.util.find_spec(module) is None for module in _SERVER_MODULES):
        cli.epilog = "serve, migrate, admin, usage, purge, demo: pip install 'idcheck[server]'"
        return []
    from app.cli import SERVER_COMMANDS

    return SERVER_COMMANDS


def main() -> None:
    for command in _server_commands():
        cli.add_command(command)
    cli(prog_name="idcheck")
