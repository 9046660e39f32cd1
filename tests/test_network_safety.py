"""Safe when reachable from a network (``serve --host`` off loopback), and as easy as ever on
127.0.0.1. A caller on a network is this machine's own non-loopback address (its peer address is
not a loopback one): no traffic leaves the machine."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from mockserver import MockChatServer
from mockserver.service import Config


def local_address() -> str:
    """An IPv4 address of this machine that is not a loopback one."""
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"], capture_output=True, text=True)
    found = re.search(r"inet (\d+\.\d+\.\d+\.\d+)/", out.stdout)
    if found is None:
        message = "this machine has no non-loopback IPv4 address to call from"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found.group(1)


class Serving:
    """``bsky-chat-mock serve`` in a subprocess: its stdout lines, its URL, and its stderr at the end."""

    def __init__(self, *args: str) -> None:
        command = [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--empty", *args]
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip().rsplit(" ", 1)[1]

    def line(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def stop(self) -> tuple[str, str]:
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=10)
        return out, err


@pytest.fixture
def address() -> str:
    return local_address()


def test_off_loopback_an_admin_token_is_made_printed_once_and_required(address: str) -> None:
    mock = Serving("--host", address)
    try:
        assert mock.url.startswith(f"http://{address}:")
        token = mock.line().rsplit(" ", 1)[1]
        page = mock.line()
        assert len(token) >= 30 and page == f"state page: {mock.url}/_mock/?token={token}"
        refused = httpx.get(f"{mock.url}/_mock/actors")
        assert (refused.status_code, refused.json()["error"]) == (401, "AuthenticationRequired")
        assert httpx.post(f"{mock.url}/_mock/reset").status_code == 401
        allowed = httpx.get(f"{mock.url}/_mock/actors", headers={"Authorization": f"Bearer {token}"})
        assert allowed.status_code == 200
        html = httpx.get(page.split(": ", 1)[1])
        assert html.status_code == 200 and 'URLSearchParams(location.search).get("token")' in html.text
    finally:
        out, err = mock.stop()
    assert token not in err and token not in out  # printed once, on the lines read above, and in no log
    assert "allow one with --cors-origin" in err


def test_off_loopback_a_given_token_or_no_admin_api_is_kept(address: str) -> None:
    mock = Serving("--host", address, "--admin-token", "chosen")
    try:
        assert httpx.get(f"{mock.url}/_mock/actors", headers={"Authorization": "Bearer chosen"}).status_code == 200
    finally:
        out, _ = mock.stop()
    assert "admin token" not in out
    mock = Serving("--host", address, "--no-admin")
    try:
        assert httpx.get(f"{mock.url}/_mock/actors").status_code == 404
    finally:
        out, _ = mock.stop()
    assert "admin token" not in out


def test_on_loopback_nothing_changes() -> None:
    mock = Serving()
    try:
        assert httpx.get(f"{mock.url}/_mock/actors").status_code == 200  # no token
        made = httpx.post(f"{mock.url}/_mock/actors", json={"handle": "me", "password": "pw"}).json()
        assert made["password"] == "pw"
        assert httpx.get(f"{mock.url}/_mock/actors/me.test").json()["password"] == "pw"
        preflight = httpx.options(
            f"{mock.url}/xrpc/chat.bsky.convo.listConvos",
            headers={"Origin": "http://anything.test", "Access-Control-Request-Method": "GET"},
        )
        assert preflight.status_code == 204 and preflight.headers["Access-Control-Allow-Origin"] == "*"
    finally:
        out, err = mock.stop()
    assert "admin token" not in out and "--cors-origin" not in err


def test_off_loopback_cors_is_the_origins_given_or_none(address: str) -> None:
    def preflight(url: str, origin: str) -> httpx.Response:
        headers = {"Origin": origin, "Access-Control-Request-Method": "GET"}
        return httpx.options(f"{url}/xrpc/chat.bsky.convo.listConvos", headers=headers)

    mock = Serving("--host", address)
    try:
        mock.line(), mock.line()
        assert preflight(mock.url, "http://elsewhere.test").status_code == 403
        plain = httpx.get(f"{mock.url}/xrpc/chat.bsky.convo.listConvos", headers={"Origin": "http://elsewhere.test"})
        assert "Access-Control-Allow-Origin" not in plain.headers
    finally:
        mock.stop()
    mock = Serving("--host", address, "--cors-origin", "http://phone.test:8081")
    try:
        allowed = preflight(mock.url, "http://phone.test:8081")
        assert allowed.status_code == 204 and allowed.headers["Access-Control-Allow-Origin"] == "http://phone.test:8081"
        assert preflight(mock.url, "http://elsewhere.test").status_code == 403
    finally:
        mock.stop()


@pytest.fixture
def everywhere() -> Iterator[MockChatServer]:
    """Bound to every address, with no admin token (as a program may start it): loopback callers
    and network callers reach the same server."""
    with MockChatServer(host="0.0.0.0") as srv:
        yield srv


def test_passwords_are_kept_from_callers_on_a_network(everywhere: MockChatServer, address: str) -> None:
    here = f"http://127.0.0.1:{everywhere.port}"
    there = f"http://{address}:{everywhere.port}"
    made = httpx.post(f"{there}/_mock/actors", json={"handle": "alice", "password": "s3cret"})
    assert made.status_code == 201 and made.json()["password"] == "***"
    for path in ("/_mock/actors", "/_mock/actors/alice.test", "/_mock/state", "/_mock/snapshot"):
        far, near = httpx.get(there + path), httpx.get(here + path)
        assert "s3cret" not in far.text and "***" in far.text, path
        assert "s3cret" in near.text, path
    patched = httpx.patch(f"{there}/_mock/actors/alice.test", json={"displayName": "A"})
    assert patched.json()["password"] == "***"
    login = {"identifier": "alice.test", "password": "s3cret"}  # the password itself is unchanged
    assert httpx.post(f"{here}/xrpc/com.atproto.server.createSession", json=login).status_code == 200


def test_the_token_secret_is_random_unless_asked_for() -> None:
    def works_on_a_second_run(**config: object) -> bool:
        """A token from one run, used on another run of the same seed (the same account there)."""
        runs = [MockChatServer(config=Config(seed=5, **config)).start() for _ in range(2)]  # type: ignore[arg-type]
        try:
            made = [httpx.post(f"{srv.url}/_mock/actors", json={"handle": "same"}).json() for srv in runs]
            assert made[0]["did"] == made[1]["did"]  # the seed's: ids and handles
            headers = {"Authorization": f"Bearer {made[0]['accessJwt']}"}
            return httpx.get(f"{runs[1].url}/xrpc/com.atproto.server.getSession", headers=headers).status_code == 200
        finally:
            for srv in runs:
                srv.stop()

    assert not works_on_a_second_run()  # the same seed, the same account: not the same keys
    assert works_on_a_second_run(deterministic_tokens=True)
    refused = subprocess.run(
        [sys.executable, "-m", "mockserver", "serve", "--deterministic-tokens"], capture_output=True, text=True
    )
    assert refused.returncode == 2 and "give --seed too" in refused.stderr
