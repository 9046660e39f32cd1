"""The baseline: a bare aiohttp handler answering a fixed JSON body of a given size.

Usage: python bench/bare.py SIZE. Prints 'listening on URL' and serves until killed.
"""

from __future__ import annotations

import asyncio
import json
import sys

from aiohttp import web


async def main(size: int) -> None:
    body = json.dumps({"pad": "x" * max(size - 10, 0)})

    async def handler(request: web.Request) -> web.Response:
        return web.Response(text=body, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(f"listening on http://127.0.0.1:{runner.addresses[0][1]}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
