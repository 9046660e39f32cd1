"""The per-request log line of ``serve``, made cheaply: one f-string per request, the time
formatted once a second, and the lines written in one go every 50 ms at most (one write and
one flush for however many requests came meanwhile), instead of a log record, a formatter and
a flush per request. The lines read exactly as the ``logging`` lines
around them (``%(asctime)s %(name)s %(levelname)s %(message)s``).
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any, TextIO

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

NAME = "mockserver.access"
TOKEN = re.compile(r"([?&]token=)[^&#]*")
FLUSH_AFTER = 0.05
"""Seconds a line may wait for others to be written with it."""


class FastAccessLogger(AbstractAccessLogger):
    """``HOST "METHOD PATH HTTP/x.y" STATUS BYTES SECONDSs`` lines, batched onto the stream aiohttp
    hands it in place of a logger (``MockChatServer(access_stream=...)``). aiohttp makes one per
    connection; the lines of all of them wait in one list per stream."""

    def __init__(self, logger: Any, log_format: str) -> None:
        super().__init__(logger, log_format)
        self.stream: TextIO = logger
        self._head: tuple[Any, str, str] = (None, "", "")
        """The HTTP version last seen, with the line's start (the peer: one a connection) and the
        version as written: made once a connection, not once a request."""

    @property
    def enabled(self) -> bool:
        return True

    def log(self, request: BaseRequest, response: StreamResponse, time_taken: float) -> None:
        version = request.version
        head = self._head
        if head[0] != version:
            head = self._head = (version, f"{NAME} INFO {request.remote} ", f"HTTP/{version.major}.{version.minor}")
        path = request.raw_path
        if "token=" in path:  # the state page's URL carries the admin token: never in a log
            path = TOKEN.sub(r"\1***", path)
        size = response.body_length or response.content_length or 0
        _add(
            self.stream,
            f'{head[1]}"{request.method} {path} {head[2]}" {response.status} {size} {time_taken:.6f}s\n',
        )


_pending: dict[int, tuple[TextIO, list[str]]] = {}
_clock = [-1, ""]
"""The second last formatted, and how it reads."""


def _add(stream: TextIO, rest: str) -> None:
    now = time.time()
    second = int(now)
    if second != _clock[0]:
        _clock[0], _clock[1] = second, time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))
    line = f"{_clock[1]},{int((now - second) * 1000):03d} {rest}"
    waiting = _pending.get(id(stream))
    if waiting is not None:
        waiting[1].append(line)
        return
    _pending[id(stream)] = (stream, [line])
    try:
        asyncio.get_running_loop().call_later(FLUSH_AFTER, flush)
    except RuntimeError:  # no loop running: write at once
        flush()


def flush() -> None:
    """Write every line made so far (the server calls it once more as it stops)."""
    waiting = list(_pending.values())
    _pending.clear()
    for stream, lines in waiting:
        try:
            stream.write("".join(lines))
            stream.flush()
        except (OSError, ValueError):  # a closed stream, a reader gone: the lines are lost, not the server
            pass
