"""`idcheck serve`, `idcheck migrate` and `idcheck admin ...`: the service's own commands."""

import asyncio
import errno
import os
import secrets
import shutil
import socket
import sys
import tempfile
from collections.abc import Awaitable
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any
from typing import TypeVar

import click
from pydantic import ValidationError

from app.settings import EMBEDDED_KEY_FILE
from app.settings import Settings
from app.settings import SettingsError
from idcheck.cli.errors import CliError
from idcheck.cli.files import FILE_PATH
from schemas.vocabulary import Period
from schemas.vocabulary import Role
from signatures import Scheme

if TYPE_CHECKING:  # the server's modules load only for the commands that need them
    from sqlalchemy.ext.asyncio import AsyncSession

    from matching import KeyRing

T = TypeVar("T")


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "settings"
        raise CliError(f"settings: {where}: {first['msg']}") from None


def _embedded_master_key(settings: Settings) -> None:
    """On first start without a configured key, make ./idcheck.key (mode 0600) and say so once."""
    if settings.master_key is not None or settings.master_key_file is not None:
        return
    if settings.env == "production":
        raise CliError("IDCHECK_ENV=production needs IDCHECK_MASTER_KEY_FILE or IDCHECK_MASTER_KEY")
    if EMBEDDED_KEY_FILE.exists():
        return
    if settings.is_sqlite and _sqlite_file(settings).exists():
        raise CliError(
            f"{_sqlite_file(settings)} exists but {EMBEDDED_KEY_FILE} is missing: restore the "
            "master key it was made with (a new one would match none of its signatures)"
        )
    descriptor = os.open(EMBEDDED_KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    click.echo(
        f"warning: created a new master key in {EMBEDDED_KEY_FILE.resolve()} (mode 0600): "
        "back it up; without it no signature can ever match again",
        err=True,
    )


def _sqlite_file(settings: Settings) -> Path:
    from sqlalchemy.engine import make_url

    return Path(make_url(settings.database_url).database or "")


def ready_settings(*, create: bool) -> Settings:
    """Settings whose master key is readable, said on stderr (which database, which key).

    Only ``create`` commands (serve, migrate) may make the embedded database, with its master
    key, and bring it to the latest schema; the others refuse where there is none, so that a
    command run from the wrong folder never answers from a new, empty database.
    """
    settings = load_settings()
    sqlite = _sqlite_file(settings) if settings.is_sqlite else None
    _say_where(settings)
    if sqlite is not None and not sqlite.exists() and not create:
        raise CliError(
            f"no database at {sqlite.resolve()}: run `idcheck serve` or `idcheck migrate` there "
            "first, or set IDCHECK_DATABASE_URL to the server's database"
        )
    _embedded_master_key(settings)
    try:
        settings.master_secret  # noqa: B018 - read now, to fail here rather than in a worker
    except SettingsError as error:
        raise CliError(str(error)) from None
    if sqlite is not None and create:
        new = not sqlite.exists()
        _migrate(settings)
        if new:
            click.echo(f"idcheck: created a new database in {sqlite.resolve()}", err=True)
    return settings


def _say_where(settings: Settings, *, key: bool = True) -> None:
    where = f"idcheck: database {_shown(settings)}"
    click.echo(where + (f", master key {_key_source(settings)}" if key else ""), err=True)


def _shown(settings: Settings) -> str:
    """The database, for a person: a SQLite file's absolute path, a URL without its password."""
    from sqlalchemy.engine import make_url

    if settings.is_sqlite:
        return str(_sqlite_file(settings).resolve())
    return make_url(settings.database_url).render_as_string(hide_password=True)


def _key_source(settings: Settings) -> str:
    if settings.master_key is not None:
        return "from IDCHECK_MASTER_KEY"
    return str((settings.master_key_file or EMBEDDED_KEY_FILE).resolve())


def _database_errors() -> tuple[type[Exception], ...]:
    import sqlalchemy.exc

    return (sqlalchemy.exc.DBAPIError, sqlalchemy.exc.OperationalError, OSError)


def _database_message(error: Exception) -> str:
    """One line: the driver's own message (never the URL, which may hold a password)."""
    cause = getattr(error, "orig", None) or error
    return f"database: {str(cause).splitlines()[0] if str(cause) else type(cause).__name__}"


def _migrate(settings: Settings, revision: str = "head") -> None:
    from alembic.util import CommandError

    from app.db import create_engine
    from app.migrate import migrate

    try:
        # Behind a pooler, the service's engine (no prepared statement outlives a transaction).
        engine = create_engine(settings) if settings.database_transaction_pooling else None
        asyncio.run(
            migrate(
                settings.database_url,
                revision,
                engine=engine,
                partitions=settings.signature_partitions,
            )
        )
    except _database_errors() as error:
        raise CliError(_database_message(error)) from None
    except CommandError as error:  # an unknown revision
        raise CliError(f"migrate: {error}") from None


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1))
@click.option("--ssl-certfile", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--ssl-keyfile", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def serve_command(
    host: str, port: int, workers: int, ssl_certfile: Path | None, ssl_keyfile: Path | None
) -> None:
    """Run the service (uvicorn). With nothing configured: SQLite in ./idcheck.db."""
    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise CliError("--ssl-certfile and --ssl-keyfile go together")
    _check_port_free(host, port)
    settings = ready_settings(create=True)
    if settings.is_sqlite and workers > 1:
        raise CliError("SQLite serves one worker: use PostgreSQL for --workers > 1")
    # Every worker writes its metrics here and /metrics adds them up (a fresh folder each start).
    metrics_dir = tempfile.mkdtemp(prefix="idcheck-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        _serve(host, port, workers, ssl_certfile, ssl_keyfile, settings)
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


def _check_port_free(host: str, port: int) -> None:
    """A busy port is one clear line before anything starts (uvicorn would say Errno 98)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise CliError(f"cannot serve on {host}:{port}: {error.strerror}") from None
            raise CliError(
                f"port {port} on {host} is in use (another idcheck serve, or another program): "
                f"stop it, or choose another port: --port {port + 1} (make run PORT={port + 1})"
            ) from None


def _serve(
    host: str,
    port: int,
    workers: int,
    ssl_certfile: Path | None,
    ssl_keyfile: Path | None,
    settings: Settings,
) -> None:
    import uvicorn

    from app.cli.workers import serve_workers
    from app.logs import log_config

    options: dict[str, Any] = {
        "app": "app.main:serving_app",
        "factory": True,
        "host": host,
        "port": port,
        "ssl_certfile": str(ssl_certfile) if ssl_certfile else None,
        "ssl_keyfile": str(ssl_keyfile) if ssl_keyfile else None,
        "access_log": False,
        "log_config": log_config(settings.log_level, settings.log_format),
        "server_header": False,
        "http": "app.protocol:HeaderDeadlineProtocol",  # a deadline on the request's headers
    }
    if workers > 1 and sys.platform == "linux":  # a listening socket each (app/cli/workers.py)
        if status := serve_workers(workers, options):
            raise SystemExit(status)
        return
    uvicorn.run(**options, workers=workers)


@click.command("migrate")
@click.option(
    "--to",
    "revision",
    default="head",
    show_default=True,
    help="A revision to go up or down to (migrations/versions): 0011 undoes the partitioning.",
)
def migrate_command(revision: str) -> None:
    """Bring the configured database to the latest schema (Alembic upgrade head); on the embedded
    default, make the database and its master key where there are none. On PostgreSQL the
    signature index gets IDCHECK_SIGNATURE_PARTITIONS partitions (when revision 0012 runs)."""
    settings = load_settings()
    if settings.is_sqlite and revision == "head":
        ready_settings(create=True)  # the embedded database comes with its master key
    else:
        _say_where(settings, key=False)  # a deploy step: PostgreSQL's schema needs no key
        _migrate(settings, revision)
    click.echo(f"database at {'the latest schema' if revision == 'head' else revision}", err=True)


@click.group("admin")
def admin_group() -> None:
    """Bootstrap organisations and keys on the configured database, without HTTP."""


async def _with_session(
    settings: Settings, work: "Callable[[AsyncSession, KeyRing], Awaitable[T]]"
) -> T:
    from app.db import allow_long_statements
    from app.db import create_engine
    from app.db import create_sessionmaker
    from app.metrics import Metrics
    from app.replicas import Replicas
    from app.services.key_versions import load_keyring

    engine = create_engine(settings)
    try:
        keyring = await load_keyring(engine, settings.master_secret)
        async with create_sessionmaker(engine)() as session:
            await allow_long_statements(session, settings)  # purge, bulk objections: no API limit
            result = await work(session, keyring)
            await session.commit()
        # An objection (or any change) made here holds on the replicas too before it is told.
        replicas = Replicas(settings, Metrics())
        try:
            await replicas.start(engine)
            await replicas.settle()
        finally:
            await replicas.stop()
        return result
    finally:
        await engine.dispose()


def _run(work: "Callable[[AsyncSession, KeyRing], Awaitable[T]]") -> T:
    """One unit of work in one transaction, committed when it succeeds (the CLI's "request")."""
    from app.errors import IdcheckError

    settings = ready_settings(create=False)
    try:
        return asyncio.run(_with_session(settings, work))
    except IdcheckError as error:
        raise CliError(error.message) from None
    except _database_errors() as error:
        raise CliError(_database_message(error)) from None


@admin_group.command("create-org")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice([role.value for role in Role]))
def create_org_command(name: str, role: str) -> None:
    """Create an organisation; prints its id."""
    from app.services.admin import create_org

    async def work(session: "AsyncSession", _: "KeyRing") -> str:
        return str((await create_org(session, None, name.strip(), role)).id)

    click.echo(_run(work))


@admin_group.command("create-key")
@click.argument("org", metavar="ORG_NAME_OR_ID")
@click.option("--label", help="What the key is for, shown in key listings.")
def create_key_command(org: str, label: str | None) -> None:
    """Create an API key for an organisation; prints the key, once."""
    from app.services.admin import create_key
    from app.services.admin import find_org

    async def work(session: "AsyncSession", keyring: "KeyRing") -> str:
        _, key = await create_key(session, None, keyring, await find_org(session, org), label)
        return key

    click.echo(_run(work))


@click.group("usage")
def usage_group() -> None:
    """Usage reports for finance, from the configured database, without HTTP."""


@usage_group.command("export")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="The first day.")
@click.option(
    "--to",
    "end",
    type=click.DateTime(["%Y-%m-%d"]),
    help="The day after the last one (exclusive).",
)
@click.option(
    "--period",
    type=click.Choice([period.value for period in Period]),
    help="Instead of --from/--to (UTC); with neither, this month.",
)
@click.option("--group-by", default="", help="Comma-separated: buyer, holder, day or month.")
@click.option(
    "-o",
    "--output",
    type=FILE_PATH,
    help="CSV file to write, whole or not at all (default: stdout).",
)
def usage_export_command(
    start: datetime | None,
    end: datetime | None,
    period: str | None,
    group_by: str,
    output: Path | None,
) -> None:
    """The rows of GET /v1/usage, as CSV with a header line; says on stderr what it wrote."""
    from app.services.usage import parse_group_by
    from app.services.usage import period_bounds
    from app.services.usage import to_csv
    from app.services.usage import usage_rows
    from idcheck.cli.files import atomic_text_file

    if period is not None and (start is not None or end is not None):
        raise CliError("give --period or --from/--to, not both")
    if period is None and (start is None) != (end is None):
        raise CliError("--from and --to go together (or use --period)")
    if start is not None and end is not None:
        first, after = start.date(), end.date()
    else:
        today = datetime.now(UTC).date()  # periods are UTC, as the server's
        first, after = period_bounds(Period(period or Period.THIS_MONTH), today)

    async def work(session: "AsyncSession", _: "KeyRing") -> tuple[str, int]:
        groups = parse_group_by(group_by)
        rows = await usage_rows(session, first, after, groups)
        return to_csv(rows, groups), len(rows)

    text, count = _run(work)
    with atomic_text_file(output) as handle:
        handle.write(text)
    grouped = f", grouped by {group_by}" if group_by else ""
    where = output if output is not None else "stdout"
    rows = f"{count:,} row{'' if count == 1 else 's'}"
    click.echo(f"wrote {rows} of usage from {first} to {after} (exclusive){grouped} to {where}",
               err=True)  # fmt: skip


