"""Per-test cost of the ``chat_mock`` fixture against pytest-httpserver's ``httpserver``, side by side.

Each side is a generated suite of N tests doing one HTTP call (chat_mock: reset + one XRPC
call; httpserver: clear + one expected request). The cost per test is the sum of pytest's own
setup + call + teardown durations, averaged, so interpreter start-up and collection are not
counted. Run: ``.venv/bin/python bench/fixture_cost.py [-n 300] [--rounds 3]`` (needs the bench
extra: ``pip install '.[bench]'``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CONFTEST = """
import json, os

TOTALS = {"sum": 0.0, "n": 0}

def pytest_runtest_logreport(report):
    TOTALS["sum"] += report.duration
    if report.when == "call":
        TOTALS["n"] += 1

def pytest_sessionfinish(session):
    with open(os.environ["BENCH_OUT"], "w") as f:
        json.dump(TOTALS, f)
"""

CHAT_MOCK = """
import httpx
HTTP = httpx.Client()

def test_{i}(chat_mock):
    r = HTTP.get(f"{{chat_mock.url}}/xrpc/chat.bsky.group.getJoinLinkPreviews", params={{"codes": "x"}})
    assert r.status_code == 200
"""

HTTPSERVER = """
import httpx
HTTP = httpx.Client()

def test_{i}(httpserver):
    httpserver.expect_request("/xrpc/chat.bsky.group.getJoinLinkPreviews").respond_with_json(
        {{"joinLinkPreviews": [{{"$type": "chat.bsky.group.defs#invalidJoinLinkPreviewView", "code": "x"}}]}}
    )
    r = HTTP.get(httpserver.url_for("/xrpc/chat.bsky.group.getJoinLinkPreviews"), params={{"codes": "x"}})
    assert r.status_code == 200
"""


def run(template: str, n: int, plugins: list[str]) -> float:
    """Milliseconds per test for a suite of ``n`` tests made from ``template``."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "conftest.py").write_text(CONFTEST)
        (root / "pytest.ini").write_text("[pytest]\n")
        (root / "test_bench.py").write_text("\n".join(template.format(i=i) for i in range(n)))
        out = root / "out.json"
        args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *plugins, str(root)]
        subprocess.run(args, check=True, capture_output=True, env={**_env(), "BENCH_OUT": str(out)}, cwd=root)
        totals = json.loads(out.read_text())
        return float(totals["sum"]) / totals["n"] * 1000


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=300, help="tests per suite")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each suite (the median is kept)")
    args = parser.parse_args()
    mock = statistics.median(run(CHAT_MOCK, args.n, ["-p", "no:pytest_httpserver"]) for _ in range(args.rounds))
    plain = statistics.median(run(HTTPSERVER, args.n, []) for _ in range(args.rounds))
    print(f"{'fixture':22} {'ms per test':>12}   ({args.n} tests, median of {args.rounds} runs)")
    print(f"{'chat_mock':22} {mock:12.3f}")
    print(f"{'httpserver':22} {plain:12.3f}")
    print(f"{'ratio chat_mock/httpserver':28} {mock / plain:6.2f}")


if __name__ == "__main__":
    main()
