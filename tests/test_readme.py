"""The README's Python examples run as written (against a fresh server in place of port 2584)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mockserver import MockChatServer

README = (Path(__file__).parent.parent / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)


def runnable(marker: str) -> list[str]:
    return [b for b in BLOCKS if marker in b]


@pytest.mark.parametrize("block", runnable("http://127.0.0.1:2584"), ids=lambda b: b.splitlines()[0])
def test_sdk_examples_run_against_a_demo_server(block: str, capsys: pytest.CaptureFixture[str]) -> None:
    with MockChatServer(seed=3) as server:
        server.load_scenario("demo")  # the examples must work on `make serve`, demo accounts and all
        exec(compile(block.replace("http://127.0.0.1:2584", server.url), "README.md", "exec"), {})
    printed = capsys.readouterr().out.split()
    assert printed[0].startswith("did:plc:") and printed[1] == "2"


@pytest.mark.parametrize("block", runnable("MockChatServer"), ids=lambda b: b.splitlines()[0])
def test_python_api_examples_run(block: str, capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(block, "README.md", "exec"), {})
    assert "http://127.0.0.1:" in capsys.readouterr().out


def test_every_python_example_is_run() -> None:
    ran = set(runnable("http://127.0.0.1:2584")) | set(runnable("MockChatServer"))
    skipped = [b.splitlines()[0] for b in BLOCKS if b not in ran and "def test_" not in b]
    assert not skipped, f"README Python blocks no test runs: {skipped}"
