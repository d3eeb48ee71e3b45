"""The service's commands (serve, migrate, admin, usage, purge, demo), added to the `idcheck`
command when the server is installed."""

import click

from app.cli.demo import demo_command
from app.cli.service import admin_group
from app.cli.service import migrate_command
from app.cli.service import purge_command
from app.cli.service import serve_command
from app.cli.service import usage_group

SERVER_COMMANDS: list[click.Command] = [
    demo_command,
    serve_command,
    migrate_command,
    purge_command,
    admin_group,
    usage_group,
]

__all__ = ["SERVER_COMMANDS"]
