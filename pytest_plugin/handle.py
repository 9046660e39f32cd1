"""What a test gets from the ``chat_mock`` fixture: the server's address, helpers, and read-only state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mockserver import MockChatServer, control
from mockserver.errors import XrpcError
from mockserver.faults import Fault
from mockserver.service import Service
from scenarios import LoadedScenario

Json = dict[str, Any]


@dataclass
class Actor:
    """An account made for a test, logged in already."""

    did: str
    handle: str
    password: str
    access_jwt: str
    refresh_jwt: str
    headers: dict[str, str] = field(default_factory=dict)
    """``Authorization`` (and the chat ``atproto-proxy``) headers, ready for an HTTP client."""


class Clock:
    """The server's clock, for tests that do not use freezegun."""

    def __init__(self, server: MockChatServer) -> None:
        self._server = server

    def now(self) -> datetime:
        """The server's current time."""
        return self._server.call(lambda s: s.clock.now())

    def advance(self, seconds: float) -> datetime:
        """Move the server's time forward (negative: back)."""
        return self._server.call(lambda s: s.clock.advance(seconds))

    def set(self, when: datetime) -> datetime:
        """Make the server's time read ``when`` (it keeps ticking from there)."""
        return self._server.call(lambda s: s.clock.set(when))

    def pin(self, when: datetime) -> datetime:
        """Stop the server's time at ``when`` (advance and set still move it)."""
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        self._server.call(lambda s: s.clock.pin(when))
        return when

    def unpin(self) -> datetime:
        """Let a stopped clock run again from where it stands."""
        return self._server.call(lambda s: s.clock.unpin())

    def reset(self) -> None:
        """Back to real (or frozen) time, running."""
        self._server.call(lambda s: s.clock.reset())


class Faults:
    """Fault rules (see docs/scenarios.md): ``chat_mock.faults.add(method=..., error=..., times=1)``."""

    def __init__(self, server: MockChatServer) -> None:
        self._server = server

    def add(self, method: str, **rule: Any) -> Json:
        """Add a rule; returns it as the admin API shows it."""

        def add(service: Service) -> Fault:
            return control.add_fault(service, {"method": method, **rule})

        try:
            return self._server.call(add).to_json()
        except XrpcError as e:
            raise ValueError(e.message) from None

    def list(self) -> list[Json]:
        """The active rules."""
        return self._server.call(lambda s: [f.to_json() for f in s.faults.rules])

    def clear(self) -> None:
        """Remove every rule."""
        self._server.call(control.clear_faults)


class ChatMock:
    """The session's mock server, as one test sees it."""

    def __init__(self, server: MockChatServer, url: str | None = None) -> None:
        self.server = server
        self._url = url
        self.clock = Clock(server)
        self.faults = Faults(server)
        self.scenario: LoadedScenario | None = None
        self._journal_start = 0
        self._passwords: dict[str, str] = {}

    @property
    def url(self) -> str:
        """Base URL of the mock (XRPC is under ``/xrpc``)."""
        return self._url or self.server.url

    @property
    def port(self) -> int:
        """Port of the mock."""
        return int(self.url.rsplit(":", 1)[1].split("/")[0])

    def clear(self) -> None:
        """Empty the state, faults and clock offset; the journal starts again for this test."""

        def clear(service: Service) -> int:
            service.reset()
            service.clock.reset()
            return service.journal.last_seq

        self._journal_start = self.server.call(clear)
        self.scenario = None
        self._passwords = {}

    # -- set-up --------------------------------------------------------------------------
    def create_actor(self, handle: str | None = None, **traits: Any) -> Actor:
        """Create an account (admin fields in snake_case or camelCase) and log it in."""
        spec = {_camel(k): v for k, v in traits.items()}
        if handle is not None:
            spec["handle"] = handle

        def create(service: Service) -> Actor:
            made, tokens = control.create_actor(service, spec)
            headers = {
                "Authorization": f"Bearer {tokens.access_jwt}",
                "atproto-proxy": "did:web:api.bsky.chat#bsky_chat",
            }
            return Actor(made.did, made.handle, made.password, tokens.access_jwt, tokens.refresh_jwt, headers)

        try:
            actor = self.server.call(create)
        except XrpcError as e:
            raise ValueError(e.message) from None
        self._passwords[actor.handle] = actor.password
        return actor

    def load_scenario(self, name_or_path: str | Path | dict[str, Any] | Any) -> LoadedScenario:
        """Load a scenario (name, path, dict or ScenarioBuilder); also kept at ``.scenario``."""
        self.scenario = self.server.load_scenario(name_or_path)
        for actor in self.scenario.actors.values():
            self._passwords[actor.handle] = actor.password
        return self.scenario

    def actor_password(self, handle: str) -> str | None:
        """The password of an account this test made or loaded."""
        return self._passwords.get(handle)

    # -- reading -------------------------------------------------------------------------
    @property
    def journal(self) -> list[Json]:
        """The XRPC calls this test made, oldest first (passwords and tokens redacted)."""
        start = self._journal_start
        return self.server.call(lambda s: s.journal.since(start))

    def group(self, convo_id: str) -> Json:
        """A group as the admin API shows it (members, link, requests, lock...)."""
        from mockserver.admin import convo_json

        def read(service: Service) -> Json:
            convo = service.state.convos.get(convo_id)
            if convo is None:
                raise KeyError(f"no convo {convo_id!r}")
            return convo_json(convo)

        return self.server.call(read)

    def members(self, convo_id: str) -> list[Json]:
        """A group's members in join order: ``{did, role, status, addedBy}``."""
        members: list[Json] = self.group(convo_id)["members"]
        return members

    def requests(self, convo_id: str) -> list[str]:
        """DIDs with a pending join request, oldest first."""
        requests: list[str] = self.group(convo_id)["joinRequests"]
        return requests

    def lock(self, convo_id: str) -> str:
        """A group's lock status as clients see it (``unlocked``, ``locked``, ``locked-permanently``)."""
        return str(self.server.call(lambda s: s.state.convos[convo_id].effective_lock_status))

    def messages(self, convo_id: str) -> list[Json]:
        """A group's history, oldest first: ``{id, sender, text}`` or ``{id, system: <data $type>}``."""

        def read(service: Service) -> list[Json]:
            out: list[Json] = []
            for m in service.state.convos[convo_id].messages:
                if m.system is not None:
                    out.append({"id": m.id, "system": m.system["$type"].split("#")[1]})
                else:
                    out.append({"id": m.id, "sender": m.sender, "text": m.text})
            return out

        return self.server.call(read)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def format_journal(entries: list[Json], mock: ChatMock | None = None) -> str:
    """The journal as report lines: ``#seq method as actor -> status error: message``."""
    if not entries:
        return "(no XRPC calls)"
    handles: dict[str, str] = {}
    if mock is not None:
        handles = mock.server.call(lambda s: {a.did: a.handle for a in s.state.actors.values()})
    lines = []
    for e in entries:
        who = handles.get(e.get("actor") or "", e.get("actor") or "anonymous")
        line = f"#{e['seq']} {e['method']} as {who} -> {e['status']}"
        if e.get("error"):
            line += f" {e['error']}: {e.get('message', '')}"
        lines.append(line)
    return "\n".join(lines)
