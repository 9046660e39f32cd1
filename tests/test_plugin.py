"""The pytest plugin, used the way a downstream project uses it: through pytester."""

from __future__ import annotations

import pytest

INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(INI)
    return pytester


def test_fixtures_create_actor_and_read_state(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import httpx

        def test_group(chat_mock):
            alice = chat_mock.create_actor("alice.test", display_name="Alice")
            bob = chat_mock.create_actor()
            assert alice.handle == "alice.test" and bob.did.startswith("did:plc:")
            assert chat_mock.url == f"http://127.0.0.1:{chat_mock.port}"
            r = httpx.post(f"{chat_mock.url}/xrpc/chat.bsky.group.createGroup", headers=alice.headers,
                           json={"name": "G", "members": [bob.did]})
            assert r.status_code == 200, r.text
            convo = r.json()["convo"]["id"]
            assert [m.role for m in chat_mock.members(convo)] == ["owner", "standard"]
            assert chat_mock.lock(convo) == "unlocked"
            assert chat_mock.requests(convo) == []
            assert chat_mock.journal[-1]["method"] == "chat.bsky.group.createGroup"
            assert chat_mock.journal[-1]["actor"] == alice.did

        def test_session_server_is_shared(chat_mock, chat_mock_server):
            assert chat_mock.server is chat_mock_server
        """
    )
    project.runpytest("-q").assert_outcomes(passed=2)


def test_state_never_leaks_in_any_order(project: pytest.Pytester) -> None:
    project.makeconftest(
        """
        def pytest_collection_modifyitems(items):
            items.reverse()
        """
    )
    tests = "\n".join(
        f"""
def test_{i}(chat_mock):
    assert chat_mock.server.dump()["actors"] == []
    assert chat_mock.journal == []
    assert chat_mock.faults.list() == []
    chat_mock.create_actor("user{i}.test")
    chat_mock.faults.add("chat.bsky.convo.getConvo", error="InvalidConvo")
    chat_mock.clock.advance(3600)
"""
        for i in range(6)
    )
    project.makepyfile(tests)
    project.runpytest("-q").assert_outcomes(passed=6)


def test_marker_ini_option_and_scenario_path(project: pytest.Pytester) -> None:
    project.makefile(
        ".yaml",
        mine="""
actors: {zed: {}}
groups: {solo: {owner: zed, name: Solo, link: {code: solo-code}}}
""",
    )
    project.makepyfile(
        """
        import pytest

        @pytest.mark.chat_scenario("locked-convo")
        def test_marker(chat_mock):
            assert chat_mock.scenario.name == "locked-convo"
            assert chat_mock.lock(chat_mock.scenario.convos["locked"]) == "locked"

        def test_ini(chat_mock):
            assert chat_mock.scenario.name == "member-limit"
            assert chat_mock.scenario.codes == {"full": "full-house"}

        def test_path(chat_mock):
            loaded = chat_mock.load_scenario("mine.yaml")
            assert loaded.codes == {"solo": "solo-code"} and chat_mock.scenario is loaded
        """
    )
    project.runpytest("-q", "-o", "chat_mock_scenario=member-limit").assert_outcomes(passed=3)


def test_options_and_overridable_fixtures(project: pytest.Pytester) -> None:
    project.makeconftest(
        """
        import pytest

        @pytest.fixture(scope="session")
        def chat_mock_member_limit():
            return 3
        """
    )
    project.makepyfile(
        """
        import httpx

        def test_settings(chat_mock, chat_mock_seed):
            assert chat_mock_seed == 11
            owner = chat_mock.create_actor("owner.test")
            friends = [chat_mock.create_actor().did for _ in range(3)]
            r = httpx.post(f"{chat_mock.url}/xrpc/chat.bsky.group.createGroup", headers=owner.headers,
                           json={"name": "G", "members": friends})
            assert r.status_code == 400 and "at most 3 members" in r.json()["message"]
            print("DID", owner.did)
        """
    )
    first = project.runpytest("-q", "-s", "--chat-mock-seed", "11")
    first.assert_outcomes(passed=1)
    second = project.runpytest("-q", "-s", "--chat-mock-seed", "11")
    dids = [line for line in first.outlines + second.outlines if line.startswith("DID")]
    assert len(dids) == 2 and dids[0] == dids[1]
    bad = project.runpytest("-q", "--chat-mock-seed", "eleven")
    assert "chat-mock-seed must be a whole number" in bad.stderr.str() + bad.stdout.str()


def test_failing_test_report_shows_the_journal(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import httpx

        def test_fails(chat_mock):
            alice = chat_mock.create_actor("alice.test")
            r = httpx.get(f"{chat_mock.url}/xrpc/chat.bsky.convo.getConvo", headers=alice.headers,
                          params={"convoId": "nope"})
            assert r.status_code == 200
        """
    )
    result = project.runpytest("-q")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*bsky-chat-mock journal*",
            "#* chat.bsky.convo.getConvo as alice.test -> 400 InvalidConvo: Convo not found",
        ]
    )


