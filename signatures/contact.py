"""Email and phone normalisation.

The libraries decide (email-validator, libphonenumber); two fast paths give their answer for the
shapes most files are made of, by construction, and hand everything else to them:

- an ASCII address ``local@domain`` whose local part is a dot-atom (email-validator's own
  pattern, which it accepts as it is) and whose domain is plain letters, digits, hyphens and
  dots: the domain alone is validated by the library, once per domain (a bounded cache), and the
  address's lengths are checked as the library checks them;
- a French number, ``0`` and nine digits read in France or ``+33`` and nine digits anywhere,
  with spaces, dots or hyphens between digits: its national number is what libphonenumber's
  parse would find (a valid one is never one whose national prefix parse would have kept), and
  it is valid when libphonenumber's metadata for France says so, read as libphonenumber reads it
  (the general pattern, then any number type's pattern of that length) but compiled once.

A value the fast path does not settle, valid or not, goes to the library, so that every error
message is the library's. ``email_by_library`` and ``phone_by_library`` are the reference the
fast paths are tested against (``signatures.fastpath.library_only`` turns them off).
"""

import re
from functools import lru_cache
from typing import Final

import phonenumbers
from email_validator import EmailNotValidError
from email_validator import validate_email
from email_validator.rfc_constants import DOT_ATOM_TEXT
from email_validator.rfc_constants import EMAIL_MAX_LENGTH

from signatures.errors import InvalidValue
from signatures.fastpath import FAST_PATHS

_GMAIL_DOMAINS: Final = frozenset({"gmail.com", "googlemail.com"})

# French overseas regions whose numbers are written nationally like metropolitan ones (0590...).
OVERSEAS_FR: Final[tuple[str, ...]] = (
    "GP", "MQ", "GF", "RE", "YT", "PM", "BL", "MF", "NC", "PF", "WF",
)  # fmt: skip


DOMAIN_CACHE_SIZE: Final = 16_384
_PLAIN_DOMAIN: Final = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_FRENCH_NUMBER: Final = re.compile(r"(\+33|0)((?:[ .-]?[0-9]){9})")
_SEPARATORS: Final = str.maketrans("", "", " .-")


def normalize_email(value: str) -> str:
    if not FAST_PATHS.get():
        return email_by_library(value)
    local, at, domain = value.partition("@")
    if at and value.isascii() and DOT_ATOM_TEXT.match(local) and _PLAIN_DOMAIN.fullmatch(domain):
        known = _domain(domain)
        if known is not None and len(local) + 1 + known[1] <= EMAIL_MAX_LENGTH:
            return _email(local, known[0])
    return email_by_library(value)


@lru_cache(maxsize=DOMAIN_CACHE_SIZE)
def _domain(domain: str) -> tuple[str, int] | None:
    """The library's ASCII form of a valid domain, and the longest of its forms in UTF-8 bytes
    (as written, ASCII, Unicode), for the library's length rule: the address in each form is
    at most EMAIL_MAX_LENGTH bytes. None if the library finds fault with the domain."""
    try:
        info = validate_email("a@" + domain, check_deliverability=False)
    except EmailNotValidError:
        return None
    forms = (domain, info.ascii_domain, info.domain)
    return info.ascii_domain, max(len(form.encode("utf-8")) for form in forms)


def email_by_library(value: str) -> str:
    try:
        info = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidValue(str(exc)) from None
    return _email(info.local_part, info.ascii_domain)


def _email(local_part: str, ascii_domain: str) -> str:
    local = local_part.lower()
    domain = ascii_domain.lower()
    if domain in _GMAIL_DOMAINS:
        domain = "gmail.com"
        local = local.split("+", 1)[0].replace(".", "")
    if not local:
        raise InvalidValue("the part before the @-sign is empty")
    return f"{local}@{domain}"


def validity_pattern(region: str, length: int) -> re.Pattern[str]:
    """When libphonenumber calls a national number of ``length`` digits valid in ``region``
    (``is_valid_number_for_region``): it matches the general description and the description of
    some number type, each description counting only where its possible lengths allow."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None:
        raise ValueError(f"libphonenumber has no metadata for {region!r}")
    types = [
        getattr(metadata, name)
        for name in (
            "premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan",
            "voicemail", "fixed_line", "mobile",
        )
    ]  # fmt: skip

    def usable(desc: phonenumbers.PhoneNumberDesc | None) -> str | None:
        if desc is None or not desc.national_number_pattern:
            return None
        if desc.possible_length and length not in desc.possible_length:
            return None
        return str(desc.national_number_pattern)

    general = usable(metadata.general_desc)
    patterns = [pattern for desc in types if (pattern := usable(desc)) is not None]
    if general is None or not patterns:
        return re.compile(r"(?!)")  # nothing of that length is valid there
    either = "|".join(f"(?:{pattern})" for pattern in patterns)
    return re.compile(rf"(?=(?:{general})\Z)(?:{either})")


_VALID_FRENCH: Final = validity_pattern("FR", 9)


def normalize_phone(value: str, region: str) -> str:
    match = _FRENCH_NUMBER.fullmatch(value) if FAST_PATHS.get() else None
    if match and (match[1] == "+33" or region == "FR"):
        national = match[2].translate(_SEPARATORS)
        if _VALID_FRENCH.fullmatch(national):
            return "+33" + national
    return phone_by_library(value, region)


def phone_by_library(value: str, region: str) -> str:
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
