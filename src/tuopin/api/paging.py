"""Opaque, stable cursors for keyset pagination, and ETags of versioned records.

A cursor is the sort key of the last record of a page, encoded so that clients treat it as
opaque (base64url of compact JSON); the next page asks for records after that key, so a
record added or removed meanwhile never shifts a page as OFFSET would. A cursor from
elsewhere, or tampered with, is refused as a bad parameter (400), never a 500.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from tuopin.api.problems import ApiProblem
from tuopin.domain.errors import Message
from tuopin.i18n import N_

BAD_CURSOR = N_("The cursor is not one this API gave out.")
NEEDS_IF_MATCH = N_("Send the record's ETag in If-Match: a change is made only to the version "
                    "you read.")
STALE_ETAG = N_("{etag} is not an ETag of this record; read it again.")


def encode_cursor(key: list[Any]) -> str:
    text = json.dumps(key, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str | None, *types: type) -> list[Any] | None:
    """The key a cursor holds (each value of the expected type), None for no cursor."""
    if cursor is None or cursor == "":
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ApiProblem("invalid", BAD_CURSOR) from None
    if (not isinstance(key, list) or len(key) != len(types)
            or not all(type(v) is t for v, t in zip(key, types, strict=True))):
        raise ApiProblem("invalid", BAD_CURSOR)
    return key


def etag(version: int | str) -> str:
    """The strong ETag of a record's version."""
    return f'"{version}"'


def expected_version(if_match: str | None) -> int | None:
    """The version an If-Match names; 428 when it is missing, 412 when it is no version.
    ``*`` matches whatever version is stored (RFC 9110): None, no check."""
    if if_match is None or not if_match.strip():
        raise ApiProblem("precondition-required", NEEDS_IF_MATCH)
    text = if_match.strip()
    if text == "*":
        return None
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"')
    if not text.isdigit() or len(text) > 9:
        raise ApiProblem("stale", Message(STALE_ETAG, etag=text[:20]))
    return int(text)


def expected_tag(if_match: str | None) -> str:
    """The opaque tag an If-Match names (for a record whose ETag is a hash of its values)."""
    if if_match is None or not if_match.strip():
        raise ApiProblem("precondition-required", NEEDS_IF_MATCH)
    text = if_match.strip()
    return (text[2:] if text.startswith("W/") else text).strip('"')
