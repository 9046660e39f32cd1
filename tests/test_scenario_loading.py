"""Scenario files and the builder: loading, resetting, dump/load round trips, and bad files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from atproto.exceptions import UnauthorizedError
from conftest import Api

from mockserver import MockChatServer
from scenarios import ScenarioBuilder, ScenarioError, check, find, schema

Json = dict[str, Any]


TIMES = {"created_at", "sent_at", "requested_at", "createdAt", "clockOffset"}


def timeless(value: Any) -> Any:
    """A dump with its timestamps taken out (they follow the real clock, which moves)."""
    if isinstance(value, dict):
        return {k: timeless(v) for k, v in value.items() if k not in TIMES}
    if isinstance(value, list):
        return [timeless(v) for v in value]
    return value


def load_inline(admin_http: httpx.Client, spec: Json) -> httpx.Response:
    return admin_http.post("/_mock/scenarios/load", json={"scenario": spec})


def test_load_reset_to_scenario_and_to_empty(server: MockChatServer, admin_http: httpx.Client) -> None:
    loaded = admin_http.post("/_mock/scenarios/load", json={"name": "approval-required"}).json()
    fresh = admin_http.get("/_mock/state").json()
    assert admin_http.get("/_mock/scenario").json()["scenario"] == loaded
    # change things, then reset back to the scenario: identical state, ids and codes included
    alice = Api(server, None)
    token = admin_http.post(
        "/xrpc/com.atproto.server.createSession", json={"identifier": "alice.test", "password": "password"}
    ).json()
    alice._http.headers["Authorization"] = f"Bearer {token['accessJwt']}"
    alice.ok("chat.bsky.group.createGroup", {"name": "extra", "members": []})
    assert admin_http.get("/_mock/state").json() != fresh
    again = admin_http.post("/_mock/reset", json={"to": "scenario"}).json()["scenario"]
    assert again == loaded
    after = admin_http.get("/_mock/state").json()
    assert timeless(after) == timeless(fresh)
    # and to empty
    assert admin_http.post("/_mock/reset", json={"to": "empty"}).json() == {"scenario": None}
    assert admin_http.get("/_mock/actors").json() == {"actors": []}
    assert admin_http.get("/_mock/scenario").json() == {"scenario": None}
    answer = admin_http.post("/_mock/reset", json={"to": "scenario"})
    assert answer.status_code == 400 and "No scenario" in answer.json()["message"]
    answer = admin_http.post("/_mock/reset", json={"to": "yesterday"})
    assert answer.status_code == 400 and "yesterday" in answer.json()["message"]


def test_same_scenario_same_ids(server: MockChatServer) -> None:
    first = server.load_scenario("demo")
    dump_one = server.dump()
    server.reset()
    second = server.load_scenario("demo")
    assert first == second
    assert timeless(server.dump()) == timeless(dump_one)


def test_dump_load_round_trip_is_exact(server: MockChatServer, admin_http: httpx.Client, sdk: Any) -> None:
    server.load_scenario("demo")
    chat = sdk("bob.test", "password")
    convo = chat.chat.bsky.convo.list_convos().convos[0].id
    chat.chat.bsky.convo.send_message({"convoId": convo, "message": {"text": "before the dump"}})
    dumped = admin_http.get("/_mock/state").json()
    assert admin_http.put("/_mock/state", json=dumped).status_code == 200
    assert admin_http.get("/_mock/state").json() == dumped
    # a token from before the state was replaced is refused: the client logs in again and starts over
    with pytest.raises(UnauthorizedError) as stale:
        chat.chat.bsky.convo.list_convos()
    assert stale.value.response is not None and stale.value.response.content.error == "InvalidToken"
    # the loaded state keeps working and goes on with the same ids as the original would
    sdk("bob.test", "password").chat.bsky.convo.send_message({"convoId": convo, "message": {"text": "after"}})
    after_one = admin_http.get("/_mock/state").json()
    admin_http.put("/_mock/state", json=dumped)
    sdk("bob.test", "password").chat.bsky.convo.send_message({"convoId": convo, "message": {"text": "after"}})
    after_two = admin_http.get("/_mock/state").json()
    assert timeless(after_one) == timeless(after_two)


def test_bad_state_dump_changes_nothing(admin_http: httpx.Client, server: MockChatServer) -> None:
    server.load_scenario("locked-convo")
    before = admin_http.get("/_mock/state").json()
    broken = json.loads(json.dumps(before))
    broken["convos"][0]["members"][0]["surprise"] = 1

    def changed(**fields: Any) -> Json:
        body: Json = json.loads(json.dumps(before))
        body.update(fields)
        return body

    def with_audience(value: Any) -> Json:
        body = changed()
        body["convos"][0]["events"][0]["audience"] = value
        return body

    bodies = [broken, {"version": 99}, {"version": 1}, changed(clockOffset="soon"), changed(clockOffset="nan")]
    bodies += [changed(clockOffset=1e13), changed(clockOffset=-1e18)]
    bodies += [changed(ids={"rng": "x"}), changed(ids={**before["ids"], "tidLast": "later"})]
    bodies += [changed(ids={**before["ids"], "tidLast": 1.5}), changed(ids={**before["ids"], "seed": [1]})]
    huge_state = json.loads(json.dumps(before["ids"]))
    huge_state["rng"][1][0] = 2**70
    bodies += [changed(ids=huge_state)]
    bodies += [with_audience(v) for v in (-1, True, 99, "did:plc:abc", [1, 2], None)]
    for body in bodies:
        answer = admin_http.put("/_mock/state", json=body)
        assert answer.status_code == 400 and answer.json()["error"] == "InvalidRequest", (body, answer.text)
        assert "Not a state dump" in answer.json()["message"]
    assert "surprise" in admin_http.put("/_mock/state", json=broken).json()["message"]
    assert admin_http.get("/_mock/state").json() == before
    assert admin_http.get("/_mock/clock").status_code == 200


def test_state_dump_names_each_audience_once_and_reads_version_one(
    admin_http: httpx.Client, server: MockChatServer
) -> None:
    server.load_scenario("demo")
    dump = admin_http.get("/_mock/state").json()
    assert dump["version"] == 2
    audiences = sum(len(c["audiences"]) for c in dump["convos"])
    assert audiences < sum(len(c["events"]) for c in dump["convos"])  # shared, not one list per event
    assert all(isinstance(e["audience"], int) for c in dump["convos"] for e in c["events"])
    # the same state as an older server wrote it: one audience list per event
    old = json.loads(json.dumps(dump))
    old["version"] = 1
    for convo in old["convos"]:
        lists = convo.pop("audiences")
        for event in convo["events"]:
            event["audience"] = lists[event["audience"]]
    assert admin_http.put("/_mock/state", json=old).status_code == 200
    assert admin_http.get("/_mock/state").json() == dump
    events = [e for c in server.state.convos.values() for e in c.events]
    assert len({id(e.audience) for e in events}) == audiences  # loaded events share them again


BASE: Json = {
    "actors": {"alice": {}, "bob": {}},
    "groups": {"g": {"owner": "alice", "name": "G", "members": ["bob"]}},
}


def variant(path: str, value: Any) -> Json:
    """BASE with one field (dotted path) replaced."""
    spec = json.loads(json.dumps(BASE))
    *parents, last = path.split(".")
    node = spec
    for part in parents:
        node = node[part]
    node[last] = value
    return spec


BAD: list[tuple[Json, str]] = [
    (variant("actors.alice.colour", "red"), "actors.alice: Additional properties are not allowed ('colour'"),
    (variant("actors.alice.allowGroupInvites", "friends"), "actors.alice.allowGroupInvites: 'friends' is not one of"),
    (variant("groups.g.owner", "zed"), "groups.g.owner: 'zed' is not an actor in this scenario"),
    (variant("groups.g.members", ["bob", "bob"]), "groups.g.members[1]: 'bob' is listed twice"),
    (variant("groups.g.memberLimit", 1), "groups.g.memberLimit: 2 members (owner included) do not fit in a limit of 1"),
    (variant("groups.g.lock", "closed"), "groups.g.lock: 'closed' is not one of"),
    (
        variant("groups.g.messages", [{"from": "bob", "text": "hi", "ago": "yesterday"}]),
        "groups.g.messages[0].ago: 'yesterday' is not valid. A duration: a number and a unit (s, m, h or d)",
    ),
    (variant("groups.g.link", {"code": "a b"}), "groups.g.link.code: 'a b' is not valid. A link code: 1 to 64"),
    (variant("groups.g.messages", [{"from": "zed", "text": "hi"}]), "groups.g.messages[0].from: 'zed' is not a member"),
    (variant("groups.g.requests", ["bob"]), "groups.g.requests[0]: 'bob' is a member of this group"),
    (variant("groups.g.name", 5), "groups.g.name: 5 is not of type 'string'"),
    (variant("clock", "noon"), "clock: 'noon' is not an ISO 8601 date-time"),
    (variant("actors.bob.follows", ["carl"]), "actors.bob.follows[0]: 'carl' is not an actor in this scenario"),
    ({**BASE, "extra": 1}, "(top): Additional properties are not allowed ('extra'"),
]


@pytest.mark.parametrize(("spec", "message"), BAD, ids=[m.split(":")[0] for _, m in BAD])
def test_bad_scenarios_name_the_field_and_change_nothing(
    spec: Json, message: str, server: MockChatServer, admin_http: httpx.Client
) -> None:
    server.load_scenario("demo")
    before = admin_http.get("/_mock/state").json()
    answer = load_inline(admin_http, spec)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "InvalidRequest"
    assert message in answer.json()["message"]
    assert admin_http.get("/_mock/state").json() == before
    assert admin_http.get("/_mock/clock").status_code == 200
    with pytest.raises(ScenarioError) as info:
        check(spec, "inline")
    assert any(message in p for p in info.value.problems)


def test_duplicate_link_codes_across_groups(admin_http: httpx.Client) -> None:
    spec = variant("groups.g.link", {"code": "same"})
    spec["groups"]["h"] = {"owner": "bob", "name": "H", "link": {"code": "same"}}
    message = load_inline(admin_http, spec).json()["message"]
    assert "groups.h.link.code: 'same' is also the code of groups.g" in message


def test_bad_files(tmp_path: Path) -> None:
    cases = {
        "syntax.yaml": ("actors: [unclosed", "not valid YAML or JSON"),
        "list.yaml": ("- a\n- b\n", "expected a mapping of sections, got list"),
        "wrong.json": ('{"actors": {"alice": {"handle": 3}}}', "actors.alice.handle: 3 is not of type 'string'"),
    }
    for name, (text, message) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(ScenarioError) as info:
            source = find(str(path))
            check(source.spec, source.source)
        assert str(path) in str(info.value)
        assert message in str(info.value), str(info.value)
    with pytest.raises(ScenarioError) as info:
        find(str(tmp_path / "missing.yaml"))
    assert "not a built-in scenario" in str(info.value) and "demo" in str(info.value)


def test_scenario_file_by_path_json_and_yaml(tmp_path: Path, server: MockChatServer) -> None:
    (tmp_path / "s.json").write_text(json.dumps(BASE))
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(BASE))
    one = server.load_scenario(tmp_path / "s.json")
    two = server.load_scenario(str(tmp_path / "s.yaml"))
    assert one.name == "s" and set(one.actors) == {"alice", "bob"}
    assert set(two.convos) == {"g"}


def test_builder_makes_the_same_state_as_a_file(server: MockChatServer, admin_http: httpx.Client) -> None:
    s = ScenarioBuilder("built in python", seed=5, clock="2026-04-01T12:00:00Z")
    s.actor("alice", display_name="Alice", follows=["bob"]).actor("bob", allow_group_invites="following")
    s.group("g", owner="alice", name="G", members=["bob"], member_limit=3, link={"code": "gee"})
    s.message("g", "bob", "hello", ago="5m", reactions={"👍": ["alice"]})
    spec = s.to_dict()
    assert spec["actors"]["bob"] == {"allowGroupInvites": "following"}
    assert spec["groups"]["g"]["memberLimit"] == 3
    loaded = server.load_scenario(s)
    assert loaded.codes == {"g": "gee"} and loaded.actors["alice"].password == "password"
    built = server.dump()
    server.reset()
    server.load_scenario(spec)
    assert server.dump()["convos"] == built["convos"]
    convo = admin_http.get(f"/_mock/convos/{loaded.convos['g']}").json()
    assert convo["memberLimit"] == 3 and convo["messageCount"] == 1
    # the scenario's clock: the message was sent 5 minutes before it
    message = server.state.convos[loaded.convos["g"]].messages[0]
    assert message.sent_at == "2026-04-01T11:55:00.000Z"
    with pytest.raises(ScenarioError):
        ScenarioBuilder().group("g", owner="nobody", name="G").to_dict()


def test_published_schema_is_the_one_used(tmp_path: Path) -> None:
    published = json.loads((Path(__file__).parent.parent / "scenarios" / "schema.json").read_text())
    assert published == schema()
    assert published["$schema"].endswith("2020-12/schema")


def test_cli_scenarios_and_check(tmp_path: Path) -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "mockserver", "scenarios"], capture_output=True, text=True, check=True
    ).stdout
    assert "locked-convo" in listed and "ConvoLocked" in listed
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(BASE))
    result = subprocess.run([sys.executable, "-m", "mockserver", "check", str(good)], capture_output=True, text=True)
    assert result.returncode == 0 and "ok" in result.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(variant("groups.g.owner", "zed")))
    result = subprocess.run([sys.executable, "-m", "mockserver", "check", str(bad)], capture_output=True, text=True)
    assert result.returncode == 1
    assert str(bad) in result.stderr and "groups.g.owner: 'zed' is not an actor" in result.stderr
