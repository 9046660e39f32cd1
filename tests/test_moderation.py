"""``chat.bsky.moderation``: who may call, each method through real HTTP and the atproto SDK's
moderation client, access removal as the app sees it, and ``subscribeModEvents`` over a real
WebSocket (aiohttp's client), its frames decoded by the SDK's frame decoding."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import aiohttp
import httpx
import pytest
from atproto import Client
from atproto.exceptions import BadRequestError
from atproto_subscription.frames import ErrorFrame, Frame, MessageFrame
from conftest import comparable

from mockserver import MockChatServer
from mockserver.service import Config

Json = dict[str, Any]
M = "/xrpc/chat.bsky.moderation."
C = "/xrpc/chat.bsky.convo."
G = "/xrpc/chat.bsky.group."
MOD_DID = "did:plc:moderatoraaaaaaaaaaaaaaa"


class Who:
    """An account of the test server, with its token."""

    def __init__(self, http: httpx.Client, made: Json) -> None:
        self.http, self.did, self.handle = http, made["did"], made["handle"]
        self.headers = {"Authorization": f"Bearer {made['accessJwt']}"}

    def post(self, path: str, body: Json) -> httpx.Response:
        return self.http.post(path, json=body, headers=self.headers)

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params, headers=self.headers)

    def ok(self, path: str, body: Json | None = None, **params: Any) -> Json:
        r = self.post(path, body) if body is not None else self.get(path, **params)
        assert r.status_code == 200, r.text
        return r.json() if r.content else {}


@pytest.fixture(scope="module")
def mod_server() -> Iterator[MockChatServer]:
    config = Config(seed=11, strict=True, admin_token="admin-secret", moderators=(MOD_DID,))
    with MockChatServer(config=config) as srv:
        yield srv


@pytest.fixture
def http(mod_server: MockChatServer) -> Iterator[httpx.Client]:
    mod_server.reset()
    mod_server.service.mod_stream.backlog = 10_000
    with httpx.Client(base_url=mod_server.url, headers={"Authorization": "Bearer admin-secret"}, timeout=10) as c:
        yield c


def person(http: httpx.Client, handle: str, **spec: Any) -> Who:
    r = http.post("/_mock/actors", json={"handle": handle, "password": "pw", **spec})
    assert r.status_code == 201, r.text
    return Who(httpx.Client(base_url=str(http.base_url), timeout=10), r.json())


def group_of(owner: Who, *members: Who, name: str = "Club") -> str:
    return str(owner.ok(G + "createGroup", {"name": name, "members": [m.did for m in members]})["convo"]["id"])


def moderator(http: httpx.Client) -> httpx.Client:
    """The admin token's client (a moderator by definition)."""
    return http


# -- who may call --------------------------------------------------------------------------
def test_who_may_call(http: httpx.Client, mod_server: MockChatServer) -> None:
    alice = person(http, "alice")
    mod = person(http, "mod", did=MOD_DID)
    convo = group_of(alice)
    anonymous = httpx.get(f"{mod_server.url}{M}getConvo", params={"convoId": convo})
    assert (anonymous.status_code, anonymous.json()["error"]) == (401, "AuthenticationRequired")
    user = alice.get(M + "getConvo", convoId=convo)
    assert (user.status_code, user.json()["error"]) == (401, "UntrustedIss")
    assert mod.ok(M + "getConvo", convoId=convo)["convo"]["id"] == convo  # a listed moderator, logged in
    assert http.get(M + "getConvo", params={"convoId": convo}).status_code == 200  # the admin token
    refused = alice.post(M + "updateActorAccess", {"actor": alice.did, "allowAccess": False})
    assert refused.status_code == 401 and not mod_server.state.actors[alice.did].chat_disabled


def test_without_an_admin_token_the_mock_is_open_as_its_admin_api_is(server: MockChatServer) -> None:
    made = httpx.post(f"{server.url}/_mock/actors", json={"handle": "u", "password": "pw"}).json()
    convo = httpx.post(
        f"{server.url}{G}createGroup",
        json={"name": "g", "members": []},
        headers={"Authorization": f"Bearer {made['accessJwt']}"},
    ).json()["convo"]["id"]
    assert httpx.get(f"{server.url}{M}getConvo", params={"convoId": convo}).status_code == 200
    as_user = httpx.get(
        f"{server.url}{M}getConvo", params={"convoId": convo}, headers={"Authorization": f"Bearer {made['accessJwt']}"}
    )
    assert (as_user.status_code, as_user.json()["error"]) == (401, "UntrustedIss")


