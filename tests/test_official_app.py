"""The mock as the official Bluesky app reads it (bluesky-social/social-app, src/state/messages/).

``AppBus`` follows ``MessagesEventBus`` (events/agent.ts): ``getLog({})`` once to learn the
current cursor, then polls with the highest rev it has seen, comparing revs as plain text and
dropping every event whose rev is not greater. ``AppHistory`` follows ``Convo.fetchMessageHistory``
(convo/agent.ts): an event that arrives before the first page seeds the history cursor with its
rev, and the answer's cursor is trusted until it is missing. If the mock's cursors did not work
the way that code expects, these clients would silently miss events, as the app would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from conftest import Api

from mockserver import MockChatServer

Json = dict[str, Any]
Make = Callable[..., Api]
C = "chat.bsky.convo."
G = "chat.bsky.group."
DEFS = "chat.bsky.convo.defs#"


class AppBus:
    """The app's getLog poll for one account: ``latestRev`` and a text comparison."""

    def __init__(self, api: Api) -> None:
        self.api = api
        out = api.ok(C + "getLog")  # init(): no cursor, only to learn where "now" is
        assert out["logs"] == [], "getLog without a cursor answers no events"
        assert isinstance(out["cursor"], str) and out["cursor"], "the cursor 'should always be defined'"
        self.latest_rev: str = out["cursor"]
        self.seen: list[Json] = []

    def poll(self) -> list[str]:
        """One poll: the short names of the events the app would emit, in order."""
        out = self.api.ok(C + "getLog", cursor=self.latest_rev)
        batch = []
        for event in out["logs"]:
            if event["rev"] > self.latest_rev:  # the app's rev guard, as text
                self.latest_rev = event["rev"]
                batch.append(event)
        assert len(batch) == len(out["logs"]), ("the app would drop events", out["logs"], self.latest_rev)
        assert out["cursor"] == self.latest_rev, "the answer's cursor is the last event's rev (or the one sent)"
        self.seen += batch
        return [event["$type"].split("#")[1] for event in batch]


class AppHistory:
    """The app's history paging for one open convo."""

    def __init__(self, api: Api, convo_id: str, limit: int) -> None:
        self.api, self.convo_id, self.limit = api, convo_id, limit
        self.oldest_rev: str | None = None
        self.started = False
        self.done = False

    def seed(self, event: Json) -> None:
        """An event that arrives before any history: its rev is the first history cursor."""
        if not self.started and self.oldest_rev is None:
            self.oldest_rev = event["rev"]

    def page(self) -> list[Json]:
        params: Json = {"convoId": self.convo_id, "limit": self.limit}
        if self.oldest_rev is not None:
            params["cursor"] = self.oldest_rev
        out = self.api.ok(C + "getMessages", **params)
        self.started = True
        if out.get("cursor") is None:
            self.done = True
        else:
            assert out["cursor"] == out["messages"][-1]["rev"], "the cursor is the rev of the oldest message returned"
            self.oldest_rev = out["cursor"]
        for message in out["messages"]:
            assert message["$type"] in (DEFS + "messageView", DEFS + "systemMessageView"), message
        messages: list[Json] = out["messages"]
        return messages


def polls(*buses: AppBus) -> dict[str, list[str]]:
    """Every bus polls once: handle -> event names."""
    return {bus.api.handle.split(".")[0]: bus.poll() for bus in buses}


