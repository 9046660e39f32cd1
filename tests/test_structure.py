"""The dependency between the server core and the scenarios package runs one way."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP_LAYER = {"admin.py", "cli.py", "server.py"}
"""The modules that put the core and the scenarios together (the admin API's scenario routes,
the command line, MockChatServer.load_scenario): the only ones in mockserver that may import
scenarios."""


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_core_does_not_import_scenarios() -> None:
    core = [p for p in (ROOT / "mockserver").rglob("*.py") if p.name not in APP_LAYER or p.parent.name != "mockserver"]
    offenders = {
        str(p.relative_to(ROOT)): sorted(n for n in imported(p) if n.split(".")[0] == "scenarios") for p in core
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_scenarios_import_the_core_only() -> None:
    for path in (ROOT / "scenarios").rglob("*.py"):
        for name in imported(path):
            assert name.split(".")[0] != "pytest_plugin", (path, name)
