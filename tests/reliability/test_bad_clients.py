"""Clients that send a body slowly or hang up mid-request do not stall anyone else, and are not
taken for server errors."""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp
import pytest

from mockserver import MockChatServer

SESSION = "/xrpc/com.atproto.server.createSession"
HEAD = f"POST {SESSION} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def _raw(server: MockChatServer) -> Conn:
    return await asyncio.open_connection("127.0.0.1", server.port)


async def _quick_calls(server: MockChatServer, n: int) -> float:
    """Seconds for ``n`` ordinary calls, one after the other (each must be answered)."""
    started = time.monotonic()
    async with aiohttp.ClientSession() as http:
        for _ in range(n):
            async with http.get(f"{server.url}/xrpc/app.bsky.actor.getProfile?actor=nobody.test") as r:
                assert r.status == 400
    return time.monotonic() - started


async def _still_serving(server: MockChatServer, n: int = 10) -> None:
    assert await asyncio.wait_for(_quick_calls(server, n), timeout=10) < 5


async def _trickling(server: MockChatServer) -> Conn:
    """A body of 1,000 bytes announced, 16 sent."""
    reader, writer = await _raw(server)
    writer.write(HEAD.encode() + b"Content-Length: 1000\r\n\r\n" + b'{"identifier": "')
    await writer.drain()
    return reader, writer


def _calls(server: MockChatServer, after: int) -> list[dict[str, object]]:
    return server.call(lambda s: s.journal.since(after))


async def test_slow_bodies_and_hang_ups_do_not_stall_others(
    server: MockChatServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mockserver")
    start = server.call(lambda s: s.journal.last_seq)
    slow = [await _trickling(server) for _ in range(20)]
    await _still_serving(server)  # while 20 bodies trickle in, ordinary calls are answered at once

    for _ in range(20):  # hang up in the middle of a JSON body: the server is waiting on its read
        _, writer = await _trickling(server)
        writer.close()
    await _still_serving(server)

    for _ in range(10):  # hang up in the middle of the headers
        _, writer = await _raw(server)
        writer.write(b"GET /xrpc/chat.bsky.convo.listConvos HTTP/1.1\r\nHost:")
        await writer.drain()
        writer.close()
    await _still_serving(server)

    reader, writer = slow[0]  # finish one slow body: it is answered properly
    rest = b'alice.test", "password": "x"}'
    writer.write(rest + b" " * (1000 - len(b'{"identifier": "') - len(rest)))
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), timeout=10)
    assert status_line.startswith(b"HTTP/1.1 401")  # no such account: AuthenticationRequired
    for _, other in slow:
        other.close()
    await _still_serving(server, 5)

    # a hang-up is the client's doing: no 500 in the journal, no error logged, but a note that it happened
    await asyncio.sleep(0.2)  # let the server see the last hang-ups
    calls = _calls(server, start)
    assert [e for e in calls if int(str(e["status"])) >= 500] == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    gone = [r for r in caplog.records if "hung up" in r.getMessage()]
    assert len(gone) >= 20, f"{len(gone)} hang-ups noted"
    assert [e["status"] for e in calls if e["method"] == "com.atproto.server.createSession"] == [401]