def test_every_change_reaches_each_member_once_in_order(api: Make) -> None:
    alice, bob, carol, dave = api("alice"), api("bob"), api("carol"), api("dave")
    a, b, c, d = (AppBus(x) for x in (alice, bob, carol, dave))

    def step(expected: dict[str, list[str]]) -> None:
        got = polls(a, b, c, d)
        want = {name: expected.get(name, []) for name in got}
        assert got == want

    cid = alice.ok(G + "createGroup", {"name": "G", "members": [bob.did]})["convo"]["id"]
    step({"alice": ["logBeginConvo"], "bob": ["logBeginConvo"]})
    hi = bob.ok(C + "sendMessage", {"convoId": cid, "message": {"text": "hi"}})
    step({"alice": ["logCreateMessage"], "bob": ["logAcceptConvo", "logCreateMessage"]})
    alice.ok(C + "addReaction", {"convoId": cid, "messageId": hi["id"], "value": "🎉"})
    alice.ok(C + "removeReaction", {"convoId": cid, "messageId": hi["id"], "value": "🎉"})
    both = ["logAddReaction", "logRemoveReaction"]
    step({"alice": both, "bob": both})
    alice.ok(G + "addMembers", {"convoId": cid, "members": [carol.did]})
    step({"alice": ["logAddMember"], "bob": ["logAddMember"], "carol": ["logBeginConvo", "logAddMember"]})
    alice.ok(G + "editGroup", {"convoId": cid, "name": "G2"})
    alice.ok(G + "createJoinLink", {"convoId": cid, "joinRule": "anyone", "requireApproval": True})
    members3 = ["logEditGroup", "logCreateJoinLink"]
    step({"alice": members3, "bob": members3, "carol": members3})
    code = alice.ok(C + "getConvo", convoId=cid)["convo"]["kind"]["joinLink"]["code"]
    assert dave.ok(G + "requestJoin", {"code": code})["status"] == "pending"
    step({"alice": ["logIncomingJoinRequest"], "dave": ["logOutgoingJoinRequest"]})
    dave.ok(G + "withdrawJoinRequest", {"convoId": cid})
    step({"alice": ["logWithdrawIncomingJoinRequest"], "dave": ["logWithdrawOutgoingJoinRequest"]})
    dave.ok(G + "requestJoin", {"code": code})
    alice.ok(G + "updateJoinRequestsRead", {"convoId": cid})
    step({"alice": ["logIncomingJoinRequest", "logReadJoinRequests"], "dave": ["logOutgoingJoinRequest"]})
    alice.ok(G + "approveJoinRequest", {"convoId": cid, "member": dave.did})
    step(
        {
            "alice": ["logApproveJoinRequest", "logMemberJoin"],
            "bob": ["logMemberJoin"],
            "carol": ["logMemberJoin"],
            "dave": ["logBeginConvo", "logMemberJoin"],
        }
    )
    alice.ok(G + "editJoinLink", {"convoId": cid, "requireApproval": False})
    alice.ok(G + "disableJoinLink", {"convoId": cid})
    alice.ok(G + "enableJoinLink", {"convoId": cid})
    link = ["logEditJoinLink", "logDisableJoinLink", "logEnableJoinLink"]
    step({"alice": link, "bob": link, "carol": link, "dave": link})
    carol.ok(C + "updateRead", {"convoId": cid})
    bob.ok(C + "muteConvo", {"convoId": cid})
    bob.ok(C + "unmuteConvo", {"convoId": cid})
    carol.ok(C + "acceptConvo", {"convoId": cid})
    step({"bob": ["logMuteConvo", "logUnmuteConvo"], "carol": ["logReadConvo", "logAcceptConvo"]})
    alice.ok(G + "removeMembers", {"convoId": cid, "members": [bob.did]})
    step(
        {
            "alice": ["logRemoveMember"],
            "bob": ["logLeaveConvo"],
            "carol": ["logRemoveMember"],
            "dave": ["logRemoveMember"],
        }
    )
    carol.ok(C + "leaveConvo", {"convoId": cid})
    step({"alice": ["logMemberLeave"], "carol": ["logLeaveConvo"], "dave": ["logMemberLeave"]})
    alice.ok(C + "lockConvo", {"convoId": cid})
    alice.ok(C + "unlockConvo", {"convoId": cid})
    alice.ok(C + "lockConvo", {"convoId": cid})
    lock = ["logLockConvo", "logUnlockConvo", "logLockConvo"]
    step({"alice": lock, "dave": lock})
    alice.ok(C + "leaveConvo", {"convoId": cid})
    step(
        {
            "alice": ["logLockConvoPermanently", "logLeaveConvo"],
            "dave": ["logLockConvoPermanently", "logMemberLeave"],
        }
    )
    step({})  # nothing new: every poll is empty, and the cursors hold

    for bus in (a, b, c, d):
        # what the app saw is the whole log read from the start (views are rendered as of now)
        everything, cursor = [], ""
        while True:
            out = bus.api.ok(C + "getLog", cursor=cursor)
            if not out["logs"]:
                break
            everything += out["logs"]
            cursor = out["cursor"]
        key = [(e["$type"], e["rev"], e["convoId"]) for e in everything]
        assert key == [(e["$type"], e["rev"], e["convoId"]) for e in bus.seen], bus.api.handle
        for event in everything:
            if "message" in event:
                assert event["message"]["$type"] in (DEFS + "messageView", DEFS + "systemMessageView"), event


def test_init_cursor_of_a_brand_new_account_precedes_every_later_event(api: Make) -> None:
    alice = api("alice")
    fresh = AppBus(alice)
    assert alice.ok(C + "getLog", cursor=fresh.latest_rev) == {"logs": [], "cursor": fresh.latest_rev}
    bob = api("bob")
    alice.ok(G + "createGroup", {"name": "G", "members": [bob.did]})
    assert fresh.poll() == ["logBeginConvo"]
    late = AppBus(bob)  # starts at "now": the history before it is not replayed
    assert late.poll() == []


