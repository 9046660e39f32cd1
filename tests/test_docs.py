"""Every code block in README.md and docs/*.md runs as its language tag says, and runs again.

- ```python: executed on a mock started empty and on one started with the ``demo`` scenario (the
  docs' ``http://127.0.0.1:2584`` pointed at it), twice in a row on the same server. A block that
  is a pytest module (``def test_...``) runs with pytester as a test file in a fresh project.
- ```sh, ```bash, ```console: the commands run in bash (``set -euo pipefail``) in a scratch
  directory, with this environment's executables first on PATH and ``make`` using them. A
  ``serve`` command starts in the background on a free port; the commands after it talk to it,
  and it is stopped at the end. Twice in a row, against each of the two servers. The commands
  that cannot run here are in NOT_RUN, with the reason.
- ```yaml, ```json: a scenario file passes ``scenarios.check`` and loads; other JSON must parse.
- ```ts, ```js: run with Node and tests/js's ``@atproto/api`` against the demo (skipped without).
- ```text, ```markdown: sample output, synopses and file layouts, not run. No block is untagged.
"""

from __future__ import annotations

import json
import os
import re
import select
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from mockserver import MockChatServer
from mockserver.recording import FileRecorder
from scenarios import check, find

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BIN = Path(sys.executable).parent
"""This environment's executables (the docs say ``.venv/bin/``; a test may run from another venv)."""
MOCK = re.compile(r"(?:127\.0\.0\.1|localhost):2584\b")
"""Where the docs' mock listens (``make serve``); replaced by a test server's address."""
LISTENING = re.compile(r"bsky-chat-mock listening on http://(\S+)")
SHELL = {"sh", "bash", "shell", "console"}
DATA = {"yaml", "json"}
NODE = {"ts", "typescript", "js", "javascript"}
OUTPUT = {"text", "markdown"}
STARTS = ["empty", "demo"]
TIMEOUT = 60
NOT_RUN = {
    "make test": "the whole test suite, this file included: only checked with make -n",
    "pip install": "it would install into the environment these tests run in",
    "make pds": "a PLC, a PDS and the mock until Ctrl-C: tests/pds/ starts the same network and runs these steps",
    "curl -s -X POST localhost:2583": "an account on make pds's PDS: tests/pds/harness.py makes its accounts so",
}
"""Shell commands (by prefix) the docs mean to be run that these tests do not run, and why."""


@dataclass(frozen=True)
class Block:
    """A fenced code block: the document, the line of its opening fence, its tag and its text."""

    doc: str
    line: int
    lang: str
    text: str

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"

    @property
    def kind(self) -> str:
        if self.lang == "python":
            return "pytest" if re.search(r"^(?:async )?def test_", self.text, re.M) else "python"
        if self.lang in SHELL:
            return "shell"
        if self.lang in DATA:
            return "data"
        if self.lang in NODE:
            return "node"
        return "output"


def read_blocks(path: Path) -> list[Block]:
    """The fenced blocks of a Markdown file; an unclosed fence is an error."""
    doc = str(path.relative_to(ROOT))
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    opened: tuple[int, str] | None = None
    for number, line in enumerate(lines, 1):
        fence = re.match(r"^ {0,3}```(.*)$", line)
        if not fence:
            continue
        if opened is None:
            opened = (number, fence.group(1).strip())
            continue
        assert not fence.group(1).strip(), f"{doc}:{number}: a fence opens inside the block of line {opened[0]}"
        start, lang = opened
        blocks.append(Block(doc, start, lang, "\n".join(lines[start : number - 1]) + "\n"))
        opened = None
    assert opened is None, f"{doc}:{opened[0]}: the block is never closed"
    return blocks


BLOCKS = [block for path in DOCS for block in read_blocks(path)]


def of_kind(kind: str) -> list[Any]:
    return [pytest.param(b, id=b.id) for b in BLOCKS if b.kind == kind]


def point(text: str, netloc: str) -> str:
    """The text with the docs' mock address replaced by ``netloc`` (``127.0.0.1:PORT``)."""
    return MOCK.sub(netloc, text)


def netloc(server: MockChatServer) -> str:
    return server.url.removeprefix("http://")


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, MockChatServer]]:
    """One strict server per starting point, shared by the tests (each starts it afresh)."""
    with MockChatServer(seed=21, strict=True) as empty, MockChatServer(seed=22, strict=True) as demo:
        yield {"empty": empty, "demo": demo}


