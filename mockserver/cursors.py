"""Opaque, stable page cursors: a base64url-wrapped position that writes by others cannot shift."""

from __future__ import annotations

import base64
import binascii
import re

from .errors import invalid_request

_REV = re.compile(r"[2-7a-z]{13}")


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


def decode_rev(cursor: str | None) -> str | None:
    """A cursor holding a rev (the getLog position)."""
    raw = decode(cursor)
    if raw is not None and not _REV.fullmatch(raw):
        raise invalid_request(f"Invalid cursor {cursor!r}: pass back a cursor this server gave you")
    return raw


def decode_rev_id(cursor: str | None) -> tuple[str, str] | None:
    """A cursor holding a rev and an id (the position in a list of convos)."""
    raw = decode(cursor)
    if raw is None:
        return None
    rev, _, item = raw.partition(" ")
    if not _REV.fullmatch(rev) or not item:
        raise invalid_request(f"Invalid cursor {cursor!r}: pass back a cursor this server gave you")
    return rev, item


def encode_rev_id(rev: str, item: str) -> str:
    """The cursor for a position in a list ordered by (rev, id)."""
    return encode(f"{rev} {item}")
