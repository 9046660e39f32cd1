"""The journal: every XRPC call in the order it ran, with its caller, input, status and answer.

Admin calls are not journaled. Passwords and tokens are never kept.
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any

Json = dict[str, Any]
SECRET_FIELDS = frozenset({"password", "accessJwt", "refreshJwt"})
SECRET_METHODS = ("com.atproto.server.",)
"""Methods whose input or output can hold a password or a token (the others are kept as they are)."""
REDACTED = "***"
DEFAULT_SIZE = 10_000
DEFAULT_BYTES = 32 * 1024 * 1024
"""The most bytes of answers and request bodies kept: 10,000 getLog pages of ~90 KB would
otherwise hold ~1 GB, and 10,000 bodies near the 1 MiB limit ~10 GB."""


EncodedJson = bytes
"""An answer kept as the JSON that was sent: the very bytes object that was sent (and that the
read cache keeps), not a copy and not a tree of dicts, so a full journal costs the garbage
collector next to nothing. Decoded when the journal is read. Outputs are otherwise dicts or None,
so bytes always mean this."""


def _public(entry: Json) -> Json:
    output = entry.get("output")
    if isinstance(output, bytes):
        return {**entry, "output": json.loads(output) if output else None}
    return entry


def redact(value: Any) -> Any:
    """A copy of ``value`` with every password and token replaced by ``***``."""
    if isinstance(value, dict):
        return {k: (REDACTED if k in SECRET_FIELDS else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


class Journal:
    """The latest calls (at most ``size``), each numbered by ``seq`` from 1."""

    def __init__(self, size: int = DEFAULT_SIZE, max_bytes: int = DEFAULT_BYTES) -> None:
        self.entries: deque[Json] = deque()
        self.size = size
        self.max_bytes = max_bytes
        self.bodies: deque[int] = deque()
        """The request body size of each kept entry, in the same order."""
        self.answers: dict[int, list[Any]] = {}
        """id -> [answer bytes, entries holding it]: a cached read's entries share one answer."""
        self.bytes = 0
        """The size of the distinct answers and the request bodies kept."""
        self.last_seq = 0

    def record(self, entry: Json, body_bytes: int = 0) -> Json:
        """Number, redact and keep one finished call (``body_bytes``: the size of its request
        body), dropping the oldest past ``size`` entries or ``max_bytes`` of answers and bodies;
        answer it as the journal shows it."""
        self.last_seq += 1
        secret = str(entry.get("method", "")).startswith(SECRET_METHODS)
        kept = {"seq": self.last_seq, **(redact(_public(entry)) if secret else entry)}
        self.entries.append(kept)
        self.bodies.append(body_bytes)
        self.bytes += body_bytes
        output = kept.get("output")
        if isinstance(output, bytes):
            held = self.answers.get(id(output))
            if held is None:
                held = self.answers[id(output)] = [output, 0]
                self.bytes += len(output)
            held[1] += 1
        while len(self.entries) > 1 and (len(self.entries) > self.size or self.bytes > self.max_bytes):
            self._drop_oldest()
        return kept

    def _drop_oldest(self) -> None:
        output = self.entries.popleft().get("output")
        self.bytes -= self.bodies.popleft()
        if isinstance(output, bytes):
            held = self.answers[id(output)]
            held[1] -= 1
            if held[1] == 0:
                del self.answers[id(output)]
                self.bytes -= len(output)

    def since(self, seq: int = 0, limit: int | None = None) -> list[Json]:
        """Entries after ``seq``, oldest first, answers decoded."""
        out = [e for e in self.entries if e["seq"] > seq] if seq else list(self.entries)
        return [_public(e) for e in (out[:limit] if limit is not None else out)]

    @staticmethod
    def public(entry: Json) -> Json:
        """One entry as the journal shows it (its answer decoded)."""
        return _public(entry)

    def clear(self) -> None:
        """Forget every entry (numbering goes on)."""
        self.entries.clear()
        self.bodies.clear()
        self.answers.clear()
        self.bytes = 0
