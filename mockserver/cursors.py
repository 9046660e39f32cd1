"""Page cursors: one parser per kind, each raising nothing but the mock's own 400.

Two kinds of cursor exist:

- **revs** (getLog, getMessages): the cursor *is* a rev, compared as plain text, as the
  official app does (``ev.rev > latestRev``). Any string is a valid rev cursor: it simply
  selects what sorts after (getLog) or before (getMessages) it.
- **opaque positions** (listConvos, getConvoMembers, listJoinRequests, ...): a base64url-wrapped
  position that writes by others cannot shift; a cursor this server did not make is a 400.
"""

from __future__ import annotations

import base64
import binascii
import re

from .errors import invalid_request

_REV = re.compile(r"[2-7a-z]{13}")
_INT = re.compile(r"[0-9]{1,18}")
"""An integer position: ASCII digits only (``str.isdigit`` takes '²' and '①'), bounded in size."""


def _foreign(cursor: str) -> Exception:
    shown = cursor if len(cursor) <= 80 else cursor[:80] + "..."
    return invalid_request(f"Invalid cursor {shown!r}: pass back a cursor this server gave you")


def encode(position: str) -> str:
    """Wrap a position (an index, a rev and an id, ...) as an opaque cursor."""
    return base64.urlsafe_b64encode(position.encode()).decode().rstrip("=")


def decode(cursor: str | None) -> str | None:
    """The position inside an opaque cursor (None for no cursor); ``InvalidRequest`` for a foreign one."""
    if cursor is None or cursor == "":
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _foreign(cursor) from None
    if not raw or not raw.isprintable():
        raise _foreign(cursor)
    return raw


def decode_int(cursor: str | None) -> int | None:
    """An opaque cursor holding an integer position."""
    raw = decode(cursor)
    if raw is None:
        return None
    if not _INT.fullmatch(raw):
        raise _foreign(cursor or "")
    return int(raw)


def decode_rev_id(cursor: str | None) -> tuple[str, str] | None:
    """An opaque cursor holding a rev and an id (the position in a list of convos)."""
    raw = decode(cursor)
    if raw is None:
        return None
    rev, _, item = raw.partition(" ")
    if not _REV.fullmatch(rev) or not item:
        raise _foreign(cursor or "")
    return rev, item


def encode_rev_id(rev: str, item: str) -> str:
    """The cursor for a position in a list ordered by (rev, id)."""
    return encode(f"{rev} {item}")


def rev(cursor: str | None) -> str | None:
    """A rev cursor as given: any text is a valid rev to compare with (None for none)."""
    return cursor
