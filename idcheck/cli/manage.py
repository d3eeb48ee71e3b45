"""`idcheck manage`: the whole admin API over HTTP, with an admin key (from anywhere).

`idcheck admin` (with the server installed) works on the server's database directly and is how
the first admin key is made; everything after that is an admin's work over HTTP, here. Commands
that make something print its id (or the new key) alone on stdout, so that a script keeps it:

    BUYER_ORG=$(idcheck manage create-org "Acme" --role buyer)
    BUYER=$(idcheck manage create-key "$BUYER_ORG")
"""

from collections.abc import Iterable
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import click
from rich.console import Console
from rich.table import Table

from idcheck.cli.remote import api_errors
from idcheck.cli.remote import remote_options
from idcheck.cli.remote import resolve
from schemas.vocabulary import AuditAction
from schemas.vocabulary import Role
from signatures import Scheme

#: The schemes by their short names on the command line: hmac, oprf (as `idcheck admin`).
_SCHEMES = {scheme.value.split("-")[0]: scheme for scheme in Scheme}


@click.group("manage")
def manage_group() -> None:
    """The admin API over HTTP (an admin key): organisations, keys, quotas, key versions,
    objections, the audit log."""


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    table = Table(*header)
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    Console(soft_wrap=True).print(table)


def _limit_or_none(text: str) -> int | None:
    """A quota on the command line: a number, or "none" (no quota / back to the default)."""
    if text.lower() in ("none", "default"):
        return None
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a whole number or 'none'") from None
    if value < 0:
        raise click.BadParameter("a quota is 0 or more")
    return value


@manage_group.command("orgs")
@click.option("--limit", type=click.IntRange(1), help="Show at most this many.")
@remote_options
def orgs_command(limit: int | None, url: str | None, api_key: str | None, profile: str) -> None:
    """Every organisation, oldest first."""
    remote = resolve(url, api_key, profile)
    with api_errors(), remote.client() as client:
        orgs = _first(client.iter_orgs(), limit)
    _table(
        ("id", "name", "role", "created"),
        ((o.id, o.name, o.role, o.created_at.date()) for o in orgs),
    )


@manage_group.command("create-org")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice([role.value for role in Role]))
@remote_options
def create_org_command(
    name: str, role: str, url: str | None, api_key: str | None, profile: str
) -> None:
    """Create an organisation; prints its id."""
    remote = resolve(url, api_key, profile)
    with api_errors(), remote.client() as client:
        click.echo(str(client.create_org(name.strip(), role).id))


@manage_group.command("keys")
@click.argument("org_id", type=click.UUID)
@remote_options
def keys_command(org_id: UUID, url: str | None, api_key: str | None, profile: str) -> None:
    """An organisation's keys, by prefix (never the keys themselves)."""
    remote = resolve(url, api_key, profile)
    with api_errors(), remote.client() as client:
        keys = list(client.iter_keys(org_id))
    _table(
        ("id", "prefix", "label", "test", "created", "revoked"),
        ((k.id, k.prefix, k.label, "yes" if k.test else "", k.created_at.date(),
          k.revoked_at.date() if k.revoked_at else None) for k in keys),
    )  # fmt: skip


@manage_group.command("create-key")
@click.argument("org_id", type=click.UUID)
@click.option("--label", help="What the key is for, shown in key listings.")
@click.option("--test", is_flag=True, help="A test key: the sandbox only, never billed.")
@remote_options
def create_key_command(
    org_id: UUID, label: str | None, test: bool, url: str | None, api_key: str | None, profile: str
) -> None:
    """Create an API key for an organisation; prints the key, once."""
    remote = resolve(url, api_key, profile)
    with api_errors(), remote.client() as client:
        click.echo(client.create_key(org_id, label, test=test).key)


@manage_group.command("revoke-key")
@click.argument("key_id", type=click.UUID)
@remote_options
def revoke_key_command(key_id: UUID, url: str | None, api_key: str | None, profile: str) -> None:
    """Revoke a key (its id, from `idcheck manage keys`): it stops working at once."""
    remote = resolve(url, api_key, profile)
    with api_errors(), remote.client() as client:
        client.revoke_key(key_id)
    click.echo(f"key {key_id} revoked", err=True)


@manage_group.command("quota")
@click.argument("org_id", type=click.UUID)
@remote_options
def quota_command(org_id: UUID, url: str | None, api_key: str | None, profile: str) -> None:
    """Where an organisation stands this month: quotas, used, remaining."""
    remote = resolve(url, api_key, profile)
    with api_errors(), remote.client() as client:
        status = client.get_quota(org_id)
    _table(
        ("month", "quota", "used", "remaining", "resets"),
        [
            ("records " + status.month, _number(status.monthly_records), f"{status.used_records:,}",
             _number(status.remaining_records), status.resets_at.isoformat()),
            ("evaluations " + status.month, _number(status.monthly_evaluations),
             f"{status.used_evaluations:,}", _number(status.remaining_evaluations), ""),
        ],
    )  # fmt: skip


