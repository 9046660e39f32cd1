"""The outside bug hunt's nine reproductions, each as found, and a little around each.

Every refused call must be a 4xx XRPC body that changed nothing, and the server must go on
answering every read for every member afterwards.
"""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import SSL, Api, comparable, dump

from mockserver import MockChatServer
from mockserver.recording import FileRecorder, read
from mockserver.replay import replay
from mockserver.transcript import render

Json = dict[str, Any]
Make = Callable[..., Api]
C = "chat.bsky.convo."
G = "chat.bsky.group."


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def reads_work(server: MockChatServer, *who: Api, convo: str) -> None:
    """Every read still answers 200 for every member, and the admin views and dumps too."""
    for member in who:
        member.ok(C + "getConvo", convoId=convo)
        member.ok(C + "getMessages", convoId=convo)
        member.ok(C + "listConvos")
        member.ok(C + "getLog", cursor="")
    with httpx.Client(base_url=server.url, verify=SSL, timeout=30) as admin:
        for path in ("/_mock/state", "/_mock/snapshot", "/_mock/journal", "/_mock/convos"):
            assert admin.get(path).status_code == 200, path


def group(alice: Api, *members: Api) -> str:
    return str(alice.ok(G + "createGroup", {"name": "G", "members": [m.did for m in members]})["convo"]["id"])


# 1 -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [40, 900, 1000, 5000])
def test_deeply_nested_facets_are_refused_and_store_nothing(server: MockChatServer, api: Make, depth: int) -> None:
    alice, bob = api("alice"), api("bob")
    convo = group(alice, bob)
    before = dump(server)
    feature = {"$type": "app.bsky.richtext.facet#link", "uri": "https://x", "z": "HERE"}
    message = {"text": "hi", "facets": [{"index": {"byteStart": 0, "byteEnd": 2}, "features": [feature]}]}
    text = json.dumps({"convoId": convo, "message": message})  # written by hand: json.dumps recurses
    body = text.replace('"HERE"', "[" * depth + "1" + "]" * depth).encode()
    headers = {"Authorization": f"Bearer {alice.actor['accessJwt']}", "Content-Type": "application/json"}
    answer = httpx.post(f"{server.url}/xrpc/{C}sendMessage", content=body, headers=headers, verify=SSL, timeout=30)
    assert answer.status_code == 400, answer.text
    error, text = answer.json()["error"], answer.json()["message"]
    assert error == "InvalidRequest" and ("levels deep" in text or "recursion" in text.lower()), text
    assert dump(server) == before
    reads_work(server, alice, bob, convo=convo)


