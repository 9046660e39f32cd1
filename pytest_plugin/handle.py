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
from mockserver.state import Actor as StateActor
from scenarios import LoadedActor, LoadedScenario

Json = dict[str, Any]


PROXY = {"atproto-proxy": "did:web:api.bsky.chat#bsky_chat"}


@dataclass
class Actor:
    """An account made for a test, logged in already."""

    did: str
    handle: str
    password: str
    access_jwt: str
    refresh_jwt: str
    fixed_headers: dict[str, str] = field(default_factory=dict)
    """The headers of the token made with the account: they expire (two hours on the mock's
    clock), for a test that wants to see ``ExpiredToken``."""
    _mock: ChatMock | None = field(default=None, repr=False, compare=False)

    @property
    def headers(self) -> dict[str, str]:
        """``Authorization`` (and the chat ``atproto-proxy``) headers, ready for an HTTP client.
        They keep working across clock moves: a fresh access token is made when the mock's
        clock says the last one is due, as an app's client would refresh it."""
        if self._mock is None:
            return self.fixed_headers
        mock = self._mock

        def fresh(service: Service) -> str:
            actor = service.state.actors.get(self.did)
            if actor is None:
                raise ValueError(f"no account {self.did!r} any more (the state was reset)")
            return service.tokens.access_token(actor)

        now, epoch = mock.server.call(lambda s: (s.clock.timestamp(), s.tokens.epoch))
        if _stale(self.access_jwt, now, epoch):
            self.access_jwt = mock.server.call(fresh)
        return {"Authorization": f"Bearer {self.access_jwt}", **PROXY}


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
        self._scenario: LoadedScenario | None = None
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

    def clear(self, scenario: str | None = None) -> None:
        """Empty the state, faults and clock offset, then load ``scenario`` if one is named (in one
        step on the server's loop); the journal starts again for this test."""
        from scenarios import find, load

        source = find(scenario) if scenario is not None else None

        def clear(service: Service) -> tuple[int, LoadedScenario | None]:
            service.reset()
            service.clock.reset()
            return service.journal.last_seq, load(service, source) if source is not None else None

        self._journal_start, self._scenario = self.server.call(clear)
        self._passwords = {}
        if self._scenario is not None:
            self._passwords = {a.handle: a.password for a in self._scenario.actors.values()}

    @property
    def scenario(self) -> LoadedScenario:
        """What the test's scenario made (its actors, convo ids and link codes by key)."""
        if self._scenario is None:
            raise LookupError(
                "no scenario is loaded in this test: mark it @pytest.mark.chat_scenario(NAME), set "
                "chat_mock_scenario in the ini file, or call chat_mock.load_scenario(...)"
            )
        return self._scenario

    # -- set-up --------------------------------------------------------------------------
    def create_actor(self, handle: str | None = None, **traits: Any) -> Actor:
        """Create an account (admin fields in snake_case or camelCase) and log it in. ``follows``
        and ``blocks`` take accounts any way :meth:`resolve_in` does (Actors, scenario actors,
        handles, DIDs)."""
        spec = {_camel(k): v for k, v in traits.items()}
        for part in ("follows", "blocks"):
            if isinstance(spec.get(part), (list, tuple)):
                spec[part] = [a.did if isinstance(a, (Actor, LoadedActor)) else a for a in spec[part]]
        if handle is not None:
            spec["handle"] = handle

        def create(service: Service) -> Actor:
            made, tokens = control.create_actor(service, spec)
            headers = {"Authorization": f"Bearer {tokens.access_jwt}", **PROXY}
            return Actor(made.did, made.handle, made.password, tokens.access_jwt, tokens.refresh_jwt, headers, self)

        try:
            actor = self.server.call(create)
        except XrpcError as e:
            raise ValueError(e.message) from None
        self._passwords[actor.handle] = actor.password
        return actor

    def load_scenario(self, name_or_path: str | Path | dict[str, Any] | Any) -> LoadedScenario:
        """Load a scenario (name, path, dict or ScenarioBuilder); also kept at ``.scenario``."""
        self._scenario = self.server.load_scenario(name_or_path)
        for actor in self._scenario.actors.values():
            self._passwords[actor.handle] = actor.password
        return self._scenario

    def actor_password(self, handle: str) -> str | None:
        """The password of an account this test made or loaded."""
        return self._passwords.get(handle)

    def resolve_in(self, service: Service, account: Any) -> StateActor:
        """The server's account for any way a test names one: an :class:`Actor`, a scenario's
        actor, a handle (``.test`` may be left out, as ``create_actor`` allows) or a DID.
        ``ValueError`` names what was given when there is no such account."""
        if isinstance(account, (Actor, LoadedActor)):
            key = account.did
        elif isinstance(account, str):
            key = account
        else:
            raise TypeError(
                f"an account is an Actor, a scenario actor, a handle or a DID, not {type(account).__name__}"
            )
        found = service.state.find_actor(key)
        if found is None and not key.startswith("did:") and "." not in key:
            found = service.state.find_actor(f"{key}.test")
        if found is None:
            raise ValueError(f"no account {key!r}: create it first (chat_mock.create_actor) or load a scenario")
        return found

    def account(self, account: Any) -> tuple[str, str]:
        """(DID, handle) of an account named any way :meth:`resolve_in` takes."""
        return self.server.call(lambda s: _did_handle(self.resolve_in(s, account)))

    # -- reading -------------------------------------------------------------------------
    @property
    def journal(self) -> list[Json]:
        """The XRPC calls this test made, oldest first (passwords and tokens redacted)."""
        start = self._journal_start
        return self.server.call(lambda s: s.journal.since(start))

    def group(self, convo_id: str) -> Json:
        """A convo as the admin API shows it (members, link, requests, lock...)."""
        from mockserver.admin import convo_json

        return self.server.call(lambda s: convo_json(_convo(s, convo_id)))

    def members(self, convo_id: str) -> list[Member]:
        """A convo's members in join order."""
        return self.server.call(
            lambda s: [Member(m.did, m.role, m.status, m.added_by) for m in _convo(s, convo_id).members.values()]
        )

    def requests(self, convo_id: str) -> list[str]:
        """DIDs with a pending join request, oldest first."""
        return self.server.call(lambda s: [r.did for r in _convo(s, convo_id).requests.values()])

    def lock(self, convo_id: str) -> str:
        """A group's lock status as clients see it (``unlocked``, ``locked``, ``locked-permanently``)."""
        return str(self.server.call(lambda s: _convo(s, convo_id).effective_lock_status))

    def messages(self, convo_id: str) -> list[Message]:
        """A convo's history, oldest first: user messages (``text``) and system messages (``system``)."""

        def read(service: Service) -> list[Message]:
            out: list[Message] = []
            for m in _convo(service, convo_id).messages:
                if m.system is not None:
                    out.append(Message(m.id, None, None, m.system["$type"].split("#")[1]))
                else:
                    out.append(Message(m.id, m.sender, m.text, None))
            return out

        return self.server.call(read)


