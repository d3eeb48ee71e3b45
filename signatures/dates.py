"""Date parsing: birth dates, and the day a holder's record was last updated."""

import re
from datetime import UTC
from datetime import date
from datetime import datetime
from typing import Final

from signatures.errors import InvalidValue

_ISO: Final = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
_DAY_FIRST: Final = re.compile(r"([0-9]{1,2})([/.-])([0-9]{1,2})\2([0-9]{4})")


def today() -> date:
    """Today in UTC: the server, the holder and the buyer agree on what "future" means."""
    return datetime.now(UTC).date()


def parse_date(value: str) -> date:
    """``YYYY-MM-DD``, or day first: ``DD/MM/YYYY``, ``DD-MM-YYYY``, ``DD.MM.YYYY``."""
    if match := _ISO.fullmatch(value):
        year, month, day = match.group(1, 2, 3)
    elif match := _DAY_FIRST.fullmatch(value):
        day, month, year = match.group(1, 3, 4)
    else:
        raise InvalidValue("not a date: write YYYY-MM-DD or DD/MM/YYYY")
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise InvalidValue("no such day in the calendar") from None


def parse_past_date(value: str) -> date:
    parsed = parse_date(value)
    if parsed > today():
        raise InvalidValue("a date in the future")
    return parsed


def normalize_birth_date(value: str) -> str:
    return parse_past_date(value).isoformat()
