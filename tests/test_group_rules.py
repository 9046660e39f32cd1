"""Every chat.bsky.group method through the real HTTP server: the success path and each error
docs/behaviour.md gives it, in the order it lists them, and the state left unchanged by a refusal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from conftest import SSL, Api, dump

from mockserver import MockChatServer

G = "chat.bsky.group."
C = "chat.bsky.convo."
DEFS = "chat.bsky.convo.defs"
GDEFS = "chat.bsky.group.defs"
NOT_FOUND = "Convo not found"  # exactly: the id is not repeated, for a convo one is not in or none at all
Json = dict[str, Any]
MakeApi = Callable[..., Api]


# -- helpers ---------------------------------------------------------------------------------


def make_group(owner: Api, *members: Api, name: str = "G") -> str:
    out = owner.ok(G + "createGroup", {"name": name, "members": [m.did for m in members]})
    return str(out["convo"]["id"])


def admin_patch(server: MockChatServer, path: str, body: Json) -> Json:
    with httpx.Client(base_url=server.url, verify=SSL, timeout=10) as client:
        response = client.patch(path, json=body)
    assert response.status_code == 200, response.text
    data: Json = response.json()
    return data


def set_convo(server: MockChatServer, convo: str, **fields: Any) -> Json:
    return admin_patch(server, f"/_mock/convos/{convo}", fields)


def set_actor(server: MockChatServer, who: Api, **fields: Any) -> Json:
    return admin_patch(server, f"/_mock/actors/{who.did}", fields)


def system_data(member: Api, convo: str) -> list[Json]:
    """The `data` of every system message ``member`` can see, oldest first."""
    messages = member.ok(C + "getMessages", convoId=convo, limit=100)["messages"]
    out = [m["data"] for m in reversed(messages) if m["$type"] == f"{DEFS}#systemMessageView"]
    return out


def system_types(member: Api, convo: str) -> list[str]:
    return [d["$type"].split("#systemMessageData")[-1] for d in system_data(member, convo)]


def kind(member: Api, convo: str) -> Json:
    out: Json = member.ok(C + "getConvo", convoId=convo)["convo"]["kind"]
    return out


def link(owner: Api, convo: str, rule: str = "anyone", approval: bool = False) -> str:
    out = owner.ok(G + "createJoinLink", {"convoId": convo, "joinRule": rule, "requireApproval": approval})
    return str(out["joinLink"]["code"])


def full_state(server: MockChatServer) -> Json:
    """The whole state (revs, log events, requests read marks included), from GET /_mock/state."""
    with httpx.Client(base_url=server.url, verify=SSL, timeout=10) as client:
        response = client.get("/_mock/state")
    assert response.status_code == 200, response.text
    data: Json = response.json()
    return data


def refused(server: MockChatServer, who: Api, nsid: str, body: Json | None = None, **params: Any) -> tuple[str, str]:
    """Call and insist on an XRPC error that changes nothing; returns (name, message)."""
    before, whole = dump(server), full_state(server)
    result = who.error(nsid, body, **params)
    assert dump(server) == before, (nsid, body, params)
    assert full_state(server) == whole, (nsid, body, params)
    return result


def log_kinds(member: Api, cursor: str = "") -> tuple[list[str], str]:
    """The getLog event names for ``member`` after ``cursor`` (a rev; "" is the very start), and the
    next cursor."""
    out = member.ok(C + "getLog", cursor=cursor)
    return [e["$type"].split("#")[1] for e in out["logs"]], str(out["cursor"])


# -- createGroup -----------------------------------------------------------------------------


def test_create_group_success(server: MockChatServer, api: MakeApi) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol", allowGroupInvites="following", follows=["alice"])
    out = alice.ok(G + "createGroup", {"name": "Friends", "members": [bob.did, carol.did, bob.did, alice.did]})
    convo = out["convo"]
    assert convo["kind"]["$type"] == f"{DEFS}#groupConvo"
    assert convo["kind"]["name"] == "Friends"
    assert convo["kind"]["memberCount"] == 3 and convo["kind"]["memberLimit"] == 50
    assert convo["kind"]["lockStatus"] == "unlocked" and convo["kind"]["lockStatusModerationOverride"] is False
    # the owner's join request counts are left out while zero
    assert "joinRequestCount" not in convo["kind"] and "unreadJoinRequestCount" not in convo["kind"]
    assert "joinLink" not in convo["kind"]
    assert convo["status"] == "accepted"
    roles = {m["did"]: m["kind"]["role"] for m in convo["members"]}
    assert roles == {alice.did: "owner", bob.did: "standard", carol.did: "standard"}
    bobs = bob.ok(C + "getConvo", convoId=convo["id"])["convo"]
    assert bobs["status"] == "request"
    assert bobs["rev"] == convo["rev"]  # the creation is one shared change: the same rev for every member
    assert "joinRequestCount" not in bobs["kind"] and "unreadJoinRequestCount" not in bobs["kind"]
    # createGroup leaves no system message
    assert system_data(alice, convo["id"]) == []
    assert system_data(bob, convo["id"]) == []
    admin = dump(server)["convos"]["convos"][0]
    assert [(m["did"], m["role"], m["status"]) for m in admin["members"]] == [
        (alice.did, "owner", "accepted"),
        (bob.did, "standard", "request"),
        (carol.did, "standard", "request"),
    ]


def test_create_group_with_no_members(api: MakeApi) -> None:
    alice = api("alice")
    convo = alice.ok(G + "createGroup", {"name": "Solo", "members": []})["convo"]
    assert convo["kind"]["memberCount"] == 1
    assert [m["did"] for m in convo["members"]] == [alice.did]


def test_create_group_account_checks(server: MockChatServer, api: MakeApi) -> None:
    bob = api("bob")
    suspended = api("sus", status="suspended", newAccount=True)
    error, message = refused(server, suspended, G + "createGroup", {"name": "x", "members": [bob.did]})
    assert error == "AccountSuspended" and "sus.test" in message and "suspended" in message
    deactivated = api("deact", status="deactivated")
    error, message = refused(server, deactivated, G + "createGroup", {"name": "x", "members": []})
    assert error == "AccountSuspended" and "deactivated" in message
    newbie = api("newbie", newAccount=True)
    # the new-account check runs before the invitee checks
    error, message = refused(server, newbie, G + "createGroup", {"name": "x", "members": ["did:plc:nobody"]})
    assert error == "NewAccountCannotCreateGroup" and "new account" in message.lower()


def test_create_group_server_member_limit(
    server: MockChatServer, api: MakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server.service.config, "member_limit", 3)
    alice, bob, carol, dan = api("alice"), api("bob"), api("carol"), api("dan")
    error, message = refused(server, alice, G + "createGroup", {"name": "x", "members": [bob.did, carol.did, dan.did]})
    assert error == "InvalidRequest"
    assert "at most 3 members" in message and "2 besides the owner" in message and "got 3" in message
    # the limit check runs before the invitee checks
    body = {"name": "x", "members": [bob.did, carol.did, "did:plc:nobody"]}
    assert refused(server, alice, G + "createGroup", body)[0] == "InvalidRequest"
    # the owner in `members` is ignored and duplicates count once
    members = [alice.did, bob.did, carol.did, bob.did, carol.did]
    convo = alice.ok(G + "createGroup", {"name": "Full", "members": members})["convo"]
    assert convo["kind"]["memberCount"] == 3 and convo["kind"]["memberLimit"] == 3


def test_create_group_limit_is_stored_per_group(
    server: MockChatServer, api: MakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = api("alice"), api("bob")
    before = make_group(alice)
    monkeypatch.setattr(server.service.config, "member_limit", 2)
    after = make_group(alice, bob)
    assert kind(alice, before)["memberLimit"] == 50
    assert kind(alice, after)["memberLimit"] == 2


@pytest.mark.parametrize(
    ("spec", "caller_blocks", "expected", "needle"),
    [
        ({"status": "deactivated"}, False, "RecipientNotFound", "{did}"),
        ({"status": "takendown"}, False, "RecipientNotFound", "{did}"),
        # BlockedActor: the invitee has blocked the caller; BlockedSubject: the caller has blocked the invitee
        ({"blocks": ["alice"]}, False, "BlockedActor", "bob.test has blocked you"),
        ({}, True, "BlockedSubject", "You have blocked bob.test"),
        ({"allowGroupInvites": "none"}, False, "UserForbidsGroups", "bob.test"),
        ({"allowGroupInvites": "following"}, False, "NotFollowedBySender", "bob.test"),
        # the checks run in order: an invitee who blocks the caller (or is blocked by them) and also
        # forbids groups is refused for the block; blocked both ways, the invitee's block answers
        ({"allowGroupInvites": "none", "blocks": ["alice"]}, True, "BlockedActor", "bob.test has blocked you"),
        ({"allowGroupInvites": "none", "blocks": ["alice"]}, False, "BlockedActor", "bob.test has blocked you"),
        ({"allowGroupInvites": "none"}, True, "BlockedSubject", "You have blocked bob.test"),
        ({"allowGroupInvites": "following", "status": "deactivated"}, True, "RecipientNotFound", "{did}"),
    ],
)
def test_create_group_invitee_checks(
    server: MockChatServer, api: MakeApi, spec: Json, caller_blocks: bool, expected: str, needle: str
) -> None:
    alice = api("alice")
    bob = api("bob", **spec)
    if caller_blocks:
        set_actor(server, alice, blocks=[bob.did])
    error, message = refused(server, alice, G + "createGroup", {"name": "x", "members": [bob.did]})
    assert error == expected
    assert needle.format(did=bob.did) in message


def test_create_group_unknown_invitee_and_member_order(server: MockChatServer, api: MakeApi) -> None:
    alice = api("alice")
    forbids = api("forbids", allowGroupInvites="none")
    ghost = "did:plc:nobodyhere"
    error, message = refused(server, alice, G + "createGroup", {"name": "x", "members": [ghost]})
    assert error == "RecipientNotFound" and ghost in message
    # members are checked in the order given: the first one that fails answers
    body = {"name": "x", "members": [forbids.did, ghost]}
    error, message = refused(server, alice, G + "createGroup", body)
    assert error == "UserForbidsGroups" and "forbids.test" in message
    body = {"name": "x", "members": [ghost, forbids.did]}
    assert refused(server, alice, G + "createGroup", body)[0] == "RecipientNotFound"


def test_create_group_following_invitee_who_follows_is_fine(api: MakeApi) -> None:
    alice = api("alice")
    bob = api("bob", allowGroupInvites="following", follows=["alice"])
    convo = make_group(alice, bob)
    assert kind(bob, convo)["memberCount"] == 2


def test_schema_violations_answer_before_rules(server: MockChatServer, api: MakeApi) -> None:
    suspended = api("sus", status="suspended")
    long_name = "e\u0301" * 51  # 51 graphemes, 153 bytes: under maxLength 500
    error, message = refused(server, suspended, G + "createGroup", {"name": long_name, "members": []})
    assert error == "InvalidRequest" and "name" in message and "maxGraphemes 50" in message
    alice, outsider = api("alice"), api("outsider")
    convo = make_group(alice)
    error, message = refused(server, outsider, G + "editGroup", {"convoId": convo, "name": long_name})
    assert error == "InvalidRequest" and "name" in message and "maxGraphemes 50" in message
    error, message = refused(server, outsider, G + "addMembers", {"convoId": convo, "members": []})
    assert error == "InvalidRequest" and "members" in message and "minLength 1" in message
    error, message = refused(server, outsider, G + "listJoinRequests", convoId=convo, limit=101)
    assert error == "InvalidRequest" and "limit" in message
    # exactly 50 graphemes is fine, however many code points each one has
    for grapheme in ("e\u0301", "\U0001f1eb\U0001f1f7", "\U0001f44d\U0001f3fd"):
        name50 = grapheme * 50
        assert alice.ok(G + "createGroup", {"name": name50, "members": []})["convo"]["kind"]["name"] == name50
        renamed = alice.ok(G + "editGroup", {"convoId": convo, "name": name50})
        assert renamed["convo"]["kind"]["name"] == name50
        error, message = refused(server, alice, G + "editGroup", {"convoId": convo, "name": grapheme * 51})
        assert error == "InvalidRequest" and "maxGraphemes 50" in message
    # 25 graphemes of 21 bytes each: under maxGraphemes, over maxLength 500 (bytes)
    heavy = ("e" + "\u0301" * 10) * 25
    error, message = refused(server, alice, G + "createGroup", {"name": heavy, "members": []})
    assert error == "InvalidRequest" and "name" in message and "maxLength 500" in message


# -- addMembers ------------------------------------------------------------------------------


def test_add_members_success_and_system_messages(server: MockChatServer, api: MakeApi) -> None:
    alice, bob, carol, dan = api("alice"), api("bob"), api("carol"), api("dan")
    convo = make_group(alice, bob)
    bob.ok(C + "sendMessage", {"convoId": convo, "message": {"text": "before carol"}})
    out = alice.ok(G + "addMembers", {"convoId": convo, "members": [carol.did, bob.did, dan.did, carol.did]})
    # the one already a member is skipped
    assert [p["did"] for p in out["addedMembers"]] == [carol.did, dan.did]
    assert out["convo"]["kind"]["memberCount"] == 4
    for profile in out["addedMembers"]:
        assert profile["kind"]["role"] == "standard" and profile["kind"]["addedBy"]["did"] == alice.did
    added = system_data(alice, convo)
    assert added == [
        {
            "$type": f"{DEFS}#systemMessageDataAddMember",
            "member": {"did": carol.did},
            "role": "standard",
            "addedBy": {"did": alice.did},
        },
        {
            "$type": f"{DEFS}#systemMessageDataAddMember",
            "member": {"did": dan.did},
            "role": "standard",
            "addedBy": {"did": alice.did},
        },
    ]
    # carol sees from her own announcement on: not bob's earlier message
    carols = carol.ok(C + "getMessages", convoId=convo)["messages"]
    assert [m.get("text") for m in carols if m["$type"] == f"{DEFS}#messageView"] == []
    assert carol.ok(C + "getConvo", convoId=convo)["convo"]["status"] == "request"
    # adding only existing members is a harmless no-op
    before = dump(server)
    out = alice.ok(G + "addMembers", {"convoId": convo, "members": [bob.did]})
    assert out["addedMembers"] == []
    assert dump(server) == before


def test_add_members_caller_checks(server: MockChatServer, api: MakeApi) -> None:
    alice, bob, carol, outsider = api("alice"), api("bob"), api("carol"), api("outsider")
    convo = make_group(alice, bob)
    body = {"convoId": convo, "members": [carol.did]}
    error, message = refused(server, outsider, G + "addMembers", body)
    assert (error, message) == ("InvalidConvo", NOT_FOUND)
    error, message = refused(server, alice, G + "addMembers", {**body, "convoId": "nosuchconvo"})
    assert (error, message) == ("InvalidConvo", NOT_FOUND)
    error, message = refused(server, bob, G + "addMembers", body)
    assert error == "InsufficientRole" and "owner" in message
    # InsufficientRole comes before the invitee checks
    assert refused(server, bob, G + "addMembers", {**body, "members": ["did:plc:ghost"]})[0] == "InsufficientRole"
    # AccountSuspended comes right after the schema check, before every rule: even for a non-member
    set_actor(server, outsider, status="suspended")
    error, message = refused(server, outsider, G + "addMembers", body)
    assert error == "AccountSuspended" and "outsider.test" in message
    set_actor(server, alice, status="suspended")
    assert refused(server, alice, G + "addMembers", body)[0] == "AccountSuspended"


def test_add_members_locked(server: MockChatServer, api: MakeApi) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol", allowGroupInvites="none")
    convo = make_group(alice, bob)
    alice.ok(C + "lockConvo", {"convoId": convo})
    # the lock check runs before the invitee checks
    error, message = refused(server, alice, G + "addMembers", {"convoId": convo, "members": [carol.did]})
    assert error == "ConvoLocked" and "locked" in message
    alice.ok(C + "unlockConvo", {"convoId": convo})
    set_convo(server, convo, moderationLock=True)
    error, message = refused(server, alice, G + "addMembers", {"convoId": convo, "members": [carol.did]})
    assert error == "ConvoLocked" and "moderation" in message
    assert kind(alice, convo)["lockStatus"] == "locked"
    assert kind(alice, convo)["lockStatusModerationOverride"] is True


@pytest.mark.parametrize(
    ("spec", "caller_blocks", "expected"),
    [
        ({"status": "deactivated"}, False, "RecipientNotFound"),
        # BlockedActor: the invitee has blocked the caller; BlockedSubject: the caller has blocked the invitee
        ({"blocks": ["alice"]}, False, "BlockedActor"),
        ({}, True, "BlockedSubject"),
        ({"allowGroupInvites": "none"}, False, "UserForbidsGroups"),
        ({"allowGroupInvites": "following"}, False, "NotFollowedBySender"),
    ],
)
def test_add_members_invitee_checks(
    server: MockChatServer, api: MakeApi, spec: Json, caller_blocks: bool, expected: str
) -> None:
    alice, ok_one = api("alice"), api("fine")
    bob = api("bob", **spec)
    convo = make_group(alice)
    if caller_blocks:
        set_actor(server, alice, blocks=[bob.did])
    # one bad invitee refuses the whole call, good ones before it included
    error, message = refused(server, alice, G + "addMembers", {"convoId": convo, "members": [ok_one.did, bob.did]})
    assert error == expected
    assert (bob.did if expected == "RecipientNotFound" else "bob.test") in message
    # invitee checks come before the member limit
    set_convo(server, convo, memberLimit=1)
    assert refused(server, alice, G + "addMembers", {"convoId": convo, "members": [bob.did]})[0] == expected


def test_add_members_group_limit(server: MockChatServer, api: MakeApi) -> None:
    alice, bob, carol, dan = api("alice"), api("bob"), api("carol"), api("dan")
    convo = make_group(alice, bob)
    assert set_convo(server, convo, memberLimit=3)["memberLimit"] == 3
    assert kind(alice, convo)["memberLimit"] == 3
    error, message = refused(server, alice, G + "addMembers", {"convoId": convo, "members": [carol.did, dan.did]})
    assert error == "MemberLimitReached" and "2 of 3" in message and "1 place" in message
    # already-members do not count as new ones
    out = alice.ok(G + "addMembers", {"convoId": convo, "members": [bob.did, carol.did]})
    assert [p["did"] for p in out["addedMembers"]] == [carol.did]
    error, message = refused(server, alice, G + "addMembers", {"convoId": convo, "members": [dan.did]})
    assert error == "MemberLimitReached" and "3 of 3" in message


def test_add_members_lifts_kick_and_drops_request(server: MockChatServer, api: MakeApi) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    convo = make_group(alice, bob)
    code = link(alice, convo, approval=True)
    alice.ok(G + "removeMembers", {"convoId": convo, "members": [bob.did]})
    assert bob.error(G + "requestJoin", {"code": code})[0] == "UserKicked"
    assert carol.ok(G + "requestJoin", {"code": code}) == {"status": "pending"}
    out = alice.ok(G + "addMembers", {"convoId": convo, "members": [bob.did, carol.did]})
    assert [p["did"] for p in out["addedMembers"]] == [bob.did, carol.did]
    admin = dump(server)["convos"]["convos"][0]
    assert admin["kicked"] == [] and admin["joinRequests"] == []
    assert carol.ok(C + "getConvo", convoId=convo)["convo"]["status"] == "request"
    assert alice.ok(G + "listJoinRequests", convoId=convo)["requests"] == []


# -- removeMembers ---------------------------------------------------------------------------


def test_remove_members_success(server: MockChatServer, api: MakeApi) -> None:
    alice, bob, carol, outsider = api("alice"), api("bob"), api("carol"), api("outsider")
    convo = make_group(alice, bob, carol)
    out = alice.ok(G + "removeMembers", {"convoId": convo, "members": [bob.did, outsider.did, bob.did]})
    assert out["convo"]["kind"]["memberCount"] == 2
    assert system_data(carol, convo) == [
        {"$type": f"{DEFS}#systemMessageDataRemoveMember", "member": {"did": bob.did}, "removedBy": {"did": alice.did}}
    ]
    assert bob.error(C + "getConvo", convoId=convo)[0] == "InvalidConvo"
    assert bob.error(C + "getMessages", convoId=convo)[0] == "InvalidConvo"
    assert dump(server)["convos"]["convos"][0]["kicked"] == [bob.did]
    related = carol.ok(C + "getMessages", convoId=convo)["relatedProfiles"]
    kinds = {p["did"]: p["kind"]["$type"].split("#")[1] for p in related}
    assert kinds == {bob.did: "pastGroupConvoMember", alice.did: "groupConvoMember"}
    # removing non-members only is ignored
    before = dump(server)
    alice.ok(G + "removeMembers", {"convoId": convo, "members": [bob.did, outsider.did]})
    assert dump(server) == before


def test_remove_members_errors(server: MockChatServer, api: MakeApi) -> None:
    alice, bob, carol, outsider = api("alice"), api("bob"), api("carol"), api("outsider")
    convo = make_group(alice, bob, carol)
    body = {"convoId": convo, "members": [carol.did]}
    error, message = refused(server, outsider, G + "removeMembers", body)
    assert (error, message) == ("InvalidConvo", NOT_FOUND)
    assert refused(server, alice, G + "removeMembers", {**body, "convoId": "nosuch"})[0] == "InvalidConvo"
    error, message = refused(server, bob, G + "removeMembers", body)
    assert error == "InsufficientRole" and "owner" in message
    # the owner in the list refuses the whole call, others listed before included
    error, message = refused(server, alice, G + "removeMembers", {"convoId": convo, "members": [carol.did, alice.did]})
    assert error == "InvalidRequest" and "owner" in message


# -- editGroup -------------------------------------------------------------------------------


def test_edit_group_success(server: MockChatServer, api: MakeApi) -> None:
    alice, bob = api("alice"), api("bob")
    convo = make_group(alice, bob, name="Old")
    out = alice.ok(G + "editGroup", {"convoId": convo, "name": "New"})
    assert out["convo"]["kind"]["name"] == "New"
    assert kind(bob, convo)["name"] == "New"
    last = bob.ok(C + "getConvo", convoId=convo)["convo"]["lastMessage"]
    assert last["$type"] == f"{DEFS}#systemMessageView"
    assert last["data"]["oldName"] == "Old" and last["data"]["newName"] == "New"
    assert system_data(bob, convo) == [
        {"$type": f"{DEFS}#systemMessageDataEditGroup", "oldName": "Old", "newName": "New"}
    ]
    # the same name again: no-op, no system message
    before = dump(server)
    assert alice.ok(G + "editGroup", {"convoId": convo, "name": "New"})["convo"]["kind"]["name"] == "New"
    assert dump(server) == before


def test_edit_group_errors(server: MockChatServer, api: MakeApi) -> None:
    alice, bob, outsider = api("alice"), api("bob"), api("outsider")
    convo = make_group(alice, bob, name="Old")
    body = {"convoId": convo, "name": "New"}
    error, message = refused(server, outsider, G + "editGroup", body)
    assert (error, message) == ("InvalidConvo", NOT_FOUND)
    assert refused(server, alice, G + "editGroup", {**body, "convoId": "nosuch"})[0] == "InvalidConvo"
    error, message = refused(server, bob, G + "editGroup", body)
    assert error == "InsufficientRole" and "owner" in message
    alice.ok(C + "lockConvo", {"convoId": convo})
    # the role check comes before the lock check
    assert refused(server, bob, G + "editGroup", body)[0] == "InsufficientRole"
    error, message = refused(server, alice, G + "editGroup", body)
    assert error == "ConvoLocked" and "locked" in message
    alice.ok(C + "unlockConvo", {"convoId": convo})
    set_convo(server, convo, moderationLock=True)
    error, message = refused(server, alice, G + "editGroup", body)
    assert error == "ConvoLocked" and "moderation" in message
    assert kind(alice, convo)["name"] == "Old"


# -- join links ------------------------------------------------------------------------------


def test_join_link_lifecycle(server: MockChatServer, api: MakeApi) -> None:
    alice, bob = api("alice"), api("bob")
    convo = make_group(alice, bob)
    created = alice.ok(G + "createJoinLink", {"convoId": convo, "joinRule": "anyone"})["joinLink"]
    assert created["enabledStatus"] == "enabled" and created["requireApproval"] is False
    assert created["joinRule"] == "anyone" and created["code"]
    assert kind(bob, convo)["joinLink"] == created
    edited = alice.ok(G + "editJoinLink", {"convoId": convo, "joinRule": "followedByOwner", "requireApproval": True})[
        "joinLink"
    ]
    assert edited == {**created, "joinRule": "followedByOwner", "requireApproval": True}
    disabled = alice.ok(G + "disableJoinLink", {"convoId": convo})["joinLink"]
    assert disabled["enabledStatus"] == "disabled"
    # editing a disabled link is allowed
    edited = alice.ok(G + "editJoinLink", {"convoId": convo, "requireApproval": False})["joinLink"]
    assert edited["requireApproval"] is False and edited["enabledStatus"] == "disabled"
    assert kind(alice, convo)["joinLink"] == edited
    enabled = alice.ok(G + "enableJoinLink", {"convoId": convo})["joinLink"]
    assert enabled["enabledStatus"] == "enabled" and enabled["code"] == created["code"]
    # an edit that changes nothing leaves no system message
    before = dump(server)
    alice.ok(G + "editJoinLink", {"convoId": convo, "joinRule": "followedByOwner"})
    assert dump(server) == before
    assert system_types(bob, convo) == [
        "CreateJoinLink",
        "EditJoinLink",
        "DisableJoinLink",
        "EditJoinLink",
        "EnableJoinLink",
    ]


def test_join_link_errors(server: MockChatServer, api: MakeApi) -> None:
    alice, bob, outsider = api("alice"), api("bob"), api("outsider")
    convo = make_group(alice, bob)
    calls: list[tuple[str, Json]] = [
        ("createJoinLink", {"convoId": convo, "joinRule": "anyone"}),
        ("editJoinLink", {"convoId": convo, "requireApproval": True}),
        ("enableJoinLink", {"convoId": convo}),
        ("disableJoinLink", {"convoId": convo}),
    ]
    for name, body in calls:
        error, message = refused(server, outsider, G + name, body)
        assert (error, message) == ("InvalidConvo", NOT_FOUND), name
        assert refused(server, alice, G + name, {**body, "convoId": "nosuch"})[0] == "InvalidConvo", name
        error, message = refused(server, bob, G + name, body)
        assert error == "InsufficientRole" and "owner" in message, name
    # no link yet
    for name, body in calls[1:]:
        error, message = refused(server, alice, G + name, body)
        assert error == "NoJoinLink" and "no join link" in message, name
    code = link(alice, convo)
    error, message = refused(server, alice, G + "createJoinLink", calls[0][1])
    assert error == "EnabledJoinLinkAlreadyExists" and "enabled join link" in message
    error, message = refused(server, alice, G + "enableJoinLink", {"convoId": convo})
    assert error == "LinkAlreadyEnabled" and "already enabled" in message
    alice.ok(G + "disableJoinLink", {"convoId": convo})
    error, message = refused(server, alice, G + "disableJoinLink", {"convoId": convo})
    assert error == "NoJoinLink" and "enabled join link" in message
    assert kind(alice, convo)["joinLink"]["code"] == code


def test_create_join_link_replaces_disabled_one(server: MockChatServer, api: MakeApi) -> None:
    alice, bob = api("alice"), api("bob")
    convo = make_group(alice)
    old = link(alice, convo)
    alice.ok(G + "disableJoinLink", {"convoId": convo})
    new = link(alice, convo, rule="anyone", approval=True)
    assert new != old
    assert kind(alice, convo)["joinLink"]["code"] == new
    # the old code stays disabled even after the new link is disabled and enabled again
    alice.ok(G + "disableJoinLink", {"convoId": convo})
    alice.ok(G + "enableJoinLink", {"convoId": convo})
    error, message = refused(server, bob, G + "requestJoin", {"code": old})
    assert error == "LinkDisabled" and "disabled" in message
    previews = bob.ok(G + "getJoinLinkPreviews", codes=[old, new])["joinLinkPreviews"]
    assert previews[0] == {"$type": f"{GDEFS}#disabledJoinLinkPreviewView", "code": old}
    assert previews[1]["$type"] == f"{GDEFS}#joinLinkPreviewView" and previews[1]["code"] == new


def test_join_link_changes_allowed_on_locked_group(api: MakeApi) -> None:
    alice, bob = api("alice"), api("bob")
    convo = make_group(alice, bob)
    alice.ok(C + "lockConvo", {"convoId": convo})
    link(alice, convo)
    alice.ok(G + "editJoinLink", {"convoId": convo, "requireApproval": True})
    alice.ok(G + "disableJoinLink", {"convoId": convo})
    alice.ok(G + "enableJoinLink", {"convoId": convo})
    assert system_types(bob, convo)[-4:] == ["CreateJoinLink", "EditJoinLink", "DisableJoinLink", "EnableJoinLink"]


# -- getJoinLinkPreviews ---------------------------------------------------------------------


def test_get_join_link_previews(api: MakeApi) -> None:
    alice, bob, carol = api("alice", displayName="Alice"), api("bob"), api("carol")
    convo = make_group(alice, bob, name="Club")
    code = link(alice, convo, approval=True)
    other = make_group(alice, name="Other")
    disabled = link(alice, other)
    alice.ok(G + "disableJoinLink", {"convoId": other})
    anonymous = api(None)
    codes = ["nosuchcode", code, disabled, code]
    previews = anonymous.ok(G + "getJoinLinkPreviews", codes=codes)["joinLinkPreviews"]
    assert [p["$type"].split("#")[1] for p in previews] == [
        "invalidJoinLinkPreviewView",
        "joinLinkPreviewView",
        "disabledJoinLinkPreviewView",
        "joinLinkPreviewView",
    ]
    assert [p["code"] for p in previews] == codes
    assert previews[0] == {"$type": f"{GDEFS}#invalidJoinLinkPreviewView", "code": "nosuchcode"}
    live = previews[1]
    assert live["convoId"] == convo and live["name"] == "Club" and live["owner"]["did"] == alice.did
    assert live["memberCount"] == 2 and live["memberLimit"] == 50
    assert live["requireApproval"] is True and live["joinRule"] == "anyone"
    assert "viewer" not in live and "convo" not in live
    # with a token: the viewer state, and for members the convo
    assert carol.ok(G + "getJoinLinkPreviews", codes=[code])["joinLinkPreviews"][0]["viewer"] == {}
    carol.ok(G + "requestJoin", {"code": code})
    requested = carol.ok(G + "getJoinLinkPreviews", codes=[code])["joinLinkPreviews"][0]
    assert set(requested["viewer"]) == {"requestedAt"} and "convo" not in requested
    for_bob = bob.ok(G + "getJoinLinkPreviews", codes=[code])["joinLinkPreviews"][0]
    assert for_bob["convo"]["id"] == convo and for_bob["viewer"] == {}


# -- requestJoin -----------------------------------------------------------------------------


def test_request_join_without_approval(server: MockChatServer, api: MakeApi) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    convo = make_group(alice, bob)
    code = link(alice, convo)
    out = carol.ok(G + "requestJoin", {"code": code})
    assert out["status"] == "joined" and out["convo"]["id"] == convo
    assert out["convo"]["status"] == "accepted" and out["convo"]["kind"]["memberCount"] == 3
    joins = [d for d in system_data(bob, convo) if d["$type"].endswith("MemberJoin")]
    assert joins == [{"$type": f"{DEFS}#systemMessageDataMemberJoin", "member": {"did": carol.did}, "role": "standard"}]
    # carol's own view begins with her join
    assert system_types(carol, convo) == ["MemberJoin"]
    # asking again answers `joined` and changes nothing; so does a member's request
    before = dump(server)
    again = carol.ok(G + "requestJoin", {"code": code})
    assert again["status"] == "joined" and again["convo"]["id"] == convo
    assert bob.ok(G + "requestJoin", {"code": code})["status"] == "joined"
    assert dump(server) == before


def test_request_join_with_approval(server: MockChatServer, api: MakeApi) -> None:
    alice, bob = api("alice"), api("bob")
    convo = make_group(alice)
    code = link(alice, convo, approval=True)
    assert bob.ok(G + "requestJoin", {"code": code}) == {"status": "pending"}
    assert bob.error(C + "getConvo", convoId=convo)[0] == "InvalidConvo"
    before = dump(server)
    assert before["convos"]["convos"][0]["joinRequests"] == [bob.did]
    assert bob.ok(G + "requestJoin", {"code": code}) == {"status": "pending"}
    assert dump(server) == before
    # no system message for a pending request
    assert system_types(alice, convo) == ["CreateJoinLink"]
    assert kind(alice, convo)["joinRequestCount"] == 1
    assert kind(alice, convo)["unreadJoinRequestCount"] == 1


def test_request_join_errors(server: MockChatServer, api: MakeApi) -> None:
    alice, bob, carol, dan = api("alice"), api("bob"), api("carol"), api("dan")
    convo = make_group(alice, bob)
    error, message = refused(server, carol, G + "requestJoin", {"code": "nosuchcode"})
    assert error == "InvalidCode" and "nosuchcode" in message
    code = link(alice, convo)
    alice.ok(G + "disableJoinLink", {"convoId": convo})
    error, message = refused(server, carol, G + "requestJoin", {"code": code})
    assert error == "LinkDisabled" and "disabled" in message
    alice.ok(G + "enableJoinLink", {"convoId": convo})
    alice.ok(C + "lockConvo", {"convoId": convo})
    error, message = refused(server, carol, G + "requestJoin", {"code": code})
    assert error == "ConvoLocked" and "locked" in message
    # a member asking again is answered before the lock check
    assert bob.ok(G + "requestJoin", {"code": code})["status"] == "joined"
    alice.ok(C + "unlockConvo", {"convoId": convo})
    set_convo(server, convo, moderationLock=True)
    error, message = refused(server, carol, G + "requestJoin", {"code": code})
    assert error == "ConvoLocked" and "moderation" in message
    set_convo(server, convo, moderationLock=False)
    alice.ok(G + "removeMembers", {"convoId": convo, "members": [bob.did]})
    error, message = refused(server, bob, G + "requestJoin", {"code": code})
    assert error == "UserKicked" and "removed" in message
    # leaving on one's own is not a kick
    carol.ok(G + "requestJoin", {"code": code})
    carol.ok(C + "leaveConvo", {"convoId": convo})
    assert carol.ok(G + "requestJoin", {"code": code})["status"] == "joined"
    alice.ok(G + "editJoinLink", {"convoId": convo, "joinRule": "followedByOwner"})
    error, message = refused(server, dan, G + "requestJoin", {"code": code})
    assert error == "FollowRequired" and "follow" in message
    # the kick is checked before the follow rule
    assert refused(server, bob, G + "requestJoin", {"code": code})[0] == "UserKicked"
    set_actor(server, alice, follows=[dan.did])
    assert dan.ok(G + "requestJoin", {"code": code})["status"] == "joined"


@pytest.mark.parametrize("approval", [False, True])
def test_request_join_full_group(server: MockChatServer, api: MakeApi, approval: bool) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    convo = make_group(alice, bob)
    code = link(alice, convo, approval=approval)
    set_convo(server, convo, memberLimit=2)
    error, message = refused(server, carol, G + "requestJoin", {"code": code})
    assert error == "MemberLimitReached" and "2 of 2" in message
    # the follow rule is checked before the limit
    alice.ok(G + "editJoinLink", {"convoId": convo, "joinRule": "followedByOwner"})
    assert refused(server, carol, G + "requestJoin", {"code": code})[0] == "FollowRequired"


def test_pending_requests_do_not_count_toward_limit(server: MockChatServer, api: MakeApi) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    convo = make_group(alice)
    code = link(alice, convo, approval=True)
    set_convo(server, convo, memberLimit=2)
    assert bob.ok(G + "requestJoin", {"code": code}) == {"status": "pending"}
    assert carol.ok(G + "requestJoin", {"code": code}) == {"status": "pending"}
    alice.ok(G + "approveJoinRequest", {"convoId": convo, "member": bob.did})
    error, message = refused(server, alice, G + "approveJoinRequest", {"convoId": convo, "member": carol.did})
    assert error == "MemberLimitReached" and "2 of 2" in message


# -- withdrawJoinRequest ---------------------------------------------------------------------


def test_withdraw_join_request(server: MockChatServer, api: MakeApi) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    convo = make_group(alice, carol)
    code = link(alice, convo, approval=True)
    bob.ok(G + "requestJoin", {"code": code})
    assert bob.ok(G + "withdrawJoinRequest", {"convoId": convo}) == {}
    assert alice.ok(G + "listJoinRequests", convoId=convo)["requests"] == []
    assert "joinRequestCount" not in kind(alice, convo)  # zero: left out
    error, message = refused(server, bob, G + "withdrawJoinRequest", {"convoId": convo})
    assert error == "InvalidJoinRequest" and convo in message
    error, message = refused(server, bob, G + "withdrawJoinRequest", {"convoId": "nosuch"})
    assert error == "InvalidJoinRequest" and "nosuch" in message
    # a member with no request, and the owner, have nothing to withdraw
    assert refused(server, carol, G + "withdrawJoinRequest", {"convoId": convo})[0] == "InvalidJoinRequest"
    assert refused(server, alice, G + "withdrawJoinRequest", {"convoId": convo})[0] == "InvalidJoinRequest"
    # withdrawing lets one ask again
    assert bob.ok(G + "requestJoin", {"code": code}) == {"status": "pending"}


# -- listJoinRequests ------------------------------------------------------------------------


def test_list_join_requests_paging(server: MockChatServer, api: MakeApi) -> None:
    alice, bob = api("alice"), api("bob")
    convo = make_group(alice, bob)
    code = link(alice, convo, approval=True)
    requesters = [api(f"req{i}") for i in range(5)]
    for r in requesters:
        r.ok(G + "requestJoin", {"code": code})
    everything = alice.ok(G + "listJoinRequests", convoId=convo)
    assert [r["requestedBy"]["did"] for r in everything["requests"]] == [r.did for r in requesters]
    assert "cursor" not in everything
    assert all(r["convoId"] == convo and r["requestedAt"] for r in everything["requests"])
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: Json = {"convoId": convo, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = alice.ok(G + "listJoinRequests", **params)
        pages += 1
        assert len(page["requests"]) <= 2
        seen += [r["requestedBy"]["did"] for r in page["requests"]]
        cursor = page.get("cursor")
        if not cursor:
            break
    assert pages == 3 and seen == [r.did for r in requesters]
    # a request made after a page was handed out comes at the end, not repeated
    first = alice.ok(G + "listJoinRequests", convoId=convo, limit=2)
    late = api("late")
    late.ok(G + "requestJoin", {"code": code})
    rest = alice.ok(G + "listJoinRequests", convoId=convo, limit=100, cursor=first["cursor"])
    assert [r["requestedBy"]["did"] for r in rest["requests"]] == [r.did for r in requesters[2:]] + [late.did]
    error, message = refused(server, alice, G + "listJoinRequests", convoId=convo, cursor="garbage!")
    assert error == "InvalidRequest" and "cursor" in message
    error, message = refused(server, bob, G + "listJoinRequests", convoId=convo)
    assert error == "InsufficientRole" and "owner" in message
    error, message = refused(server, requesters[0], G + "listJoinRequests", convoId=convo)
    assert (error, message) == ("InvalidConvo", NOT_FOUND)
    assert refused(server, alice, G + "listJoinRequests", convoId="nosuch")[0] == "InvalidConvo"


# -- approveJoinRequest / rejectJoinRequest --------------------------------------------------


def test_approve_join_request(api: MakeApi) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    convo = make_group(alice, bob)
    code = link(alice, convo, approval=True)
    carol.ok(G + "requestJoin", {"code": code})
    out = alice.ok(G + "approveJoinRequest", {"convoId": convo, "member": carol.did})
    assert out["convo"]["kind"]["memberCount"] == 3 and "joinRequestCount" not in out["convo"]["kind"]  # zero
    join = {
        "$type": f"{DEFS}#systemMessageDataMemberJoin",
        "member": {"did": carol.did},
        "role": "standard",
        "approvedBy": {"did": alice.did},
    }
    assert system_data(bob, convo)[-1] == join
    assert system_data(carol, convo) == [join]
    carols = carol.ok(C + "getConvo", convoId=convo)["convo"]
    assert carols["status"] == "accepted"
    assert carol.ok(G + "requestJoin", {"code": code})["status"] == "joined"


def test_approve_join_request_errors(server: MockChatServer, api: MakeApi) -> None:
    alice, bob, carol, outsider = api("alice"), api("bob"), api("carol"), api("outsider")
    convo = make_group(alice, bob)
    code = link(alice, convo, approval=True)
    carol.ok(G + "requestJoin", {"code": code})
    body = {"convoId": convo, "member": carol.did}
    error, message = refused(server, outsider, G + "approveJoinRequest", body)
    assert (error, message) == ("InvalidConvo", NOT_FOUND)
    assert refused(server, alice, G + "approveJoinRequest", {**body, "convoId": "nosuch"})[0] == "InvalidConvo"
    error, message = refused(server, bob, G + "approveJoinRequest", body)
    assert error == "InsufficientRole" and "owner" in message
    error, message = refused(server, alice, G + "approveJoinRequest", {**body, "member": outsider.did})
    assert error == "InvalidRequest" and outsider.did in message
    # a member is not a pending requester either
    error, message = refused(server, alice, G + "approveJoinRequest", {**body, "member": bob.did})
    assert error == "InvalidRequest" and bob.did in message
    alice.ok(C + "lockConvo", {"convoId": convo})
    # no pending request is checked before the lock
    assert refused(server, alice, G + "approveJoinRequest", {**body, "member": outsider.did})[0] == "InvalidRequest"
    error, message = refused(server, alice, G + "approveJoinRequest", body)
    assert error == "ConvoLocked" and "locked" in message
    alice.ok(C + "unlockConvo", {"convoId": convo})
    set_convo(server, convo, memberLimit=2)
    error, message = refused(server, alice, G + "approveJoinRequest", body)
    assert error == "MemberLimitReached" and "2 of 2" in message
    set_convo(server, convo, moderationLock=True)
    # the lock is checked before the limit
    error, message = refused(server, alice, G + "approveJoinRequest", body)
    assert error == "ConvoLocked" and "moderation" in message


def test_disabled_link_keeps_pending_requests(api: MakeApi) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    convo = make_group(alice)
    code = link(alice, convo, approval=True)
    bob.ok(G + "requestJoin", {"code": code})
    carol.ok(G + "requestJoin", {"code": code})
    alice.ok(G + "disableJoinLink", {"convoId": convo})
    assert len(alice.ok(G + "listJoinRequests", convoId=convo)["requests"]) == 2
    alice.ok(G + "approveJoinRequest", {"convoId": convo, "member": bob.did})
    alice.ok(G + "rejectJoinRequest", {"convoId": convo, "member": carol.did})
    assert kind(bob, convo)["memberCount"] == 2


def test_reject_join_request(server: MockChatServer, api: MakeApi) -> None:
    alice, bob, carol, outsider = api("alice"), api("bob"), api("carol"), api("outsider")
    convo = make_group(alice, bob)
    code = link(alice, convo, approval=True)
    carol.ok(G + "requestJoin", {"code": code})
    body = {"convoId": convo, "member": carol.did}
    error, message = refused(server, outsider, G + "rejectJoinRequest", body)
    assert (error, message) == ("InvalidConvo", NOT_FOUND)
    assert refused(server, alice, G + "rejectJoinRequest", {**body, "convoId": "nosuch"})[0] == "InvalidConvo"
    error, message = refused(server, bob, G + "rejectJoinRequest", body)
    assert error == "InsufficientRole" and "owner" in message
    error, message = refused(server, alice, G + "rejectJoinRequest", {**body, "member": outsider.did})
    assert error == "InvalidRequest" and outsider.did in message
    before_messages = system_data(alice, convo)
    assert alice.ok(G + "rejectJoinRequest", body) == {}
    assert alice.ok(G + "listJoinRequests", convoId=convo)["requests"] == []
    assert system_data(alice, convo) == before_messages
    assert carol.error(C + "getConvo", convoId=convo)[0] == "InvalidConvo"
    error, message = refused(server, alice, G + "rejectJoinRequest", body)
    assert error == "InvalidRequest" and carol.did in message
    # a rejected requester may ask again
    assert carol.ok(G + "requestJoin", {"code": code}) == {"status": "pending"}
    # rejecting works on a locked group
    alice.ok(C + "lockConvo", {"convoId": convo})
    alice.ok(G + "rejectJoinRequest", body)


# -- updateJoinRequestsRead ------------------------------------------------------------------


def test_update_join_requests_read_and_count_cap(server: MockChatServer, api: MakeApi) -> None:
    alice, bob = api("alice"), api("bob")
    convo = make_group(alice, bob)
    code = link(alice, convo, approval=True)
    requesters = [api(f"req{i}") for i in range(22)]
    for r in requesters:
        r.ok(G + "requestJoin", {"code": code})
    owner_kind = kind(alice, convo)
    assert owner_kind["joinRequestCount"] == 21 and owner_kind["unreadJoinRequestCount"] == 22
    assert "joinRequestCount" not in kind(bob, convo) and "unreadJoinRequestCount" not in kind(bob, convo)
    error, message = refused(server, bob, G + "updateJoinRequestsRead", {"convoId": convo})
    assert error == "InsufficientRole" and "owner" in message
    error, message = refused(server, requesters[0], G + "updateJoinRequestsRead", {"convoId": convo})
    assert (error, message) == ("InvalidConvo", NOT_FOUND)
    assert refused(server, alice, G + "updateJoinRequestsRead", {"convoId": "nosuch"})[0] == "InvalidConvo"
    assert alice.ok(G + "updateJoinRequestsRead", {"convoId": convo}) == {}
    owner_kind = kind(alice, convo)
    assert "unreadJoinRequestCount" not in owner_kind and owner_kind["joinRequestCount"] == 21  # zero: left out
    # no system message; a new request is unread again
    assert system_types(bob, convo) == ["CreateJoinLink"]
    api("newcomer").ok(G + "requestJoin", {"code": code})
    assert kind(alice, convo)["unreadJoinRequestCount"] == 1
    # works on a locked group too
    alice.ok(C + "lockConvo", {"convoId": convo})
    alice.ok(G + "updateJoinRequestsRead", {"convoId": convo})
    assert kind(alice, convo).get("unreadJoinRequestCount") is None


# -- listMutualGroups ------------------------------------------------------------------------


def test_list_mutual_groups(server: MockChatServer, api: MakeApi) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    first = make_group(alice, bob, name="first")
    second = make_group(carol, alice, bob, name="second")
    make_group(alice, carol, name="no bob")
    third = make_group(bob, alice, name="third")
    ids = [c["id"] for c in alice.ok(G + "listMutualGroups", subject=bob.did)["convos"]]
    assert ids == [third, second, first]
    # activity moves a group to the front
    alice.ok(C + "sendMessage", {"convoId": first, "message": {"text": "hi"}})
    ids = [c["id"] for c in bob.ok(G + "listMutualGroups", subject=alice.did)["convos"]]
    assert ids == [first, third, second]
    page = alice.ok(G + "listMutualGroups", subject=bob.did, limit=2)
    assert [c["id"] for c in page["convos"]] == [first, third]
    rest = alice.ok(G + "listMutualGroups", subject=bob.did, limit=2, cursor=page["cursor"])
    assert [c["id"] for c in rest["convos"]] == [second] and "cursor" not in rest
    # a removed member shares the group no more
    carol.ok(G + "removeMembers", {"convoId": second, "members": [bob.did]})
    ids = [c["id"] for c in alice.ok(G + "listMutualGroups", subject=bob.did)["convos"]]
    assert ids == [first, third]
    assert alice.ok(G + "listMutualGroups", subject="did:plc:nobodyhere")["convos"] == []
    error, message = refused(server, alice, G + "listMutualGroups", subject=bob.did, cursor="garbage!")
    assert error == "InvalidRequest" and "cursor" in message
    error, message = refused(server, alice, G + "listMutualGroups", subject="not-a-did")
    assert error == "InvalidRequest" and "subject" in message
    error, _ = refused(server, api(None), G + "listMutualGroups", subject=bob.did)
    assert error == "AuthenticationRequired"


# -- log events ------------------------------------------------------------------------------


def test_log_events_of_member_and_request_changes(api: MakeApi) -> None:
    alice, bob, carol, dan = api("alice"), api("bob"), api("carol"), api("dan")
    convo = make_group(alice, bob)
    # no cursor: no events, only where "now" is; "" reads from the very start
    now = alice.ok(C + "getLog")
    assert now["logs"] == [] and now["cursor"] >= bob.ok(C + "getConvo", convoId=convo)["convo"]["rev"]
    assert log_kinds(alice)[0] == ["logBeginConvo"]
    assert log_kinds(bob)[0] == ["logBeginConvo"]
    cursors = {who.did: log_kinds(who)[1] for who in (alice, bob)}

    def since(who: Api) -> list[str]:
        kinds, cursors[who.did] = log_kinds(who, cursors.get(who.did))
        return kinds

    alice.ok(G + "addMembers", {"convoId": convo, "members": [carol.did]})
    assert since(alice) == ["logAddMember"] and since(bob) == ["logAddMember"]
    assert since(carol) == ["logBeginConvo", "logAddMember"]
    alice.ok(G + "removeMembers", {"convoId": convo, "members": [carol.did]})
    assert since(alice) == ["logRemoveMember"] and since(bob) == ["logRemoveMember"]
    assert since(carol) == ["logLeaveConvo"]
    alice.ok(G + "editGroup", {"convoId": convo, "name": "Renamed"})
    code = link(alice, convo, approval=True)
    assert since(alice) == ["logEditGroup", "logCreateJoinLink"] and since(bob) == ["logEditGroup", "logCreateJoinLink"]
    dan.ok(G + "requestJoin", {"code": code})
    assert since(dan) == ["logOutgoingJoinRequest"] and since(alice) == ["logIncomingJoinRequest"]
    dan.ok(G + "withdrawJoinRequest", {"convoId": convo})
    assert since(dan) == ["logWithdrawOutgoingJoinRequest"]
    assert since(alice) == ["logWithdrawIncomingJoinRequest"]
    dan.ok(G + "requestJoin", {"code": code})
    alice.ok(G + "rejectJoinRequest", {"convoId": convo, "member": dan.did})
    assert since(dan) == ["logOutgoingJoinRequest"]
    assert since(alice) == ["logIncomingJoinRequest", "logRejectJoinRequest"]
    assert since(bob) == []
    dan.ok(G + "requestJoin", {"code": code})
    alice.ok(G + "updateJoinRequestsRead", {"convoId": convo})
    alice.ok(G + "approveJoinRequest", {"convoId": convo, "member": dan.did})
    assert since(alice) == ["logIncomingJoinRequest", "logReadJoinRequests", "logApproveJoinRequest", "logMemberJoin"]
    assert since(dan) == ["logOutgoingJoinRequest", "logBeginConvo", "logMemberJoin"]
    assert since(bob) == ["logMemberJoin"]
    alice.ok(G + "disableJoinLink", {"convoId": convo})
    alice.ok(G + "editJoinLink", {"convoId": convo, "requireApproval": False})
    alice.ok(G + "enableJoinLink", {"convoId": convo})
    assert since(dan) == ["logDisableJoinLink", "logEditJoinLink", "logEnableJoinLink"]
    erin = api("erin")
    erin.ok(G + "requestJoin", {"code": code})
    assert since(erin) == ["logBeginConvo", "logMemberJoin"]
    assert since(bob) == ["logDisableJoinLink", "logEditJoinLink", "logEnableJoinLink", "logMemberJoin"]
    assert since(dan) == ["logMemberJoin"]
