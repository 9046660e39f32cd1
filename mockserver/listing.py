"""Paging of convo lists and of the per-viewer log."""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections.abc import Iterator
from itertools import islice

from . import cursors
from .state import Convo, LogEvent, State

LOG_PAGE = 100
"""Most events one getLog call returns (the lexicon has no limit parameter)."""


def page_by_activity(convos: list[Convo], cursor: str | None, limit: int) -> tuple[list[Convo], str | None]:
    """Convos, most recently changed first, after ``cursor``; the page and the next cursor.

    The cursor holds the last convo's rev and id, so writes elsewhere never shift a page.
    """
    ordered = sorted(convos, key=lambda c: (c.rev, c.id), reverse=True)
    after = cursors.decode_rev_id(cursor)
    if after is not None:
        ordered = [c for c in ordered if (c.rev, c.id) < after]
    page = ordered[:limit]
    next_cursor = cursors.encode_rev_id(page[-1].rev, page[-1].id) if len(ordered) > len(page) else None
    return page, next_cursor


def log_events(state: State, did: str, cursor: str | None, head: str) -> tuple[list[LogEvent], str]:
    """Events addressed to ``did`` whose rev sorts after ``cursor`` (compared as text), oldest
    first, at most ``LOG_PAGE``, and the cursor to poll with next.

    Without a cursor there are no events and the cursor is ``head``, the server's newest rev:
    the official app calls ``getLog({})`` to learn where "now" is and polls from there.
    """
    after = cursors.rev(cursor)
    if after is None:
        return [], head
    streams = []
    for convo_id in state.log_convos.get(did, ()):
        convo = state.convos[convo_id]
        start = bisect_right(convo.event_revs, after)
        streams.append(_addressed(convo.events, start, did))
    page = list(islice(heapq.merge(*streams, key=lambda e: e.rev), LOG_PAGE))
    return page, page[-1].rev if page else after


def _addressed(events: list[LogEvent], start: int, did: str) -> Iterator[LogEvent]:
    for i in range(start, len(events)):
        if did in events[i].audience:
            yield events[i]
