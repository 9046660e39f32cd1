"""Shared fixtures: one strict server per session, emptied before every test."""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp

# httpcore loaded now: httpx loads it on first use, and if that is inside a pytester run
# (test_plugin.py), its classes go with that run's modules while httpx's map of them stays, so a
# dropped connection later raised httpcore's error instead of httpx's (an order-dependent failure)
import httpcore  # noqa: F401
import httpx
import pytest
from atproto.exceptions import BadRequestError

from mockserver import MockChatServer
from mockserver.xrpc import METHODS, Call, Method

Json = dict[str, Any]
pytest_plugins = ["pytester"]


@pytest.fixture(scope="session")
def server() -> Iterator[MockChatServer]:
    """The project's own server: strict (every response checked against its lexicon)."""
    with MockChatServer(strict=True) as srv:
        yield srv


@pytest.fixture(autouse=True)
def _clean(server: MockChatServer) -> Iterator[None]:
    server.reset()
    server.service.clock.reset()
    yield


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A raw aiohttp client session."""
    async with aiohttp.ClientSession() as session:
        yield session


SSL = ssl.create_default_context()
"""One SSL context for every test client: httpx builds one per client otherwise, which is slow."""


@pytest.fixture(scope="session")
def admin_http(server: MockChatServer) -> Iterator[httpx.Client]:
    """An httpx client on the server's base URL, for admin calls."""
    with httpx.Client(base_url=server.url, verify=SSL, timeout=10) as client:
        yield client


@pytest.fixture
def make_actor(admin_http: httpx.Client) -> Callable[..., Json]:
    """Create an actor through the admin API (sync, over HTTP); returns the admin answer."""

    def make(**spec: Any) -> Json:
        response = admin_http.post("/_mock/actors", json=spec)
        assert response.status_code == 201, response.text
        data: Json = response.json()
        return data

    return make


@pytest.fixture
def register() -> Iterator[Callable[..., list[Call]]]:
    """Temporarily register a handler for a lexicon method; returns the calls it received."""
    saved: dict[str, Method | None] = {}

    def add(nsid: str, output: Json | None, auth: Any = "none") -> list[Call]:
        calls: list[Call] = []

        def fn(call: Call) -> Json | None:
            calls.append(call)
            return output

        saved.setdefault(nsid, METHODS.get(nsid))
        METHODS[nsid] = Method(nsid, fn, auth)
        return calls

    yield add
    for nsid, previous in saved.items():
        if previous is None:
            METHODS.pop(nsid, None)
        else:
            METHODS[nsid] = previous


class Api:
    """Plain-HTTP XRPC calls (httpx) as one actor: ``api.get(nsid, **params)``, ``api.post(nsid, body)``."""

    def __init__(self, server: MockChatServer, actor: Json | None) -> None:
        self.actor = actor or {}
        self.did: str = self.actor.get("did", "")
        self.handle: str = self.actor.get("handle", "")
        headers = {"Authorization": f"Bearer {self.actor['accessJwt']}"} if actor else {}
        headers["atproto-proxy"] = "did:web:api.bsky.chat#bsky_chat"
        self._http = httpx.Client(base_url=f"{server.url}/xrpc/", headers=headers, timeout=10, verify=SSL)

    def get(self, nsid: str, **params: Any) -> tuple[int, Json]:
        """A query; returns (status, JSON body)."""
        response = self._http.get(nsid, params=params)
        return response.status_code, response.json() if response.content else {}

    def post(self, nsid: str, body: Json | None = None) -> tuple[int, Json]:
        """A procedure; returns (status, JSON body)."""
        response = self._http.post(nsid, json=body if body is not None else {})
        return response.status_code, response.json() if response.content else {}

    def ok(self, nsid: str, body: Json | None = None, **params: Any) -> Json:
        """Call (POST when ``body`` is given, else GET) and insist on a 200."""
        status, out = self.post(nsid, body) if body is not None else self.get(nsid, **params)
        assert status == 200, (nsid, status, out)
        return out

    def error(self, nsid: str, body: Json | None = None, **params: Any) -> tuple[str, str]:
        """Call and insist on a 4xx XRPC error; returns (error name, message)."""
        status, out = self.post(nsid, body) if body is not None else self.get(nsid, **params)
        assert 400 <= status < 500, (nsid, status, out)
        assert set(out) == {"error", "message"}, out
        return out["error"], out["message"]


@pytest.fixture
def api(server: MockChatServer, make_actor: Callable[..., Json]) -> Callable[..., Api]:
    """Create an actor (admin API fields as keyword arguments) and return an :class:`Api` for it.

    ``api("alice")`` makes ``alice.test`` with password ``pw``; ``api(None)`` is an anonymous caller.
    """

    def make(handle: str | None, **spec: Any) -> Api:
        if handle is None:
            return Api(server, None)
        actor = make_actor(handle=handle, password=spec.pop("password", "pw"), **spec)
        return Api(server, actor)

    return make


@pytest.fixture
def sdk(server: MockChatServer) -> Callable[[str], Any]:
    """Log an existing actor in with the atproto SDK (password ``pw``); returns the chat-proxied client."""
    from atproto import Client

    def login(handle: str, password: str = "pw") -> Any:
        client = Client(base_url=server.url)
        client.login(handle, password)
        return client.with_bsky_chat_proxy()

    return login


def dump(server: MockChatServer) -> Json:
    """Everything the admin API shows, to compare before and after a refused call."""
    with httpx.Client(base_url=server.url, verify=SSL) as client:
        actors = client.get("/_mock/actors").json()
        convos = client.get("/_mock/convos").json()
    return {"actors": actors, "convos": convos}


@contextmanager
def unchanged(server: MockChatServer) -> Iterator[None]:
    """Assert that the block changes nothing: the admin view and the whole state dump (log events,
    per-member deletions, preferences) are the same after it. The id generator's position is left
    out: a refused call promises no write, not no draw."""

    def now() -> tuple[Json, Json]:
        full = server.dump()
        full.pop("ids", None)
        return dump(server), full

    before = now()
    yield
    assert now() == before, "a refused call changed the state"


def sdk_error(call: Callable[[], Any]) -> tuple[str, str]:
    """Run an atproto SDK call that must fail with a 400; (error name, message)."""
    with pytest.raises(BadRequestError) as info:
        call()
    response = info.value.response
    assert response is not None
    return response.content.error, response.content.message


def patch(admin_http: httpx.Client, who: Api, **fields: Any) -> None:
    """Change an actor through the admin API."""
    response = admin_http.patch(f"/_mock/actors/{who.did}", json=fields)
    assert response.status_code == 200, response.text


def comparable(state: Json) -> Json:
    """A dump with what a replay cannot carry over (passwords, the clock's offset) taken out."""
    out: Json = json.loads(json.dumps(state))
    for actor in out["actors"]:
        actor["password"] = "-"
    out.pop("clockOffset")
    return out