def test_nesting_under_the_limit_is_stored_and_every_view_of_it_works(server: MockChatServer, api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    convo = group(alice, bob)
    feature = {"$type": "app.bsky.richtext.facet#link", "uri": "https://x", "z": nested(24)}
    message = {"text": "hi", "facets": [{"index": {"byteStart": 0, "byteEnd": 2}, "features": [feature]}]}
    sent = alice.ok(C + "sendMessage", {"convoId": convo, "message": message})
    assert sent["facets"][0]["features"][0]["z"] == nested(24)
    reads_work(server, alice, bob, convo=convo)
    state = httpx.get(f"{server.url}/_mock/state", verify=SSL).json()
    assert httpx.put(f"{server.url}/_mock/state", json=state, verify=SSL).status_code == 200, "a dump loads back"


def test_admin_bodies_have_a_nesting_limit_too(server: MockChatServer, admin_http: httpx.Client) -> None:
    answer = admin_http.post("/_mock/faults", json={"method": "chat.bsky.convo.getLog", "x": nested(100)})
    assert answer.status_code == 400 and "levels deep" in answer.json()["message"]
    answer = admin_http.put(
        "/_mock/state", content=b"[" * 3000 + b"]" * 3000, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 400


# 2 -------------------------------------------------------------------------------------------

ODD = [b64("²"), b64("①"), b64("9" * 5000), b64("٣"), b64("12 3"), "wrI", "%", "🙂"]


@pytest.mark.parametrize("cursor", ODD)
def test_odd_digits_in_opaque_cursors_are_400(api: Make, cursor: str) -> None:
    alice, bob = api("alice"), api("bob")
    convo = group(alice, bob)
    for nsid, params in [
        (C + "getConvoMembers", {"convoId": convo}),
        (G + "listJoinRequests", {"convoId": convo}),
        (C + "listConvos", {}),
        (C + "listConvoRequests", {}),
        (G + "listMutualGroups", {"subject": bob.did}),
    ]:
        error, _ = alice.error(nsid, cursor=cursor, **params)
        assert error == "InvalidRequest", nsid
    # rev cursors take any text
    alice.ok(C + "getMessages", convoId=convo, cursor=cursor)
    alice.ok(C + "getLog", cursor=cursor)


@pytest.mark.parametrize("raw", ["²", "①", "٣", "9" * 5000, "-1", "1.5", " 1"])
def test_odd_numbers_in_admin_paths_and_queries(admin_http: httpx.Client, raw: str) -> None:
    for name in ("since", "limit"):
        answer = admin_http.get("/_mock/journal", params={name: raw})
        assert answer.status_code == 400 and name in answer.json()["message"], (name, answer.text)
    answer = admin_http.delete(f"/_mock/faults/{raw}")
    assert answer.status_code == 404 and answer.json()["error"] == "NotFound"


# 3 -------------------------------------------------------------------------------------------

BAD_EMBEDS = ["just a string", {"$type": 5}, {"$type": ["x"]}, {"$type": {"a": 1}}, [1, 2], 7, True]
BAD_FEATURES = [{"$type": 5}, [1], True, "text", {"$type": None}, {"uri": "https://x"}]


@pytest.mark.parametrize("embed", BAD_EMBEDS)
def test_malformed_embeds_are_400_naming_the_field(server: MockChatServer, api: Make, embed: Any) -> None:
    alice, bob = api("alice"), api("bob")
    convo = group(alice, bob)
    before = dump(server)
    error, text = alice.error(C + "sendMessage", {"convoId": convo, "message": {"text": "x", "embed": embed}})
    assert error == "InvalidRequest" and "embed" in text, text
    assert dump(server) == before
    reads_work(server, alice, bob, convo=convo)


@pytest.mark.parametrize("feature", BAD_FEATURES)
def test_malformed_facet_features_are_400_naming_the_field(server: MockChatServer, api: Make, feature: Any) -> None:
    alice, bob = api("alice"), api("bob")
    convo = group(alice, bob)
    before = dump(server)
    message = {"text": "x", "facets": [{"index": {"byteStart": 0, "byteEnd": 1}, "features": [feature]}]}
    for nsid, body in [
        (C + "sendMessage", {"convoId": convo, "message": message}),
    ]:
        error, text = alice.error(nsid, body)
        assert error == "InvalidRequest" and "features" in text, text
    assert dump(server) == before


# 4 -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/xrpc/chat.bsky.convo.listConvos", "/xrpc/chat.bsky.group.getJoinLinkPreviews?codes=x"]
)
def test_non_ascii_authorization_is_invalid_token(server: MockChatServer, path: str) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as raw:
        raw.sendall(
            f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n".encode()
            + "Authorization: Bearer héllo€🙂\r\n\r\n".encode()
        )
        answer = b""
        while chunk := raw.recv(4096):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 401"), head
    assert json.loads(body)["error"] == "InvalidToken"


# 5 -------------------------------------------------------------------------------------------


def test_a_former_owner_gets_no_more_events(api: Make) -> None:
    owner, bob, eve = api("owner"), api("bob"), api("eve")
    convo = group(owner, bob)
    code = owner.ok(G + "createJoinLink", {"convoId": convo, "joinRule": "anyone", "requireApproval": True})
    assert eve.ok(G + "requestJoin", {"code": code["joinLink"]["code"]})["status"] == "pending"
    owner.ok(C + "lockConvo", {"convoId": convo})
    owner.ok(C + "leaveConvo", {"convoId": convo})
    cursor = owner.ok(C + "getLog")["cursor"]
    eve.ok(G + "withdrawJoinRequest", {"convoId": convo})
    assert owner.ok(C + "getLog", cursor=cursor)["logs"] == [], "nobody who left gets new events"
    assert [e["$type"].split("#")[1] for e in eve.ok(C + "getLog", cursor=cursor)["logs"]] == [
        "logWithdrawOutgoingJoinRequest"
    ]


# 6 -------------------------------------------------------------------------------------------


def record(tmp_path: Path, session: Callable[[MockChatServer, httpx.Client], None]) -> tuple[list[Json], Json, Path]:
    path = tmp_path / "rec.jsonl"
    with MockChatServer(seed=9, strict=True) as server, httpx.Client(base_url=server.url, verify=SSL) as http:
        server.service.recorders.append(FileRecorder(path))
        server.service.started()
        session(server, http)
        state = server.dump()
    return read(path), state, path


def replays_exactly(tmp_path: Path, session: Callable[[MockChatServer, httpx.Client], None]) -> Path:
    lines, original, path = record(tmp_path, session)
    with MockChatServer(seed=9, strict=True) as fresh:
        report = replay(fresh.url, lines)
        assert report.ok, report.text()
        assert comparable(fresh.dump()) == comparable(original)
    with MockChatServer(seed=9, strict=True) as fresh, httpx.Client(base_url=fresh.url, verify=SSL) as http:
        answer = http.post("/_mock/scenarios/load", json={"name": str(path)})
        assert answer.status_code == 200, answer.text
        assert comparable(fresh.dump()) == comparable(original), "a recording loads wherever a scenario does"
    return path


def test_replay_a_refresh_with_the_admin_api_token(tmp_path: Path) -> None:
    def session(server: MockChatServer, http: httpx.Client) -> None:
        made = http.post("/_mock/actors", json={"handle": "zed.test"}).json()
        refreshed = http.post(
            "/xrpc/com.atproto.server.refreshSession", headers={"Authorization": f"Bearer {made['refreshJwt']}"}
        )
        assert refreshed.status_code == 200, refreshed.text

    replays_exactly(tmp_path, session)


def test_replay_an_admin_session_and_the_ids_after_it(tmp_path: Path) -> None:
    def session(server: MockChatServer, http: httpx.Client) -> None:
        made = http.post("/_mock/actors", json={"handle": "zed.test"}).json()
        http.post(f"/_mock/actors/{made['did']}/session").raise_for_status()
        other = http.post("/_mock/actors", json={}).json()  # its DID and handle come after the session's id
        token = http.post(f"/_mock/actors/{made['did']}/token").json()["accessJwt"]
        out = http.post(
            "/xrpc/chat.bsky.group.createGroup",
            json={"name": "G", "members": [other["did"]]},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert out.status_code == 200, out.text

    lines = read(replays_exactly(tmp_path, session))
    assert any(line["type"] == "admin" and line["op"] == "session" for line in lines)


def test_replay_a_call_refused_for_an_expired_token(tmp_path: Path) -> None:
    def session(server: MockChatServer, http: httpx.Client) -> None:
        made = http.post("/_mock/actors", json={"handle": "zed.test"}).json()
        http.post("/_mock/clock", json={"advance": 3 * 3600}).raise_for_status()
        out = http.get("/xrpc/chat.bsky.convo.listConvos", headers={"Authorization": f"Bearer {made['accessJwt']}"})
        assert out.json()["error"] == "ExpiredToken"
        assert server.service.journal.since()[-1]["actor"] == made["did"], "the journal names whose token it was"
        forged = http.get("/xrpc/chat.bsky.convo.listConvos", headers={"Authorization": "Bearer x.y.z"})
        assert forged.json()["error"] == "InvalidToken"

    replays_exactly(tmp_path, session)


def test_replay_a_parameter_given_twice(tmp_path: Path) -> None:
    def session(server: MockChatServer, http: httpx.Client) -> None:
        made = http.post("/_mock/actors", json={"handle": "zed.test"}).json()
        out = http.get(
            "/xrpc/chat.bsky.convo.getMessages?convoId=X&convoId=Y",
            headers={"Authorization": f"Bearer {made['accessJwt']}"},
        )
        assert out.status_code == 400
        assert server.service.journal.since()[-1]["params"] == {"convoId": ["X", "Y"]}

    replays_exactly(tmp_path, session)


def test_serve_scenario_takes_those_recordings(tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    def session(server: MockChatServer, http: httpx.Client) -> None:
        made = http.post("/_mock/actors", json={"handle": "zed.test"}).json()
        http.post(f"/_mock/actors/{made['did']}/session").raise_for_status()
        http.post(
            "/xrpc/com.atproto.server.refreshSession", headers={"Authorization": f"Bearer {made['refreshJwt']}"}
        ).raise_for_status()

    _, original, path = record(tmp_path, session)
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--seed", "9", "--scenario", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 20
        line = proc.stdout.readline()
        assert "listening on" in line or time.monotonic() > deadline, (line, proc.stderr.read() if proc.stderr else "")
        url = line.rsplit(" ", 1)[-1].strip()
        assert comparable(httpx.get(f"{url}/_mock/state").json()) == comparable(original)
    finally:
        proc.terminate()
        proc.wait(10)


# 7 -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [None, 3])
def test_a_scenario_seed_does_not_stick_to_the_server(seed: int | None) -> None:
    plain = {
        "actors": {"alice": {}, "bob": {}},
        "groups": {"g": {"owner": "alice", "name": "G", "members": ["bob"], "link": {}}},
    }
    with MockChatServer(seed=seed) as server, httpx.Client(base_url=server.url, verify=SSL) as admin:

        def load(spec: Json) -> Json:
            answer = admin.post("/_mock/scenarios/load", json={"scenario": spec})
            assert answer.status_code == 200, answer.text
            out: Json = answer.json()
            return out

        first = load(plain)
        seeded = load({**plain, "seed": 42})
        assert load({**plain, "seed": 42}) == seeded, "a scenario's own seed gives the same ids each time"
        again = load(plain)
        assert seeded != first and seeded != again
        if seed is not None:
            assert again == first, "no seed in the scenario: the server's seed, not the last scenario's"
        for _ in range(2):
            assert admin.post("/_mock/reset", json={"to": "scenario"}).json()["scenario"] == again


# 8 -------------------------------------------------------------------------------------------


def broken_dumps(state: Json) -> list[tuple[str, Json]]:
    def edit(fn: Callable[[Json], None]) -> Json:
        copy = json.loads(json.dumps(state))
        fn(copy)
        return copy

    def convo(s: Json) -> Json:
        found: Json = s["convos"][0]
        return found

    return [
        ("an event's message that does not exist", edit(lambda s: convo(s)["events"][-1].update(message_id="nosuch"))),
        ("a convo id that is an int", edit(lambda s: convo(s).update(id=5))),
        ("a member who is no actor", edit(lambda s: convo(s)["members"][0].update(did="did:plc:nobody"))),
        ("a message sender who is no actor", edit(lambda s: convo(s)["messages"][-1].update(sender="did:plc:x"))),
        ("a message seq out of place", edit(lambda s: convo(s)["messages"][-1].update(seq=99))),
        ("a role that does not exist", edit(lambda s: convo(s)["members"][0].update(role="admin"))),
        ("an unknown log kind", edit(lambda s: convo(s)["events"][0].update(kind="logNothing"))),
        ("a joined_seq past the history", edit(lambda s: convo(s)["members"][0].update(joined_seq=999))),
        ("a text that is a number", edit(lambda s: convo(s)["messages"][-1].update(text=5))),
        ("a session of no actor", edit(lambda s: s["sessions"].update(abc="did:plc:nobody"))),
        ("a link to no convo", edit(lambda s: s["links"][0].update(convo_id="nosuch"))),
        ("an embed that is a string", edit(lambda s: convo(s)["messages"][-1].update(embed="x"))),
        ("a declaration value not known", edit(lambda s: s["actors"][0].update(allow_incoming="maybe"))),
        ("facets nested too deep", edit(lambda s: convo(s)["messages"][-1].update(facets=[nested(40)]))),
    ]


def test_inconsistent_dumps_are_refused_and_change_nothing(server: MockChatServer, admin_http: httpx.Client) -> None:
    server.load_scenario("demo")
    loaded = server.service.loaded
    assert loaded is not None
    state = admin_http.get("/_mock/state").json()
    state["convos"].sort(key=lambda c: -len(c["messages"]))
    assert state["convos"][0]["messages"] and state["links"]
    for what, dumped in broken_dumps(state):
        answer = admin_http.put("/_mock/state", json=dumped)
        assert answer.status_code == 400, (what, answer.text)
        after = admin_http.get("/_mock/state").json()
        after["convos"].sort(key=lambda c: -len(c["messages"]))
        assert after == state, (what, "nothing changed")
    assert admin_http.put("/_mock/state", json=state).status_code == 200, "the untouched dump still loads"


# 9 -------------------------------------------------------------------------------------------


def test_a_refused_refresh_changes_nothing(server: MockChatServer, admin_http: httpx.Client) -> None:
    made = admin_http.post("/_mock/actors", json={"handle": "zed.test"}).json()
    admin_http.patch("/_mock/actors/zed.test", json={"status": "takendown"}).raise_for_status()
    headers = {"Authorization": f"Bearer {made['refreshJwt']}"}
    refused = admin_http.post("/xrpc/com.atproto.server.refreshSession", headers=headers)
    assert refused.status_code == 401 and refused.json()["error"] == "AccountTakedown"
    admin_http.patch("/_mock/actors/zed.test", json={"status": "active"}).raise_for_status()
    assert admin_http.post("/xrpc/com.atproto.server.refreshSession", headers=headers).status_code == 200


def test_transcript_names_accounts_made_through_the_admin_api(tmp_path: Path) -> None:
    def session(server: MockChatServer, http: httpx.Client) -> None:
        made = http.post("/_mock/actors", json={}).json()  # a generated handle
        http.get("/xrpc/chat.bsky.convo.listConvos", headers={"Authorization": f"Bearer {made['accessJwt']}"})

    lines, state, _ = record(tmp_path, session)
    handle = state["actors"][0]["handle"]
    text = render(lines)
    assert f"**{handle}** `listConvos`" in text and "did:plc:" not in text.split("## ")[-1], text


# the recorder's contract --------------------------------------------------------------------


def test_every_kind_of_change_replays_to_the_same_state(tmp_path: Path) -> None:
    """Admin changes, sessions, faults (added by a scenario, by the API, hit, used up, dropped,
    removed, cleared), clock moves and calls of every outcome: the replay ends identical."""

    def session(server: MockChatServer, http: httpx.Client) -> None:
        scenario = {
            "actors": {"alice": {}, "bob": {}},
            "groups": {"g": {"owner": "alice", "name": "G", "members": ["bob"]}},
            "faults": [{"method": "chat.bsky.convo.sendMessage", "actor": "bob", "error": "ConvoLocked", "times": 1}],
        }
        loaded = http.post("/_mock/scenarios/load", json={"scenario": scenario}).json()
        convo = loaded["convos"]["g"]
        alice = http.post(f"/_mock/actors/{loaded['actors']['alice']['did']}/session").json()
        bob = http.post(f"/_mock/actors/{loaded['actors']['bob']['did']}/session").json()

        def as_(who: Json) -> dict[str, str]:
            return {"Authorization": f"Bearer {who['accessJwt']}"}

        send = "/xrpc/chat.bsky.convo.sendMessage"
        assert http.post(send, json={"convoId": convo, "message": {"text": "1"}}, headers=as_(bob)).status_code == 400
        assert http.post(send, json={"convoId": convo, "message": {"text": "2"}}, headers=as_(bob)).status_code == 200
        drop = http.post("/_mock/faults", json={"method": "chat.bsky.convo.getConvo", "drop": True, "times": 1})
        with pytest.raises(httpx.HTTPError):
            http.get("/xrpc/chat.bsky.convo.getConvo", params={"convoId": convo}, headers=as_(alice))
        assert drop.status_code == 201
        slow = http.post("/_mock/faults", json={"method": "chat.bsky.convo.listConvos", "error": "X", "status": 503})
        assert http.get("/xrpc/chat.bsky.convo.listConvos", headers=as_(alice)).status_code == 503
        http.delete(f"/_mock/faults/{slow.json()['id']}").raise_for_status()
        assert http.get("/xrpc/chat.bsky.convo.listConvos", headers=as_(alice)).status_code == 200
        http.post("/_mock/faults", json={"method": "*", "error": "Nope", "times": 5})
        http.delete("/_mock/faults").raise_for_status()
        http.post("/_mock/clock", json={"advance": 600}).raise_for_status()
        http.patch(f"/_mock/convos/{convo}", json={"moderationLock": True}).raise_for_status()
        carol = http.post("/_mock/actors", json={"handle": "carol.test", "allowIncoming": None}).json()
        http.patch("/_mock/actors/carol.test", json={"follows": ["alice.test"]}).raise_for_status()
        http.post("/_mock/actors/carol.test/session").raise_for_status()
        refreshed = http.post(
            "/xrpc/com.atproto.server.refreshSession", headers={"Authorization": f"Bearer {carol['refreshJwt']}"}
        )
        assert refreshed.status_code == 200
        http.post("/_mock/reset", json={"to": "scenario"}).raise_for_status()
        http.post(send, json={"convoId": convo, "message": {"text": "3"}}, headers=as_(bob))  # the fault again

    replays_exactly(tmp_path, session)


def test_plugin_helpers_are_recorded_too(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_it(chat_mock):
            a = chat_mock.create_actor("alice.test")
            b = chat_mock.create_actor("bob.test", allow_group_invites="following")
            chat_mock.faults.add("chat.bsky.group.createGroup", error="Nope", times=1)
            import httpx
            out = httpx.post(chat_mock.url + "/xrpc/chat.bsky.group.createGroup",
                             json={"name": "G", "members": [b.did]}, headers=a.headers)
            assert out.json()["error"] == "Nope"
            out = httpx.post(chat_mock.url + "/xrpc/chat.bsky.group.createGroup",
                             json={"name": "G", "members": [b.did]}, headers=a.headers)
            assert out.json()["error"] == "NotFollowedBySender"
        """
    )
    out = pytester.runpytest("-p", "no:randomly", f"--chat-mock-record={pytester.path / 'rec'}")
    out.assert_outcomes(passed=1)
    (path,) = (pytester.path / "rec").glob("*.jsonl")
    lines = read(path)
    assert [line.get("op") for line in lines if line["type"] == "admin"] == ["createActor", "createActor", "addFault"]
    with MockChatServer() as fresh:
        report = replay(fresh.url, lines)
        assert report.ok, report.text()


# the second hunt ------------------------------------------------------------------------------


def test_a_call_in_flight_across_a_reset_acts_in_the_new_state(server: MockChatServer, api: Make) -> None:
    alice = api("alice")
    body = json.dumps({"name": "ghost", "members": []}).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        raw.sendall(
            b"POST /xrpc/chat.bsky.group.createGroup HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            + f"Authorization: Bearer {alice.actor['accessJwt']}\r\nContent-Type: application/json\r\n".encode()
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body[:5]
        )
        httpx.post(f"{server.url}/_mock/reset", verify=SSL).raise_for_status()  # while the body is on its way
        raw.sendall(body[5:])
        answer = b""
        while chunk := raw.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert server.dump()["convos"] == [], "nothing was written for an account the state no longer has"


def test_a_dump_whose_id_generator_is_behind_is_refused_or_caught_up(
    server: MockChatServer, admin_http: httpx.Client
) -> None:
    server.load_scenario("demo")
    state = admin_http.get("/_mock/state").json()
    behind = {**state, "ids": {**state["ids"], "tidLast": 0}}
    answer = admin_http.put("/_mock/state", json=behind)
    assert answer.status_code == 400 and "tidLast" in answer.json()["message"]
    wrapped = {**state, "ids": {**state["ids"], "tidLast": 2**60}}
    assert admin_http.put("/_mock/state", json=wrapped).status_code == 400
    without = {k: v for k, v in state.items() if k != "ids"}
    admin_http.post("/_mock/reset").raise_for_status()
    assert admin_http.put("/_mock/state", json=without).status_code == 200
    alice = admin_http.post("/_mock/actors/alice.test/session").json()
    headers = {"Authorization": f"Bearer {alice['accessJwt']}"}
    now = admin_http.get("/xrpc/chat.bsky.convo.getLog", headers=headers).json()["cursor"]
    convo = next(
        c["id"] for c in state["convos"] if any(m["did"] == alice["did"] for m in state["convos"][0]["members"])
    )
    admin_http.post(
        "/xrpc/chat.bsky.convo.sendMessage", json={"convoId": convo, "message": {"text": "new"}}, headers=headers
    )
    fresh = admin_http.get("/xrpc/chat.bsky.convo.getLog", params={"cursor": now}, headers=headers).json()["logs"]
    assert len(fresh) <= 1, "only what happened after 'now', not the history again"
    assert admin_http.put("/_mock/state", json=admin_http.get("/_mock/state").json()).status_code == 200


def test_recordings_with_odd_calls_replay(tmp_path: Path) -> None:
    """A wrong password, a wrong HTTP verb, a body too large, a refresh of a session the start held,
    message data with keys named like secrets: each replays as recorded."""

    def session(server: MockChatServer, http: httpx.Client) -> None:
        made = http.post("/_mock/actors", json={"handle": "zed.test", "password": "pw"}).json()
        http.put("/_mock/state", json=http.get("/_mock/state").json()).raise_for_status()  # a new start line
        # tokens from before the state was replaced are refused; the session itself is in the state,
        # and the admin API gives a token for it again (a replay does the same)
        stale = http.post(
            "/xrpc/com.atproto.server.refreshSession", headers={"Authorization": f"Bearer {made['refreshJwt']}"}
        )
        assert stale.status_code == 401 and stale.json()["error"] == "InvalidToken"
        jti = json.loads(base64.urlsafe_b64decode(made["refreshJwt"].split(".")[1] + "=="))["jti"]
        again = http.post("/_mock/actors/zed.test/session", json={"session": jti}).json()
        made = {
            **made,
            "refreshJwt": again["refreshJwt"],
            "accessJwt": http.post("/_mock/actors/zed.test/token").json()["accessJwt"],
        }
        wrong = http.post("/xrpc/com.atproto.server.createSession", json={"identifier": "zed.test", "password": "no"})
        assert wrong.status_code == 401
        assert http.post("/xrpc/chat.bsky.convo.getLog").status_code == 400
        big = http.post(
            "/xrpc/chat.bsky.group.createGroup",
            content=b" " * (1024 * 1024 + 10),
            headers={"Authorization": f"Bearer {made['accessJwt']}", "Content-Type": "application/json"},
        )
        assert big.status_code == 413
        refreshed = http.post(
            "/xrpc/com.atproto.server.refreshSession", headers={"Authorization": f"Bearer {made['refreshJwt']}"}
        )
        assert refreshed.status_code == 200, refreshed.text
        headers = {"Authorization": f"Bearer {made['accessJwt']}"}
        convo = http.post("/xrpc/chat.bsky.group.createGroup", json={"name": "G", "members": []}, headers=headers)
        feature = {"$type": "com.example.secretish", "password": "p", "accessJwt": "a"}
        message = {"text": "x", "facets": [{"index": {"byteStart": 0, "byteEnd": 1}, "features": [feature]}]}
        sent = http.post(
            "/xrpc/chat.bsky.convo.sendMessage",
            json={"convoId": convo.json()["convo"]["id"], "message": message},
            headers=headers,
        )
        assert sent.status_code == 200, sent.text

    replays_exactly(tmp_path, session)


def test_racing_calls_take_the_same_fault_rules_again(tmp_path: Path) -> None:
    def session(server: MockChatServer, http: httpx.Client) -> None:
        import threading

        a = http.post("/_mock/actors", json={"handle": "a.test"}).json()
        b = http.post("/_mock/actors", json={"handle": "b.test"}).json()
        rule = {"method": "chat.bsky.group.createGroup", "error": "Nope", "delay": 0.4, "times": 1}
        http.post("/_mock/faults", json=rule).raise_for_status()
        results: dict[str, int] = {}

        def create(who: Json, name: str) -> None:
            with httpx.Client(base_url=server.url, verify=SSL, timeout=10) as own:
                out = own.post(
                    "/xrpc/chat.bsky.group.createGroup",
                    json={"name": name, "members": []},
                    headers={"Authorization": f"Bearer {who['accessJwt']}"},
                )
                results[name] = out.status_code

        first = threading.Thread(target=create, args=(a, "first"))
        first.start()
        import time

        deadline = time.monotonic() + 10  # the first call takes the rule, whatever the machine's load
        while http.get("/_mock/faults").json()["faults"][0]["hits"] == 0:
            assert time.monotonic() < deadline, "the first call never reached the fault rule"
            time.sleep(0.005)
        create(b, "second")  # gets through while the first waits on the rule
        first.join()
        assert results == {"first": 400, "second": 200}

    replays_exactly(tmp_path, session)


@pytest.mark.parametrize("seed", [1.0, 2**64, -1, True])
def test_odd_seeds_are_refused(admin_http: httpx.Client, seed: Any) -> None:
    answer = admin_http.post("/_mock/scenarios/load", json={"scenario": {"seed": seed, "actors": {"a": {}}}})
    assert answer.status_code == 400 and "seed" in answer.json()["message"]
    with pytest.raises(ValueError):
        MockChatServer(seed=seed)


def test_dumps_and_scenarios_that_views_could_not_render_are_refused(
    server: MockChatServer, admin_http: httpx.Client
) -> None:
    server.load_scenario("demo")
    state = admin_http.get("/_mock/state").json()

    def with_last_message(**changes: Any) -> Json:
        copy = json.loads(json.dumps(state))
        convo = max(copy["convos"], key=lambda c: len(c["messages"]))
        user = [m for m in convo["messages"] if m["sender"]][-1]
        user.update(changes)
        return copy

    bad = [
        with_last_message(embed={"$type": "chat.bsky.embed.joinLink"}),
        with_last_message(embed={"$type": "app.bsky.embed.record", "record": "x"}),
        with_last_message(embed={"$type": "chat.bsky.embed.joinLink", "code": ["a"]}),
        with_last_message(sent_at="yesterday"),
        with_last_message(text="é" * 9999),
        with_last_message(facets=[1, "x"]),
    ]
    dup = json.loads(json.dumps(state))
    dup["actors"][1]["handle"] = dup["actors"][0]["handle"]
    upper = json.loads(json.dumps(state))
    upper["actors"][0]["handle"] = upper["actors"][0]["handle"].upper()
    for dumped in [*bad, dup, upper]:
        answer = admin_http.put("/_mock/state", json=dumped)
        assert answer.status_code == 400, answer.text
    for actor in ({"displayName": "👨‍👩‍👧‍👦" * 64}, {"avatar": "not a uri"}, {"did": "did:plc:abc:"}):
        answer = admin_http.post("/_mock/scenarios/load", json={"scenario": {"actors": {"a": actor}}})
        assert answer.status_code == 400, (actor, answer.text)
    long_text = {
        "actors": {"a": {}},
        "groups": {"g": {"owner": "a", "name": "G", "messages": [{"from": "a", "text": "👍🏽" * 1001}]}},
    }
    assert admin_http.post("/_mock/scenarios/load", json={"scenario": long_text}).status_code == 400


def test_scenario_files_that_are_not_text_or_explode(admin_http: httpx.Client, tmp_path: Path) -> None:
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"actors:\n  a: {displayName: \xff\xfe}\n")
    answer = admin_http.post("/_mock/scenarios/load", json={"name": str(binary)})
    assert answer.status_code == 400 and "UTF-8" in answer.json()["message"]
    bomb = tmp_path / "bomb.yaml"
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 12)]
    bomb.write_text("\n".join(lines) + "\n")
    answer = admin_http.post("/_mock/scenarios/load", json={"name": str(bomb)})
    assert answer.status_code == 400 and len(answer.content) < 10_000 and "alias" in answer.json()["message"]


def test_integer_parameters_are_ascii_digits(api: Make, admin_http: httpx.Client) -> None:
    alice = api("alice")
    for raw in ("\uff15", " 3", "+2", "3 "):  # a full-width 5, spaces, a sign
        error, message = alice.error(C + "listConvos", limit=raw)
        assert error == "InvalidRequest" and "limit" in message
    assert admin_http.get("/_mock/journal", params={"limit": 0}).json()["cursor"] == 0


# the third hunt -------------------------------------------------------------------------------


def test_recordings_with_an_export_and_a_bad_query_replay(tmp_path: Path) -> None:
    def session(server: MockChatServer, http: httpx.Client) -> None:
        a = http.post("/_mock/actors", json={"handle": "a.test"}).json()
        b = http.post("/_mock/actors", json={"handle": "b.test"}).json()
        headers = {"Authorization": f"Bearer {a['accessJwt']}"}
        convo = http.get(
            "/xrpc/chat.bsky.convo.getConvoForMembers", params={"members": b["did"]}, headers=headers
        ).json()["convo"]["id"]
        for text in ("one", "two"):
            http.post(
                "/xrpc/chat.bsky.convo.sendMessage", json={"convoId": convo, "message": {"text": text}}, headers=headers
            ).raise_for_status()
        export = http.get("/xrpc/chat.bsky.actor.exportAccountData", headers=headers)
        assert export.headers["content-type"].startswith("application/jsonl") and len(export.text.splitlines()) == 2
        bad = http.get("/xrpc/chat.bsky.convo.getLog?cursor=%FF", headers=headers)
        assert bad.status_code == 400

    replays_exactly(tmp_path, session)


def test_a_deleted_account_s_reactions_and_requests_go_with_their_events(api: Make) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    convo = group(alice, bob)
    said = alice.ok(C + "sendMessage", {"convoId": convo, "message": {"text": "hi"}})
    bob.ok(C + "addReaction", {"convoId": convo, "messageId": said["id"], "value": "👍"})
    link = alice.ok(G + "createJoinLink", {"convoId": convo, "joinRule": "anyone", "requireApproval": True})
    carol.ok(G + "requestJoin", {"code": link["joinLink"]["code"]})
    rev = alice.ok(C + "getConvo", convoId=convo)["convo"]["rev"]
    cursor = alice.ok(C + "getLog")["cursor"]
    bob.ok("chat.bsky.actor.deleteAccount", {})
    carol.ok("chat.bsky.actor.deleteAccount", {})
    kinds = [e["$type"].split("#")[1] for e in alice.ok(C + "getLog", cursor=cursor)["logs"]]
    assert "logRemoveReaction" in kinds and "logWithdrawIncomingJoinRequest" in kinds, kinds
    view = alice.ok(C + "getConvo", convoId=convo)["convo"]
    assert view["rev"] > rev and "lastReaction" not in view
    assert "joinRequestCount" not in view["kind"]


def test_scenario_reactions_and_keys_follow_the_rules(admin_http: httpx.Client) -> None:
    base = {"actors": {"a": {}, "b": {}}}
    too_many = {"👍": ["a"], "❤️": ["a"], "🎉": ["a"], "😀": ["a"], "🙂": ["a"], "🔥": ["a"]}
    for reactions in ({"a": ["b"]}, {"😀😀": ["b"]}, too_many):
        scenario = {**base, "groups": {"g": {"owner": "a", "name": "G", "members": ["b"], "messages": [
            {"from": "a", "text": "x", "reactions": reactions}]}}}  # fmt: skip
        answer = admin_http.post("/_mock/scenarios/load", json={"scenario": scenario})
        assert answer.status_code == 400 and "reactions" in answer.json()["message"], reactions
    twice = {**base, "groups": {"k": {"owner": "a", "name": "G"}}, "directs": {"k": {"members": ["a", "b"]}}}
    answer = admin_http.post("/_mock/scenarios/load", json={"scenario": twice})
    assert answer.status_code == 400 and "one key each" in answer.json()["message"]
