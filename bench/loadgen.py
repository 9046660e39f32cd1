"""A load generator for bench/load.py, run in its own process: N requests at concurrency C.

Usage: python bench/loadgen.py SPEC_JSON. SPEC: {"requests": [[method, url, headers, body|null], ...],
"concurrency": C}. The requests are cycled in order. Prints {"rps", "p50_ms", "p99_ms", "errors"}.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from typing import Any

import aiohttp


async def run(spec: dict[str, Any]) -> dict[str, float]:
    requests = spec["requests"]
    latencies: list[float] = []
    errors = 0
    queue = iter(range(len(requests)))
    connector = aiohttp.TCPConnector(limit=spec["concurrency"])
    async with aiohttp.ClientSession(connector=connector) as http:

        async def worker() -> None:
            nonlocal errors
            for i in queue:
                method, url, headers, body = requests[i]
                started = time.perf_counter()
                async with http.request(method, url, headers=headers, json=body) as r:
                    await r.read()
                    if r.status >= 500 or (r.status >= 400 and not spec.get("errors_ok")):
                        errors += 1
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(spec["concurrency"])))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "errors": errors,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(json.loads(sys.stdin.read())))))
