"""Scenarios for bsky-chat-mock: named starting states, as files or built in Python.

``find(name_or_path)`` reads a built-in scenario or a file, ``check(spec, source)`` validates
one, ``load(service, source)`` replaces a service's state with it, and ``ScenarioBuilder``
makes one in code. The format is documented in docs/scenarios.md and published as
``scenarios/schema.json``.
"""

from .builder import ScenarioBuilder
from .loader import LoadedActor, LoadedScenario, load
from .model import ScenarioError, ScenarioSource, builtin_names, check, find, schema

__all__ = [
    "LoadedActor",
    "LoadedScenario",
    "ScenarioBuilder",
    "ScenarioError",
    "ScenarioSource",
    "builtin_names",
    "check",
    "find",
    "load",
    "schema",
]
