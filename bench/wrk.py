"""Throughput as people run it: ``wrk`` (C, one thread) against the default ``bsky-chat-mock serve``
(INFO logging, one access line per request) and against a bare aiohttp handler answering a body
of the same size, A B A B in one run.

Run: ``.venv/bin/python bench/wrk.py [--seconds 3] [--repeat 2] [--log-level INFO] [--calls
getConvo,sendMessage] [--members 20] [--messages 200]``; ``make bench`` installs wrk (Debian's
package) when it is missing. The state: a group of ``--members`` with ``--messages`` messages.
Rows: repeated getConvo (answered from the read cache), getConvo with a new query each time
(built every time, as after a write), sendMessage, requestJoin (each call a new pair of account
and approval link, so each one makes a pending request; every run goes on from the pairs the
runs before it used); req/s at 32 connections, the server's CPU per request, the kernel's part
of it for both servers (``sys us b/m``: its system calls, reading requests and sending answers),
and p99 latency (the mock's median and worst of the runs, and the bare handler's worst). With
``--floor``, each row is also run against bench/floor.py: an aiohttp handler that decodes the
query, reads, parses and checks the body by the lexicon and encodes the mock's answer, and
nothing else (no token, state, journal or log line): the most any call can reach.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).parent))
from load import cpu_seconds, setup, start, user_system_seconds

HERE = Path(__file__).parent
PY = sys.executable

LUA_GET = """
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", string.gsub(wrk.path, "{n}", tostring(counter)), {["Authorization"] = AUTH})
end
"""
LUA_POST = """
counter = 0
request = function()
  counter = counter + 1
  local body = string.gsub(BODY, "{n}", tostring(counter))
  return wrk.format("POST", wrk.path, {["Authorization"] = AUTH, ["Content-Type"] = "application/json"}, body)
