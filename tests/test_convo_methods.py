"""chat.bsky.convo.* on group convos through the real HTTP server: success paths and every error.

The spec is docs/behaviour.md (checks in order, what each change leaves behind, views, paging)
and the lexicons. The session server is strict, so every 200 answer was also checked against
its lexicon; refused calls are compared against the admin dump to show they changed nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from conftest import Api, dump

from mockserver import MockChatServer

Json = dict[str, Any]
Make = Callable[..., Api]

CONVO = "chat.bsky.convo"
GROUP = "chat.bsky.group"
DEFS = "chat.bsky.convo.defs"
ACTOR_DEFS = "chat.bsky.actor.defs"
GROUP_DEFS = "chat.bsky.group.defs"
NO_SUCH_CONVO = "3kzzzzzzzzz22"


# --------------------------------------------------------------------------- helpers


def new_group(owner: Api, *members: Api, name: str = "Group") -> str:
    """createGroup with ``members`` (they start in 'request' status); the convo id."""
    out = owner.ok(f"{GROUP}.createGroup", {"name": name, "members": [m.did for m in members]})
    return str(out["convo"]["id"])


def say(who: Api, convo_id: str, text: str = "hello", **message: Any) -> Json:
    """sendMessage; the messageView answered."""
    return who.ok(f"{CONVO}.sendMessage", {"convoId": convo_id, "message": {"text": text, **message}})


def add_members(owner: Api, convo_id: str, *members: Api) -> Json:
    return owner.ok(f"{GROUP}.addMembers", {"convoId": convo_id, "members": [m.did for m in members]})


def remove_members(owner: Api, convo_id: str, *members: Api) -> Json:
    return owner.ok(f"{GROUP}.removeMembers", {"convoId": convo_id, "members": [m.did for m in members]})


def convo(who: Api, convo_id: str) -> Json:
    """getConvo's convoView for ``who``."""
    view: Json = who.ok(f"{CONVO}.getConvo", convoId=convo_id)["convo"]
    return view


def join_link(owner: Api, convo_id: str, approval: bool = False, rule: str = "anyone") -> str:
    """createJoinLink; the code."""
    body = {"convoId": convo_id, "joinRule": rule, "requireApproval": approval}
    return str(owner.ok(f"{GROUP}.createJoinLink", body)["joinLink"]["code"])


def react(who: Api, convo_id: str, message_id: str, value: str, op: str = "add") -> Json:
    body = {"convoId": convo_id, "messageId": message_id, "value": value}
    out: Json = who.ok(f"{CONVO}.{op}Reaction", body)["message"]
    return out


def short(type_: str) -> str:
    """``chat.bsky.convo.defs#logAddMember`` -> ``logAddMember``."""
    return type_.split("#", 1)[1]


def read_log(who: Api, cursor: str = "") -> tuple[list[Json], str | None]:
    """Every getLog event after ``cursor`` (from the very start by default: every rev sorts after
    the empty one), following the cursor, and the last cursor answered."""
    events: list[Json] = []
    while True:
        out = who.ok(f"{CONVO}.getLog", cursor=cursor)
        events.extend(out["logs"])
        if not out["logs"]:
            return events, out.get("cursor")
        assert out["cursor"], out
        cursor = out["cursor"]


def log_kinds(who: Api, convo_id: str | None = None) -> list[str]:
    """The short $type of every log event ``who`` has (optionally of one convo), oldest first."""
    events, _ = read_log(who)
    return [short(e["$type"]) for e in events if convo_id is None or e["convoId"] == convo_id]


def pages(who: Api, nsid: str, key: str, limit: int, **params: Any) -> list[list[Json]]:
    """Every page of a cursor-paged query (the last page has no cursor)."""
    result: list[list[Json]] = []
    cursor: str | None = None
    while True:
        out = who.ok(nsid, limit=limit, **params, **({"cursor": cursor} if cursor else {}))
        assert len(out[key]) <= limit
        result.append(out[key])
        cursor = out.get("cursor")
        if cursor is None:
            return result
        assert len(result) < 50, "paging does not end"


def moderation_lock(server: MockChatServer, convo_id: str, on: bool = True) -> None:
    response = httpx.patch(f"{server.url}/_mock/convos/{convo_id}", json={"moderationLock": on})
    assert response.status_code == 200, response.text
    assert response.json()["moderationLock"] is on


def handles(profiles: list[Json]) -> list[str]:
    return [p["handle"] for p in profiles]


def expect_invalid_convo(who: Api, nsid: str, body: Json | None = None, **params: Any) -> None:
    """``InvalidConvo`` with exactly the official message (no convo id in it)."""
    assert "convoId" in (body if body is not None else params)
    error, message = who.error(nsid, body, **params)
    assert error == "InvalidConvo", (nsid, error, message)
    assert message == "Convo not found", (nsid, message)


def texts(messages: list[Json]) -> list[str]:
    """Text of user messages, short data type of system messages."""
    return [
        m["text"] if short(m["$type"]) == "messageView" else short(m["data"]["$type"]).removeprefix("systemMessageData")
        for m in messages
    ]


# --------------------------------------------------------------------------- getConvo


