"""A query sent again exactly as before, while nothing changed, is answered without being parsed
again (xrpc.repeat): the same answer and the same journal entry as the full path, and never once
something that matters has changed (a write, the token's expiry, a fault rule, a reset)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from conftest import Api

from mockserver import MockChatServer


def journal_tail(admin_http: httpx.Client, n: int) -> list[dict]:
    return list(admin_http.get("/_mock/journal").json()["entries"][-n:])


def test_a_repeat_answers_and_journals_as_the_full_path(
    server: MockChatServer, api: Callable[..., Api], admin_http: httpx.Client
) -> None:
    alice = api("alice")
    convo = alice.ok("chat.bsky.group.createGroup", {"name": "G", "members": []})["convo"]["id"]
    first = alice.get("chat.bsky.convo.getConvo", convoId=convo)
    second = alice.get("chat.bsky.convo.getConvo", convoId=convo)
    assert first == second
    a, b = journal_tail(admin_http, 2)
    same = [k for k in a if k not in ("seq", "time")]
    assert [a[k] for k in same] == [b[k] for k in same]
    assert list(a) == list(b)  # the same fields, in the same order


def test_no_repeat_after_a_write_an_expiry_a_fault_or_a_reset(
    server: MockChatServer, api: Callable[..., Api], admin_http: httpx.Client
) -> None:
    alice = api("alice")
    convo = alice.ok("chat.bsky.group.createGroup", {"name": "G", "members": []})["convo"]["id"]
    assert alice.get("chat.bsky.convo.getConvo", convoId=convo)[1]["convo"]["kind"]["name"] == "G"
    alice.ok("chat.bsky.group.editGroup", {"convoId": convo, "name": "H"})
    assert alice.get("chat.bsky.convo.getConvo", convoId=convo)[1]["convo"]["kind"]["name"] == "H"
    admin_http.post("/_mock/faults", json={"method": "chat.bsky.convo.getConvo", "status": 503, "error": "Down"})
    assert alice.get("chat.bsky.convo.getConvo", convoId=convo)[0] == 503
    admin_http.delete("/_mock/faults")
    admin_http.post("/_mock/clock", json={"advance": 3 * 3600})  # past the access token's two hours
    status, body = alice.get("chat.bsky.convo.getConvo", convoId=convo)
    assert (status, body["error"]) == (401, "ExpiredToken")
    admin_http.post("/_mock/clock", json={"reset": True})
    assert alice.get("chat.bsky.convo.getConvo", convoId=convo)[0] == 200
    admin_http.post("/_mock/reset")
    assert alice.get("chat.bsky.convo.getConvo", convoId=convo)[1]["error"] == "InvalidToken"
