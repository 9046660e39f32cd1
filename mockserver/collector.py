"""How ``serve`` runs Python's cycle collector: short passes under load, a full one once it is quiet.

The state lives as long as the server and grows with every write. Left to the defaults, the
collector's full passes walk all of it (50-120 ms pauses once it is large); with a large young
generation instead, each young pass walks ~100,000 new objects (~40 ms under a write load). Both
showed as p99 latency in bench/wrk.py. So: what exists at start-up is frozen out of every pass,
the young passes stay small (a few ms at most), and the full pass, which finds cycles that lived
long enough to grow old, runs once the server has been quiet for a while (and at least every
ten minutes of steady load, so a client polling all day cannot hold old garbage for ever).
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


async def collect_when_idle(activity: Callable[[], int], quiet: float = QUIET, longest: float = LONGEST) -> None:
    """Run a full pass once ``activity()`` (a count that grows with every request) has stood
    still for ``quiet`` seconds after it last moved, or ``longest`` seconds after the last pass
    if it never stands still; runs until cancelled."""
    seen = collected = activity()
    passed = time.monotonic()
    while True:
        await asyncio.sleep(quiet)
        now = activity()
        overdue = time.monotonic() - passed >= longest
        if now != collected and (now == seen or overdue):
            gc.collect()
            collected, passed = now, time.monotonic()
        seen = now
