"""Direct (1:1) convos, per docs/behaviour.md ("chat.bsky.convo (groups and direct convos)",
"Direct convos", "Deleting and accounts") and docs/scenarios.md (``direct-requests``): the
getConvoForMembers / getConvoAvailability pair, requests, the send rules, leaving, views, filters
and counts, sendMessageBatch and deleteMessageForSelf, through plain HTTP and the atproto SDK."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import httpx
import pytest
from conftest import Api, patch, sdk_error, unchanged

from mockserver import MockChatServer

Json = dict[str, Any]
Make = Callable[..., Api]
Sdk = Callable[..., Any]
C = "chat.bsky.convo."
G = "chat.bsky.group."
DEFS = "chat.bsky.convo.defs#"
UNKNOWN_DID = "did:plc:nobodyhereatallxxxxxxxxx"
UNKNOWN_CONVO = "3zzzzzzzzzzzz"
NOT_EXIST = "recipient does not exist"
BLOCK = "block between recipient and sender"
DISABLED = "recipient has disabled incoming messages"
FOLLOW = "recipient requires incoming messages to come from someone they follow"


# ---------------------------------------------------------------- helpers


def at(cursor: str | None) -> Json:
    """The cursor parameter, when there is one."""
    return {"cursor": cursor} if cursor else {}


def direct(caller: Api, other: Api) -> str:
    """getConvoForMembers with one other account; the convo id."""
    return str(caller.ok(C + "getConvoForMembers", members=[other.did])["convo"]["id"])


def send(who: Api, convo_id: str, text: str = "hi", **extra: Any) -> Json:
    return who.ok(C + "sendMessage", {"convoId": convo_id, "message": {"text": text, **extra}})


def send_error(who: Api, convo_id: str, text: str = "hi", **extra: Any) -> tuple[str, str]:
    return who.error(C + "sendMessage", {"convoId": convo_id, "message": {"text": text, **extra}})


def group(owner: Api, *members: Api, name: str = "G") -> str:
    out = owner.ok(G + "createGroup", {"name": name, "members": [m.did for m in members]})
    return str(out["convo"]["id"])


def convo_of(who: Api, convo_id: str) -> Json:
    out: Json = who.ok(C + "getConvo", convoId=convo_id)["convo"]
    return out


def listed(who: Api, **params: Any) -> list[str]:
    """Ids of listConvos (every page) with these filters."""
    ids: list[str] = []
    cursor: str | None = None
    while True:
        out = who.ok(C + "listConvos", **params, **at(cursor))
        ids += [c["id"] for c in out["convos"]]
        cursor = out.get("cursor")
        if not cursor:
            return ids


def requests_of(who: Api) -> list[str]:
    """Ids of the convos listConvoRequests answers (its convoViews; join requests left out)."""
    requests = who.ok(C + "listConvoRequests")["requests"]
    return [r["id"] for r in requests if r["$type"] == DEFS + "convoView"]


def counts(who: Api, **params: Any) -> tuple[int, int]:
    out = who.ok(C + "getUnreadCounts", **params)
    return out["unreadAcceptedConvos"], out["unreadRequestConvos"]


def head(who: Api) -> str:
    """Where "now" is in ``who``'s log."""
    return str(who.ok(C + "getLog")["cursor"])


def events(who: Api, cursor: str = "") -> list[Json]:
    """Every log event of ``who`` after ``cursor`` (from the start by default)."""
    out: list[Json] = []
    while True:
        page = who.ok(C + "getLog", cursor=cursor)
        if not page["logs"]:
            return out
        out += page["logs"]
        cursor = page["cursor"]


def names(evs: list[Json], convo_id: str) -> list[str]:
    return [e["$type"].split("#")[1] for e in evs if e["convoId"] == convo_id]


def texts(who: Api, convo_id: str) -> list[str]:
    """The texts of getMessages (newest first), every message a user message."""
    messages = who.ok(C + "getMessages", convoId=convo_id)["messages"]
    assert all(m["$type"] == DEFS + "messageView" for m in messages), messages
    return [m["text"] for m in messages]


# ---------------------------------------------------------------- one convo per pair


