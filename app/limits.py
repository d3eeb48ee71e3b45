"""How many bytes each operation's body may hold: enough for its largest valid request, no more.

A body is refused (413) by its Content-Length before any of it is read, else by counting as it
is read; nothing is parsed before the caller's key and role are checked. Lists are bounded again
while the body is validated (each list of a request schema states its maximum).
"""

from typing import Final

from app.settings import Settings
from schemas.datasets import MAX_OPTOUTS
from schemas.service import MAX_EVALUATE_ELEMENTS

SMALL_BODY: Final = 64 * 1024  # names, labels, a quota, one objection
_ENVELOPE: Final = 16 * 1024  # purpose, default_country, the JSON around the list
#: The console's verify form: a CSV file of up to 1,000 rows of ten fields of at most 256
#: characters each is under this; with its other fields and the multipart framing, the body.
CONSOLE_FILE_BYTES: Final = 2 * 1024 * 1024
RAW_RECORD_BYTES: Final = 2048  # ten fields: far above any real record (send long ones in fewer)
#: A ref, every kind's signature and the close forms of the names (about 42 of 35 bytes; 96 at
#: most) under two key versions, with room: the budget is the request's, so records of more
#: versions or long names fit when others are short (8 MB for the default 1,000 records).
SIGNED_RECORD_BYTES: Final = 8192
EXTERNAL_ID_BYTES: Final = 160  # 128 characters, quoted, with a comma
OPTOUT_BYTES: Final = 256  # a key version and two signatures
ELEMENT_BYTES: Final = 70  # 64 hex characters, quoted, with a comma and a space
UPLOADS: Final = frozenset({"upload_records", "upload_snapshot_records"})
#: Operations whose statements may run IDCHECK_UPLOAD_STATEMENT_TIMEOUT rather than the API's
#: IDCHECK_STATEMENT_TIMEOUT (PostgreSQL): they write or remove a dataset's worth of rows.
LONG_RUNNING: Final = UPLOADS | {
    "commit_snapshot",
    "abort_snapshot",
    "delete_dataset",
    "delete_records",
}


def body_limit(operation_id: str | None, settings: Settings) -> int:
    """The byte limit of a request body for this operation (unmatched routes: the small one)."""
    if operation_id in UPLOADS:
        return settings.max_upload_body_bytes  # NDJSON streams; a JSON batch is checked apart
    if operation_id == "console_verify":
        return CONSOLE_FILE_BYTES + SMALL_BODY
    per_record = {
        "verify": (settings.max_verify_records, RAW_RECORD_BYTES),
        "verify_signed": (settings.max_verify_records, SIGNED_RECORD_BYTES),
        "delete_records": (settings.max_delete_ids, EXTERNAL_ID_BYTES),
        "holder_opt_out": (MAX_OPTOUTS, OPTOUT_BYTES),
        "oprf_evaluate": (MAX_EVALUATE_ELEMENTS, ELEMENT_BYTES),
    }.get(operation_id or "")
    if per_record is None:
        return SMALL_BODY
    count, size = per_record
    return count * size + _ENVELOPE
