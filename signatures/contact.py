"""Email and phone normalisation."""

from typing import Final

import phonenumbers
from email_validator import EmailNotValidError
from email_validator import validate_email

from signatures.errors import InvalidValue

_GMAIL_DOMAINS: Final = frozenset({"gmail.com", "googlemail.com"})

# French overseas regions whose numbers are written nationally like metropolitan ones (0590...).
OVERSEAS_FR: Final[tuple[str, ...]] = (
    "GP", "MQ", "GF", "RE", "YT", "PM", "BL", "MF", "NC", "PF", "WF",
)  # fmt: skip


def normalize_email(value: str) -> str:
    try:
        info = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidValue(str(exc)) from None
    local = info.local_part.lower()
    domain = info.ascii_domain.lower()
    if domain in _GMAIL_DOMAINS:
        domain = "gmail.com"
        local = local.split("+", 1)[0].replace(".", "")
    if not local:
        raise InvalidValue("the part before the @-sign is empty")
    return f"{local}@{domain}"


def normalize_phone(value: str, region: str) -> str:
    try:
        number = phonenumbers.parse(value, region, keep_raw_input=True)
    except phonenumbers.NumberParseException as exc:
        raise InvalidValue(f"not a phone number ({exc._msg})") from None
    if phonenumbers.is_valid_number(number):
        return _e164(number)
    written_nationally = (
        number.country_code_source == phonenumbers.CountryCodeSource.FROM_DEFAULT_COUNTRY
    )
    if region == "FR" and written_nationally:
        for overseas in OVERSEAS_FR:
            candidate = phonenumbers.parse(value, overseas)
            if phonenumbers.is_valid_number(candidate):
                return _e164(candidate)
    raise InvalidValue(f"not a valid phone number (read with region {region})")


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
