"""The pytest plugin: one mock chat server per session (per xdist worker), cleared before each test.

Registered through the ``pytest11`` entry point, so installing bsky-chat-mock is enough. See
docs/pytest-plugin.md.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from mockserver import MockChatServer
from mockserver.recording import ListRecorder
from mockserver.service import DEFAULT_MEMBER_LIMIT, Config

from .handle import ChatMock, format_journal

CHAT_MOCK_KEY = pytest.StashKey[ChatMock]()
try:  # pytest-asyncio's own decorator lets async fixtures work in its strict mode too
    from pytest_asyncio import fixture as async_fixture
except ImportError:  # pragma: no cover - without pytest-asyncio, plain pytest fixtures
    async_fixture = pytest.fixture  # type: ignore[assignment]

FREEZEGUN_IGNORE = ["asyncio", "aiohttp", "selectors", "mockserver.server"]
"""Modules whose time stays real under freezegun, so the server's event loop never stalls."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bsky-chat-mock", "bsky-chat-mock: a fake Bluesky group chat server")
    options = [
        ("host", "address the mock listens on (default 127.0.0.1)", "127.0.0.1"),
        ("port", "port the mock listens on (default 0: a free one)", "0"),
        ("seed", "seed for the mock's ids, names and codes (default: none)", None),
        ("member-limit", f"member limit of new groups (default {DEFAULT_MEMBER_LIMIT})", None),
        ("scenario", "scenario loaded before every test that has no chat_scenario marker", None),
    ]
    for name, help_text, default in options:
        ini = f"chat_mock_{name.replace('-', '_')}"
        group.addoption(f"--chat-mock-{name}", dest=ini, default=None, help=help_text)
        parser.addini(ini, help_text, default=default)
    group.addoption(
        "--chat-mock-record",
        dest="chat_mock_record",
        default=None,
        metavar="DIR",
        help="write a recording of each test's calls to DIR/<test id>.jsonl (replay it with bsky-chat-mock replay)",
    )
    group.addoption(
        "--chat-mock-strict",
        dest="chat_mock_strict",
        action="store_true",
        default=False,
        help="check every answer of the mock against its lexicon (a bad one is a 500)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "chat_scenario(name_or_path): load this bsky-chat-mock scenario before the test")
    try:
        import freezegun
    except ImportError:
        return
    freezegun.configure(extend_ignore_list=FREEZEGUN_IGNORE)


def _setting(config: pytest.Config, name: str) -> str | None:
    value = config.getoption(name, default=None)
    if value is None:
        value = config.getini(name)
    return str(value) if value not in (None, "") else None


def _int_setting(config: pytest.Config, name: str) -> int | None:
    value = _setting(config, name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise pytest.UsageError(f"{name.replace('_', '-')} must be a whole number, got {value!r}") from None


@pytest.fixture(scope="session")
def chat_mock_host(pytestconfig: pytest.Config) -> str:
    """Address the session's mock listens on (override to change it)."""
    return _setting(pytestconfig, "chat_mock_host") or "127.0.0.1"


@pytest.fixture(scope="session")
def chat_mock_port(pytestconfig: pytest.Config) -> int:
    """Port of the session's mock; 0 picks a free one (the default). A port given under xdist is
    the first worker's: worker ``gwN`` listens on that port + N, so workers never clash."""
    port = _int_setting(pytestconfig, "chat_mock_port") or 0
    worker = _worker(pytestconfig)
    if port and worker.startswith("gw") and worker[2:].isdigit():
        port += int(worker[2:])
    return port


def _worker(config: pytest.Config) -> str:
    """This process's xdist worker id (``gw0``...), or "" when it is not an xdist worker (read
    from the worker's own config: the environment variable leaks into nested pytest runs)."""
    workerinput = getattr(config, "workerinput", None)
    return str(workerinput.get("workerid", "")) if isinstance(workerinput, dict) else ""


@pytest.fixture(scope="session")
def chat_mock_seed(pytestconfig: pytest.Config) -> int | None:
    """Seed of the mock's generated ids, names and codes."""
    return _int_setting(pytestconfig, "chat_mock_seed")


@pytest.fixture(scope="session")
def chat_mock_member_limit(pytestconfig: pytest.Config) -> int:
    """Member limit of groups created in the mock."""
    return _int_setting(pytestconfig, "chat_mock_member_limit") or DEFAULT_MEMBER_LIMIT


@pytest.fixture(scope="session")
def chat_mock_server(
    pytestconfig: pytest.Config,
    chat_mock_host: str,
    chat_mock_port: int,
    chat_mock_seed: int | None,
    chat_mock_member_limit: int,
) -> Iterator[MockChatServer]:
    """The running mock, one per test session (per xdist worker)."""
    config = Config(
        seed=chat_mock_seed,
        member_limit=chat_mock_member_limit,
        strict=bool(pytestconfig.getoption("chat_mock_strict", default=False)),
    )
    server = MockChatServer(chat_mock_host, chat_mock_port, config=config)
    try:
        server.start()
    except OSError as e:
        worker = _worker(pytestconfig)
        who = f" (xdist worker {worker} takes --chat-mock-port + its number)" if worker else ""
        raise pytest.UsageError(
            f"bsky-chat-mock cannot listen on {chat_mock_host}:{chat_mock_port}{who}: {e.strerror or e}. "
            "Leave --chat-mock-port out (a free port is picked) or choose another."
        ) from None
    try:
        yield server
    finally:
        server.stop()


def recording_name(nodeid: str) -> str:
    """A file name for a test's recording, made from its node id."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_") + ".jsonl"


def _scenario_for(request: pytest.FixtureRequest) -> str | None:
    marker = request.node.get_closest_marker("chat_scenario")
    if marker is not None:
        if len(marker.args) != 1 or not isinstance(marker.args[0], str):
            raise pytest.UsageError("chat_scenario takes one argument: a scenario name or path")
        return str(marker.args[0])
    return _setting(request.config, "chat_mock_scenario")


@pytest.fixture
def chat_mock(request: pytest.FixtureRequest, chat_mock_server: MockChatServer) -> Iterator[ChatMock]:
    """The session's mock, emptied (or set to the test's scenario) before this test."""
    mock = ChatMock(chat_mock_server)
    record_dir = request.config.getoption("chat_mock_record", default=None)
    recorder = ListRecorder() if record_dir else None
    if recorder is not None:
        chat_mock_server.call(lambda s: s.recorders.append(recorder))
    try:
        scenario = _scenario_for(request)
        if scenario is not None and scenario.endswith(".jsonl"):  # a recording replays over HTTP
            mock.clear()
            mock.load_scenario(scenario)
        else:
            mock.clear(scenario)
        request.node.stash[CHAT_MOCK_KEY] = mock
        yield mock
    finally:
        if recorder is not None:
            chat_mock_server.call(lambda s: s.recorders.remove(recorder))
            recorder.write(Path(record_dir) / recording_name(request.node.nodeid))


def _need_atproto(fixture: str) -> None:
    try:
        import atproto  # noqa: F401
    except ImportError:
        raise pytest.UsageError(
            f"{fixture} needs the atproto package (the Bluesky Python SDK): pip install atproto"
        ) from None


@pytest.fixture
def chat_mock_client(chat_mock: ChatMock) -> Iterator[Callable[..., Any]]:
    """A factory of ``atproto.Client`` objects logged in to the mock and proxied to chat.

    ``chat_mock_client(account)`` takes an :class:`Actor`, a scenario's actor, a handle (``.test``
    may be left out) or a DID. The client is logged in without a round trip and follows the
    mock's clock (it refreshes its tokens when the mock's time says so); ``refresh=False`` gives
    one on the machine's clock, which meets ``ExpiredToken`` after the mock's clock jumps ahead.
    With a ``password``, it logs in with ``createSession`` as an app would (and checks it).
    """
    _need_atproto("chat_mock_client")
    from .clients import SSL, logged_in

    def login(account: Any, password: str | None = None, *, refresh: bool = True) -> Any:
        if password is None:
            return logged_in(chat_mock, account, refresh=refresh)
        from atproto import Client
        from atproto_client.request import Request

        client = Client(base_url=chat_mock.url, request=Request(verify=SSL))
        client.login(chat_mock.account(account)[1], password)
        return client.with_bsky_chat_proxy()

    yield login


@async_fixture
async def chat_mock_async_client(chat_mock: ChatMock) -> AsyncIterator[Callable[..., Any]]:
    """Like ``chat_mock_client``, for async tests: ``await chat_mock_async_client(account)``."""
    _need_atproto("chat_mock_async_client")
    from .clients import SSL, logged_in

    async def login(account: Any, password: str | None = None, *, refresh: bool = True) -> Any:
        if password is None:
            return logged_in(chat_mock, account, "async", refresh=refresh)
        from atproto import AsyncClient
        from atproto_client.request import AsyncRequest

        client = AsyncClient(base_url=chat_mock.url, request=AsyncRequest(verify=SSL))
        await client.login(chat_mock.account(account)[1], password)
        return client.with_bsky_chat_proxy()

    yield login


@async_fixture
async def chat_mock_in_loop(
    request: pytest.FixtureRequest, pytestconfig: pytest.Config, aiohttp_server: Any
) -> AsyncIterator[ChatMock]:
    """A fresh mock running on the test's own event loop, through pytest-aiohttp's ``aiohttp_server``.

    Needs pytest-aiohttp (which provides ``aiohttp_server``).
    """
    server = MockChatServer(
        config=Config(
            seed=_int_setting(pytestconfig, "chat_mock_seed"),
            member_limit=_int_setting(pytestconfig, "chat_mock_member_limit") or DEFAULT_MEMBER_LIMIT,
        )
    )
    test_server = await aiohttp_server(server.app)
    mock = ChatMock(server, url=str(test_server.make_url("")).rstrip("/"))
    scenario = _scenario_for(request)
    if scenario is not None:
        mock.load_scenario(scenario)
    request.node.stash[CHAT_MOCK_KEY] = mock
    yield mock


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    mock = item.stash.get(CHAT_MOCK_KEY, None)
    if mock is not None and report.failed and call.when in ("call", "setup", "teardown"):
        try:
            entries = mock.journal
            text = format_journal(entries, mock)
        except Exception as e:  # the report must never hide the test's own failure
            entries, text = [{}], f"(the journal could not be read: {e})"
        if entries or call.when != "setup":  # a set-up error before any call has nothing to add
            report.sections.append(("bsky-chat-mock journal", text))
    return report
