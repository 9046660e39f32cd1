"""Fault injection, the clock and the admin API's switches (token, off)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from conftest import SSL, Api

from mockserver import MockChatServer

Json = dict[str, Any]
SEND = "chat.bsky.convo.sendMessage"


@pytest.fixture
def group(api: Callable[..., Api]) -> tuple[Api, Api, str]:
    alice, bob = api("alice"), api("bob")
    convo = alice.ok("chat.bsky.group.createGroup", {"name": "G", "members": [bob.did]})["convo"]["id"]
    return alice, bob, convo


def test_error_fault_hits_the_next_n_matching_calls(admin_http: httpx.Client, group: tuple[Api, Api, str]) -> None:
    alice, bob, convo = group
    added = admin_http.post("/_mock/faults", json={"method": SEND, "error": "ConvoLocked", "times": 2})
    assert added.status_code == 201
    assert added.json()["status"] == 400
    body = {"convoId": convo, "message": {"text": "hi"}}
    assert alice.error(SEND, body)[0] == "ConvoLocked"
    assert "Injected fault" in bob.error(SEND, body)[1]
    assert alice.ok(SEND, body)["text"] == "hi"  # used up
    listed = admin_http.get("/_mock/faults").json()["faults"]  # used up: still listed, with its hits
    assert [(f["id"], f["hits"], f["times"]) for f in listed] == [(added.json()["id"], 2, 0)]
    # other methods were never touched
    assert alice.ok("chat.bsky.convo.getConvo", convoId=convo)["convo"]["id"] == convo


def test_fault_matched_on_actor_and_input(admin_http: httpx.Client, group: tuple[Api, Api, str]) -> None:
    alice, bob, convo = group
    admin_http.post(
        "/_mock/faults",
        json={"method": SEND, "actor": "bob.test", "status": 503, "message": "try later"},
    )
    admin_http.post(
        "/_mock/faults",
        json={"method": "chat.bsky.convo.getConvo", "input": {"convoId": "nope"}, "error": "Overloaded"},
    )
    body = {"convoId": convo, "message": {"text": "hi"}}
    status, out = bob.post(SEND, body)
    assert (status, out) == (503, {"error": "InternalServerError", "message": "try later"})
    status, _ = bob.post(SEND, body)
    assert status == 503  # no times: every call
    assert alice.ok(SEND, body)  # a different actor
    assert alice.error("chat.bsky.convo.getConvo", convoId="nope")[0] == "Overloaded"
    assert alice.ok("chat.bsky.convo.getConvo", convoId=convo)
    listed = admin_http.get("/_mock/faults").json()["faults"]
    assert [f["hits"] for f in listed] == [2, 1]
    assert admin_http.delete(f"/_mock/faults/{listed[0]['id']}").status_code == 200
    assert alice.ok(SEND, body) and bob.ok(SEND, body)
    assert admin_http.delete("/_mock/faults/999").status_code == 404
    admin_http.delete("/_mock/faults")
    assert admin_http.get("/_mock/faults").json() == {"faults": []}


def test_delay_and_drop(server: MockChatServer, admin_http: httpx.Client, group: tuple[Api, Api, str]) -> None:
    alice, _, convo = group
    admin_http.post("/_mock/faults", json={"method": "chat.bsky.convo.getConvo", "delay": 0.3, "times": 1})
    started = time.monotonic()
    assert alice.ok("chat.bsky.convo.getConvo", convoId=convo)
    assert time.monotonic() - started >= 0.3
    admin_http.post("/_mock/faults", json={"method": "chat.bsky.convo.getConvo", "drop": True, "times": 1})
    with pytest.raises(httpx.RemoteProtocolError):
        alice.get("chat.bsky.convo.getConvo", convoId=convo)
    assert alice.ok("chat.bsky.convo.getConvo", convoId=convo)  # the server keeps serving


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ({}, "needs a method"),
        ({"method": SEND}, "must do something"),
        ({"method": SEND, "error": "X", "colour": 1}, "Unknown fault field(s) colour"),
        ({"method": SEND, "status": 200}, "between 400 and 599"),
        ({"method": SEND, "delay": 600}, "delay must be"),
        ({"method": SEND, "error": "X", "times": 0}, "at least 1"),
        ({"method": SEND, "error": 5}, "error must be"),
    ],
)
def test_bad_faults_are_refused(admin_http: httpx.Client, spec: Json, words: str) -> None:
    answer = admin_http.post("/_mock/faults", json=spec)
    assert answer.status_code == 400 and words in answer.json()["message"]
    assert admin_http.get("/_mock/faults").json() == {"faults": []}


def test_faults_from_a_scenario(server: MockChatServer, admin_http: httpx.Client) -> None:
    loaded = server.load_scenario(
        {
            "actors": {"alice": {}, "bob": {}},
            "groups": {"g": {"owner": "alice", "name": "G", "members": ["bob"]}},
            "faults": [{"method": SEND, "actor": "bob", "error": "ConvoLocked", "times": 1}],
        }
    )
    faults = admin_http.get("/_mock/faults").json()["faults"]
    assert faults[0]["actor"] == loaded.actors["bob"].did
    login = admin_http.post(
        "/xrpc/com.atproto.server.createSession", json={"identifier": "bob.test", "password": "password"}
    ).json()
    headers = {"Authorization": f"Bearer {login['accessJwt']}"}
    body = {"convoId": loaded.convos["g"], "message": {"text": "hi"}}
    assert admin_http.post(f"/xrpc/{SEND}", json=body, headers=headers).json()["error"] == "ConvoLocked"
    assert admin_http.post(f"/xrpc/{SEND}", json=body, headers=headers).status_code == 200
    admin_http.post("/_mock/reset", json={"to": "scenario"})
    assert [f["times"] for f in admin_http.get("/_mock/faults").json()["faults"]] == [1]  # back, fresh
    admin_http.post("/_mock/reset")
    assert admin_http.get("/_mock/faults").json() == {"faults": []}


def test_clock_set_advance_reset(admin_http: httpx.Client, api: Callable[..., Api]) -> None:
    answer = admin_http.post("/_mock/clock", json={"set": "2030-01-02T03:04:05Z"}).json()
    assert answer["now"].startswith("2030-01-02T03:04:0")
    alice = api("alice")  # tokens are issued on the server's clock
    convo = alice.ok("chat.bsky.group.createGroup", {"name": "G", "members": []})["convo"]["id"]
    sent = alice.ok(SEND, {"convoId": convo, "message": {"text": "from the future"}})
    assert sent["sentAt"].startswith("2030-01-02T03:04")
    answer = admin_http.post("/_mock/clock", json={"advance": 86400}).json()
    assert answer["now"].startswith("2030-01-03")
    assert admin_http.get("/_mock/clock").json()["now"].startswith("2030-01-03")
    admin_http.post("/_mock/clock", json={"reset": True})
    assert abs(admin_http.get("/_mock/clock").json()["offsetSeconds"]) < 1
    for body, words in (
        ({}, "exactly one"),
        ({"advance": "soon"}, "number of seconds"),
        ({"set": "tomorrow"}, "set"),
        ({"set": "2030-01-01T00:00:00Z", "advance": 1}, "exactly one"),
        ({"advance": 1e13}, "within 100 years"),  # past datetime's range: it once broke every later call
        ({"advance": -1e13}, "within 100 years"),
        ({"set": "9999-12-31T23:59:59Z"}, "within 100 years"),
        ({"pin": "0001-01-01T00:00:00Z"}, "within 100 years"),
    ):
        answer = admin_http.post("/_mock/clock", json=body)
        assert answer.status_code == 400 and words in answer.json()["message"], answer.text
        assert abs(admin_http.get("/_mock/clock").json()["offsetSeconds"]) < 1  # unchanged, still serving


def test_clock_pin_stops_time_and_unpin_runs_on_from_there(admin_http: httpx.Client) -> None:
    pinned = admin_http.post("/_mock/clock", json={"pin": "2030-05-01T10:00:00Z"}).json()
    assert pinned["now"] == "2030-05-01T10:00:00.000Z" and pinned["stopped"] is True
    time.sleep(0.05)
    assert admin_http.get("/_mock/clock").json()["now"] == "2030-05-01T10:00:00.000Z"  # not ticking
    moved = admin_http.post("/_mock/clock", json={"advance": 3600}).json()
    assert moved["now"] == "2030-05-01T11:00:00.000Z" and moved["stopped"] is True  # moves, stays stopped
    moved = admin_http.post("/_mock/clock", json={"set": "2030-06-01T00:00:00Z"}).json()
    assert moved["now"] == "2030-06-01T00:00:00.000Z" and moved["stopped"] is True
    running = admin_http.post("/_mock/clock", json={"unpin": True}).json()
    assert running["stopped"] is False and running["now"].startswith("2030-06-01T00:00:0")  # on from the pin
    time.sleep(0.05)
    assert admin_http.get("/_mock/clock").json()["now"] > "2030-06-01T00:00:00.000Z"  # ticking again
    admin_http.post("/_mock/clock", json={"pin": "2031-01-01T00:00:00Z"})
    reset = admin_http.post("/_mock/clock", json={"reset": True}).json()
    assert reset["stopped"] is False and abs(reset["offsetSeconds"]) < 1  # reset: real time, running
    answer = admin_http.post("/_mock/clock", json={"pin": "noon"})
    assert answer.status_code == 400 and "pin" in answer.json()["message"]


def test_tokens_expire_with_the_server_clock(admin_http: httpx.Client, group: tuple[Api, Api, str]) -> None:
    alice, _, convo = group
    admin_http.post("/_mock/clock", json={"advance": 3 * 3600})
    assert alice.error("chat.bsky.convo.getConvo", convoId=convo)[0] == "ExpiredToken"
    admin_http.post("/_mock/clock", json={"reset": True})


def test_admin_token_and_no_admin() -> None:
    with MockChatServer(config=None) as open_server:
        assert httpx.get(f"{open_server.url}/_mock/actors", verify=SSL).status_code == 200
    from mockserver import Config

    with MockChatServer(config=Config(admin_token="s3cret")) as guarded:
        answer = httpx.get(f"{guarded.url}/_mock/actors", verify=SSL)
        assert answer.status_code == 401 and answer.json()["error"] == "AuthenticationRequired"
        ok = httpx.get(f"{guarded.url}/_mock/actors", headers={"Authorization": "Bearer s3cret"}, verify=SSL)
        assert ok.status_code == 200
        # XRPC is not guarded by the admin token
        assert httpx.get(f"{guarded.url}/xrpc/com.example.x", verify=SSL).status_code == 501
    with MockChatServer(config=Config(admin=False)) as closed:
        answer = httpx.get(f"{closed.url}/_mock/actors", verify=SSL)
        assert answer.status_code == 404 and answer.json()["error"] == "NotFound"
