"""The plugin's helpers refuse mistakes and keep working as a test moves the clock (issue 16)."""

from __future__ import annotations

import socket
from importlib.metadata import requires

import pytest

pytest_plugins = ["pytester"]


def run(pytester: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(source)
    return pytester.runpytest("-p", "no:randomly", *args)


def test_create_actor_refuses_typos_as_the_admin_api_does(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import httpx, pytest

        def test_it(chat_mock):
            with pytest.raises(ValueError) as helper:
                chat_mock.create_actor("a.test", allow_group_invite="none", dispaly_name="X")
            answer = httpx.post(chat_mock.url + "/_mock/actors",
                                json={"handle": "a.test", "allowGroupInvite": "none", "dispalyName": "X"})
            assert answer.status_code == 400
            assert str(helper.value) == answer.json()["message"]
            assert "allowGroupInvite" in str(helper.value) and "known fields" in str(helper.value)
            with pytest.raises(ValueError):
                chat_mock.create_actor("b.test", display_name=5)
        """,
    )
    result.assert_outcomes(passed=1)


def test_every_helper_takes_any_way_of_naming_an_account(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pytest

        @pytest.mark.chat_scenario("demo")
        def test_it(chat_mock, chat_mock_client):
            bob = chat_mock.scenario.actors["bob"]
            made = chat_mock.create_actor("zed.test")
            for account in (bob, "bob", "bob.test", bob.did, made, "zed"):
                client = chat_mock_client(account)
                assert client.me.did in (bob.did, made.did)
                assert client.chat.bsky.convo.list_convos() is not None
            assert chat_mock.account("alice") == (chat_mock.scenario.actors["alice"].did, "alice.test")
            assert chat_mock_client("bob", "password").me.handle == "bob.test"
            fan = chat_mock.create_actor("fan.test", follows=[bob, made], blocks=["alice"])
            assert chat_mock_client(fan).me.follows_count == 2
            with pytest.raises(ValueError) as missing:
                chat_mock_client("nobody")
            assert "nobody" in str(missing.value)
        """,
    )
    result.assert_outcomes(passed=1)


def test_clients_and_headers_keep_working_across_clock_moves(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import httpx, pytest
        from atproto.exceptions import UnauthorizedError

        def test_it(chat_mock, chat_mock_client):
            alice = chat_mock.create_actor("alice.test")
            client = chat_mock_client(alice)
            stale = chat_mock_client(alice, refresh=False)
            chat_mock.clock.advance(3 * 3600)
            assert client.chat.bsky.convo.list_convos().convos == []
            chat_mock.clock.advance(30 * 24 * 3600)  # a month on: the refreshed session still holds
            assert client.chat.bsky.convo.list_convos().convos == []
            url = chat_mock.url + "/xrpc/chat.bsky.convo.listConvos"
            assert httpx.get(url, headers=alice.headers).status_code == 200
            expired = httpx.get(url, headers=alice.fixed_headers)
            assert expired.status_code == 401 and expired.json()["error"] == "ExpiredToken"
            with pytest.raises(UnauthorizedError) as refused:
                stale.chat.bsky.convo.list_convos()
            assert refused.value.response.content.error == "ExpiredToken"
        """,
    )
    result.assert_outcomes(passed=1)


def test_faults_refuse_methods_that_do_not_exist(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import httpx, pytest

        def test_it(chat_mock, chat_mock_client):
            with pytest.raises(ValueError) as typo:
                chat_mock.faults.add("chat.bsky.convo.sendMesage", error="X")
            assert "did you mean chat.bsky.convo.sendMessage" in str(typo.value)
            typo = {"method": "chat.bsky.convo.sendMesage", "error": "X"}
            answer = httpx.post(chat_mock.url + "/_mock/faults", json=typo)
            assert answer.status_code == 400 and "sendMessage" in answer.json()["message"]
            with pytest.raises(ValueError):
                chat_mock.faults.add("nothing.*", error="X")
            chat_mock.faults.add("chat.bsky.group.*", error="Nope", times=1)
            alice = chat_mock.create_actor("alice.test")
            out = httpx.post(chat_mock.url + "/xrpc/chat.bsky.group.createGroup",
                             json={"name": "G", "members": []}, headers=alice.headers)
            assert out.json()["error"] == "Nope"
        """,
    )
    result.assert_outcomes(passed=1)


def test_read_helpers_are_typed_and_fail_alike(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pytest

        @pytest.mark.chat_scenario("demo")
        def test_it(chat_mock):
            convo = chat_mock.scenario.convos["hikers"]
            history = chat_mock.messages(convo)
            assert all((m.text is None) == m.is_system for m in history)
            assert [m.role for m in chat_mock.members(convo)][0] == "owner"
            for helper in (chat_mock.group, chat_mock.members, chat_mock.requests, chat_mock.lock, chat_mock.messages):
                with pytest.raises(KeyError, match="no convo 'nope'"):
                    helper("nope")

        def test_no_scenario(chat_mock):
            with pytest.raises(LookupError, match="chat_scenario"):
                chat_mock.scenario
        """,
    )
    result.assert_outcomes(passed=2)


def test_the_async_fixtures_have_their_plugins() -> None:
    needed = {r.split(">")[0].split("=")[0].split(";")[0].strip().lower() for r in requires("bsky-chat-mock") or []}
    assert {"pytest-asyncio", "pytest-aiohttp"} <= needed


def two_free_ports() -> int:
    """A port P such that P and P + 1 are both free (the two workers' ports), found by trying."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = int(first.getsockname()[1])
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
        return port
    raise AssertionError("no two free ports in a row")


def test_xdist_workers_get_ports_of_their_own(pytester: pytest.Pytester) -> None:
    port = two_free_ports()
    source = """
        def test_a(chat_mock):
            assert chat_mock.port in PORTS

        def test_b(chat_mock):
            assert chat_mock.port in PORTS
        """.replace("PORTS", f"({port}, {port + 1})")
    result = run(pytester, source, "-n", "2", f"--chat-mock-port={port}")
    result.assert_outcomes(passed=2)


def test_a_taken_port_is_named(pytester: pytest.Pytester) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run(pytester, "def test_a(chat_mock):\n    pass\n", f"--chat-mock-port={port}")
    assert result.ret != 0
    result.stdout.fnmatch_lines([f"*cannot listen on 127.0.0.1:{port}*"])


def test_a_scenario_load_starts_from_a_known_clock(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import datetime

        def test_it(chat_mock):
            chat_mock.clock.advance(10 * 24 * 3600)
            chat_mock.load_scenario("demo")
            drift = chat_mock.clock.now() - datetime.datetime.now(datetime.timezone.utc)
            assert abs(drift.total_seconds()) < 60
        """,
    )
    result.assert_outcomes(passed=1)


def test_headers_survive_a_scenario_load_that_keeps_the_account(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import httpx

        def test_it(chat_mock):
            did = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"
            alice = chat_mock.create_actor("alice.test", did=did)
            url = chat_mock.url + "/xrpc/chat.bsky.convo.listConvos"
            chat_mock.load_scenario({"actors": {"alice": {"did": did}, "bob": {}}})
            stale = httpx.get(url, headers=alice.fixed_headers)
            assert stale.status_code == 401 and stale.json()["error"] == "InvalidToken"
            assert httpx.get(url, headers=alice.headers).status_code == 200
        """,
    )
    result.assert_outcomes(passed=1)
