"""Opaque, stable page cursors: a base64url-wrapped position that writes by others cannot shift."""

from __future__ import annotations

import base64
import binascii

from .errors import invalid_request


def encode(position: str) -> str:
    """Wrap a position (a rev, an index, ...) as an opaque cursor."""
    return base64.urlsafe_b64encode(position.encode()).decode().rstrip("=")


def decode(cursor: str | None) -> str | None:
    """The position inside a cursor (None for no cursor); ``InvalidRequest`` for a foreign one."""
    if cursor is None or cursor == "":
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid_request(f"Invalid cursor {cursor!r}: pass back a cursor this server gave you") from None
    if not raw or not raw.isprintable():
        raise invalid_request(f"Invalid cursor {cursor!r}: pass back a cursor this server gave you")
    return raw


def decode_int(cursor: str | None) -> int | None:
    """A cursor holding an integer position."""
    raw = decode(cursor)
    if raw is None:
        return None
    if not raw.isdigit():
        raise invalid_request(f"Invalid cursor {cursor!r}: pass back a cursor this server gave you")
    return int(raw)
