"""The command line's one error: a single line on stderr and exit status 1."""

import click


class CliError(click.ClickException):
    """A user's mistake or a bad file; the message names the file, line or column."""
