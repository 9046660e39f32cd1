"""Recording: the session as JSON lines, written as it happens, that replay can run again.

A recording is a sequence of lines:

- ``{"type": "start", "scenario": NAME|null, "time": ..., "state": <GET /_mock/state dump>}``
  whenever the state is reset, loaded from a scenario or replaced (the first line is one);
- ``{"type": "admin", "op": "createActor"|"updateActor"|"updateConvo", "target": ..., "body": ...}``
  for admin changes between calls;
- ``{"type": "call", ...}`` for every XRPC call: the journal entry (seq, time, actor, method,
  params, input, status, error, message, output).

Passwords and tokens are never written (``***``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from .journal import redact

Json = dict[str, Any]
Recorder = Callable[[Json], None]
VERSION = 2
"""2: getLog and getMessages cursors are revs, private changes keep the shared convo rev, zero
join request counts are left out. Answers recorded at version 1 differ in those places by design,
so replay compares version 1 calls by status and error name only (see ``replay.py``)."""


class FileRecorder:
    """Appends each line to a file and flushes it, so a crash loses nothing already answered."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] = self.path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def __call__(self, line: Json) -> None:
        text = json.dumps(line, ensure_ascii=False, separators=(",", ":"))
        with self._lock:
            self._file.write(text + "\n")
            self._file.flush()

    def close(self) -> None:
        """Close the file."""
        self._file.close()


class ListRecorder:
    """Keeps the lines in memory (the pytest plugin writes them out per test)."""

    def __init__(self) -> None:
        self.lines: list[Json] = []

    def __call__(self, line: Json) -> None:
        self.lines.append(line)

    def write(self, path: str | Path) -> None:
        """Write the kept lines as a recording file."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("w", encoding="utf-8") as f:
            for line in self.lines:
                f.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")


def start_line(state: Json, scenario: str | None, time: str, faults: list[Json] | None = None) -> Json:
    """The line that names a starting state (and the fault rules live in it, if any)."""
    line = {"type": "start", "version": VERSION, "scenario": scenario, "time": time, "state": redact_state(state)}
    if faults:
        line["faults"] = faults
    return line


def admin_line(op: str, target: str | None, body: Json, time: str, result: Json | None = None) -> Json:
    """The line for an admin change made at ``time`` (``result``: who it made or changed, for
    transcripts: ``{did, handle}``)."""
    line = {"type": "admin", "op": op, "target": target, "time": time, "body": redact(body)}
    if result is not None:
        line["result"] = result
    return line


def call_line(entry: Json) -> Json:
    """The line for an XRPC call (a journal entry, already redacted)."""
    return {"type": "call", **entry}


def redact_state(state: Json) -> Json:
    """A state dump without passwords or live session ids; replay gives sessions back its own way."""
    out = dict(state)
    out["actors"] = [{**a, "password": "***"} for a in state.get("actors", [])]
    return out


def read(path: str | Path) -> list[Json]:
    """The lines of a recording file; ``ValueError`` names the first bad line."""
    lines: list[Json] = []
    for number, text in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{number}: not JSON: {e}") from None
        if not isinstance(line, dict) or line.get("type") not in ("start", "admin", "call"):
            raise ValueError(f"{path}:{number}: not a recording line (type start, admin or call)")
        lines.append(line)
    if not lines or lines[0]["type"] != "start":
        raise ValueError(f"{path}: a recording starts with a start line")
    return lines


def is_recording(name_or_path: str | Path) -> bool:
    """Whether a scenario argument names a recording (a ``.jsonl`` file) rather than a scenario."""
    return str(name_or_path).endswith(".jsonl")