# -- reads -----------------------------------------------------------------------------------
def test_convos_and_members_with_the_sdk(http: httpx.Client, mod_server: MockChatServer) -> None:
    alice, bob, carol = person(http, "alice"), person(http, "bob"), person(http, "carol")
    group = group_of(alice, bob, carol, name="Reported group")
    link = alice.ok(G + "createJoinLink", {"convoId": group, "joinRule": "anyone", "requireApproval": True})
    person_dan = person(http, "dan")
    person_dan.ok(G + "requestJoin", {"code": link["joinLink"]["code"]})
    direct = alice.ok(C + "getConvoForMembers", members=[bob.did])["convo"]["id"]
    person(http, "mod", did=MOD_DID)
    sdk = Client(base_url=mod_server.url)
    sdk.login("mod.test", "pw")
    mod = sdk.chat.bsky.moderation
    got = mod.get_convo({"convoId": group}).convo
    assert (got.id, got.kind.name, got.kind.member_count) == (group, "Reported group", 3)
    assert got.kind.join_request_count == 1
    assert got.kind.join_link.code == link["joinLink"]["code"] and got.kind.lock_status == "unlocked"
    assert mod.get_convo({"convoId": direct}).convo.kind.py_type == "chat.bsky.moderation.defs#directConvo"
    assert [c.id for c in mod.get_convos({"convoIds": [direct, "nope", group]}).convos] == [direct, group]
    with pytest.raises(BadRequestError) as info:
        mod.get_convo({"convoId": "nope"})
    assert info.value.response is not None and info.value.response.content.error == "InvalidConvo"
    first = mod.get_convo_members({"convoId": group, "limit": 2})
    rest = mod.get_convo_members({"convoId": group, "limit": 2, "cursor": first.cursor})
    assert [m.did for m in first.members + rest.members] == [alice.did, bob.did, carol.did] and rest.cursor is None
    assert {m.did for m in mod.get_convo_members({"convoId": direct}).members} == {alice.did, bob.did}


def test_message_context(http: httpx.Client) -> None:
    alice, bob = person(http, "alice"), person(http, "bob")
    convo = group_of(alice, bob)
    sent: list[str] = []

    def say(text: str, who: Who = alice) -> str:
        sent.append(who.ok(C + "sendMessage", {"convoId": convo, "message": {"text": text}})["id"])
        return sent[-1]

    def rename(name: str) -> None:
        alice.ok(G + "editGroup", {"convoId": convo, "name": name})

    say("one")
    rename("a")
    rename("b")
    rename("c")
    say("two")
    target = say("three", bob)
    bob.ok(C + "deleteMessageForSelf", {"convoId": convo, "messageId": target})  # a moderator still sees it
    rename("d")
    say("four")
    say("five")

    def context(**params: Any) -> list[str]:
        r = http.get(M + "getMessageContext", params={"messageId": target, **params})
        assert r.status_code == 200, r.text
        shown = r.json()["messages"]
        return [m.get("text") or m["data"].get("newName", m["data"]["$type"].split("#")[1]) for m in shown]

    assert context(convoId=convo) == ["one", "a", "b", "c", "two", "three", "d", "four", "five"]
    assert context(before=1, after=1) == ["two", "three", "d", "four"]
    assert context(before=2, after=1, maxInterleavedSystemMessages=2) == ["one", "a", "b", "two", "three", "d", "four"]
    assert context(before=0, after=0, maxInterleavedSystemMessages=1) == ["three"]  # a user message on each side
    assert context(before=5, after=5, maxInterleavedSystemMessages=0) == ["one", "two", "three", "four", "five"]
    bad = http.get(M + "getMessageContext", params={"messageId": "nope"})
    assert (bad.status_code, bad.json()["error"]) == (400, "InvalidRequest")
    negative = http.get(M + "getMessageContext", params={"messageId": target, "before": -1})
    assert negative.status_code == 400 and "0 or more" in negative.json()["message"]


def test_context_of_a_side_with_only_system_messages(http: httpx.Client) -> None:
    alice, bob = person(http, "alice"), person(http, "bob")
    convo = group_of(alice, bob)
    target = alice.ok(C + "sendMessage", {"convoId": convo, "message": {"text": "only"}})["id"]
    for name in ("x", "y", "z"):
        alice.ok(G + "editGroup", {"convoId": convo, "name": name})
    r = http.get(M + "getMessageContext", params={"messageId": target, "maxInterleavedSystemMessages": 2}).json()
    assert [m.get("text") or m["data"]["newName"] for m in r["messages"]] == ["only", "x", "y"]


