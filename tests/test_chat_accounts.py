"""An account's chat as a whole and the calls around chat, per docs/behaviour.md ("Deleting and
accounts", "Outside chat.bsky") and README.md: chat.bsky.actor.getStatus / deleteAccount /
exportAccountData, chat.bsky.notification.*Preferences, the follow graph, typeahead, handle
resolution, what is not served (501) and ``GET /_mock/methods``; through plain HTTP and the SDK."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from conftest import SSL, Api, patch, sdk_error, unchanged

from mockserver import MockChatServer

Json = dict[str, Any]
Make = Callable[..., Api]
Sdk = Callable[..., Any]
A = "chat.bsky.actor."
C = "chat.bsky.convo."
G = "chat.bsky.group."
N = "chat.bsky.notification."
DEFS = "chat.bsky.convo.defs#"
DEFAULT = {"include": "all", "push": True}
MEMBER_LIMIT = 50
"""The server's --member-limit: the session fixture's server is started without one (default 50)."""


# ---------------------------------------------------------------- helpers


def at(cursor: str | None) -> Json:
    """The cursor parameter, when there is one."""
    return {"cursor": cursor} if cursor else {}


def send(who: Api, convo_id: str, text: str = "hi", **extra: Any) -> Json:
    return who.ok(C + "sendMessage", {"convoId": convo_id, "message": {"text": text, **extra}})


def direct(caller: Api, other: Api) -> str:
    return str(caller.ok(C + "getConvoForMembers", members=[other.did])["convo"]["id"])


def group(owner: Api, *members: Api, name: str = "G") -> str:
    out = owner.ok(G + "createGroup", {"name": name, "members": [m.did for m in members]})
    return str(out["convo"]["id"])


def head(who: Api) -> str:
    return str(who.ok(C + "getLog")["cursor"])


def events(who: Api, cursor: str = "") -> list[Json]:
    out: list[Json] = []
    while True:
        page = who.ok(C + "getLog", cursor=cursor)
        if not page["logs"]:
            return out
        out += page["logs"]
        cursor = page["cursor"]


def export(server: MockChatServer, who: Api) -> httpx.Response:
    """chat.bsky.actor.exportAccountData over plain HTTP (its answer is not JSON)."""
    headers = {"Authorization": f"Bearer {who.actor['accessJwt']}"}
    with httpx.Client(base_url=server.url, verify=SSL, timeout=10) as client:
        return client.get("/xrpc/" + A + "exportAccountData", headers=headers)


def lines(body: bytes) -> list[Json]:
    return [json.loads(line) for line in body.decode().splitlines() if line.strip()]


# ---------------------------------------------------------------- getStatus


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, {"chatDisabled": False, "canCreateGroups": True}),
        ({"newAccount": True}, {"chatDisabled": False, "canCreateGroups": False}),
        ({"status": "suspended"}, {"chatDisabled": True, "canCreateGroups": False}),
        ({"status": "deactivated"}, {"chatDisabled": True, "canCreateGroups": False}),
        ({"status": "takendown"}, {"chatDisabled": True, "canCreateGroups": False}),
    ],
    ids=["active", "new account", "suspended", "deactivated", "taken down"],
)
def test_get_status(api: Make, admin_http: httpx.Client, fields: Json, expected: Json) -> None:
    alice = api("alice")
    patch(admin_http, alice, **fields)
    assert alice.ok(A + "getStatus") == {**expected, "groupMemberLimit": MEMBER_LIMIT}


def test_get_status_through_the_sdk(api: Make, sdk: Sdk, admin_http: httpx.Client) -> None:
    alice = api("alice")
    client = sdk("alice.test")
    status = client.chat.bsky.actor.get_status()
    assert (status.chat_disabled, status.can_create_groups, status.group_member_limit) == (False, True, MEMBER_LIMIT)
    patch(admin_http, alice, status="suspended")
    status = client.chat.bsky.actor.get_status()
    assert (status.chat_disabled, status.can_create_groups) == (True, False)


# ---------------------------------------------------------------- notification preferences


def test_preferences_default_and_partial_updates(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    defaults = {"preferences": {"chat": DEFAULT, "chatRequest": DEFAULT}}
    assert alice.ok(N + "getPreferences") == defaults
    requests_off = {"include": "follows", "push": False}
    out = alice.ok(N + "putPreferences", {"chatRequest": requests_off})
    assert out == {"preferences": {"chat": DEFAULT, "chatRequest": requests_off}}
    assert alice.ok(N + "getPreferences") == out
    chat_quiet = {"include": "all", "push": False}
    out = alice.ok(N + "putPreferences", {"chat": chat_quiet})
    assert out == {"preferences": {"chat": chat_quiet, "chatRequest": requests_off}}, "chatRequest kept"
    assert alice.ok(N + "putPreferences", {}) == out, "nothing given, nothing changed"
    assert alice.ok(N + "getPreferences") == out
    assert bob.ok(N + "getPreferences") == defaults, "someone else's are their own"


def test_put_preferences_refuses_a_bad_include(server: MockChatServer, api: Make, sdk: Sdk) -> None:
    alice = api("alice")
    alice.ok(N + "putPreferences", {"chat": {"include": "follows", "push": True}})
    client = sdk("alice.test")
    with unchanged(server):
        for body in (
            {"chat": {"include": "nobody", "push": True}},
            {"chatRequest": {"include": "everyone", "push": False}},
            {"chat": {"include": "all", "push": True}, "chatRequest": {"include": "", "push": True}},
        ):
            assert alice.error(N + "putPreferences", body)[0] == "InvalidRequest", body
        body = {"chatRequest": {"include": "nobody", "push": True}}
        assert sdk_error(lambda: client.chat.bsky.notification.put_preferences(body))[0] == "InvalidRequest"
    assert alice.ok(N + "getPreferences")["preferences"]["chat"] == {"include": "follows", "push": True}


def test_preferences_through_the_sdk(api: Make, sdk: Sdk) -> None:
    api("alice")
    client = sdk("alice.test")
    prefs = client.chat.bsky.notification.get_preferences().preferences
    assert (prefs.chat.include, prefs.chat.push, prefs.chat_request.include, prefs.chat_request.push) == (
        "all",
        True,
        "all",
        True,
    )
    out = client.chat.bsky.notification.put_preferences({"chat": {"include": "follows", "push": False}}).preferences
    assert (out.chat.include, out.chat.push, out.chat_request.include, out.chat_request.push) == (
        "follows",
        False,
        "all",
        True,
    )
    again = client.chat.bsky.notification.get_preferences().preferences
    assert (again.chat.include, again.chat.push) == ("follows", False)


# ---------------------------------------------------------------- deleteAccount


def test_delete_account(api: Make) -> None:
    alice, bob, carol, dan = api("alice"), api("bob"), api("carol"), api("dan")
    gid = group(alice, bob, carol)
    mine = [send(alice, gid, "one")["id"], send(alice, gid, "two")["id"]]
    theirs = send(bob, gid, "bob's")
    reply = send(bob, gid, "re: two", replyTo={"messageId": mine[1]})
    alice.ok(C + "addReaction", {"convoId": gid, "messageId": theirs["id"], "value": "👍"})
    did = direct(alice, bob)
    in_direct = send(alice, did, "just us")["id"]
    dans = group(dan, carol, name="dan's")
    dan.ok(G + "createJoinLink", {"convoId": dans, "joinRule": "anyone", "requireApproval": True})
    code = dan.ok(C + "getConvo", convoId=dans)["convo"]["kind"]["joinLink"]["code"]
    assert alice.ok(G + "requestJoin", {"code": code})["status"] == "pending"
    start_bob, start_carol = head(bob), head(carol)

    assert alice.ok(A + "deleteAccount", {}) == {}

    # she is in no convo, and has no join request
    assert alice.ok(C + "listConvos")["convos"] == []
    assert alice.error(C + "getConvo", convoId=gid) == ("InvalidConvo", "Convo not found")
    assert dan.ok(G + "listJoinRequests", convoId=dans)["requests"] == []
    # her group is locked for good, as when an owner leaves
    view = bob.ok(C + "getConvo", convoId=gid)["convo"]
    assert view["kind"]["lockStatus"] == "locked-permanently"
    assert alice.did not in [m["did"] for m in bob.ok(C + "getConvoMembers", convoId=gid)["members"]]
    system = [m["data"]["$type"] for m in bob.ok(C + "getMessages", convoId=gid)["messages"] if "data" in m]
    assert system[:2] == [DEFS + "systemMessageDataMemberLeave", DEFS + "systemMessageDataLockConvoPermanently"]
    # her messages are deleted views for everyone; each deletion logged to the members
    for viewer in (bob, carol):
        shown = {m["id"]: m for m in viewer.ok(C + "getMessages", convoId=gid)["messages"]}
        for message_id in mine:
            assert shown[message_id]["$type"] == DEFS + "deletedMessageView", (viewer.handle, message_id)
            assert shown[message_id]["sender"]["did"] == alice.did and "text" not in shown[message_id]
        assert shown[reply["id"]]["replyTo"]["$type"] == DEFS + "deletedMessageView"
        assert shown[theirs["id"]]["$type"] == DEFS + "messageView"
        assert "reactions" not in shown[theirs["id"]] or shown[theirs["id"]]["reactions"] == [], "her reactions go"
        assert "lastReaction" not in viewer.ok(C + "getConvo", convoId=gid)["convo"]
    for viewer, start in ((bob, start_bob), (carol, start_carol)):
        got = events(viewer, start)
        kinds = [e["$type"].split("#")[1] for e in got if e["convoId"] == gid]
        assert "logLockConvoPermanently" in kinds and "logMemberLeave" in kinds, kinds
        deleted = [e["message"] for e in got if e["$type"] == DEFS + "logDeleteMessage" and e["convoId"] == gid]
        assert sorted(m["id"] for m in deleted) == sorted(mine), viewer.handle
        assert all(m["$type"] == DEFS + "deletedMessageView" for m in deleted)
    in_bobs = {m["id"]: m for m in bob.ok(C + "getMessages", convoId=did)["messages"]}
    assert in_bobs[in_direct]["$type"] == DEFS + "deletedMessageView"
    assert bob.ok(C + "getConvo", convoId=did)["convo"]["lastMessage"]["$type"] == DEFS + "deletedMessageView"
    deleted = [e for e in events(bob, start_bob) if e["$type"] == DEFS + "logDeleteMessage" and e["convoId"] == did]
    assert [e["message"]["id"] for e in deleted] == [in_direct]


def test_no_reactions_on_the_messages_of_a_deleted_account(server: MockChatServer, api: Make, sdk: Sdk) -> None:
    alice, bob = api("alice"), api("bob")
    cid = direct(alice, bob)
    gone = send(alice, cid, "soon gone")
    target = {"convoId": cid, "messageId": gone["id"]}
    bob.ok(C + "addReaction", {**target, "value": "👀"})
    alice.ok(A + "deleteAccount", {})
    client = sdk("bob.test")
    with unchanged(server):
        for nsid in ("addReaction", "removeReaction"):
            assert bob.error(C + nsid, {**target, "value": "👍"})[0] == "ReactionMessageDeleted", nsid
        assert sdk_error(lambda: client.chat.bsky.convo.add_reaction({**target, "value": "👍"}))[0] == (
            "ReactionMessageDeleted"
        )
        assert sdk_error(lambda: client.chat.bsky.convo.remove_reaction({**target, "value": "👀"}))[0] == (
            "ReactionMessageDeleted"
        )


def test_after_delete_account_the_login_stays_and_chat_starts_from_nothing(
    server: MockChatServer, api: Make, sdk: Sdk
) -> None:
    alice, bob = api("alice"), api("bob")
    cid = direct(alice, bob)
    send(alice, cid, "before")
    send(bob, cid, "reply")
    alice.ok(N + "putPreferences", {"chat": {"include": "follows", "push": False}})
    client = sdk("alice.test")
    assert client.chat.bsky.actor.delete_account() is not None
    again = sdk("alice.test")  # the password still logs in
    assert again.chat.bsky.actor.get_status().chat_disabled is False
    assert again.chat.bsky.convo.list_convos().convos == []
    assert export(server, alice).content.strip() == b""
    assert again.chat.bsky.convo.get_convo_for_members({"members": [bob.did]}).convo.id == cid
    assert again.chat.bsky.convo.get_messages({"convoId": cid}).messages == [], "from nothing"
    again.chat.bsky.convo.send_message({"convoId": cid, "message": {"text": "I'm back"}})
    assert [m["$type"].split("#")[1] for m in bob.ok(C + "getMessages", convoId=cid)["messages"]] == [
        "messageView",
        "messageView",
        "deletedMessageView",
    ]


def test_delete_account_of_a_group_member_keeps_the_group_open(api: Make) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    gid = group(alice, bob, carol)
    bye = send(bob, gid, "bye")
    bob.ok(A + "deleteAccount", {})
    view = alice.ok(C + "getConvo", convoId=gid)["convo"]
    assert view["kind"]["lockStatus"] == "unlocked" and view["kind"]["memberCount"] == 2
    assert view["lastMessage"]["data"]["$type"] == DEFS + "systemMessageDataMemberLeave", "he left"
    shown = {m["id"]: m for m in carol.ok(C + "getMessages", convoId=gid)["messages"]}
    assert shown[bye["id"]]["$type"] == DEFS + "deletedMessageView"
    send(carol, gid, "still open")


# ---------------------------------------------------------------- exportAccountData


def test_export_account_data(server: MockChatServer, api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    gid = group(alice, bob)
    cid = direct(alice, bob)
    sent = [send(alice, gid, "one"), send(bob, gid, "not mine"), send(alice, cid, "two"), send(alice, gid, "three")]
    mine = [m for m in sent if m["sender"]["did"] == alice.did]
    response = export(server, alice)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0].strip() == "application/jsonl"
    got = lines(response.content)
    assert [line["id"] for line in got] == [m["id"] for m in mine], "one line per message she sent, oldest first"
    assert [line["convoId"] for line in got] == [gid, cid, gid]
    assert [line["text"] for line in got] == ["one", "two", "three"]
    assert all(line["$type"] == DEFS + "messageView" and line["sender"]["did"] == alice.did for line in got)
    assert [line["id"] for line in lines(export(server, bob).content)] == [sent[1]["id"]]
    assert lines(export(server, api("carol")).content) == [], "nothing sent, no lines"


# ---------------------------------------------------------------- outside chat.bsky: graph, search, handles


def test_follows_and_followers_sorted_by_did_and_paged(api: Make) -> None:
    others = [api(f"friend{i}") for i in range(5)]
    alice = api("alice", follows=[o.did for o in others])
    fans = [api(f"fan{i}", follows=[alice.did]) for i in range(3)]

    def pages(nsid: str, key: str, actor: str) -> tuple[list[list[str]], Json]:
        out: list[list[str]] = []
        cursor: str | None = None
        for _ in range(10):
            page = alice.ok(nsid, actor=actor, limit=2, **at(cursor))
            out.append([p["did"] for p in page[key]])
            cursor = page.get("cursor")
            if not cursor:
                return out, page["subject"]
        raise AssertionError("the cursor never ends")

    follows, subject = pages("app.bsky.graph.getFollows", "follows", alice.did)
    assert subject["did"] == alice.did and subject["handle"] == "alice.test"
    assert [did for page in follows for did in page] == sorted(o.did for o in others)
    assert all(len(page) <= 2 for page in follows) and len(follows) >= 3
    followers, subject = pages("app.bsky.graph.getFollowers", "followers", "alice.test")
    assert subject["did"] == alice.did
    assert [did for page in followers for did in page] == sorted(f.did for f in fans)
    assert alice.ok("app.bsky.graph.getFollows", actor=fans[0].did)["follows"][0]["handle"] == "alice.test"
    assert alice.ok("app.bsky.graph.getFollowers", actor=others[0].did)["followers"][0]["did"] == alice.did


def test_graph_and_typeahead_through_the_sdk(api: Make, sdk: Sdk) -> None:
    bob = api("bob", displayName="Bob")
    # a made-up display name could hold a word starting "bo" and match the search too
    alice = api("alice", displayName="Alice", follows=[bob.did])
    client = sdk("alice.test")
    assert [p.did for p in client.app.bsky.graph.get_follows({"actor": "alice.test"}).follows] == [bob.did]
    assert [p.did for p in client.app.bsky.graph.get_followers({"actor": bob.did}).followers] == [alice.did]
    found = client.app.bsky.actor.search_actors_typeahead({"q": "bo"}).actors
    assert [p.did for p in found] == [bob.did]


def test_search_actors_typeahead(api: Make) -> None:
    alice = api("alice", displayName="Alice Adams")
    alfred = api("alfred", displayName="Fred")
    bob = api("bob", displayName="Bob Alvarez")
    api("carol", displayName="Carol Chen")
    api("dal", displayName="Dal")  # 'al' is inside the handle, at no word start

    def found(q: str, who: Api = alice, **extra: Any) -> set[str]:
        return {a["did"] for a in who.ok("app.bsky.actor.searchActorsTypeahead", q=q, **extra)["actors"]}

    assert found("al") == {alice.did, alfred.did, bob.did}, "handles, names, and words in names that start with it"
    assert found("ada") == {alice.did}
    assert found("alv") == {bob.did}
    assert found("zzz") == set()
    assert len(found("al", limit=1)) == 1
    assert found("fred", who=api(None)) == {alfred.did}, "no token needed"


def test_resolve_handle(api: Make, sdk: Sdk) -> None:
    alice = api("alice")
    assert alice.ok("com.atproto.identity.resolveHandle", handle="alice.test") == {"did": alice.did}
    assert api(None).ok("com.atproto.identity.resolveHandle", handle="alice.test") == {"did": alice.did}
    assert alice.error("com.atproto.identity.resolveHandle", handle="nobody.test")[0] == "HandleNotFound"
    client = sdk("alice.test")
    assert client.com.atproto.identity.resolve_handle({"handle": "alice.test"}).did == alice.did
    error, _ = sdk_error(lambda: client.com.atproto.identity.resolve_handle({"handle": "nobody.test"}))
    assert error == "HandleNotFound"


# ---------------------------------------------------------------- what is not served


@pytest.mark.parametrize(
    ("verb", "nsid"),
    [("GET", "app.bsky.feed.getTimeline"), ("POST", "app.bsky.graph.muteActor"), ("GET", "app.bsky.graph.getBlocks")],
)
def test_a_method_outside_chat_is_501_and_says_so(api: Make, verb: str, nsid: str) -> None:
    alice = api("alice")
    status, out = alice.get(nsid) if verb == "GET" else alice.post(nsid, {})
    assert status == 501 and out["error"] == "MethodNotImplemented", out
    assert nsid in out["message"] and "chat only" in out["message"], out["message"]


def test_mock_methods_lists_served_and_unserved(admin_http: httpx.Client, api: Make) -> None:
    response = admin_http.get("/_mock/methods")
    assert response.status_code == 200
    methods = response.json()
    served, unserved = set(methods["served"]), set(methods["unserved"])
    new = {
        C + "getConvoForMembers",
        C + "getConvoAvailability",
        C + "sendMessageBatch",
        C + "deleteMessageForSelf",
        A + "getStatus",
        A + "deleteAccount",
        A + "exportAccountData",
        N + "getPreferences",
        N + "putPreferences",
        "app.bsky.graph.getFollows",
        "app.bsky.graph.getFollowers",
        "app.bsky.actor.searchActorsTypeahead",
        "com.atproto.identity.resolveHandle",
        "app.bsky.actor.getProfile",
        "com.atproto.server.createSession",
        "com.atproto.repo.putRecord",
    }
    assert new <= served, new - served
    assert "app.bsky.feed.getTimeline" not in served
    assert unserved == set(), "every chat.bsky method is served"
    assert {"chat.bsky.moderation.getConvo", "chat.bsky.moderation.subscribeModEvents"} <= served
    alice = api("alice")
    status, out = alice.get("app.bsky.feed.getTimeline")
    assert (status, out["error"]) == (501, "MethodNotImplemented")
