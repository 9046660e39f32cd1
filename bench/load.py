"""Throughput and latency of the mock against a bare aiohttp handler, side by side.

The mock (``bsky-chat-mock serve``) and the bare handler (bench/bare.py, answering a fixed JSON
body as big as the mock's getConvo answer) each run in their own process, and so does the load
generator (bench/loadgen.py). Run: ``.venv/bin/python bench/load.py [--requests 3000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000, help="requests per measurement")
    args = parser.parse_args()
    n = args.requests
    mock, url = start([PY, "-m", "mockserver", "serve", "--port", "0", "--empty", "--log-level", "WARNING"])
    try:
        ctx = setup(url, n * len(CONCURRENCY))
        bare, bare_url = start([PY, str(HERE / "bare.py"), str(ctx["size"])])
        try:
            x = f"{url}/xrpc/chat.bsky."
            cid, auth = ctx["convo"], ctx["auth"]
            calls = {
                "getConvo": lambda i: ["GET", f"{x}convo.getConvo?convoId={cid}", auth, None],
                # a throwaway parameter makes every call miss the read cache
                "getConvo fresh": lambda i: ["GET", f"{x}convo.getConvo?convoId={cid}&nocache={i}", auth, None],
                "getMessages": lambda i: ["GET", f"{x}convo.getMessages?convoId={cid}&limit=50", auth, None],
                "listConvos": lambda i: ["GET", f"{x}convo.listConvos", auth, None],
                "sendMessage": lambda i: [
                    "POST",
                    f"{x}convo.sendMessage",
                    auth,
                    {"convoId": cid, "message": {"text": f"load {i}"}},
                ],
            }
            rows = []
            joiner = iter(ctx["joiners"])
            for c in CONCURRENCY:
                base = load([["GET", f"{bare_url}/x", {}, None]] * n, c, server_pid=bare.pid)
                rows.append(("bare handler", c, base, 1.0))
                for name, make in calls.items():
                    result = load([make(i) for i in range(n)], c, server_pid=mock.pid)
                    rows.append((name, c, result, result["rps"] / base["rps"]))
                join = [
                    [
                        "POST",
                        f"{x}group.requestJoin",
                        {"Authorization": f"Bearer {next(joiner)}"},
                        {"code": ctx["code"]},
                    ]
                    for _ in range(n)
                ]
                result = load(join, c, server_pid=mock.pid)
                rows.append(("requestJoin", c, result, result["rps"] / base["rps"]))
        finally:
            bare.kill()
    finally:
        mock.kill()
    print(f"getConvo answer: {ctx['size']} bytes (the bare handler answers as many); {n} requests per row")
    print("cpu us: the server process's CPU time per request (the bare handler's for its rows)")
    print(
        f"{'call':14} {'conc':>4} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'vs bare':>8} {'cpu us':>7} {'errors':>6}"
    )
    for name, c, r, ratio in rows:
        cpu = f"{r['cpu_us']:7.0f}" if "cpu_us" in r else f"{'-':>7}"
        print(
            f"{name:14} {c:4d} {r['rps']:8.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {ratio:8.2f} {cpu} "
            f"{int(r['errors']):6d}"
        )


if __name__ == "__main__":
    main()