def fresh(servers: dict[str, MockChatServer], start: str) -> MockChatServer:
    """The server for ``start``, put back to how it started (reset also puts the clock back)."""
    server = servers[start]
    server.reset()
    if start == "demo":
        server.load_scenario("demo")  # what `make serve` starts from
    return server


# -- Python ------------------------------------------------------------------------------------


PRINTS = {
    "with_bsky_chat_proxy()": r"did:plc:[a-z2-7]{24}\n2 \S+\n",  # README, the SDK: me's DID; 2 members, a link code
    "server.dump()": r"http://127\.0\.0\.1:(\d+) \1\ndid:plc:\S+ \w+ locked-link\n",  # README, the server object
}
"""What a block containing the key prints on each run (a regular expression for all of it)."""


@pytest.mark.parametrize("start", STARTS)
@pytest.mark.parametrize("block", of_kind("python"))
def test_python_block_runs_twice(
    block: Block, start: str, servers: dict[str, MockChatServer], capsys: pytest.CaptureFixture[str]
) -> None:
    server = fresh(servers, start)
    source = "\n" * block.line + point(block.text, netloc(server))  # tracebacks give the doc's lines
    code = compile(source, str(ROOT / block.doc), "exec")
    for _ in range(2):
        exec(code, {"__name__": "__main__"})
        printed = capsys.readouterr().out
        for marker, expected in PRINTS.items():
            if marker in block.text:
                assert re.fullmatch(expected, printed), printed


def test_every_expected_output_is_of_a_block() -> None:
    assert all(any(marker in b.text for b in BLOCKS if b.kind == "python") for marker in PRINTS)


@pytest.mark.parametrize("block", of_kind("pytest"))
def test_pytest_block_passes(block: Block, pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")  # as pytest-plugin.md says
    pytester.makepyfile(test_doc_block=block.text)
    result = pytester.runpytest("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=len(re.findall(r"^(?:async )?def test_", block.text, re.M)))


# -- shell -------------------------------------------------------------------------------------


def strip_comment(command: str) -> str:
    """The command without a trailing ``# comment`` (a ``#`` in quotes or in a word stays)."""
    quote = None
    escaped = False
    for i, ch in enumerate(command):
        if escaped:
            escaped = False
        elif ch == "\\" and quote != "'":
            escaped = True
        elif quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or command[i - 1].isspace()):
            return command[:i].rstrip()
    return command.rstrip()


def commands(block: Block) -> list[str]:
    """The block's commands, one per logical line (``\\`` continues one), comments left out."""
    lines = block.text.replace(".venv/bin/", f"{BIN}/").splitlines()
    if block.lang == "console":  # only what follows a prompt is typed; the rest is output
        typed, going_on = [], False
        for line in lines:
            if line.startswith("$ ") or going_on:
                typed.append(line.removeprefix("$ "))
            going_on = (line.startswith("$ ") or going_on) and line.rstrip().endswith("\\")
        lines = typed
    out, current = [], ""
    for line in lines:
        current += line + "\n"
        if line.rstrip().endswith("\\"):
            continue
        command = strip_comment(current.strip())
        if command:
            out.append(command)
        current = ""
    return out


def not_run(command: str) -> str | None:
    return next((prefix for prefix in NOT_RUN if command.startswith(prefix)), None)


def with_our_make(command: str, *, dry_run: bool = False) -> str:
    """``make ...`` with this environment's executables, never installing (``-o`` the stamp)."""
    words = ["make", "--no-print-directory", "-C", str(ROOT), "-o", ".venv/.installed", f"BIN={BIN}"]
    return re.sub(r"^make\b", lambda _: shlex.join(words + ["-n"] * dry_run), command)


def serves(command: str) -> bool:
    """Whether the command runs a mock until stopped (``make serve``, ``bsky-chat-mock serve``)."""
    words = shlex.split(command)
    if words[0] == "make":
        return "serve" in words
    if words[0].endswith("bsky-chat-mock"):
        return words[1:2] == ["serve"]
    return words[1:4] == ["-m", "mockserver", "serve"] and re.fullmatch(r"python3?", words[0]) is not None


def on_a_free_port(command: str) -> str:
    """The serve command with ``--port 0`` last (argparse keeps the last one given)."""
    words = shlex.split(command)
    if words[0] == "make":
        if any(w.startswith("ARGS=") for w in words):
            words = [f"{w} --port 0" if w.startswith("ARGS=") else w for w in words]
        else:
            words.append("ARGS=--port 0")
    else:
        words += ["--port", "0"]
    return shlex.join(words)


class Background:
    """A command started in its own process group, and the address it said it listens on."""

    def __init__(self, command: str, cwd: Path, env: dict[str, str]) -> None:
        self.command = command
        self.errors = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop())
        self.process = subprocess.Popen(
            ["bash", "-c", f"exec {command}"],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=self.errors,
            bufsize=0,
            start_new_session=True,
        )
        self.netloc = self._listening()

    def _listening(self) -> str:
        assert self.process.stdout is not None
        seen = b""
        deadline = time.monotonic() + TIMEOUT
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([self.process.stdout], [], [], left)[0]:
                break
            line = self.process.stdout.readline()  # unbuffered: select sees everything not read
            if not line:
                break
            seen += line
            found = LISTENING.search(line.decode())
            if found:
                return found.group(1)
        errors = self.stderr()
        self.stop()
        raise AssertionError(f"{self.command!r} never said it was listening:\n{seen.decode()}{errors}")

    def stderr(self) -> str:
        self.errors.seek(0)
        return self.errors.read().decode(errors="replace")[-4000:]

    def alive(self) -> bool:
        """Whether any process of the group is left (make waits for its children on SIGTERM)."""
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def stop(self) -> int:
        """SIGTERM to the whole group (make and its server); its exit code once every process is gone."""
        try:
            if self.alive():
                os.killpg(self.process.pid, signal.SIGTERM)
            code = self.process.wait(timeout=15)
            deadline = time.monotonic() + 15
            while self.alive() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not self.alive(), f"{self.command!r}: a process kept running after SIGTERM"
            return code
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.command!r} did not stop on SIGTERM") from None
        finally:
            if self.alive():
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            self.errors.close()


