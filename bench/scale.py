"""Latency of the group reads on a small state and on a large one, side by side.

The cost of a call should grow with the size of its answer, not with the size of the state:
the ratio column should stay near 1. Run: ``.venv/bin/python bench/scale.py [--groups N]``.
The state is built with the domain operations directly (no HTTP), then read over HTTP (median
and p99 of ``--repeat`` calls). Then the large state is dumped (as ``GET /_mock/state`` gives it)
and loaded back in a fresh process, as a test would restore it: load time and that process's RSS.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from mockserver import MockChatServer, snapshot
from mockserver.accounts import create_actor
from mockserver.groups import create_group
from mockserver.history import add_member, system_message
from mockserver.messages import send_message
from mockserver.service import Service


def build(service: Service, groups: int, members: int, messages: int, actors: int) -> dict[str, Any]:
    """Fill the state: ``actors`` accounts, ``groups`` groups of ``members``, ``messages`` per group."""
    state, lex = service.state, service.lexicons
    people = [
        create_actor(state, service.ids, service.clock, lex, {"handle": f"u{i}.test", "displayName": f"U {i}"})
        for i in range(actors)
    ]
    probe_convo = ""
    for g in range(groups):
        owner = people[g % len(people)]
        convo = create_group(service, owner, f"group {g}", [])
        for k in range(1, members):
            did = people[(g * 7 + k) % len(people)].did
            if did in convo.members:
                continue
            add_member(state, convo, did, role="standard", status="accepted", added_by=owner.did, joined_seq=0)
        system_message(
            service,
            convo,
            "systemMessageDataEditGroup",
            {"oldName": "", "newName": convo.name},
            "logEditGroup",
            set(convo.members),
        )
        speakers = list(convo.members)
        for m in range(messages):
            sender = state.actors[speakers[m % len(speakers)]]
            send_message(service, sender, convo.id, {"text": f"message {m}"})
        probe_convo = convo.id
    return {"convo": probe_convo, "owner": state.convos[probe_convo].owner}


CALLS = [
    ("getConvo", "chat.bsky.convo.getConvo", True),
    ("listConvos", "chat.bsky.convo.listConvos", False),
    ("getConvoMembers", "chat.bsky.convo.getConvoMembers", True),
    ("getMessages", "chat.bsky.convo.getMessages", True),
    ("getLog", "chat.bsky.convo.getLog", False),
]


def measure(
    groups: int, members: int, messages: int, actors: int, repeat: int, dump_to: Path | None = None
) -> dict[str, float]:
    with MockChatServer() as server:
        started = time.perf_counter()
        probe = server.call(lambda s: build(s, groups, members, messages, actors), timeout=3600)
        built = time.perf_counter() - started
        state_rss = _rss_now()
        owner = server.state.actors[probe["owner"]]
        token = server.call(lambda s: s.tokens.issue(s.state, owner).access_jwt)
        out: dict[str, float] = {"build s": built}
        with httpx.Client(base_url=f"{server.url}/xrpc/", headers={"Authorization": f"Bearer {token}"}) as http:
            for name, nsid, needs_convo in CALLS:
                # listConvos pages 3 convos: the probed account is in at least 3 in both states
                params = {"convoId": probe["convo"]} if needs_convo else {"limit": 3} if name == "listConvos" else {}
                for _ in range(5):
                    http.get(nsid, params=params).raise_for_status()
                samples = []
                for i in range(repeat):
                    t = time.perf_counter()
                    # a throwaway parameter makes every call miss the read cache: this measures the work
                    http.get(nsid, params={**params, "nocache": str(i)}).raise_for_status()
                    samples.append((time.perf_counter() - t) * 1000)
                samples.sort()
                out[f"{name} ms"] = statistics.median(samples)
                out[f"{name} p99 ms"] = samples[max(0, int(len(samples) * 0.99) - 1)]
        out["RSS built MB"] = state_rss
        out["max RSS MB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        if dump_to is not None:
            dump_to.write_bytes(orjson.dumps(server.call(snapshot.dump, timeout=3600)))
        return out


def _rss_now() -> float:
    """The process's resident memory now, in MB (Linux)."""
    return int(Path("/proc/self/status").read_text().split("VmRSS:")[1].split()[0]) / 1024


def load_dump(path: Path) -> None:
    """In a fresh process: load a state dump into a server; print seconds, peak RSS (the parsed
    JSON and the state together) and RSS once the parsed JSON is gone (the state alone), in MB."""
    with MockChatServer() as server:
        started = time.perf_counter()
        parsed = [orjson.loads(path.read_bytes())]
        server.call(lambda s: snapshot.load(s, parsed.pop()), timeout=3600)
        seconds = time.perf_counter() - started
        gc.collect()
        now = _rss_now()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{seconds:.1f} {peak:.0f} {now:.0f}")


def add_state_arguments(parser: argparse.ArgumentParser, messages: int = 20) -> None:
    """The options that size the large state (``build``'s arguments)."""
    parser.add_argument("--groups", type=int, default=2000)
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--messages", type=int, default=messages, help="per group")
    parser.add_argument("--actors", type=int, default=20000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_state_arguments(parser)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--no-dump", action="store_true", help="skip dumping the large state and loading it back")
    parser.add_argument("--load-dump", type=Path, help=argparse.SUPPRESS)  # the fresh process's part
    args = parser.parse_args()
    if args.load_dump:
        load_dump(args.load_dump)
        return
    # the small state has the same density (groups per account) so answers are the same size
    small_actors = max(args.members + 1, 10 * args.actors // args.groups)
    small = measure(10, args.members, args.messages, small_actors, args.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        dumped = Path(tmp) / "state.json"
        large = measure(
            args.groups, args.members, args.messages, args.actors, args.repeat, None if args.no_dump else dumped
        )
        if not args.no_dump:
            size_mb = dumped.stat().st_size / 1e6
            out = subprocess.run(
                [sys.executable, __file__, "--load-dump", str(dumped)], stdout=subprocess.PIPE, text=True, check=True
            ).stdout.split()
    print(
        f"state: small = 10 groups, {small_actors} actors; large = {args.groups} groups x {args.members} members, "
        f"{args.actors} actors, {args.groups * args.messages} messages (pid {os.getpid()})"
    )
    print(f"{'':22} {'small':>10} {'large':>10} {'ratio':>7}")
    for key in small:
        if "RSS" not in key:
            ratio = large[key] / small[key] if small[key] else float("nan")
            print(f"{key:22} {small[key]:10.3f} {large[key]:10.3f} {ratio:7.2f}")
    print(
        f"RSS with the large state built: {large['RSS built MB']:.0f} MB; max RSS after the reads "
        f"(the journal keeps their answers, up to 32 MB): {large['max RSS MB']:.0f} MB"
    )
    if not args.no_dump:
        print(
            f"state dump: {size_mb:.0f} MB of JSON; loaded in a fresh process in {out[0]} s, "
            f"max RSS {out[1]} MB while loading, {out[2]} MB once loaded"
        )


if __name__ == "__main__":
    main()