@click.command("purge")
def purge_command() -> None:
    """Remove the records whose retention has run out (the server also does it every 10 minutes)."""
    from app.services.privacy import purge

    async def work(session: "AsyncSession", _: "KeyRing") -> int:
        return sum((await purge(session)).values())

    click.echo(f"purged {_run(work):,} expired records", err=True)


@admin_group.command("optout")
@click.option("--file", "path", required=True, type=FILE_PATH, help="The CSV of objections.")
def optout_command(path: Path) -> None:
    """Record objections in bulk, from a CSV with an email and/or a phone column (and a country
    column, if any); only their index values are kept."""
    from app.services.privacy import opt_out_bulk
    from idcheck.cli.csv_input import map_columns
    from idcheck.cli.csv_input import open_csv

    source = open_csv(path)
    try:
        columns = map_columns(source.header, {})
        if not {"email", "phone"} & set(columns.fields):
            raise CliError(f"{path}: no email or phone column")
        wanted = {name: index for name, index in columns.fields.items()
                  if name in ("email", "phone", "country")}  # fmt: skip
        rows = [{name: row[i] for name, i in wanted.items()} for _, row in source.rows()]
    finally:
        source.close()

    async def work(session: "AsyncSession", keyring: "KeyRing") -> tuple[int, int]:
        return await opt_out_bulk(session, keyring, rows)

    kept, skipped = _run(work)
    click.echo(f"{kept:,} objections recorded, {skipped:,} rows without a valid email or phone",
               err=True)  # fmt: skip