def test_any_text_is_a_getlog_cursor(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    alice.ok(G + "createGroup", {"name": "G", "members": [bob.did]})
    # the app's own tests use zero-padded revs such as '0000005': they sort before the mock's revs
    for cursor in ("0000005", "", "not-a-rev", "~~~~~", "ü", "wrI"):
        out = alice.ok(C + "getLog", cursor=cursor)
        assert all(event["rev"] > cursor for event in out["logs"])
        assert out["cursor"] == (out["logs"][-1]["rev"] if out["logs"] else cursor)
    assert [e["$type"] for e in alice.ok(C + "getLog", cursor="0000005")["logs"]] == [DEFS + "logBeginConvo"]
    assert alice.ok(C + "getLog", cursor="~~~~~")["logs"] == [], "'~' sorts after every rev"


def test_history_seeded_with_an_event_rev_pages_to_the_start(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = alice.ok(G + "createGroup", {"name": "G", "members": [bob.did]})["convo"]["id"]
    bus = AppBus(bob)
    sent = [alice.ok(C + "sendMessage", {"convoId": cid, "message": {"text": f"m{i}"}})["id"] for i in range(8)]
    events = bus.seen if bus.poll() else []
    history = AppHistory(bob, cid, limit=3)
    history.seed(events[-1])  # the newest event arrived before the first page
    pages = []
    while not history.done:
        pages.append([m["id"] for m in history.page()])
        assert len(pages) < 10
    got = [mid for page in pages for mid in page]
    assert got == sent[-2::-1], "every message older than the seed, newest first, once each"
    assert [len(p) for p in pages] == [3, 3, 1]


def test_history_from_the_top_and_a_foreign_cursor(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = alice.ok(G + "createGroup", {"name": "G", "members": [bob.did]})["convo"]["id"]
    sent = [alice.ok(C + "sendMessage", {"convoId": cid, "message": {"text": f"m{i}"}})["id"] for i in range(5)]
    history = AppHistory(bob, cid, limit=2)
    got = []
    while not history.done:
        got += [m["id"] for m in history.page()]
    assert got == sent[::-1]
    assert bob.ok(C + "getMessages", convoId=cid, cursor="0000005")["messages"] == [], "nothing sorts before it"
    assert len(bob.ok(C + "getMessages", convoId=cid, cursor="zzzzzzzzzzzzz")["messages"]) == 5
    assert bob.ok(C + "getMessages", convoId=cid, cursor="")["messages"][0]["id"] == sent[-1], "empty: the latest"


def test_private_changes_stay_private(api: Make) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    first = alice.ok(G + "createGroup", {"name": "First", "members": [bob.did, carol.did]})["convo"]["id"]
    second = alice.ok(G + "createGroup", {"name": "Second", "members": [bob.did, carol.did]})["convo"]["id"]

    def inbox(who: Api) -> list[tuple[str, str]]:
        return [(c["id"], c["rev"]) for c in who.ok(C + "listConvos")["convos"]]

    alice.ok(C + "sendMessage", {"convoId": first, "message": {"text": "hello"}})
    before = inbox(alice)
    assert [cid for cid, _ in before] == [first, second]
    bob.ok(C + "muteConvo", {"convoId": second})
    bob.ok(C + "acceptConvo", {"convoId": second})
    bob.ok(C + "updateRead", {"convoId": first})
    carol.ok(C + "updateAllRead", {})
    assert inbox(alice) == before, "others' read, mute and accept change nothing Alice sees"
    mine = dict(inbox(bob))
    assert mine[second] > dict(before)[second], "Bob's own view moves with his own changes"
    assert [cid for cid, _ in inbox(bob)] == [first, second], "his list keeps the shared order"
    latest = bob.ok(C + "getLog", cursor="")["logs"][-1]
    assert latest["$type"] == DEFS + "logReadConvo" and mine[first] == latest["rev"]
    said = alice.ok(C + "sendMessage", {"convoId": second, "message": {"text": "later"}})
    assert dict(inbox(bob))[second] == said["rev"], "a shared change moves every view past a private one"
    assert dict(inbox(alice))[second] == said["rev"]


def test_message_views_carry_their_type_everywhere(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = alice.ok(G + "createGroup", {"name": "G", "members": [bob.did]})["convo"]["id"]
    parent = bob.ok(C + "sendMessage", {"convoId": cid, "message": {"text": "parent"}})
    assert parent["$type"] == DEFS + "messageView"
    reply = alice.ok(
        C + "sendMessage", {"convoId": cid, "message": {"text": "child", "replyTo": {"messageId": parent["id"]}}}
    )
    assert reply["replyTo"]["$type"] == DEFS + "messageView"
    reacted = bob.ok(C + "addReaction", {"convoId": cid, "messageId": reply["id"], "value": "👍"})["message"]
    assert reacted["$type"] == DEFS + "messageView"
    view = bob.ok(C + "getConvo", convoId=cid)["convo"]
    assert view["lastMessage"]["$type"] == DEFS + "messageView"
    assert view["lastReaction"]["message"]["$type"] == DEFS + "messageView"
    alice.ok(G + "editGroup", {"convoId": cid, "name": "Renamed"})
    assert bob.ok(C + "getConvo", convoId=cid)["convo"]["lastMessage"]["$type"] == DEFS + "systemMessageView"
    for event in bob.ok(C + "getLog", cursor="")["logs"]:
        if "message" in event:
            assert event["message"]["$type"] in (DEFS + "messageView", DEFS + "systemMessageView"), event


def test_join_link_embeds_are_rendered_for_each_viewer(api: Make, admin_http: httpx.Client) -> None:
    alice, bob, carol, dave = api("alice"), api("bob"), api("carol"), api("dave")
    cid = alice.ok(G + "createGroup", {"name": "G", "members": [bob.did]})["convo"]["id"]
    other = bob.ok(G + "createGroup", {"name": "Bob's", "members": [carol.did, dave.did]})["convo"]["id"]
    out = alice.ok(G + "createJoinLink", {"convoId": cid, "joinRule": "followedByOwner", "requireApproval": True})
    code = out["joinLink"]["code"]
    admin_http.patch("/_mock/actors/alice.test", json={"follows": [carol.did]}).raise_for_status()
    carol.ok(G + "requestJoin", {"code": code})
    bob.ok(
        C + "sendMessage",
        {
            "convoId": other,
            "message": {"text": "join us", "embed": {"$type": "chat.bsky.embed.joinLink", "code": code}},
        },
    )

    def preview(who: Api) -> Json:
        message = who.ok(C + "getConvo", convoId=other)["convo"]["lastMessage"]
        assert message["embed"]["$type"] == "chat.bsky.embed.joinLink#view"
        shown: Json = message["embed"]["joinLinkPreview"]
        assert shown["$type"] == "chat.bsky.group.defs#joinLinkPreviewView"
        return shown

    as_bob, as_carol, as_dave = preview(bob), preview(carol), preview(dave)
    assert as_bob["convo"]["id"] == cid, "a member sees their own group: 'Open chat', not 'Join'"
    assert "lastMessage" not in as_bob["convo"] or "convo" not in as_bob["convo"]["lastMessage"].get("embed", {}).get(
        "joinLinkPreview", {}
    )
    assert "convo" not in as_carol and as_carol["viewer"]["requestedAt"], "a requester sees 'Requested'"
    assert "followedBy" in as_carol["owner"]["viewer"], "the owner follows carol: she may join"
    assert "convo" not in as_dave and "requestedAt" not in as_dave["viewer"]
    assert "followedBy" not in as_dave["owner"]["viewer"], "a followedByOwner link dave cannot use"
    in_log = next(e for e in carol.ok(C + "getLog", cursor="")["logs"] if e["$type"] == DEFS + "logCreateMessage")
    assert in_log["message"]["embed"]["joinLinkPreview"]["viewer"]["requestedAt"] == as_carol["viewer"]["requestedAt"]


def test_a_join_link_to_its_own_group_renders_without_recursion(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = alice.ok(G + "createGroup", {"name": "G", "members": [bob.did]})["convo"]["id"]
    code = alice.ok(G + "createJoinLink", {"convoId": cid, "joinRule": "anyone"})["joinLink"]["code"]
    embed = {"$type": "chat.bsky.embed.joinLink", "code": code}
    alice.ok(C + "sendMessage", {"convoId": cid, "message": {"text": "share this", "embed": embed}})
    view = bob.ok(C + "getConvo", convoId=cid)["convo"]
    inner = view["lastMessage"]["embed"]["joinLinkPreview"]["convo"]
    assert inner["id"] == cid and "convo" not in inner["lastMessage"]["embed"]["joinLinkPreview"]


@pytest.mark.parametrize("status", ["suspended", "deactivated", "takendown"])
def test_disabled_accounts_take_no_part(server: MockChatServer, api: Make, status: str) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    cid = alice.ok(G + "createGroup", {"name": "G", "members": [bob.did]})["convo"]["id"]
    msg = alice.ok(C + "sendMessage", {"convoId": cid, "message": {"text": "hi"}})
    code = alice.ok(G + "createJoinLink", {"convoId": cid, "joinRule": "anyone"})["joinLink"]["code"]
    server.service.state.actors[bob.did].status = status
    server.service.touch()
    refused = [
        (C + "sendMessage", {"convoId": cid, "message": {"text": "x"}}),
        (C + "addReaction", {"convoId": cid, "messageId": msg["id"], "value": "🎉"}),
        (C + "removeReaction", {"convoId": cid, "messageId": msg["id"], "value": "🎉"}),
        (C + "acceptConvo", {"convoId": cid}),
        (G + "requestJoin", {"code": code}),
    ]
    for nsid, body in refused:
        assert bob.error(nsid, body) == ("InvalidRequest", "Account is disabled"), nsid
    server.service.state.actors[alice.did].status = status
    server.service.touch()
    assert alice.error(G + "createGroup", {"name": "x", "members": []})[0] == "AccountSuspended"
    assert alice.error(G + "addMembers", {"convoId": cid, "members": [carol.did]})[0] == "AccountSuspended"
    for nsid, body in [
        (G + "editGroup", {"convoId": cid, "name": "y"}),
        (C + "lockConvo", {"convoId": cid}),
        (G + "disableJoinLink", {"convoId": cid}),
        (G + "removeMembers", {"convoId": cid, "members": [bob.did]}),
    ]:
        assert alice.error(nsid, body) == ("InvalidRequest", "Account is disabled"), nsid
    # reading, muting and leaving still work
    bob.ok(C + "getConvo", convoId=cid)
    bob.ok(C + "muteConvo", {"convoId": cid})
    bob.ok(C + "leaveConvo", {"convoId": cid})
    member = alice.ok(C + "getConvoMembers", convoId=cid)["members"][0]
    assert member["chatDisabled"] is True, "the app disables the convo when its own member entry says so"


def test_block_error_names_as_the_app_reads_them(api: Make, admin_http: httpx.Client) -> None:
    alice = api("alice")
    blocks_alice = api("hank", blocks=["alice"])
    blocked_by_alice = api("ivan")
    admin_http.patch("/_mock/actors/alice.test", json={"blocks": [blocked_by_alice.did]}).raise_for_status()
    error, message = alice.error(G + "createGroup", {"name": "x", "members": [blocks_alice.did]})
    assert error == "BlockedActor" and message == "hank.test has blocked you"
    error, message = alice.error(G + "createGroup", {"name": "x", "members": [blocked_by_alice.did]})
    assert error == "BlockedSubject" and message == "You have blocked ivan.test"


def test_zero_join_request_counts_are_left_out(api: Make) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    cid = alice.ok(G + "createGroup", {"name": "G", "members": [bob.did]})["convo"]["id"]
    kind = alice.ok(C + "getConvo", convoId=cid)["convo"]["kind"]
    assert "joinRequestCount" not in kind and "unreadJoinRequestCount" not in kind
    code = alice.ok(G + "createJoinLink", {"convoId": cid, "joinRule": "anyone", "requireApproval": True})
    carol.ok(G + "requestJoin", {"code": code["joinLink"]["code"]})
    kind = alice.ok(C + "getConvo", convoId=cid)["convo"]["kind"]
    assert (kind["joinRequestCount"], kind["unreadJoinRequestCount"]) == (1, 1)
    unread = alice.ok(C + "listConvos", readState="unread")["convos"]
    assert [c["id"] for c in unread] == [cid], "unread join requests make the owner's group unread"
    assert alice.ok(C + "getUnreadCounts")["unreadAcceptedConvos"] == 1
    alice.ok(G + "updateJoinRequestsRead", {"convoId": cid})
    kind = alice.ok(C + "getConvo", convoId=cid)["convo"]["kind"]
    assert kind["joinRequestCount"] == 1 and "unreadJoinRequestCount" not in kind
    assert alice.ok(C + "listConvos", readState="unread")["convos"] == []


def test_convo_not_found_is_the_exact_text(api: Make) -> None:
    alice = api("alice")
    assert alice.error(C + "getConvo", convoId="nope") == ("InvalidConvo", "Convo not found")
    assert alice.error(C + "sendMessage", {"convoId": "nope", "message": {"text": "x"}}) == (
        "InvalidConvo",
        "Convo not found",
    )
