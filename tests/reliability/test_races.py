"""Races: concurrent calls never pass a member limit, never lose or reorder a write."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

import aiohttp
from conftest import Api

from mockserver import MockChatServer

Json = dict[str, Any]


async def call(http: aiohttp.ClientSession, url: str, token: str, body: Json) -> tuple[int, Json]:
    async with http.post(url, json=body, headers={"Authorization": f"Bearer {token}"}) as r:
        return r.status, await r.json()


def _owned_group(api: Callable[..., Api], admin_http: Any, members: int, limit: int) -> tuple[Api, str]:
    owner = api("owner")
    others = [api(f"m{i}") for i in range(members)]
    convo = owner.ok("chat.bsky.group.createGroup", {"name": "Race", "members": [o.did for o in others]})
    convo_id = convo["convo"]["id"]
    assert admin_http.patch(f"/_mock/convos/{convo_id}", json={"memberLimit": limit}).status_code == 200
    return owner, convo_id


async def test_200_concurrent_joins_for_10_places(
    server: MockChatServer, api: Callable[..., Api], admin_http: Any
) -> None:
    owner, convo = _owned_group(api, admin_http, members=9, limit=20)  # 10 members: 10 places left
    code = owner.ok("chat.bsky.group.createJoinLink", {"convoId": convo, "joinRule": "anyone"})["joinLink"]["code"]
    joiners = [admin_http.post("/_mock/actors", json={}).json()["accessJwt"] for _ in range(200)]
    url = f"{server.url}/xrpc/chat.bsky.group.requestJoin"
    connector = aiohttp.TCPConnector(limit=100)
    async with aiohttp.ClientSession(connector=connector) as http:
        answers = await asyncio.wait_for(
            asyncio.gather(*(call(http, url, token, {"code": code}) for token in joiners)), timeout=60
        )
    outcomes = Counter(body.get("status") or body.get("error") for _, body in answers)
    assert outcomes == {"joined": 10, "MemberLimitReached": 190}
    group = admin_http.get(f"/_mock/convos/{convo}").json()
    assert len(group["members"]) == 20 == group["memberLimit"]


async def test_concurrent_approve_add_and_join_never_pass_the_limit(
    server: MockChatServer, api: Callable[..., Api], admin_http: Any
) -> None:
    owner, convo = _owned_group(api, admin_http, members=4, limit=12)  # 5 members: 7 places
    link = owner.ok(
        "chat.bsky.group.createJoinLink", {"convoId": convo, "joinRule": "anyone", "requireApproval": True}
    )["joinLink"]
    askers = [admin_http.post("/_mock/actors", json={}).json() for _ in range(10)]
    for asker in askers:
        status, _ = Api(server, asker).post("chat.bsky.group.requestJoin", {"code": link["code"]})
        assert status == 200
    owner.ok("chat.bsky.group.editJoinLink", {"convoId": convo, "requireApproval": False})
    walkers = [admin_http.post("/_mock/actors", json={}).json()["accessJwt"] for _ in range(20)]
    added = [admin_http.post("/_mock/actors", json={}).json()["did"] for _ in range(10)]
    token = owner.actor["accessJwt"]
    base = f"{server.url}/xrpc/chat.bsky.group."
    async with aiohttp.ClientSession() as http:
        jobs = [call(http, base + "approveJoinRequest", token, {"convoId": convo, "member": a["did"]}) for a in askers]
        jobs += [call(http, base + "requestJoin", t, {"code": link["code"]}) for t in walkers]
        jobs += [call(http, base + "addMembers", token, {"convoId": convo, "members": [d]}) for d in added]
        answers = await asyncio.wait_for(asyncio.gather(*jobs), timeout=60)
    assert all(status in (200, 400) for status, _ in answers)
    refused = [body["error"] for status, body in answers if status == 400]
    assert set(refused) <= {"MemberLimitReached"}
    group = admin_http.get(f"/_mock/convos/{convo}").json()
    assert len(group["members"]) == 12
    assert len(answers) - len(refused) == 7


async def test_concurrent_sends_keep_revs_strictly_ordered(
    server: MockChatServer, api: Callable[..., Api], admin_http: Any
) -> None:
    owner, convo = _owned_group(api, admin_http, members=3, limit=50)
    token = owner.actor["accessJwt"]
    url = f"{server.url}/xrpc/chat.bsky.convo.sendMessage"
    async with aiohttp.ClientSession() as http:
        answers = await asyncio.wait_for(
            asyncio.gather(
                *(call(http, url, token, {"convoId": convo, "message": {"text": f"m{i}"}}) for i in range(150))
            ),
            timeout=60,
        )
    assert all(status == 200 for status, _ in answers)
    history = owner.ok("chat.bsky.convo.getMessages", convoId=convo, limit=100)["messages"]
    history += owner.ok(
        "chat.bsky.convo.getMessages",
        convoId=convo,
        limit=100,
        cursor=owner.ok("chat.bsky.convo.getMessages", convoId=convo, limit=100)["cursor"],
    )["messages"]
    revs = [m["rev"] for m in history]
    assert revs == sorted(revs, reverse=True) and len(set(revs)) == len(revs) == 150
    assert sorted(m["text"] for m in history) == sorted(f"m{i}" for i in range(150))