#: The schemes by their short names on the command line: hmac, oprf.
SCHEMES_BY_NAME = {scheme.value.split("-")[0]: scheme for scheme in Scheme}


@admin_group.command("rotate-signing-key")
@click.option(
    "--scheme",
    type=click.Choice(list(SCHEMES_BY_NAME)),
    default="hmac",
    show_default=True,
    help="hmac: a key handed to holders and buyers (spec v1); oprf: blind mode, no client holds "
    "a key (RFC 9497, ristretto255-SHA512).",
)
def rotate_command(scheme: str) -> None:
    """Make signing-key version n+1 current; prints it. Running servers take it within 30 s
    (at once when a request names it)."""
    from app.services.key_versions import rotate

    async def work(session: "AsyncSession", _: "KeyRing") -> int:
        return (await rotate(session, None, SCHEMES_BY_NAME[scheme])).version

    click.echo(_run(work))


@admin_group.command("retire-signing-key")
@click.argument("version", type=click.IntRange(1, 32767))
def retire_command(version: int) -> None:
    """Retire a version that is not current and signs no live record."""
    from app.services.key_versions import retire

    async def work(session: "AsyncSession", _: "KeyRing") -> None:
        await retire(session, None, version)

    _run(work)
    click.echo(f"version {version} retired", err=True)
