"""Per-test cost of the ``chat_mock`` fixture against pytest-httpserver's ``httpserver``, side by side.

Each side is a generated suite of tests doing one HTTP call (chat_mock: reset + one XRPC call;
typical: a marker scenario + ``chat_mock_client("alice")`` + one SDK call; httpserver: clear +
one expected request). The cost per test is measured as the issue that asked for it measured it:
a suite of N tests minus a suite of N/10, divided by the difference, each suite's time being the
sum of pytest's own setup + call + teardown durations. So what a session pays once (starting the
server, importing the SDK) is not counted, and neither are interpreter start-up and collection.
Run: ``.venv/bin/python bench/fixture_cost.py [-n 300] [--rounds 3]`` (needs the bench extra:
``pip install '.[bench]'``).
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

TYPICAL = """
import pytest

@pytest.mark.chat_scenario("demo")
def test_{i}(chat_mock, chat_mock_client):
    alice = chat_mock_client("alice")
    assert alice.chat.bsky.convo.list_convos().convos
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
    """Milliseconds per test: the suites of ``n`` and ``n // 10`` tests made from ``template``, differenced."""
    small = max(n // 10, 1)
    return (total(template, n, plugins) - total(template, small, plugins)) / (n - small)


def total(template: str, n: int, plugins: list[str]) -> float:
    """Milliseconds in all for a suite of ``n`` tests made from ``template``."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "conftest.py").write_text(CONFTEST)
        (root / "pytest.ini").write_text("[pytest]\n")
        (root / "test_bench.py").write_text("\n".join(template.format(i=i) for i in range(n)))
        out = root / "out.json"
        args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *plugins, str(root)]
        subprocess.run(args, check=True, capture_output=True, env={**_env(), "BENCH_OUT": str(out)}, cwd=root)
        totals = json.loads(out.read_text())
        assert totals["n"] == n, totals
        return float(totals["sum"]) * 1000


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=300, help="tests per suite")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each suite (the median is kept)")
    args = parser.parse_args()
    mock, typical, plain = [], [], []
    for _ in range(args.rounds):  # side by side, interleaved, so a noisy moment hits all three
        mock.append(run(CHAT_MOCK, args.n, ["-p", "no:pytest_httpserver"]))
        typical.append(run(TYPICAL, args.n, ["-p", "no:pytest_httpserver"]))
        plain.append(run(HTTPSERVER, args.n, []))
    m, t, p = (statistics.median(x) for x in (mock, typical, plain))
    print(f"{'fixture':44} {'ms per test':>12}   ({args.n} tests, median of {args.rounds} runs)")
    print(f"{'chat_mock (reset + one raw call)':44} {m:12.3f}")
    print(f"{'typical (scenario + SDK client + one call)':44} {t:12.3f}")
    print(f"{'httpserver (canned call)':44} {p:12.3f}")
    print(f"{'ratio chat_mock/httpserver':44} {m / p:12.2f}")
    print(f"{'ratio typical/httpserver':44} {t / p:12.2f}")


if __name__ == "__main__":
    main()