end
"""
LUA_JOIN = """
tokens = {}
for line in io.lines(TOKENS) do tokens[#tokens + 1] = line end
codes = {}
for line in io.lines(CODES) do codes[#codes + 1] = line end
counter = tonumber(OFFSET)
request = function()
  counter = counter + 1
  local token = tokens[((counter - 1) % #tokens) + 1]
  local code = codes[(math.floor((counter - 1) / #tokens) % #codes) + 1]
  local headers = {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}
  return wrk.format("POST", wrk.path, headers, '{"code": "' .. code .. '"}')
end
"""


def lua(template: str, **values: str) -> str:
    """A wrk script file: ``values`` as Lua globals, then ``template``."""
    head = "".join(f"{name} = [==[{value}]==]\n" for name, value in values.items())
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(head + template)
    return script.name


def wrk(url: str, script: str | None, connections: int, seconds: float) -> dict[str, float]:
    """One wrk run: req/s, p99 latency in ms, and non-2xx answers."""
    args = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", url]
    if script:
        args[1:1] = ["-s", script]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    total = re.search(r"(\d+) requests in", out)
    return {
        "rps": rps,
        "p99_ms": float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan"),
        "errors": float(errors.group(1)) if errors else 0.0,
        "requests": float(total.group(1)) if total else 0.0,
    }


def make_joiners(url: str, auth: str, code: str, joiners: int, links: int, tokens: Path, codes: Path) -> None:
    """``joiners`` accounts (their tokens, a line each) and ``links`` approval links (their codes,
    ``code`` first, the others each of a group of its own) for requestJoin."""
    with httpx.Client(base_url=url, timeout=60, headers={"Authorization": auth}) as http:
        with tokens.open("w") as out:
            for _ in range(joiners):
                out.write(http.post("/_mock/actors", json={}).json()["accessJwt"] + "\n")
        with codes.open("w") as out:
            out.write(code + "\n")
            for n in range(links - 1):
                member = http.post("/_mock/actors", json={}).json()["did"]
                group = http.post(
                    "/xrpc/chat.bsky.group.createGroup", json={"name": f"Links {n}", "members": [member]}
                ).json()["convo"]["id"]
                link = {"convoId": group, "joinRule": "anyone", "requireApproval": True}
                out.write(http.post("/xrpc/chat.bsky.group.createJoinLink", json=link).json()["joinLink"]["code"])
                out.write("\n")


def floor_answers(url: str, ctx: dict[str, Any]) -> dict[str, Any]:
    """The mock's answers to one call of each row's method, for bench/floor.py to give."""
    x = "/xrpc/chat.bsky."
    with httpx.Client(base_url=url, timeout=60, headers=ctx["auth"]) as http:
        joiner = http.post("/_mock/actors", json={}).json()["accessJwt"]
        return {
            "chat.bsky.convo.getConvo": http.get(f"{x}convo.getConvo", params={"convoId": ctx["convo"]}).json(),
            "chat.bsky.convo.sendMessage": http.post(
                f"{x}convo.sendMessage", json={"convoId": ctx["convo"], "message": {"text": "load 0"}}
            ).json(),
            "chat.bsky.group.requestJoin": http.post(
                f"{x}group.requestJoin", json={"code": ctx["code"]}, headers={"Authorization": f"Bearer {joiner}"}
            ).json(),
        }


def measured(pid: int, url: str, script: str | None, connections: int, seconds: float) -> dict[str, float]:
    """One wrk run, with the server's CPU time a request (``cpu_us``) and the kernel's part of it (``sys_us``)."""
    before, kernel = cpu_seconds(pid), user_system_seconds(pid)[1]
    result = wrk(url, script, connections, seconds)
    after = cpu_seconds(pid)
    if before is not None and after is not None and result["requests"]:
        result["cpu_us"] = (after - before) / result["requests"] * 1e6
        result["sys_us"] = (user_system_seconds(pid)[1] - kernel) / result["requests"] * 1e6
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=3, help="length of each wrk run")
    parser.add_argument("--repeat", type=int, default=2, help="A B pairs per row (medians are shown)")
    parser.add_argument("--log-level", default="INFO", help="the mock's --log-level (INFO: the default serve)")
    parser.add_argument(
        "--calls", default="", help="comma-separated rows to run (getConvo, 'getConvo fresh', ...); default all"
    )
    parser.add_argument("--members", type=int, default=20, help="members of the group read and written to")
    parser.add_argument("--messages", type=int, default=200, help="messages in it before the runs")
    parser.add_argument("--joiners", type=int, default=6000, help="accounts made for requestJoin")
    parser.add_argument("--links", type=int, default=40, help="groups with an approval link each for requestJoin")
    parser.add_argument(
        "--floor", action="store_true", help="run each row against bench/floor.py too (only a call's unavoidable steps)"
    )
    args = parser.parse_args()
    calls = ("getConvo", "getConvo fresh", "sendMessage", "requestJoin")
    wanted = [c.strip() for c in args.calls.split(",") if c.strip()] or list(calls)
    unknown = [c for c in wanted if c not in calls]
    if unknown:
        sys.exit(f"unknown --calls {', '.join(unknown)}: choose from {', '.join(calls)}")
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk (make bench does)")
    log = Path(tempfile.mkdtemp()) / "mock.log"  # the access log goes to a file, as to a terminal
    command = [PY, "-m", "mockserver", "serve", "--port", "0", "--empty", "--log-level", args.log_level]
    mock = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log.open("w"), text=True)
    assert mock.stdout is not None
    url = mock.stdout.readline().strip().rsplit(" ", 1)[1]
    bare, bare_url = start([PY, str(HERE / "bare.py")])
    try:
        ctx = setup(url, 0, args.members, args.messages)
        auth = ctx["auth"]["Authorization"]
        # requestJoin: each call a new (account, link) pair, so every one makes a pending request
        tokens, codes = log.parent / "tokens.txt", log.parent / "codes.txt"
        if "requestJoin" in wanted:
            make_joiners(url, auth, ctx["code"], args.joiners, args.links, tokens, codes)
        join_pairs = args.joiners * args.links
        cid = ctx["convo"]
        x = f"{url}/xrpc/chat.bsky."
        rows: dict[str, tuple[str, str | None]] = {
            "getConvo": (f"{x}convo.getConvo?convoId={cid}", lua(LUA_GET, AUTH=auth)),
            "getConvo fresh": (f"{x}convo.getConvo?convoId={cid}&n={{n}}", lua(LUA_GET, AUTH=auth)),
            "sendMessage": (
                f"{x}convo.sendMessage",
                lua(LUA_POST, AUTH=auth, BODY=f'{{"convoId": "{cid}", "message": {{"text": "load {{n}}"}}}}'),
            ),
            "requestJoin": (f"{x}group.requestJoin", None),  # its script goes on from the pairs used so far
        }
        sizes = {
            "getConvo": len(httpx.get(rows["getConvo"][0], headers={"Authorization": auth}).content),
            "sendMessage": 149,
            "requestJoin": 20,
        }
        sizes["getConvo fresh"] = sizes["getConvo"]
        floor_url = ""
        if args.floor:
            answers = log.parent / "answers.json"
            answers.write_bytes(orjson.dumps(floor_answers(url, ctx)))
            floor, floor_url = start([PY, str(HERE / "floor.py"), str(answers)])
        rows = {name: row for name, row in rows.items() if name in wanted}
        print(
            f"wrk -t1, {args.seconds:g} s runs, medians of {args.repeat} A B pairs; "
            f"serve --log-level {args.log_level}; a group of {args.members} with {args.messages} messages"
        )
        print(
            f"{'call':16} {'conns':>5} {'bare req/s':>10} {'mock req/s':>10} {'ratio':>6} {'bare cpu us':>11} "
            f"{'mock cpu us':>11} {'cpu ratio':>9} {'sys us b/m':>10} {'p99 ms med/max/bare':>20} {'errors':>6}"
            + (f" {'floor ratio':>11} {'floor cpu us':>12}" if args.floor else "")
        )
        joined = 0
        for connections in (32, 8):
            for name, (target, script) in rows.items():
                bases: list[dict[str, float]] = []
                mocks: list[dict[str, float]] = []
                floors: list[dict[str, float]] = []
                for _ in range(args.repeat):
                    bases.append(measured(bare.pid, f"{bare_url}/size/{sizes[name]}", None, connections, args.seconds))
                    if name == "requestJoin":
                        script = lua(LUA_JOIN, TOKENS=str(tokens), CODES=str(codes), OFFSET=str(joined))
                    if args.floor:
                        floors.append(
                            measured(floor.pid, floor_url + target[len(url) :], script, connections, args.seconds)
                        )
                    mocks.append(measured(mock.pid, target, script, connections, args.seconds))
                    if name == "requestJoin":
                        joined += int(mocks[-1]["requests"]) + connections  # and any still in flight
                med = lambda rs, f: statistics.median(r.get(f, float("nan")) for r in rs)  # noqa: E731
                pairs = list(zip(mocks, bases, strict=True))
                ratio = statistics.median(m["rps"] / b["rps"] for m, b in pairs)
                kernel = f"{med(bases, 'sys_us'):.0f}/{med(mocks, 'sys_us'):.0f}"
                worst = max(m["p99_ms"] for m in mocks), max(b["p99_ms"] for b in bases)
                p99 = f"{med(mocks, 'p99_ms'):.2f}/{worst[0]:.2f}/{worst[1]:.2f}"
                cpu_ratio = statistics.median(b.get("cpu_us", 0) / m.get("cpu_us", 1) for m, b in pairs)
                print(
                    f"{name:16} {connections:5d} {med(bases, 'rps'):10.0f} {med(mocks, 'rps'):10.0f} {ratio:6.2f} "
                    f"{med(bases, 'cpu_us'):11.0f} {med(mocks, 'cpu_us'):11.0f} {cpu_ratio:9.2f} "
                    f"{kernel:>10} "
                    f"{p99:>20} {int(sum(m['errors'] for m in mocks + floors)):6d}"
                    + (
                        f" {statistics.median(f['rps'] / b['rps'] for f, b in zip(floors, bases, strict=True)):11.2f}"
                        f" {med(floors, 'cpu_us'):12.0f}"
                        if floors
                        else ""
                    )
                )
        if joined > join_pairs:
            print(
                f"note: requestJoin sent {joined} calls for {join_pairs} (account, link) pairs: "
                "the rest asked again (raise --joiners or --links)"
            )
    finally:
        bare.kill()
        mock.kill()
        if floor_url:
            floor.kill()
        shutil.rmtree(log.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