def test_actor_metadata_follows_the_clock(http: httpx.Client) -> None:
    alice, bob = person(http, "alice"), person(http, "bob")
    convo = group_of(alice, bob)
    alice.ok(C + "sendMessage", {"convoId": convo, "message": {"text": "a"}})
    bob.ok(C + "sendMessage", {"convoId": convo, "message": {"text": "b"}})
    bob.ok(C + "sendMessage", {"convoId": convo, "message": {"text": "c"}})

    def figures() -> Json:
        return dict(http.get(M + "getActorMetadata", params={"actor": alice.did}).json())

    now = {"messagesSent": 1, "messagesReceived": 2, "convos": 1, "convosStarted": 1}
    assert figures() == {"day": now, "month": now, "all": now}
    http.post("/_mock/clock", json={"advance": 2 * 86400})
    zero = {"messagesSent": 0, "messagesReceived": 0, "convos": 0, "convosStarted": 0}
    assert figures() == {"day": zero, "month": now, "all": now}
    http.post("/_mock/clock", json={"advance": 40 * 86400})
    assert figures() == {"day": zero, "month": zero, "all": now}
    assert http.get(M + "getActorMetadata", params={"actor": "did:plc:nobodyaaaaaaaaaaaaaaaaaaa"}).json()["all"] == zero


# -- access ----------------------------------------------------------------------------------
def test_removing_chat_access(http: httpx.Client, mod_server: MockChatServer) -> None:
    alice, bob = person(http, "alice"), person(http, "bob")
    owned = group_of(alice, bob)
    theirs = group_of(bob, alice, name="Bob's")
    removed = {"actor": alice.did, "allowAccess": False, "ref": "case-7"}
    http.post(M + "updateActorAccess", json=removed).raise_for_status()
    assert alice.ok("/xrpc/chat.bsky.actor.getStatus")["chatDisabled"] is True
    refused = alice.post(C + "sendMessage", {"convoId": theirs, "message": {"text": "hi"}})
    assert (refused.status_code, refused.json()["message"]) == (400, "Account is disabled")
    seen = bob.ok(C + "getConvo", convoId=owned)["convo"]["kind"]
    assert (seen["lockStatus"], seen["lockStatusModerationOverride"]) == ("locked", True)  # the groups she owns
    assert bob.ok(C + "getConvo", convoId=theirs)["convo"]["kind"]["lockStatus"] == "unlocked"
    shown = http.get(f"/_mock/actors/{alice.did}").json()
    assert (shown["chatDisabled"], shown["chatAccessRef"]) == (True, "case-7")
    assert http.get(f"/_mock/convos/{owned}").json()["moderationReason"] == "owner_suspended"
    http.post(M + "updateActorAccess", json={"actor": alice.did, "allowAccess": True}).raise_for_status()
    assert alice.ok("/xrpc/chat.bsky.actor.getStatus")["chatDisabled"] is False
    assert bob.ok(C + "getConvo", convoId=owned)["convo"]["kind"]["lockStatus"] == "unlocked"
    alice.ok(C + "sendMessage", {"convoId": theirs, "message": {"text": "back"}})


def test_restoring_access_leaves_a_takedown_lock(http: httpx.Client) -> None:
    alice = person(http, "alice")
    convo = group_of(alice)
    http.patch(f"/_mock/convos/{convo}", json={"moderationLock": True}).raise_for_status()
    http.post(M + "updateActorAccess", json={"actor": alice.did, "allowAccess": False})
    http.post(M + "updateActorAccess", json={"actor": alice.did, "allowAccess": True})
    assert http.get(f"/_mock/convos/{convo}").json()["moderationReason"] == "convo_taken_down"


def test_bad_access_calls_change_nothing(http: httpx.Client, mod_server: MockChatServer) -> None:
    alice = person(http, "alice")
    nobody = {"actor": "did:plc:nobodyaaaaaaaaaaaaaaaaaaa", "allowAccess": False}
    for body in (nobody, {"actor": alice.did}, {"actor": 5}):
        r = http.post(M + "updateActorAccess", json=body)
        assert r.status_code == 400 and r.json()["error"] == "InvalidRequest", r.text
    assert not mod_server.state.actors[alice.did].chat_disabled


# -- the event stream ------------------------------------------------------------------------
def ws_url(server: MockChatServer, cursor: str | None = None) -> str:
    query = f"?cursor={cursor}" if cursor is not None else ""
    return f"{server.url.replace('http', 'ws', 1)}{M}subscribeModEvents{query}"