def test_sdk_client_factory_and_missing_package(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import sys
        import pytest

        @pytest.mark.chat_scenario("approval-required")
        def test_sdk(chat_mock, chat_mock_client):
            carol = chat_mock_client("carol.test")
            assert carol.chat.bsky.group.request_join({"code": "needs-approval"}).status == "pending"
            alice = chat_mock_client(chat_mock.create_actor("new.test"))
            assert alice.chat.bsky.convo.list_convos().convos == []

        def test_no_sdk(chat_mock, monkeypatch, request):
            monkeypatch.setitem(sys.modules, "atproto", None)
            with pytest.raises(pytest.UsageError, match="pip install atproto"):
                request.getfixturevalue("chat_mock_client")
        """
    )
    # in a subprocess: an in-process run would drop the SDK's lazily imported modules afterwards
    project.runpytest_subprocess("-q").assert_outcomes(passed=2)


def test_freezegun_keeps_serving_and_stamps_frozen_time(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import httpx
        from freezegun import freeze_time

        def test_frozen(chat_mock):
            with freeze_time("2031-05-06T07:08:09Z"):
                alice = chat_mock.create_actor("alice.test")
                r = httpx.post(f"{chat_mock.url}/xrpc/chat.bsky.group.createGroup", headers=alice.headers,
                               json={"name": "G", "members": []}, timeout=5)
                assert r.status_code == 200
                convo = r.json()["convo"]
                assert convo["kind"]["createdAt"] == "2031-05-06T07:08:09.000Z"
                r = httpx.post(f"{chat_mock.url}/xrpc/chat.bsky.convo.sendMessage", headers=alice.headers,
                               json={"convoId": convo["id"], "message": {"text": "hi"}}, timeout=5)
                assert r.json()["sentAt"] == "2031-05-06T07:08:09.000Z"

        def test_clock_helper(chat_mock):
            before = chat_mock.clock.now()
            after = chat_mock.clock.advance(86400)
            assert (after - before).days == 1
            import datetime as dt
            stop = dt.datetime(2032, 1, 1, tzinfo=dt.timezone.utc)
            chat_mock.clock.pin(stop)
            assert chat_mock.clock.now() == stop
            assert chat_mock.clock.unpin() >= stop
        """
    )
    # in a subprocess: freezegun walks every loaded module, the outer run's SDK models included
    project.runpytest_subprocess("-q").assert_outcomes(passed=2)


def test_async_tests_and_in_loop_variant(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import aiohttp
        import pytest

        async def test_async_uses_session_server(chat_mock):
            alice = chat_mock.create_actor("alice.test")
            async with aiohttp.ClientSession(headers=alice.headers) as http:
                async with http.get(f"{chat_mock.url}/xrpc/chat.bsky.convo.listConvos") as r:
                    assert r.status == 200 and (await r.json())["convos"] == []

        @pytest.mark.chat_scenario("follow-required")
        async def test_async_sdk(chat_mock_async_client):
            bob = await chat_mock_async_client("bob.test")
            joined = await bob.chat.bsky.group.request_join({"code": "followers-only"})
            assert joined.status == "joined"

        @pytest.mark.chat_scenario("user-kicked")
        async def test_in_loop(chat_mock_in_loop):
            eve = chat_mock_in_loop.create_actor()
            async with aiohttp.ClientSession(headers=eve.headers) as http:
                async with http.post(f"{chat_mock_in_loop.url}/xrpc/chat.bsky.group.requestJoin",
                                     json={"code": "kicked"}) as r:
                    assert r.status == 200, await r.text()
            assert chat_mock_in_loop.scenario.codes == {"kicked": "kicked"}
        """
    )
    project.runpytest_subprocess("-q").assert_outcomes(passed=3)


def test_async_fixtures_in_strict_mode(pytester: pytest.Pytester) -> None:
    """pytest-asyncio's default (strict) mode: marked async tests get the async fixtures too."""
    pytester.makeini("[pytest]\nasyncio_mode = strict\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.asyncio
        @pytest.mark.chat_scenario("follow-required")
        async def test_async_sdk(chat_mock_async_client):
            bob = await chat_mock_async_client("bob.test")
            assert (await bob.chat.bsky.group.request_join({"code": "followers-only"})).status == "joined"

        @pytest.mark.asyncio
        async def test_in_loop(chat_mock_in_loop):
            assert chat_mock_in_loop.create_actor("eve.test").handle == "eve.test"
        """
    )
    result = pytester.runpytest_subprocess("-q", "-W", "error::pytest.PytestDeprecationWarning")
    result.assert_outcomes(passed=2)


def test_xdist_workers_each_get_a_clean_server(project: pytest.Pytester) -> None:
    tests = "\n".join(
        f"""
def test_{i}(chat_mock):
    assert chat_mock.server.dump()["actors"] == []
    chat_mock.create_actor("user{i}.test")
    assert len(chat_mock.server.dump()["actors"]) == 1
"""
        for i in range(8)
    )
    project.makepyfile(tests)
    result = project.runpytest_subprocess("-q", "-n", "2", "-p", "xdist")
    result.assert_outcomes(passed=8)
