"""``MockChatServer``: the app on a real socket, in a background thread or in a running loop."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from aiohttp import web

from . import access_log
from .access_log import FastAccessLogger
from .app import create_app
from .protocol import use_xrpc_errors
from .service import SERVICE_KEY, Config, Service
from .state import State

if TYPE_CHECKING:
    from scenarios import LoadedScenario, ScenarioBuilder

T = TypeVar("T")
access_logger = logging.getLogger("mockserver.access")
ACCESS_LOG_FORMAT = '%a "%r" %s %b %Tfs'


class MockChatServer:
    """A running mock chat service.

    Use ``start()``/``stop()`` (or ``with``) to run it in a background thread, or
    ``await start_async()``/``await stop_async()`` (or ``async with``) inside a running loop.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int | None = None,
        *,
        strict: bool = False,
        member_limit: int | None = None,
        config: Config | None = None,
        access_stream: TextIO | None = None,
    ) -> None:
        if config is None:
            config = Config(seed=seed, strict=strict)
            if member_limit is not None:
                config.member_limit = member_limit
        self.host = host
        self._requested_port = port
        self._access_stream = access_stream
        """Where ``serve`` writes one line per request (batched; see access_log.py); without it the
        lines go to the ``mockserver.access`` logger, as aiohttp writes them."""
        self.app = create_app(config)
        self.service: Service = self.app[SERVICE_KEY]
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # -- addresses ---------------------------------------------------------------------
    @property
    def port(self) -> int:
        """The port the server listens on (known once started)."""
        if self._port is None:
            raise RuntimeError("the server is not running: call start() first")
        return self._port

    @property
    def url(self) -> str:
        """Base URL, such as ``http://127.0.0.1:51234`` (XRPC lives under ``/xrpc``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the server is listening."""
        return self._runner is not None

    @property
    def state(self) -> State:
        """The live state (read it; change it through the admin API or ``call``)."""
        return self.service.state

    # -- running in a running loop -----------------------------------------------------
    async def start_async(self) -> None:
        """Start listening on the current event loop."""
        if self._runner is not None:
            raise RuntimeError("the server is already running")
        logs: dict[str, Any] = {"access_log": access_logger, "access_log_format": ACCESS_LOG_FORMAT}
        if self._access_stream is not None:
            logs = {"access_log": self._access_stream, "access_log_class": FastAccessLogger}
        runner = web.AppRunner(self.app, handle_signals=False, shutdown_timeout=1.0, **logs)
        await runner.setup()
        use_xrpc_errors(runner)
        site = web.TCPSite(runner, self.host, self._requested_port, reuse_address=True)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._port = int(runner.addresses[0][1])
        self._runner = runner
        if self.service.network is not None:
            self.service.network.bind(self._port)

    async def stop_async(self) -> None:
        """Stop listening and close every connection."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        access_log.flush()
        self._port = None

    async def __aenter__(self) -> MockChatServer:
        await self.start_async()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop_async()

    # -- running in a thread -----------------------------------------------------------
    def start(self, timeout: float = 10.0) -> MockChatServer:
        """Start the server in a background thread; returns once it is listening."""
        if self._thread is not None or self._runner is not None:
            raise RuntimeError("the server is already running")
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start_async())
            except BaseException as e:
                failure.append(e)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop_async())
            leftover = asyncio.all_tasks(loop)  # handlers of clients that never finished
            for task in leftover:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*leftover, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        thread = threading.Thread(target=run, name="bsky-chat-mock", daemon=True)
        thread.start()
        if not ready.wait(timeout):
            raise RuntimeError(f"the server did not start within {timeout} seconds")
        if failure:
            thread.join()
            raise failure[0]
        self._loop, self._thread = loop, thread
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the background server and wait for its thread to end."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._loop = self._thread = None

    def __enter__(self) -> MockChatServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- state -------------------------------------------------------------------------
    def call(self, fn: Callable[[Service], T], timeout: float = 10.0) -> T:
        """Run ``fn(service)`` where the server runs it, so it never races a request."""
        loop = self._loop
        if loop is None or not loop.is_running() or threading.current_thread() is self._thread:
            try:
                return fn(self.service)
            finally:
                self.service.touch()

        done = threading.Event()
        outcome: list[Any] = []

        def run() -> None:
            try:
                outcome.append((True, fn(self.service)))
            except BaseException as e:
                outcome.append((False, e))
            finally:
                self.service.touch()
                done.set()

        loop.call_soon_threadsafe(run)
        if not done.wait(timeout):
            raise TimeoutError(f"the server did not run the call within {timeout:g} seconds")
        ok, value = outcome[0]
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    def reset(self) -> None:
        """Empty the state (actors, sessions, groups, faults: everything)."""
        self.call(lambda service: service.reset())

    def load_scenario(self, scenario: str | Path | dict[str, Any] | ScenarioBuilder) -> LoadedScenario:
        """Load a built-in scenario (by name), a file (by path), a spec dict or a builder."""
        from scenarios import ScenarioBuilder, ScenarioError, ScenarioSource, find, load
        from scenarios.loader import from_replay

        from .recording import is_recording
        from .recording import read as read_recording
        from .replay import replay

        if isinstance(scenario, (str, Path)) and is_recording(scenario):
            if not self.running or self._loop is None:
                raise ScenarioError(str(scenario), ["a recording is replayed over HTTP: start the server first"])
            report = replay(self.url, read_recording(scenario), self.service.config.admin_token)
            if not report.ok:
                raise ScenarioError(str(scenario), [report.text()])
            return from_replay(str(scenario), report.actors, report.text())
        if isinstance(scenario, ScenarioBuilder):
            source = scenario.source()
        elif isinstance(scenario, dict):
            source = ScenarioSource("inline", "inline scenario", scenario)
        else:
            source = find(str(scenario))
        return self.call(lambda service: load(service, source))

    def dump(self) -> dict[str, Any]:
        """The whole state as JSON (what ``GET /_mock/state`` answers)."""
        from .snapshot import dump

        return self.call(dump)

    def __repr__(self) -> str:
        where = self.url if self.running else "stopped"
        return f"<MockChatServer {where}>"