async def frames(ws: aiohttp.ClientWebSocketResponse, count: int, timeout: float = 5) -> list[Frame]:
    out: list[Frame] = []
    while len(out) < count:
        message = await ws.receive(timeout=timeout)
        if message.type != aiohttp.WSMsgType.BINARY:
            break
        out.append(Frame.from_bytes(message.data))
    return out


def kinds(got: list[Frame]) -> list[str]:
    return [f.header.t.lstrip("#") for f in got if isinstance(f, MessageFrame)]


ADMIN = {"Authorization": "Bearer admin-secret"}


async def test_backfill_and_live_events_of_every_kind(http: httpx.Client, mod_server: MockChatServer) -> None:
    alice, bob, carol, dan = (person(http, h) for h in ("alice", "bob", "carol", "dan"))
    http.patch(f"/_mock/actors/{alice.did}", json={"follows": [carol.did]})
    convo = group_of(alice, bob)  # created
    bob.ok(C + "acceptConvo", {"convoId": convo})  # accepted (explicit)
    alice.ok(C + "sendMessage", {"convoId": convo, "message": {"text": "first"}})  # first message
    alice.ok(G + "addMembers", {"convoId": convo, "members": [carol.did]})  # member added
    code = alice.ok(G + "createJoinLink", {"convoId": convo, "joinRule": "anyone"})["joinLink"]["code"]
    dan.ok(G + "requestJoin", {"code": code})  # joined
    alice.ok(G + "editJoinLink", {"convoId": convo, "requireApproval": True})
    erin = person(http, "erin")
    erin.ok(G + "requestJoin", {"code": code})  # join request
    alice.ok(G + "rejectJoinRequest", {"convoId": convo, "member": erin.did})
    erin.ok(G + "requestJoin", {"code": code})
    alice.ok(G + "approveJoinRequest", {"convoId": convo, "member": erin.did})
    alice.ok(G + "removeMembers", {"convoId": convo, "members": [dan.did]})  # kicked
    carol.ok(C + "leaveConvo", {"convoId": convo})  # left
    alice.ok(G + "editGroup", {"convoId": convo, "name": "Renamed"})
    alice.ok(C + "lockConvo", {"convoId": convo})
    alice.ok(C + "unlockConvo", {"convoId": convo})
    http.patch(f"/_mock/convos/{convo}", json={"moderationLock": True})
    http.post("/_mock/faults", json={"method": "chat.bsky.convo.getConvo", "status": 429, "error": "RateLimitExceeded"})
    assert bob.get(C + "getConvo", convoId=convo).status_code == 429
    want = [
        "eventGroupChatCreated",
        "eventChatAccepted",
        "eventConvoFirstMessage",
        "eventGroupChatMemberAdded",
        "eventGroupChatUpdated",  # join_link_created
        "eventGroupChatMemberJoined",
        "eventGroupChatUpdated",  # join_link_settings_changed
        "eventGroupChatJoinRequest",
        "eventGroupChatJoinRequestRejected",
        "eventGroupChatJoinRequest",
        "eventGroupChatJoinRequestApproved",
        "eventGroupChatMemberLeft",  # kicked
        "eventGroupChatMemberLeft",  # voluntary
        "eventGroupChatUpdated",  # name_changed
        "eventGroupChatUpdated",  # locked
        "eventGroupChatUpdated",  # unlocked
        "eventGroupChatUpdated",  # locked by moderation
        "eventRateLimitExceeded",
    ]
    async with aiohttp.ClientSession(headers=ADMIN) as session:
        async with session.ws_connect(ws_url(mod_server, "2222222222222")) as ws:
            got = await frames(ws, len(want))
            assert kinds(got) == want
            bodies = [f.body for f in got]
            revs = [b["rev"] for b in bodies]
            assert revs == sorted(revs) and len(set(revs)) == len(revs)
            assert bodies[0]["initialMemberDids"] == [bob.did] and bodies[0]["ownerDid"] == alice.did
            assert bodies[3]["subjectDid"] == carol.did and bodies[3]["subjectFollowsOwner"] is False
            assert (bodies[11]["leaveMethod"], bodies[12]["leaveMethod"]) == ("kicked", "voluntary")
            assert bodies[13]["updateType"] == "name_changed" and bodies[13]["oldName"] == "Club"
            assert (bodies[16]["updateType"], bodies[16]["lockReason"]) == ("locked", "convo_taken_down")
            assert bodies[17]["endpoint"] == "chat.bsky.convo.getConvo"
            http.delete("/_mock/faults")
            http.patch(f"/_mock/convos/{convo}", json={"moderationLock": False})  # live, as it happens
            live = await frames(ws, 1)
            assert kinds(live) == ["eventGroupChatUpdated"] and live[0].body["updateType"] == "unlocked"
        async with session.ws_connect(ws_url(mod_server, revs[14])) as ws:  # a cursor: what came after it
            assert len(await frames(ws, 4)) == 4
        async with session.ws_connect(ws_url(mod_server)) as ws:  # no cursor: new events only
            await asyncio.sleep(0.1)
            alice.ok(G + "createGroup", {"name": "Later", "members": []})
            later = await frames(ws, 1)
            assert kinds(later) == ["eventGroupChatCreated"] and later[0].body["groupName"] == "Later"


