"""getLog on a large state, round by round, with the journal keeping answers or not.

Builds a state as bench/scale.py does, then reads getLog in rounds of ``--calls``, switching the
journal's byte limit between rounds (32 MB: answers kept; 0: none kept, journal emptied), and
prints each round's median latency and minor page faults per call (client and server share the
process). Shows that the large state's slower getLog in scale.py belongs to the first rounds
after the build, not to the state's size. Run:
``.venv/bin/python bench/scale_journal.py --groups 10000 --actors 100000`` (and ``--groups 10
--actors 100`` for the small state).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import httpx
from scale import add_state_arguments, build

from mockserver import MockChatServer

ROUNDS_MB = (32, 32, 32, 0, 0, 0, 32, 32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_state_arguments(parser, messages=100)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    with MockChatServer() as server:
        probe = server.call(lambda s: build(s, args.groups, args.members, args.messages, args.actors), timeout=3600)
        owner = server.state.actors[probe["owner"]]
        token = server.call(lambda s: s.tokens.issue(s.state, owner).access_jwt)
        with httpx.Client(base_url=f"{server.url}/xrpc/", headers={"Authorization": f"Bearer {token}"}) as http:
            for i in range(20):  # warm-up
                http.get("chat.bsky.convo.getLog", params={"nocache": f"w{i}"}).raise_for_status()
            for round_no, limit_mb in enumerate(ROUNDS_MB):
                server.service.journal.max_bytes = limit_mb * 1024 * 1024
                if limit_mb == 0:
                    server.call(lambda s: s.journal.clear())
                faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
                samples = []
                for i in range(args.calls):
                    started = time.perf_counter()
                    http.get("chat.bsky.convo.getLog", params={"nocache": f"{round_no}.{i}"}).raise_for_status()
                    samples.append(time.perf_counter() - started)
                faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
                kept = server.service.journal.bytes / 1e6
                median = statistics.median(samples) * 1000
                print(
                    f"journal limit {limit_mb:2d} MB: getLog median {median:.3f} ms, "
                    f"{faults / args.calls:.0f} page faults per call, journal {kept:.0f} MB",
                    flush=True,
                )


if __name__ == "__main__":
    main()
