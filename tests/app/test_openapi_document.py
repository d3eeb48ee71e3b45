"""docs/openapi.json is the app's schema: a change of the API shows as a diff of that file."""

from scripts.make_openapi import DOCUMENT
from scripts.make_openapi import text


def test_the_checked_in_schema_is_the_apps() -> None:
    assert DOCUMENT.read_text() == text(), "run python -m scripts.make_openapi and commit the file"
