"""chat.bsky.group methods: the errors and paths the group life and scenario tests do not reach."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from conftest import Api, dump

from mockserver import MockChatServer

G = "chat.bsky.group."


def make_group(owner: Api, *members: Api, name: str = "G") -> str:
    return str(owner.ok(G + "createGroup", {"name": name, "members": [m.did for m in members]})["convo"]["id"])


def test_owner_only_methods_refuse_members_and_outsiders(server: MockChatServer, api: Callable[..., Api]) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    convo = make_group(alice, bob)
    alice.ok(G + "createJoinLink", {"convoId": convo, "joinRule": "anyone"})
    calls = [
        (G + "addMembers", {"convoId": convo, "members": [carol.did]}),
        (G + "removeMembers", {"convoId": convo, "members": [bob.did]}),
        (G + "editGroup", {"convoId": convo, "name": "Mine"}),
        (G + "createJoinLink", {"convoId": convo, "joinRule": "anyone"}),
        (G + "editJoinLink", {"convoId": convo, "requireApproval": True}),
        (G + "enableJoinLink", {"convoId": convo}),
        (G + "disableJoinLink", {"convoId": convo}),
        (G + "approveJoinRequest", {"convoId": convo, "member": carol.did}),
        (G + "rejectJoinRequest", {"convoId": convo, "member": carol.did}),
        (G + "updateJoinRequestsRead", {"convoId": convo}),
        ("chat.bsky.convo.lockConvo", {"convoId": convo}),
        ("chat.bsky.convo.unlockConvo", {"convoId": convo}),
    ]
    before = dump(server)
    for nsid, body in calls:
        assert bob.error(nsid, body) == ("InsufficientRole", "Only the group's owner can do this"), nsid
        error, message = carol.error(nsid, body)
        assert error == "InvalidConvo" and convo in message, nsid
        error, _ = alice.error(nsid, {**body, "convoId": "no-such-convo"})
        assert error == "InvalidConvo", nsid
    assert bob.error(G + "listJoinRequests", convoId=convo)[0] == "InsufficientRole"
    assert carol.error(G + "listJoinRequests", convoId=convo)[0] == "InvalidConvo"
    assert dump(server) == before


def test_create_group_limits_and_schema(server: MockChatServer, api: Callable[..., Api]) -> None:
    alice = api("alice")
    others = [api(f"user{i}") for i in range(50)]
    before = dump(server)
    error, message = alice.error(G + "createGroup", {"name": "Big", "members": [o.did for o in others]})
    assert error == "InvalidRequest" and "at most 50 members" in message and "49 besides the owner" in message
    error, message = alice.error(G + "createGroup", {"name": "é" * 51, "members": []})
    assert error == "InvalidRequest" and "name" in message and "maxGraphemes 50" in message
    error, message = alice.error(G + "createGroup", {"name": "", "members": []})
    assert error == "InvalidRequest" and "minLength 1" in message
    error, message = alice.error(G + "createGroup", {"name": "x", "members": ["not-a-did"]})
    assert error == "InvalidRequest" and "did" in message
    assert dump(server) == before
    # the owner in the list and duplicates do not count twice: 49 others + owner fit exactly
    dids = [alice.did] + [o.did for o in others[:49]] + [others[0].did]
    convo = alice.ok(G + "createGroup", {"name": "Full", "members": dids})["convo"]
    assert convo["kind"]["memberCount"] == 50 and convo["kind"]["memberLimit"] == 50
    error, message = alice.error(G + "addMembers", {"convoId": convo["id"], "members": [others[49].did]})
    assert error == "MemberLimitReached" and "0 place(s) left" in message


def test_add_remove_and_per_group_limit(
    server: MockChatServer, api: Callable[..., Api], admin_http: httpx.Client
) -> None:
    alice, bob, carol, dan = api("alice"), api("bob"), api("carol"), api("dan")
    convo = make_group(alice, bob)
    assert admin_http.patch(f"/_mock/convos/{convo}", json={"memberLimit": 3}).status_code == 200
    answer = admin_http.patch(f"/_mock/convos/{convo}", json={"memberLimit": 1})
    assert answer.status_code == 400 and "below the group's 2 members" in answer.json()["message"]
    before = dump(server)
    error, message = alice.error(G + "addMembers", {"convoId": convo, "members": [carol.did, dan.did]})
    assert error == "MemberLimitReached" and "2 of 3 members" in message
    assert dump(server) == before
    out = alice.ok(G + "addMembers", {"convoId": convo, "members": [bob.did, carol.did]})
    assert [p["did"] for p in out["addedMembers"]] == [carol.did]  # bob was a member already
    assert out["addedMembers"][0]["kind"]["addedBy"]["did"] == alice.did
    assert alice.error(G + "removeMembers", {"convoId": convo, "members": [alice.did]})[0] == "InvalidRequest"
    removed = alice.ok(G + "removeMembers", {"convoId": convo, "members": [carol.did, dan.did]})["convo"]
    assert removed["kind"]["memberCount"] == 2
    # re-adding a removed member lifts the kick
    alice.ok(G + "addMembers", {"convoId": convo, "members": [carol.did]})
    assert carol.ok("chat.bsky.convo.getConvo", convoId=convo)["convo"]["status"] == "request"


def test_join_link_lifecycle_errors(server: MockChatServer, api: Callable[..., Api]) -> None:
    alice, bob = api("alice"), api("bob")
    convo = make_group(alice)
    assert alice.error(G + "editJoinLink", {"convoId": convo, "requireApproval": True})[0] == "NoJoinLink"
    assert alice.error(G + "enableJoinLink", {"convoId": convo})[0] == "NoJoinLink"
    assert alice.error(G + "disableJoinLink", {"convoId": convo})[0] == "NoJoinLink"
    first = alice.ok(G + "createJoinLink", {"convoId": convo, "joinRule": "anyone"})["joinLink"]
    assert first["requireApproval"] is False  # the lexicon's default
    error, message = alice.error(G + "createJoinLink", {"convoId": convo, "joinRule": "anyone"})
    assert error == "EnabledJoinLinkAlreadyExists" and "disable it first" in message
    assert alice.error(G + "enableJoinLink", {"convoId": convo})[0] == "LinkAlreadyEnabled"
    assert alice.ok(G + "disableJoinLink", {"convoId": convo})["joinLink"]["enabledStatus"] == "disabled"
    assert alice.error(G + "disableJoinLink", {"convoId": convo})[0] == "NoJoinLink"
    edited = alice.ok(G + "editJoinLink", {"convoId": convo, "joinRule": "followedByOwner"})["joinLink"]
    assert edited["joinRule"] == "followedByOwner" and edited["enabledStatus"] == "disabled"
    second = alice.ok(G + "createJoinLink", {"convoId": convo, "joinRule": "anyone"})["joinLink"]
    assert second["code"] != first["code"]
    assert bob.error(G + "requestJoin", {"code": first["code"]})[0] == "LinkDisabled"
    assert bob.error(G + "requestJoin", {"code": "nope"}) == ("InvalidCode", "No join link with code 'nope'")
    previews = api(None).ok(G + "getJoinLinkPreviews", codes=[second["code"], first["code"], "nope"])
    assert [p["$type"].split("#")[1] for p in previews["joinLinkPreviews"]] == [
        "joinLinkPreviewView",
        "disabledJoinLinkPreviewView",
        "invalidJoinLinkPreviewView",
    ]
    live = previews["joinLinkPreviews"][0]
    assert live["owner"]["did"] == alice.did and live["memberCount"] == 1 and "viewer" not in live
    assert "convo" not in live  # anonymous: no convo
    member_view = alice.ok(G + "getJoinLinkPreviews", codes=[second["code"]])["joinLinkPreviews"][0]
    assert member_view["convo"]["id"] == convo
    kinds = [
        m["data"]["$type"].split("#systemMessageData")[1]
        for m in alice.ok("chat.bsky.convo.getMessages", convoId=convo)["messages"]
    ]
    assert kinds == ["CreateJoinLink", "DisableJoinLink", "EditJoinLink", "CreateJoinLink"][::-1]


def test_join_requests_paging_reading_and_errors(server: MockChatServer, api: Callable[..., Api]) -> None:
    alice = api("alice")
    convo = make_group(alice)
    code = alice.ok(G + "createJoinLink", {"convoId": convo, "joinRule": "anyone", "requireApproval": True})
    code = code["joinLink"]["code"]
    askers = [api(f"asker{i}") for i in range(5)]
    for asker in askers:
        assert asker.ok(G + "requestJoin", {"code": code}) == {"status": "pending"}
    assert askers[0].ok(G + "requestJoin", {"code": code}) == {"status": "pending"}  # asking twice is one request
    page = alice.ok(G + "listJoinRequests", convoId=convo, limit=2)
    seen = [r["requestedBy"]["did"] for r in page["requests"]]
    while "cursor" in page:
        page = alice.ok(G + "listJoinRequests", convoId=convo, limit=2, cursor=page["cursor"])
        seen += [r["requestedBy"]["did"] for r in page["requests"]]
    assert seen == [a.did for a in askers]
    kind = alice.ok("chat.bsky.convo.getConvo", convoId=convo)["convo"]["kind"]
    assert (kind["joinRequestCount"], kind["unreadJoinRequestCount"]) == (5, 5)
    alice.ok(G + "updateJoinRequestsRead", {"convoId": convo})
    kind = alice.ok("chat.bsky.convo.getConvo", convoId=convo)["convo"]["kind"]
    assert (kind["joinRequestCount"], kind["unreadJoinRequestCount"]) == (5, 0)
    stranger = api("stranger")
    before = dump(server)
    error, message = alice.error(G + "approveJoinRequest", {"convoId": convo, "member": stranger.did})
    assert error == "InvalidRequest" and stranger.did in message
    assert alice.error(G + "rejectJoinRequest", {"convoId": convo, "member": stranger.did})[0] == "InvalidRequest"
    assert stranger.error(G + "withdrawJoinRequest", {"convoId": convo})[0] == "InvalidJoinRequest"
    assert dump(server) == before
    alice.ok(G + "rejectJoinRequest", {"convoId": convo, "member": askers[0].did})
    assert askers[0].ok(G + "requestJoin", {"code": code}) == {"status": "pending"}  # may ask again


def test_list_mutual_groups(api: Callable[..., Api]) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    shared = [make_group(alice, bob, name=f"S{i}") for i in range(3)]
    make_group(alice, carol)
    make_group(bob)
    page = alice.ok(G + "listMutualGroups", subject=bob.did, limit=2)
    ids = [c["id"] for c in page["convos"]]
    page = alice.ok(G + "listMutualGroups", subject=bob.did, limit=2, cursor=page["cursor"])
    ids += [c["id"] for c in page["convos"]]
    assert ids == shared[::-1] and "cursor" not in page  # most recently changed first
    assert alice.ok(G + "listMutualGroups", subject="did:plc:nobody")["convos"] == []
    alice.ok(G + "removeMembers", {"convoId": shared[0], "members": [bob.did]})
    assert shared[0] not in [c["id"] for c in alice.ok(G + "listMutualGroups", subject=bob.did)["convos"]]


def test_edit_group_rename_and_no_op(api: Callable[..., Api]) -> None:
    alice, bob = api("alice"), api("bob")
    convo = make_group(alice, bob, name="Old")
    renamed = alice.ok(G + "editGroup", {"convoId": convo, "name": "New"})["convo"]
    assert renamed["kind"]["name"] == "New"
    last = bob.ok("chat.bsky.convo.getConvo", convoId=convo)["convo"]["lastMessage"]
    assert last["data"] == {
        "$type": "chat.bsky.convo.defs#systemMessageDataEditGroup",
        "oldName": "Old",
        "newName": "New",
    }
    rev = renamed["rev"]
    assert alice.ok(G + "editGroup", {"convoId": convo, "name": "New"})["convo"]["rev"] == rev  # no change
    alice.ok("chat.bsky.convo.lockConvo", {"convoId": convo})
    assert alice.error(G + "editGroup", {"convoId": convo, "name": "Locked"})[0] == "ConvoLocked"
