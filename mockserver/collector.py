"""How ``serve`` runs Python's cycle collector: short passes under load, a full one once it is quiet.

The state lives as long as the server and grows with every write. Left to the defaults, the
collector's full passes walk all of it (50-120 ms pauses once it is large); with a large young
generation instead, each young pass walks ~100,000 new objects (~40 ms under a write load). Both
showed as p99 latency in bench/wrk.py. So: what exists at start-up is frozen out of every pass,
the young passes stay small (a few ms at most), and the full pass, which finds cycles that lived
long enough to grow old, runs once the server has been quiet for a while (and at least every
ten minutes of steady load, so a client polling all day cannot hold old garbage for ever).
What survives a full pass is frozen too, so the next one walks only what came since: a pass
costs what changed, not the whole state (a state of 200,000 messages took 350-450 ms a pass,
and a request arriving meanwhile waited that long). The state itself holds no reference cycles
(its objects name each other by id), so what it drops is freed at once, frozen or not; but some
objects alive during a pass later become cyclic garbage (on Python 3.11 every closed socket
transport is a cycle, and so is a closed WebSocket in aiohttp), and frozen they would never be
found. So at most an hour after the last pass that walked everything, the next walks everything
again.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable

YOUNG = (700, 2)
"""New objects before a pass over the youngest generation (Python's default), and such passes
before one over the middle generation (default 10: its passes took up to 9 ms under load)."""
NEVER = 10**9
"""The oldest generation's threshold: no automatic full passes (see :func:`collect_when_idle`)."""
QUIET = 5.0
"""Seconds without a request before the full pass."""
LONGEST = 600.0
"""Seconds of requests without a pause after which the full pass runs all the same."""
REWALK = 3600.0
"""Seconds after a pass that walked everything before a pass does so again (the others walk only
what came since the pass before them)."""


def settle() -> None:
    """Freeze what exists now (the start-up state) and set the thresholds above."""
    gc.freeze()
    gc.set_threshold(*YOUNG, NEVER)


async def collect_when_idle(
    activity: Callable[[], int], quiet: float = QUIET, longest: float = LONGEST, rewalk: float = REWALK
) -> None:
    """Run a full pass once ``activity()`` (a count that grows with every request) has stood
    still for ``quiet`` seconds after it last moved, or ``longest`` seconds after the last pass
    if it never stands still, and freeze what survives it; the first pass ``rewalk`` seconds or
    more after the last one that walked everything unfreezes everything first. Runs until cancelled."""
    seen = collected = activity()
    passed = walked = time.monotonic()
    while True:
        await asyncio.sleep(quiet)
        now = activity()
        overdue = time.monotonic() - passed >= longest
        if now != collected and (now == seen or overdue):
            if time.monotonic() - walked >= rewalk:
                gc.unfreeze()  # what lived through the passes since and is garbage now: found in this one
                walked = time.monotonic()
            gc.collect()
            gc.freeze()
            collected, passed = now, time.monotonic()
        seen = now
