"""How ``serve`` runs the cycle collector (mockserver/collector.py): no automatic full passes
under load, one full pass once requests stop, and what lives through it left out of the next
ones until the state is replaced."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator

import pytest

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


async def test_what_lived_through_a_pass_is_left_out_until_the_state_is_replaced(settled: None) -> None:
    count, generation = [0], [0]
    a, b = Node(), Node()
    a.other, b.other = b, a  # alive during the first pass
    ref = weakref.ref(a)
    frozen = gc.get_freeze_count()
    task = asyncio.create_task(collect_when_idle(lambda: count[0], lambda: generation[0], quiet=0.05, longest=3600))
    try:
        await asyncio.sleep(0)  # the task starts, and reads the count
        count[0] += 1
        await asyncio.sleep(0.3)  # quiet: a full pass, and what lived through it is frozen
        assert gc.get_freeze_count() > frozen
        del a, b  # garbage now, but frozen: the next passes do not walk it
        count[0] += 1
        await asyncio.sleep(0.3)
        assert ref() is not None
        generation[0] += 1  # the state is replaced: the next pass walks everything again
        count[0] += 1
        await asyncio.sleep(0.3)
        assert ref() is None
        assert gc.get_freeze_count() > 0, "and freezes what is left"
    finally:
        task.cancel()
