"""Clients that send a body slowly or hang up mid-request do not stall anyone else."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from mockserver import MockChatServer

SESSION = "/xrpc/com.atproto.server.createSession"


async def _raw(server: MockChatServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", server.port)


async def _quick_calls(server: MockChatServer, n: int) -> float:
    """Seconds for ``n`` ordinary calls, one after the other."""
    started = time.monotonic()
    async with aiohttp.ClientSession() as http:
        for _ in range(n):
            async with http.get(f"{server.url}/xrpc/app.bsky.actor.getProfile?actor=nobody.test") as r:
                assert r.status == 400
    return time.monotonic() - started


async def test_slow_bodies_and_hang_ups_do_not_stall_others(server: MockChatServer) -> None:
    slow: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    for _ in range(20):
        reader, writer = await _raw(server)
        writer.write(
            f"POST {SESSION} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n".encode()
            + b"Content-Length: 1000\r\n\r\n"
            + b'{"identifier": "'
        )
        await writer.drain()
        slow.append((reader, writer))
    for _ in range(20):  # hang up in the middle of a body
        reader, writer = await _raw(server)
        writer.write(f"POST {SESSION} HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{{".encode())
        await writer.drain()
        writer.close()
    for _ in range(10):  # hang up in the middle of the headers
        reader, writer = await _raw(server)
        writer.write(b"GET /xrpc/chat.bsky.convo.listConvos HTTP/1.1\r\nHost:")
        await writer.drain()
        writer.close()
    # while 20 bodies trickle in, ordinary calls are answered at once
    elapsed = await asyncio.wait_for(_quick_calls(server, 50), timeout=20)
    assert elapsed < 10
    reader, writer = slow[0]  # finish one slow body: it is answered properly
    rest = b'alice.test", "password": "x"}'
    writer.write(rest + b" " * (1000 - len(b'{"identifier": "') - len(rest)))
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), timeout=10)
    assert status_line.startswith(b"HTTP/1.1 401")  # no such account: AuthenticationRequired
    for _, other in slow:
        other.close()
    assert await asyncio.wait_for(_quick_calls(server, 5), timeout=10) < 10
