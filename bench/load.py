"""Throughput and latency of the mock against a bare aiohttp handler, side by side.

The mock (``bsky-chat-mock serve``) and the bare handler (bench/bare.py, answering a fixed JSON
body as big as the mock's getConvo answer) each run in their own process, and so does the load
generator (bench/loadgen.py). Run: ``.venv/bin/python bench/load.py [--requests 3000] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).parent
PY = sys.executable
CONCURRENCY = (1, 8, 64)


def start(args: list[str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    return proc, line.strip().rsplit(" ", 1)[1]


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time a process has used so far (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(
    requests: list[list[Any]], concurrency: int, errors_ok: bool = False, server_pid: int | None = None
) -> dict[str, float]:
    """Run the load generator; with ``server_pid``, also the server's CPU time per request in us
    (steadier than req/s on a shared machine: it does not count time spent waiting for a core)."""
    spec = json.dumps({"requests": requests, "concurrency": concurrency, "errors_ok": errors_ok})
    before = cpu_seconds(server_pid) if server_pid else None
    out = subprocess.run([PY, str(HERE / "loadgen.py")], input=spec, capture_output=True, text=True, check=True)
    after = cpu_seconds(server_pid) if server_pid else None
    result: dict[str, float] = json.loads(out.stdout)
    if before is not None and after is not None:
        result["cpu_us"] = (after - before) / len(requests) * 1e6
    return result


def setup(url: str, joiners: int) -> dict[str, Any]:
    """A group of 20 with 200 messages and an approval link, and ``joiners`` accounts to use it."""
    with httpx.Client(base_url=url, timeout=30) as http:
        owner = http.post("/_mock/actors", json={"handle": "owner.test"}).json()
        members = [http.post("/_mock/actors", json={}).json() for _ in range(19)]
        auth = {"Authorization": f"Bearer {owner['accessJwt']}"}
        convo = http.post(
            "/xrpc/chat.bsky.group.createGroup",
            headers=auth,
            json={"name": "Bench", "members": [m["did"] for m in members]},
        ).json()["convo"]["id"]
        for i in range(200):
            http.post(
                "/xrpc/chat.bsky.convo.sendMessage",
                headers=auth,
                json={"convoId": convo, "message": {"text": f"message number {i}"}},
            )
        code = http.post(
            "/xrpc/chat.bsky.group.createJoinLink",
            headers=auth,
            json={"convoId": convo, "joinRule": "anyone", "requireApproval": True},
        ).json()
        others = [http.post("/_mock/actors", json={}).json()["accessJwt"] for _ in range(joiners)]
        size = len(http.get("/xrpc/chat.bsky.convo.getConvo", params={"convoId": convo}, headers=auth).content)
    return {"auth": auth, "convo": convo, "code": code["joinLink"]["code"], "joiners": others, "size": size}


def median_of(results: list[dict[str, float]], field: str) -> float:
    return statistics.median(r[field] for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000, help="requests per measurement")
    parser.add_argument("--repeat", type=int, default=3, help="measurements per row (medians are shown)")
    args = parser.parse_args()
    n, repeat = args.requests, args.repeat
    mock, url = start([PY, "-m", "mockserver", "serve", "--port", "0", "--empty", "--log-level", "WARNING"])
    try:
        ctx = setup(url, n * len(CONCURRENCY) * repeat)
        bare, bare_url = start([PY, str(HERE / "bare.py"), str(ctx["size"])])
        try:
            x = f"{url}/xrpc/chat.bsky."
            cid, auth = ctx["convo"], ctx["auth"]
            joiner = iter(ctx["joiners"])
            calls: dict[str, Callable[[int], list[Any]]] = {
                "getConvo": lambda i: ["GET", f"{x}convo.getConvo?convoId={cid}", auth, None],
                # a throwaway parameter makes every call miss the read cache (the answer is built,
                # encoded and journaled each time, as after a write); decoded parameters stay cached
                "getConvo fresh": lambda i: ["GET", f"{x}convo.getConvo?convoId={cid}&nocache={i}", auth, None],
                "getMessages": lambda i: ["GET", f"{x}convo.getMessages?convoId={cid}&limit=50", auth, None],
                "listConvos": lambda i: ["GET", f"{x}convo.listConvos", auth, None],
                "sendMessage": lambda i: [
                    "POST",
                    f"{x}convo.sendMessage",
                    auth,
                    {"convoId": cid, "message": {"text": f"load {i}"}},
                ],
                # a fresh account per call: each one creates a pending request
                "requestJoin": lambda i: [
                    "POST",
                    f"{x}group.requestJoin",
                    {"Authorization": f"Bearer {next(joiner)}"},
                    {"code": ctx["code"]},
                ],
            }
            bare_requests: list[list[Any]] = [["GET", f"{bare_url}/x", {}, None]] * n
            rows = []
            tag = 0
            for c in CONCURRENCY:
                # the bare handler runs right before every measurement, and each is compared with its
                # own run: this machine's speed drifts by tens of percent over a minute
                bases: list[dict[str, float]] = []
                mine: list[tuple[str, list[dict[str, float]], list[float]]] = []
                for name, make in calls.items():
                    results, ratios = [], []
                    for _ in range(repeat):
                        tag += 1
                        bases.append(load(bare_requests, c, server_pid=bare.pid))
                        requests = [make(tag * n + i) for i in range(n)]
                        results.append(load(requests, c, server_pid=mock.pid))
                        ratios.append(results[-1]["rps"] / bases[-1]["rps"])
                    mine.append((name, results, ratios))
                rows.append(("bare handler", c, bases, 1.0))
                rows.extend((name, c, results, statistics.median(ratios)) for name, results, ratios in mine)
        finally:
            bare.kill()
    finally:
        mock.kill()
    print(f"getConvo answer: {ctx['size']} bytes (the bare handler answers as many); {n} requests per measurement")
    print(f"medians of {repeat} measurements per row; vs bare: req/s over the bare handler's, measured just before")
    print("cpu us: the server process's CPU time per request (the bare handler's for its rows)")
    print(
        f"{'call':14} {'conc':>4} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'vs bare':>8} {'cpu us':>7} {'errors':>6}"
    )
    for name, c, results, ratio in rows:
        cpu = f"{median_of(results, 'cpu_us'):7.0f}" if all("cpu_us" in r for r in results) else f"{'-':>7}"
        errors = sum(int(r["errors"]) for r in results)
        print(
            f"{name:14} {c:4d} {median_of(results, 'rps'):8.0f} {median_of(results, 'p50_ms'):8.2f} "
            f"{median_of(results, 'p99_ms'):8.2f} {ratio:8.2f} {cpu} {errors:6d}"
        )


if __name__ == "__main__":
    main()
