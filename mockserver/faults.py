"""Fault injection: rules that make matching calls fail, wait, or lose their connection."""

from __future__ import annotations

from dataclasses import dataclass, field
from difflib import get_close_matches
from fnmatch import fnmatchcase
from typing import Any

from .errors import XrpcError, invalid_request
from .state import Actor, State

Json = dict[str, Any]
FIELDS = ("method", "actor", "input", "error", "status", "message", "delay", "drop", "times")
MAX_DELAY = 60.0


@dataclass
class Fault:
    """One rule. ``times`` is how many more matching calls it hits (None: every one; 0: used up)."""

    id: int
    method: str
    actor: str | None = None
    input: Json = field(default_factory=dict)
    error: str | None = None
    status: int | None = None
    message: str | None = None
    delay: float = 0.0
    drop: bool = False
    times: int | None = None
    hits: int = 0

    def to_json(self) -> Json:
        """The rule as the admin API shows it."""
        out: Json = {"id": self.id, "method": self.method, "hits": self.hits}
        for name in ("actor", "error", "status", "message", "times"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.input:
            out["input"] = self.input
        if self.delay:
            out["delay"] = self.delay
        if self.drop:
            out["drop"] = True
        return out

    def matches(self, state: State, nsid: str, viewer: Actor | None, values: Json) -> bool:
        """Whether a call (its method, caller and decoded parameters or input) is hit."""
        if self.method != nsid and not ("*" in self.method and fnmatchcase(nsid, self.method)):
            return False
        if self.actor is not None:
            who = state.find_actor(self.actor)
            if viewer is None or who is None or who.did != viewer.did:
                return False
        return all(values.get(k) == v for k, v in self.input.items())

    def raise_error(self) -> None:
        """Answer the call with this rule's error, if it has one."""
        if self.error is not None:
            message = self.message or f"Injected fault #{self.id} on {self.method}"
            raise XrpcError(self.error, message, self.status or 400)


def _check_method(method: str) -> None:
    """A fault's method is a method the lexicons define, or a pattern (``*``, ``chat.bsky.group.*``)
    that matches at least one: a misspelt name would make a rule that never fires."""
    from .lexicons import bundled

    known = [name for name in bundled().names() if bundled().method(name)]
    if "*" in method:
        if not any(fnmatchcase(name, method) for name in known):
            raise invalid_request(f"Fault method pattern {method!r} matches no XRPC method")
        return
    if method not in known:
        close = get_close_matches(method, known, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise invalid_request(f"Unknown method {method!r} for a fault{hint}; a pattern needs a *, such as chat.bsky.*")


class Faults:
    """The active rules, first added first matched."""

    def __init__(self) -> None:
        self.rules: list[Fault] = []
        self._next_id = 1

    def add(self, spec: Json) -> Fault:
        """Add a rule from its JSON form; ``InvalidRequest`` names what is wrong with it."""
        unknown = sorted(set(spec) - set(FIELDS))
        if unknown:
            raise invalid_request(f"Unknown fault field(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}")
        method = spec.get("method")
        if not isinstance(method, str) or not method:
            raise invalid_request("A fault needs a method: an XRPC method NSID, or * for every method")
        _check_method(method)
        checks: list[tuple[str, type | tuple[type, ...]]] = [
            ("actor", str),
            ("input", dict),
            ("error", str),
            ("message", str),
            ("drop", bool),
        ]
        for name, kind in checks:
            if name in spec and not isinstance(spec[name], kind):
                raise invalid_request(f"fault {name} must be a {getattr(kind, '__name__', kind)}")
        for name in ("status", "times"):
            value = spec.get(name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise invalid_request(f"fault {name} must be an integer")
        status = spec.get("status")
        if status is not None and not 400 <= status <= 599:
            raise invalid_request(f"fault status must be between 400 and 599, got {status}")
        if spec.get("times") is not None and spec["times"] < 1:
            raise invalid_request("fault times must be at least 1 (leave it out for every call)")
        delay = spec.get("delay", 0)
        if not isinstance(delay, (int, float)) or isinstance(delay, bool) or not 0 <= delay <= MAX_DELAY:
            raise invalid_request(f"fault delay must be a number of seconds from 0 to {MAX_DELAY:g}")
        error = spec.get("error")
        if error is None and status is not None:
            error = "InternalServerError" if status >= 500 else "InvalidRequest"
        if error is None and not delay and not spec.get("drop"):
            raise invalid_request("A fault must do something: give an error (and status), a delay, or drop: true")
        if error is not None and status is None:
            status = 500 if error == "InternalServerError" else 400
        fault = Fault(
            id=self._next_id,
            method=method,
            actor=spec.get("actor"),
            input=dict(spec.get("input") or {}),
            error=error,
            status=status,
            message=spec.get("message"),
            delay=float(delay),
            drop=bool(spec.get("drop", False)),
            times=spec.get("times"),
        )
        self._next_id += 1
        self.rules.append(fault)
        return fault

    def take(
        self, state: State, nsid: str, viewer: Actor | None, values: Json, forced: str | None = None
    ) -> Fault | None:
        """The first rule a call hits, counted, or None; a used-up rule stays listed (``times`` 0)
        but hits nothing. ``forced`` (from a replay): the id of the rule to take, or ``none``."""
        if forced is not None:
            chosen = [f for f in self.rules if str(f.id) == forced.strip() and f.times != 0]
            for fault in chosen:
                fault.hits += 1
                if fault.times is not None:
                    fault.times -= 1
                return fault
            return None
        for fault in self.rules:
            if fault.times != 0 and fault.matches(state, nsid, viewer, values):
                fault.hits += 1
                if fault.times is not None:
                    fault.times -= 1
                return fault
        return None

    def specs(self) -> list[Json]:
        """The rules still live, as specs that add them again, each with its ``id`` (a recording's
        start line holds them, so a replay can match later removals to them)."""
        specs = []
        for fault in self.rules:
            if fault.times != 0:
                spec = fault.to_json()
                del spec["hits"]
                specs.append(spec)
        return specs

    def remove(self, fault_id: int) -> bool:
        """Remove one rule; whether it existed."""
        before = len(self.rules)
        self.rules = [f for f in self.rules if f.id != fault_id]
        return len(self.rules) != before

    def clear(self) -> None:
        """Remove every rule."""
        self.rules = []
