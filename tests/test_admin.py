"""The admin API: create, read, change actors and reset, with clear errors that change nothing."""

from __future__ import annotations

import json
import re
from typing import Any

import aiohttp

from mockserver import MockChatServer

Json = dict[str, Any]


async def call(http: aiohttp.ClientSession, method: str, url: str, **kwargs: Any) -> tuple[int, Json]:
    async with http.request(method, url, **kwargs) as response:
        return response.status, json.loads(await response.text())


async def test_create_generates_what_is_missing(server: MockChatServer, http: aiohttp.ClientSession) -> None:
    status, made = await call(http, "POST", f"{server.url}/_mock/actors", json={})
    assert status == 201
    assert re.fullmatch(r"did:plc:[a-z2-7]{24}", made["did"])
    assert made["handle"].endswith(".test")
    assert len(made["password"]) >= 8
    assert made["accessJwt"] and made["refreshJwt"]
    status, actor = await call(http, "GET", f"{server.url}/_mock/actors/{made['did']}")
    assert status == 200
    assert actor["displayName"]
    assert actor["avatar"] == "", "no generated avatar: it would point clients at a host they cannot reach"
    assert actor["allowIncoming"] == "all" and actor["allowGroupInvites"] == "all"
    assert actor["status"] == "active" and actor["newAccount"] is False
    # the token it hands back works
    headers = {"Authorization": f"Bearer {made['accessJwt']}"}
    status, session = await call(http, "GET", f"{server.url}/xrpc/com.atproto.server.getSession", headers=headers)
    assert status == 200 and session["did"] == made["did"]


async def test_create_with_every_field(server: MockChatServer, http: aiohttp.ClientSession) -> None:
    _, bob = await call(http, "POST", f"{server.url}/_mock/actors", json={"handle": "bob.test"})
    spec = {
        "handle": "Alice",  # no domain: .test is added; handles are lower-cased
        "password": "pw",
        "displayName": "Alice A.",
        "allowIncoming": "following",
        "allowGroupInvites": "none",
        "status": "suspended",
        "newAccount": True,
        "follows": ["bob.test"],
        "blocks": [bob["did"]],
    }
    status, made = await call(http, "POST", f"{server.url}/_mock/actors", json=spec)
    assert status == 201
    assert made["handle"] == "alice.test" and made["password"] == "pw"
    _, actor = await call(http, "GET", f"{server.url}/_mock/actors/alice.test")
    assert actor["displayName"] == "Alice A."
    assert actor["allowIncoming"] == "following" and actor["allowGroupInvites"] == "none"
    assert actor["status"] == "suspended" and actor["newAccount"] is True
    assert actor["follows"] == [bob["did"]] and actor["blocks"] == [bob["did"]]


async def test_patch_changes_fields_and_replaces_sets(server: MockChatServer, http: aiohttp.ClientSession) -> None:
    _, bob = await call(http, "POST", f"{server.url}/_mock/actors", json={"handle": "bob.test"})
    _, carol = await call(http, "POST", f"{server.url}/_mock/actors", json={"handle": "carol.test"})
    await call(http, "POST", f"{server.url}/_mock/actors", json={"handle": "alice.test", "follows": ["bob.test"]})
    status, actor = await call(
        http,
        "PATCH",
        f"{server.url}/_mock/actors/alice.test",
        json={"follows": ["carol.test"], "allowGroupInvites": "following", "handle": "alice2.test"},
    )
    assert status == 200
    assert actor["follows"] == [carol["did"]]
    assert actor["allowGroupInvites"] == "following"
    assert actor["handle"] == "alice2.test"
    status, _ = await call(http, "GET", f"{server.url}/_mock/actors/alice.test")
    assert status == 404
    status, listed = await call(http, "GET", f"{server.url}/_mock/actors")
    assert sorted(a["handle"] for a in listed["actors"]) == ["alice2.test", "bob.test", "carol.test"]
    assert bob["did"] in {a["did"] for a in listed["actors"]}


async def test_bad_admin_input_is_400_and_changes_nothing(server: MockChatServer, http: aiohttp.ClientSession) -> None:
    await call(http, "POST", f"{server.url}/_mock/actors", json={"handle": "alice.test", "password": "pw"})
    _, before = await call(http, "GET", f"{server.url}/_mock/actors")
    cases: list[tuple[str, str, Json, str]] = [
        ("POST", "/_mock/actors", {"handle": "alice.test"}, "already taken"),
        ("POST", "/_mock/actors", {"handle": "not a handle!"}, "not a valid handle"),
        ("POST", "/_mock/actors", {"status": "banned"}, "status must be one of"),
        ("POST", "/_mock/actors", {"allowGroupInvites": "friends"}, "allowGroupInvites must be one of"),
        ("POST", "/_mock/actors", {"follows": ["ghost.test"]}, "ghost.test"),
        ("POST", "/_mock/actors", {"handle": "x.test", "folows": []}, "Unknown field(s) folows"),
        ("POST", "/_mock/actors", {"newAccount": "yes"}, "newAccount"),
        ("POST", "/_mock/actors", {"did": "plc:nope"}, "did"),
        ("PATCH", "/_mock/actors/alice.test", {"blocks": ["alice.test"]}, "cannot list itself"),
        ("PATCH", "/_mock/actors/alice.test", {"password": "new", "follows": ["ghost"]}, "ghost"),
    ]
    for method, path, body, words in cases:
        status, answer = await call(http, method, f"{server.url}{path}", json=body)
        assert status == 400, (body, answer)
        assert answer["error"] == "InvalidRequest"
        assert words in answer["message"], (body, answer)
    status, answer = await call(
        http, "POST", f"{server.url}/_mock/actors", data=b"{", headers={"Content-Type": "application/json"}
    )
    assert status == 400 and "JSON" in answer["message"]
    status, answer = await call(http, "PATCH", f"{server.url}/_mock/actors/ghost.test", json={})
    assert status == 404 and answer["error"] == "NotFound" and "ghost.test" in answer["message"]
    _, after = await call(http, "GET", f"{server.url}/_mock/actors")
    assert after == before
    # the failed PATCH with a good password and a bad follow left the password alone
    status, _ = await call(
        http,
        "POST",
        f"{server.url}/xrpc/com.atproto.server.createSession",
        json={"identifier": "alice.test", "password": "pw"},
    )
    assert status == 200


async def test_reset_empties_everything(server: MockChatServer, http: aiohttp.ClientSession) -> None:
    _, made = await call(http, "POST", f"{server.url}/_mock/actors", json={"handle": "alice.test"})
    status, _ = await call(http, "POST", f"{server.url}/_mock/reset")
    assert status == 200
    _, listed = await call(http, "GET", f"{server.url}/_mock/actors")
    assert listed == {"actors": []}
    headers = {"Authorization": f"Bearer {made['accessJwt']}"}
    status, _ = await call(http, "GET", f"{server.url}/xrpc/com.atproto.server.getSession", headers=headers)
    assert status == 401
