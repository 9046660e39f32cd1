"""Building a scenario in Python: the same content as a scenario file, made by method calls.

s = ScenarioBuilder("a locked group", clock="2026-04-01T12:00:00Z")
s.actor("alice", display_name="Alice").actor("bob")
s.group("club", owner="alice", name="Club", members=["bob"], lock="locked", link={"code": "club"})
s.message("club", "bob", "hi", ago="5m")
loaded = server.load_scenario(s)      # or s.to_dict() for a file
"""

from __future__ import annotations

import re
from typing import Any

from .model import ScenarioSource, check

Json = dict[str, Any]


def _camel(name: str) -> str:
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)


def _fields(values: dict[str, Any]) -> Json:
    return {_camel(k): v for k, v in values.items() if v is not None}


class ScenarioBuilder:
    """Collects actors, groups, messages and faults; ``to_dict()`` gives the scenario file's content.

    Keyword arguments take the file's field names in either spelling (``display_name`` or
    ``displayName``).
    """

    def __init__(
        self,
        description: str = "",
        *,
        name: str = "built",
        seed: int | None = None,
        clock: str | None = None,
        member_limit: int | None = None,
    ) -> None:
        self.name = name
        self._spec: Json = _fields({"description": description or None, "seed": seed, "clock": clock})
        if member_limit is not None:
            self._spec["memberLimit"] = member_limit
        self._spec["actors"] = {}
        self._spec["groups"] = {}

    def actor(self, key: str, **fields: Any) -> ScenarioBuilder:
        """An account (handle defaults to ``KEY.test``, password to ``password``)."""
        self._spec["actors"][key] = _fields(fields)
        return self

    def group(
        self, key: str, *, owner: str, name: str, members: list[Any] | None = None, **fields: Any
    ) -> ScenarioBuilder:
        """A group convo owned by ``owner`` with the given members (keys, or dicts with status/addedBy)."""
        group = {"owner": owner, "name": name, "members": list(members or []), **_fields(fields)}
        self._spec["groups"][key] = group
        return self

    def message(
        self,
        group: str,
        sender: str,
        text: str,
        *,
        ago: str | None = None,
        reactions: dict[str, list[str]] | None = None,
    ) -> ScenarioBuilder:
        """A message in a group's history, ``ago`` before the scenario's clock."""
        message = _fields({"from": sender, "text": text, "ago": ago, "reactions": reactions})
        self._spec["groups"][group].setdefault("messages", []).append(message)
        return self

    def fault(self, method: str, **fields: Any) -> ScenarioBuilder:
        """A fault rule active once the scenario is loaded."""
        self._spec.setdefault("faults", []).append({"method": method, **_fields(fields)})
        return self

    def to_dict(self) -> Json:
        """The scenario as a file would hold it (checked)."""
        spec = {k: v for k, v in self._spec.items() if v != {} or k in ("actors",)}
        check(spec, f"scenario {self.name!r} built in Python")
        return spec

    def source(self) -> ScenarioSource:
        """The checked scenario, ready for :func:`scenarios.loader.load`."""
        return ScenarioSource(self.name, f"scenario {self.name!r} built in Python", self.to_dict())