def run_script(lines: list[str], netloc: str, cwd: Path, env: dict[str, str]) -> str:
    script = "set -euo pipefail\n" + "\n".join(point(line, netloc) for line in lines)
    done = subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, (
        f"exit {done.returncode}:\n{script}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    )
    return done.stdout


def run_shell(block: Block, target: str, cwd: Path) -> tuple[int, str]:
    """Run the block's commands in order; returns how many ran and what the foreground ones printed."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    started: list[Background] = []
    pending: list[str] = []
    printed, ran, current = "", 0, target
    try:
        for command in commands(block):
            if not_run(command):
                if command.startswith("make "):
                    run_script([with_our_make(command, dry_run=True)], current, cwd, env)
                continue
            tool = shlex.split(command)[0]
            if tool in ("make", "curl", "node") and shutil.which(tool) is None:
                missing = f"{tool} is not installed"
                if os.environ.get("CI") == "true":
                    pytest.fail(missing)  # under CI a missing tool is a failure, not a skip
                pytest.skip(missing)
            ran += 1
            if serves(command):
                printed += run_script(pending, current, cwd, env) if pending else ""
                pending = []
                started.append(Background(with_our_make(on_a_free_port(command)), cwd, env))
                current = started[-1].netloc
                assert httpx.get(f"http://{current}/_mock/scenario", timeout=10).status_code == 200
            else:
                pending.append(with_our_make(command))
        printed += run_script(pending, current, cwd, env) if pending else ""
    finally:
        codes = [(b.command, b.stop()) for b in started]
    for command, code in codes:  # `serve` stops cleanly on SIGTERM; make itself dies of the signal
        assert code == 0 or (command.startswith("make ") and code == -signal.SIGTERM), (command, code)
    return ran, printed


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short recording, as ``serve --record session.jsonl`` writes one, for the blocks that use it."""
    path = tmp_path_factory.mktemp("recording") / "session.jsonl"
    server = MockChatServer(seed=5)
    recorder = FileRecorder(path)
    server.service.recorders.append(recorder)
    with server, httpx.Client(base_url=f"{server.url}/xrpc/", timeout=10) as http:
        carol = server.load_scenario("approval-required").actors["carol"]
        login = {"identifier": carol.handle, "password": carol.password}
        token = http.post("com.atproto.server.createSession", json=login).json()["accessJwt"]
        joined = http.post(
            "chat.bsky.group.requestJoin",
            json={"code": "needs-approval"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert joined.json() == {"status": "pending"}, joined.text
    recorder.close()
    return path


ERROR_BODY = re.compile(r'\{"error":\s*"\w+",\s*"message":')
"""An XRPC error answer, as curl prints it."""


RUNNABLE_SHELL = [p for p in of_kind("shell") if not all(not_run(c) for c in commands(p.values[0]))]
"""Shell blocks with a command to run: a block of installs only (every command in NOT_RUN) is
checked by test_commands_not_run_are_named_and_still_in_the_docs, and make dist installs for real."""


@pytest.mark.parametrize("start", STARTS)
@pytest.mark.parametrize("block", RUNNABLE_SHELL)
def test_shell_block_runs_twice(
    block: Block, start: str, servers: dict[str, MockChatServer], recording: Path, tmp_path: Path
) -> None:
    server = fresh(servers, start)
    shutil.copy(recording, tmp_path / "session.jsonl")
    for run in range(2):
        ran, printed = run_shell(block, netloc(server), tmp_path)
        assert ran, block
        if run == 0:  # on a server as it started, no call a doc shows is refused
            assert not ERROR_BODY.search(printed), printed


def test_commands_not_run_are_named_and_still_in_the_docs() -> None:
    skipped: dict[str, list[str]] = {prefix: [] for prefix in NOT_RUN}
    for block in BLOCKS:
        if block.kind == "shell":
            for command in commands(block):
                prefix = not_run(command)
                if prefix:
                    skipped[prefix].append(f"{block.id}: {command}")
    print("shell commands not run:", *(f"{c} ({NOT_RUN[p]})" for p, cs in skipped.items() for c in cs), sep="\n  ")
    assert all(skipped.values()), f"NOT_RUN names commands no doc has: {[p for p, c in skipped.items() if not c]}"


# -- data files ------------------------------------------------------------------------------


def parse(block: Block) -> list[Any]:
    """The block's documents: one YAML or JSON value, or JSON lines."""
    if block.lang == "yaml":
        return [yaml.safe_load(block.text)]
    try:
        return [json.loads(block.text)]
    except json.JSONDecodeError:
        return [json.loads(line) for line in block.text.splitlines() if line.strip()]


def is_scenario(value: Any) -> bool:
    """A scenario file, not a recording line (``type``) or a state dump (``GET /_mock/state``)."""
    return isinstance(value, dict) and "type" not in value and not {"ids", "actors", "convos"} <= value.keys()


@pytest.mark.parametrize("block", of_kind("data"))
def test_data_block_is_valid(block: Block, servers: dict[str, MockChatServer], tmp_path: Path) -> None:
    values = parse(block)
    if not (len(values) == 1 and is_scenario(values[0])):
        return  # recording lines or a state dump: parsing is the check
    path = tmp_path / f"scenario.{block.lang}"
    path.write_text(block.text, encoding="utf-8")
    source = find(str(path))
    check(source.spec, source.source)  # what `bsky-chat-mock check FILE` does
    server = fresh(servers, "empty")
    try:
        loaded = server.load_scenario(path)
        if "state" not in values[0]:  # a snapshot's actors have no keys
            assert set(loaded.actors) == set(values[0].get("actors") or {})
    finally:
        server.reset()


# -- TypeScript / JavaScript -------------------------------------------------------------------


@pytest.mark.parametrize("block", of_kind("node"))
def test_node_block_runs_twice_on_the_demo(block: Block, servers: dict[str, MockChatServer], tmp_path: Path) -> None:
    modules = ROOT / "tests" / "js" / "node_modules"
    if shutil.which("node") is None or not (modules / "@atproto" / "api").is_dir():
        missing = "needs Node.js and tests/js/node_modules (make ts-check installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(missing)  # .ci/run installs them before the tests: missing is a failure there
        pytest.skip(missing)
    server = fresh(servers, "demo")  # the frontend examples log in as the demo's accounts
    (tmp_path / "node_modules").symlink_to(modules)
    script = tmp_path / "block.mjs"  # plain JavaScript in a ts block: no type annotations
    script.write_text(point(block.text, netloc(server)), encoding="utf-8")
    for _ in range(2):
        done = subprocess.run(["node", script.name], cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT)
        assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"


# -- the rest ----------------------------------------------------------------------------------


def test_blocks_not_run_are_tagged_as_output() -> None:
    kinds = {b.kind for b in BLOCKS}
    assert {"python", "pytest", "shell", "data", "node"} <= kinds, kinds
    quiet = [b for b in BLOCKS if b.kind == "output"]
    print("blocks not run:", *(f"{b.id} ```{b.lang}" for b in quiet), sep="\n  ")
    wrong = [f"{b.id} ```{b.lang}" if b.lang else f"{b.id} (untagged)" for b in quiet if b.lang not in OUTPUT]
    assert not wrong, f"blocks nothing runs must be sample output tagged ```text or ```markdown: {wrong}"
