"""The journal: every XRPC call in order, with caller, status and error; no secrets; no admin calls."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable

import httpx
from conftest import Api

from mockserver import MockChatServer
from mockserver.journal import EncodedJson, Journal


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
    assert entries[2]["params"] == {"convoId": "nope"} and entries[2]["message"] == "Convo not found"
    text = json.dumps(entries)
    assert "hunter2" not in text and alice.actor["accessJwt"] not in text
    assert entries[0]["input"]["password"] == "***" and entries[0]["output"]["accessJwt"] == "***"
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)
    assert page["cursor"] == entries[-1]["seq"]
    # admin calls (like the ones above) never appear; since= pages on
    later = admin_http.get("/_mock/journal", params={"since": page["cursor"]}).json()
    assert later == {"entries": [], "cursor": page["cursor"]}
    assert admin_http.get("/_mock/journal", params={"since": "x"}).status_code == 400


def test_journal_keeps_the_latest_calls_within_its_count_and_byte_limits() -> None:
    journal = Journal(size=5, max_bytes=1000)
    for i in range(8):
        journal.record({"method": "m", "output": EncodedJson(b'{"n": %d}' % i)})
    assert [e["seq"] for e in journal.since()] == [4, 5, 6, 7, 8]  # the count limit
    assert journal.since()[-1]["output"] == {"n": 7}
    bigs = [EncodedJson(b'{"pad": "' + b"x" * 390 + b'", "i": %d}' % i) for i in range(3)]
    for big in bigs:
        journal.record({"method": "m", "output": big})
    # 3 x 408 bytes is over 1,000: the oldest answers go until the rest fit
    assert [e["seq"] for e in journal.since()] == [10, 11]
    assert journal.bytes == len(bigs[1]) + len(bigs[2]) <= journal.max_bytes
    huge = EncodedJson(b'"' + b"x" * 4998 + b'"')
    journal.record({"method": "m", "output": huge})  # one answer over the limit is still kept
    assert [e["seq"] for e in journal.since()] == [12] and journal.bytes == 5000
    shared = EncodedJson(b'"' + b"s" * 298 + b'"')  # a cached read's entries share one answer: counted once
    for _ in range(3):
        journal.record({"method": "m", "output": shared})
    assert [e["seq"] for e in journal.since()] == [13, 14, 15] and journal.bytes == 300
    journal.record({"method": "m", "output": None}, body_bytes=600)  # request bodies count too
    journal.record({"method": "m", "output": None}, body_bytes=600)
    assert [e["seq"] for e in journal.since()] == [17] and journal.bytes == 600
    assert journal.answers == {}
    journal.clear()
    assert journal.since() == [] and journal.bytes == 0


def test_journal_counts_the_body_it_keeps_not_the_header(
    server: MockChatServer, admin_http: httpx.Client, api: Callable[..., Api]
) -> None:
    server.call(lambda s: s.journal.clear())  # the session server's journal may be full: dropping would blur it
    alice = api("alice")
    convo = alice.ok("chat.bsky.group.createGroup", {"name": "G", "members": []})["convo"]["id"]
    for _ in range(3):
        alice.ok("chat.bsky.convo.getConvo", convoId=convo)
    before = server.call(lambda s: (len(s.journal.entries), s.journal.bytes))
    # a header claiming 40 MB, a 2-byte body: refused before reading, and it must not push the rest out
    with socket.create_connection(("127.0.0.1", server.port)) as raw:
        raw.sendall(
            b"POST /xrpc/chat.bsky.convo.sendMessage HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 40000000\r\nConnection: close\r\n\r\n{}"
        )
        assert raw.recv(100).startswith(b"HTTP/1.1 4")
    entries, kept = server.call(lambda s: (len(s.journal.entries), s.journal.bytes))
    assert entries == min(before[0] + 1, server.service.journal.size) and kept == before[1]
    # a kept input counts as received: sent chunked (no Content-Length), it still counts
    body = json.dumps({"convoId": convo, "message": {"text": "x" * 500}}).encode()
    headers = {"Authorization": f"Bearer {alice.actor['accessJwt']}", "Content-Type": "application/json"}
    answer = admin_http.post("/xrpc/chat.bsky.convo.sendMessage", content=iter([body]), headers=headers)
    assert answer.status_code == 200 and "content-length" not in answer.request.headers
    assert server.call(lambda s: s.journal.bodies[-1]) == len(body)
