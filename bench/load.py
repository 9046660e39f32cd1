"""Throughput and latency of the mock against a bare aiohttp handler, side by side.

The mock (``bsky-chat-mock serve``) and the bare handler (bench/bare.py, answering a JSON body as
big as the mock's answer to the call it is compared with) each run in their own process, and so
does the load generator (bench/loadgen.py). Run: ``.venv/bin/python bench/load.py [--requests 3000] [--repeat 3]``.
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
    """CPU time a process's threads have used so far, or None where Linux's /proc is missing.
    schedstat counts nanoseconds; stat's user + system time counts 10 ms ticks, too coarse for
    a few thousand requests of 100 us."""
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
        return sum(int((t / "schedstat").read_text().split()[0]) for t in tasks) / 1e9
    except (OSError, ValueError, IndexError):
        pass
    try:
        return sum(user_system_seconds(pid))
    except OSError:
        return None


def user_system_seconds(pid: int) -> tuple[float, float]:
    """A process's user and system CPU time so far, from /proc/PID/stat (10 ms ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


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


def setup(url: str, joiners: int, members: int = 20, messages: int = 200) -> dict[str, Any]:
    """A group of ``members`` (the owner too) with ``messages`` messages and an approval link, and
    ``joiners`` accounts to use it."""
    with httpx.Client(base_url=url, timeout=30) as http:
        owner = http.post("/_mock/actors", json={"handle": "owner.test"}).json()
        others = [http.post("/_mock/actors", json={}).json() for _ in range(members - 1)]
        auth = {"Authorization": f"Bearer {owner['accessJwt']}"}
        convo = http.post(
            "/xrpc/chat.bsky.group.createGroup",
            headers=auth,
            json={"name": "Bench", "members": [m["did"] for m in others]},
        ).json()["convo"]["id"]
        for i in range(messages):
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
    return {"auth": auth, "convo": convo, "code": code["joinLink"]["code"], "joiners": others}


def answer_size(request: list[Any]) -> int:
    """The size of the mock's answer to one request (made once, before the measurements)."""
    method, url, headers, body = request
    response = httpx.request(method, url, headers=headers, json=body)
    assert response.status_code == 200, response.text
    return len(response.content)


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
        ctx = setup(url, n * len(CONCURRENCY) * repeat + 1)
        bare, bare_url = start([PY, str(HERE / "bare.py")])
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
            sizes = {name: answer_size(make(-1)) for name, make in calls.items()}
            rows: list[tuple[str, int, list[dict[str, float]], float | None, float | None]] = []
            tag = 0
            for c in CONCURRENCY:
                # the bare handler runs right before every measurement, and each is compared with its
                # own run: this machine's speed drifts by tens of percent over a minute
                for name, make in calls.items():
                    bare_requests: list[list[Any]] = [["GET", f"{bare_url}/size/{sizes[name]}", {}, None]] * n
                    bases, results, ratios, cpu_ratios = [], [], [], []
                    for _ in range(repeat):
                        tag += 1
                        bases.append(load(bare_requests, c, server_pid=bare.pid))
                        requests = [make(tag * n + i) for i in range(n)]
                        results.append(load(requests, c, server_pid=mock.pid))
                        ratios.append(results[-1]["rps"] / bases[-1]["rps"])
                        if "cpu_us" in results[-1] and "cpu_us" in bases[-1]:
                            cpu_ratios.append(bases[-1]["cpu_us"] / results[-1]["cpu_us"])
                    cpu_ratio = statistics.median(cpu_ratios) if cpu_ratios else None
                    rows.append((f"  bare {sizes[name]} B", c, bases, None, None))
                    rows.append((name, c, results, statistics.median(ratios), cpu_ratio))
        finally:
            bare.kill()
    finally:
        mock.kill()
    print(f"{n} requests per measurement, medians of {repeat}; each call follows its own bare-handler run,")
    print("which answers a body of the same size as the call's answer (the row above it)")
    print("cpu us: the server process's CPU time per request; vs bare (rps): req/s over the bare handler's;")
    print("vs bare (cpu): the bare handler's CPU per request over the mock's, the share of the bare handler's")
    print("capacity the mock reaches when the server, not the load generator, is the limit")
    print(
        f"{'call':16} {'conc':>4} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'cpu us':>7} "
        f"{'vs bare (rps)':>13} {'vs bare (cpu)':>13} {'errors':>6}"
    )
    for name, c, results, ratio, cpu_ratio in rows:
        cpu = f"{median_of(results, 'cpu_us'):7.0f}" if all("cpu_us" in r for r in results) else f"{'-':>7}"
        errors = sum(int(r["errors"]) for r in results)
        shown = f"{ratio:13.2f} {cpu_ratio:13.2f}" if ratio is not None and cpu_ratio is not None else " " * 27
        print(
            f"{name:16} {c:4d} {median_of(results, 'rps'):8.0f} {median_of(results, 'p50_ms'):8.2f} "
            f"{median_of(results, 'p99_ms'):8.2f} {cpu} {shown} {errors:6d}"
        )


if __name__ == "__main__":
    main()