def _number(value: int | None) -> str:
    return "none" if value is None else f"{value:,}"


@manage_group.command("set-quota")
@click.argument("org_id", type=click.UUID)
@click.argument("monthly_records", metavar="RECORDS|none")
@remote_options
def set_quota_command(
    org_id: UUID, monthly_records: str, url: str | None, api_key: str | None, profile: str
) -> None:
    """A buyer's billable records a month ("none" lifts the quota)."""
    monthly = _limit_or_none(monthly_records)
    remote = resolve(url, api_key, profile)
    with api_errors(), remote.client() as client:
        client.set_quota(org_id, monthly)
    click.echo(f"monthly quota: {_number(monthly)}", err=True)


@manage_group.command("set-evaluation-quota")
@click.argument("org_id", type=click.UUID)
@click.argument("monthly_evaluations", metavar="EVALUATIONS|default")
@remote_options
def set_evaluation_quota_command(
    org_id: UUID, monthly_evaluations: str, url: str | None, api_key: str | None, profile: str
) -> None:
    """Blind evaluations a month ("default" goes back to the default)."""
    monthly = _limit_or_none(monthly_evaluations)
    remote = resolve(url, api_key, profile)
    with api_errors(), remote.client() as client:
        answer = client.set_evaluation_quota(org_id, monthly)
    click.echo(f"monthly evaluations: {answer.effective:,}", err=True)


@manage_group.command("key-versions")
@remote_options
def key_versions_command(url: str | None, api_key: str | None, profile: str) -> None:
    """Every signing-key version, its scheme, and the records under it."""
    remote = resolve(url, api_key, profile)
    with api_errors(), remote.client() as client:
        versions = client.list_key_versions().versions
    _table(
        ("version", "scheme", "current", "created", "retired", "records"),
        ((v.version, v.scheme, "yes" if v.current else "", v.created_at.date(),
          v.retired_at.date() if v.retired_at else None,
          f"{sum(d.records for d in v.datasets):,}") for v in versions),
    )  # fmt: skip


@manage_group.command("rotate-signing-key")
@click.option("--scheme", type=click.Choice(list(_SCHEMES)), default="hmac", show_default=True)
@remote_options
def rotate_command(scheme: str, url: str | None, api_key: str | None, profile: str) -> None:
    """Make signing-key version n+1 current; prints it."""
    remote = resolve(url, api_key, profile)
    with api_errors(), remote.client() as client:
        click.echo(client.rotate_signing_key(_SCHEMES[scheme]).version)


@manage_group.command("retire-signing-key")
@click.argument("version", type=click.IntRange(1, 32767))
@remote_options
def retire_command(version: int, url: str | None, api_key: str | None, profile: str) -> None:
    """Retire a version that is not current and signs no live record."""
    remote = resolve(url, api_key, profile)
    with api_errors(), remote.client() as client:
        client.retire_key_version(version)
    click.echo(f"version {version} retired", err=True)


@manage_group.command("optout")
@click.option("--email")
@click.option("--phone")
@click.option("--country", help="The phone's country when it is written nationally (FR).")
@remote_options
def optout_command(
    email: str | None,
    phone: str | None,
    country: str | None,
    url: str | None,
    api_key: str | None,
    profile: str,
) -> None:
    """Record one person's objection (an email and/or a phone): nothing matches it any more."""
    if not email and not phone:
        raise click.UsageError("give --email, --phone or both")
    remote = resolve(url, api_key, profile)
    with api_errors(), remote.client() as client:
        client.admin_opt_out(email=email, phone=phone, country=country)
    click.echo("objection recorded", err=True)


@manage_group.command("audit")
@click.option("--org", "org_id", type=click.UUID)
@click.option("--action", type=click.Choice([action.value for action in AuditAction]))
@click.option("--dataset", "dataset_id", type=click.UUID)
@click.option("--limit", type=click.IntRange(1), default=100, show_default=True)
@remote_options
def audit_command(
    org_id: UUID | None,
    action: str | None,
    dataset_id: UUID | None,
    limit: int,
    url: str | None,
    api_key: str | None,
    profile: str,
) -> None:
    """Who did what, newest first."""
    remote = resolve(url, api_key, profile)
    filters: dict[str, Any] = {"org_id": org_id, "action": action, "dataset_id": dataset_id}
    with api_errors(), remote.client() as client:
        entries = _first(client.iter_audit(**filters, limit=min(limit, 1000)), limit)
    _table(
        ("at", "action", "org", "object", "counts"),
        ((e.at.isoformat(timespec="seconds"), e.action, e.org_id, e.object_id,
          " ".join(f"{k}={v}" for k, v in e.counts.items())) for e in entries),
    )  # fmt: skip


def _first(items: Iterable[Any], limit: int | None) -> list[Any]:
    found: list[Any] = []
    for item in items:
        if limit is not None and len(found) >= limit:
            break
        found.append(item)
    return found
