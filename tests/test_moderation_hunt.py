"""Bugs found by an outside test of ``chat.bsky.moderation`` and ``subscribeModEvents``.

Each test drives a real server over HTTP / WebSocket, as a moderation tool would, and fails
while the bug it names is there.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
from atproto_subscription.frames import ErrorFrame, Frame, MessageFrame

from mockserver import MockChatServer
from mockserver.replay import replay
from mockserver.service import Config

Json = dict[str, Any]
X = "/xrpc/chat.bsky."
STREAM = "/xrpc/chat.bsky.moderation.subscribeModEvents"
MOD_DID = "did:plc:moderatorhuntaaaaaaaaaaa"


@pytest.fixture
def srv() -> Iterator[MockChatServer]:
    """An open mock (no admin token): a call without Authorization is the admin's."""
    with MockChatServer(config=Config(seed=7, moderators=(MOD_DID,))) as server:
        yield server


@pytest.fixture
def h(srv: MockChatServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=srv.url, timeout=10) as client:
        yield client


def person(h: httpx.Client, handle: str, **spec: Any) -> tuple[str, dict[str, str]]:
    r = h.post("/_mock/actors", json={"handle": handle, "password": "pw", **spec})
    assert r.status_code == 201, r.text
    made = r.json()
    return made["did"], {"Authorization": f"Bearer {made['accessJwt']}"}


def ok(h: httpx.Client, path: str, body: Json, headers: dict[str, str] | None = None) -> Json:
    r = h.post(X + path, json=body, headers=headers or {})
    assert r.status_code == 200, r.text
    return r.json() if r.content else {}


async def frames(url: str, cursor: str | None, timeout: float = 0.5) -> list[tuple[str, Json]]:
    """Everything the stream sends until it is quiet for ``timeout`` seconds or closes."""
    query = "" if cursor is None else f"?cursor={cursor}"
    out: list[tuple[str, Json]] = []
    async with aiohttp.ClientSession() as s, s.ws_connect(url.replace("http", "ws", 1) + STREAM + query) as ws:
        while True:
            try:
                msg = await ws.receive(timeout=timeout)
            except asyncio.TimeoutError:
                return out
            if msg.type != aiohttp.WSMsgType.BINARY:
                return out
            frame = Frame.from_bytes(msg.data)
            if isinstance(frame, MessageFrame):
                out.append((frame.header.t, dict(frame.body)))
            elif isinstance(frame, ErrorFrame):
                out.append(("error", {"error": frame.body.error}))


# -- getActorMetadata ----------------------------------------------------------------------------
def test_metadata_does_not_count_messages_sent_after_the_actor_left(h: httpx.Client) -> None:
    """A member who left a group does not receive what is sent there afterwards (it is hidden from
    them), yet getActorMetadata counts every later message as ``messagesReceived``: the past
    member's count runs from the seq they joined at to the end of the convo, not to when they left."""
    _alice, ah = person(h, "alice.test")
    bob, bh = person(h, "bob.test")
    group = ok(h, "group.createGroup", {"name": "G", "members": [bob]}, ah)["convo"]["id"]
    ok(h, "convo.acceptConvo", {"convoId": group}, bh)
    ok(h, "convo.sendMessage", {"convoId": group, "message": {"text": "while bob is here"}}, ah)
    ok(h, "convo.leaveConvo", {"convoId": group}, bh)
    before = h.get(X + "moderation.getActorMetadata", params={"actor": bob}).json()["all"]
    assert before["messagesReceived"] == 1
    for i in range(3):
        ok(h, "convo.sendMessage", {"convoId": group, "message": {"text": f"after bob left {i}"}}, ah)
    after = h.get(X + "moderation.getActorMetadata", params={"actor": bob}).json()["all"]
    assert after["messagesReceived"] == 1, after  # got 4