def test_get_convo_group_kind_fields_per_viewer(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = new_group(alice, bob, name="Book club")
    mine = convo(alice, cid)
    kind = mine["kind"]
    assert kind["$type"] == f"{DEFS}#groupConvo"
    assert kind["name"] == "Book club" and kind["memberCount"] == 2 and kind["memberLimit"] == 50
    assert kind["lockStatus"] == "unlocked" and kind["lockStatusModerationOverride"] is False
    assert kind["createdAt"].endswith("Z") and "joinLink" not in kind
    # the owner's join request counts are left out while they are 0
    assert "joinRequestCount" not in kind and "unreadJoinRequestCount" not in kind
    assert (mine["id"], mine["status"], mine["muted"], mine["unreadCount"]) == (cid, "accepted", False, 0)
    assert "lastMessage" not in mine and "lastReaction" not in mine

    theirs = convo(bob, cid)
    assert theirs["status"] == "request" and theirs["rev"] == mine["rev"]
    assert "joinRequestCount" not in theirs["kind"] and "unreadJoinRequestCount" not in theirs["kind"]

    code = join_link(alice, cid, approval=True)
    carol = api("carol")
    assert carol.ok(f"{GROUP}.requestJoin", {"code": code})["status"] == "pending"
    kind = convo(alice, cid)["kind"]
    assert kind["joinLink"]["code"] == code and kind["joinLink"]["enabledStatus"] == "enabled"
    assert kind["joinLink"]["requireApproval"] is True and kind["joinLink"]["joinRule"] == "anyone"
    assert kind["joinRequestCount"] == 1 and kind["unreadJoinRequestCount"] == 1
    assert kind["memberCount"] == 2, "a pending request is not a member"
    alice.ok(f"{GROUP}.disableJoinLink", {"convoId": cid})
    assert convo(bob, cid)["kind"]["joinLink"]["enabledStatus"] == "disabled", "a disabled link is still shown"

    say(alice, cid, "hi")
    theirs = convo(bob, cid)
    assert theirs["unreadCount"] == 1 and theirs["lastMessage"]["text"] == "hi"
    assert theirs["lastMessage"]["$type"] == f"{DEFS}#messageView"


def test_get_convo_invalid_convo_for_unknown_outsider_and_past_member(api: Make) -> None:
    alice, bob, eve = api("alice"), api("bob"), api("eve")
    cid = new_group(alice, bob)
    expect_invalid_convo(alice, f"{CONVO}.getConvo", convoId=NO_SUCH_CONVO)
    expect_invalid_convo(eve, f"{CONVO}.getConvo", convoId=cid)
    # an outsider learns nothing more about an existing group than about an unknown id
    assert eve.error(f"{CONVO}.getConvo", convoId=cid) == eve.error(f"{CONVO}.getConvo", convoId=NO_SUCH_CONVO)
    bob.ok(f"{CONVO}.leaveConvo", {"convoId": cid})
    expect_invalid_convo(bob, f"{CONVO}.getConvo", convoId=cid)
    for nsid in ("getConvoMembers", "getMessages"):
        expect_invalid_convo(eve, f"{CONVO}.{nsid}", convoId=cid)
    for nsid in ("acceptConvo", "muteConvo", "unmuteConvo"):
        expect_invalid_convo(eve, f"{CONVO}.{nsid}", {"convoId": cid})


def test_get_convo_members_are_the_important_ones(api: Make) -> None:
    owner = api("owner")
    m = [api(f"m{i}") for i in range(1, 10)]  # m1..m9: join order owner, m1, ..., m9
    cid = new_group(owner, *m)
    last = say(m[5], cid, "from m6")  # last sender: m6 (7th in join order)
    react(m[6], cid, last["id"], "👍")  # last reactor: m7 (8th)
    view = convo(m[7], cid)  # viewer m8 (9th), added by the owner
    expected = ["owner.test", "m1.test", "m2.test", "m3.test", "m4.test", "m8.test", "m6.test", "m7.test"]
    got = handles(view["members"])
    assert len(got) == len(set(got)), f"members repeated: {got}"
    assert set(got) == set(expected), got
    assert "m5.test" not in got and "m9.test" not in got
    for profile in view["members"]:
        assert profile["kind"]["$type"] == f"{ACTOR_DEFS}#groupConvoMember"
    assert view["kind"]["memberCount"] == 10
    # the owner's own view: first five, last sender, last reactor
    assert set(handles(convo(owner, cid)["members"])) == set(expected) - {"m8.test"}
    # a new last sender changes who is important
    say(m[8], cid, "from m9")
    assert set(handles(convo(owner, cid)["members"])) == set(expected) - {"m8.test", "m6.test"} | {"m9.test"}


def test_member_views_follow_every_change_to_either_account(server: MockChatServer, api: Make) -> None:
    """Profile views are kept between answers until the subject or the viewer changes: every
    field a view shows, changed after a view was made, shows in the next answer (its chat
    declaration, status, name, avatar, handle, and the follows and blocks either way)."""
    alice, bob = api("alice"), api("bob")
    cid = new_group(alice, bob)
    say(alice, cid)

    def bob_as_alice_sees() -> Json:
        members = convo(alice, cid)["members"]
        return next(m for m in members if m["did"] == bob.did)

    def patch(who: Api, **fields: Any) -> None:
        httpx.patch(f"{server.url}/_mock/actors/{who.did}", json=fields).raise_for_status()

    first = bob_as_alice_sees()
    assert bob_as_alice_sees() == first  # kept, and the same again
    changes: list[tuple[Api, Json, Callable[[Json], bool]]] = [
        (bob, {"displayName": "Robert"}, lambda v: v["displayName"] == "Robert"),
        (bob, {"avatar": "https://example.com/b.png"}, lambda v: v["avatar"] == "https://example.com/b.png"),
        (bob, {"allowIncoming": "none"}, lambda v: v["associated"]["chat"]["allowIncoming"] == "none"),
        (bob, {"follows": [alice.did]}, lambda v: "followedBy" in v["viewer"]),
        (alice, {"follows": [bob.did]}, lambda v: "following" in v["viewer"]),
        (alice, {"blocks": [bob.did]}, lambda v: "blocking" in v["viewer"]),
        (alice, {"blocks": []}, lambda v: "blocking" not in v["viewer"]),
        (bob, {"blocks": [alice.did]}, lambda v: v["viewer"]["blockedBy"] is True),
        (bob, {"blocks": []}, lambda v: v["viewer"]["blockedBy"] is False),
        (bob, {"handle": "robert.test"}, lambda v: v["handle"] == "robert.test"),
        (bob, {"status": "suspended"}, lambda v: v["chatDisabled"] is True),
        (bob, {"status": "active"}, lambda v: v["chatDisabled"] is False),
    ]
    for who, fields, shown in changes:
        patch(who, **fields)
        view = bob_as_alice_sees()
        assert shown(view), (fields, view)
    moderation = {"actor": bob.did, "allowAccess": False}
    httpx.post(f"{server.url}/xrpc/chat.bsky.moderation.updateActorAccess", json=moderation).raise_for_status()
    assert bob_as_alice_sees()["chatDisabled"] is True


def test_convo_view_members_are_current_members_only(api: Make) -> None:
    """The last reactor is important only while a member: convoView.members lists members of the convo."""
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    cid = new_group(alice, bob, carol)
    message = say(bob, cid, "react to me")
    react(carol, cid, message["id"], "🎉")
    carol.ok(f"{CONVO}.leaveConvo", {"convoId": cid})
    view = convo(alice, cid)
    assert view["kind"]["memberCount"] == 2
    assert "carol.test" not in handles(view["members"]), view["members"]
    assert all(p["kind"]["$type"] == f"{ACTOR_DEFS}#groupConvoMember" for p in view["members"])


def test_convo_view_members_leave_out_an_owner_who_left(api: Make) -> None:
    """The member who added the viewer is important while a member; after leaving they are not in members."""
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    cid = new_group(alice, bob, carol)
    assert "alice.test" in handles(convo(bob, cid)["members"])
    alice.ok(f"{CONVO}.lockConvo", {"convoId": cid})
    alice.ok(f"{CONVO}.leaveConvo", {"convoId": cid})
    view = convo(bob, cid)
    assert view["kind"]["memberCount"] == 2
    assert handles(view["members"]) == ["bob.test", "carol.test"], view["members"]


# --------------------------------------------------------------------------- listConvos


def test_list_convos_status_and_kind_filters(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    first, second, third = new_group(alice, bob, name="A"), new_group(alice, bob, name="B"), new_group(bob, alice)
    bob.ok(f"{CONVO}.acceptConvo", {"convoId": second})

    def ids(**params: Any) -> set[str]:
        return {c["id"] for c in bob.ok(f"{CONVO}.listConvos", **params)["convos"]}

    assert ids() == {first, second, third}
    assert ids(status="request") == {first}
    assert ids(status="accepted") == {second, third}
    assert ids(kind="group") == {first, second, third}
    assert ids(kind="direct") == set(), "the mock has group convos only"
    assert ids(kind="group", status="request") == {first}
    assert all(c["kind"]["$type"] == f"{DEFS}#groupConvo" for c in bob.ok(f"{CONVO}.listConvos")["convos"])
    assert api("eve").ok(f"{CONVO}.listConvos") == {"convos": []}


def test_list_convos_lock_status_filter(server: MockChatServer, api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    open_, locked, moderated, gone = (new_group(alice, bob, name=n) for n in ("open", "locked", "moderated", "gone"))
    alice.ok(f"{CONVO}.lockConvo", {"convoId": locked})
    moderation_lock(server, moderated)
    alice.ok(f"{CONVO}.lockConvo", {"convoId": gone})
    alice.ok(f"{CONVO}.leaveConvo", {"convoId": gone})

    def ids(who: Api, status: str) -> set[str]:
        return {c["id"] for c in who.ok(f"{CONVO}.listConvos", lockStatus=status)["convos"]}

    assert ids(bob, "unlocked") == {open_}
    assert ids(bob, "locked") == {locked, moderated}, "a moderation lock shows as locked"
    assert ids(bob, "locked-permanently") == {gone}
    assert ids(alice, "locked-permanently") == set(), "the owner left that group"


def test_list_convos_read_state_unread(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    quiet, busy, system_only = new_group(alice, bob), new_group(alice, bob), new_group(alice, bob)
    say(alice, busy, "ping")
    join_link(alice, system_only)  # a system message is nothing to read
    unread = bob.ok(f"{CONVO}.listConvos", readState="unread")["convos"]
    assert [c["id"] for c in unread] == [busy] and unread[0]["unreadCount"] == 1
    assert {c["id"] for c in bob.ok(f"{CONVO}.listConvos")["convos"]} == {quiet, busy, system_only}
    assert alice.ok(f"{CONVO}.listConvos", readState="unread")["convos"] == [], "own messages are read"
    bob.ok(f"{CONVO}.updateRead", {"convoId": busy})
    assert bob.ok(f"{CONVO}.listConvos", readState="unread")["convos"] == []
    # the owner's unread join requests make a group unread for the owner (and only for the owner)
    code = join_link(alice, quiet, approval=True)
    api("carol").ok(f"{GROUP}.requestJoin", {"code": code})
    assert [c["id"] for c in alice.ok(f"{CONVO}.listConvos", readState="unread")["convos"]] == [quiet]
    assert bob.ok(f"{CONVO}.listConvos", readState="unread")["convos"] == []
    alice.ok(f"{GROUP}.updateJoinRequestsRead", {"convoId": quiet})
    assert alice.ok(f"{CONVO}.listConvos", readState="unread")["convos"] == []


def test_list_convos_most_recently_changed_first_with_paging(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    ids = [new_group(alice, bob, name=f"g{i}") for i in range(7)]
    say(alice, ids[2], "bump")  # g2 changed last
    expected = [ids[2], ids[6], ids[5], ids[4], ids[3], ids[1], ids[0]]
    everything = bob.ok(f"{CONVO}.listConvos")["convos"]
    assert [c["id"] for c in everything] == expected
    revs = [c["rev"] for c in everything]
    assert revs == sorted(revs, reverse=True)
    paged = pages(bob, f"{CONVO}.listConvos", "convos", 3)
    assert [len(p) for p in paged] == [3, 3, 1]
    assert [c["id"] for p in paged for c in p] == expected
    # exactly one full page: no cursor pointing at an empty page
    out = bob.ok(f"{CONVO}.listConvos", limit=7)
    assert len(out["convos"]) == 7 and "cursor" not in out


def test_list_convos_paging_when_a_seen_convo_changes(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    ids = [new_group(alice, bob, name=f"g{i}") for i in range(6)]
    first = bob.ok(f"{CONVO}.listConvos", limit=2)
    assert [c["id"] for c in first["convos"]] == [ids[5], ids[4]]
    say(alice, ids[5], "I move to the front")  # a convo already seen changes
    say(alice, ids[4], "me too")
    rest: list[str] = []
    cursor = first["cursor"]
    while cursor:
        out = bob.ok(f"{CONVO}.listConvos", limit=2, cursor=cursor)
        rest += [c["id"] for c in out["convos"]]
        cursor = out.get("cursor")
    assert rest == [ids[3], ids[2], ids[1], ids[0]], "no repeat of the changed convos, no skip of the others"


def test_list_convos_paging_when_an_unseen_convo_changes(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    ids = [new_group(alice, bob, name=f"g{i}") for i in range(6)]
    first = bob.ok(f"{CONVO}.listConvos", limit=2)
    say(alice, ids[1], "I jump ahead")  # not seen yet: it moves to the front
    seen = [c["id"] for c in first["convos"]]
    cursor = first["cursor"]
    while cursor:
        out = bob.ok(f"{CONVO}.listConvos", limit=2, cursor=cursor)
        seen += [c["id"] for c in out["convos"]]
        cursor = out.get("cursor")
    assert len(seen) == len(set(seen)), f"repeated: {seen}"
    unchanged = [ids[5], ids[4], ids[3], ids[2], ids[0]]
    assert [i for i in seen if i != ids[1]] == unchanged, "every unchanged convo exactly once, in order"
    assert bob.ok(f"{CONVO}.listConvos", limit=1)["convos"][0]["id"] == ids[1]


# --------------------------------------------------------------------------- listConvoRequests


def test_list_convo_requests_has_request_convos_and_own_join_requests(api: Make) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    invited = new_group(alice, bob, name="invited")
    accepted = new_group(alice, bob, name="accepted")
    bob.ok(f"{CONVO}.acceptConvo", {"convoId": accepted})
    asked = new_group(carol, name="asked")
    code = join_link(carol, asked, approval=True)
    assert bob.ok(f"{GROUP}.requestJoin", {"code": code})["status"] == "pending"

    requests = bob.ok(f"{CONVO}.listConvoRequests")["requests"]
    assert [r["$type"] for r in requests] == [f"{GROUP_DEFS}#joinRequestConvoView", f"{DEFS}#convoView"]
    pending, view = requests
    assert pending["convoId"] == asked and pending["name"] == "asked"
    assert pending["owner"]["handle"] == "carol.test"
    assert pending["memberCount"] == 1 and pending["memberLimit"] == 50
    assert pending["viewer"]["requestedAt"].endswith("Z")
    assert view["id"] == invited and view["status"] == "request" and view["kind"]["name"] == "invited"
    assert carol.ok(f"{CONVO}.listConvoRequests") == {"requests": []}, "the owner's group is accepted"

    bob.ok(f"{GROUP}.withdrawJoinRequest", {"convoId": asked})
    say(bob, invited, "replying accepts")
    assert bob.ok(f"{CONVO}.listConvoRequests") == {"requests": []}


def test_list_convo_requests_paging(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    invites = [new_group(alice, bob, name=f"i{i}") for i in range(3)]
    owners = [api(f"owner{i}") for i in range(2)]
    asked = []
    for owner in owners:
        cid = new_group(owner)
        bob.ok(f"{GROUP}.requestJoin", {"code": join_link(owner, cid, approval=True)})
        asked.append(cid)
    say(alice, invites[0], "bump")  # most recently changed now
    expected = [invites[0], asked[1], asked[0], invites[2], invites[1]]
    paged = pages(bob, f"{CONVO}.listConvoRequests", "requests", 2)
    assert [len(p) for p in paged] == [2, 2, 1]
    got = [r.get("id") or r.get("convoId") for p in paged for r in p]
    assert got == expected


# --------------------------------------------------------------------------- getConvoMembers


def test_get_convo_members_join_order_kinds_and_paging(server: MockChatServer, api: Make) -> None:
    alice, bob, carol, dave, erin = api("alice"), api("bob"), api("carol"), api("dave"), api("erin")
    cid = new_group(alice, bob, carol)
    add_members(alice, cid, dave)
    erin.ok(f"{GROUP}.requestJoin", {"code": join_link(alice, cid)})
    everyone = bob.ok(f"{CONVO}.getConvoMembers", convoId=cid)
    assert "cursor" not in everyone
    assert handles(everyone["members"]) == ["alice.test", "bob.test", "carol.test", "dave.test", "erin.test"]
    kinds = {p["handle"]: p["kind"] for p in everyone["members"]}
    assert all(k["$type"] == f"{ACTOR_DEFS}#groupConvoMember" for k in kinds.values())
    assert kinds["alice.test"]["role"] == "owner" and "addedBy" not in kinds["alice.test"]
    for name in ("bob.test", "carol.test", "dave.test"):
        assert kinds[name]["role"] == "standard" and kinds[name]["addedBy"]["did"] == alice.did
    assert kinds["erin.test"]["role"] == "standard" and "addedBy" not in kinds["erin.test"], "joined by link"
    assert all(p["chatDisabled"] is False for p in everyone["members"])

    paged = pages(bob, f"{CONVO}.getConvoMembers", "members", 2, convoId=cid)
    assert [handles(p) for p in paged] == [["alice.test", "bob.test"], ["carol.test", "dave.test"], ["erin.test"]]

    # a member removed between pages shifts nothing; a re-added member comes last
    first = bob.ok(f"{CONVO}.getConvoMembers", convoId=cid, limit=2)
    remove_members(alice, cid, carol)
    second = bob.ok(f"{CONVO}.getConvoMembers", convoId=cid, limit=2, cursor=first["cursor"])
    assert handles(second["members"]) == ["dave.test", "erin.test"] and "cursor" not in second
    add_members(alice, cid, carol)
    assert handles(bob.ok(f"{CONVO}.getConvoMembers", convoId=cid)["members"])[-1] == "carol.test"

    # an account that is not active shows chatDisabled
    response = httpx.patch(f"{server.url}/_mock/actors/{dave.did}", json={"status": "suspended"})
    assert response.status_code == 200, response.text
    flags = {p["handle"]: p["chatDisabled"] for p in bob.ok(f"{CONVO}.getConvoMembers", convoId=cid)["members"]}
    assert flags["dave.test"] is True and flags["bob.test"] is False


# --------------------------------------------------------------------------- getMessages


def test_get_messages_newest_first_with_stable_paging(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = new_group(alice, bob)
    for i in range(7):
        say(alice if i % 2 else bob, cid, f"m{i}")
    out = bob.ok(f"{CONVO}.getMessages", convoId=cid)
    assert texts(out["messages"]) == [f"m{i}" for i in range(6, -1, -1)] and "cursor" not in out
    ids = [m["id"] for m in out["messages"]]
    assert ids == sorted(ids, reverse=True), "ids (= revs) sort in send order"

    first = bob.ok(f"{CONVO}.getMessages", convoId=cid, limit=3)
    assert texts(first["messages"]) == ["m6", "m5", "m4"]
    assert first["cursor"] == first["messages"][-1]["rev"], "the cursor is the rev of the oldest message"
    say(alice, cid, "m7")  # arrives between pages: it shifts nothing
    second = bob.ok(f"{CONVO}.getMessages", convoId=cid, limit=3, cursor=first["cursor"])
    assert texts(second["messages"]) == ["m3", "m2", "m1"]
    third = bob.ok(f"{CONVO}.getMessages", convoId=cid, limit=3, cursor=second["cursor"])
    assert texts(third["messages"]) == ["m0"] and "cursor" not in third
    assert texts(bob.ok(f"{CONVO}.getMessages", convoId=cid, limit=1)["messages"]) == ["m7"]


def test_get_messages_default_limit_is_50(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = new_group(alice, bob)
    for i in range(53):
        say(alice, cid, f"m{i}")
    first = bob.ok(f"{CONVO}.getMessages", convoId=cid)
    assert len(first["messages"]) == 50 and first["messages"][0]["text"] == "m52"
    rest = bob.ok(f"{CONVO}.getMessages", convoId=cid, cursor=first["cursor"])
    assert texts(rest["messages"]) == ["m2", "m1", "m0"] and "cursor" not in rest


def test_get_messages_later_member_sees_from_their_arrival_on(api: Make) -> None:
    alice, bob, carol, dave = api("alice"), api("bob"), api("carol"), api("dave")
    cid = new_group(alice, bob)
    say(bob, cid, "before carol")
    add_members(alice, cid, carol)
    say(bob, cid, "after carol")
    code = join_link(alice, cid)
    dave.ok(f"{GROUP}.requestJoin", {"code": code})
    say(carol, cid, "after dave")

    assert texts(carol.ok(f"{CONVO}.getMessages", convoId=cid)["messages"]) == [
        "after dave",
        "MemberJoin",
        "CreateJoinLink",
        "after carol",
        "AddMember",
    ]
    assert texts(dave.ok(f"{CONVO}.getMessages", convoId=cid)["messages"]) == ["after dave", "MemberJoin"]
    added = carol.ok(f"{CONVO}.getMessages", convoId=cid)["messages"][-1]["data"]
    assert added == {
        "$type": f"{DEFS}#systemMessageDataAddMember",
        "member": {"did": carol.did},
        "role": "standard",
        "addedBy": {"did": alice.did},
    }
    joined = dave.ok(f"{CONVO}.getMessages", convoId=cid)["messages"][-1]["data"]
    assert joined == {"$type": f"{DEFS}#systemMessageDataMemberJoin", "member": {"did": dave.did}, "role": "standard"}
    # paging ends at the member's arrival too
    paged = pages(carol, f"{CONVO}.getMessages", "messages", 2, convoId=cid)
    assert [texts(p) for p in paged] == [["after dave", "MemberJoin"], ["CreateJoinLink", "after carol"], ["AddMember"]]
    # the owner sees everything, creation has no system message
    assert texts(alice.ok(f"{CONVO}.getMessages", convoId=cid)["messages"])[-1] == "before carol"
    # removed and added again: history starts over at the new arrival
    remove_members(alice, cid, carol)
    say(bob, cid, "while carol was out")
    add_members(alice, cid, carol)
    assert texts(carol.ok(f"{CONVO}.getMessages", convoId=cid)["messages"]) == ["AddMember"]
    assert convo(carol, cid)["unreadCount"] == 0


def test_get_messages_related_profiles_cover_members_and_past_members(api: Make) -> None:
    alice, bob, carol, dave = api("alice"), api("bob"), api("carol"), api("dave")
    cid = new_group(alice, bob, carol, dave)
    from_carol = say(carol, cid, "bye soon")
    react(dave, cid, from_carol["id"], "👋")
    carol.ok(f"{CONVO}.leaveConvo", {"convoId": cid})
    remove_members(alice, cid, dave)
    out = bob.ok(f"{CONVO}.getMessages", convoId=cid)
    assert texts(out["messages"]) == ["RemoveMember", "MemberLeave", "bye soon"]
    related = {p["handle"]: p["kind"] for p in out["relatedProfiles"]}
    assert set(related) == {"alice.test", "carol.test", "dave.test"}, "sender, reactor, removed, remover"
    assert len(out["relatedProfiles"]) == 3, "each once"
    assert related["carol.test"] == {"$type": f"{ACTOR_DEFS}#pastGroupConvoMember"}
    assert related["dave.test"] == {"$type": f"{ACTOR_DEFS}#pastGroupConvoMember"}
    assert related["alice.test"]["$type"] == f"{ACTOR_DEFS}#groupConvoMember"
    assert related["alice.test"]["role"] == "owner"
    # only the profiles of the page
    only_first = bob.ok(f"{CONVO}.getMessages", convoId=cid, limit=1)
    assert {p["handle"] for p in only_first["relatedProfiles"]} == {"alice.test", "dave.test"}


# --------------------------------------------------------------------------- sendMessage


def test_send_message_text_and_facets_kept_exactly(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = new_group(alice, bob)
    facets = [
        {
            "$type": "app.bsky.richtext.facet",
            "index": {"byteStart": 0, "byteEnd": 9},
            "features": [{"$type": "app.bsky.richtext.facet#mention", "did": bob.did}],
        },
        {
            "index": {"byteStart": 10, "byteEnd": 27},
            "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com/"}],
        },
        {"index": {"byteStart": 3, "byteEnd": 1}, "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "x"}]},
    ]
    text = "@bob.test https://example.com/ ünïcödé"
    sent = say(alice, cid, text, facets=facets)
    assert sent["$type"] == f"{DEFS}#messageView", "sendMessage's answer carries its $type too"
    assert sent["text"] == text and sent["facets"] == facets
    assert sent["sender"] == {"did": alice.did} and sent["id"] == sent["rev"] and sent["sentAt"].endswith("Z")
    assert "replyTo" not in sent and "embed" not in sent and "reactions" not in sent
    stored = bob.ok(f"{CONVO}.getMessages", convoId=cid)["messages"][0]
    assert stored == sent
    assert convo(bob, cid)["lastMessage"] == stored
    empty = say(bob, cid, "")
    assert empty["text"] == "" and "facets" not in empty


def test_send_message_counts_graphemes_as_unicode_does(api: Make) -> None:
    """maxGraphemes 1000: CR LF is one grapheme (ASCII is counted at once, see lexicons.py), an
    accented letter of two code points is one; one grapheme more is refused."""
    import itertools

    import grapheme

    from mockserver.lexicons import grapheme_length

    for size in range(6):  # every ASCII string of these characters up to 5 long, as grapheme counts it
        for chars in itertools.product("a\r\n\x00", repeat=size):
            text = "".join(chars)
            assert grapheme_length(text) == grapheme.length(text), repr(text)
            assert grapheme_length(text, 2) == grapheme.length(text, 2), repr(text)
    alice, bob = api("alice"), api("bob")
    cid = new_group(alice, bob)
    for unit in ("\r\n", "e\u0301"):  # 1000 graphemes of 2000 code points each
        assert say(alice, cid, unit * 1000)["text"] == unit * 1000
        error, message = alice.error(f"{CONVO}.sendMessage", {"convoId": cid, "message": {"text": unit * 1000 + "b"}})
        assert error == "InvalidRequest" and "maxGraphemes 1000" in message


def test_a_union_given_something_else_is_named_where_it_is(api: Make) -> None:
    """A string where a union wants an object with a $type (lexrpc would let it through): a 400
    that names the place, however deep; only where the lexicon can hold a union is looked at."""
    alice, bob = api("alice"), api("bob")
    cid = new_group(alice, bob)
    facet = {"index": {"byteStart": 0, "byteEnd": 1}, "features": ["x"]}
    cases = [
        (f"{CONVO}.sendMessage", {"convoId": cid, "message": {"text": "a", "embed": "x"}}, "input.message.embed"),
        (
            f"{CONVO}.sendMessageBatch",
            {"items": [{"convoId": cid, "message": {"text": "a", "facets": [facet]}}]},
            "input.items[0].message.facets[0].features[0]",
        ),
    ]
    for nsid, body, where in cases:
        error, message = alice.error(nsid, body)
        assert error == "InvalidRequest" and f"{where} must be an object with a $type" in message, message
    assert bob.ok(f"{CONVO}.getMessages", convoId=cid)["messages"] == []  # nothing was sent


def test_a_union_inside_some_members_of_a_union_is_checked_whichever_comes_first() -> None:
    """Where a union's members differ in whether they hold a union, each item is walked by its
    own member (what is known of one member is never taken for another's)."""
    from mockserver.lexicons import _UNIONS, Lexicons

    union = {"type": "union", "refs": ["#plain", "#nested"]}
    schema = {"type": "object", "properties": {"us": {"type": "array", "items": union}}}
    lexicon = {
        "lexicon": 1,
        "id": "x.test.send",
        "defs": {
            "main": {"type": "procedure", "input": {"encoding": "application/json", "schema": schema}},
            "plain": {"type": "object", "properties": {"t": {"type": "string"}}},
            "nested": {"type": "object", "properties": {"inner": {"type": "union", "refs": ["#plain"]}}},
        },
    }
    lexicons = Lexicons(lexicons=[lexicon])
    bad = {"$type": "x.test.send#nested", "inner": "a string"}
    plain = {"$type": "x.test.send#plain", "t": "x"}
    for items in ([bad], [plain, bad], [plain, plain, bad]):
        _UNIONS.clear()  # as in a new process: what the first item teaches comes first
        where = lexicons.misshapen_union("x.test.send", "input", {"us": items})
        assert (
            where
            == f"input.us[{len(items) - 1}].inner must be an object with a $type (one of the union's types), not str"
        )
    known = len(_UNIONS)
    for _ in range(100):
        lexicons.misshapen_union("x.test.send", "input", {"us": [plain, bad]})
    assert len(_UNIONS) == known  # one answer a schema, not one a call


def test_send_message_reply_embeds_parent_one_level(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = new_group(alice, bob)
    root = say(alice, cid, "root")
    child = say(bob, cid, "child", replyTo={"messageId": root["id"]})
    assert root["$type"] == f"{DEFS}#messageView" and child["replyTo"] == root
    grandchild = say(alice, cid, "grandchild", replyTo={"messageId": child["id"]})
    parent = grandchild["replyTo"]
    assert parent["$type"] == f"{DEFS}#messageView" and parent["id"] == child["id"] and parent["text"] == "child"
    assert "replyTo" not in parent, "only one level is embedded"
    shown = bob.ok(f"{CONVO}.getMessages", convoId=cid)["messages"][0]
    assert shown["replyTo"]["id"] == child["id"] and "replyTo" not in shown["replyTo"]


def test_send_message_reply_target_not_found(server: MockChatServer, api: Make) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    cid = new_group(alice, bob)
    other = new_group(alice, carol)
    elsewhere = say(alice, other, "in another convo")
    early = say(alice, cid, "before carol")
    add_members(alice, cid, carol)
    before = dump(server)
    for who, target in ((bob, "3kaaaaaaaaa22"), (bob, elsewhere["id"]), (carol, early["id"])):
        body = {"convoId": cid, "message": {"text": "re", "replyTo": {"messageId": target}}}
        error, message = who.error(f"{CONVO}.sendMessage", body)
        assert error == "ReplyTargetNotFound" and target in message
    assert dump(server) == before
    assert convo(bob, cid)["status"] == "request", "a refused reply accepts nothing"


def test_send_message_reply_to_a_system_message_is_refused_cleanly(server: MockChatServer, api: Make) -> None:
    """A replyTo can embed only a messageView: a system message is no reply target (and must never 500)."""
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    cid = new_group(alice, bob)
    add_members(alice, cid, carol)
    system = alice.ok(f"{CONVO}.getMessages", convoId=cid)["messages"][0]
    assert system["$type"] == f"{DEFS}#systemMessageView"
    before = dump(server)
    body = {"convoId": cid, "message": {"text": "re", "replyTo": {"messageId": system["id"]}}}
    status, out = bob.post(f"{CONVO}.sendMessage", body)
    assert status == 400, (status, out)
    assert out["error"] == "ReplyTargetNotFound" and system["id"] in out["message"]
    assert dump(server) == before
    # the convo stays readable for everyone
    for who in (alice, bob, carol):
        who.ok(f"{CONVO}.getMessages", convoId=cid)
        who.ok(f"{CONVO}.getConvo", convoId=cid)
        who.ok(f"{CONVO}.getLog")


def test_send_message_reply_to_message_before_viewer_joined(api: Make) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    cid = new_group(alice, bob)
    old = say(bob, cid, "old news")
    add_members(alice, cid, carol)
    reply = say(alice, cid, "about that", replyTo={"messageId": old["id"]})
    assert reply["replyTo"]["text"] == "old news"
    for_carol = carol.ok(f"{CONVO}.getMessages", convoId=cid)["messages"][0]
    assert for_carol["id"] == reply["id"]
    assert for_carol["replyTo"] == {"$type": f"{DEFS}#messageBeforeUserJoinedGroupView"}
    assert convo(carol, cid)["lastMessage"]["replyTo"] == {"$type": f"{DEFS}#messageBeforeUserJoinedGroupView"}
    assert bob.ok(f"{CONVO}.getMessages", convoId=cid)["messages"][0]["replyTo"]["id"] == old["id"]


def test_send_message_join_link_embed_shows_live_preview(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = new_group(alice, bob, name="Climbers")
    code = join_link(alice, cid, approval=True)
    sent = say(alice, cid, "join us", embed={"$type": "chat.bsky.embed.joinLink", "code": code})
    embed = sent["embed"]
    assert embed["$type"] == "chat.bsky.embed.joinLink#view"
    live = embed["joinLinkPreview"]
    assert live["$type"] == f"{GROUP_DEFS}#joinLinkPreviewView"
    assert (live["code"], live["convoId"], live["name"], live["memberCount"]) == (code, cid, "Climbers", 2)
    assert live["owner"]["did"] == alice.did and live["requireApproval"] is True and live["joinRule"] == "anyone"
    # rendered for the viewer: a member gets their own view of the convo, and has no request
    assert live["convo"]["id"] == cid and live["convo"]["status"] == "accepted" and live["viewer"] == {}

    def preview_now() -> Json:
        message = next(m for m in bob.ok(f"{CONVO}.getMessages", convoId=cid)["messages"] if m["id"] == sent["id"])
        assert message["embed"]["$type"] == "chat.bsky.embed.joinLink#view"
        out: Json = message["embed"]["joinLinkPreview"]
        return out

    assert preview_now()["convo"]["status"] == "request", "bob's preview holds bob's view of the convo"
    alice.ok(f"{GROUP}.editGroup", {"convoId": cid, "name": "Boulderers"})
    assert preview_now()["name"] == "Boulderers", "the preview is read live"
    alice.ok(f"{GROUP}.disableJoinLink", {"convoId": cid})
    assert preview_now() == {"$type": f"{GROUP_DEFS}#disabledJoinLinkPreviewView", "code": code}
    alice.ok(f"{GROUP}.enableJoinLink", {"convoId": cid})
    assert preview_now()["$type"] == f"{GROUP_DEFS}#joinLinkPreviewView"
    alice.ok(f"{GROUP}.disableJoinLink", {"convoId": cid})
    join_link(alice, cid)  # a newer link replaces it
    assert preview_now()["$type"] == f"{GROUP_DEFS}#disabledJoinLinkPreviewView"

    bogus = say(bob, cid, "?", embed={"$type": "chat.bsky.embed.joinLink", "code": "nosuchcode"})
    assert bogus["embed"]["joinLinkPreview"] == {
        "$type": f"{GROUP_DEFS}#invalidJoinLinkPreviewView",
        "code": "nosuchcode",
    }


def test_join_link_embed_is_rendered_for_each_viewer(api: Make) -> None:
    """A join link to another group, shown in a message: the requester sees their request, and the
    owner's profile carries each viewer's own follow state."""
    carol, dave = api("carol"), api("dave")
    alice = api("alice", follows=[carol.did])
    wanted = new_group(alice, name="Wanted")
    code = join_link(alice, wanted, approval=True)
    assert carol.ok(f"{GROUP}.requestJoin", {"code": code})["status"] == "pending"
    (request,) = [r for r in carol.ok(f"{CONVO}.listConvoRequests")["requests"] if r.get("convoId") == wanted]
    chat = new_group(dave, carol)
    sent = say(dave, chat, "look", embed={"$type": "chat.bsky.embed.joinLink", "code": code})

    def seen_by(who: Api) -> Json:
        message = who.ok(f"{CONVO}.getMessages", convoId=chat)["messages"][0]
        assert message["id"] == sent["id"]
        out: Json = message["embed"]["joinLinkPreview"]
        assert out["$type"] == f"{GROUP_DEFS}#joinLinkPreviewView" and out["convoId"] == wanted
        assert "convo" not in out, "neither of them is a member of that group"
        return out

    for_carol, for_dave = seen_by(carol), seen_by(dave)
    assert for_carol["viewer"] == {"requestedAt": request["viewer"]["requestedAt"]} and for_dave["viewer"] == {}
    assert "followedBy" in for_carol["owner"]["viewer"], "alice follows carol"
    assert "followedBy" not in for_dave["owner"]["viewer"]
    assert sent["embed"]["joinLinkPreview"] == for_dave, "the sender's answer is rendered for the sender"


def test_send_message_record_embed_and_unsupported_embed(server: MockChatServer, api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = new_group(alice, bob)
    uri = "at://did:plc:abc/app.bsky.feed.post/3kxyz"
    embed = {"$type": "app.bsky.embed.record", "record": {"uri": uri, "cid": "bafyreib2rxk3rh6kzwq"}}
    sent = say(alice, cid, "look", embed=embed)
    assert sent["embed"] == {
        "$type": "app.bsky.embed.record#view",
        "record": {"$type": "app.bsky.embed.record#viewNotFound", "uri": uri, "notFound": True},
    }
    before = dump(server)
    body = {"convoId": cid, "message": {"text": "pic", "embed": {"$type": "app.bsky.embed.images", "images": []}}}
    error, message = alice.error(f"{CONVO}.sendMessage", body)
    assert error == "InvalidRequest" and "app.bsky.embed.images" in message
    assert dump(server) == before


def test_send_message_locked_and_invalid_convo_in_check_order(server: MockChatServer, api: Make) -> None:
    alice, bob, eve = api("alice"), api("bob"), api("eve")
    cid = new_group(alice, bob)
    target = say(alice, cid, "x")
    alice.ok(f"{CONVO}.lockConvo", {"convoId": cid})
    before = dump(server)
    expect_invalid_convo(eve, f"{CONVO}.sendMessage", {"convoId": cid, "message": {"text": "hi"}})
    expect_invalid_convo(alice, f"{CONVO}.sendMessage", {"convoId": NO_SUCH_CONVO, "message": {"text": "hi"}})
    # locked comes before the embed and the reply target checks
    bad = {
        "text": "hi",
        "embed": {"$type": "app.bsky.embed.images", "images": []},
        "replyTo": {"messageId": "3kaaaaaaaaa22"},
    }
    for who, message in ((bob, {"text": "hi"}), (alice, {"text": "hi"}), (bob, bad)):
        error, text = who.error(f"{CONVO}.sendMessage", {"convoId": cid, "message": message})
        assert error == "ConvoLocked" and "locked" in text
    assert dump(server) == before
    assert convo(bob, cid)["status"] == "request", "a refused send accepts nothing"
    # embed before reply target when unlocked
    alice.ok(f"{CONVO}.unlockConvo", {"convoId": cid})
    error, text = bob.error(f"{CONVO}.sendMessage", {"convoId": cid, "message": bad})
    assert error == "InvalidRequest" and "app.bsky.embed.images" in text
    ok = {"text": "hi", "replyTo": {"messageId": target["id"]}}
    assert say(bob, cid, **ok)["replyTo"]["id"] == target["id"]
    # a moderation lock refuses too
    moderation_lock(server, cid)
    error, text = alice.error(f"{CONVO}.sendMessage", {"convoId": cid, "message": {"text": "hi"}})
    assert error == "ConvoLocked" and "moderation" in text


def test_send_message_in_request_status_accepts_the_convo(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = new_group(alice, bob)
    assert convo(bob, cid)["status"] == "request"
    say(bob, cid, "hi all")
    assert convo(bob, cid)["status"] == "accepted"
    assert log_kinds(bob, cid) == ["logBeginConvo", "logAcceptConvo", "logCreateMessage"]
    assert log_kinds(alice, cid) == ["logBeginConvo", "logCreateMessage"]
    assert bob.ok(f"{CONVO}.acceptConvo", {"convoId": cid}) == {}, "already accepted"


# --------------------------------------------------------------------------- getLog


def test_get_log_create_group_and_add_member_per_viewer(api: Make) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    cid = new_group(alice, bob)
    add_members(alice, cid, carol)
    assert log_kinds(alice) == ["logBeginConvo", "logAddMember"]
    assert log_kinds(bob) == ["logBeginConvo", "logAddMember"]
    events, _ = read_log(carol)
    assert [short(e["$type"]) for e in events] == ["logBeginConvo", "logAddMember"]
    begin, added = events
    assert begin["convoId"] == cid and set(begin) == {"$type", "rev", "convoId"}
    assert added["message"]["data"]["$type"] == f"{DEFS}#systemMessageDataAddMember"
    assert added["message"]["data"]["member"] == {"did": carol.did}
    assert added["message"]["$type"] == f"{DEFS}#systemMessageView", "every message in a log event has its $type"
    assert {p["handle"] for p in added["relatedProfiles"]} == {"alice.test", "carol.test"}
    assert begin["rev"] < added["rev"]
    assert added["message"]["id"] == carol.ok(f"{CONVO}.getMessages", convoId=cid)["messages"][0]["id"]


def test_get_log_removed_member_gets_leave_not_remove(api: Make) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    cid = new_group(alice, bob, carol)
    remove_members(alice, cid, bob)
    assert log_kinds(bob) == ["logBeginConvo", "logLeaveConvo"]
    assert "logRemoveMember" not in log_kinds(bob)
    assert log_kinds(alice) == ["logBeginConvo", "logRemoveMember"]
    events, _ = read_log(carol)
    assert [short(e["$type"]) for e in events] == ["logBeginConvo", "logRemoveMember"]
    removed = events[1]
    assert removed["message"]["data"] == {
        "$type": f"{DEFS}#systemMessageDataRemoveMember",
        "member": {"did": bob.did},
        "removedBy": {"did": alice.did},
    }
    kinds = {p["handle"]: p["kind"]["$type"] for p in removed["relatedProfiles"]}
    assert kinds == {"bob.test": f"{ACTOR_DEFS}#pastGroupConvoMember", "alice.test": f"{ACTOR_DEFS}#groupConvoMember"}


def test_get_log_join_requests_only_owner_gets_incoming(api: Make) -> None:
    alice, bob, carol, dave = api("alice"), api("bob"), api("carol"), api("dave")
    cid = new_group(alice, bob)
    code = join_link(alice, cid, approval=True)
    carol.ok(f"{GROUP}.requestJoin", {"code": code})
    dave.ok(f"{GROUP}.requestJoin", {"code": code})
    dave.ok(f"{GROUP}.withdrawJoinRequest", {"convoId": cid})
    carol_log, _ = read_log(carol)
    assert [short(e["$type"]) for e in carol_log] == ["logOutgoingJoinRequest"]
    assert log_kinds(dave) == ["logOutgoingJoinRequest", "logWithdrawOutgoingJoinRequest"]
    assert log_kinds(bob) == ["logBeginConvo", "logCreateJoinLink"], "other members hear of no request"
    owner_log, _ = read_log(alice)
    assert [short(e["$type"]) for e in owner_log] == [
        "logBeginConvo",
        "logCreateJoinLink",
        "logIncomingJoinRequest",
        "logIncomingJoinRequest",
        "logWithdrawIncomingJoinRequest",
    ]
    assert [e["member"]["handle"] for e in owner_log[2:]] == ["carol.test", "dave.test", "dave.test"]

    alice.ok(f"{GROUP}.approveJoinRequest", {"convoId": cid, "member": carol.did})
    assert log_kinds(alice)[-2:] == ["logApproveJoinRequest", "logMemberJoin"]
    assert log_kinds(carol) == ["logOutgoingJoinRequest", "logBeginConvo", "logMemberJoin"]
    assert log_kinds(bob)[-1] == "logMemberJoin"
    joined = read_log(carol)[0][-1]["message"]["data"]
    assert joined["approvedBy"] == {"did": alice.did} and joined["member"] == {"did": carol.did}


def test_get_log_leave_convo_member_and_owner(api: Make) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    cid = new_group(alice, bob, carol)
    carol.ok(f"{CONVO}.leaveConvo", {"convoId": cid})
    assert log_kinds(carol) == ["logBeginConvo", "logLeaveConvo"]
    assert log_kinds(bob) == ["logBeginConvo", "logMemberLeave"]
    alice.ok(f"{CONVO}.lockConvo", {"convoId": cid})
    alice.ok(f"{CONVO}.leaveConvo", {"convoId": cid})
    assert log_kinds(alice) == [
        "logBeginConvo",
        "logMemberLeave",
        "logLockConvo",
        "logLockConvoPermanently",
        "logLeaveConvo",
    ]
    bob_log, _ = read_log(bob)
    assert [short(e["$type"]) for e in bob_log][-3:] == ["logLockConvo", "logLockConvoPermanently", "logMemberLeave"]
    assert bob_log[-2]["message"]["data"] == {
        "$type": f"{DEFS}#systemMessageDataLockConvoPermanently",
        "lockedBy": {"did": alice.did},
    }
    assert bob_log[-1]["message"]["data"] == {
        "$type": f"{DEFS}#systemMessageDataMemberLeave",
        "member": {"did": alice.did},
    }


def test_get_log_own_changes_per_viewer(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = new_group(alice, bob)
    bob.ok(f"{CONVO}.acceptConvo", {"convoId": cid})
    bob.ok(f"{CONVO}.muteConvo", {"convoId": cid})
    bob.ok(f"{CONVO}.muteConvo", {"convoId": cid})  # no change, no event
    bob.ok(f"{CONVO}.unmuteConvo", {"convoId": cid})
    bob.ok(f"{CONVO}.unmuteConvo", {"convoId": cid})
    sent = say(alice, cid, "hi")
    bob.ok(f"{CONVO}.updateRead", {"convoId": cid})
    react(bob, cid, sent["id"], "👍")
    react(bob, cid, sent["id"], "👍", op="remove")
    alice.ok(f"{GROUP}.editGroup", {"convoId": cid, "name": "Renamed"})
    alice.ok(f"{CONVO}.lockConvo", {"convoId": cid})
    alice.ok(f"{CONVO}.unlockConvo", {"convoId": cid})
    shared = ["logAddReaction", "logRemoveReaction", "logEditGroup", "logLockConvo", "logUnlockConvo"]
    assert log_kinds(bob) == [
        "logBeginConvo",
        "logAcceptConvo",
        "logMuteConvo",
        "logUnmuteConvo",
        "logCreateMessage",
        "logReadConvo",
        *shared,
    ]
    assert log_kinds(alice) == ["logBeginConvo", "logCreateMessage", *shared]
    events = {short(e["$type"]): e for e in read_log(bob)[0]}
    assert events["logReadConvo"]["message"]["id"] == sent["id"]
    assert events["logCreateMessage"]["message"]["$type"] == f"{DEFS}#messageView"
    assert events["logCreateMessage"]["message"]["text"] == "hi"
    assert [p["did"] for p in events["logCreateMessage"]["relatedProfiles"]] == [alice.did]
    assert events["logAddReaction"]["reaction"]["value"] == "👍"
    assert events["logAddReaction"]["reaction"]["sender"] == {"did": bob.did}
    assert {p["did"] for p in events["logAddReaction"]["relatedProfiles"]} == {alice.did, bob.did}
    assert events["logEditGroup"]["message"]["data"] == {
        "$type": f"{DEFS}#systemMessageDataEditGroup",
        "oldName": "Group",
        "newName": "Renamed",
    }
    assert events["logUnlockConvo"]["message"]["data"]["unlockedBy"] == {"did": alice.did}


def test_get_log_paging_never_skips_or_repeats(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    groups = [new_group(alice, bob, name=f"g{i}") for i in range(3)]
    for i in range(130):
        say(alice, groups[i % 3], f"n{i}")
    first = bob.ok(f"{CONVO}.getLog", cursor="")  # the empty cursor: from the very start
    assert len(first["logs"]) == 100, "at most 100 per call"
    assert first["cursor"] == first["logs"][-1]["rev"], "the cursor is the rev of the last event"
    events, cursor = read_log(bob)
    assert len(events) == 3 + 130
    revs = [e["rev"] for e in events]
    assert revs == sorted(revs) and len(set(revs)) == len(revs), "oldest first, each once"
    assert cursor == revs[-1]
    assert [e["message"]["text"] for e in events[3:]] == [f"n{i}" for i in range(130)]
    # no cursor: no events, and the server's head to poll from (nothing written sorts after it)
    now = bob.ok(f"{CONVO}.getLog")
    assert now["logs"] == [] and now["cursor"] >= revs[-1], now
    assert bob.ok(f"{CONVO}.getLog", cursor=now["cursor"]) == {"logs": [], "cursor": now["cursor"]}

    # the cursor of a full page continues exactly after it
    rest = bob.ok(f"{CONVO}.getLog", cursor=first["cursor"])["logs"]
    assert [e["rev"] for e in first["logs"] + rest] == revs[:133]
    # nothing new: the cursor sent comes back, with no events
    assert bob.ok(f"{CONVO}.getLog", cursor=cursor) == {"logs": [], "cursor": cursor}
    # written between calls: on the next call, and only those
    say(alice, groups[1], "late")
    alice.ok(f"{CONVO}.muteConvo", {"convoId": groups[0]})  # alice's own: bob does not get it
    bob.ok(f"{CONVO}.acceptConvo", {"convoId": groups[2]})
    later = bob.ok(f"{CONVO}.getLog", cursor=cursor)
    assert [short(e["$type"]) for e in later["logs"]] == ["logCreateMessage", "logAcceptConvo"]
    assert later["logs"][0]["message"]["text"] == "late"
    assert later["cursor"] == later["logs"][-1]["rev"] > cursor
    assert bob.ok(f"{CONVO}.getLog", cursor=later["cursor"])["logs"] == []
    # polling from the head answered before: exactly what was written since
    assert bob.ok(f"{CONVO}.getLog", cursor=now["cursor"]) == later


def test_get_log_read_convo_carries_no_related_profiles(api: Make) -> None:
    """logReadConvo has no relatedProfiles in the lexicon, whatever kind of message was read up to."""
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    cid = new_group(alice, bob)
    add_members(alice, cid, carol)  # the newest message is a system message
    bob.ok(f"{CONVO}.updateRead", {"convoId": cid})
    say(alice, cid, "now a user message")
    bob.ok(f"{CONVO}.updateRead", {"convoId": cid})
    reads = [e for e in read_log(bob)[0] if short(e["$type"]) == "logReadConvo"]
    assert [short(e["message"]["$type"]) for e in reads] == ["systemMessageView", "messageView"]
    for event in reads:
        assert set(event) == {"$type", "rev", "convoId", "message"}, sorted(event)


def test_get_log_for_nobody_and_empty(api: Make) -> None:
    """Without a cursor getLog answers the server's head, also for an account with no events; from
    the empty cursor there is nothing, and the cursor sent comes back."""
    eve = api("eve")
    head = eve.ok(f"{CONVO}.getLog")
    assert head["logs"] == [] and len(head["cursor"]) == 13, head
    assert eve.ok(f"{CONVO}.getLog", cursor="") == {"logs": [], "cursor": ""}
    # every later event sorts after the head
    alice = api("alice")
    cid = new_group(alice, eve)
    later = eve.ok(f"{CONVO}.getLog", cursor=head["cursor"])["logs"]
    assert [(short(e["$type"]), e["convoId"]) for e in later] == [("logBeginConvo", cid)]
    assert later[0]["rev"] > head["cursor"]


def test_get_log_of_a_removed_member_keeps_earlier_history_hidden(api: Make) -> None:
    """After removal, old log events must not show what the member could never see (messages before they joined)."""
    alice, bob, dave = api("alice"), api("bob"), api("dave")
    cid = new_group(alice, bob)
    secret = say(bob, cid, "said before dave came")
    add_members(alice, cid, dave)
    say(bob, cid, "reply", replyTo={"messageId": secret["id"]})

    def reply_parent() -> Json:
        created = [e for e in read_log(dave)[0] if short(e["$type"]) == "logCreateMessage"]
        assert len(created) == 1
        out: Json = created[0]["message"]["replyTo"]
        return out

    assert reply_parent() == {"$type": f"{DEFS}#messageBeforeUserJoinedGroupView"}
    remove_members(alice, cid, dave)
    assert reply_parent() == {"$type": f"{DEFS}#messageBeforeUserJoinedGroupView"}, "history leaked after removal"


# --------------------------------------------------------------------------- disabled accounts


@pytest.mark.parametrize("status", ["suspended", "deactivated", "takendown"])
def test_disabled_account_cannot_act_but_may_read_and_leave(server: MockChatServer, api: Make, status: str) -> None:
    """An account that is not active is refused on every convo method where it acts, with the exact
    text the official app matches; the check comes after the input schema and before every rule."""
    alice, bob = api("alice"), api("bob")
    cid = new_group(alice, bob)
    target = say(alice, cid, "hi")
    response = httpx.patch(f"{server.url}/_mock/actors/{bob.did}", json={"status": status})
    assert response.status_code == 200, response.text
    before = dump(server)
    reaction = {"convoId": cid, "messageId": target["id"], "value": "👍"}
    acting = [
        ("sendMessage", {"convoId": cid, "message": {"text": "x"}}),
        ("addReaction", reaction),
        ("removeReaction", reaction),
        ("acceptConvo", {"convoId": cid}),
        ("lockConvo", {"convoId": cid}),  # bob is no owner: the role would refuse him later
        ("unlockConvo", {"convoId": cid}),
        ("sendMessage", {"convoId": NO_SUCH_CONVO, "message": {"text": "x"}}),  # before InvalidConvo
    ]
    for nsid, body in acting:
        assert bob.error(f"{CONVO}.{nsid}", body) == ("InvalidRequest", "Account is disabled"), nsid
    # the input schema comes first
    error, message = bob.error(f"{CONVO}.sendMessage", {"convoId": cid})
    assert error == "InvalidRequest" and message != "Account is disabled", message
    assert dump(server) == before
    # reading, muting, marking read and leaving are still allowed
    assert convo(bob, cid)["unreadCount"] == 1
    bob.ok(f"{CONVO}.getMessages", convoId=cid)
    bob.ok(f"{CONVO}.muteConvo", {"convoId": cid})
    bob.ok(f"{CONVO}.unmuteConvo", {"convoId": cid})
    assert bob.ok(f"{CONVO}.updateRead", {"convoId": cid})["convo"]["unreadCount"] == 0
    assert bob.ok(f"{CONVO}.updateAllRead", {}) == {"updatedCount": 0}
    bob.ok(f"{CONVO}.leaveConvo", {"convoId": cid})
    # a disabled owner cannot lock their own group either
    httpx.patch(f"{server.url}/_mock/actors/{alice.did}", json={"status": status}).raise_for_status()
    assert alice.error(f"{CONVO}.lockConvo", {"convoId": cid}) == ("InvalidRequest", "Account is disabled")


# --------------------------------------------------------------------------- acceptConvo


def test_accept_convo_rev_only_the_first_time(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = new_group(alice, bob)
    rev_before = convo(bob, cid)["rev"]
    out = bob.ok(f"{CONVO}.acceptConvo", {"convoId": cid})
    assert set(out) == {"rev"} and out["rev"] > rev_before
    view = convo(bob, cid)
    assert view["status"] == "accepted" and view["rev"] == out["rev"]
    assert convo(alice, cid)["rev"] == rev_before, "accepting is bob's own: alice's view keeps its rev"
    assert bob.ok(f"{CONVO}.acceptConvo", {"convoId": cid}) == {}
    assert alice.ok(f"{CONVO}.acceptConvo", {"convoId": cid}) == {}, "the owner starts accepted"
    assert log_kinds(bob, cid) == ["logBeginConvo", "logAcceptConvo"]
    assert read_log(bob)[0][-1]["rev"] == out["rev"]
    expect_invalid_convo(bob, f"{CONVO}.acceptConvo", {"convoId": NO_SUCH_CONVO})


# --------------------------------------------------------------------------- leaveConvo


def test_leave_convo_member(api: Make) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    cid = new_group(alice, bob, carol)
    rev = convo(bob, cid)["rev"]
    out = bob.ok(f"{CONVO}.leaveConvo", {"convoId": cid})
    assert out["convoId"] == cid and out["rev"] > rev
    expect_invalid_convo(bob, f"{CONVO}.getConvo", convoId=cid)
    expect_invalid_convo(bob, f"{CONVO}.leaveConvo", {"convoId": cid})
    view = convo(carol, cid)
    assert view["kind"]["memberCount"] == 2
    assert view["lastMessage"]["data"] == {"$type": f"{DEFS}#systemMessageDataMemberLeave", "member": {"did": bob.did}}
    assert bob.ok(f"{CONVO}.listConvos")["convos"] == []
    assert handles(carol.ok(f"{CONVO}.getConvoMembers", convoId=cid)["members"]) == ["alice.test", "carol.test"]


def test_leave_convo_owner_rules(server: MockChatServer, api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = new_group(alice, bob)
    before = dump(server)
    error, message = alice.error(f"{CONVO}.leaveConvo", {"convoId": cid})
    assert error == "OwnerCannotLeave" and "lock" in message
    assert dump(server) == before
    alice.ok(f"{CONVO}.lockConvo", {"convoId": cid})
    out = alice.ok(f"{CONVO}.leaveConvo", {"convoId": cid})
    assert out["convoId"] == cid
    view = convo(bob, cid)
    assert view["kind"]["lockStatus"] == "locked-permanently" and view["kind"]["memberCount"] == 1
    assert texts(bob.ok(f"{CONVO}.getMessages", convoId=cid)["messages"])[:3] == [
        "MemberLeave",
        "LockConvoPermanently",
        "LockConvo",
    ]
    assert out["rev"] <= view["rev"]
    # nobody holds the owner role now
    error, message = bob.error(f"{CONVO}.unlockConvo", {"convoId": cid})
    assert error == "InsufficientRole" and "owner" in message


def test_owner_may_leave_a_moderation_locked_group(server: MockChatServer, api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = new_group(alice, bob)
    moderation_lock(server, cid)
    alice.ok(f"{CONVO}.leaveConvo", {"convoId": cid})
    kind = convo(bob, cid)["kind"]
    assert kind["lockStatus"] == "locked-permanently" and kind["lockStatusModerationOverride"] is True


# --------------------------------------------------------------------------- lockConvo / unlockConvo


def test_lock_and_unlock_convo(server: MockChatServer, api: Make) -> None:
    alice, bob, eve = api("alice"), api("bob"), api("eve")
    cid = new_group(alice, bob)
    before = dump(server)
    expect_invalid_convo(eve, f"{CONVO}.lockConvo", {"convoId": cid})
    error, message = bob.error(f"{CONVO}.lockConvo", {"convoId": cid})
    assert error == "InsufficientRole" and "owner" in message
    error, message = bob.error(f"{CONVO}.unlockConvo", {"convoId": cid})
    assert error == "InsufficientRole" and "owner" in message
    expect_invalid_convo(eve, f"{CONVO}.unlockConvo", {"convoId": cid})
    assert dump(server) == before

    # unlocking an unlocked group is a no-op
    rev = convo(alice, cid)["rev"]
    assert alice.ok(f"{CONVO}.unlockConvo", {"convoId": cid})["convo"]["rev"] == rev
    assert alice.ok(f"{CONVO}.getMessages", convoId=cid)["messages"] == []

    locked = alice.ok(f"{CONVO}.lockConvo", {"convoId": cid})["convo"]
    assert locked["kind"]["lockStatus"] == "locked" and locked["kind"]["lockStatusModerationOverride"] is False
    assert locked["lastMessage"]["data"] == {
        "$type": f"{DEFS}#systemMessageDataLockConvo",
        "lockedBy": {"did": alice.did},
    }
    assert locked["rev"] > rev
    before = dump(server)
    error, message = alice.error(f"{CONVO}.lockConvo", {"convoId": cid})
    assert error == "ConvoLocked" and "locked" in message
    assert dump(server) == before
    # reading a locked group is still allowed
    assert convo(bob, cid)["unreadCount"] == 0
    assert bob.ok(f"{CONVO}.updateRead", {"convoId": cid})["convo"]["kind"]["lockStatus"] == "locked"
    assert log_kinds(bob, cid)[-1] == "logReadConvo"

    unlocked = alice.ok(f"{CONVO}.unlockConvo", {"convoId": cid})["convo"]
    assert unlocked["kind"]["lockStatus"] == "unlocked"
    assert unlocked["lastMessage"]["data"] == {
        "$type": f"{DEFS}#systemMessageDataUnlockConvo",
        "unlockedBy": {"did": alice.did},
    }
    say(bob, cid, "we can talk again")


def test_moderation_lock(server: MockChatServer, api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = new_group(alice, bob)
    moderation_lock(server, cid)
    kind = convo(bob, cid)["kind"]
    assert kind["lockStatus"] == "locked" and kind["lockStatusModerationOverride"] is True
    before = dump(server)
    error, message = alice.error(f"{CONVO}.lockConvo", {"convoId": cid})
    assert error == "ConvoLocked" and "moderation" in message
    error, message = alice.error(f"{CONVO}.unlockConvo", {"convoId": cid})
    assert error == "ConvoLockedByModeration" and "moderation" in message
    assert dump(server) == before
    # the owner's own lock underneath: moderation still wins on unlock
    moderation_lock(server, cid, on=False)
    alice.ok(f"{CONVO}.lockConvo", {"convoId": cid})
    moderation_lock(server, cid)
    error, _ = alice.error(f"{CONVO}.unlockConvo", {"convoId": cid})
    assert error == "ConvoLockedByModeration"
    moderation_lock(server, cid, on=False)
    kind = alice.ok(f"{CONVO}.unlockConvo", {"convoId": cid})["convo"]["kind"]
    assert kind["lockStatus"] == "unlocked" and kind["lockStatusModerationOverride"] is False


# --------------------------------------------------------------------------- muteConvo / unmuteConvo


def test_mute_and_unmute_convo(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = new_group(alice, bob)
    alice_rev = convo(alice, cid)["rev"]
    muted = bob.ok(f"{CONVO}.muteConvo", {"convoId": cid})["convo"]
    assert muted["muted"] is True and muted["id"] == cid
    assert convo(alice, cid)["muted"] is False, "muting is the viewer's own"
    # a private change: it moves bob's view of the convo only
    assert muted["rev"] == read_log(bob)[0][-1]["rev"] > alice_rev
    assert convo(alice, cid)["rev"] == alice_rev
    assert bob.ok(f"{CONVO}.muteConvo", {"convoId": cid})["convo"]["muted"] is True
    assert bob.ok(f"{CONVO}.unmuteConvo", {"convoId": cid})["convo"]["muted"] is False
    assert bob.ok(f"{CONVO}.unmuteConvo", {"convoId": cid})["convo"]["muted"] is False
    assert convo(bob, cid)["muted"] is False
    assert log_kinds(bob, cid) == ["logBeginConvo", "logMuteConvo", "logUnmuteConvo"]
    assert log_kinds(alice, cid) == ["logBeginConvo"]
    expect_invalid_convo(bob, f"{CONVO}.muteConvo", {"convoId": NO_SUCH_CONVO})
    expect_invalid_convo(bob, f"{CONVO}.unmuteConvo", {"convoId": NO_SUCH_CONVO})


# --------------------------------------------------------------------------- updateRead / updateAllRead


def test_update_read_with_and_without_message_id(server: MockChatServer, api: Make) -> None:
    alice, bob, carol, eve = api("alice"), api("bob"), api("carol"), api("eve")
    cid = new_group(alice, bob)
    early = say(alice, cid, "one")
    add_members(alice, cid, carol)
    sent = [say(alice, cid, t) for t in ("two", "three", "four")]
    assert convo(bob, cid)["unreadCount"] == 4
    assert convo(carol, cid)["unreadCount"] == 3, "nothing before their arrival, system messages do not count"

    out = bob.ok(f"{CONVO}.updateRead", {"convoId": cid, "messageId": sent[0]["id"]})
    assert out["convo"]["unreadCount"] == 2
    assert read_log(bob)[0][-1]["message"]["id"] == sent[0]["id"]
    out = bob.ok(f"{CONVO}.updateRead", {"convoId": cid})
    assert out["convo"]["unreadCount"] == 0
    last = read_log(bob)[0][-1]
    assert short(last["$type"]) == "logReadConvo" and last["message"]["id"] == sent[-1]["id"]
    assert convo(carol, cid)["unreadCount"] == 3, "reading is the caller's own"

    before = dump(server)
    for who, message_id in ((carol, early["id"]), (bob, "3kaaaaaaaaa22")):
        error, message = who.error(f"{CONVO}.updateRead", {"convoId": cid, "messageId": message_id})
        assert error == "InvalidRequest" and message_id in message
    expect_invalid_convo(eve, f"{CONVO}.updateRead", {"convoId": cid})
    assert dump(server) == before
    assert convo(carol, cid)["unreadCount"] == 3


def test_update_all_read_counts_updated_convos(api: Make) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    accepted = [new_group(alice, bob) for _ in range(2)]
    request = new_group(carol, bob)
    quiet = new_group(alice, bob)
    for cid in accepted:
        bob.ok(f"{CONVO}.acceptConvo", {"convoId": cid})
        say(alice, cid, "news")
    say(carol, request, "news")
    assert bob.ok(f"{CONVO}.updateAllRead", {"status": "accepted"}) == {"updatedCount": 2}
    assert [convo(bob, c)["unreadCount"] for c in accepted] == [0, 0]
    assert convo(bob, request)["unreadCount"] == 1, "only accepted convos were read"
    assert bob.ok(f"{CONVO}.updateAllRead", {}) == {"updatedCount": 1}
    assert convo(bob, request)["unreadCount"] == 0
    assert bob.ok(f"{CONVO}.updateAllRead", {}) == {"updatedCount": 0}
    assert log_kinds(bob, quiet) == ["logBeginConvo"], "nothing to read there"
    assert log_kinds(bob, request)[-1] == "logReadConvo"
    assert api("eve").ok(f"{CONVO}.updateAllRead", {}) == {"updatedCount": 0}


# --------------------------------------------------------------------------- getUnreadCounts


def test_get_unread_counts(server: MockChatServer, api: Make) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    accepted, request, muted, locked, moderated = (new_group(alice, bob) for _ in range(5))
    for cid in (accepted, muted, locked, moderated):
        bob.ok(f"{CONVO}.acceptConvo", {"convoId": cid})
    for cid in (accepted, request, muted, locked, moderated):
        say(alice, cid, "unread")
    bob.ok(f"{CONVO}.muteConvo", {"convoId": muted})
    moderation_lock(server, moderated)
    alice.ok(f"{CONVO}.lockConvo", {"convoId": locked})  # the lock's system message is not unread
    assert bob.ok(f"{CONVO}.getUnreadCounts") == {"unreadAcceptedConvos": 1, "unreadRequestConvos": 1}
    assert bob.ok(f"{CONVO}.getUnreadCounts", includeGroupChats="false") == {
        "unreadAcceptedConvos": 0,
        "unreadRequestConvos": 0,
    }
    assert alice.ok(f"{CONVO}.getUnreadCounts") == {"unreadAcceptedConvos": 0, "unreadRequestConvos": 0}

    # the owner's unread join requests count, until read
    code = join_link(alice, accepted, approval=True)
    carol.ok(f"{GROUP}.requestJoin", {"code": code})
    assert alice.ok(f"{CONVO}.getUnreadCounts") == {"unreadAcceptedConvos": 1, "unreadRequestConvos": 0}
    assert bob.ok(f"{CONVO}.getUnreadCounts")["unreadAcceptedConvos"] == 1, "members have no join requests"
    alice.ok(f"{GROUP}.updateJoinRequestsRead", {"convoId": accepted})
    assert alice.ok(f"{CONVO}.getUnreadCounts") == {"unreadAcceptedConvos": 0, "unreadRequestConvos": 0}

    bob.ok(f"{CONVO}.updateAllRead", {})
    assert bob.ok(f"{CONVO}.getUnreadCounts") == {"unreadAcceptedConvos": 0, "unreadRequestConvos": 0}


# --------------------------------------------------------------------------- reactions


def test_reactions_idempotent_and_last_reaction(api: Make) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    cid = new_group(alice, bob, carol)
    first, second = say(alice, cid, "first"), say(alice, cid, "second")
    out = react(bob, cid, first["id"], "👍")
    assert out["$type"] == f"{DEFS}#messageView"
    assert [(r["value"], r["sender"]["did"]) for r in out["reactions"]] == [("👍", bob.did)]
    again = react(bob, cid, first["id"], "👍")
    assert again["reactions"] == out["reactions"], "the same emoji twice is one reaction"
    react(carol, cid, second["id"], "🎉")
    react(bob, cid, first["id"], "🔥")
    view = convo(alice, cid)
    last = view["lastReaction"]
    assert last["$type"] == f"{DEFS}#messageAndReactionView"
    assert last["message"]["$type"] == f"{DEFS}#messageView"
    assert last["message"]["id"] == first["id"] and last["reaction"]["value"] == "🔥"
    assert last["reaction"]["sender"] == {"did": bob.did}
    assert "bob.test" in handles(view["members"])

    # the newest reaction still in place takes over when the last one goes
    react(bob, cid, first["id"], "🔥", op="remove")
    last = convo(alice, cid)["lastReaction"]
    assert (last["message"]["id"], last["reaction"]["value"]) == (second["id"], "🎉")
    removed = react(carol, cid, second["id"], "🎉", op="remove")
    assert "reactions" not in removed and removed["$type"] == f"{DEFS}#messageView"
    assert react(carol, cid, second["id"], "🎉", op="remove") == removed, "removing twice is fine"
    last = convo(alice, cid)["lastReaction"]
    assert (last["message"]["id"], last["reaction"]["value"]) == (first["id"], "👍")
    react(bob, cid, first["id"], "👍", op="remove")
    assert "lastReaction" not in convo(alice, cid)
    kinds = [k for k in log_kinds(alice, cid) if "Reaction" in k]
    assert kinds == ["logAddReaction"] * 3 + ["logRemoveReaction"] * 3, "no events for no-op calls"


def test_reaction_errors_in_order(server: MockChatServer, api: Make) -> None:
    alice, bob, carol, eve = api("alice"), api("bob"), api("carol"), api("eve")
    cid = new_group(alice, bob)
    early = say(alice, cid, "before carol")
    add_members(alice, cid, carol)
    system = alice.ok(f"{CONVO}.getMessages", convoId=cid)["messages"][0]
    assert system["$type"] == f"{DEFS}#systemMessageView"
    target = say(alice, cid, "react here")
    before = dump(server)

    def refused(who: Api, message_id: str, value: str, op: str = "add") -> tuple[str, str]:
        return who.error(f"{CONVO}.{op}Reaction", {"convoId": cid, "messageId": message_id, "value": value})

    for op in ("add", "remove"):
        expect_invalid_convo(eve, f"{CONVO}.{op}Reaction", {"convoId": cid, "messageId": target["id"], "value": "👍"})
        assert refused(bob, "3kaaaaaaaaa22", "a", op)[0] == "InvalidRequest"
        error, message = refused(carol, early["id"], "👍", op)
        assert error == "InvalidRequest" and early["id"] in message, "before carol joined"
        error, message = refused(bob, system["id"], "a", op)
        assert error == "ReactionNotAllowed" and "ystem" in message, "system message comes before the value"
        error, message = refused(bob, target["id"], "a", op)
        assert error == "ReactionInvalidValue" and "'a'" in message
    assert dump(server) == before
    assert refused(bob, target["id"], "7")[0] == "ReactionInvalidValue"
    # a value of two graphemes never reaches the rules
    error, message = refused(bob, target["id"], "👍👍")
    assert error == "InvalidRequest" and "value" in message

    alice.ok(f"{CONVO}.lockConvo", {"convoId": cid})
    before = dump(server)
    for op in ("add", "remove"):
        error, message = refused(bob, target["id"], "a", op)
        assert error == "ReactionNotAllowed" and "locked" in message, "locked comes before the value"
    assert refused(bob, "3kaaaaaaaaa22", "👍")[0] == "InvalidRequest", "the message comes before the lock"
    assert dump(server) == before
    assert "reactions" not in alice.ok(f"{CONVO}.getMessages", convoId=cid)["messages"][1]


def test_reaction_limit_reached_after_five_distinct(server: MockChatServer, api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = new_group(alice, bob)
    target = say(alice, cid, "so many feelings")
    five = ["😀", "😂", "😍", "🤔", "😢"]
    for value in five:
        react(bob, cid, target["id"], value)
    react(alice, cid, target["id"], "🎉")  # the limit is per account
    error, message = bob.error(f"{CONVO}.addReaction", {"convoId": cid, "messageId": target["id"], "value": "😡"})
    assert error == "ReactionLimitReached" and "5" in message
    out = react(bob, cid, target["id"], "😀")  # already there: idempotent, no error
    assert [r["value"] for r in out["reactions"] if r["sender"]["did"] == bob.did] == five
    react(bob, cid, target["id"], "😀", op="remove")
    out = react(bob, cid, target["id"], "😡")
    assert [r["value"] for r in out["reactions"] if r["sender"]["did"] == bob.did] == [*five[1:], "😡"]
    assert [r["value"] for r in out["reactions"]] == [*five[1:], "🎉", "😡"], "in order of creation"


# --------------------------------------------------------------------------- limits, cursors, revs


LIST_CALLS = [
    ("listConvos", {}),
    ("listConvoRequests", {}),
    ("getConvoMembers", {"convoId": "CID"}),
    ("getMessages", {"convoId": "CID"}),
]


@pytest.mark.parametrize(("nsid", "params"), LIST_CALLS)
def test_limit_bounds(api: Make, nsid: str, params: Json) -> None:
    alice, bob = api("alice"), api("bob")
    cid = new_group(alice, bob)
    params = {k: cid if v == "CID" else v for k, v in params.items()}
    for limit in (0, 101):
        error, message = alice.error(f"{CONVO}.{nsid}", limit=limit, **params)
        assert error == "InvalidRequest" and "limit" in message and str(limit) in message
    alice.ok(f"{CONVO}.{nsid}", limit=1, **params)
    alice.ok(f"{CONVO}.{nsid}", limit=100, **params)


OPAQUE_CURSOR_CALLS = [(nsid, params) for nsid, params in LIST_CALLS if nsid != "getMessages"]
"""List calls whose cursor is opaque: getMessages and getLog take revs instead (any string)."""
FOREIGN_CURSORS = ("not a cursor!", "%%%", "a", "////", "Zm9vYmFy")


@pytest.mark.parametrize(("nsid", "params"), OPAQUE_CURSOR_CALLS)
def test_invalid_cursor_is_invalid_request(api: Make, nsid: str, params: Json) -> None:
    alice, bob = api("alice"), api("bob")
    cid = new_group(alice, bob)
    say(alice, cid, "x")
    params = {k: cid if v == "CID" else v for k, v in params.items()}
    # a cursor of another method is no better than garbage
    new_group(alice, bob)
    foreign = alice.ok(f"{CONVO}.getLog")["cursor"]
    for cursor in (*FOREIGN_CURSORS, foreign):
        error, message = alice.error(f"{CONVO}.{nsid}", cursor=cursor, **params)
        assert error == "InvalidRequest" and "cursor" in message.lower(), (cursor, message)


def test_rev_cursors_take_any_string(api: Make) -> None:
    """getLog and getMessages cursors are revs compared as text: a foreign cursor is a 200 that
    selects what sorts after it (getLog) or before it (getMessages)."""
    alice, bob = api("alice"), api("bob")
    cid = new_group(alice, bob)
    for text in ("x", "y", "z"):
        say(alice, cid, text)
    new_group(alice, bob)
    foreign = alice.ok(f"{CONVO}.listConvos", limit=1)["cursor"]
    events, _ = read_log(alice)
    messages = alice.ok(f"{CONVO}.getMessages", convoId=cid)["messages"]
    assert len(events) == 5 and len(messages) == 3
    between = messages[1]["rev"] + "~"  # no rev, but it sorts between the 2nd and the 3rd message
    for cursor in (*FOREIGN_CURSORS, foreign, between):
        log = alice.ok(f"{CONVO}.getLog", cursor=cursor)
        newer = [e["rev"] for e in events if e["rev"] > cursor]
        assert [e["rev"] for e in log["logs"]] == newer, cursor
        assert log["cursor"] == (newer[-1] if newer else cursor), (cursor, log["cursor"])
        page = alice.ok(f"{CONVO}.getMessages", convoId=cid, cursor=cursor)
        assert [m["id"] for m in page["messages"]] == [m["id"] for m in messages if m["rev"] < cursor], cursor
    assert texts(alice.ok(f"{CONVO}.getMessages", convoId=cid, cursor=between)["messages"]) == ["y", "x"]
    # an empty getMessages cursor is no cursor: the latest page
    assert alice.ok(f"{CONVO}.getMessages", convoId=cid, cursor="")["messages"] == messages


def test_revs_sort_in_order_of_change(api: Make) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    first = new_group(alice, bob)
    second = new_group(alice, carol)
    revs = [convo(alice, first)["rev"], convo(alice, second)["rev"]]
    message = say(alice, first, "one")
    revs.append(message["rev"])
    assert convo(alice, first)["rev"] == message["rev"]
    revs.append(bob.ok(f"{CONVO}.acceptConvo", {"convoId": first})["rev"])
    react(carol, second, say(alice, second, "two")["id"], "👍")
    revs.append(convo(alice, second)["rev"])
    add_members(alice, first, carol)
    revs.append(convo(alice, first)["rev"])
    revs.append(carol.ok(f"{CONVO}.leaveConvo", {"convoId": first})["rev"])
    revs.append(convo(alice, first)["rev"])
    assert revs == sorted(revs) and len(set(revs)) == len(revs), revs
    events, _ = read_log(alice)
    log_revs = [e["rev"] for e in events]
    assert log_revs == sorted(log_revs) and len(set(log_revs)) == len(log_revs)
    messages = alice.ok(f"{CONVO}.getMessages", convoId=first)["messages"]
    assert [m["rev"] for m in messages] == sorted((m["rev"] for m in messages), reverse=True)
    assert all(len(r) == 13 for r in revs)
