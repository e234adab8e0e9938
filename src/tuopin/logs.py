"""Structured logs: one JSON object a line, carrying the id of the request it belongs to.

`tuopin serve` and `tuopin worker` log through ``config()``. A line holds time, level,
logger and message, and - when known - the request's id, its route *template* (never the
raw path or query: both may hold a household number or a name), its status and duration.
No line may hold personal data (ID numbers, phone numbers, usernames, names): messages are
written without them, and an exception's text - where a database driver may quote a row's
values (PostgreSQL: ``Key (id_number)=(...) already exists``) - has ID and phone numbers
masked. tests/test_log_privacy.py scans the logs of the whole test run for them.

Standard library only: the CLI imports it when a command runs, and the web, the API and the
worker all share it (it sits outside the layers).
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

# The id of the request being answered (set by the web's Telemetry middleware; a contextvar
# follows the request into FastAPI's thread pool).
REQUEST_ID: ContextVar[str | None] = ContextVar("tuopin_request_id", default=None)
# What an access line adds to the record (logger.info(..., extra={...})).
FIELDS = ("request_id", "route", "status", "duration_ms")

# Libraries that log every statement or request when their logger is enabled - SQL
# parameters and URLs with queries are personal data - or chatter at DEBUG: kept at WARNING
# whatever the root's level (SQLAlchemy echoes every statement once its logger is at INFO;
# TUOPIN_ECHO_SQL still turns that on, for debugging).
QUIET = ("sqlalchemy", "httpx", "httpcore", "py4j",
         "multipart", "python_multipart", "asyncio", "filelock", "urllib3")

# An ID number (18 characters: 17 digits and a digit or X; or the old 15-digit form) and a
# mainland mobile number, standing alone (not inside a longer run of letters or digits).
PERSONAL = re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[0-9Xx]|1[3-9]\d{9}|\d{15})(?![0-9A-Za-z])")
MASK = "[masked]"


def masked(text: str) -> str:
    """``text`` with every ID and mobile phone number replaced by [masked]."""
    return PERSONAL.sub(MASK, text)


class JsonFormatter(logging.Formatter):
    """A record as one line of JSON: time (UTC, ISO 8601), level, logger, message, and the
    request's id, route, status and duration when the record has them."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if "request_id" not in entry and (current := REQUEST_ID.get()) is not None:
            entry["request_id"] = current
        if record.exc_info:
            entry["exception"] = masked(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = masked(record.exc_text)
        return json.dumps(entry, ensure_ascii=False, default=str)


def config(level: str = "INFO") -> dict[str, Any]:
    """The logging configuration (``logging.config.dictConfig``; uvicorn's ``log_config``):
    JSON lines on standard error; uvicorn's own access log off (the web writes one line per
    request, with the route template, as ``tuopin.access``)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json",
                                "stream": "ext://sys.stderr"}},
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            # uvicorn's loggers keep handlers of their own unless told: one handler, the root's
            "uvicorn": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.error": {"level": level, "handlers": [], "propagate": True},
            # its access line holds the raw path with the query: never written
            "uvicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
            **{name: {"level": "WARNING"} for name in QUIET},
        },
    }


def configure(level: str = "INFO") -> None:
    """Log JSON lines to standard error (what `tuopin worker` calls at its start)."""
    logging.config.dictConfig(config(level))
