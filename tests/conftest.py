"""Shared fixtures: one strict server per session, emptied before every test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aiohttp
import pytest

from mockserver import MockChatServer
from mockserver.xrpc import METHODS, Call, Method

Json = dict[str, Any]


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


@pytest.fixture
def make_actor(server: MockChatServer) -> Callable[..., Json]:
    """Create an actor through the admin API (sync, over HTTP); returns the admin answer."""
    import httpx

    def make(**spec: Any) -> Json:
        response = httpx.post(f"{server.url}/_mock/actors", json=spec)
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