def test_one_convo_per_pair_whoever_asks(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    first = alice.ok(C + "getConvoForMembers", members=[bob.did])["convo"]
    assert first["status"] == "accepted", "the caller is accepted"
    assert convo_of(bob, first["id"])["status"] == "request", "the other is a request"
    assert direct(alice, bob) == first["id"], "however often"
    assert alice.ok(C + "getConvoForMembers", members=[alice.did, bob.did, bob.did])["convo"]["id"] == first["id"]
    assert direct(bob, alice) == first["id"], "whoever asks"
    carol = api("carol")
    assert direct(alice, carol) != first["id"], "another pair, another convo"


def test_one_convo_per_pair_through_the_sdk(api: Make, sdk: Sdk) -> None:
    alice, bob = api("alice"), api("bob")
    a, b = sdk("alice.test"), sdk("bob.test")
    convo = a.chat.bsky.convo.get_convo_for_members({"members": [bob.did]}).convo
    assert convo.kind.py_type == DEFS + "directConvo"
    assert sorted(m.did for m in convo.members) == sorted([alice.did, bob.did])
    assert convo.status == "accepted"
    assert b.chat.bsky.convo.get_convo_for_members({"members": [alice.did]}).convo.id == convo.id
    assert a.chat.bsky.convo.get_convo_for_members({"members": [bob.did]}).convo.id == convo.id


def test_members_must_name_exactly_one_other_account(server: MockChatServer, api: Make, sdk: Sdk) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    a = sdk("alice.test")
    with unchanged(server):
        for members in ([alice.did], [alice.did, alice.did], [bob.did, carol.did], [bob.did, UNKNOWN_DID]):
            assert alice.error(C + "getConvoForMembers", members=members)[0] == "InvalidRequest", members
            assert alice.error(C + "getConvoAvailability", members=members)[0] == "InvalidRequest", members
        assert sdk_error(lambda: a.chat.bsky.convo.get_convo_for_members({"members": [alice.did]}))[0] == (
            "InvalidRequest"
        )


# ---------------------------------------------------------------- getConvoForMembers refusals

# (case, alice's admin fields, bob's admin fields, members ("bob", "self", "two" or "unknown"), error)
REFUSALS: list[tuple[str, Json, Json, str, str]] = [
    ("caller suspended", {"status": "suspended"}, {}, "bob", "AccountSuspended"),
    ("caller deactivated", {"status": "deactivated"}, {}, "bob", "AccountSuspended"),
    ("caller taken down", {"status": "takendown"}, {}, "bob", "AccountSuspended"),
    ("no such account", {}, {}, "unknown", "RecipientNotFound"),
    ("recipient deactivated", {}, {"status": "deactivated"}, "bob", "RecipientNotFound"),
    ("recipient taken down", {}, {"status": "takendown"}, "bob", "RecipientNotFound"),
    ("they block the caller", {}, {"blocks": ["alice.test"]}, "bob", "BlockedActor"),
    ("the caller blocks them", {"blocks": ["bob.test"]}, {}, "bob", "BlockedSubject"),
    ("allowIncoming none", {}, {"allowIncoming": "none"}, "bob", "MessagesDisabled"),
    ("allowIncoming following", {}, {"allowIncoming": "following"}, "bob", "NotFollowedBySender"),
    ("no declaration means following", {}, {"allowIncoming": None}, "bob", "NotFollowedBySender"),
    # the order of the checks: the first that fails answers
    ("disabled before members", {"status": "suspended"}, {}, "self", "AccountSuspended"),
    ("disabled before recipient", {"status": "suspended"}, {"status": "takendown"}, "bob", "AccountSuspended"),
    ("members before recipient", {}, {"status": "deactivated"}, "two", "InvalidRequest"),
    ("recipient before blocks", {"blocks": ["bob.test"]}, {"status": "deactivated", "blocks": ["alice.test"]}, "bob",
     "RecipientNotFound"),
    ("both block: theirs first", {"blocks": ["bob.test"]}, {"blocks": ["alice.test"]}, "bob", "BlockedActor"),
    ("their block before declaration", {}, {"blocks": ["alice.test"], "allowIncoming": "none"}, "bob",
     "BlockedActor"),
    ("own block before declaration", {"blocks": ["bob.test"]}, {"allowIncoming": "following"}, "bob",
     "BlockedSubject"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "alice_fields", "bob_fields", "members", "expected"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
def test_get_convo_for_members_refusals(
    server: MockChatServer,
    api: Make,
    sdk: Sdk,
    admin_http: httpx.Client,
    case: str,
    alice_fields: Json,
    bob_fields: Json,
    members: str,
    expected: str,
) -> None:
    alice, bob = api("alice"), api("bob")
    a = sdk("alice.test")  # logged in while still active
    if alice_fields:
        patch(admin_http, alice, **alice_fields)
    if bob_fields:
        patch(admin_http, bob, **bob_fields)
    dids = {"bob": [bob.did], "self": [alice.did], "two": [bob.did, UNKNOWN_DID], "unknown": [UNKNOWN_DID]}[members]
    with unchanged(server):
        assert alice.error(C + "getConvoForMembers", members=dids)[0] == expected, case
        assert sdk_error(lambda: a.chat.bsky.convo.get_convo_for_members({"members": dids}))[0] == expected, case
    # availability is never an error past the members check: it says no instead
    if members not in ("self", "two"):
        with unchanged(server):
            assert alice.ok(C + "getConvoAvailability", members=dids) == {"canChat": False}, case


def test_follow_satisfies_following(api: Make) -> None:
    alice = api("alice")
    bob = api("bob", allowIncoming="following", follows=["alice.test"])
    quiet = api("quiet", allowIncoming=None, follows=["alice.test"])
    direct(alice, bob)
    direct(alice, quiet)


def test_existing_convo_blocks_refuse_declarations_do_not(
    server: MockChatServer, api: Make, admin_http: httpx.Client
) -> None:
    alice, bob = api("alice"), api("bob")
    cid = direct(alice, bob)
    patch(admin_http, bob, allowIncoming="none")
    assert direct(alice, bob) == cid, "the declaration refuses only new convos"
    assert alice.ok(C + "getConvoAvailability", members=[bob.did]) == {
        "canChat": True,
        "convo": alice.ok(C + "getConvo", convoId=cid)["convo"],
    }
    patch(admin_http, bob, allowIncoming="all", blocks=[alice.did])
    with unchanged(server):
        assert alice.error(C + "getConvoForMembers", members=[bob.did])[0] == "BlockedActor"
        assert bob.error(C + "getConvoForMembers", members=[alice.did])[0] == "BlockedSubject"
    availability = alice.ok(C + "getConvoAvailability", members=[bob.did])
    assert availability["canChat"] is False and availability["convo"]["id"] == cid, "the convo they share"


def test_a_leaver_asking_again_meets_the_declaration(
    server: MockChatServer, api: Make, admin_http: httpx.Client
) -> None:
    alice, bob = api("alice"), api("bob")
    cid = direct(alice, bob)
    send(alice, cid, "hi")
    alice.ok(C + "leaveConvo", {"convoId": cid})
    patch(admin_http, bob, allowIncoming="none")
    with unchanged(server):
        assert alice.error(C + "getConvoForMembers", members=[bob.did])[0] == "MessagesDisabled"
    assert alice.ok(C + "getConvoAvailability", members=[bob.did]) == {"canChat": False}, "she left: no convo"


# ---------------------------------------------------------------- availability


def test_availability_never_makes_a_convo(server: MockChatServer, api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    with unchanged(server):
        assert alice.ok(C + "getConvoAvailability", members=[bob.did]) == {"canChat": True}
        assert bob.ok(C + "getConvoAvailability", members=[alice.did]) == {"canChat": True}
    assert listed(alice) == [] and listed(bob) == []
    cid = direct(alice, bob)
    mine = alice.ok(C + "getConvoAvailability", members=[bob.did])
    assert mine["canChat"] is True and mine["convo"] == convo_of(alice, cid)
    theirs = bob.ok(C + "getConvoAvailability", members=[alice.did])
    assert theirs["canChat"] is True and theirs["convo"]["id"] == cid, "bob is in it (as a request)"


def test_reads_right_after_get_convo_for_members_see_the_convo(api: Make) -> None:
    """getConvoForMembers is a query that makes (or rejoins) a convo: the reads after it see it."""
    alice, bob = api("alice"), api("bob")
    assert alice.ok(C + "getConvoAvailability", members=[bob.did]) == {"canChat": True}
    assert listed(alice) == []
    cid = direct(alice, bob)
    assert alice.ok(C + "getConvoAvailability", members=[bob.did]).get("convo", {}).get("id") == cid
    assert listed(alice) == [cid]
    send(alice, cid, "hi")
    alice.ok(C + "leaveConvo", {"convoId": cid})
    assert alice.ok(C + "getConvoAvailability", members=[bob.did]) == {"canChat": True}
    assert listed(alice) == []
    assert direct(alice, bob) == cid
    assert alice.ok(C + "getConvoAvailability", members=[bob.did]).get("convo", {}).get("id") == cid
    assert listed(alice) == [cid]


def test_availability_through_the_sdk(api: Make, sdk: Sdk) -> None:
    api("alice")
    bob = api("bob")
    frank = api("frank", allowIncoming="none")
    a = sdk("alice.test")
    out = a.chat.bsky.convo.get_convo_availability({"members": [bob.did]})
    assert out.can_chat is True and out.convo is None
    assert a.chat.bsky.convo.get_convo_availability({"members": [frank.did]}).can_chat is False
    made = a.chat.bsky.convo.get_convo_for_members({"members": [bob.did]}).convo
    assert a.chat.bsky.convo.get_convo_availability({"members": [bob.did]}).convo.id == made.id


# ---------------------------------------------------------------- requests


def test_the_recipient_sees_nothing_until_the_first_message_then_a_request(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = direct(alice, bob)
    assert listed(bob) == [] and requests_of(bob) == [] and counts(bob) == (0, 0)
    assert names(events(bob), cid) == [], "not even in bob's log"
    start_alice, start_bob = head(alice), head(bob)
    first = send(alice, cid, "hello")
    assert names(events(bob, start_bob), cid) == ["logBeginConvo", "logCreateMessage"]
    assert names(events(alice, start_alice), cid) == ["logCreateMessage"]
    assert listed(bob) == [cid] and listed(bob, status="request") == [cid] and listed(bob, status="accepted") == []
    assert requests_of(bob) == [cid]
    assert counts(bob) == (0, 1)
    view = convo_of(bob, cid)
    assert view["status"] == "request" and view["unreadCount"] == 1 and view["lastMessage"]["id"] == first["id"]
    send(alice, cid, "again")
    assert names(events(bob, start_bob), cid) == ["logBeginConvo", "logCreateMessage", "logCreateMessage"], (
        "logBeginConvo only once"
    )
    start_bob = head(bob)
    bob.ok(C + "acceptConvo", {"convoId": cid})
    assert names(events(bob, start_bob), cid) == ["logAcceptConvo"]
    assert listed(bob, status="accepted") == [cid] and listed(bob, status="request") == [] and requests_of(bob) == []
    assert counts(bob) == (1, 0)


def test_replying_accepts_the_request(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = direct(alice, bob)
    send(alice, cid, "hello")
    start_alice, start_bob = head(alice), head(bob)
    send(bob, cid, "hi back")
    assert names(events(bob, start_bob), cid) == ["logAcceptConvo", "logCreateMessage"]
    assert names(events(alice, start_alice), cid) == ["logCreateMessage"], "accepting is private"
    assert convo_of(bob, cid)["status"] == "accepted" and requests_of(bob) == []
    assert texts(alice, cid) == ["hi back", "hello"] and texts(bob, cid) == ["hi back", "hello"]


def test_requests_through_the_sdk(api: Make, sdk: Sdk) -> None:
    api("alice")
    bob = api("bob")
    a, b = sdk("alice.test"), sdk("bob.test")
    convo = a.chat.bsky.convo.get_convo_for_members({"members": [bob.did]}).convo
    assert b.chat.bsky.convo.list_convo_requests().requests == []
    a.chat.bsky.convo.send_message({"convoId": convo.id, "message": {"text": "hello"}})
    assert [c.id for c in b.chat.bsky.convo.list_convo_requests().requests] == [convo.id]
    assert [c.id for c in b.chat.bsky.convo.list_convos({"status": "request"}).convos] == [convo.id]
    unread = b.chat.bsky.convo.get_unread_counts()
    assert (unread.unread_accepted_convos, unread.unread_request_convos) == (0, 1)
    b.chat.bsky.convo.accept_convo({"convoId": convo.id})
    unread = b.chat.bsky.convo.get_unread_counts()
    assert (unread.unread_accepted_convos, unread.unread_request_convos) == (1, 0)
    assert b.chat.bsky.convo.get_convo({"convoId": convo.id}).convo.status == "accepted"


# ---------------------------------------------------------------- send rules

# (case, bob's admin fields after the convo exists, whether bob accepted first, the exact message)
SEND_REFUSALS: list[tuple[str, Json, bool, str]] = [
    ("recipient deactivated", {"status": "deactivated"}, True, NOT_EXIST),
    ("recipient taken down", {"status": "takendown"}, True, NOT_EXIST),
    ("recipient blocks sender", {"blocks": ["alice.test"]}, True, BLOCK),
    ("sender blocks recipient", {}, True, BLOCK),  # alice's block, set below
    ("not accepted, none", {"allowIncoming": "none"}, False, DISABLED),
    ("not accepted, following", {"allowIncoming": "following"}, False, FOLLOW),
    ("not accepted, no declaration", {"allowIncoming": None}, False, FOLLOW),
    # the order of the checks
    ("gone before block", {"status": "deactivated", "blocks": ["alice.test"]}, True, NOT_EXIST),
    ("block before declaration", {"blocks": ["alice.test"], "allowIncoming": "none"}, False, BLOCK),
]


@pytest.mark.parametrize(
    ("case", "bob_fields", "accepted", "message"), SEND_REFUSALS, ids=[r[0] for r in SEND_REFUSALS]
)
def test_send_into_a_direct_convo_refused(
    server: MockChatServer,
    api: Make,
    sdk: Sdk,
    admin_http: httpx.Client,
    case: str,
    bob_fields: Json,
    accepted: bool,
    message: str,
) -> None:
    alice, bob = api("alice"), api("bob")
    a = sdk("alice.test")
    cid = direct(alice, bob)
    send(alice, cid, "first")
    if accepted:
        bob.ok(C + "acceptConvo", {"convoId": cid})
    if bob_fields:
        patch(admin_http, bob, **bob_fields)
    if case == "sender blocks recipient":
        patch(admin_http, alice, blocks=[bob.did])
    with unchanged(server):
        assert send_error(alice, cid) == ("InvalidRequest", message), case
        body = {"convoId": cid, "message": {"text": "hi"}}
        assert sdk_error(lambda: a.chat.bsky.convo.send_message(body)) == ("InvalidRequest", message), case


def test_send_checks_in_order(server: MockChatServer, api: Make, admin_http: httpx.Client) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    cid = direct(alice, bob)
    send(alice, cid, "first")
    patch(admin_http, bob, allowIncoming="none")
    bad_embed = {"$type": "app.bsky.embed.images", "images": []}
    with unchanged(server):
        assert send_error(carol, cid)[0] == "InvalidConvo", "not a member first"
        assert send_error(alice, cid, embed=bad_embed, replyTo={"messageId": UNKNOWN_CONVO}) == (
            "InvalidRequest",
            DISABLED,
        ), "the declaration before the embed"
    patch(admin_http, bob, allowIncoming="all")
    with unchanged(server):
        error, text = send_error(alice, cid, embed=bad_embed, replyTo={"messageId": UNKNOWN_CONVO})
        assert error == "InvalidRequest" and "app.bsky.embed.images" in text, "the embed before the reply target"
        assert send_error(alice, cid, replyTo={"messageId": UNKNOWN_CONVO})[0] == "ReplyTargetNotFound"
    patch(admin_http, bob, status="deactivated", blocks=[alice.did])
    with unchanged(server):
        assert send_error(carol, cid)[0] == "InvalidConvo", "membership before the recipient"


def test_reply_target_not_found_in_a_direct_convo_through_the_sdk(server: MockChatServer, api: Make, sdk: Sdk) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    a = sdk("alice.test")
    cid, other = direct(alice, bob), direct(alice, carol)
    elsewhere = send(alice, other, "elsewhere")
    body = {"convoId": cid, "message": {"text": "re", "replyTo": {"messageId": elsewhere["id"]}}}
    with unchanged(server):
        assert sdk_error(lambda: a.chat.bsky.convo.send_message(body))[0] == "ReplyTargetNotFound"


def test_declarations_apply_to_new_convos_only(server: MockChatServer, api: Make, admin_http: httpx.Client) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    cid = direct(alice, bob)
    send(alice, cid, "one")
    patch(admin_http, bob, allowIncoming="none")
    with unchanged(server):
        assert send_error(alice, cid) == ("InvalidRequest", DISABLED), "not accepted yet: refused"
    bob.ok(C + "acceptConvo", {"convoId": cid})
    send(alice, cid, "two")  # once he has taken it, it stays open
    patch(admin_http, bob, allowIncoming="following")
    send(alice, cid, "three")
    assert direct(alice, bob) == cid
    with unchanged(server):
        assert carol.error(C + "getConvoForMembers", members=[bob.did])[0] == "NotFollowedBySender", "new: refused"
    assert texts(bob, cid) == ["three", "two", "one"]


def test_blocks_refuse_existing_convos_too(server: MockChatServer, api: Make, admin_http: httpx.Client) -> None:
    alice, bob = api("alice"), api("bob")
    cid = direct(alice, bob)
    send(alice, cid, "one")
    send(bob, cid, "two")
    patch(admin_http, alice, blocks=[bob.did])
    with unchanged(server):
        assert send_error(bob, cid) == ("InvalidRequest", BLOCK)
        assert send_error(alice, cid) == ("InvalidRequest", BLOCK)
    patch(admin_http, alice, blocks=[])
    send(bob, cid, "three")


def test_a_recipient_who_left_meets_the_declaration(
    server: MockChatServer, api: Make, admin_http: httpx.Client
) -> None:
    alice, bob = api("alice"), api("bob")
    cid = direct(alice, bob)
    send(alice, cid, "one")
    send(bob, cid, "two")  # bob took it
    bob.ok(C + "leaveConvo", {"convoId": cid})
    patch(admin_http, bob, allowIncoming="none")
    with unchanged(server):
        assert send_error(alice, cid) == ("InvalidRequest", DISABLED), "he left: the declaration applies again"


# ---------------------------------------------------------------- leaving


def test_leaving_hides_the_convo_and_a_message_brings_the_leaver_back(server: MockChatServer, api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = direct(alice, bob)
    send(alice, cid, "one")
    send(bob, cid, "two")
    start_bob = head(bob)
    bob.ok(C + "leaveConvo", {"convoId": cid})
    assert names(events(bob, start_bob), cid) == ["logLeaveConvo"]
    assert texts(alice, cid) == ["two", "one"], "no system message"
    assert sorted(m["did"] for m in convo_of(alice, cid)["members"]) == sorted([alice.did, bob.did])
    assert listed(bob) == [] and requests_of(bob) == [] and counts(bob) == (0, 0)
    with unchanged(server):
        assert bob.error(C + "getConvo", convoId=cid) == ("InvalidConvo", "Convo not found")
        assert bob.error(C + "getMessages", convoId=cid)[0] == "InvalidConvo"
    start_bob = head(bob)
    send(alice, cid, "three")
    assert names(events(bob, start_bob), cid) == ["logBeginConvo", "logCreateMessage"]
    assert listed(bob, status="request") == [cid] and requests_of(bob) == [cid] and counts(bob) == (0, 1)
    assert convo_of(bob, cid)["status"] == "request"
    assert texts(bob, cid) == ["three"], "the history before he left stays hidden"
    assert texts(alice, cid) == ["three", "two", "one"]


def test_get_convo_for_members_brings_the_leaver_back_without_history(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = direct(alice, bob)
    send(alice, cid, "one")
    alice.ok(C + "leaveConvo", {"convoId": cid})
    assert listed(alice) == []
    assert alice.ok(C + "getConvoAvailability", members=[bob.did]) == {"canChat": True}, "not in it: no convo"
    assert direct(alice, bob) == cid, "the same convo"
    assert texts(alice, cid) == []
    send(bob, cid, "two")
    assert texts(alice, cid) == ["two"] and texts(bob, cid) == ["two", "one"]


# ---------------------------------------------------------------- views


def test_direct_views(api: Make) -> None:
    alice, bob = api("alice", displayName="Alice"), api("bob")
    cid = direct(alice, bob)
    send(alice, cid, "one")
    for viewer in (alice, bob):
        view = convo_of(viewer, cid)
        assert view["kind"] == {"$type": DEFS + "directConvo"}, "no name, owner, lock, link or limit"
        assert sorted(m["did"] for m in view["members"]) == sorted([alice.did, bob.did])
        assert all("kind" not in m for m in view["members"]), "no member kind"
        members = viewer.ok(C + "getConvoMembers", convoId=cid)["members"]
        assert sorted(m["did"] for m in members) == sorted([alice.did, bob.did])
        assert all("kind" not in m for m in members)
    # leaving and coming back leave no system message
    bob.ok(C + "leaveConvo", {"convoId": cid})
    direct(bob, alice)
    send(bob, cid, "two")
    messages = alice.ok(C + "getMessages", convoId=cid)["messages"]
    assert [m["$type"] for m in messages] == [DEFS + "messageView"] * 2
    assert convo_of(alice, cid)["lastMessage"]["$type"] == DEFS + "messageView"


def test_group_owner_methods_on_a_direct_convo_are_invalid(server: MockChatServer, api: Make) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    cid = direct(alice, bob)
    send(alice, cid, "one")
    calls: list[tuple[str, Json]] = [
        (C + "lockConvo", {"convoId": cid}),
        (C + "unlockConvo", {"convoId": cid}),
        (G + "editGroup", {"convoId": cid, "name": "x"}),
        (G + "addMembers", {"convoId": cid, "members": [carol.did]}),
        (G + "removeMembers", {"convoId": cid, "members": [bob.did]}),
        (G + "createJoinLink", {"convoId": cid, "joinRule": "anyone"}),
    ]
    with unchanged(server):
        for nsid, body in calls:
            assert alice.error(nsid, body)[0] == "InvalidRequest", nsid
        assert alice.error(G + "listJoinRequests", convoId=cid)[0] == "InvalidRequest"


# ---------------------------------------------------------------- lists and counts over both kinds


def inbox(api: Make) -> tuple[Api, dict[str, str], dict[str, Api]]:
    """Alice's inbox: an unlocked group of hers with an unread message (g1), a group she was added
    to (a request, unread: g2), a locked group of hers (locked), a direct convo she started and bob
    answered (d1, unread), a request from dave (d2, unread) and one she started that erin never
    answered (d3, nothing unread)."""
    alice, bob, carol, dave, erin = (api(n) for n in ("alice", "bob", "carol", "dave", "erin"))
    ids = {"g1": group(alice, bob), "g2": group(carol, alice), "locked": group(alice, bob)}
    send(bob, ids["g1"], "in g1")
    send(carol, ids["g2"], "in g2")
    alice.ok(C + "lockConvo", {"convoId": ids["locked"]})
    ids["d1"] = direct(alice, bob)
    send(alice, ids["d1"], "hi bob")
    send(bob, ids["d1"], "hi alice")
    ids["d2"] = direct(dave, alice)
    send(dave, ids["d2"], "hi, I'm dave")
    ids["d3"] = direct(alice, erin)
    send(alice, ids["d3"], "hi erin")
    return alice, ids, {"bob": bob, "carol": carol, "dave": dave, "erin": erin}


def test_list_convos_filters_over_both_kinds(api: Make) -> None:
    alice, ids, _ = inbox(api)

    def only(**params: Any) -> set[str]:
        return {key for key, cid in ids.items() if cid in listed(alice, **params)}

    assert only() == set(ids)
    assert only(kind="direct") == {"d1", "d2", "d3"}
    assert only(kind="group") == {"g1", "g2", "locked"}
    assert only(status="request") == {"g2", "d2"}
    assert only(status="accepted") == {"g1", "locked", "d1", "d3"}
    assert only(readState="unread") == {"g1", "g2", "d1", "d2"}
    assert only(lockStatus="unlocked") == {"g1", "g2", "d1", "d2", "d3"}, "a direct convo counts as unlocked"
    assert only(lockStatus="locked") == {"locked"}
    assert only(lockStatus="locked-permanently") == set()
    assert only(kind="direct", status="request") == {"d2"}
    assert only(kind="direct", readState="unread", status="accepted") == {"d1"}
    assert {ids[k] for k in ("g2", "d2")} == set(requests_of(alice))


def test_unread_counts_include_group_chats(api: Make) -> None:
    alice, _ids, _ = inbox(api)
    assert counts(alice) == (2, 2), "g1 and d1 accepted; g2 and d2 requests; the locked group not at all"
    assert counts(alice, includeGroupChats=True) == (2, 2)
    assert counts(alice, includeGroupChats=False) == (1, 1), "direct convos whatever the flag says"


def test_unread_counts_leave_out_muted_blocked_and_gone_direct_convos(api: Make, admin_http: httpx.Client) -> None:
    alice, ids, others = inbox(api)
    assert counts(alice, includeGroupChats=False) == (1, 1)
    alice.ok(C + "muteConvo", {"convoId": ids["d1"]})
    assert counts(alice, includeGroupChats=False) == (0, 1), "muted"
    alice.ok(C + "unmuteConvo", {"convoId": ids["d1"]})
    patch(admin_http, others["dave"], blocks=[alice.did])
    assert counts(alice, includeGroupChats=False) == (1, 0), "dave blocks alice"
    patch(admin_http, others["dave"], blocks=[])
    patch(admin_http, alice, blocks=[others["dave"].did])
    assert counts(alice, includeGroupChats=False) == (1, 0), "alice blocks dave"
    patch(admin_http, alice, blocks=[])
    patch(admin_http, others["bob"], status="deactivated")
    assert counts(alice, includeGroupChats=False) == (0, 1), "bob deactivated"
    patch(admin_http, others["bob"], status="takendown")
    assert counts(alice, includeGroupChats=False) == (0, 1), "bob taken down"
    patch(admin_http, others["bob"], status="active")
    assert counts(alice, includeGroupChats=False) == (1, 1)


# ---------------------------------------------------------------- sendMessageBatch


def test_send_message_batch_posts_every_item_in_order(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = direct(alice, bob)
    gid = group(alice, bob)
    items = [
        {"convoId": cid, "message": {"text": "one"}},
        {"convoId": gid, "message": {"text": "two"}},
        {"convoId": cid, "message": {"text": "three"}},
    ]
    start_bob = head(bob)
    out = alice.ok(C + "sendMessageBatch", {"items": items})["items"]
    assert [m["text"] for m in out] == ["one", "two", "three"]
    assert all(m["$type"] == DEFS + "messageView" and m["sender"]["did"] == alice.did for m in out)
    assert [m["rev"] for m in out] == sorted(m["rev"] for m in out), "posted in order"
    assert texts(bob, cid) == ["three", "one"]
    assert [m["id"] for m in bob.ok(C + "getMessages", convoId=gid)["messages"] if m.get("text") == "two"] == [
        out[1]["id"]
    ]
    assert names(events(bob, start_bob), cid) == ["logBeginConvo", "logCreateMessage", "logCreateMessage"], (
        "the first message of the batch brings bob the convo, once"
    )


def test_send_message_batch_through_the_sdk(api: Make, sdk: Sdk) -> None:
    alice, bob = api("alice"), api("bob")
    a = sdk("alice.test")
    cid = direct(alice, bob)
    items = [{"convoId": cid, "message": {"text": t}} for t in ("a", "b", "c")]
    out = a.chat.bsky.convo.send_message_batch({"items": items}).items
    assert [m.text for m in out] == ["a", "b", "c"]
    assert texts(bob, cid) == ["c", "b", "a"]


def test_send_message_batch_is_all_or_nothing(
    server: MockChatServer, api: Make, sdk: Sdk, admin_http: httpx.Client
) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    a = sdk("alice.test")
    cid = direct(alice, bob)
    parent = send(alice, cid, "parent")
    locked = group(alice, bob)
    alice.ok(C + "lockConvo", {"convoId": locked})
    theirs = group(carol, bob)  # alice is no member of it
    blocked = direct(alice, carol)
    send(alice, blocked, "hi carol")

    def item(convo_id: str, text: str = "x", **extra: Any) -> Json:
        return {"convoId": convo_id, "message": {"text": text, **extra}}

    good = item(cid, "fine", replyTo={"messageId": parent["id"]})
    bad_reply = item(cid, replyTo={"messageId": UNKNOWN_CONVO})
    cases: list[tuple[list[Json], str]] = [
        ([good, item(UNKNOWN_CONVO)], "InvalidConvo"),
        ([good, item(theirs)], "InvalidConvo"),
        ([good, item(locked)], "ConvoLocked"),
        ([good, good, bad_reply], "ReplyTargetNotFound"),
        # the first refused item answers
        ([good, bad_reply, item(UNKNOWN_CONVO)], "ReplyTargetNotFound"),
        ([item(UNKNOWN_CONVO), item(locked)], "InvalidConvo"),
        ([item(locked), bad_reply], "ConvoLocked"),
    ]
    with unchanged(server):
        for items, expected in cases:
            assert alice.error(C + "sendMessageBatch", {"items": items})[0] == expected, items
            refused = sdk_error(partial(a.chat.bsky.convo.send_message_batch, {"items": items}))
            assert refused[0] == expected, items
    patch(admin_http, carol, blocks=[alice.did])
    with unchanged(server):
        assert alice.error(C + "sendMessageBatch", {"items": [good, item(blocked)]}) == ("InvalidRequest", BLOCK)
    assert texts(bob, cid) == ["parent"], "nothing of any refused batch was posted"


# ---------------------------------------------------------------- deleteMessageForSelf


def test_delete_message_for_self_hides_it_from_the_caller_only(api: Make, sdk: Sdk) -> None:
    alice, bob = api("alice"), api("bob")
    cid = direct(alice, bob)
    m1 = send(alice, cid, "one")
    m2 = send(bob, cid, "two")
    m3 = send(bob, cid, "three")
    assert convo_of(alice, cid)["unreadCount"] == 2
    start_alice, start_bob = head(alice), head(bob)
    gone = alice.ok(C + "deleteMessageForSelf", {"convoId": cid, "messageId": m3["id"]})
    assert gone["$type"] == DEFS + "deletedMessageView" and gone["id"] == m3["id"]
    assert gone["sender"]["did"] == bob.did and gone["sentAt"] == m3["sentAt"]
    assert "text" not in gone
    # the deleter: the log event, the list, the last message, the unread count
    own = events(alice, start_alice)
    assert names(own, cid) == ["logDeleteMessage"]
    assert own[0]["message"]["$type"] == DEFS + "deletedMessageView" and own[0]["message"]["id"] == m3["id"]
    assert texts(alice, cid) == ["two", "one"]
    view = convo_of(alice, cid)
    assert view["lastMessage"]["$type"] == DEFS + "deletedMessageView" and view["lastMessage"]["id"] == m3["id"]
    assert view["unreadCount"] == 1, "it no longer counts as unread"
    created = [e for e in events(alice) if e["$type"] == DEFS + "logCreateMessage" and e["message"]["id"] == m3["id"]]
    assert [e["message"]["$type"] for e in created] == [DEFS + "deletedMessageView"], "in log events too"
    # everyone else still sees it
    assert events(bob, start_bob) == []
    assert texts(bob, cid) == ["three", "two", "one"]
    assert convo_of(bob, cid)["lastMessage"]["$type"] == DEFS + "messageView"
    # a reply to it shows the deleted view to the deleter only
    m4 = send(bob, cid, "re: three", replyTo={"messageId": m3["id"]})
    mine = alice.ok(C + "getMessages", convoId=cid)["messages"][0]
    assert mine["id"] == m4["id"] and mine["replyTo"]["$type"] == DEFS + "deletedMessageView"
    assert bob.ok(C + "getMessages", convoId=cid)["messages"][0]["replyTo"]["$type"] == DEFS + "messageView"
    # deleting again: the same view, nothing logged
    start_alice = head(alice)
    assert alice.ok(C + "deleteMessageForSelf", {"convoId": cid, "messageId": m3["id"]}) == gone
    assert events(alice, start_alice) == []
    # through the SDK: deleting the last unread ones leaves nothing unread
    a = sdk("alice.test")
    for message in (m2, m4):
        out = a.chat.bsky.convo.delete_message_for_self({"convoId": cid, "messageId": message["id"]})
        assert out.py_type == DEFS + "deletedMessageView" and out.id == message["id"]
    assert convo_of(alice, cid)["unreadCount"] == 0 and counts(alice) == (0, 0)
    assert [m.id for m in a.chat.bsky.convo.get_messages({"convoId": cid}).messages] == [m1["id"]]


def test_get_messages_pages_past_deleted_messages_by_the_cursor(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = direct(alice, bob)
    sent = [send(bob if i % 2 else alice, cid, f"m{i}")["id"] for i in range(6)]
    for message_id in (sent[5], sent[4], sent[2]):
        alice.ok(C + "deleteMessageForSelf", {"convoId": cid, "messageId": message_id})
    first = alice.ok(C + "getMessages", convoId=cid, limit=1)
    assert sent[5] not in [m["id"] for m in first["messages"]]
    assert first.get("cursor"), "a short (even empty) page still has a cursor"
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(len(sent) + 2):
        out = alice.ok(C + "getMessages", convoId=cid, limit=1, **at(cursor))
        seen += [m["id"] for m in out["messages"]]
        cursor = out.get("cursor")
        if not cursor:
            break
    assert seen == [sent[3], sent[1], sent[0]], "every message she did not delete, once, newest first"
    assert [m["id"] for m in bob.ok(C + "getMessages", convoId=cid)["messages"]] == sent[::-1]


def test_delete_message_for_self_refusals(server: MockChatServer, api: Make, sdk: Sdk) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    a = sdk("alice.test")
    gid = group(alice, bob)
    early = send(alice, gid, "before carol")
    alice.ok(G + "addMembers", {"convoId": gid, "members": [carol.did]})
    system = next(
        m for m in alice.ok(C + "getMessages", convoId=gid)["messages"] if m["$type"] == DEFS + "systemMessageView"
    )
    cid = direct(alice, bob)
    elsewhere = send(alice, cid, "in the direct convo")
    dave = api("dave")

    def delete(who: Api, convo_id: str, message_id: str) -> tuple[str, str]:
        return who.error(C + "deleteMessageForSelf", {"convoId": convo_id, "messageId": message_id})

    with unchanged(server):
        assert delete(dave, gid, early["id"]) == ("InvalidConvo", "Convo not found")
        assert delete(alice, UNKNOWN_CONVO, early["id"]) == ("InvalidConvo", "Convo not found")
        assert delete(dave, gid, system["id"])[0] == "InvalidConvo", "membership first"
        assert delete(alice, gid, UNKNOWN_CONVO)[0] == "InvalidRequest"
        assert delete(alice, gid, elsewhere["id"])[0] == "InvalidRequest", "a message of another convo"
        assert delete(carol, gid, early["id"])[0] == "InvalidRequest", "sent before carol joined"
        assert delete(alice, gid, system["id"])[0] == "MessageDeleteNotAllowed"
        assert delete(carol, gid, system["id"])[0] == "MessageDeleteNotAllowed", "carol sees her own arrival"
        body = {"convoId": gid, "messageId": system["id"]}
        assert sdk_error(lambda: a.chat.bsky.convo.delete_message_for_self(body))[0] == "MessageDeleteNotAllowed"
        body = {"convoId": UNKNOWN_CONVO, "messageId": early["id"]}
        assert sdk_error(lambda: a.chat.bsky.convo.delete_message_for_self(body))[0] == "InvalidConvo"


def test_no_reactions_on_a_message_deleted_for_oneself(server: MockChatServer, api: Make, sdk: Sdk) -> None:
    alice, bob = api("alice"), api("bob")
    a = sdk("alice.test")
    gid = group(alice, bob)
    message = send(bob, gid, "react to me")
    target = {"convoId": gid, "messageId": message["id"]}
    for emoji in ("👍", "🎉", "😀", "🔥", "😎"):
        alice.ok(C + "addReaction", {**target, "value": emoji})
    alice.ok(C + "deleteMessageForSelf", target)
    with unchanged(server):
        for nsid in ("addReaction", "removeReaction"):
            assert alice.error(C + nsid, {**target, "value": "👍"})[0] == "ReactionMessageDeleted", nsid
            # before the checks after it: not an emoji; the limit of 5
            assert alice.error(C + nsid, {**target, "value": "a"})[0] == "ReactionMessageDeleted", nsid
        assert alice.error(C + "addReaction", {**target, "value": "🙂"})[0] == "ReactionMessageDeleted"
        # ... and after the one before it
        assert alice.error(C + "addReaction", {"convoId": gid, "messageId": UNKNOWN_CONVO, "value": "👍"})[0] == (
            "InvalidRequest"
        )
        assert sdk_error(lambda: a.chat.bsky.convo.add_reaction({**target, "value": "👍"}))[0] == (
            "ReactionMessageDeleted"
        )
        assert sdk_error(lambda: a.chat.bsky.convo.remove_reaction({**target, "value": "👍"}))[0] == (
            "ReactionMessageDeleted"
        )
    bob.ok(C + "addReaction", {**target, "value": "👀"})  # bob still has it
    alice.ok(C + "lockConvo", {"convoId": gid})
    with unchanged(server):
        assert alice.error(C + "addReaction", {**target, "value": "👀"})[0] == "ReactionMessageDeleted", (
            "before the lock"
        )
        assert bob.error(C + "addReaction", {**target, "value": "👍"})[0] == "ReactionNotAllowed"


# ---------------------------------------------------------------- the direct-requests scenario


def as_actor(server: MockChatServer, admin_http: httpx.Client, handle: str) -> Api:
    """An :class:`Api` for an existing (scenario) actor, logged in through the admin API."""
    response = admin_http.post(f"/_mock/actors/{handle}/session")
    assert response.status_code == 200, response.text
    return Api(server, response.json())


def test_direct_requests_scenario(server: MockChatServer, admin_http: httpx.Client, sdk: Sdk) -> None:
    server.load_scenario("direct-requests")
    people = {
        n: as_actor(server, admin_http, f"{n}.test") for n in ("alice", "bob", "carol", "dan", "eve", "frank", "gina")
    }
    alice = people["alice"]
    inbox = alice.ok(C + "listConvos")["convos"]
    assert all(c["kind"]["$type"] == DEFS + "directConvo" for c in inbox)
    by_other = {next(m["handle"] for m in c["members"] if m["did"] != alice.did).split(".")[0]: c for c in inbox}
    assert [k for k in by_other] == ["bob", "dan", "carol", "eve"], "newest latest message first"
    assert by_other["bob"]["status"] == "accepted" and by_other["bob"]["unreadCount"] == 2
    assert by_other["bob"]["lastMessage"]["text"] == "Bring a jacket, it will be cold."
    assert by_other["carol"]["muted"] is True
    assert by_other["dan"]["status"] == "request"
    assert by_other["eve"]["status"] == "accepted"
    assert requests_of(alice) == [by_other["dan"]["id"]]
    bob_chat = alice.ok(C + "getMessages", convoId=by_other["bob"]["id"])["messages"]
    thumbs = next(m for m in bob_chat if m["text"] == "Yes! 10am at the trailhead.")
    assert [(r["value"], r["sender"]["did"]) for r in thumbs["reactions"]] == [("👍", alice.did)]
    assert counts(alice) == (1, 1), "bob's unread; carol muted; eve blocked; dan's request"
    assert convo_of(people["dan"], by_other["dan"]["id"])["status"] == "accepted", "dan sent it"
    with unchanged(server):
        assert send_error(alice, by_other["eve"]["id"]) == ("InvalidRequest", BLOCK)
        assert alice.error(C + "getConvoForMembers", members=[people["frank"].did])[0] == "MessagesDisabled"
        for name in ("alice", "carol", "dan", "eve", "frank"):
            error, _ = people[name].error(C + "getConvoForMembers", members=[people["gina"].did])
            assert error == "NotFollowedBySender", name
    direct(people["bob"], people["gina"])  # she follows bob
    # the same through the SDK, logged in with the scenario's password
    a = sdk("alice.test", "password")
    assert [c.id for c in a.chat.bsky.convo.list_convo_requests().requests] == [by_other["dan"]["id"]]
    body = {"convoId": by_other["eve"]["id"], "message": {"text": "hi"}}
    assert sdk_error(lambda: a.chat.bsky.convo.send_message(body)) == ("InvalidRequest", BLOCK)
    frank = {"members": [people["frank"].did]}
    assert sdk_error(lambda: a.chat.bsky.convo.get_convo_for_members(frank))[0] == "MessagesDisabled"
    gina = {"members": [people["gina"].did]}
    assert sdk_error(lambda: a.chat.bsky.convo.get_convo_for_members(gina))[0] == "NotFollowedBySender"