# -- updateActorAccess and moderation locks --------------------------------------------------------
def test_lifting_a_takedown_keeps_the_lock_of_an_owner_without_chat_access(h: httpx.Client) -> None:
    """docs: the groups of an account without chat access are locked by moderation (owner_suspended)
    until access is restored. A takedown set first hides that lock (update_access skips a group
    already locked), so lifting the takedown unlocks the group while its owner still has no access."""
    carol, ch = person(h, "carol.test")
    group = ok(h, "group.createGroup", {"name": "G", "members": []}, ch)["convo"]["id"]
    assert h.patch(f"/_mock/convos/{group}", json={"moderationLock": True}).status_code == 200
    ok(h, "moderation.updateActorAccess", {"actor": carol, "allowAccess": False})
    assert h.patch(f"/_mock/convos/{group}", json={"moderationLock": False}).status_code == 200
    assert h.get(X + "actor.getStatus", headers=ch).json()["chatDisabled"] is True
    view = h.get(X + "moderation.getConvo", params={"convoId": group}).json()["convo"]
    assert view["kind"]["lockStatus"] == "locked", view  # got "unlocked"
    admin = h.get(f"/_mock/convos/{group}").json()
    assert admin["moderationReason"] == "owner_suspended", admin


def test_lifting_an_owner_suspended_lock_by_admin_while_still_suspended(h: httpx.Client) -> None:
    """The same hole from the other side: an admin takedown set on an owner_suspended group silently
    rewrites its reason (no event), and lifting that takedown unlocks the group though its owner
    still has no chat access."""
    carol, ch = person(h, "carol.test")
    group = ok(h, "group.createGroup", {"name": "G", "members": []}, ch)["convo"]["id"]
    ok(h, "moderation.updateActorAccess", {"actor": carol, "allowAccess": False})
    h.patch(f"/_mock/convos/{group}", json={"moderationLock": True})
    h.patch(f"/_mock/convos/{group}", json={"moderationLock": False})
    view = h.get(X + "moderation.getConvo", params={"convoId": group}).json()["convo"]
    assert view["kind"]["lockStatus"] == "locked", view


# -- the stream across a reset ------------------------------------------------------------------
async def test_live_subscriber_never_sees_a_rev_go_back_or_repeat_across_a_reset(
    srv: MockChatServer, h: httpx.Client
) -> None:
    """A reset restarts the seeded TID generator but keeps live subscribers: the next events they
    get carry revs lower than (even equal to) ones they already had on the same connection, so a
    tool that keeps the highest rev as its cursor, or drops repeated revs, loses them silently."""
    _, ah = person(h, "alice.test")
    ok(h, "group.createGroup", {"name": "first", "members": []}, ah)
    seen: list[str] = []
    url = srv.url.replace("http", "ws", 1) + STREAM + "?cursor=2222222222222"
    async with aiohttp.ClientSession() as s, s.ws_connect(url) as ws:
        seen.append(Frame.from_bytes((await ws.receive(timeout=2)).data).body["rev"])
        assert h.post("/_mock/reset").status_code == 200
        _, bh = person(h, "bob.test")
        ok(h, "group.createGroup", {"name": "after reset", "members": []}, bh)
        msg = await ws.receive(timeout=2)
        if msg.type == aiohttp.WSMsgType.BINARY:  # closing the socket on a reset would be fine too
            frame = Frame.from_bytes(msg.data)
            if isinstance(frame, MessageFrame):
                seen.append(frame.body["rev"])
    assert seen == sorted(set(seen)), seen  # the same rev twice: ['3mbd3542…', '3mbd3542…']


async def test_cursor_from_before_a_reset_is_not_silently_honoured(srv: MockChatServer, h: httpx.Client) -> None:
    """docs: after a reset 'a cursor from before is then ahead of it: FutureCursor'. That holds only
    until the new stream's revs pass it (they restart from the same seed): a tool reconnecting with
    its old cursor then gets a partial backfill, the events at or below its cursor dropped, with no
    error."""
    _, ah = person(h, "alice.test")
    for i in range(2):
        ok(h, "group.createGroup", {"name": f"old {i}", "members": []}, ah)
    old = await frames(srv.url, "2222222222222")
    cursor = old[-1][1]["rev"]
    assert h.post("/_mock/reset").status_code == 200
    _, bh = person(h, "bob.test")
    for i in range(4):
        ok(h, "group.createGroup", {"name": f"new {i}", "members": []}, bh)
    new = await frames(srv.url, "2222222222222")
    assert len(new) == 4
    got = await frames(srv.url, cursor)
    # either every new event (the stream restarted) or a FutureCursor: not a silent tail of it
    assert got == new or got[:1] == [("error", {"error": "FutureCursor"})], [b.get("groupName") for _, b in got]


