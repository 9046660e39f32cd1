"""The journal: every XRPC call in order, with caller, status and error; no secrets; no admin calls."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
from conftest import Api


def test_calls_are_journaled_in_order_without_secrets(admin_http: httpx.Client, api: Callable[..., Api]) -> None:
    start = admin_http.get("/_mock/journal").json()["cursor"]
    alice = api("alice", password="hunter2")
    admin_http.post("/xrpc/com.atproto.server.createSession", json={"identifier": "alice.test", "password": "hunter2"})
    convo = alice.ok("chat.bsky.group.createGroup", {"name": "G", "members": []})["convo"]["id"]
    alice.error("chat.bsky.convo.getConvo", convoId="nope")
    admin_http.get("/xrpc/chat.bsky.convo.getConvo", params={"convoId": convo})  # no token
    page = admin_http.get("/_mock/journal", params={"since": start}).json()
    entries = page["entries"]
    assert [e["method"] for e in entries] == [
        "com.atproto.server.createSession",
        "chat.bsky.group.createGroup",
        "chat.bsky.convo.getConvo",
        "chat.bsky.convo.getConvo",
    ]
    assert [e["status"] for e in entries] == [200, 200, 400, 401]
    assert [e["error"] for e in entries] == [None, None, "InvalidConvo", "AuthenticationRequired"]
    assert entries[1]["actor"] == alice.did and entries[3]["actor"] is None
    assert entries[1]["input"] == {"name": "G", "members": []}
    assert entries[1]["output"]["convo"]["id"] == convo
    assert entries[2]["params"] == {"convoId": "nope"} and "nope" in entries[2]["message"]
    text = json.dumps(entries)
    assert "hunter2" not in text and alice.actor["accessJwt"] not in text
    assert entries[0]["input"]["password"] == "***" and entries[0]["output"]["accessJwt"] == "***"
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)
    assert page["cursor"] == entries[-1]["seq"]
    # admin calls (like the ones above) never appear; since= pages on
    later = admin_http.get("/_mock/journal", params={"since": page["cursor"]}).json()
    assert later == {"entries": [], "cursor": page["cursor"]}
    assert admin_http.get("/_mock/journal", params={"since": "x"}).status_code == 400
