"""The floor: an aiohttp handler doing only the steps every XRPC call must take, and no more.

Usage: ``python bench/floor.py ANSWERS.json``, where ANSWERS maps an NSID to the answer to give
(the JSON the mock gave to the same call). ``GET /xrpc/NSID`` decodes its query by the method's
lexicon; ``POST /xrpc/NSID`` reads the body, parses it and checks it against the lexicon (as the
mock does: ``mockserver.lexicons``, lexrpc underneath); both then encode the answer and send it.
No token, no state, no journal, no log line: what is left between this and the mock is the
mock's own work. ``bench/wrk.py --floor`` measures it beside the bare handler and the mock.
Prints 'listening on URL' and serves until killed.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import orjson
from aiohttp import web
from bare import serve  # bench/ is on the path when this runs

from mockserver.errors import XrpcError
from mockserver.lexicons import bundled


async def main(answers: dict[str, Any]) -> None:
    lexicons = bundled()

    async def handler(request: web.Request) -> web.Response:
        nsid = request.match_info["nsid"]
        try:
            lexicons.decode_params(nsid, list(request.query.items()))
            if request.method == "POST":
                data = orjson.loads(await request.read())
                lexicons.validate(nsid, "input", data)
        except XrpcError as e:
            return web.Response(status=e.status, body=orjson.dumps(e.body()), content_type="application/json")
        return web.Response(body=orjson.dumps(answers[nsid]), content_type="application/json", charset="utf-8")

    await serve("/xrpc/{nsid}", handler)


if __name__ == "__main__":
    with open(sys.argv[1]) as given:
        asyncio.run(main(json.load(given)))
