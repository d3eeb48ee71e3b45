"""Reading the signing key a holder or buyer keeps in a file."""

import json
import re
from dataclasses import dataclass
from pathlib import Path

from idcheck.cli.errors import CliError

_HEX_KEY = re.compile(r"[0-9a-fA-F]{64}")
_MAX_BYTES = 4096


@dataclass(frozen=True)
class SigningKey:
    key: bytes
    version: int | None  # known when the file is the JSON answer of GET /v1/signing-key


def read_key_file(path: Path) -> SigningKey:
    """64 hex characters, or the JSON body of ``GET /v1/signing-key`` ({"version", "key", ...})."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(_MAX_BYTES + 1)
    except OSError as exc:
        raise CliError(f"key file {path}: {exc.strerror}") from None
    problem = f"key file {path}: expected 64 hex characters (the key of GET /v1/signing-key)"
    if len(raw) > _MAX_BYTES:
        raise CliError(problem)
    try:
        text = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        raise CliError(problem) from None
    version: int | None = None
    if text.startswith("{"):
        try:
            document = json.loads(text)
            text, version = str(document["key"]), document.get("version")
        except (ValueError, KeyError, TypeError):
            raise CliError(problem) from None
        if version is not None and (type(version) is not int or version < 1):
            raise CliError(f"key file {path}: version must be an integer >= 1")
    if not _HEX_KEY.fullmatch(text):
        raise CliError(problem)
    return SigningKey(key=bytes.fromhex(text), version=version)
