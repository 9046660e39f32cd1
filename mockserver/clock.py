"""The server's one clock: real (or freezegun's) time, plus an adjustable offset."""

from __future__ import annotations

import math
import time
from datetime import datetime, timedelta, timezone


def iso(dt: datetime) -> str:
    """Format a datetime the way atproto services do: UTC, milliseconds, ``Z``.

    ``isoformat``, not ``strftime``: glibc's strftime looks at the time zone files on every call.
    """
    if dt.tzinfo is not timezone.utc:
        dt = dt.astimezone(timezone.utc)
    return dt.isoformat(timespec="milliseconds")[:-6] + "Z"


def parse_iso(value: str) -> datetime:
    """Parse an ISO 8601 datetime; naive values are taken as UTC."""
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


class _Frozen:
    """The context manager of ``Clock.frozen`` (a plain class: cheaper than a generator on every call)."""

    __slots__ = ("_clock", "_held")

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._held = False

    def __enter__(self) -> datetime:
        clock = self._clock
        if clock._pinned is None:
            clock._pinned = clock.now()
            self._held = True
        return clock._pinned

    def __exit__(self, *exc: object) -> None:
        if self._held:
            self._clock._pinned = None


MAX_OFFSET = 100 * 365.25 * 86400
"""How far (seconds) the server's time may be from real time: far enough for any test, and every
date it stamps stays a valid datetime."""


def checked_offset(seconds: float) -> timedelta:
    """``seconds`` as an offset from real time; ``ValueError`` past :data:`MAX_OFFSET`."""
    if not math.isfinite(seconds) or abs(seconds) > MAX_OFFSET:
        raise ValueError(f"the server's time must stay within 100 years of real time (asked for {seconds:g} s away)")
    return timedelta(seconds=seconds)


class Clock:
    """Time as the server sees it.

    ``now()`` reads ``datetime.now`` on every call (so freezegun's frozen time is
    honoured) and adds an offset that ``advance`` and ``set`` move.
    """

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._pinned: datetime | None = None
        self._text: tuple[datetime | None, str] = (None, "")
        """The last held time :meth:`iso` formatted, and how it reads: a change stamps one held time many times."""
        self._millis: tuple[int, str] = (-1, "")
        """The last running millisecond :meth:`iso` formatted, and how it reads (calls come many a millisecond)."""

    def now(self) -> datetime:
        """The current server time, timezone-aware UTC."""
        if self._pinned is not None:
            return self._pinned
        return datetime.now(timezone.utc) + self._offset

    def frozen(self) -> _Frozen:
        """Hold the time still while one change is made, so everything it stamps agrees:
        ``with clock.frozen() as now: ...``."""
        return _Frozen(self)

    def pin(self, when: datetime | None) -> None:
        """Stop time at ``when``; None releases it to real time plus the offset (scenarios load at exact times so).

        ``ValueError`` (and no change) if ``when`` is more than 100 years from real time.
        """
        if when is not None:
            checked_offset((when - datetime.now(timezone.utc)).total_seconds())
        self._pinned = when

    @property
    def stopped(self) -> bool:
        """Whether the clock is pinned (not ticking)."""
        return self._pinned is not None

    def unpin(self) -> datetime:
        """Let a stopped clock run again from the time it stopped at."""
        if self._pinned is not None:
            self._offset = self._pinned - datetime.now(timezone.utc)
            self._pinned = None
        return self.now()

    def timestamp(self) -> int:
        """The current server time as whole seconds since the epoch (read with ``time.time``,
        which freezegun freezes too: every call checks a token's expiry by it)."""
        if self._pinned is not None:
            return int(self._pinned.timestamp())
        return int(self._running())

    def _running(self) -> float:
        """The running clock's time in seconds since the epoch (``now`` without a datetime)."""
        return time.time() + self._offset.total_seconds()

    def iso(self) -> str:
        """The current server time as an atproto datetime string (read with ``time.time`` while
        the clock runs: the same time ``now`` reads, freezegun's too)."""
        pinned = self._pinned
        if pinned is not None:
            held, text = self._text
            if pinned is not held:
                text = iso(pinned)
                self._text = (pinned, text)
            return text
        millis = int(self._running() * 1000)
        last, text = self._millis
        if millis != last:
            text = iso(datetime.fromtimestamp(millis / 1000, timezone.utc))
            self._millis = (millis, text)
        return text

    def advance(self, seconds: float) -> datetime:
        """Move the server's time forward (or back, if negative) and return it; a stopped clock stays stopped.

        ``ValueError`` (and no change) if that would put it more than 100 years from real time.
        """
        offset = checked_offset(self._offset.total_seconds() + seconds)
        if self._pinned is not None:
            self._pinned += timedelta(seconds=seconds)
        self._offset = offset
        return self.now()

    def set(self, when: datetime) -> datetime:
        """Make the server's time read ``when`` from now on (it keeps ticking, unless stopped)."""
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        offset = checked_offset((when - datetime.now(timezone.utc)).total_seconds())
        if self._pinned is not None:
            self._pinned = when
        self._offset = offset
        return self.now()

    def offset_seconds(self) -> float:
        """How far the server's time is from real (or frozen) time, in seconds."""
        return self._offset.total_seconds()

    def set_offset_seconds(self, seconds: float) -> None:
        """Put the server's time ``seconds`` away from real (or frozen) time (``ValueError`` past 100 years)."""
        self._offset = checked_offset(seconds)

    def reset(self) -> None:
        """Go back to real (or frozen) time, running."""
        self._offset = timedelta(0)
        self._pinned = None
