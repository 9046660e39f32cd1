"""Recording, replay, snapshots and transcripts, over HTTP and the command line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from atproto import Client
from atproto.exceptions import BadRequestError
from conftest import SSL, comparable

from mockserver import MockChatServer
from mockserver.recording import FileRecorder, read
from mockserver.replay import replay

Json = dict[str, Any]


def session(server: MockChatServer) -> None:
    """A small session through the SDK and plain HTTP: joins, an approval, messages, errors."""
    server.load_scenario("approval-required")
    loaded = server.service.loaded
    assert loaded is not None
    carol = Client(base_url=server.url)
    carol.login("carol.test", "password")
    carol_chat = carol.with_bsky_chat_proxy()
    assert carol_chat.chat.bsky.group.request_join({"code": "needs-approval"}).status == "pending"
    alice = Client(base_url=server.url)
    alice.login("alice.test", "password")
    alice_chat = alice.with_bsky_chat_proxy()
    convo = loaded.convos["ask"]
    alice_chat.chat.bsky.group.approve_join_request({"convoId": convo, "member": loaded.actors["carol"].did})
    sent = carol_chat.chat.bsky.convo.send_message({"convoId": convo, "message": {"text": "thanks!"}})
    alice_chat.chat.bsky.convo.add_reaction({"convoId": convo, "messageId": sent.id, "value": "🎉"})
    httpx.post(f"{server.url}/_mock/actors", json={"handle": "zed.test"}, verify=SSL)
    httpx.get(f"{server.url}/xrpc/chat.bsky.convo.getConvo", params={"convoId": convo}, verify=SSL)  # no token
    alice_chat.chat.bsky.convo.lock_convo({"convoId": convo})


def test_record_then_replay_reaches_the_same_state(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    with MockChatServer(seed=5, strict=True) as recorded:
        recorded.service.recorders.append(FileRecorder(path))
        session(recorded)
        original = recorded.dump()
    lines = read(path)
    assert lines[0]["type"] == "start" and lines[0]["scenario"] == "approval-required"
    assert {line["type"] for line in lines} == {"start", "admin", "call"}
    text = path.read_text()
    assert '"password":"password"' not in text.replace(" ", "") and 'accessJwt":"ey' not in text
    with MockChatServer(seed=77, strict=True) as fresh:
        report = replay(fresh.url, lines)
        assert report.ok, report.text()
        assert report.calls == sum(1 for line in lines if line["type"] == "call")
        assert comparable(fresh.dump()) == comparable(original)


def test_tampered_recording_stops_at_the_call(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    with MockChatServer(seed=5) as recorded:
        recorded.service.recorders.append(FileRecorder(path))
        session(recorded)
    lines = read(path)
    target = next(i for i, line in enumerate(lines) if line.get("method") == "chat.bsky.convo.sendMessage")
    lines[target]["output"]["text"] = "something else"
    with MockChatServer() as fresh:
        report = replay(fresh.url, lines)
    assert not report.ok and report.mismatch is not None
    assert report.mismatch.line == target + 1 and report.mismatch.method == "chat.bsky.convo.sendMessage"
    assert "something else" in report.text() and "thanks!" in report.text()


def test_version_1_recordings_replay_by_status_and_error(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    with MockChatServer(seed=5) as recorded:
        recorded.service.recorders.append(FileRecorder(path))
        session(recorded)
    lines = read(path)
    assert lines[0]["version"] == 2
    target = next(i for i, line in enumerate(lines) if line.get("method") == "chat.bsky.convo.sendMessage")
    lines[target]["output"]["rev"] = "an old-format answer"  # what a version 1 answer may differ in
    with MockChatServer() as fresh:
        assert not replay(fresh.url, lines).ok, "version 2: whole answers are compared"
    old = [{**line, "version": 1} if line["type"] == "start" else line for line in lines]
    with MockChatServer() as fresh:
        report = replay(fresh.url, old)
        assert report.ok and report.loose, report.text()
        assert "version 1" in report.text() and "status and error" in report.text()
    failing = next(i for i, line in enumerate(old) if line.get("status") == 401)
    old[failing] = {**old[failing], "status": 200, "error": None}
    with MockChatServer() as fresh:
        report = replay(fresh.url, old)
        assert not report.ok and report.mismatch is not None and report.mismatch.line == failing + 1


def test_direct_convos_record_and_replay(tmp_path: Path) -> None:
    path = tmp_path / "direct.jsonl"
    with MockChatServer(seed=11, strict=True) as recorded:
        recorded.service.recorders.append(FileRecorder(path))
        recorded.load_scenario("direct-requests")
        alice = Client(base_url=recorded.url)
        alice.login("alice.test", "password")
        chat = alice.with_bsky_chat_proxy().chat.bsky.convo
        gina = recorded.service.loaded.actors["gina"].did  # type: ignore[union-attr]
        bob = recorded.service.loaded.actors["bob"].did  # type: ignore[union-attr]
        convo = chat.get_convo_for_members({"members": [bob]}).convo
        sent = chat.send_message_batch({"items": [{"convoId": convo.id, "message": {"text": t}} for t in "ab"]})
        chat.delete_message_for_self({"convoId": convo.id, "messageId": sent.items[0].id})
        with pytest.raises(BadRequestError) as refused:
            chat.get_convo_for_members({"members": [gina]})
        assert refused.value.response is not None
        assert refused.value.response.content.error == "NotFollowedBySender"
        original = recorded.dump()
    with MockChatServer(seed=99, strict=True) as fresh:
        report = replay(fresh.url, read(path))
        assert report.ok, report.text()
        assert comparable(fresh.dump()) == comparable(original)


def test_serve_record_flushes_each_call_and_replays_from_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "serve.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--seed", "3", "--record", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip().rsplit(" ", 1)[1]
        login = {"identifier": "bob.test", "password": "password"}
        token = httpx.post(f"{url}/xrpc/com.atproto.server.createSession", json=login).json()["accessJwt"]
        headers = {"Authorization": f"Bearer {token}"}
        convos = httpx.get(f"{url}/xrpc/chat.bsky.convo.listConvos", headers=headers).json()["convos"]
        band = next(c["id"] for c in convos if c["kind"]["name"] == "Band practice")
        httpx.post(
            f"{url}/xrpc/chat.bsky.convo.sendMessage",
            headers=headers,
            json={"convoId": band, "message": {"text": "recorded"}},
        )
        # written as it happens: the file holds the calls while the server still runs
        methods = [line.get("method") for line in read(path)]
        assert methods[-1] == "chat.bsky.convo.sendMessage" and "com.atproto.server.createSession" in methods
        state = httpx.get(f"{url}/_mock/state").json()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    with MockChatServer() as fresh:
        result = subprocess.run(
            [sys.executable, "-m", "mockserver", "replay", str(path), "--url", fresh.url],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "every answer matched" in result.stdout
        assert comparable(fresh.dump()) == comparable(state)
        # and as a scenario
        loaded = fresh.load_scenario(path)
        assert "every answer matched" in loaded.description and "bob" in loaded.actors
    transcript = subprocess.run(
        [sys.executable, "-m", "mockserver", "transcript", str(path)], capture_output=True, text=True, check=True
    ).stdout
    assert "## Band practice" in transcript and '**bob.test** `sendMessage` "recorded" → ok' in transcript


def test_pytest_recording_of_a_failing_test_replays_outside_pytest(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import httpx
        import pytest

        @pytest.mark.chat_scenario("locked-convo")
        def test_send_to_locked(chat_mock):
            bob = chat_mock.create_actor("newbie.test")
            login = {"identifier": "bob.test", "password": "password"}
            token = httpx.post(f"{chat_mock.url}/xrpc/com.atproto.server.createSession", json=login).json()
            r = httpx.post(f"{chat_mock.url}/xrpc/chat.bsky.convo.sendMessage",
                           headers={"Authorization": "Bearer " + token["accessJwt"]},
                           json={"convoId": chat_mock.scenario.convos["locked"], "message": {"text": "hi"}})
            assert r.status_code == 200, r.text
        """
    )
    record_dir = pytester.path / "recordings"
    result = pytester.runpytest_subprocess("-q", "--chat-mock-record", str(record_dir))
    result.assert_outcomes(failed=1)
    files = list(record_dir.glob("*.jsonl"))
    assert [f.name for f in files] == [
        "test_pytest_recording_of_a_failing_test_replays_outside_pytest.py_test_send_to_locked.jsonl"
    ]
    lines = read(files[0])
    assert [line.get("error") for line in lines if line["type"] == "call"] == [None, "ConvoLocked"]
    with MockChatServer() as fresh:
        result = subprocess.run(
            [sys.executable, "-m", "mockserver", "replay", str(files[0]), "--url", fresh.url],
            capture_output=True,
            text=True,
            env={**os.environ},
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert fresh.state.find_actor("newbie.test") is not None


def test_snapshot_loads_back_exactly(server: MockChatServer, admin_http: httpx.Client, tmp_path: Path) -> None:
    from mockserver.snapshot import readable

    server.load_scenario("demo")
    time.sleep(0.01)
    text = admin_http.get("/_mock/snapshot").text
    spec = yaml.safe_load(text)
    assert set(spec) == {"description", "state"}
    state = spec["state"]
    assert "displayName" in state["actors"][0] and "display_name" not in text, "the scenario format's camelCase"
    assert set(state["ids"]) == {"seed", "tidLast"}, "no generator internals unless asked"
    assert len(text.splitlines()) < 700
    for kind, query in (("readable", ""), ("exact", "?exact=true")):
        server.load_scenario("demo")
        before = admin_http.get("/_mock/state").json()
        reads = admin_http.get("/_mock/convos").json()
        text = admin_http.get(f"/_mock/snapshot{query}").text
        admin_http.post("/_mock/reset")
        path = tmp_path / f"snap-{kind}.yaml"
        path.write_text(text)
        loaded = server.load_scenario(path)
        assert "alice" in loaded.actors
        after = admin_http.get("/_mock/state").json()
        assert admin_http.get("/_mock/convos").json() == reads
        if kind == "exact":
            assert after == before, "with the generator's whole state, the very same dump"
        else:
            assert {**after, "ids": None} == {**before, "ids": None}, "everything but the generator's internals"
            assert after["ids"]["tidLast"] == before["ids"]["tidLast"]
    result = subprocess.run(
        [sys.executable, "-m", "mockserver", "snapshot", "--url", server.url], capture_output=True, text=True
    )
    assert result.returncode == 0 and yaml.safe_load(result.stdout)["state"]["actors"] == readable(before)["actors"]
    bad = admin_http.post("/_mock/scenarios/load", json={"scenario": {**spec, "actors": {}}})
    assert bad.status_code == 400 and "only description and seed" in bad.json()["message"]


def test_bad_recordings_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"type": "call", "method": "x"}\n')
    with pytest.raises(ValueError, match="starts with a start line"):
        read(path)
    path.write_text("not json\n")
    with pytest.raises(ValueError, match=r"bad\.jsonl:1: not JSON"):
        read(path)
    result = subprocess.run(
        [sys.executable, "-m", "mockserver", "replay", str(path), "--url", "http://127.0.0.1:9"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "not JSON" in result.stderr