# -- recording and replay ------------------------------------------------------------------------
def test_replay_of_a_moderation_call_refused_to_a_user(tmp_path: Path) -> None:
    """A user's token on a moderation method is a 401 UntrustedIss, but the recording keeps no caller
    for it (``actor`` is null: the moderator auth mode never names who was refused), and replay sends
    a caller-less moderation call with the admin's rights: on an open mock it is answered 200, and
    the replay of a faithful recording fails."""
    record = tmp_path / "rec.jsonl"
    lines: list[Json] = []
    with MockChatServer(config=Config(seed=3, moderators=(MOD_DID,))) as server:
        server.service.recorders.append(lines.append)
        with httpx.Client(base_url=server.url, timeout=10) as h:
            assert h.post("/_mock/reset").status_code == 200  # the recording's starting state
            _, ah = person(h, "alice.test")
            group = ok(h, "group.createGroup", {"name": "G", "members": []}, ah)["convo"]["id"]
            refused = h.get(X + "moderation.getConvo", params={"convoId": group}, headers=ah)
            assert refused.status_code == 401 and refused.json()["error"] == "UntrustedIss"
    record.write_text("".join(json.dumps(line) + "\n" for line in lines))
    with MockChatServer(config=Config(seed=3, moderators=(MOD_DID,))) as fresh:
        report = replay(fresh.url, [json.loads(x) for x in record.read_text().splitlines()])
    assert report.ok, report


# -- getConvoMembers -----------------------------------------------------------------------------
def test_direct_convo_members_honour_limit(h: httpx.Client) -> None:
    """getConvoMembers of a direct convo answers both accounts whatever the limit (limit=1 gives 2
    members and no cursor): the page size the caller asked for is ignored."""
    alice, ah = person(h, "alice.test")
    bob, _ = person(h, "bob.test")
    convo = h.get(X + "convo.getConvoForMembers", params={"members": [alice, bob]}, headers=ah).json()["convo"]["id"]
    page = h.get(X + "moderation.getConvoMembers", params={"convoId": convo, "limit": 1}).json()
    assert len(page["members"]) == 1 and "cursor" in page, page


# -- events of a group whose owner left --------------------------------------------------------------
async def test_events_of_a_group_whose_owner_left_name_the_last_owner(srv: MockChatServer, h: httpx.Client) -> None:
    """Found as a contradiction with docs/behaviour.md (which said no events were sent once the
    owner left); resolved the other way: they are sent, naming the last owner as ``ownerDid``
    (which the lexicon requires, and which a moderator wants to know)."""
    alice, ah = person(h, "alice.test")
    bob, bh = person(h, "bob.test")
    group = ok(h, "group.createGroup", {"name": "G", "members": [bob]}, ah)["convo"]["id"]
    ok(h, "convo.acceptConvo", {"convoId": group}, bh)
    ok(h, "convo.lockConvo", {"convoId": group}, ah)
    ok(h, "convo.leaveConvo", {"convoId": group}, ah)
    before = await frames(srv.url, "2222222222222")
    ok(h, "convo.leaveConvo", {"convoId": group}, bh)
    h.patch(f"/_mock/convos/{group}", json={"moderationLock": True})
    after = await frames(srv.url, "2222222222222")
    late = after[len(before) :]
    assert [t for t, _ in late] == ["#eventGroupChatMemberLeft", "#eventGroupChatUpdated"]
    assert all(b["ownerDid"] == alice for _, b in late)
