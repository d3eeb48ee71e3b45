"""Write the API's OpenAPI schema to docs/openapi.json, as a server with default settings gives it.

    python -m scripts.make_openapi          # rewrite docs/openapi.json
    python -m scripts.make_openapi --check  # exit 1 if it differs from the code

The file is checked in: it is the contract a client in any language is written against, and
tests/app/test_openapi_document.py holds the code to it, so that any change of the API shows as a
diff of this file. A running server's own /openapi.json also names its live key versions and the
limits it was configured with.
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from app.main import create_app
from app.settings import Settings

DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"


def schema() -> dict[str, Any]:
    """The schema of an app with default limits (no database is opened)."""
    settings = Settings(env="test", master_key=SecretStr("0f" * 32))
    return create_app(settings).openapi()


def text() -> str:
    return json.dumps(schema(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    args = parser.parse_args()
    if args.check:
        if DOCUMENT.read_text() != text():
            sys.exit(f"{DOCUMENT} is out of date: run python -m scripts.make_openapi")
        return
    DOCUMENT.write_text(text())
    print(f"wrote {DOCUMENT}", file=sys.stderr)


if __name__ == "__main__":
    main()
