"""The ``bsky-chat-mock`` command: help, the listening line, clean stops on signals."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import httpx
import pytest

from mockserver.cli import build_parser


def test_help_explains_every_flag() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mockserver", "serve", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for flag in ("--host", "--port", "--seed", "--member-limit", "--strict", "--log-level"):
        assert flag in out
    assert "listening on" in out


def test_bad_flag_is_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mockserver", "serve", "--member-limit", "0"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "--member-limit" in result.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serve_prints_listening_line_and_stops_on_signal(sig: signal.Signals) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--seed", "1", "--empty"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "0"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("bsky-chat-mock listening on http://127.0.0.1:"), line
        url = line.rsplit(" ", 1)[1]
        assert httpx.post(f"{url}/_mock/actors", json={"handle": "alice.test"}).status_code == 201
        proc.send_signal(sig)
        assert proc.wait(timeout=10) == 0
        assert proc.stderr is not None
        logs = proc.stderr.read()
        assert "POST /_mock/actors" in logs  # one log line per request, on stderr
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_parser_defaults() -> None:
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.seed, args.member_limit) == ("127.0.0.1", 2584, None, 50)


def _serve(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_serve_loads_demo_by_default_and_a_scenario_by_name() -> None:
    for args, handle in (((), "alice.test"), (("--scenario", "restricted-accounts"), "nina.test")):
        proc = _serve(*args)
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().strip().rsplit(" ", 1)[1]
            login = {"identifier": handle, "password": "password"}
            answer = httpx.post(f"{url}/xrpc/com.atproto.server.createSession", json=login)
            assert answer.status_code == 200, answer.text
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=10)


def test_serve_with_a_bad_scenario_says_why() -> None:
    proc = _serve("--scenario", "no-such-scenario")
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 1
    assert "no-such-scenario" in err and "not a built-in scenario" in err


def test_snapshot_takes_a_url_without_a_scheme() -> None:
    from mockserver import MockChatServer

    with MockChatServer(seed=3) as server:
        server.load_scenario("demo")
        out = subprocess.run(
            [sys.executable, "-m", "mockserver", "snapshot", "--url", f"127.0.0.1:{server.port}"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert out.returncode == 0, out.stderr
    assert "state:" in out.stdout and "alice.test" in out.stdout


def test_serve_on_a_busy_port_says_so_before_any_scenario_work() -> None:
    import socket
    import time

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "mockserver", "serve", "--port", str(port), "--scenario", "demo"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "scenario demo" not in result.stderr, "the scenario was not loaded first"
    assert time.monotonic() - started < 30


def test_transcript_puts_a_join_request_under_its_group_and_skips_logins(tmp_path: object) -> None:
    from pathlib import Path

    from atproto import Client

    from mockserver import MockChatServer
    from mockserver.recording import FileRecorder, read
    from mockserver.transcript import render

    path = Path(str(tmp_path)) / "t.jsonl"
    with MockChatServer(seed=4) as server:
        server.service.recorders.append(FileRecorder(path))
        server.load_scenario("approval-required")
        carol = Client(base_url=server.url)
        carol.login("carol.test", "password")
        carol.with_bsky_chat_proxy().chat.bsky.group.request_join({"code": "needs-approval"})
    text = render(read(path))
    group = text.split("## Ask first")[1].split("## ")[0]
    assert "**carol.test** `requestJoin`" in group
    assert "createSession" not in text and "getProfile" not in text
    assert "logins, refreshes and profile reads not listed" in text


@pytest.mark.parametrize(("level", "logged"), [("INFO", True), ("WARNING", False)])
def test_serve_writes_one_access_line_per_request_like_its_other_lines(level: str, logged: bool) -> None:
    proc = _serve("--empty", "--log-level", level)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip().rsplit(" ", 1)[1]
        for _ in range(3):
            assert (
                httpx.get(f"{url}/xrpc/app.bsky.actor.getProfile", params={"actor": "nobody.test"}).status_code == 400
            )
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    lines = [line for line in err.splitlines() if "mockserver.access" in line]
    if not logged:
        assert lines == []
        return
    assert len(lines) == 3, err  # written in batches, all there once it stops
    pattern = (
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} mockserver\.access INFO 127\.0\.0\.1 "
        r'"GET /xrpc/app\.bsky\.actor\.getProfile\?actor=nobody\.test HTTP/1\.1" 400 \d+ \d+\.\d{6}s'
    )
    assert all(re.fullmatch(pattern, line) for line in lines), lines
    other = next(line for line in err.splitlines() if "listening" in line or " mockserver INFO " in line)
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} mockserver INFO ", other), other
