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
and a request arriving meanwhile waited that long). When the state is replaced (a reset, a
scenario, a dump loaded), everything is unfrozen for the next pass, which finds whatever cycles
the old state left.
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


def settle() -> None:
    """Freeze what exists now (the start-up state) and set the thresholds above."""
    gc.freeze()
    gc.set_threshold(*YOUNG, NEVER)


async def collect_when_idle(
    activity: Callable[[], int],
    replaced: Callable[[], int] = lambda: 0,
    quiet: float = QUIET,
    longest: float = LONGEST,
) -> None:
    """Run a full pass once ``activity()`` (a count that grows with every request) has stood
    still for ``quiet`` seconds after it last moved, or ``longest`` seconds after the last pass
    if it never stands still, and freeze what survives it; a pass after ``replaced()`` (a count
    that grows when the state is replaced) has moved walks everything again. Runs until cancelled."""
    seen = collected = activity()
    state = replaced()
    passed = time.monotonic()
    while True:
        await asyncio.sleep(quiet)
        now = activity()
        overdue = time.monotonic() - passed >= longest
        if now != collected and (now == seen or overdue):
            if replaced() != state:
                state = replaced()
                gc.unfreeze()  # the old state's objects: found now if they are cyclic garbage
            gc.collect()
            gc.freeze()
            collected, passed = now, time.monotonic()
        seen = now