async def test_a_future_cursor_and_who_may_listen(http: httpx.Client, mod_server: MockChatServer) -> None:
    closing = (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    async with (
        aiohttp.ClientSession(headers=ADMIN) as session,
        session.ws_connect(ws_url(mod_server, "7zzzzzzzzzzzz")) as ws,
    ):
        got = await frames(ws, 2)
        assert len(got) == 1 and isinstance(got[0], ErrorFrame) and got[0].body.error == "FutureCursor"
        assert ws.closed or (await ws.receive(timeout=2)).type in closing
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await session.ws_connect(ws_url(mod_server, "2222222222222"))
        assert info.value.status == 401
    plain = http.get(M + "subscribeModEvents")
    assert plain.status_code == 400 and "WebSocket" in plain.json()["message"]
    for cursor in ("", "abc", "9zzzzzzzzzzzz", "2222222222222 "):  # not a rev: refused before the upgrade
        bad = http.get(M + "subscribeModEvents", params={"cursor": cursor})
        assert bad.status_code == 400 and "cursor" in bad.json()["message"], cursor


async def test_a_consumer_that_does_not_keep_up_is_cut_off(http: httpx.Client, mod_server: MockChatServer) -> None:
    from mockserver import mod_events

    alice = person(http, "alice")
    mod_server.service.mod_stream.backlog = 50
    async with aiohttp.ClientSession(headers=ADMIN) as session, session.ws_connect(ws_url(mod_server)) as ws:
        await asyncio.sleep(0.1)
        for _ in range(40):  # until the socket's buffers are full and the backlog overflows
            mod_server.call(lambda s: [mod_events.on_rate_limited(s, alice.did, "x" * 2000) for _ in range(2000)])
            if not mod_server.service.mod_stream.subscribers:
                break
        assert not mod_server.service.mod_stream.subscribers  # cut off
        last: Frame | None = None
        while True:
            message = await ws.receive(timeout=10)
            if message.type != aiohttp.WSMsgType.BINARY:
                break
            last = Frame.from_bytes(message.data)
        assert isinstance(last, ErrorFrame) and last.body.error == "ConsumerTooSlow"
        assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
    assert http.get("/_mock/actors").status_code == 200  # and the server serves on


def test_moderation_records_replays_and_dumps(http: httpx.Client, mod_server: MockChatServer, tmp_path: Any) -> None:
    from mockserver.recording import FileRecorder, read
    from mockserver.replay import replay
    from mockserver.snapshot import dump

    path = tmp_path / "moderated.jsonl"
    recorder = FileRecorder(str(path))
    mod_server.call(lambda s: s.recorders.append(recorder))
    try:
        mod_server.call(lambda s: s.started())
        alice, bob = person(http, "alice"), person(http, "bob")
        convo = group_of(alice, bob)
        http.post(M + "updateActorAccess", json={"actor": alice.did, "allowAccess": False, "ref": "r1"})
        http.patch(f"/_mock/convos/{group_of(bob, name='Other')}", json={"moderationLock": True})
        assert alice.post(C + "sendMessage", {"convoId": convo, "message": {"text": "x"}}).status_code == 400
    finally:
        mod_server.call(lambda s: s.recorders.remove(recorder))
    want = mod_server.call(dump)
    config = Config(seed=11, admin_token="other-token")
    with MockChatServer(config=config) as again:
        report = replay(again.url, read(str(path)), "other-token")
        assert report.ok, report.text()
        got = again.call(dump)
    assert comparable(got)["actors"] == comparable(want)["actors"] and got["convos"] == want["convos"]
    restored = httpx.put(f"{mod_server.url}/_mock/state", json=want, headers=ADMIN)
    assert restored.status_code == 200, restored.text
    assert mod_server.state.actors[alice.did].chat_access_ref == "r1"
    snapshot = http.get("/_mock/snapshot").text
    assert "chatDisabled: true" in snapshot and "ownerSuspended: true" in snapshot