@dataclass(frozen=True)
class Member:
    """A member of a convo, as :meth:`ChatMock.members` lists it."""

    did: str
    role: str
    """``owner`` or ``standard``."""
    status: str
    """``request`` or ``accepted``."""
    added_by: str | None


@dataclass(frozen=True)
class Message:
    """A message of a convo, as :meth:`ChatMock.messages` lists it: a user message has a
    ``sender`` and a ``text``; a system message has neither, and ``system`` names its kind
    (such as ``systemMessageDataAddMember``)."""

    id: str
    sender: str | None
    text: str | None
    system: str | None

    @property
    def is_system(self) -> bool:
        """Whether this is a system message."""
        return self.system is not None


def _convo(service: Service, convo_id: str) -> Any:
    """The convo with this id; ``KeyError`` (``no convo 'ID'``) for every helper alike."""
    convo = service.state.convos.get(convo_id)
    if convo is None:
        raise KeyError(f"no convo {convo_id!r}")
    return convo


def _stale(token: str, now: float, epoch: int) -> bool:
    """Whether a JWT's ``exp`` is less than a minute away on the mock's clock, or it was issued
    before the state was last replaced (read, not verified)."""
    import base64
    import json

    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return bool(claims["exp"] - 60 <= now or claims.get("epoch") != epoch)
    except (IndexError, ValueError, KeyError, TypeError):
        return True


def _did_handle(actor: StateActor) -> tuple[str, str]:
    return actor.did, actor.handle


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
