"""Talking to a server from the command line: where the URL and the API key come from.

The key is read, in this order, from `--api-key`, from $IDCHECK_API_KEY, or from the profile that
`idcheck login` saved (a file only its owner can read). `--api-key` exists for scripts; typed at a
prompt, a key would stay in the shell's history, so `login` asks for it without echo instead.
"""

import json
import os
import stat
import tempfile
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from typing import ParamSpec
from typing import TypeVar

import click

from idcheck.cli.errors import CliError
from idcheck.client import DEFAULT_URL
from idcheck.client import APIError
from idcheck.client import AsyncClient
from idcheck.client import Client
from idcheck.client import IdcheckError
from idcheck.client import RetryEvent
from schemas.vocabulary import Role

P = ParamSpec("P")
R = TypeVar("R")


def config_dir() -> Path:
    if explicit := os.environ.get("IDCHECK_CONFIG_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "idcheck"


def state_dir() -> Path:
    """Where `push` keeps its journals (for --resume)."""
    if explicit := os.environ.get("IDCHECK_STATE_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "idcheck"


def _profiles_path() -> Path:
    return config_dir() / "profiles.json"


def read_profiles() -> dict[str, dict[str, str]]:
    path = _profiles_path()
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise CliError(f"profile file {path}: unreadable ({exc})") from None
    if not isinstance(document, dict):
        raise CliError(f"profile file {path}: not a JSON object")
    return document


def save_profile(name: str, url: str, api_key: str) -> Path:
    """Write the profile file atomically, readable by its owner only (0600)."""
    path = _profiles_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    profiles = read_profiles() | {name: {"url": url, "api_key": api_key}}
    fd, temporary = tempfile.mkstemp(prefix=".profiles.", dir=path.parent)
    try:
        os.fchmod(fd, stat.S_IRUSR | stat.S_IWUSR)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(profiles, handle, indent=2)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


@dataclass(frozen=True)
class Remote:
    url: str
    api_key: str

    def client(self, **options: Any) -> Client:
        return Client(self.url, self.api_key, on_retry=_say_retry, **options)

    def async_client(self, **options: Any) -> AsyncClient:
        return AsyncClient(self.url, self.api_key, on_retry=_say_retry, **options)


def _say_retry(event: RetryEvent) -> None:
    """One line when a request first fails and is tried again; the later tries say nothing (the
    error, if they all fail, says how many there were)."""
    if event.attempt == 1:
        click.echo(f"{event.reason}: trying again (the SDK's retries)", err=True)


#: The profile used when --profile is not given.
DEFAULT_PROFILE = "default"


def resolve(url: str | None, api_key: str | None, profile: str) -> Remote:
    profiles = read_profiles()
    if profile != DEFAULT_PROFILE and profile not in profiles:
        known = ", ".join(sorted(profiles)) or "none yet"
        raise CliError(
            f"no profile {profile!r} (profiles: {known}): "
            f"run `idcheck login --profile {profile}` first"
        )
    saved = profiles.get(profile, {})
    key = api_key or os.environ.get("IDCHECK_API_KEY") or saved.get("api_key")
    if not key:
        raise CliError(
            "no API key: run `idcheck login`, or set IDCHECK_API_KEY (or pass --api-key)"
        )
    address = url or os.environ.get("IDCHECK_URL") or saved.get("url") or DEFAULT_URL
    return Remote(address, key)


def remote_options(command: Callable[P, R]) -> Callable[P, R]:
    """--url, --api-key and --profile, resolved into a `remote` argument."""
    for option in (
        click.option(
            "--profile",
            default=DEFAULT_PROFILE,
            show_default=True,
            help="Profile of `idcheck login`.",
        ),
        click.option(
            "--api-key", help="The API key (default: $IDCHECK_API_KEY, else the profile)."
        ),
        click.option(
            "--url",
            help=f"The server (default: $IDCHECK_URL, else the profile, else {DEFAULT_URL}).",
        ),
    ):
        command = option(command)
    return command


@contextmanager
def api_errors() -> Iterator[None]:
    """An SDK error becomes the command line's one-line error."""
    try:
        yield
    except APIError as exc:
        details = "; ".join(_detail_text(d) for d in exc.details[:5])
        raise CliError(f"{exc}" + (f" ({details})" if details else "")) from None
    except IdcheckError as exc:
        raise CliError(f"cannot reach the server: {exc}") from None


def _detail_text(detail: dict[str, Any]) -> str:
    """One error detail ({"index", "field", "message"}) as "#3 email: message"."""
    where = [f"#{detail['index']}"] if detail.get("index") is not None else []
    where += [str(detail["field"])] if detail.get("field") else []
    return f"{' '.join(where) or 'request'}: {detail.get('message', '')}"


@click.command("login")
@click.option(
    "--url",
    envvar="IDCHECK_URL",
    default=DEFAULT_URL,
    show_default=True,
    help="The server (default: $IDCHECK_URL, else this).",
)
@click.option("--profile", default=DEFAULT_PROFILE, show_default=True)
def login_command(url: str, profile: str) -> None:
    """Save a server and an API key (asked without echo, or taken from $IDCHECK_API_KEY)."""
    key = os.environ.get("IDCHECK_API_KEY") or click.prompt("API key", hide_input=True)
    key = key.strip()
    role = key.split("_")[1] if key.count("_") >= 2 and key.startswith("idc_") else ""
    with api_errors(), Client(url, key, on_retry=_say_retry) as client:
        if role in (Role.HOLDER, Role.BUYER):
            client.get_current_key_version()
        elif role in (Role.FINANCE, Role.ADMIN):
            client.get_usage()
        else:
            raise CliError("that is not an idcheck API key (they start with idc_<role>_)")
    path = save_profile(profile, url, key)
    click.echo(f"logged in to {url} as a {role}; profile {profile!r} saved in {path}")
