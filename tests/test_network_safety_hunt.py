"""An outside hunt of ``serve --host`` off loopback (each test a problem found; see
test_network_safety.py). A caller on a network is this machine's own non-loopback address: no
traffic leaves the machine."""

from __future__ import annotations

import inspect
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from mockserver import MockChatServer, app, xrpc
from mockserver.service import Config
from tests.test_network_safety import local_address


@pytest.fixture
def address() -> str:
    return local_address()


def _serve(*args: str) -> tuple[subprocess.Popen[str], list[str]]:
    """``serve`` in a subprocess and the lines it printed before serving (all of them if it stopped)."""
    command = [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--empty", *args]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline().strip()
    return proc, [first] if first else []


def _stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    return proc.communicate(timeout=10)


def test_an_empty_admin_token_off_loopback_does_not_open_the_admin_api(address: str) -> None:
    """``--admin-token ""`` (e.g. ``--admin-token "$TOKEN"`` with TOKEN unset) off loopback: no
    token is made up (one was given), and the empty one guards nothing (``bool(token)`` is False in
    _check_admin_token) while ``shows_passwords`` sees a token and hands passwords to the network."""
    proc, lines = _serve("--host", address, "--admin-token", "")
    try:
        if not lines:  # refusing to start is a fine answer
            assert proc.wait(timeout=10) != 0
            return
        url = lines[0].rsplit(" ", 1)[1]
        actors = httpx.get(f"{url}/_mock/actors")
        assert actors.status_code == 401, actors.text[:200]
        assert httpx.post(f"{url}/_mock/reset").status_code == 401
    finally:
        _stop(proc)


def test_a_known_seed_gives_no_way_in_through_the_passwords_the_mock_makes_up(address: str) -> None:
    """The token secret is random per run now, but a password the mock makes up (an actor made
    without one) still comes from the seeded generator: knowing the seed, anyone on the network
    computes it on their own machine and logs in with createSession."""
    with MockChatServer(config=Config(seed=5)) as elsewhere:  # the attacker's own copy, same seed
        guessed = httpx.post(f"{elsewhere.url}/_mock/actors", json={"handle": "victim"}).json()["password"]
    proc, lines = _serve("--host", address, "--seed", "5")
    try:
        assert proc.stdout is not None
        url = lines[0].rsplit(" ", 1)[1]
        token = proc.stdout.readline().strip().rsplit(" ", 1)[1]
        admin = {"Authorization": f"Bearer {token}"}
        assert httpx.post(f"{url}/_mock/actors", headers=admin, json={"handle": "victim"}).status_code == 201
        login = {"identifier": "victim.test", "password": guessed}
        assert httpx.post(f"{url}/xrpc/com.atproto.server.createSession", json=login).status_code == 401
    finally:
        _stop(proc)


def test_the_loaded_scenario_keeps_passwords_from_callers_on_a_network(address: str, tmp_path: Path) -> None:
    """GET /_mock/scenario (and the reply of POST /_mock/scenarios/load) lists every scenario
    actor with its password: not redacted for a network caller when there is no admin token, as
    /_mock/actors, /_mock/state and /_mock/snapshot are."""
    scenario = tmp_path / "secret.yaml"
    scenario.write_text("actors:\n  zoe:\n    password: Zs3cret\n")
    with MockChatServer(host="0.0.0.0") as srv:
        here = f"http://127.0.0.1:{srv.port}"
        there = f"http://{address}:{srv.port}"
        inline = {"scenario": {"actors": {"ann": {"password": "As3cret"}}}}
        assert httpx.post(f"{here}/_mock/scenarios/load", json=inline).status_code == 200
        assert "As3cret" in httpx.get(f"{here}/_mock/scenario").text  # on this machine: as before
        assert "As3cret" not in httpx.get(f"{there}/_mock/scenario").text
        loaded = httpx.post(f"{there}/_mock/scenarios/load", json={"name": str(scenario)})
        assert loaded.status_code == 200
        assert "Zs3cret" not in loaded.text


def test_the_admin_token_is_compared_in_constant_time() -> None:
    """Both places that check the admin token compared it with ``!=`` / ``==`` (a timing side
    channel for a caller on a network); now both use one check built on hmac.compare_digest."""
    from mockserver import exposure

    assert "compare_digest" in inspect.getsource(exposure.holds_admin_token)
    assert "holds_admin_token" in inspect.getsource(app._check_admin_token)  # one check, used by both
    assert "holds_admin_token" in inspect.getsource(xrpc.moderator)


def test_off_loopback_on_every_address_the_printed_state_page_url_can_be_opened_elsewhere() -> None:
    """``--host 0.0.0.0`` (the README's own example) prints
    ``state page: http://0.0.0.0:PORT/_mock/?token=...``: not an address a phone or a second
    laptop can open. The URL it prints should name an address of this machine."""
    proc, _ = _serve("--host", "0.0.0.0")
    try:
        assert proc.stdout is not None
        proc.stdout.readline()  # the admin token line
        page = proc.stdout.readline().strip().split(": ", 1)[1]
        assert "?token=" in page
        assert urlsplit(page).hostname not in ("0.0.0.0", "::", "", None), page
    finally:
        _stop(proc)
