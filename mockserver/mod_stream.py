"""``chat.bsky.moderation.subscribeModEvents`` over a WebSocket: XRPC event-stream frames (a
DAG-CBOR header and body, as ``com.atproto.sync.subscribeRepos`` frames them), encoded by
``libipld`` (the atproto SDK's CBOR library).

A cursor backfills the events after it (``2222222222222``: from the first); no cursor, new
events only. A cursor ahead of the stream gets a ``FutureCursor`` error frame; a consumer that
falls ``Service.mod_stream.backlog`` events behind gets ``ConsumerTooSlow``; both then close.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import libipld
from aiohttp import WSMsgType, web

from . import xrpc
from .errors import invalid_request
from .mod_events import NSID, ModEvent, is_rev, rev_text
from .service import SERVICE_KEY

log = logging.getLogger("mockserver")
xrpc.SUBSCRIPTIONS.add(NSID)
CLOSE_TIMEOUT = 1.0


def frame(event: ModEvent) -> bytes:
    """A message frame: header ``{op: 1, t: "#kind"}``, then the event's body."""
    return bytes(libipld.encode_dag_cbor({"op": 1, "t": f"#{event.kind}"})) + bytes(libipld.encode_dag_cbor(event.body))


def error_frame(error: str, message: str) -> bytes:
    """An error frame: header ``{op: -1}``, then ``{error, message}``."""
    return bytes(libipld.encode_dag_cbor({"op": -1})) + bytes(
        libipld.encode_dag_cbor({"error": error, "message": message})
    )


async def subscribe(request: web.Request) -> web.StreamResponse:
    """Serve the stream to a moderator (anyone else: the usual 401, before any upgrade)."""
    service = request.app[SERVICE_KEY]
    who = await xrpc.moderator(request, service, NSID)
    xrpc.check_query_encoding(request)
    params = service.lexicons.decode_params(NSID, list(request.query.items()))
    cursor: str | None = params.get("cursor")
    if cursor is not None and not is_rev(cursor):
        raise invalid_request(f"cursor must be an event's rev (13 characters of 2-7 and a-z), not {cursor[:40]!r}")
    ws = web.WebSocketResponse(heartbeat=30)
    if not ws.can_prepare(request).ok:
        raise invalid_request(f"{NSID} is an event stream: connect with a WebSocket client")
    await ws.prepare(request)
    stream = service.mod_stream
    last = rev_text(stream.seq)
    if cursor is not None and cursor > last:
        await _close(
            ws, error_frame("FutureCursor", f"Cursor {cursor} is ahead of the stream (its last event: {last})")
        )
        return ws
    queue: asyncio.Queue[ModEvent] = asyncio.Queue()
    slow = asyncio.Event()

    def deliver(event: ModEvent) -> None:
        if queue.qsize() >= stream.backlog:
            slow.set()
            stream.subscribers.discard(deliver)
            return
        queue.put_nowait(event)

    for event in stream.after(cursor) if cursor is not None else ():
        queue.put_nowait(event)  # the backfill, then whatever comes next (no await in between)
    stream.subscribers.add(deliver)
    log.info("subscribeModEvents: %s follows the stream from %s", who, cursor or "now")
    sender = asyncio.create_task(_send(ws, queue))
    reader = asyncio.create_task(_read(ws))
    too_slow = asyncio.create_task(slow.wait())
    try:
        done, _ = await asyncio.wait({sender, reader, too_slow}, return_when=asyncio.FIRST_COMPLETED)
        if too_slow in done:
            log.info("subscribeModEvents: %s fell %d events behind; closing", who, stream.backlog)
            sender.cancel()
            await _close(ws, error_frame("ConsumerTooSlow", f"More than {stream.backlog} events behind"), request)
    finally:
        stream.subscribers.discard(deliver)
        for task in (sender, reader, too_slow):
            task.cancel()
        await asyncio.gather(sender, reader, too_slow, return_exceptions=True)
        if not ws.closed:
            await _close(ws, None, request)
    return ws


async def _send(ws: web.WebSocketResponse, queue: asyncio.Queue[ModEvent]) -> None:
    while True:
        event = await queue.get()
        await ws.send_bytes(frame(event))


async def _read(ws: web.WebSocketResponse) -> None:
    """Read (and drop) what the client sends, until it closes."""
    async for message in ws:
        if message.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
            break


async def _close(ws: web.WebSocketResponse, last: bytes | None, request: Any = None) -> None:
    """Send ``last`` (an error frame) and close; a consumer that reads nothing is cut off."""
    try:
        if last is not None:
            await asyncio.wait_for(ws.send_bytes(last), CLOSE_TIMEOUT)
        await asyncio.wait_for(ws.close(code=1008 if last else 1000), CLOSE_TIMEOUT)
    except (asyncio.TimeoutError, ConnectionError, RuntimeError):
        transport = request.transport if request is not None else None
        if transport is not None:
            transport.abort()
