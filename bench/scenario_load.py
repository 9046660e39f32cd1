"""Load and reset times of scenarios: the built-in demo and a generated one of 1,000 groups.

Run: ``.venv/bin/python bench/scenario_load.py [--groups 1000] [--repeat 5]``. Prints the median
of ``--repeat`` runs for checking a spec, loading it, and resetting to it (reload).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from mockserver import Service
from scenarios import ScenarioSource, check, find, load


def generated(groups: int, members: int, messages: int) -> dict[str, Any]:
    """A scenario of ``groups`` groups of ``members`` with ``messages`` messages each."""
    actors = {f"u{i}": {} for i in range(groups * 2)}
    spec: dict[str, Any] = {"description": "generated", "seed": 1, "actors": actors, "groups": {}}
    for g in range(groups):
        people = [f"u{(g * 3 + k) % len(actors)}" for k in range(members)]
        spec["groups"][f"g{g}"] = {
            "owner": people[0],
            "name": f"Group {g}",
            "members": people[1:],
            "link": {"code": f"code-{g}"},
            "messages": [
                {"from": people[m % members], "text": f"m{m}", "ago": f"{messages - m}m"} for m in range(messages)
            ],
        }
    return spec


def median_ms(fn: Callable[[], Any], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--groups", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    service = Service()
    cases = [
        ("demo", find("demo")),
        (f"{args.groups} groups x 10, 5 msgs", ScenarioSource("big", "generated", generated(args.groups, 10, 5))),
    ]
    print(f"{'scenario':28} {'check ms':>10} {'load ms':>10} {'reset ms':>10}")
    for name, source in cases:
        checking = median_ms(lambda source=source: check(source.spec, source.source), args.repeat)  # type: ignore[misc]
        loading = median_ms(lambda source=source: load(service, source), args.repeat)  # type: ignore[misc]
        resetting = median_ms(service.reload_scenario, args.repeat)
        print(f"{name:28} {checking:10.1f} {loading:10.1f} {resetting:10.1f}")


if __name__ == "__main__":
    main()
