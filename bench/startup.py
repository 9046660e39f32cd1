"""Start-up time of ``bsky-chat-mock serve``: from launching the process to its listening line.

Run: ``.venv/bin/python bench/startup.py [--runs 5]``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def once(args: list[str]) -> float:
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--log-level", "WARNING", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - started
    proc.terminate()
    proc.wait(timeout=10)
    assert "listening on" in line, line
    return elapsed * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    for label, extra in (("--empty", ["--empty"]), ("demo scenario", [])):
        samples = [once(extra) for _ in range(args.runs)]
        print(
            f"serve {label:14} to listening line: median {statistics.median(samples):6.0f} ms "
            f"(min {min(samples):.0f}, max {max(samples):.0f}, {args.runs} runs)"
        )


if __name__ == "__main__":
    main()
