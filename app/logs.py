"""Logging for the server: one line per event on stderr, as text or as JSON lines
(IDCHECK_LOG_FORMAT=json), each with the request's id; uvicorn's access log replaced by ours.

uvicorn's access log would print request lines with their query strings; ours prints the route
template only (see middleware.Observer). The request id is a ContextVar that middleware.RequestId
sets for the request's task: every line logged while a request is served carries it, "-" outside
one.
"""

import json
import logging
import re
import uuid
from contextvars import ContextVar
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import Final

REQUEST_ID: Final[ContextVar[str | None]] = ContextVar("request_id", default=None)
#: A request id the client sent is kept when it is 16-64 letters, digits, "-" or "_": a UUID, a
#: ULID, a trace id. Shorter (an E.164 number is at most 15 digits) or with any other character
#: (an @, a dot, a space, a +) it is replaced: a contact value never reaches the log this way.
_WELL_FORMED: Final = re.compile(r"[A-Za-z0-9_-]{16,64}")


def accept_request_id(sent: bytes | None) -> str:
    """The client's id when it is well formed, else a new one."""
    if sent is not None:
        text = sent.decode("latin-1")
        if _WELL_FORMED.fullmatch(text):
            return text
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    return REQUEST_ID.get()


def install_record_factory() -> None:
    """Every log record made in this process carries ``request_id`` (whatever handler, or a
    test's capture, reads it). Installed once, by create_app."""
    base = logging.getLogRecordFactory()
    if getattr(base, "gives_request_id", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = base(*args, **kwargs)
        record.request_id = REQUEST_ID.get() or "-"
        return record

    factory.gives_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


class RequestIdFilter(logging.Filter):
    """Gives every record its request's id (``request_id``), also those made before the record
    factory was installed (uvicorn's supervisor, say)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, request_id, message; an
    exception's type and frames only (its message may hold what a caller sent)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[0] is not None:
            line["exception"] = record.exc_info[0].__name__
        return json.dumps(line, ensure_ascii=False)


_TEXT: Final = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def log_config(level: str, log_format: str = "text") -> dict[str, Any]:
    handler = {
        "class": "logging.StreamHandler",
        "formatter": log_format,
        "filters": ["request_id"],
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"text": {"format": _TEXT}, "json": {"()": JsonFormatter}},
        "handlers": {"stderr": handler},
        "loggers": {
            "idcheck": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }
