"""Every chat.bsky.group method through the real HTTP server (strict mode): the success path,
each error docs/behaviour.md lists for it (in its order), the state a refusal leaves untouched,
and the system messages and log events each change leaves behind."""

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
ADEFS = "chat.bsky.actor.defs"
OWNER_ONLY = "Only the group's owner can do this"
NOT_FOUND = "Convo not found"  # exactly: the id is not repeated, for a convo one is not in or none at all
LONG_NAME = "e\u0301" * 51  # 51 graphemes (two code points each), 153 bytes: only maxGraphemes is broken

Json = dict[str, Any]
MakeApi = Callable[..., Api]


# -- helpers ---------------------------------------------------------------------------------


class Refuse:
    """Make a call that must fail, and check that it changed nothing at all."""

    def __init__(self, server: MockChatServer, admin: httpx.Client) -> None:
        self.server = server
        self.admin = admin

    def whole_state(self) -> Json:
        """Everything (revs, log events, ids position, requests read marks) from GET /_mock/state."""
        response = self.admin.get("/_mock/state")
        assert response.status_code == 200, response.text
        data: Json = response.json()
        return data

    def __call__(
        self, who: Api, nsid: str, body: Json | None, error: str, *needles: str, params: Json | None = None
    ) -> str:
        """Call ``nsid`` (a query when ``body`` is None); insist on ``error`` with every needle in its
        message and on an unchanged state; return the message."""
        before, whole = dump(self.server), self.whole_state()
        name, message = who.error(nsid, body, **(params or {}))
        assert name == error, (nsid, body, params, name, message)
        for needle in needles:
            assert needle in message, (nsid, needle, message)
        assert dump(self.server) == before, (nsid, body, params)
        assert self.whole_state() == whole, (nsid, body, params)
        return message


@pytest.fixture
def refuse(server: MockChatServer, admin_http: httpx.Client) -> Refuse:
    return Refuse(server, admin_http)


class Admin:
    """The admin API calls the tests need (PATCH a convo or an actor)."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def convo(self, convo: str, **fields: Any) -> Json:
        response = self.client.patch(f"/_mock/convos/{convo}", json=fields)
        assert response.status_code == 200, response.text
        data: Json = response.json()
        return data

    def actor(self, who: Api, **fields: Any) -> Json:
        response = self.client.patch(f"/_mock/actors/{who.did}", json=fields)
        assert response.status_code == 200, response.text
        data: Json = response.json()
        return data

    def group(self, convo: str) -> Json:
        response = self.client.get(f"/_mock/convos/{convo}")
        assert response.status_code == 200, response.text
        data: Json = response.json()
        return data


@pytest.fixture
def admin(admin_http: httpx.Client) -> Admin:
    return Admin(admin_http)


class Logs:
    """getLog read incrementally: each call gives the event names since that actor last looked."""

    def __init__(self) -> None:
        self.cursors: dict[str, str] = {}

    def events(self, who: Api) -> list[Json]:
        out = who.ok(C + "getLog", cursor=self.cursors.get(who.did, ""))  # "": from the very start
        if "cursor" in out:
            self.cursors[who.did] = out["cursor"]
        events: list[Json] = out["logs"]
        return events

    def __call__(self, who: Api) -> list[str]:
        return [e["$type"].split("#")[1] for e in self.events(who)]


def make_group(owner: Api, *members: Api, name: str = "G") -> str:
    out = owner.ok(G + "createGroup", {"name": name, "members": [m.did for m in members]})
    return str(out["convo"]["id"])


def link(owner: Api, convo: str, rule: str = "anyone", approval: bool = False) -> str:
    out = owner.ok(G + "createJoinLink", {"convoId": convo, "joinRule": rule, "requireApproval": approval})
    return str(out["joinLink"]["code"])


def convo_of(member: Api, convo: str) -> Json:
    out: Json = member.ok(C + "getConvo", convoId=convo)["convo"]
    return out


def kind(member: Api, convo: str) -> Json:
    out: Json = convo_of(member, convo)["kind"]
    return out


def messages(member: Api, convo: str) -> list[Json]:
    """Every message ``member`` can see, oldest first."""
    out: list[Json] = list(reversed(member.ok(C + "getMessages", convoId=convo, limit=100)["messages"]))
    return out


def system_data(member: Api, convo: str) -> list[Json]:
    """The ``data`` of every system message ``member`` can see, oldest first."""
    return [m["data"] for m in messages(member, convo) if m["$type"] == f"{DEFS}#systemMessageView"]


def system_types(member: Api, convo: str) -> list[str]:
    return [d["$type"].split("#systemMessageData")[1] for d in system_data(member, convo)]


def sys_data(kind_name: str, **fields: Any) -> Json:
    """A system message's ``data`` as the server must send it; DIDs become referred users."""
    data: Json = {"$type": f"{DEFS}#systemMessageData{kind_name}"}
    for key, value in fields.items():
        data[key] = {"did": value} if isinstance(value, str) and value.startswith("did:") else value
    return data


def dids(profiles: list[Json]) -> list[str]:
    return [p["did"] for p in profiles]


# -- createGroup -----------------------------------------------------------------------------


def test_create_group_success(server: MockChatServer, api: MakeApi, admin: Admin) -> None:
    alice = api("alice")
    bob = api("bob")
    carol = api("carol", allowGroupInvites="following", follows=["alice"])
    logs = Logs()
    out = alice.ok(G + "createGroup", {"name": "Friends", "members": [bob.did, carol.did, bob.did, alice.did]})
    convo = out["convo"]
    assert convo["status"] == "accepted" and convo["muted"] is False and convo["unreadCount"] == 0
    assert convo["kind"] == {
        "$type": f"{DEFS}#groupConvo",
        "createdAt": convo["kind"]["createdAt"],
        "name": "Friends",
        "memberCount": 3,
        "memberLimit": 50,
        "lockStatus": "unlocked",
        "lockStatusModerationOverride": False,
        # no joinRequestCount / unreadJoinRequestCount: the owner's counts are left out while zero
    }
    assert dids(convo["members"]) == [alice.did, bob.did, carol.did]  # join order; the duplicates count once
    owner, *others = convo["members"]
    assert owner["kind"] == {"$type": f"{ADEFS}#groupConvoMember", "role": "owner"}  # no addedBy for the owner
    for profile in others:
        assert profile["kind"]["role"] == "standard" and profile["kind"]["addedBy"]["did"] == alice.did
    # every other member starts in 'request' status and does not see the owner-only counts;
    # the creation is one shared change: every member's view has the same rev
    bobs = convo_of(bob, convo["id"])
    assert bobs["status"] == "request" and bobs["kind"]["memberCount"] == 3
    assert bobs["rev"] == convo["rev"] == convo_of(carol, convo["id"])["rev"] == convo_of(alice, convo["id"])["rev"]
    assert "joinRequestCount" not in bobs["kind"] and "unreadJoinRequestCount" not in bobs["kind"]
    # no system message: the convo begins with them; each gets logBeginConvo
    assert messages(alice, convo["id"]) == [] and messages(carol, convo["id"]) == []
    assert "lastMessage" not in convo
    for who in (alice, bob, carol):
        assert logs(who) == ["logBeginConvo"]
    members = admin.group(convo["id"])["members"]
    assert [(m["did"], m["role"], m["status"], m["addedBy"]) for m in members] == [
        (alice.did, "owner", "accepted", None),
        (bob.did, "standard", "request", alice.did),
        (carol.did, "standard", "request", alice.did),
    ]
    # not idempotent: the same members make a second group
    again = alice.ok(G + "createGroup", {"name": "Friends", "members": [bob.did, carol.did]})["convo"]
    assert again["id"] != convo["id"] and again["rev"] > convo["rev"]
    assert len(dump(server)["convos"]["convos"]) == 2


def test_create_group_alone_and_with_a_suspended_invitee(api: MakeApi) -> None:
    alice, sleepy = api("alice"), api("sleepy", status="suspended")
    solo = alice.ok(G + "createGroup", {"name": "Solo", "members": []})["convo"]
    assert solo["kind"]["memberCount"] == 1 and dids(solo["members"]) == [alice.did]
    # only deactivated and taken-down accounts are RecipientNotFound; a suspended one is added,
    # and shown with chatDisabled
    out = alice.ok(G + "createGroup", {"name": "With sleepy", "members": [sleepy.did]})["convo"]
    profiles = {p["did"]: p for p in out["members"]}
    assert profiles[sleepy.did]["chatDisabled"] is True and profiles[alice.did]["chatDisabled"] is False


@pytest.mark.parametrize(
    ("spec", "error", "needles"),
    [
        ({"status": "suspended"}, "AccountSuspended", ("caller.test", "suspended")),
        ({"status": "deactivated"}, "AccountSuspended", ("caller.test", "deactivated")),
        ({"status": "takendown"}, "AccountSuspended", ("caller.test", "takendown")),
        # the account status is checked before the new-account flag
        ({"status": "suspended", "newAccount": True}, "AccountSuspended", ("caller.test",)),
        ({"newAccount": True}, "NewAccountCannotCreateGroup", ("New accounts",)),
    ],
)
def test_create_group_caller_checks(
    api: MakeApi, refuse: Refuse, spec: Json, error: str, needles: tuple[str, ...]
) -> None:
    bob = api("bob")
    caller = api("caller", **spec)
    refuse(caller, G + "createGroup", {"name": "x", "members": [bob.did]}, error, *needles)
    # the caller checks come before the member limit and the invitee checks
    crowd = {"name": "x", "members": [f"did:plc:nobody{i}" for i in range(60)]}
    refuse(caller, G + "createGroup", crowd, error, *needles)


@pytest.mark.parametrize(
    ("spec", "caller_blocks", "error", "needle"),
    [
        ({"status": "deactivated"}, False, "RecipientNotFound", "{did}"),
        ({"status": "takendown"}, False, "RecipientNotFound", "{did}"),
        # BlockedActor: the invitee has blocked the caller; BlockedSubject: the caller has blocked the invitee
        ({"blocks": ["alice"]}, False, "BlockedActor", "bob.test has blocked you"),
        ({}, True, "BlockedSubject", "You have blocked bob.test"),
        ({"allowGroupInvites": "none"}, False, "UserForbidsGroups", "bob.test"),
        ({"allowGroupInvites": "following"}, False, "NotFollowedBySender", "bob.test"),
        # following someone else is not following the caller
        ({"allowGroupInvites": "following", "follows": ["carol"]}, False, "NotFollowedBySender", "bob.test"),
        # the five checks run in the listed order: the first that fails answers
        (
            {"status": "deactivated", "blocks": ["alice"], "allowGroupInvites": "none"},
            True,
            "RecipientNotFound",
            "{did}",
        ),
        # blocked both ways: the invitee's block is checked before the caller's
        ({"blocks": ["alice"], "allowGroupInvites": "none"}, True, "BlockedActor", "bob.test has blocked you"),
        ({"blocks": ["alice"], "allowGroupInvites": "none"}, False, "BlockedActor", "bob.test has blocked you"),
        ({"allowGroupInvites": "none"}, True, "BlockedSubject", "You have blocked bob.test"),
        ({"allowGroupInvites": "none", "follows": ["alice"]}, False, "UserForbidsGroups", "bob.test"),
    ],
)
def test_create_group_invitee_checks(
    api: MakeApi, admin: Admin, refuse: Refuse, spec: Json, caller_blocks: bool, error: str, needle: str
) -> None:
    alice, fine = api("alice"), api("fine")
    api("carol")
    bob = api("bob", **spec)
    if caller_blocks:
        admin.actor(alice, blocks=[bob.did])
    # one bad invitee refuses the whole call, the good one before it included
    refuse(alice, G + "createGroup", {"name": "x", "members": [fine.did, bob.did]}, error, needle.format(did=bob.did))


def test_create_group_invitees_checked_in_the_order_given(api: MakeApi, refuse: Refuse) -> None:
    alice = api("alice")
    forbids = api("forbids", allowGroupInvites="none")
    picky = api("picky", allowGroupInvites="following")
    ghost = "did:plc:nobodyhere"
    refuse(alice, G + "createGroup", {"name": "x", "members": [ghost]}, "RecipientNotFound", ghost)
    body = {"name": "x", "members": [forbids.did, ghost, picky.did]}
    refuse(alice, G + "createGroup", body, "UserForbidsGroups", "forbids.test")
    body = {"name": "x", "members": [picky.did, forbids.did, ghost]}
    refuse(alice, G + "createGroup", body, "NotFollowedBySender", "picky.test")
    body = {"name": "x", "members": [ghost, picky.did, forbids.did]}
    refuse(alice, G + "createGroup", body, "RecipientNotFound", ghost)


def test_create_group_invitees_who_allow_it(api: MakeApi) -> None:
    alice = api("alice")
    everyone = api("everyone", allowGroupInvites="all")
    follower = api("follower", allowGroupInvites="following", follows=["alice"])
    # blocking a third party does not matter
    blocker = api("blocker", blocks=["everyone"])
    convo = make_group(alice, everyone, follower, blocker)
    assert kind(follower, convo)["memberCount"] == 4


def test_create_group_member_limit(server: MockChatServer, api: MakeApi, refuse: Refuse) -> None:
    alice = api("alice")
    others = [api(f"user{i}") for i in range(50)]
    ghost = "did:plc:nobodyhere"
    # 50 others and the owner are 51: over the server's limit of 50, before any invitee check
    body = {"name": "Big", "members": [ghost, *[o.did for o in others[:49]]]}
    refuse(alice, G + "createGroup", body, "InvalidRequest", "at most 50 members", "49 besides the owner", "got 50")
    # the owner in the list is ignored and duplicates count once: 49 others and the owner fit exactly
    members = [alice.did, *[o.did for o in others[:49]], others[0].did, others[48].did]
    convo = alice.ok(G + "createGroup", {"name": "Full", "members": members})["convo"]
    assert convo["kind"]["memberCount"] == 50 and convo["kind"]["memberLimit"] == 50
    # the group is full now
    body = {"convoId": convo["id"], "members": [others[49].did]}
    refuse(alice, G + "addMembers", body, "MemberLimitReached", "50 of 50", "0 place(s) left")


def test_server_member_limit_setting_is_stored_per_group(monkeypatch: pytest.MonkeyPatch) -> None:
    with MockChatServer(strict=True, member_limit=3) as small, httpx.Client(base_url=small.url, verify=SSL) as client:

        def actor(handle: str) -> Api:
            response = client.post("/_mock/actors", json={"handle": handle, "password": "pw"})
            assert response.status_code == 201, response.text
            return Api(small, response.json())

        alice, bob, carol, dan = actor("alice"), actor("bob"), actor("carol"), actor("dan")
        name, message = alice.error(G + "createGroup", {"name": "x", "members": [bob.did, carol.did, dan.did]})
        assert name == "InvalidRequest" and "at most 3 members" in message and "2 besides the owner" in message
        convo = alice.ok(G + "createGroup", {"name": "x", "members": [bob.did, carol.did, alice.did]})["convo"]
        assert convo["kind"]["memberLimit"] == 3 and convo["kind"]["memberCount"] == 3
        # the limit is stored in the group when it is made: a later server setting does not change it
        monkeypatch.setattr(small.service.config, "member_limit", 10)
        name, message = alice.error(G + "addMembers", {"convoId": convo["id"], "members": [dan.did]})
        assert name == "MemberLimitReached" and "3 of 3" in message
        bigger = alice.ok(G + "createGroup", {"name": "y", "members": [bob.did, carol.did, dan.did]})["convo"]
        assert bigger["kind"]["memberLimit"] == 10
        # the admin API can raise one group's limit
        assert client.patch(f"/_mock/convos/{convo['id']}", json={"memberLimit": 4}).status_code == 200
        out = alice.ok(G + "addMembers", {"convoId": convo["id"], "members": [dan.did]})
        assert out["convo"]["kind"]["memberLimit"] == 4 and out["convo"]["kind"]["memberCount"] == 4


def test_schema_violations_answer_before_the_rules(api: MakeApi, refuse: Refuse) -> None:
    # a suspended caller would get AccountSuspended: the schema check comes first
    sleepy = api("sleepy", status="suspended")
    refuse(sleepy, G + "createGroup", {"name": LONG_NAME, "members": []}, "InvalidRequest", "name", "maxGraphemes 50")
    refuse(sleepy, G + "createGroup", {"name": "", "members": []}, "InvalidRequest", "name", "minLength 1")
    refuse(
        sleepy, G + "createGroup", {"name": "x", "members": ["not-a-did"]}, "InvalidRequest", "members", "format did"
    )
    refuse(sleepy, G + "createGroup", {"members": []}, "InvalidRequest", "required property name")
    refuse(sleepy, G + "createGroup", {"name": "x"}, "InvalidRequest", "required property members")
    heavy = ("e" + "\u0301" * 10) * 25  # 25 graphemes but 525 bytes: maxLength 500
    refuse(sleepy, G + "createGroup", {"name": heavy, "members": []}, "InvalidRequest", "name", "maxLength 500")
    # an outsider would get InvalidConvo: the schema check comes first
    alice, outsider = api("alice"), api("outsider")
    convo = make_group(alice)
    body = {"convoId": convo, "name": LONG_NAME}
    refuse(outsider, G + "editGroup", body, "InvalidRequest", "name", "maxGraphemes 50")
    refuse(outsider, G + "addMembers", {"convoId": convo, "members": []}, "InvalidRequest", "members", "minLength 1")
    refuse(outsider, G + "removeMembers", {"convoId": convo, "members": []}, "InvalidRequest", "minLength 1")
    refuse(
        outsider,
        G + "approveJoinRequest",
        {"convoId": convo, "member": "bob"},
        "InvalidRequest",
        "member",
        "format did",
    )
    refuse(outsider, G + "createJoinLink", {"convoId": convo}, "InvalidRequest", "required property joinRule")
    refuse(
        outsider,
        G + "listJoinRequests",
        None,
        "InvalidRequest",
        "limit",
        "100",
        params={"convoId": convo, "limit": 101},
    )
    refuse(outsider, G + "listJoinRequests", None, "InvalidRequest", "limit", params={"convoId": convo, "limit": 0})
    refuse(
        outsider, G + "listMutualGroups", None, "InvalidRequest", "subject", "format did", params={"subject": "alice"}
    )
    refuse(api(None), G + "getJoinLinkPreviews", None, "InvalidRequest", "required property codes")
    codes = [f"code{i}" for i in range(51)]
    refuse(api(None), G + "getJoinLinkPreviews", None, "InvalidRequest", "maxLength 50", params={"codes": codes})
    # exactly 50 graphemes is fine, however many code points each one has
    for grapheme in ("e\u0301", "\U0001f1eb\U0001f1f7", "\U0001f44d\U0001f3fd"):
        assert alice.ok(G + "editGroup", {"convoId": convo, "name": grapheme * 50})["convo"]["kind"]["name"] == (
            grapheme * 50
        )
        refuse(alice, G + "editGroup", {"convoId": convo, "name": grapheme * 51}, "InvalidRequest", "maxGraphemes 50")


def test_group_methods_need_a_token(api: MakeApi, refuse: Refuse) -> None:
    alice = api("alice")
    convo = make_group(alice)
    anonymous = api(None)
    refuse(anonymous, G + "createGroup", {"name": "x", "members": []}, "AuthenticationRequired")
    refuse(anonymous, G + "editGroup", {"convoId": convo, "name": "x"}, "AuthenticationRequired")
    refuse(anonymous, G + "requestJoin", {"code": "x"}, "AuthenticationRequired")
    refuse(anonymous, G + "listJoinRequests", None, "AuthenticationRequired", params={"convoId": convo})
    refuse(anonymous, G + "listMutualGroups", None, "AuthenticationRequired", params={"subject": alice.did})


# -- addMembers ------------------------------------------------------------------------------


def test_add_members_success(server: MockChatServer, api: MakeApi) -> None:
    alice, bob, carol, dan = api("alice"), api("bob"), api("carol"), api("dan")
    convo = make_group(alice, bob)
    logs = Logs()
    for who in (alice, bob):
        logs(who)
    bob.ok(C + "sendMessage", {"convoId": convo, "message": {"text": "before carol"}})
    rev = convo_of(alice, convo)["rev"]
    out = alice.ok(G + "addMembers", {"convoId": convo, "members": [carol.did, bob.did, alice.did, dan.did, carol.did]})
    # those already in the group are skipped; the new ones come in the order given, each once
    assert dids(out["addedMembers"]) == [carol.did, dan.did]
    for profile in out["addedMembers"]:
        assert profile["kind"]["$type"] == f"{ADEFS}#groupConvoMember"
        assert profile["kind"]["role"] == "standard" and profile["kind"]["addedBy"]["did"] == alice.did
    assert out["convo"]["kind"]["memberCount"] == 4 and out["convo"]["rev"] > rev
    added = [
        sys_data("AddMember", member=carol.did, role="standard", addedBy=alice.did),
        sys_data("AddMember", member=dan.did, role="standard", addedBy=alice.did),
    ]
    assert system_data(bob, convo) == added
    assert convo_of(bob, convo)["lastMessage"]["data"] == added[1]
    # carol sees from her own announcement on, not bob's earlier message; she is in 'request' status
    assert system_data(carol, convo) == added
    assert [m.get("text") for m in messages(carol, convo)] == [None, None]
    carols = convo_of(carol, convo)
    assert carols["status"] == "request"
    me = next(p for p in carols["members"] if p["did"] == carol.did)
    assert me["kind"]["addedBy"]["did"] == alice.did
    # the added member's related profiles name who added them
    related = {p["did"]: p["kind"] for p in carol.ok(C + "getMessages", convoId=convo)["relatedProfiles"]}
    assert related[alice.did]["role"] == "owner" and related[carol.did]["addedBy"]["did"] == alice.did
    # log: the new member begins the convo, then sees the addition; the others see the additions
    assert logs(alice) == ["logCreateMessage", "logAddMember", "logAddMember"]
    assert logs(bob) == ["logAcceptConvo", "logCreateMessage", "logAddMember", "logAddMember"]
    assert logs(carol) == ["logBeginConvo", "logAddMember", "logAddMember"]
    assert logs(dan) == ["logBeginConvo", "logAddMember"]
    # adding only members already in the group is a harmless no-op
    before = dump(server)
    again = alice.ok(G + "addMembers", {"convoId": convo, "members": [bob.did, carol.did]})
    assert again["addedMembers"] == [] and again["convo"]["rev"] == convo_of(alice, convo)["rev"]
    assert dump(server) == before


def test_add_members_caller_checks_in_order(api: MakeApi, admin: Admin, refuse: Refuse) -> None:
    alice, bob, outsider = api("alice"), api("bob"), api("outsider")
    carol = api("carol", allowGroupInvites="none")
    dan = api("dan")
    convo = make_group(alice, bob)
    body = {"convoId": convo, "members": [dan.did]}
    assert refuse(outsider, G + "addMembers", body, "InvalidConvo") == NOT_FOUND
    assert refuse(alice, G + "addMembers", {**body, "convoId": "nosuchconvo"}, "InvalidConvo") == NOT_FOUND
    refuse(bob, G + "addMembers", body, "InsufficientRole", "owner")
    # the role check comes before the invitee checks
    refuse(bob, G + "addMembers", {"convoId": convo, "members": [carol.did]}, "InsufficientRole", "owner")
    # a lock comes before the invitee checks, and the role check before the lock
    alice.ok(C + "lockConvo", {"convoId": convo})
    refuse(alice, G + "addMembers", {"convoId": convo, "members": [carol.did]}, "ConvoLocked", "locked")
    refuse(bob, G + "addMembers", body, "InsufficientRole", "owner")
    alice.ok(C + "unlockConvo", {"convoId": convo})
    admin.convo(convo, moderationLock=True)
    refuse(alice, G + "addMembers", body, "ConvoLocked", "moderation")
    admin.convo(convo, moderationLock=False)
    # an inactive account is refused right after the schema check, before every rule: even for a convo
    # it is not in, or as a standard member
    admin.actor(outsider, status="suspended")
    refuse(outsider, G + "addMembers", {**body, "convoId": "nosuchconvo"}, "AccountSuspended", "outsider.test")
    admin.actor(bob, status="deactivated")
    refuse(bob, G + "addMembers", body, "AccountSuspended", "bob.test", "deactivated")
    admin.actor(alice, status="suspended")
    refuse(alice, G + "addMembers", body, "AccountSuspended", "alice.test", "suspended")
    assert admin.group(convo)["members"][-1]["did"] == bob.did


@pytest.mark.parametrize(
    ("spec", "caller_blocks", "error", "needle"),
    [
        ({"status": "deactivated"}, False, "RecipientNotFound", "{did}"),
        ({"status": "takendown"}, False, "RecipientNotFound", "{did}"),
        # BlockedActor: the invitee has blocked the caller; BlockedSubject: the caller has blocked the invitee
        ({"blocks": ["alice"]}, False, "BlockedActor", "bob.test has blocked you"),
        ({}, True, "BlockedSubject", "You have blocked bob.test"),
        ({"allowGroupInvites": "none"}, False, "UserForbidsGroups", "bob.test"),
        ({"allowGroupInvites": "following"}, False, "NotFollowedBySender", "bob.test"),
        ({"blocks": ["alice"], "allowGroupInvites": "none"}, True, "BlockedActor", "bob.test has blocked you"),
        ({"allowGroupInvites": "none"}, True, "BlockedSubject", "You have blocked bob.test"),
    ],
)
def test_add_members_invitee_checks(
    api: MakeApi, admin: Admin, refuse: Refuse, spec: Json, caller_blocks: bool, error: str, needle: str
) -> None:
    alice, fine = api("alice"), api("fine")
    bob = api("bob", **spec)
    convo = make_group(alice)
    if caller_blocks:
        admin.actor(alice, blocks=[bob.did])
    body = {"convoId": convo, "members": [fine.did, bob.did]}
    refuse(alice, G + "addMembers", body, error, needle.format(did=bob.did))
    # the invitee checks come before the member limit
    admin.convo(convo, memberLimit=1)
    refuse(alice, G + "addMembers", body, error, needle.format(did=bob.did))


def test_add_members_unknown_account(api: MakeApi, refuse: Refuse) -> None:
    alice, bob = api("alice"), api("bob")
    convo = make_group(alice)
    ghost = "did:plc:nobodyhere"
    refuse(alice, G + "addMembers", {"convoId": convo, "members": [bob.did, ghost]}, "RecipientNotFound", ghost)


def test_add_members_group_limit(api: MakeApi, admin: Admin, refuse: Refuse) -> None:
    alice, bob, carol, dan = api("alice"), api("bob"), api("carol"), api("dan")
    convo = make_group(alice, bob)
    assert admin.convo(convo, memberLimit=3)["memberLimit"] == 3
    assert kind(bob, convo)["memberLimit"] == 3
    # the admin API refuses a limit below the members there are
    response = admin.client.patch(f"/_mock/convos/{convo}", json={"memberLimit": 1})
    assert response.status_code == 400 and "below the group's 2 members" in response.json()["message"]
    body = {"convoId": convo, "members": [carol.did, dan.did]}
    refuse(alice, G + "addMembers", body, "MemberLimitReached", "2 of 3 members", "1 place(s) left")
    # members already in the group are not new ones
    out = alice.ok(G + "addMembers", {"convoId": convo, "members": [bob.did, carol.did]})
    assert dids(out["addedMembers"]) == [carol.did]
    # bob and carol are still in 'request' status: they count all the same
    refuse(alice, G + "addMembers", {"convoId": convo, "members": [dan.did]}, "MemberLimitReached", "3 of 3")
    alice.ok(G + "removeMembers", {"convoId": convo, "members": [bob.did]})
    assert dids(alice.ok(G + "addMembers", {"convoId": convo, "members": [dan.did]})["addedMembers"]) == [dan.did]


def test_add_members_lifts_a_kick_and_drops_a_pending_request(api: MakeApi, admin: Admin) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    convo = make_group(alice, bob)
    code = link(alice, convo, approval=True)
    alice.ok(G + "removeMembers", {"convoId": convo, "members": [bob.did]})
    assert bob.error(G + "requestJoin", {"code": code})[0] == "UserKicked"
    assert carol.ok(G + "requestJoin", {"code": code}) == {"status": "pending"}
    assert kind(alice, convo)["joinRequestCount"] == 1
    out = alice.ok(G + "addMembers", {"convoId": convo, "members": [bob.did, carol.did]})
    assert dids(out["addedMembers"]) == [bob.did, carol.did]
    # the request is gone: the owner's counts are zero, so left out
    assert "joinRequestCount" not in out["convo"]["kind"] and "unreadJoinRequestCount" not in out["convo"]["kind"]
    group = admin.group(convo)
    assert group["kicked"] == [] and group["joinRequests"] == []
    # one membership, in 'request' status, not two paths
    assert convo_of(carol, convo)["status"] == "request"
    assert alice.ok(G + "listJoinRequests", convoId=convo)["requests"] == []
    assert carol.error(G + "withdrawJoinRequest", {"convoId": convo})[0] == "InvalidJoinRequest"
    assert bob.ok(G + "requestJoin", {"code": code})["status"] == "joined"  # a member: no UserKicked


def test_a_group_convo_view_lists_the_important_members(api: MakeApi) -> None:
    people = [api(f"p{i}") for i in range(8)]
    owner, *others = people
    convo = make_group(owner, *others[:6])
    owner.ok(G + "addMembers", {"convoId": convo, "members": [people[7].did]})
    order = [p.did for p in people]
    # the first five in join order, then the viewer; whoever added the viewer is among the five
    assert dids(convo_of(people[7], convo)["members"]) == [*order[:5], order[7]]
    assert dids(convo_of(people[6], convo)["members"]) == [*order[:5], order[6]]
    # the sender of the last message joins them
    people[5].ok(C + "sendMessage", {"convoId": convo, "message": {"text": "hi"}})
    assert dids(convo_of(people[7], convo)["members"]) == [*order[:5], order[7], order[5]]
    assert convo_of(people[7], convo)["kind"]["memberCount"] == 8


# -- removeMembers ---------------------------------------------------------------------------


def test_remove_members_success(server: MockChatServer, api: MakeApi, admin: Admin) -> None:
    alice, bob, carol, outsider = api("alice"), api("bob"), api("carol"), api("outsider")
    convo = make_group(alice, bob, carol)
    bob.ok(C + "sendMessage", {"convoId": convo, "message": {"text": "hello"}})
    logs = Logs()
    for who in (alice, bob, carol):
        logs(who)
    out = alice.ok(G + "removeMembers", {"convoId": convo, "members": [bob.did, outsider.did, bob.did]})
    assert out["convo"]["kind"]["memberCount"] == 2 and bob.did not in dids(out["convo"]["members"])
    removed = sys_data("RemoveMember", member=bob.did, removedBy=alice.did)
    assert system_data(carol, convo) == [removed]
    assert convo_of(carol, convo)["lastMessage"]["data"] == removed
    # the removed member sees the convo no more
    refused_reads: list[tuple[str, Json]] = [
        (C + "getConvo", {"convoId": convo}),
        (C + "getMessages", {"convoId": convo}),
    ]
    for nsid, params in refused_reads:
        assert bob.error(nsid, **params) == ("InvalidConvo", NOT_FOUND)
    assert logs(bob) == ["logLeaveConvo"]
    assert logs(alice) == ["logRemoveMember"] and logs(carol) == ["logRemoveMember"]
    assert admin.group(convo)["kicked"] == [bob.did]
    # bob is a past member now, as the sender of his message and in the removal message
    related = {p["did"]: p["kind"]["$type"] for p in carol.ok(C + "getMessages", convoId=convo)["relatedProfiles"]}
    assert related[bob.did] == f"{ADEFS}#pastGroupConvoMember"
    assert related[alice.did] == f"{ADEFS}#groupConvoMember"
    # removing non-members only is ignored; so is a pending requester, who is not kicked
    code = link(alice, convo, approval=True)
    outsider.ok(G + "requestJoin", {"code": code})
    before = dump(server)
    alice.ok(G + "removeMembers", {"convoId": convo, "members": [bob.did, outsider.did]})
    assert dump(server) == before


def test_remove_members_works_on_a_locked_group(api: MakeApi, admin: Admin) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    convo = make_group(alice, bob, carol)
    alice.ok(C + "lockConvo", {"convoId": convo})
    assert alice.ok(G + "removeMembers", {"convoId": convo, "members": [bob.did]})["convo"]["kind"]["memberCount"] == 2
    admin.convo(convo, moderationLock=True)
    assert (
        alice.ok(G + "removeMembers", {"convoId": convo, "members": [carol.did]})["convo"]["kind"]["memberCount"] == 1
    )
    assert system_types(alice, convo) == ["LockConvo", "RemoveMember", "RemoveMember"]


def test_remove_members_errors(api: MakeApi, refuse: Refuse) -> None:
    alice, bob, carol, outsider = api("alice"), api("bob"), api("carol"), api("outsider")
    convo = make_group(alice, bob, carol)
    body = {"convoId": convo, "members": [carol.did]}
    assert refuse(outsider, G + "removeMembers", body, "InvalidConvo") == NOT_FOUND
    assert refuse(alice, G + "removeMembers", {**body, "convoId": "nosuch"}, "InvalidConvo") == NOT_FOUND
    refuse(bob, G + "removeMembers", body, "InsufficientRole", "owner")
    # bob may not remove himself either: that is leaveConvo
    refuse(bob, G + "removeMembers", {"convoId": convo, "members": [bob.did]}, "InsufficientRole", "owner")
    # the owner in the list refuses the whole call, the members listed before it included
    body = {"convoId": convo, "members": [carol.did, alice.did]}
    refuse(alice, G + "removeMembers", body, "InvalidRequest", "owner cannot be removed")
    assert kind(carol, convo)["memberCount"] == 3


# -- editGroup -------------------------------------------------------------------------------


def test_edit_group_success_and_same_name(server: MockChatServer, api: MakeApi) -> None:
    alice, bob = api("alice"), api("bob")
    convo = make_group(alice, bob, name="Old")
    logs = Logs()
    for who in (alice, bob):
        logs(who)
    out = alice.ok(G + "editGroup", {"convoId": convo, "name": "New"})["convo"]
    assert out["kind"]["name"] == "New" and kind(bob, convo)["name"] == "New"
    edit = sys_data("EditGroup", oldName="Old", newName="New")
    assert system_data(bob, convo) == [edit]
    last = convo_of(bob, convo)["lastMessage"]
    assert last["$type"] == f"{DEFS}#systemMessageView" and last["data"] == edit
    assert logs(alice) == ["logEditGroup"] and logs(bob) == ["logEditGroup"]
    alice.ok(G + "editGroup", {"convoId": convo, "name": "Newer"})
    assert system_data(alice, convo)[-1] == sys_data("EditGroup", oldName="New", newName="Newer")
    # the same name again: no change, no system message, no new rev
    before = dump(server)
    same = alice.ok(G + "editGroup", {"convoId": convo, "name": "Newer"})["convo"]
    assert same["rev"] == convo_of(alice, convo)["rev"] and same["kind"]["name"] == "Newer"
    assert dump(server) == before
    assert logs(bob) == ["logEditGroup"]


def test_edit_group_errors(api: MakeApi, admin: Admin, refuse: Refuse) -> None:
    alice, bob, outsider = api("alice"), api("bob"), api("outsider")
    convo = make_group(alice, bob, name="Old")
    body = {"convoId": convo, "name": "New"}
    assert refuse(outsider, G + "editGroup", body, "InvalidConvo") == NOT_FOUND
    assert refuse(alice, G + "editGroup", {**body, "convoId": "nosuch"}, "InvalidConvo") == NOT_FOUND
    refuse(bob, G + "editGroup", body, "InsufficientRole", "owner")
    alice.ok(C + "lockConvo", {"convoId": convo})
    refuse(bob, G + "editGroup", body, "InsufficientRole", "owner")  # the role comes before the lock
    refuse(alice, G + "editGroup", body, "ConvoLocked", "locked")
    alice.ok(C + "unlockConvo", {"convoId": convo})
    admin.convo(convo, moderationLock=True)
    refuse(alice, G + "editGroup", body, "ConvoLocked", "moderation")
    assert kind(alice, convo)["lockStatus"] == "locked" and kind(alice, convo)["lockStatusModerationOverride"] is True
    assert kind(alice, convo)["name"] == "Old"


# -- join links ------------------------------------------------------------------------------


def test_join_link_lifecycle(server: MockChatServer, api: MakeApi) -> None:
    alice, bob = api("alice"), api("bob")
    convo = make_group(alice, bob)
    logs = Logs()
    for who in (alice, bob):
        logs(who)
    created = alice.ok(G + "createJoinLink", {"convoId": convo, "joinRule": "anyone"})["joinLink"]
    assert created == {
        "code": created["code"],
        "enabledStatus": "enabled",
        "requireApproval": False,  # the lexicon's default
        "joinRule": "anyone",
        "createdAt": created["createdAt"],
    }
    assert created["code"] and kind(bob, convo)["joinLink"] == created
    body = {"convoId": convo, "joinRule": "followedByOwner", "requireApproval": True}
    edited = alice.ok(G + "editJoinLink", body)["joinLink"]
    assert edited == {**created, "joinRule": "followedByOwner", "requireApproval": True}
    # only the fields given change
    edited = alice.ok(G + "editJoinLink", {"convoId": convo, "requireApproval": False})["joinLink"]
    assert edited == {**created, "joinRule": "followedByOwner"}
    disabled = alice.ok(G + "disableJoinLink", {"convoId": convo})["joinLink"]
    assert disabled == {**edited, "enabledStatus": "disabled"}
    # editing a disabled link is allowed, and it stays disabled
    edited = alice.ok(G + "editJoinLink", {"convoId": convo, "joinRule": "anyone"})["joinLink"]
    assert edited == {**created, "enabledStatus": "disabled"}
    assert kind(bob, convo)["joinLink"] == edited  # the current link is shown, disabled or not
    enabled = alice.ok(G + "enableJoinLink", {"convoId": convo})["joinLink"]
    assert enabled == created
    # an edit that changes nothing leaves nothing behind
    before = dump(server)
    assert alice.ok(G + "editJoinLink", {"convoId": convo, "joinRule": "anyone"})["joinLink"] == created
    assert dump(server) == before
    assert system_data(bob, convo) == [
        sys_data(name)
        for name in (
            "CreateJoinLink",
            "EditJoinLink",
            "EditJoinLink",
            "DisableJoinLink",
            "EditJoinLink",
            "EnableJoinLink",
        )
    ]
    expected = ["logCreateJoinLink", "logEditJoinLink", "logEditJoinLink", "logDisableJoinLink"]
    expected += ["logEditJoinLink", "logEnableJoinLink"]
    assert logs(alice) == expected and logs(bob) == expected


def test_join_link_errors(api: MakeApi, refuse: Refuse) -> None:
    alice, bob, outsider = api("alice"), api("bob"), api("outsider")
    convo = make_group(alice, bob)
    calls: list[tuple[str, Json]] = [
        ("createJoinLink", {"convoId": convo, "joinRule": "anyone"}),
        ("editJoinLink", {"convoId": convo, "requireApproval": True}),
        ("enableJoinLink", {"convoId": convo}),
        ("disableJoinLink", {"convoId": convo}),
    ]
    for name, body in calls:
        assert refuse(outsider, G + name, body, "InvalidConvo") == NOT_FOUND
        assert refuse(alice, G + name, {**body, "convoId": "nosuch"}, "InvalidConvo") == NOT_FOUND
        refuse(bob, G + name, body, "InsufficientRole", "owner")
    # no link yet
    for name, body in calls[1:]:
        refuse(alice, G + name, body, "NoJoinLink", "no join link")
    code = link(alice, convo)
    refuse(alice, G + "createJoinLink", calls[0][1], "EnabledJoinLinkAlreadyExists", "enabled join link")
    refuse(bob, G + "createJoinLink", calls[0][1], "InsufficientRole", "owner")  # the role comes first
    refuse(alice, G + "enableJoinLink", {"convoId": convo}, "LinkAlreadyEnabled", "already enabled")
    alice.ok(G + "disableJoinLink", {"convoId": convo})
    refuse(alice, G + "disableJoinLink", {"convoId": convo}, "NoJoinLink", "no enabled join link")
    refuse(bob, G + "disableJoinLink", {"convoId": convo}, "InsufficientRole", "owner")
    assert kind(alice, convo)["joinLink"]["code"] == code


def test_create_join_link_replaces_a_disabled_link(api: MakeApi, refuse: Refuse) -> None:
    alice, bob = api("alice"), api("bob")
    convo = make_group(alice)
    old = link(alice, convo)
    alice.ok(G + "disableJoinLink", {"convoId": convo})
    new = link(alice, convo, approval=True)
    assert new != old and kind(alice, convo)["joinLink"]["code"] == new
    # the old code stays dead even while the new link is disabled and enabled again
    alice.ok(G + "disableJoinLink", {"convoId": convo})
    alice.ok(G + "enableJoinLink", {"convoId": convo})
    refuse(bob, G + "requestJoin", {"code": old}, "LinkDisabled", "disabled")
    previews = bob.ok(G + "getJoinLinkPreviews", codes=[old, new])["joinLinkPreviews"]
    assert previews[0] == {"$type": f"{GDEFS}#disabledJoinLinkPreviewView", "code": old}
    assert previews[1]["$type"] == f"{GDEFS}#joinLinkPreviewView" and previews[1]["code"] == new
    assert system_types(alice, convo) == [
        "CreateJoinLink",
        "DisableJoinLink",
        "CreateJoinLink",
        "DisableJoinLink",
        "EnableJoinLink",
    ]


def test_join_link_changes_are_allowed_on_a_locked_group(api: MakeApi, admin: Admin) -> None:
    alice, bob = api("alice"), api("bob")
    convo = make_group(alice, bob)
    alice.ok(C + "lockConvo", {"convoId": convo})
    link(alice, convo)
    alice.ok(G + "editJoinLink", {"convoId": convo, "requireApproval": True})
    alice.ok(G + "disableJoinLink", {"convoId": convo})
    admin.convo(convo, moderationLock=True)
    alice.ok(G + "enableJoinLink", {"convoId": convo})
    assert system_types(bob, convo) == [
        "LockConvo",
        "CreateJoinLink",
        "EditJoinLink",
        "DisableJoinLink",
        "EnableJoinLink",
    ]


# -- getJoinLinkPreviews ---------------------------------------------------------------------


def test_get_join_link_previews_without_a_token(api: MakeApi) -> None:
    alice, bob = api("alice", displayName="Alice"), api("bob")
    convo = make_group(alice, bob, name="Club")
    code = link(alice, convo, rule="followedByOwner", approval=True)
    other = make_group(alice, name="Other")
    disabled = link(alice, other)
    alice.ok(G + "disableJoinLink", {"convoId": other})
    codes = ["nosuchcode", code, disabled, code]
    previews = api(None).ok(G + "getJoinLinkPreviews", codes=codes)["joinLinkPreviews"]
    assert [p["$type"].split("#")[1] for p in previews] == [
        "invalidJoinLinkPreviewView",
        "joinLinkPreviewView",
        "disabledJoinLinkPreviewView",
        "joinLinkPreviewView",
    ]
    assert [p["code"] for p in previews] == codes  # one per code, in order, duplicates included
    assert previews[0] == {"$type": f"{GDEFS}#invalidJoinLinkPreviewView", "code": "nosuchcode"}
    assert previews[2] == {"$type": f"{GDEFS}#disabledJoinLinkPreviewView", "code": disabled}
    live = previews[1]
    assert live["convoId"] == convo and live["name"] == "Club"
    assert live["owner"]["did"] == alice.did and live["owner"]["displayName"] == "Alice"
    assert live["memberCount"] == 2 and live["memberLimit"] == 50
    assert live["requireApproval"] is True and live["joinRule"] == "followedByOwner"
    assert "viewer" not in live and "convo" not in live  # anonymous
    assert previews[3] == live
    # the preview follows the group
    alice.ok(G + "editGroup", {"convoId": convo, "name": "Club 2"})
    alice.ok(G + "editJoinLink", {"convoId": convo, "joinRule": "anyone", "requireApproval": False})
    api("carol").ok(G + "requestJoin", {"code": code})
    live = api(None).ok(G + "getJoinLinkPreviews", codes=[code])["joinLinkPreviews"][0]
    assert (live["name"], live["memberCount"], live["joinRule"], live["requireApproval"]) == (
        "Club 2",
        3,
        "anyone",
        False,
    )


def test_get_join_link_previews_with_a_token(server: MockChatServer, api: MakeApi) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    convo = make_group(alice, bob)
    code = link(alice, convo, approval=True)
    stranger = carol.ok(G + "getJoinLinkPreviews", codes=[code])["joinLinkPreviews"][0]
    assert stranger["viewer"] == {} and "convo" not in stranger
    carol.ok(G + "requestJoin", {"code": code})
    requested = carol.ok(G + "getJoinLinkPreviews", codes=[code])["joinLinkPreviews"][0]
    assert set(requested["viewer"]) == {"requestedAt"} and "convo" not in requested
    request = alice.ok(G + "listJoinRequests", convoId=convo)["requests"][0]
    assert requested["viewer"]["requestedAt"] == request["requestedAt"]
    for member in (alice, bob):
        mine = member.ok(G + "getJoinLinkPreviews", codes=[code])["joinLinkPreviews"][0]
        assert mine["convo"]["id"] == convo and mine["convo"]["kind"]["name"] == "G" and mine["viewer"] == {}
    # the owner's convo carries the owner-only counts, a member's does not
    assert (
        alice.ok(G + "getJoinLinkPreviews", codes=[code])["joinLinkPreviews"][0]["convo"]["kind"]["joinRequestCount"]
        == 1
    )
    assert (
        "joinRequestCount"
        not in bob.ok(G + "getJoinLinkPreviews", codes=[code])["joinLinkPreviews"][0]["convo"]["kind"]
    )
    # a bad token is refused, not taken as anonymous
    response = httpx.get(
        f"{server.url}/xrpc/{G}getJoinLinkPreviews", params={"codes": code}, headers={"Authorization": "Bearer nope"}
    )
    assert response.status_code == 401 and response.json()["error"] == "InvalidToken"


# -- requestJoin -----------------------------------------------------------------------------


def test_request_join_without_approval(server: MockChatServer, api: MakeApi) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    convo = make_group(alice, bob)
    bob.ok(C + "sendMessage", {"convoId": convo, "message": {"text": "before carol"}})
    code = link(alice, convo)
    logs = Logs()
    for who in (alice, bob, carol):
        logs(who)
    out = carol.ok(G + "requestJoin", {"code": code})
    assert out["status"] == "joined" and out["convo"]["id"] == convo
    assert out["convo"]["status"] == "accepted" and out["convo"]["kind"]["memberCount"] == 3
    assert "joinRequestCount" not in out["convo"]["kind"]
    join = sys_data("MemberJoin", member=carol.did, role="standard")  # no approvedBy
    assert system_data(bob, convo)[-1] == join
    assert messages(carol, convo) == [messages(bob, convo)[-1]]  # carol sees from her join on
    assert convo_of(alice, convo)["lastMessage"]["data"] == join
    # joined by link: a standard member nobody added
    members = alice.ok(C + "getConvoMembers", convoId=convo)["members"]
    assert members[-1]["did"] == carol.did
    assert members[-1]["kind"] == {"$type": f"{ADEFS}#groupConvoMember", "role": "standard"}
    assert logs(carol) == ["logBeginConvo", "logMemberJoin"]
    assert logs(alice) == ["logMemberJoin"] and logs(bob) == ["logMemberJoin"]
    # asking again, or asking as a member, answers `joined` with the convo and changes nothing
    before = dump(server)
    again = carol.ok(G + "requestJoin", {"code": code})
    assert again["status"] == "joined" and again["convo"]["id"] == convo
    for member in (bob, alice):
        answer = member.ok(G + "requestJoin", {"code": code})
        assert answer["status"] == "joined" and answer["convo"]["id"] == convo
    assert dump(server) == before


def test_request_join_with_approval(server: MockChatServer, api: MakeApi) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    convo = make_group(alice, bob)
    code = link(alice, convo, approval=True)
    logs = Logs()
    for who in (alice, bob):
        logs(who)
    assert carol.ok(G + "requestJoin", {"code": code}) == {"status": "pending"}  # no convo while pending
    refused = carol.error(C + "getConvo", convoId=convo)
    assert refused[0] == "InvalidConvo"
    assert logs(carol) == ["logOutgoingJoinRequest"]
    assert logs(alice) == ["logIncomingJoinRequest"] and logs(bob) == []
    assert system_types(alice, convo) == ["CreateJoinLink"]  # no system message for a request
    owner = kind(alice, convo)
    assert (owner["joinRequestCount"], owner["unreadJoinRequestCount"], owner["memberCount"]) == (1, 1, 2)
    # the requester sees the request among its convo requests
    requests = carol.ok(C + "listConvoRequests")["requests"]
    assert [(r["$type"], r["convoId"]) for r in requests] == [(f"{GDEFS}#joinRequestConvoView", convo)]
    # asking again is the same one request
    before = dump(server)
    assert before["convos"]["convos"][0]["joinRequests"] == [carol.did]
    assert carol.ok(G + "requestJoin", {"code": code}) == {"status": "pending"}
    assert dump(server) == before


def test_request_join_errors_in_order(api: MakeApi, admin: Admin, refuse: Refuse) -> None:
    alice, bob, carol, dan = api("alice"), api("bob"), api("carol"), api("dan")
    convo = make_group(alice, bob)
    refuse(carol, G + "requestJoin", {"code": "nosuchcode"}, "InvalidCode", "nosuchcode")
    code = link(alice, convo)
    alice.ok(G + "disableJoinLink", {"convoId": convo})
    refuse(carol, G + "requestJoin", {"code": code}, "LinkDisabled", "disabled")
    refuse(bob, G + "requestJoin", {"code": code}, "LinkDisabled", "disabled")  # the link comes before membership
    alice.ok(G + "enableJoinLink", {"convoId": convo})
    alice.ok(C + "lockConvo", {"convoId": convo})
    refuse(carol, G + "requestJoin", {"code": code}, "ConvoLocked", "locked")
    assert bob.ok(G + "requestJoin", {"code": code})["status"] == "joined"  # a member is answered before the lock
    alice.ok(C + "unlockConvo", {"convoId": convo})
    admin.convo(convo, moderationLock=True)
    refuse(carol, G + "requestJoin", {"code": code}, "ConvoLocked", "moderation")
    admin.convo(convo, moderationLock=False)
    alice.ok(G + "removeMembers", {"convoId": convo, "members": [bob.did]})
    refuse(bob, G + "requestJoin", {"code": code}, "UserKicked", "removed")
    alice.ok(C + "lockConvo", {"convoId": convo})
    refuse(bob, G + "requestJoin", {"code": code}, "ConvoLocked", "locked")  # the lock comes before the kick
    alice.ok(C + "unlockConvo", {"convoId": convo})
    # leaving on one's own is not a kick
    assert carol.ok(G + "requestJoin", {"code": code})["status"] == "joined"
    carol.ok(C + "leaveConvo", {"convoId": convo})
    assert carol.ok(G + "requestJoin", {"code": code})["status"] == "joined"
    alice.ok(G + "editJoinLink", {"convoId": convo, "joinRule": "followedByOwner"})
    refuse(dan, G + "requestJoin", {"code": code}, "FollowRequired", "follow")
    refuse(bob, G + "requestJoin", {"code": code}, "UserKicked", "removed")  # the kick comes before the rule
    # following the owner is not enough: the owner must follow the requester
    admin.actor(dan, follows=[alice.did])
    refuse(dan, G + "requestJoin", {"code": code}, "FollowRequired", "follow")
    admin.actor(alice, follows=[dan.did])
    assert dan.ok(G + "requestJoin", {"code": code})["status"] == "joined"


@pytest.mark.parametrize("approval", [False, True])
def test_request_join_full_group(api: MakeApi, admin: Admin, refuse: Refuse, approval: bool) -> None:
    alice, bob, carol, dan = api("alice"), api("bob"), api("carol"), api("dan")
    convo = make_group(alice, bob)  # bob is still in 'request' status: he counts
    code = link(alice, convo, approval=approval)
    admin.convo(convo, memberLimit=2)
    refuse(carol, G + "requestJoin", {"code": code}, "MemberLimitReached", "2 of 2", "0 place(s) left")
    # the follow rule comes before the limit
    alice.ok(G + "editJoinLink", {"convoId": convo, "joinRule": "followedByOwner"})
    refuse(carol, G + "requestJoin", {"code": code}, "FollowRequired", "follow")
    admin.actor(alice, follows=[carol.did, dan.did])
    refuse(carol, G + "requestJoin", {"code": code}, "MemberLimitReached", "2 of 2")
    # one place: the first joins (or asks); pending requests do not count toward the limit
    admin.convo(convo, memberLimit=3)
    assert carol.ok(G + "requestJoin", {"code": code})["status"] == ("pending" if approval else "joined")
    if approval:
        assert dan.ok(G + "requestJoin", {"code": code}) == {"status": "pending"}
    else:
        refuse(dan, G + "requestJoin", {"code": code}, "MemberLimitReached", "3 of 3")


def test_request_join_does_not_check_blocks_or_invite_settings(api: MakeApi, admin: Admin) -> None:
    alice = api("alice")
    convo = make_group(alice)
    code = link(alice, convo)
    blocks_owner = api("blocker", blocks=["alice"], allowGroupInvites="none")
    blocked = api("blocked")
    admin.actor(alice, blocks=[blocked.did])
    assert blocks_owner.ok(G + "requestJoin", {"code": code})["status"] == "joined"
    assert blocked.ok(G + "requestJoin", {"code": code})["status"] == "joined"
    assert kind(alice, convo)["memberCount"] == 3


def test_a_lifted_kick_stays_lifted_after_leaving(api: MakeApi, refuse: Refuse) -> None:
    alice, bob = api("alice"), api("bob")
    convo = make_group(alice, bob)
    code = link(alice, convo)
    alice.ok(G + "removeMembers", {"convoId": convo, "members": [bob.did]})
    refuse(bob, G + "requestJoin", {"code": code}, "UserKicked", "removed")
    refuse(bob, G + "requestJoin", {"code": ""}, "InvalidCode", "''")  # the code is checked first
    alice.ok(G + "addMembers", {"convoId": convo, "members": [bob.did]})
    bob.ok(C + "leaveConvo", {"convoId": convo})
    out = bob.ok(G + "requestJoin", {"code": code})
    assert out["status"] == "joined" and out["convo"]["kind"]["memberCount"] == 2


# -- withdrawJoinRequest ---------------------------------------------------------------------


def test_withdraw_join_request(api: MakeApi, refuse: Refuse) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    convo = make_group(alice, carol)
    code = link(alice, convo, approval=True)
    bob.ok(G + "requestJoin", {"code": code})
    logs = Logs()
    for who in (alice, bob, carol):
        logs(who)
    assert bob.ok(G + "withdrawJoinRequest", {"convoId": convo}) == {}
    assert logs(bob) == ["logWithdrawOutgoingJoinRequest"]
    assert logs(alice) == ["logWithdrawIncomingJoinRequest"] and logs(carol) == []
    assert alice.ok(G + "listJoinRequests", convoId=convo)["requests"] == []
    owner = kind(alice, convo)
    assert (owner.get("joinRequestCount"), owner.get("unreadJoinRequestCount")) == (None, None)  # zero: left out
    assert system_types(alice, convo) == ["CreateJoinLink"]
    assert bob.ok(C + "listConvoRequests")["requests"] == []
    refuse(bob, G + "withdrawJoinRequest", {"convoId": convo}, "InvalidJoinRequest", convo)
    refuse(bob, G + "withdrawJoinRequest", {"convoId": "nosuch"}, "InvalidJoinRequest", "nosuch")
    # members, the owner included, have nothing to withdraw
    refuse(carol, G + "withdrawJoinRequest", {"convoId": convo}, "InvalidJoinRequest", convo)
    refuse(alice, G + "withdrawJoinRequest", {"convoId": convo}, "InvalidJoinRequest", convo)
    # a withdrawn request may be made again
    assert bob.ok(G + "requestJoin", {"code": code}) == {"status": "pending"}
    assert kind(alice, convo)["joinRequestCount"] == 1


def test_join_requests_can_be_withdrawn_and_read_on_a_locked_group(api: MakeApi, admin: Admin) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    convo = make_group(alice)
    code = link(alice, convo, approval=True)
    bob.ok(G + "requestJoin", {"code": code})
    carol.ok(G + "requestJoin", {"code": code})
    alice.ok(C + "lockConvo", {"convoId": convo})
    assert bob.ok(G + "requestJoin", {"code": code}) == {"status": "pending"}  # still pending, not ConvoLocked
    assert bob.ok(G + "withdrawJoinRequest", {"convoId": convo}) == {}
    alice.ok(C + "unlockConvo", {"convoId": convo})
    admin.convo(convo, moderationLock=True)
    assert carol.ok(G + "withdrawJoinRequest", {"convoId": convo}) == {}
    assert alice.ok(G + "updateJoinRequestsRead", {"convoId": convo}) == {}
    assert alice.ok(G + "listJoinRequests", convoId=convo) == {"requests": []}


# -- listJoinRequests ------------------------------------------------------------------------


def test_list_join_requests_paging(api: MakeApi, refuse: Refuse) -> None:
    alice, bob = api("alice"), api("bob")
    convo = make_group(alice, bob)
    code = link(alice, convo, approval=True)
    assert alice.ok(G + "listJoinRequests", convoId=convo) == {"requests": []}
    askers = [api(f"asker{i}") for i in range(5)]
    for asker in askers:
        assert asker.ok(G + "requestJoin", {"code": code}) == {"status": "pending"}
    everything = alice.ok(G + "listJoinRequests", convoId=convo)
    assert "cursor" not in everything
    assert dids([r["requestedBy"] for r in everything["requests"]]) == [a.did for a in askers]  # oldest first
    first = everything["requests"][0]
    assert first["convoId"] == convo and first["requestedBy"]["handle"] == "asker0.test" and first["requestedAt"]
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: Json = {"convoId": convo, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = alice.ok(G + "listJoinRequests", **params)
        pages += 1
        assert len(page["requests"]) <= 2
        seen += dids([r["requestedBy"] for r in page["requests"]])
        cursor = page.get("cursor")
        if cursor is None:
            break
    assert pages == 3 and seen == [a.did for a in askers]
    # a cursor holds its place: a request withdrawn or made after the page was handed out does not shift it
    page = alice.ok(G + "listJoinRequests", convoId=convo, limit=2)
    askers[0].ok(G + "withdrawJoinRequest", {"convoId": convo})
    late = api("late")
    late.ok(G + "requestJoin", {"code": code})
    rest = alice.ok(G + "listJoinRequests", convoId=convo, limit=100, cursor=page["cursor"])
    assert dids([r["requestedBy"] for r in rest["requests"]]) == [a.did for a in askers[2:]] + [late.did]
    # a request made again goes to the end
    askers[0].ok(G + "requestJoin", {"code": code})
    ordered = dids([r["requestedBy"] for r in alice.ok(G + "listJoinRequests", convoId=convo)["requests"]])
    assert ordered == [a.did for a in askers[1:]] + [late.did, askers[0].did]
    params = {"convoId": convo, "cursor": "garbage!"}
    refuse(alice, G + "listJoinRequests", None, "InvalidRequest", "cursor", params=params)
    refuse(bob, G + "listJoinRequests", None, "InsufficientRole", "owner", params={"convoId": convo})
    assert refuse(askers[1], G + "listJoinRequests", None, "InvalidConvo", params={"convoId": convo}) == NOT_FOUND
    assert refuse(alice, G + "listJoinRequests", None, "InvalidConvo", params={"convoId": "nosuch"}) == NOT_FOUND


# -- approveJoinRequest / rejectJoinRequest --------------------------------------------------


def test_approve_join_request(api: MakeApi) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    convo = make_group(alice, bob)
    bob.ok(C + "sendMessage", {"convoId": convo, "message": {"text": "before carol"}})
    code = link(alice, convo, approval=True)
    carol.ok(G + "requestJoin", {"code": code})
    logs = Logs()
    for who in (alice, bob, carol):
        logs(who)
    out = alice.ok(G + "approveJoinRequest", {"convoId": convo, "member": carol.did})["convo"]
    assert out["kind"]["memberCount"] == 3
    assert (out["kind"].get("joinRequestCount"), out["kind"].get("unreadJoinRequestCount")) == (None, None)  # zero
    join = sys_data("MemberJoin", member=carol.did, role="standard", approvedBy=alice.did)
    assert system_data(bob, convo)[-1] == join
    assert system_data(carol, convo) == [join] and len(messages(carol, convo)) == 1  # from her join on
    related = {p["did"] for p in carol.ok(C + "getMessages", convoId=convo)["relatedProfiles"]}
    assert related == {carol.did, alice.did}
    assert logs(alice) == ["logApproveJoinRequest", "logMemberJoin"]
    assert logs(carol) == ["logBeginConvo", "logMemberJoin"]
    assert logs(bob) == ["logMemberJoin"]
    carols = convo_of(carol, convo)
    assert carols["status"] == "accepted"
    me = next(p for p in carols["members"] if p["did"] == carol.did)
    assert me["kind"] == {"$type": f"{ADEFS}#groupConvoMember", "role": "standard"}  # approved, not added
    assert carol.ok(G + "requestJoin", {"code": code})["status"] == "joined"
    assert carol.ok(C + "listConvoRequests")["requests"] == []


def test_approve_join_request_errors_in_order(api: MakeApi, admin: Admin, refuse: Refuse) -> None:
    alice, bob, carol, outsider = api("alice"), api("bob"), api("carol"), api("outsider")
    convo = make_group(alice, bob)
    code = link(alice, convo, approval=True)
    carol.ok(G + "requestJoin", {"code": code})
    body = {"convoId": convo, "member": carol.did}
    assert refuse(outsider, G + "approveJoinRequest", body, "InvalidConvo") == NOT_FOUND
    assert refuse(carol, G + "approveJoinRequest", body, "InvalidConvo") == NOT_FOUND  # a requester is no member
    assert refuse(alice, G + "approveJoinRequest", {**body, "convoId": "nosuch"}, "InvalidConvo") == NOT_FOUND
    refuse(bob, G + "approveJoinRequest", body, "InsufficientRole", "owner")
    refuse(alice, G + "approveJoinRequest", {**body, "member": outsider.did}, "InvalidRequest", outsider.did)
    refuse(alice, G + "approveJoinRequest", {**body, "member": bob.did}, "InvalidRequest", bob.did)  # a member
    alice.ok(C + "lockConvo", {"convoId": convo})
    refuse(bob, G + "approveJoinRequest", body, "InsufficientRole", "owner")
    # no pending request is checked before the lock
    refuse(alice, G + "approveJoinRequest", {**body, "member": outsider.did}, "InvalidRequest", outsider.did)
    refuse(alice, G + "approveJoinRequest", body, "ConvoLocked", "locked")
    alice.ok(C + "unlockConvo", {"convoId": convo})
    admin.convo(convo, memberLimit=2)
    refuse(alice, G + "approveJoinRequest", body, "MemberLimitReached", "2 of 2", "0 place(s) left")
    admin.convo(convo, moderationLock=True)
    refuse(alice, G + "approveJoinRequest", body, "ConvoLocked", "moderation")  # the lock comes before the limit
    admin.convo(convo, moderationLock=False, memberLimit=3)
    assert alice.ok(G + "approveJoinRequest", body)["convo"]["kind"]["memberCount"] == 3


def test_reject_join_request(api: MakeApi, refuse: Refuse) -> None:
    alice, bob, carol, outsider = api("alice"), api("bob"), api("carol"), api("outsider")
    convo = make_group(alice, bob)
    code = link(alice, convo, approval=True)
    carol.ok(G + "requestJoin", {"code": code})
    body = {"convoId": convo, "member": carol.did}
    assert refuse(outsider, G + "rejectJoinRequest", body, "InvalidConvo") == NOT_FOUND
    assert refuse(alice, G + "rejectJoinRequest", {**body, "convoId": "nosuch"}, "InvalidConvo") == NOT_FOUND
    refuse(bob, G + "rejectJoinRequest", body, "InsufficientRole", "owner")
    refuse(alice, G + "rejectJoinRequest", {**body, "member": outsider.did}, "InvalidRequest", outsider.did)
    logs = Logs()
    for who in (alice, bob, carol):
        logs(who)
    before = system_data(alice, convo)
    assert alice.ok(G + "rejectJoinRequest", body) == {}
    assert logs(alice) == ["logRejectJoinRequest"]
    assert logs(carol) == [] and logs(bob) == []  # the requester is not told
    assert system_data(alice, convo) == before
    assert alice.ok(G + "listJoinRequests", convoId=convo)["requests"] == []
    assert "joinRequestCount" not in kind(alice, convo)  # zero: left out
    assert carol.error(C + "getConvo", convoId=convo)[0] == "InvalidConvo"
    refuse(alice, G + "rejectJoinRequest", body, "InvalidRequest", carol.did)
    refuse(carol, G + "withdrawJoinRequest", {"convoId": convo}, "InvalidJoinRequest", convo)
    # a rejected requester may ask again; rejecting works on a locked group
    assert carol.ok(G + "requestJoin", {"code": code}) == {"status": "pending"}
    alice.ok(C + "lockConvo", {"convoId": convo})
    assert alice.ok(G + "rejectJoinRequest", body) == {}


def test_a_disabled_link_keeps_its_pending_requests(api: MakeApi, refuse: Refuse) -> None:
    alice, bob, carol, dan = api("alice"), api("bob"), api("carol"), api("dan")
    convo = make_group(alice)
    code = link(alice, convo, approval=True)
    for who in (bob, carol, dan):
        who.ok(G + "requestJoin", {"code": code})
    alice.ok(G + "disableJoinLink", {"convoId": convo})
    assert len(alice.ok(G + "listJoinRequests", convoId=convo)["requests"]) == 3
    # the link is disabled: asking again is refused, even for a pending requester
    refuse(dan, G + "requestJoin", {"code": code}, "LinkDisabled", "disabled")
    alice.ok(G + "approveJoinRequest", {"convoId": convo, "member": bob.did})
    alice.ok(G + "rejectJoinRequest", {"convoId": convo, "member": carol.did})
    # a replaced link keeps them too
    link(alice, convo)
    assert dids([r["requestedBy"] for r in alice.ok(G + "listJoinRequests", convoId=convo)["requests"]]) == [dan.did]
    alice.ok(G + "approveJoinRequest", {"convoId": convo, "member": dan.did})
    assert kind(bob, convo)["memberCount"] == 3


# -- updateJoinRequestsRead ------------------------------------------------------------------


def test_update_join_requests_read_and_the_counts(api: MakeApi, refuse: Refuse) -> None:
    alice, bob = api("alice"), api("bob")
    convo = make_group(alice, bob)
    code = link(alice, convo, approval=True)
    askers = [api(f"asker{i}") for i in range(22)]
    for asker in askers:
        asker.ok(G + "requestJoin", {"code": code})
    owner = kind(alice, convo)
    assert (owner["joinRequestCount"], owner["unreadJoinRequestCount"]) == (21, 22)  # the total is capped at 21
    assert "joinRequestCount" not in kind(bob, convo) and "unreadJoinRequestCount" not in kind(bob, convo)
    assert alice.ok(C + "getUnreadCounts")["unreadAcceptedConvos"] == 1  # unread requests count for the owner
    assert [c["id"] for c in alice.ok(C + "listConvos", readState="unread")["convos"]] == [convo]
    refuse(bob, G + "updateJoinRequestsRead", {"convoId": convo}, "InsufficientRole", "owner")
    assert refuse(askers[0], G + "updateJoinRequestsRead", {"convoId": convo}, "InvalidConvo") == NOT_FOUND
    assert refuse(alice, G + "updateJoinRequestsRead", {"convoId": "nosuch"}, "InvalidConvo") == NOT_FOUND
    logs = Logs()
    for who in (alice, bob):
        logs(who)
    bobs_rev = convo_of(bob, convo)["rev"]
    assert alice.ok(G + "updateJoinRequestsRead", {"convoId": convo}) == {}
    owner = kind(alice, convo)
    assert owner["joinRequestCount"] == 21 and "unreadJoinRequestCount" not in owner  # zero: left out
    assert alice.ok(C + "getUnreadCounts")["unreadAcceptedConvos"] == 0
    assert alice.ok(C + "listConvos", readState="unread")["convos"] == []
    events = logs.events(alice)
    assert [e["$type"].split("#")[1] for e in events] == ["logReadJoinRequests"] and logs(bob) == []
    # a private change: it moves the owner's view of the convo only
    assert convo_of(alice, convo)["rev"] == events[0]["rev"] and convo_of(bob, convo)["rev"] == bobs_rev
    assert system_types(bob, convo) == ["CreateJoinLink"]  # no system message
    # fewer than 21: the exact number
    for asker in askers[:2]:
        asker.ok(G + "withdrawJoinRequest", {"convoId": convo})
    assert kind(alice, convo)["joinRequestCount"] == 20
    # a new request is unread again; one made again after reading too
    askers[0].ok(G + "requestJoin", {"code": code})
    api("newcomer").ok(G + "requestJoin", {"code": code})
    owner = kind(alice, convo)
    assert (owner["joinRequestCount"], owner["unreadJoinRequestCount"]) == (21, 2)
    # it works on a locked group too
    alice.ok(C + "lockConvo", {"convoId": convo})
    alice.ok(G + "updateJoinRequestsRead", {"convoId": convo})
    owner = kind(alice, convo)
    assert owner["joinRequestCount"] == 21 and "unreadJoinRequestCount" not in owner


# -- listMutualGroups ------------------------------------------------------------------------


def test_list_mutual_groups(api: MakeApi, refuse: Refuse) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    first = make_group(alice, bob, name="first")
    second = make_group(carol, alice, bob, name="second")
    make_group(alice, carol, name="no bob")
    make_group(bob, name="no alice")
    third = make_group(bob, alice, name="third")
    listed = alice.ok(G + "listMutualGroups", subject=bob.did)
    assert [c["id"] for c in listed["convos"]] == [third, second, first] and "cursor" not in listed
    assert [c["kind"]["name"] for c in listed["convos"]] == ["third", "second", "first"]
    assert listed["convos"][0]["status"] == "request"  # the caller's own view: bob added alice
    # both ways round; activity moves a group to the front
    alice.ok(C + "sendMessage", {"convoId": first, "message": {"text": "hi"}})
    assert [c["id"] for c in bob.ok(G + "listMutualGroups", subject=alice.did)["convos"]] == [first, third, second]
    page = alice.ok(G + "listMutualGroups", subject=bob.did, limit=2)
    assert [c["id"] for c in page["convos"]] == [first, third]
    # a group that changes after the page was handed out is not repeated on the next page
    bob.ok(C + "sendMessage", {"convoId": third, "message": {"text": "again"}})
    rest = alice.ok(G + "listMutualGroups", subject=bob.did, limit=2, cursor=page["cursor"])
    assert [c["id"] for c in rest["convos"]] == [second] and "cursor" not in rest
    # a removed member shares the group no more; a pending requester does not share it yet
    carol.ok(G + "removeMembers", {"convoId": second, "members": [bob.did]})
    assert [c["id"] for c in alice.ok(G + "listMutualGroups", subject=bob.did)["convos"]] == [third, first]
    fourth = make_group(alice, name="fourth")
    bob.ok(G + "requestJoin", {"code": link(alice, fourth, approval=True)})
    assert [c["id"] for c in alice.ok(G + "listMutualGroups", subject=bob.did)["convos"]] == [third, first]
    assert alice.ok(G + "listMutualGroups", subject="did:plc:nobodyhere") == {"convos": []}
    params = {"subject": bob.did, "cursor": "garbage!"}
    refuse(alice, G + "listMutualGroups", None, "InvalidRequest", "cursor", params=params)


# -- what the log events carry ----------------------------------------------------------------


def test_log_events_name_the_member_and_the_message(api: MakeApi) -> None:
    alice, bob, carol, dan = api("alice"), api("bob"), api("carol"), api("dan")
    convo = make_group(alice)
    code = link(alice, convo, approval=True)
    logs = Logs()
    logs(alice)
    bob.ok(G + "requestJoin", {"code": code})
    carol.ok(G + "requestJoin", {"code": code})
    bob.ok(G + "withdrawJoinRequest", {"convoId": convo})
    alice.ok(G + "rejectJoinRequest", {"convoId": convo, "member": carol.did})
    carol.ok(G + "requestJoin", {"code": code})
    alice.ok(G + "updateJoinRequestsRead", {"convoId": convo})
    alice.ok(G + "approveJoinRequest", {"convoId": convo, "member": carol.did})
    alice.ok(G + "addMembers", {"convoId": convo, "members": [dan.did]})
    alice.ok(G + "removeMembers", {"convoId": convo, "members": [dan.did]})
    alice.ok(G + "editGroup", {"convoId": convo, "name": "Renamed"})
    events = logs.events(alice)
    assert [(e["$type"].split("#")[1], e.get("member", {}).get("did")) for e in events] == [
        ("logIncomingJoinRequest", bob.did),
        ("logIncomingJoinRequest", carol.did),
        ("logWithdrawIncomingJoinRequest", bob.did),
        ("logRejectJoinRequest", carol.did),
        ("logIncomingJoinRequest", carol.did),
        ("logReadJoinRequests", None),
        ("logApproveJoinRequest", carol.did),
        ("logMemberJoin", None),
        ("logAddMember", None),
        ("logRemoveMember", None),
        ("logEditGroup", None),
    ]
    assert all(e["convoId"] == convo for e in events)
    revs = [e["rev"] for e in events]
    assert revs == sorted(revs) and len(set(revs)) == len(revs)  # every change gets a new, later rev
    assert convo_of(alice, convo)["rev"] == revs[-1]
    join, add, remove, edit = events[-4:]
    assert join["message"]["data"] == sys_data("MemberJoin", member=carol.did, role="standard", approvedBy=alice.did)
    assert sorted(dids(join["relatedProfiles"])) == sorted([carol.did, alice.did])
    assert add["message"]["data"] == sys_data("AddMember", member=dan.did, role="standard", addedBy=alice.did)
    assert sorted(dids(add["relatedProfiles"])) == sorted([dan.did, alice.did])
    assert remove["message"]["data"] == sys_data("RemoveMember", member=dan.did, removedBy=alice.did)
    related = {p["did"]: p["kind"]["$type"].split("#")[1] for p in remove["relatedProfiles"]}
    assert related == {dan.did: "pastGroupConvoMember", alice.did: "groupConvoMember"}
    assert edit["message"]["data"] == sys_data("EditGroup", oldName="G", newName="Renamed")
    # the message in a log event is the message getMessages shows, with the event's rev
    shown = [m for m in messages(alice, convo) if m["$type"] == f"{DEFS}#systemMessageView"][-4:]
    for event, message in zip([join, add, remove, edit], shown, strict=True):
        assert event["message"]["id"] == message["id"] and event["rev"] == message["rev"]


# -- roles and membership across every owner-only method -------------------------------------


def owner_only_calls(convo: str, someone: str, other: str) -> list[tuple[str, Json]]:
    return [
        (G + "addMembers", {"convoId": convo, "members": [someone]}),
        (G + "removeMembers", {"convoId": convo, "members": [other]}),
        (G + "editGroup", {"convoId": convo, "name": "Mine"}),
        (G + "createJoinLink", {"convoId": convo, "joinRule": "anyone"}),
        (G + "editJoinLink", {"convoId": convo, "requireApproval": True}),
        (G + "enableJoinLink", {"convoId": convo}),
        (G + "disableJoinLink", {"convoId": convo}),
        (G + "approveJoinRequest", {"convoId": convo, "member": someone}),
        (G + "rejectJoinRequest", {"convoId": convo, "member": someone}),
        (G + "updateJoinRequestsRead", {"convoId": convo}),
    ]


def test_owner_only_methods_refuse_members_and_outsiders(api: MakeApi, refuse: Refuse) -> None:
    alice, bob, carol, dan = api("alice"), api("bob"), api("carol"), api("dan")
    convo = make_group(alice, bob)
    code = link(alice, convo, approval=True)
    dan.ok(G + "requestJoin", {"code": code})
    bob.ok(C + "acceptConvo", {"convoId": convo})  # accepted or not, a standard member is not the owner
    for nsid, body in owner_only_calls(convo, dan.did, alice.did):
        assert refuse(bob, nsid, body, "InsufficientRole") == OWNER_ONLY
        assert refuse(carol, nsid, body, "InvalidConvo") == NOT_FOUND
        assert refuse(dan, nsid, body, "InvalidConvo") == NOT_FOUND  # a requester is no member
        # an unknown id gets the very same answer as a convo one is not in
        assert refuse(carol, nsid, {**body, "convoId": "nosuch"}, "InvalidConvo") == NOT_FOUND
        assert refuse(alice, nsid, {**body, "convoId": "nosuch"}, "InvalidConvo") == NOT_FOUND
    assert refuse(bob, G + "listJoinRequests", None, "InsufficientRole", params={"convoId": convo}) == OWNER_ONLY
    assert refuse(carol, G + "listJoinRequests", None, "InvalidConvo", params={"convoId": convo}) == NOT_FOUND


def test_nobody_owns_a_group_its_owner_left(api: MakeApi, refuse: Refuse) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    convo = make_group(alice, bob)
    code = link(alice, convo, approval=True)
    carol.ok(G + "requestJoin", {"code": code})
    alice.ok(C + "lockConvo", {"convoId": convo})
    alice.ok(C + "leaveConvo", {"convoId": convo})
    assert kind(bob, convo)["lockStatus"] == "locked-permanently"
    assert system_data(bob, convo)[-2:] == [
        sys_data("LockConvoPermanently", lockedBy=alice.did),
        sys_data("MemberLeave", member=alice.did),
    ]
    for nsid, body in owner_only_calls(convo, carol.did, alice.did):
        refuse(bob, nsid, body, "InsufficientRole", "owner")
        assert refuse(alice, nsid, body, "InvalidConvo") == NOT_FOUND
    # a pending requester is answered before the lock; anyone else is refused
    assert carol.ok(G + "requestJoin", {"code": code}) == {"status": "pending"}
    refuse(api("dan"), G + "requestJoin", {"code": code}, "ConvoLocked", "permanently")
