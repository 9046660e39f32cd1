"""Inputs parsed by hand (not by a lexicon): one parser per kind, raising only the mock's 4xx.

Cursors have theirs in ``cursors.py``; the admin API's numbers (``since``, ``limit``, fault ids)
are parsed here. ``str.isdigit`` is not enough: it takes '²' and '①', which ``int`` refuses.
"""

from __future__ import annotations

import re

from .errors import XrpcError, invalid_request

_WHOLE = re.compile(r"[0-9]{1,15}")


def whole_number(raw: str, what: str, *, status: int = 400) -> int:
    """A whole number written in ASCII digits (at most 15 of them); a 400 naming ``what``
    otherwise (or a 404 ``NotFound`` with ``status=404``, for a number in a path)."""
    if _WHOLE.fullmatch(raw):
        return int(raw)
    shown = raw if len(raw) <= 40 else raw[:40] + "..."
    if status == 404:
        raise XrpcError("NotFound", f"No {what} {shown!r}", 404)
    raise invalid_request(f"{what} must be a whole number, got {shown!r}")
