"""The baseline: a bare aiohttp handler answering a fixed JSON body of the size asked for.

Usage: python bench/bare.py. ``GET /size/N`` answers a JSON body of N bytes. Prints
'listening on URL' and serves until killed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

from aiohttp import web


async def serve(path: str, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> None:
    """Serve ``handler`` at ``path`` (any method) on a free port of 127.0.0.1 without an access
    log, print 'listening on URL' and serve until cancelled."""
    app = web.Application()
    app.router.add_route("*", path, handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(f"listening on http://127.0.0.1:{runner.addresses[0][1]}", flush=True)
    await asyncio.Event().wait()


async def main() -> None:
    bodies: dict[int, bytes] = {}

    async def handler(request: web.Request) -> web.Response:
        size = int(request.match_info["size"])
        if size not in bodies:
            bodies[size] = json.dumps({"pad": "x" * max(size - 11, 0)}).encode()  # '{"pad": ""}' is 11 bytes
        return web.Response(body=bodies[size], content_type="application/json")

    await serve("/size/{size}", handler)


if __name__ == "__main__":
    asyncio.run(main())
