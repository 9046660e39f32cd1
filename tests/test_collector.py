"""How ``serve`` runs the cycle collector (mockserver/collector.py): no automatic full passes
under load, one full pass once requests stop, and what lives through it left out of the next
ones until, at most an hour on, one walks everything again."""

from __future__ import annotations

import asyncio
import gc
import time
import weakref
from collections.abc import Callable, Iterator

import pytest

from mockserver import collector
from mockserver.collector import NEVER, YOUNG, collect_when_idle, settle


class Node:
    """An object that can sit in a reference cycle."""

    other: Node | None = None


@pytest.fixture
def settled() -> Iterator[None]:
    before = gc.get_threshold()
    settle()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def old_cycle() -> weakref.ref[Node]:
    """A reference cycle that lived through the young passes, then became garbage."""
    a, b = Node(), Node()
    a.other, b.other = b, a
    gc.collect(1)  # alive: moved to the oldest generation
    return weakref.ref(a)


async def test_old_cycles_wait_for_a_quiet_moment(settled: None) -> None:
    assert gc.get_threshold() == (*YOUNG, NEVER)
    ref = old_cycle()
    for _ in range(50_000):  # many young passes: none of them looks at old objects
        [Node() for _ in range(3)]
    assert ref() is not None
    count = [0]
    task = asyncio.create_task(collect_when_idle(lambda: count[0], quiet=0.05, longest=3600))
    try:
        await asyncio.sleep(0)
        for _ in range(10):  # requests keep coming: no full pass
            count[0] += 1
            await asyncio.sleep(0.02)
        assert ref() is not None
        await asyncio.sleep(0.3)  # quiet: one full pass
        assert ref() is None
        again = old_cycle()
        await asyncio.sleep(0.3)  # nothing happened since that pass: no other
        assert again() is not None
    finally:
        task.cancel()


async def test_under_steady_load_a_full_pass_still_comes(settled: None) -> None:
    ref = old_cycle()
    count = [0]
    task = asyncio.create_task(collect_when_idle(lambda: count[0], quiet=0.02, longest=0.5))
    try:
        for _ in range(5):  # requests all the time, but not for longer than `longest`
            count[0] += 1
            await asyncio.sleep(0.02)
        assert ref() is not None
        for _ in range(40):  # past it
            count[0] += 1
            await asyncio.sleep(0.02)
        assert ref() is None
    finally:
        task.cancel()


class Watched:
    """The ``gc`` module as the collector sees it in a test: every call it makes, noted."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def collect(self) -> int:
        self.calls.append("collect")
        return gc.collect()

    def freeze(self) -> None:
        self.calls.append("freeze")
        gc.freeze()

    def unfreeze(self) -> None:
        self.calls.append("unfreeze")
        gc.unfreeze()


class Clock:
    """``time`` as the collector sees it in a test: monotonic time moved by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now


async def until(done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30  # however slow the machine: each step waits for the pass itself
    while not done():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.005)


async def test_what_lived_through_a_pass_waits_for_the_next_walk_of_everything(
    settled: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    watched, clock = Watched(), Clock()
    monkeypatch.setattr(collector, "gc", watched)
    monkeypatch.setattr(collector, "time", clock)
    count = [0]
    kept, other = Node(), Node()
    kept.other, other.other = other, kept  # alive during the first pass
    frozen = weakref.ref(kept)
    task = asyncio.create_task(collect_when_idle(lambda: count[0], quiet=0.01, longest=600, rewalk=3600))
    try:
        await asyncio.sleep(0)  # the task starts, and reads the count
        count[0] += 1
        await until(lambda: watched.calls.count("freeze") == 1, "a pass once quiet")
        assert watched.calls == ["collect", "freeze"], "what lived through it is frozen"
        del kept, other  # garbage now, but frozen
        fresh = old_cycle()  # garbage too, made after the pass
        count[0] += 1
        await until(lambda: watched.calls.count("freeze") == 2, "a pass once quiet again")
        assert fresh() is None, "the pass walks what came since the last one"
        assert frozen() is not None, "and not what lived through the last one"
        clock.now = 3600  # an hour since everything was walked
        count[0] += 1
        await until(lambda: watched.calls.count("freeze") == 3, "a third pass")
        assert watched.calls[4:] == ["unfreeze", "collect", "freeze"], "this one walks everything"
        assert frozen() is None
    finally:
        task.cancel()
