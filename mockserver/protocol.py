"""The HTTP connection layer: requests aiohttp cannot parse (a request line or header over
8 KiB, broken HTTP) are answered as XRPC errors too, not as aiohttp's plain-text page."""

from __future__ import annotations

import logging
from http import HTTPStatus

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from .app import front
from .xrpc import json_response

log = logging.getLogger("mockserver")


class XrpcRequestHandler(RequestHandler):
    """aiohttp's connection handler with XRPC error bodies for unparsable requests."""

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if status >= 500 or request.writer.output_size > 0:
            return super().handle_error(request, status, exc, message)
        log.info("unparsable request from %s: %s", request.remote, message or exc)
        text = (message or HTTPStatus(status).phrase).strip()
        if "Got more than" in text:  # aiohttp's message quotes the whole line: keep it short
            text = "the request line or a header is over the limit of 8190 bytes"
        elif exc is not None:
            text = f"{type(exc).__name__}: {text}"  # "deflate" alone says little
        response = json_response({"error": "InvalidRequest", "message": f"Bad HTTP request: {text}"}, status=status)
        response.force_close()
        return response


class XrpcServer(web.Server):
    """A ``web.Server`` whose connections use :class:`XrpcRequestHandler`."""

    def __call__(self) -> RequestHandler:
        return XrpcRequestHandler(self, loop=self._loop, **self._kwargs)


def use_xrpc_errors(runner: web.AppRunner) -> None:
    """Make a set-up runner's server answer unparsable requests with XRPC errors (aiohttp has no
    public hook for this; the server keeps its state, only its connection class changes), and
    hand its requests to :func:`app.front` (XRPC calls skip the router)."""
    assert runner.server is not None
    runner.server.__class__ = XrpcServer
    runner.server.request_handler = front(runner.app)
