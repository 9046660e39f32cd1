"""MockChatServer and create_app: threads, loops, clean stops, seeded determinism."""

from __future__ import annotations

import asyncio
import socket
import threading

import httpx
from aiohttp.test_utils import TestClient

from mockserver import MockChatServer, create_app
from mockserver.service import Config


def test_thread_start_stop_leaves_nothing_behind() -> None:
    threads_before = set(threading.enumerate())
    server = MockChatServer()
    server.start()
    port = server.port
    assert server.url == f"http://127.0.0.1:{port}"
    assert httpx.get(f"{server.url}/_mock/actors").json() == {"actors": []}
    server.stop()
    assert set(threading.enumerate()) <= threads_before
    assert not server.running
    # the port is free again
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
    try:
        httpx.get(f"http://127.0.0.1:{port}/_mock/actors", timeout=1)
        raise AssertionError("server still answering")
    except httpx.ConnectError:
        pass


def test_context_manager_and_fixed_port() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free = sock.getsockname()[1]
    with MockChatServer(port=free) as server:
        assert server.port == free
        assert httpx.post(f"{server.url}/_mock/actors", json={}).status_code == 201
    assert not server.running


def test_busy_port_fails_fast() -> None:
    with MockChatServer() as first:
        busy = MockChatServer(port=first.port)
        try:
            busy.start()
            raise AssertionError("started on a busy port")
        except OSError:
            pass
        assert not busy.running


async def test_start_async_in_a_running_loop() -> None:
    server = MockChatServer()
    async with server:
        assert server.running
        loop = asyncio.get_running_loop()
        answer = await loop.run_in_executor(None, lambda: httpx.post(f"{server.url}/_mock/actors", json={}))
        assert answer.status_code == 201
    assert not server.running


async def test_create_app_embeds_in_aiohttp(aiohttp_client: object) -> None:
    client: TestClient = await aiohttp_client(create_app(seed=3))  # type: ignore[operator]
    response = await client.post("/_mock/actors", json={"handle": "alice.test"})
    assert response.status == 201
    response = await client.get("/xrpc/com.example.unknown")
    assert response.status == 501


def test_same_seed_gives_the_same_ids() -> None:
    def run(seed: int, deterministic: bool = False) -> list[tuple[str, str, str]]:
        with MockChatServer(config=Config(seed=seed, deterministic_tokens=deterministic)) as server:
            made = [httpx.post(f"{server.url}/_mock/actors", json={}).json() for _ in range(3)]
            server.reset()
            again = httpx.post(f"{server.url}/_mock/actors", json={}).json()
            assert again["did"] == made[0]["did"]  # reset restarts the sequence
            return [(m["did"], m["handle"], m["password"]) for m in made]

    first, second = run(7), run(7)
    assert [m[:2] for m in first] == [m[:2] for m in second]  # ids and handles: the seed's
    assert all(a[2] != b[2] for a, b in zip(first, second, strict=True))  # made-up passwords: the run's
    assert run(7, deterministic=True) == run(7, deterministic=True)  # unless asked for
    assert [m[:2] for m in run(7)] != [m[:2] for m in run(8)]
