"""chat.bsky.convo.* on group convos, through the real HTTP server, per docs/behaviour.md."""

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
DEFS = "chat.bsky.convo.defs"
ACTOR_DEFS = "chat.bsky.actor.defs"
GROUP_DEFS = "chat.bsky.group.defs"
UNKNOWN = "3zzzzzzzzzzzz"


# ---------------------------------------------------------------- helpers


def group(owner: Api, *members: Api, name: str = "G") -> str:
    """Create a group owned by ``owner`` with ``members`` (in 'request' status); its id."""
    out = owner.ok("chat.bsky.group.createGroup", {"name": name, "members": [m.did for m in members]})
    return str(out["convo"]["id"])


def send(who: Api, convo_id: str, text: str = "hi", **extra: Any) -> Json:
    """Send a user message; the messageView."""
    return who.ok(f"{CONVO}.sendMessage", {"convoId": convo_id, "message": {"text": text, **extra}})


def add(owner: Api, convo_id: str, *members: Api) -> Json:
    return owner.ok("chat.bsky.group.addMembers", {"convoId": convo_id, "members": [m.did for m in members]})


def get_convo(who: Api, convo_id: str) -> Json:
    out: Json = who.ok(f"{CONVO}.getConvo", convoId=convo_id)["convo"]
    return out


def all_logs(who: Api, cursor: str = "") -> tuple[list[Json], str | None]:
    """Every getLog event after ``cursor`` (from the very start by default), following the cursor
    until no more come."""
    events: list[Json] = []
    while True:
        out = who.ok(f"{CONVO}.getLog", cursor=cursor)
        events.extend(out["logs"])
        if not out["logs"]:
            return events, out.get("cursor")
        cursor = out["cursor"]


def log_types(events: list[Json], convo_id: str | None = None) -> list[str]:
    return [e["$type"].split("#")[1] for e in events if convo_id is None or e["convoId"] == convo_id]


def page_all(who: Api, nsid: str, key: str, limit: int, **params: Any) -> list[list[Json]]:
    """Every page of a cursor-paged list call."""
    pages: list[list[Json]] = []
    cursor: str | None = None
    while True:
        extra = {"cursor": cursor} if cursor else {}
        out = who.ok(nsid, limit=limit, **params, **extra)
        pages.append(out[key])
        cursor = out.get("cursor")
        if not cursor:
            return pages


def moderation_lock(server: MockChatServer, convo_id: str, on: bool = True) -> None:
    response = httpx.patch(f"{server.url}/_mock/convos/{convo_id}", json={"moderationLock": on})
    assert response.status_code == 200, response.text


def dids(profiles: list[Json]) -> list[str]:
    return [p["did"] for p in profiles]


def people(api: Make, n: int, prefix: str = "m") -> list[Api]:
    return [api(f"{prefix}{i}") for i in range(n)]


def assert_invalid_convo(who: Api, nsid: str, body: Json | None = None, **params: Any) -> None:
    """``InvalidConvo`` with exactly the official message: it names no convo id."""
    assert "convoId" in (body or params)
    error, message = who.error(nsid, body, **params)
    assert error == "InvalidConvo", (nsid, error, message)
    assert message == "Convo not found", (nsid, message)


# ---------------------------------------------------------------- getConvo


def test_get_convo_group_kind_fields(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = group(alice, bob, name="Friends")
    owner_view = get_convo(alice, cid)
    kind = owner_view["kind"]
    assert kind["$type"] == f"{DEFS}#groupConvo"
    assert kind["name"] == "Friends"
    assert kind["memberCount"] == 2
    assert kind["memberLimit"] == 50
    assert kind["lockStatus"] == "unlocked"
    assert kind["lockStatusModerationOverride"] is False
    assert "joinRequestCount" not in kind and "unreadJoinRequestCount" not in kind, "left out while 0"
    assert "joinLink" not in kind and kind["createdAt"].endswith("Z")
    assert owner_view["status"] == "accepted" and owner_view["muted"] is False and owner_view["unreadCount"] == 0
    bob_view = get_convo(bob, cid)
    assert bob_view["status"] == "request"
    assert "joinRequestCount" not in bob_view["kind"] and "unreadJoinRequestCount" not in bob_view["kind"]
    assert bob_view["id"] == cid and bob_view["rev"] == owner_view["rev"]
    link = alice.ok("chat.bsky.group.createJoinLink", {"convoId": cid, "joinRule": "anyone", "requireApproval": False})[
        "joinLink"
    ]
    assert get_convo(bob, cid)["kind"]["joinLink"] == link


def test_get_convo_invalid_convo_for_unknown_and_non_member(api: Make) -> None:
    alice, bob, eve = api("alice"), api("bob"), api("eve")
    cid = group(alice, bob)
    assert_invalid_convo(eve, f"{CONVO}.getConvo", convoId=cid)
    assert_invalid_convo(alice, f"{CONVO}.getConvo", convoId=UNKNOWN)
    for nsid in ("getConvoMembers", "getMessages"):
        assert_invalid_convo(eve, f"{CONVO}.{nsid}", convoId=cid)
    for nsid in ("acceptConvo", "muteConvo", "unmuteConvo", "leaveConvo", "updateRead"):
        assert_invalid_convo(eve, f"{CONVO}.{nsid}", {"convoId": cid})


def test_get_convo_members_are_the_important_ones(api: Make) -> None:
    owner = api("owner")
    ms = people(api, 9)
    cid = group(owner, *ms[:7])  # join order: owner, m0..m6
    add(owner, cid, ms[7], ms[8])  # m7, m8 join later, added by owner
    first5 = [owner.did, *[m.did for m in ms[:4]]]
    view = get_convo(ms[8], cid)
    assert view["kind"]["memberCount"] == 10
    assert dids(view["members"]) == [*first5, ms[8].did]
    # last sender m5, last reactor m6, viewer m7
    message = send(ms[5], cid, "hello")
    ms[6].ok(f"{CONVO}.addReaction", {"convoId": cid, "messageId": message["id"], "value": "👍"})
    view = get_convo(ms[7], cid)
    got = dids(view["members"])
    assert len(got) == len(set(got))
    assert set(got) == {*first5, ms[7].did, ms[5].did, ms[6].did}
    assert got[:5] == first5
    # each member carries its kind: role and (for added ones) addedBy
    by_did = {p["did"]: p for p in view["members"]}
    assert by_did[owner.did]["kind"] == {"$type": f"{ACTOR_DEFS}#groupConvoMember", "role": "owner"}
    viewer_kind = by_did[ms[7].did]["kind"]
    assert viewer_kind["role"] == "standard" and viewer_kind["addedBy"]["did"] == owner.did
    # the owner's view: the owner is the viewer and among the first five: no duplicates
    got = dids(get_convo(owner, cid)["members"])
    assert set(got) == {*first5, ms[5].did, ms[6].did} and len(got) == 7


# ---------------------------------------------------------------- listConvos


def test_list_convos_filters(server: MockChatServer, api: Make) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    g_req = group(carol, alice, name="request")  # alice in request status
    g_acc = group(alice, bob, name="accepted")  # alice owner: accepted
    g_lock = group(alice, carol, name="locked")
    alice.ok(f"{CONVO}.lockConvo", {"convoId": g_lock})
    g_unread = group(bob, alice, name="unread")
    alice.ok(f"{CONVO}.acceptConvo", {"convoId": g_unread})
    send(bob, g_unread, "read me")

    def ids(**params: Any) -> set[str]:
        return {c["id"] for c in alice.ok(f"{CONVO}.listConvos", **params)["convos"]}

    assert ids() == {g_req, g_acc, g_lock, g_unread}
    assert ids(status="request") == {g_req}
    assert ids(status="accepted") == {g_acc, g_lock, g_unread}
    assert ids(kind="group") == {g_req, g_acc, g_lock, g_unread}
    assert ids(kind="direct") == set()
    assert ids(lockStatus="locked") == {g_lock}
    assert ids(lockStatus="unlocked") == {g_req, g_acc, g_unread}
    assert ids(lockStatus="locked-permanently") == set()
    assert ids(readState="unread") == {g_unread}
    moderation_lock(server, g_acc)
    assert ids(lockStatus="locked") == {g_lock, g_acc}
    assert ids(lockStatus="unlocked", status="accepted") == {g_unread}


def test_list_convos_most_recently_changed_first_and_paging(api: Make) -> None:
    alice = api("alice")
    others = people(api, 2, "o")
    made = [group(alice, *others, name=f"g{i}") for i in range(7)]
    send(alice, made[2], "bump")  # g2 is now the most recently changed
    expected = [made[2], *[c for c in reversed(made) if c != made[2]]]
    convos = alice.ok(f"{CONVO}.listConvos")["convos"]
    assert [c["id"] for c in convos] == expected
    revs = [c["rev"] for c in convos]
    assert revs == sorted(revs, reverse=True) and len(set(revs)) == len(revs)
    pages = page_all(alice, f"{CONVO}.listConvos", "convos", 3)
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [c["id"] for p in pages for c in p] == expected


def test_list_convos_paging_stable_when_a_seen_convo_changes(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    made = [group(alice, bob, name=f"g{i}") for i in range(6)]
    first = alice.ok(f"{CONVO}.listConvos", limit=2)
    seen = [c["id"] for c in first["convos"]]
    assert seen == [made[5], made[4]]
    send(bob, made[5], "moves to the front")  # a convo already seen changes
    group(alice, bob, name="new")  # and a new one appears in front
    rest: list[str] = []
    cursor = first["cursor"]
    while cursor:
        out = alice.ok(f"{CONVO}.listConvos", limit=2, cursor=cursor)
        rest.extend(c["id"] for c in out["convos"])
        cursor = out.get("cursor")
    assert rest == [made[3], made[2], made[1], made[0]]
    assert not set(rest) & set(seen)


def test_limit_0_and_101_are_invalid_request_naming_limit(api: Make) -> None:
    alice = api("alice")
    for nsid, params in (
        ("listConvos", {}),
        ("listConvoRequests", {}),
        ("getConvoMembers", {"convoId": UNKNOWN}),
        ("getMessages", {"convoId": UNKNOWN}),
    ):
        for limit in (0, 101):
            error, message = alice.error(f"{CONVO}.{nsid}", limit=limit, **params)
            assert error == "InvalidRequest" and "limit" in message, (nsid, limit, message)


def test_invalid_cursor_is_invalid_request(api: Make) -> None:
    """Opaque list cursors refuse garbage; getMessages and getLog cursors are revs, and any string is one."""
    alice, bob = api("alice"), api("bob")
    cid = group(alice, bob)
    m = send(alice, cid, "x")
    for nsid, params in (
        ("listConvos", {}),
        ("listConvoRequests", {}),
        ("getConvoMembers", {"convoId": cid}),
    ):
        for bad in ("!!!not a cursor!!!", "%%%"):
            error, message = alice.error(f"{CONVO}.{nsid}", cursor=bad, **params)
            assert error == "InvalidRequest" and "cursor" in message.lower(), (nsid, bad, message)
    # compared as text: "!" and "%" sort before every rev
    for bad in ("!!!not a cursor!!!", "%%%"):
        log = alice.ok(f"{CONVO}.getLog", cursor=bad)
        assert log_types(log["logs"]) == ["logBeginConvo", "logCreateMessage"] and log["cursor"] == m["rev"]
        assert alice.ok(f"{CONVO}.getMessages", convoId=cid, cursor=bad)["messages"] == []


# ---------------------------------------------------------------- listConvoRequests


def test_list_convo_requests_convos_and_own_join_requests(api: Make) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    g_added = group(alice, bob, name="added")
    g_accepted = group(carol, bob, name="accepted")
    bob.ok(f"{CONVO}.acceptConvo", {"convoId": g_accepted})
    g_link = group(carol, name="with approval")
    code = carol.ok(
        "chat.bsky.group.createJoinLink", {"convoId": g_link, "joinRule": "anyone", "requireApproval": True}
    )["joinLink"]["code"]
    assert bob.ok("chat.bsky.group.requestJoin", {"code": code})["status"] == "pending"
    requests = bob.ok(f"{CONVO}.listConvoRequests")["requests"]
    assert [r["$type"] for r in requests] == [f"{GROUP_DEFS}#joinRequestConvoView", f"{DEFS}#convoView"]
    join, convo = requests
    assert join["convoId"] == g_link and join["name"] == "with approval"
    assert join["owner"]["did"] == carol.did and join["memberCount"] == 1 and join["memberLimit"] == 50
    assert join["viewer"]["requestedAt"].endswith("Z")
    assert convo["id"] == g_added and convo["status"] == "request"
    assert convo["kind"]["$type"] == f"{DEFS}#groupConvo"
    # paging one at a time gives the same items, no repeats
    pages = page_all(bob, f"{CONVO}.listConvoRequests", "requests", 1)
    assert [p for page in pages for p in page] == requests
    # accepting moves the convo out; withdrawing drops the join request
    bob.ok(f"{CONVO}.acceptConvo", {"convoId": g_added})
    bob.ok("chat.bsky.group.withdrawJoinRequest", {"convoId": g_link})
    assert bob.ok(f"{CONVO}.listConvoRequests") == {"requests": []}


# ---------------------------------------------------------------- getConvoMembers


def test_get_convo_members_join_order_paging_and_kind(api: Make) -> None:
    owner = api("owner")
    ms = people(api, 9)
    cid = group(owner, *ms[:5])
    add(owner, cid, *ms[5:8])
    code = owner.ok("chat.bsky.group.createJoinLink", {"convoId": cid, "joinRule": "anyone", "requireApproval": False})[
        "joinLink"
    ]["code"]
    assert ms[8].ok("chat.bsky.group.requestJoin", {"code": code})["status"] == "joined"
    expected = [owner.did, *[m.did for m in ms]]
    full = ms[3].ok(f"{CONVO}.getConvoMembers", convoId=cid)
    assert dids(full["members"]) == expected and "cursor" not in full
    pages = page_all(ms[3], f"{CONVO}.getConvoMembers", "members", 4, convoId=cid)
    assert [len(p) for p in pages] == [4, 4, 2]
    assert [p for page in pages for p in page] == full["members"]
    kinds = {p["did"]: p["kind"] for p in full["members"]}
    assert kinds[owner.did] == {"$type": f"{ACTOR_DEFS}#groupConvoMember", "role": "owner"}
    for m in ms[:8]:
        assert kinds[m.did]["$type"] == f"{ACTOR_DEFS}#groupConvoMember"
        assert kinds[m.did]["role"] == "standard" and kinds[m.did]["addedBy"]["did"] == owner.did
    assert kinds[ms[8].did] == {"$type": f"{ACTOR_DEFS}#groupConvoMember", "role": "standard"}
    # a removed member leaves the list; re-adding puts them at the end
    owner.ok("chat.bsky.group.removeMembers", {"convoId": cid, "members": [ms[0].did]})
    assert ms[0].did not in dids(owner.ok(f"{CONVO}.getConvoMembers", convoId=cid)["members"])
    add(owner, cid, ms[0])
    assert dids(owner.ok(f"{CONVO}.getConvoMembers", convoId=cid)["members"])[-1] == ms[0].did


# ---------------------------------------------------------------- getMessages


def test_get_messages_newest_first_with_paging(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = group(alice, bob)
    sent = [send(alice if i % 2 else bob, cid, f"m{i}")["id"] for i in range(7)]
    out = alice.ok(f"{CONVO}.getMessages", convoId=cid)
    assert [m["id"] for m in out["messages"]] == sent[::-1] and "cursor" not in out
    assert all(m["$type"] == f"{DEFS}#messageView" for m in out["messages"])
    pages = page_all(alice, f"{CONVO}.getMessages", "messages", 3, convoId=cid)
    assert [[m["text"] for m in p] for p in pages] == [["m6", "m5", "m4"], ["m3", "m2", "m1"], ["m0"]]
    # a page cursor is stable when new messages arrive between calls
    first = alice.ok(f"{CONVO}.getMessages", convoId=cid, limit=2)
    send(bob, cid, "newer")
    second = alice.ok(f"{CONVO}.getMessages", convoId=cid, limit=2, cursor=first["cursor"])
    assert [m["text"] for m in second["messages"]] == ["m4", "m3"]


def test_get_messages_later_member_sees_from_their_add_on(api: Make) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    cid = group(alice, bob)
    send(alice, cid, "before carol")
    send(bob, cid, "also before")
    add(alice, cid, carol)
    send(bob, cid, "after carol")
    out = carol.ok(f"{CONVO}.getMessages", convoId=cid)
    assert "cursor" not in out
    newest, oldest = out["messages"]
    assert newest["text"] == "after carol"
    assert oldest["$type"] == f"{DEFS}#systemMessageView"
    assert oldest["data"] == {
        "$type": f"{DEFS}#systemMessageDataAddMember",
        "member": {"did": carol.did},
        "role": "standard",
        "addedBy": {"did": alice.did},
    }
    # paging ends at the add-member message too
    pages = page_all(carol, f"{CONVO}.getMessages", "messages", 1, convoId=cid)
    assert [[m["id"] for m in p] for p in pages] == [[newest["id"]], [oldest["id"]]]
    assert len(alice.ok(f"{CONVO}.getMessages", convoId=cid)["messages"]) == 4
    assert get_convo(carol, cid)["lastMessage"]["text"] == "after carol"


def test_get_messages_related_profiles_include_past_members(api: Make) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    cid = group(alice, bob, carol)
    m = send(bob, cid, "bob was here")
    carol.ok(f"{CONVO}.addReaction", {"convoId": cid, "messageId": m["id"], "value": "🎉"})
    alice.ok("chat.bsky.group.removeMembers", {"convoId": cid, "members": [bob.did]})
    carol.ok(f"{CONVO}.leaveConvo", {"convoId": cid})
    out = alice.ok(f"{CONVO}.getMessages", convoId=cid)
    related = {p["did"]: p for p in out["relatedProfiles"]}
    assert len(related) == len(out["relatedProfiles"])
    assert set(related) == {alice.did, bob.did, carol.did}
    assert related[bob.did]["kind"] == {"$type": f"{ACTOR_DEFS}#pastGroupConvoMember"}
    assert related[carol.did]["kind"] == {"$type": f"{ACTOR_DEFS}#pastGroupConvoMember"}
    assert related[alice.did]["kind"]["$type"] == f"{ACTOR_DEFS}#groupConvoMember"
    assert related[bob.did]["handle"] == "bob.test"
    # bob's message is still there, sender and reaction intact
    user = [x for x in out["messages"] if x["$type"] == f"{DEFS}#messageView"]
    assert [x["text"] for x in user] == ["bob was here"]
    assert user[0]["reactions"][0]["value"] == "🎉"
    assert_invalid_convo(bob, f"{CONVO}.getMessages", convoId=cid)


# ---------------------------------------------------------------- sendMessage


def test_send_message_keeps_facets_exactly(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = group(alice, bob)
    facets = [
        {
            "index": {"byteStart": 0, "byteEnd": 9},
            "features": [{"$type": "app.bsky.richtext.facet#mention", "did": bob.did}],
        },
        {
            "index": {"byteStart": 10, "byteEnd": 29},
            "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com"}],
        },
    ]
    sent = send(alice, cid, "@bob.test https://example.com", facets=facets)
    assert sent["facets"] == facets and sent["sender"] == {"did": alice.did}
    got = bob.ok(f"{CONVO}.getMessages", convoId=cid)["messages"][0]
    assert got["facets"] == facets and got["text"] == "@bob.test https://example.com"
    empty = send(alice, cid, "")
    assert empty["text"] == "" and "facets" not in empty


def test_send_message_reply_embeds_parent_one_level(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = group(alice, bob)
    root = send(alice, cid, "root")
    child = send(bob, cid, "child", replyTo={"messageId": root["id"]})
    assert child["replyTo"]["$type"] == f"{DEFS}#messageView"
    assert child["replyTo"]["id"] == root["id"] and child["replyTo"]["text"] == "root"
    grandchild = send(alice, cid, "grandchild", replyTo={"messageId": child["id"]})
    parent = grandchild["replyTo"]
    assert parent["id"] == child["id"] and "replyTo" not in parent
    listed = bob.ok(f"{CONVO}.getMessages", convoId=cid)["messages"][0]
    assert listed["replyTo"]["id"] == child["id"] and "replyTo" not in listed["replyTo"]


def test_send_message_reply_target_not_found(server: MockChatServer, api: Make) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    cid = group(alice, bob)
    other = group(alice, carol)
    early = send(alice, cid, "before carol")
    elsewhere = send(alice, other, "other convo")
    add(alice, cid, carol)
    before = dump(server)
    for who, target in ((alice, "3aaaaaaaaaaaa"), (alice, elsewhere["id"]), (carol, early["id"])):
        error, message = who.error(
            f"{CONVO}.sendMessage", {"convoId": cid, "message": {"text": "re", "replyTo": {"messageId": target}}}
        )
        assert error == "ReplyTargetNotFound" and target in message
    assert dump(server) == before


def test_reply_to_message_before_viewer_joined(api: Make) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    cid = group(alice, bob)
    early = send(alice, cid, "early")
    add(alice, cid, carol)
    reply = send(bob, cid, "late reply", replyTo={"messageId": early["id"]})
    assert reply["replyTo"]["id"] == early["id"]
    carol_view = carol.ok(f"{CONVO}.getMessages", convoId=cid)["messages"][0]
    assert carol_view["id"] == reply["id"]
    assert carol_view["replyTo"] == {"$type": f"{DEFS}#messageBeforeUserJoinedGroupView"}
    assert get_convo(carol, cid)["lastMessage"]["replyTo"]["$type"] == f"{DEFS}#messageBeforeUserJoinedGroupView"
    assert bob.ok(f"{CONVO}.getMessages", convoId=cid)["messages"][0]["replyTo"]["text"] == "early"


def test_send_message_join_link_embed_preview_is_live(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = group(alice, bob)
    target = group(alice, name="Target")
    code = alice.ok(
        "chat.bsky.group.createJoinLink", {"convoId": target, "joinRule": "anyone", "requireApproval": False}
    )["joinLink"]["code"]
    sent = send(alice, cid, "join us", embed={"$type": "chat.bsky.embed.joinLink", "code": code})
    assert sent["embed"]["$type"] == "chat.bsky.embed.joinLink#view"
    live = sent["embed"]["joinLinkPreview"]
    assert live["$type"] == f"{GROUP_DEFS}#joinLinkPreviewView"
    assert live["code"] == code and live["convoId"] == target and live["name"] == "Target"
    alice.ok("chat.bsky.group.disableJoinLink", {"convoId": target})
    shown = bob.ok(f"{CONVO}.getMessages", convoId=cid)["messages"][0]["embed"]
    assert shown == {
        "$type": "chat.bsky.embed.joinLink#view",
        "joinLinkPreview": {"$type": f"{GROUP_DEFS}#disabledJoinLinkPreviewView", "code": code},
    }
    bad = send(alice, cid, "bad", embed={"$type": "chat.bsky.embed.joinLink", "code": "nosuchcode"})
    assert bad["embed"]["joinLinkPreview"]["$type"] == f"{GROUP_DEFS}#invalidJoinLinkPreviewView"


def test_send_message_record_embed_renders_not_found(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = group(alice, bob)
    uri = "at://did:plc:abc/app.bsky.feed.post/3k"
    embed = {"$type": "app.bsky.embed.record", "record": {"uri": uri, "cid": "bafyreib2rxk3rh6kzwq"}}
    sent = send(alice, cid, "look", embed=embed)
    assert sent["embed"]["$type"] == "app.bsky.embed.record#view"
    assert sent["embed"]["record"]["$type"] == "app.bsky.embed.record#viewNotFound"
    assert sent["embed"]["record"]["uri"] == uri


def test_send_message_unsupported_embed_is_invalid_request(server: MockChatServer, api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = group(alice, bob)
    before = dump(server)
    embed = {"$type": "app.bsky.embed.external", "external": {"uri": "https://x.y", "title": "t", "description": ""}}
    error, message = alice.error(f"{CONVO}.sendMessage", {"convoId": cid, "message": {"text": "x", "embed": embed}})
    assert error == "InvalidRequest" and "app.bsky.embed.external" in message
    assert dump(server) == before


def test_send_message_locked_and_invalid_convo(server: MockChatServer, api: Make) -> None:
    alice, bob, eve = api("alice"), api("bob"), api("eve")
    cid = group(alice, bob)
    assert_invalid_convo(eve, f"{CONVO}.sendMessage", {"convoId": cid, "message": {"text": "x"}})
    assert_invalid_convo(alice, f"{CONVO}.sendMessage", {"convoId": UNKNOWN, "message": {"text": "x"}})
    alice.ok(f"{CONVO}.lockConvo", {"convoId": cid})
    before = dump(server)
    # the lock is checked before the embed and the reply target
    body = {
        "convoId": cid,
        "message": {
            "text": "x",
            "embed": {"$type": "app.bsky.embed.images", "images": []},
            "replyTo": {"messageId": "x"},
        },
    }
    for who in (alice, bob):
        error, message = who.error(f"{CONVO}.sendMessage", body)
        assert error == "ConvoLocked" and "locked" in message
    # not a member is checked before the lock
    assert_invalid_convo(eve, f"{CONVO}.sendMessage", body)
    assert dump(server) == before
    alice.ok(f"{CONVO}.unlockConvo", {"convoId": cid})
    moderation_lock(server, cid)
    error, message = bob.error(f"{CONVO}.sendMessage", {"convoId": cid, "message": {"text": "x"}})
    assert error == "ConvoLocked" and "moderation" in message


def test_send_message_embed_checked_before_reply_target(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = group(alice, bob)
    body = {
        "convoId": cid,
        "message": {
            "text": "x",
            "embed": {"$type": "app.bsky.embed.images", "images": []},
            "replyTo": {"messageId": "x"},
        },
    }
    error, message = alice.error(f"{CONVO}.sendMessage", body)
    assert error == "InvalidRequest" and "app.bsky.embed.images" in message


def test_send_message_in_request_status_accepts(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = group(alice, bob)
    _, cursor = all_logs(bob)
    sent = send(bob, cid, "accepting by replying")
    assert get_convo(bob, cid)["status"] == "accepted"
    events, _ = all_logs(bob, cursor)
    assert log_types(events) == ["logAcceptConvo", "logCreateMessage"]
    assert events[1]["message"]["id"] == sent["id"] and events[1]["rev"] == sent["rev"]
    assert bob.ok(f"{CONVO}.acceptConvo", {"convoId": cid}) == {}


# ---------------------------------------------------------------- getLog


def test_get_log_create_group_and_add_member(api: Make) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    cid = group(alice, bob)
    for who in (alice, bob):
        events, _ = all_logs(who)
        assert log_types(events) == ["logBeginConvo"] and events[0]["convoId"] == cid
    assert all_logs(carol)[0] == []
    cursors = {who.did: all_logs(who)[1] for who in (alice, bob, carol)}
    add(alice, cid, carol)
    carol_events, _ = all_logs(carol, cursors[carol.did])
    assert log_types(carol_events) == ["logBeginConvo", "logAddMember"]
    add_event = carol_events[1]
    assert add_event["message"]["data"]["$type"] == f"{DEFS}#systemMessageDataAddMember"
    assert add_event["message"]["data"]["member"] == {"did": carol.did}
    assert {p["did"] for p in add_event["relatedProfiles"]} == {alice.did, carol.did}
    for who in (alice, bob):
        events, _ = all_logs(who, cursors[who.did])
        assert log_types(events) == ["logAddMember"]
        assert events[0]["rev"] == add_event["rev"] and events[0]["message"] == add_event["message"]


def test_get_log_removed_member_gets_leave_not_remove(api: Make) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    cid = group(alice, bob, carol)
    cursors = {who.did: all_logs(who)[1] for who in (alice, bob, carol)}
    alice.ok("chat.bsky.group.removeMembers", {"convoId": cid, "members": [bob.did]})
    bob_events, _ = all_logs(bob, cursors[bob.did])
    assert log_types(bob_events) == ["logLeaveConvo"] and bob_events[0]["convoId"] == cid
    for who in (alice, carol):
        events, _ = all_logs(who, cursors[who.did])
        assert log_types(events) == ["logRemoveMember"]
        data = events[0]["message"]["data"]
        assert data == {
            "$type": f"{DEFS}#systemMessageDataRemoveMember",
            "member": {"did": bob.did},
            "removedBy": {"did": alice.did},
        }
    # and bob no longer gets the group's events
    _, bob_cursor = all_logs(bob, cursors[bob.did])
    send(carol, cid, "after bob")
    assert all_logs(bob, bob_cursor)[0] == []


def test_get_log_join_request_only_owner_gets_incoming(api: Make) -> None:
    alice, bob, dave = api("alice"), api("bob"), api("dave")
    cid = group(alice, bob)
    code = alice.ok("chat.bsky.group.createJoinLink", {"convoId": cid, "joinRule": "anyone", "requireApproval": True})[
        "joinLink"
    ]["code"]
    cursors = {who.did: all_logs(who)[1] for who in (alice, bob, dave)}
    dave.ok("chat.bsky.group.requestJoin", {"code": code})
    alice_events, _ = all_logs(alice, cursors[alice.did])
    assert log_types(alice_events) == ["logIncomingJoinRequest"]
    assert alice_events[0]["member"]["did"] == dave.did
    assert log_types(all_logs(dave, cursors[dave.did])[0]) == ["logOutgoingJoinRequest"]
    assert all_logs(bob, cursors[bob.did])[0] == []


def test_get_log_leave_and_owner_leave_locked(api: Make) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    cid = group(alice, bob, carol)
    cursors = {who.did: all_logs(who)[1] for who in (alice, bob, carol)}
    carol.ok(f"{CONVO}.leaveConvo", {"convoId": cid})
    assert log_types(all_logs(carol, cursors[carol.did])[0]) == ["logLeaveConvo"]
    for who in (alice, bob):
        events, cursors[who.did] = all_logs(who, cursors[who.did])
        assert log_types(events) == ["logMemberLeave"]
        assert events[0]["message"]["data"] == {
            "$type": f"{DEFS}#systemMessageDataMemberLeave",
            "member": {"did": carol.did},
        }
    alice.ok(f"{CONVO}.lockConvo", {"convoId": cid})
    for who in (alice, bob):
        events, cursors[who.did] = all_logs(who, cursors[who.did])
        assert log_types(events) == ["logLockConvo"]
    alice.ok(f"{CONVO}.leaveConvo", {"convoId": cid})
    assert log_types(all_logs(alice, cursors[alice.did])[0]) == ["logLockConvoPermanently", "logLeaveConvo"]
    assert log_types(all_logs(bob, cursors[bob.did])[0]) == ["logLockConvoPermanently", "logMemberLeave"]


def test_get_log_paging_over_100_events_never_skips_or_repeats(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    g1, g2 = group(alice, bob, name="one"), group(bob, alice, name="two")
    alice.ok(f"{CONVO}.acceptConvo", {"convoId": g2})
    for i in range(65):
        send(alice, g1, f"a{i}")
        send(bob, g2, f"b{i}")
    first = alice.ok(f"{CONVO}.getLog", cursor="")  # from the very start
    assert len(first["logs"]) == 100 and first["cursor"] == first["logs"][-1]["rev"]
    second = alice.ok(f"{CONVO}.getLog", cursor=first["cursor"])
    # events written between the two calls come in the later pages
    late = send(bob, g1, "between calls")
    third = alice.ok(f"{CONVO}.getLog", cursor=second["cursor"])
    events = first["logs"] + second["logs"] + third["logs"]
    revs = [e["rev"] for e in events]
    assert len(revs) == len(set(revs)) and revs == sorted(revs)
    # 2 begins + accept + 130 messages + the late one
    assert len(events) == 2 + 1 + 130 + 1
    assert events[-1]["message"]["id"] == late["id"]
    texts = [e["message"]["text"] for e in events if e["$type"] == f"{DEFS}#logCreateMessage"]
    assert sorted(texts) == sorted([f"a{i}" for i in range(65)] + [f"b{i}" for i in range(65)] + ["between calls"])
    # nothing new: no events, and the cursor you sent comes back
    empty = alice.ok(f"{CONVO}.getLog", cursor=third["cursor"])
    assert empty == {"logs": [], "cursor": third["cursor"]}
    # the next event arrives on the next call
    nxt = send(bob, g2, "later")
    again = alice.ok(f"{CONVO}.getLog", cursor=third["cursor"])
    assert [e["message"]["id"] for e in again["logs"]] == [nxt["id"]]


def test_get_log_events_per_viewer_for_own_changes(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = group(alice, bob)
    m = send(alice, cid, "hi")
    _, a_cur = all_logs(alice)
    _, b_cur = all_logs(bob)
    bob.ok(f"{CONVO}.muteConvo", {"convoId": cid})
    bob.ok(f"{CONVO}.muteConvo", {"convoId": cid})  # no change, no event
    bob.ok(f"{CONVO}.unmuteConvo", {"convoId": cid})
    bob.ok(f"{CONVO}.updateRead", {"convoId": cid, "messageId": m["id"]})
    bob.ok(f"{CONVO}.addReaction", {"convoId": cid, "messageId": m["id"], "value": "❤️"})
    bob.ok(f"{CONVO}.removeReaction", {"convoId": cid, "messageId": m["id"], "value": "❤️"})
    events, _ = all_logs(bob, b_cur)
    assert log_types(events) == [
        "logMuteConvo",
        "logUnmuteConvo",
        "logReadConvo",
        "logAddReaction",
        "logRemoveReaction",
    ]
    assert events[2]["message"]["id"] == m["id"]
    assert events[3]["reaction"]["value"] == "❤️" and events[3]["reaction"]["sender"] == {"did": bob.did}
    events, _ = all_logs(alice, a_cur)
    assert log_types(events) == ["logAddReaction", "logRemoveReaction"]
    assert events[0]["message"]["id"] == m["id"]


# ---------------------------------------------------------------- acceptConvo, leaveConvo


def test_accept_convo_rev_first_time_only(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = group(alice, bob)
    rev_before = get_convo(bob, cid)["rev"]
    out = bob.ok(f"{CONVO}.acceptConvo", {"convoId": cid})
    assert set(out) == {"rev"} and out["rev"] > rev_before
    view = get_convo(bob, cid)
    assert view["status"] == "accepted" and view["rev"] == out["rev"]
    assert bob.ok(f"{CONVO}.acceptConvo", {"convoId": cid}) == {}
    assert alice.ok(f"{CONVO}.acceptConvo", {"convoId": cid}) == {}
    events, _ = all_logs(bob)
    assert log_types(events) == ["logBeginConvo", "logAcceptConvo"] and events[1]["rev"] == out["rev"]


def test_leave_convo_owner_rules(server: MockChatServer, api: Make) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    cid = group(alice, bob, carol)
    rev_before = get_convo(alice, cid)["rev"]
    before = dump(server)
    error, message = alice.error(f"{CONVO}.leaveConvo", {"convoId": cid})
    assert error == "OwnerCannotLeave" and "lock" in message
    assert dump(server) == before
    out = bob.ok(f"{CONVO}.leaveConvo", {"convoId": cid})
    assert out["convoId"] == cid and out["rev"] > rev_before
    assert_invalid_convo(bob, f"{CONVO}.getConvo", convoId=cid)
    assert_invalid_convo(bob, f"{CONVO}.leaveConvo", {"convoId": cid})
    alice.ok(f"{CONVO}.lockConvo", {"convoId": cid})
    out = alice.ok(f"{CONVO}.leaveConvo", {"convoId": cid})
    assert out["convoId"] == cid
    view = get_convo(carol, cid)
    assert view["kind"]["lockStatus"] == "locked-permanently" and view["kind"]["memberCount"] == 1
    datas = [m["data"]["$type"] for m in carol.ok(f"{CONVO}.getMessages", convoId=cid)["messages"][:2]]
    assert datas == [f"{DEFS}#systemMessageDataMemberLeave", f"{DEFS}#systemMessageDataLockConvoPermanently"]
    assert alice.did not in dids(carol.ok(f"{CONVO}.getConvoMembers", convoId=cid)["members"])


def test_owner_leaving_moderation_locked_group(server: MockChatServer, api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = group(alice, bob)
    moderation_lock(server, cid)
    alice.ok(f"{CONVO}.leaveConvo", {"convoId": cid})
    kind = get_convo(bob, cid)["kind"]
    assert kind["lockStatus"] == "locked-permanently" and kind["lockStatusModerationOverride"] is True


# ---------------------------------------------------------------- lockConvo, unlockConvo


def test_lock_and_unlock(server: MockChatServer, api: Make) -> None:
    alice, bob, eve = api("alice"), api("bob"), api("eve")
    cid = group(alice, bob)
    assert_invalid_convo(eve, f"{CONVO}.lockConvo", {"convoId": cid})
    assert_invalid_convo(eve, f"{CONVO}.unlockConvo", {"convoId": cid})
    for nsid in ("lockConvo", "unlockConvo"):
        error, message = bob.error(f"{CONVO}.{nsid}", {"convoId": cid})
        assert error == "InsufficientRole" and "owner" in message
    # unlock of an unlocked group: a no-op
    same = alice.ok(f"{CONVO}.unlockConvo", {"convoId": cid})["convo"]
    assert same["kind"]["lockStatus"] == "unlocked" and "lastMessage" not in same
    locked = alice.ok(f"{CONVO}.lockConvo", {"convoId": cid})["convo"]
    assert locked["kind"]["lockStatus"] == "locked" and locked["kind"]["lockStatusModerationOverride"] is False
    assert locked["lastMessage"]["data"] == {
        "$type": f"{DEFS}#systemMessageDataLockConvo",
        "lockedBy": {"did": alice.did},
    }
    before = dump(server)
    error, message = alice.error(f"{CONVO}.lockConvo", {"convoId": cid})
    assert error == "ConvoLocked" and "locked" in message
    assert dump(server) == before
    unlocked = alice.ok(f"{CONVO}.unlockConvo", {"convoId": cid})["convo"]
    assert unlocked["kind"]["lockStatus"] == "unlocked"
    assert unlocked["lastMessage"]["data"] == {
        "$type": f"{DEFS}#systemMessageDataUnlockConvo",
        "unlockedBy": {"did": alice.did},
    }


def test_moderation_lock(server: MockChatServer, api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = group(alice, bob)
    moderation_lock(server, cid)
    kind = get_convo(bob, cid)["kind"]
    assert kind["lockStatus"] == "locked" and kind["lockStatusModerationOverride"] is True
    before = dump(server)
    error, message = alice.error(f"{CONVO}.lockConvo", {"convoId": cid})
    assert error == "ConvoLocked" and "moderation" in message
    error, message = alice.error(f"{CONVO}.unlockConvo", {"convoId": cid})
    assert error == "ConvoLockedByModeration" and "moderation" in message
    # role is checked before the moderation lock
    assert bob.error(f"{CONVO}.unlockConvo", {"convoId": cid})[0] == "InsufficientRole"
    assert dump(server) == before
    moderation_lock(server, cid, False)
    kind = get_convo(bob, cid)["kind"]
    assert kind["lockStatus"] == "unlocked" and kind["lockStatusModerationOverride"] is False


def test_permanently_locked_group_has_no_owner_to_unlock(server: MockChatServer, api: Make) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    cid = group(alice, bob, carol)
    alice.ok(f"{CONVO}.lockConvo", {"convoId": cid})
    alice.ok(f"{CONVO}.leaveConvo", {"convoId": cid})
    # nobody is the owner any more
    for who in (bob, carol):
        assert who.error(f"{CONVO}.unlockConvo", {"convoId": cid})[0] == "InsufficientRole"
    assert get_convo(bob, cid)["kind"]["lockStatus"] == "locked-permanently"


# ---------------------------------------------------------------- muteConvo, unmuteConvo


def test_mute_and_unmute(api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = group(alice, bob)
    newer = group(alice, bob)
    alice_rev = get_convo(alice, cid)["rev"]
    muted = bob.ok(f"{CONVO}.muteConvo", {"convoId": cid})["convo"]
    assert muted["muted"] is True and muted["id"] == cid
    assert get_convo(alice, cid)["muted"] is False  # muting is the viewer's own
    # and so is its rev: bob's view moves to his mute event, alice's view and list order stay
    assert muted["rev"] == all_logs(bob)[0][-1]["rev"] > alice_rev
    assert get_convo(alice, cid)["rev"] == alice_rev
    assert [c["id"] for c in alice.ok(f"{CONVO}.listConvos")["convos"]] == [newer, cid]
    assert bob.ok(f"{CONVO}.muteConvo", {"convoId": cid})["convo"]["muted"] is True
    assert bob.ok(f"{CONVO}.unmuteConvo", {"convoId": cid})["convo"]["muted"] is False
    assert bob.ok(f"{CONVO}.unmuteConvo", {"convoId": cid})["convo"]["muted"] is False
    assert log_types(all_logs(bob)[0], cid) == ["logBeginConvo", "logMuteConvo", "logUnmuteConvo"]


# ---------------------------------------------------------------- updateRead, updateAllRead


def test_update_read_with_and_without_message_id(server: MockChatServer, api: Make) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    cid = group(alice, bob)
    early = send(alice, cid, "one")
    add(alice, cid, carol)
    sent = [send(alice, cid, t) for t in ("two", "three", "four")]
    assert get_convo(bob, cid)["unreadCount"] == 4
    assert get_convo(carol, cid)["unreadCount"] == 3  # system messages do not count
    view = bob.ok(f"{CONVO}.updateRead", {"convoId": cid, "messageId": sent[0]["id"]})["convo"]
    assert view["unreadCount"] == 2
    view = bob.ok(f"{CONVO}.updateRead", {"convoId": cid})["convo"]
    assert view["unreadCount"] == 0
    events = all_logs(bob)[0]
    reads = [e for e in events if e["$type"] == f"{DEFS}#logReadConvo"]
    assert [e["message"]["id"] for e in reads] == [sent[0]["id"], sent[2]["id"]]
    # a message the caller cannot see, or no such message: InvalidRequest, nothing changes
    before = dump(server)
    for message_id in (early["id"], "3aaaaaaaaaaaa"):
        error, message = carol.error(f"{CONVO}.updateRead", {"convoId": cid, "messageId": message_id})
        assert error == "InvalidRequest" and message_id in message
    assert get_convo(carol, cid)["unreadCount"] == 3
    assert dump(server) == before
    assert_invalid_convo(carol, f"{CONVO}.updateRead", {"convoId": UNKNOWN, "messageId": early["id"]})


def test_update_all_read_counts_updated_convos(api: Make) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    g1, g2, g3 = group(bob, alice), group(carol, alice), group(bob, alice)
    alice.ok(f"{CONVO}.acceptConvo", {"convoId": g1})
    send(bob, g1, "x")
    send(carol, g2, "y")  # alice still in request status in g2
    send(bob, g3, "z")
    alice.ok(f"{CONVO}.updateRead", {"convoId": g3})  # already read
    assert alice.ok(f"{CONVO}.updateAllRead", {"status": "accepted"}) == {"updatedCount": 1}
    assert get_convo(alice, g1)["unreadCount"] == 0 and get_convo(alice, g2)["unreadCount"] == 1
    assert alice.ok(f"{CONVO}.updateAllRead", {}) == {"updatedCount": 1}
    assert get_convo(alice, g2)["unreadCount"] == 0
    assert alice.ok(f"{CONVO}.updateAllRead", {}) == {"updatedCount": 0}
    assert alice.ok(f"{CONVO}.listConvos", readState="unread") == {"convos": []}


# ---------------------------------------------------------------- getUnreadCounts


def test_get_unread_counts(server: MockChatServer, api: Make) -> None:
    alice, bob, carol, dave = api("alice"), api("bob"), api("carol"), api("dave")
    accepted = group(bob, alice, name="accepted")
    alice.ok(f"{CONVO}.acceptConvo", {"convoId": accepted})
    request = group(carol, alice, name="request")
    muted = group(bob, alice, name="muted")
    alice.ok(f"{CONVO}.acceptConvo", {"convoId": muted})
    alice.ok(f"{CONVO}.muteConvo", {"convoId": muted})
    locked = group(carol, alice, name="locked")
    alice.ok(f"{CONVO}.acceptConvo", {"convoId": locked})
    moderated = group(bob, alice, name="moderated")
    alice.ok(f"{CONVO}.acceptConvo", {"convoId": moderated})
    for sender, cid in ((bob, accepted), (carol, request), (bob, muted), (carol, locked), (bob, moderated)):
        send(sender, cid, "unread")
    carol.ok(f"{CONVO}.lockConvo", {"convoId": locked})
    moderation_lock(server, moderated)
    assert alice.ok(f"{CONVO}.getUnreadCounts") == {"unreadAcceptedConvos": 1, "unreadRequestConvos": 1}
    assert alice.ok(f"{CONVO}.getUnreadCounts", includeGroupChats="false") == {
        "unreadAcceptedConvos": 0,
        "unreadRequestConvos": 0,
    }
    # the owner of a group with an unread join request counts it, until the requests are read
    owned = group(alice, name="owned")
    code = alice.ok(
        "chat.bsky.group.createJoinLink", {"convoId": owned, "joinRule": "anyone", "requireApproval": True}
    )["joinLink"]["code"]
    dave.ok("chat.bsky.group.requestJoin", {"code": code})
    assert alice.ok(f"{CONVO}.getUnreadCounts")["unreadAcceptedConvos"] == 2
    kind = get_convo(alice, owned)["kind"]
    assert kind["joinRequestCount"] == 1 and kind["unreadJoinRequestCount"] == 1
    alice.ok("chat.bsky.group.updateJoinRequestsRead", {"convoId": owned})
    assert alice.ok(f"{CONVO}.getUnreadCounts")["unreadAcceptedConvos"] == 1
    alice.ok(f"{CONVO}.updateAllRead", {})
    assert alice.ok(f"{CONVO}.getUnreadCounts") == {"unreadAcceptedConvos": 0, "unreadRequestConvos": 0}


# ---------------------------------------------------------------- addReaction, removeReaction


def test_reactions_idempotent_and_last_reaction(api: Make) -> None:
    alice, bob, carol = api("alice"), api("bob"), api("carol")
    cid = group(alice, bob, carol)
    m = send(alice, cid, "react to me")
    body = {"convoId": cid, "messageId": m["id"], "value": "👍"}
    first = bob.ok(f"{CONVO}.addReaction", body)["message"]
    again = bob.ok(f"{CONVO}.addReaction", body)["message"]
    assert first == again
    assert [(r["value"], r["sender"]["did"]) for r in again["reactions"]] == [("👍", bob.did)]
    carol.ok(f"{CONVO}.addReaction", {**body, "value": "🎉"})
    view = get_convo(alice, cid)
    assert view["lastReaction"]["$type"] == f"{DEFS}#messageAndReactionView"
    assert view["lastReaction"]["message"]["id"] == m["id"]
    assert view["lastReaction"]["reaction"]["value"] == "🎉"
    assert view["lastReaction"]["reaction"]["sender"] == {"did": carol.did}
    assert carol.did in dids(view["members"])
    out = carol.ok(f"{CONVO}.removeReaction", {**body, "value": "🎉"})["message"]
    assert [r["value"] for r in out["reactions"]] == ["👍"]
    assert get_convo(alice, cid)["lastReaction"]["reaction"]["sender"] == {"did": bob.did}
    # removing what is not there is fine and logs nothing
    _, cursor = all_logs(alice)
    assert "reactions" not in bob.ok(f"{CONVO}.removeReaction", body)["message"]
    assert bob.ok(f"{CONVO}.removeReaction", body)["message"]["id"] == m["id"]
    assert log_types(all_logs(alice, cursor)[0]) == ["logRemoveReaction"]
    assert "lastReaction" not in get_convo(alice, cid)
    # adding the same emoji twice logged one event
    events = all_logs(alice)[0]
    assert log_types(events).count("logAddReaction") == 2


def test_last_reaction_after_removal_with_equal_timestamps(
    server: MockChatServer, api: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob, carol, dave = api("alice"), api("bob"), api("carol"), api("dave")
    cid = group(alice, bob, carol, dave)
    m = send(alice, cid, "fast reactions")
    frozen = server.service.clock.now()
    monkeypatch.setattr(server.service.clock, "now", lambda: frozen)  # three reactions in one millisecond
    for who, value in ((bob, "👍"), (carol, "🎉"), (dave, "😀")):
        who.ok(f"{CONVO}.addReaction", {"convoId": cid, "messageId": m["id"], "value": value})
    dave.ok(f"{CONVO}.removeReaction", {"convoId": cid, "messageId": m["id"], "value": "😀"})
    last = get_convo(alice, cid)["lastReaction"]["reaction"]
    assert (last["value"], last["sender"]["did"]) == ("🎉", carol.did)  # the newest still in place


def test_reaction_errors_in_order(server: MockChatServer, api: Make) -> None:
    alice, bob, carol, eve = api("alice"), api("bob"), api("carol"), api("eve")
    cid = group(alice, bob)
    early = send(alice, cid, "before carol")
    add(alice, cid, carol)
    m = send(alice, cid, "after carol")
    system_id = bob.ok(f"{CONVO}.getMessages", convoId=cid)["messages"][1]["id"]
    before = dump(server)
    for nsid in ("addReaction", "removeReaction"):
        body = {"convoId": cid, "messageId": m["id"], "value": "👍"}
        assert_invalid_convo(eve, f"{CONVO}.{nsid}", body)
        for message_id in (early["id"], "3aaaaaaaaaaaa"):
            error, message = carol.error(f"{CONVO}.{nsid}", {**body, "messageId": message_id, "value": "a"})
            assert error == "InvalidRequest" and message_id in message
        error, message = bob.error(f"{CONVO}.{nsid}", {**body, "messageId": system_id, "value": "a"})
        assert error == "ReactionNotAllowed" and "system message" in message.lower()
        error, message = bob.error(f"{CONVO}.{nsid}", {**body, "value": "a"})
        assert error == "ReactionInvalidValue" and "'a'" in message
    assert dump(server) == before
    bob.ok(f"{CONVO}.addReaction", {"convoId": cid, "messageId": m["id"], "value": "👍"})
    alice.ok(f"{CONVO}.lockConvo", {"convoId": cid})
    for nsid in ("addReaction", "removeReaction"):
        for value in ("👍", "a"):  # the lock is checked before the value
            error, message = bob.error(f"{CONVO}.{nsid}", {"convoId": cid, "messageId": m["id"], "value": value})
            assert error == "ReactionNotAllowed" and "locked" in message
    alice.ok(f"{CONVO}.unlockConvo", {"convoId": cid})
    moderation_lock(server, cid)
    error, message = bob.error(f"{CONVO}.addReaction", {"convoId": cid, "messageId": m["id"], "value": "🎉"})
    assert error == "ReactionNotAllowed" and "locked" in message


def test_reaction_limit_reached_after_five_distinct(server: MockChatServer, api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    cid = group(alice, bob)
    m = send(alice, cid, "lots")
    emoji = ["👍", "🎉", "😀", "❤️", "🔥"]
    for value in emoji:
        bob.ok(f"{CONVO}.addReaction", {"convoId": cid, "messageId": m["id"], "value": value})
    # the same emoji again is still fine
    again = bob.ok(f"{CONVO}.addReaction", {"convoId": cid, "messageId": m["id"], "value": "🔥"})["message"]
    assert [r["value"] for r in again["reactions"]] == emoji
    before = dump(server)
    _, cursor = all_logs(alice)
    error, message = bob.error(f"{CONVO}.addReaction", {"convoId": cid, "messageId": m["id"], "value": "😎"})
    assert error == "ReactionLimitReached" and "5" in message
    assert all_logs(alice, cursor)[0] == [] and dump(server) == before
    # others are not limited by bob's reactions; removing one makes room again
    alice.ok(f"{CONVO}.addReaction", {"convoId": cid, "messageId": m["id"], "value": "😎"})
    bob.ok(f"{CONVO}.removeReaction", {"convoId": cid, "messageId": m["id"], "value": "👍"})
    out = bob.ok(f"{CONVO}.addReaction", {"convoId": cid, "messageId": m["id"], "value": "😎"})["message"]
    assert len([r for r in out["reactions"] if r["sender"]["did"] == bob.did]) == 5


# ---------------------------------------------------------------- revs


def test_revs_sort_in_order_of_change(server: MockChatServer, api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    g1 = group(alice, bob)
    revs = [get_convo(alice, g1)["rev"]]
    g2 = group(bob, alice)
    revs.append(get_convo(bob, g2)["rev"])
    revs.append(send(alice, g1, "one")["rev"])
    revs.append(alice.ok(f"{CONVO}.acceptConvo", {"convoId": g2})["rev"])
    server.service.clock.advance(-3600)  # even when the clock goes back
    revs.append(send(bob, g2, "two")["rev"])
    revs.append(alice.ok(f"{CONVO}.lockConvo", {"convoId": g1})["convo"]["rev"])
    revs.append(bob.ok(f"{CONVO}.leaveConvo", {"convoId": g1})["rev"])
    assert revs == sorted(revs) and len(set(revs)) == len(revs)
    view = get_convo(alice, g1)  # leaving also posted a system message, the convo's latest change
    assert view["rev"] > revs[-1] and view["rev"] == view["lastMessage"]["rev"]
    # the convo's rev is the newest of its shared events, and its getLog events carry the same revs
    log_revs = [e["rev"] for e in all_logs(alice)[0]]
    assert log_revs == sorted(log_revs) and revs[2] in log_revs and revs[3] in log_revs
    convos = alice.ok(f"{CONVO}.listConvos")["convos"]
    assert [c["id"] for c in convos] == [g1, g2]


# ---------------------------------------------------------------- more per-viewer log rows and cursors


def test_get_log_join_by_link_and_approval(api: Make) -> None:
    alice, bob, carol, dave = api("alice"), api("bob"), api("carol"), api("dave")
    cid = group(alice, bob)
    code = alice.ok("chat.bsky.group.createJoinLink", {"convoId": cid, "joinRule": "anyone", "requireApproval": False})[
        "joinLink"
    ]["code"]
    cursors = {who.did: all_logs(who)[1] for who in (alice, bob, carol, dave)}
    carol.ok("chat.bsky.group.requestJoin", {"code": code})
    assert log_types(all_logs(carol, cursors[carol.did])[0]) == ["logBeginConvo", "logMemberJoin"]
    for who in (alice, bob):
        events, cursors[who.did] = all_logs(who, cursors[who.did])
        assert log_types(events) == ["logMemberJoin"]
        assert events[0]["message"]["data"] == {
            "$type": f"{DEFS}#systemMessageDataMemberJoin",
            "member": {"did": carol.did},
            "role": "standard",
        }
    alice.ok("chat.bsky.group.editJoinLink", {"convoId": cid, "requireApproval": True})
    for who in (alice, bob):
        events, cursors[who.did] = all_logs(who, cursors[who.did])
        assert log_types(events) == ["logEditJoinLink"]
    dave.ok("chat.bsky.group.requestJoin", {"code": code})
    _, cursors[alice.did] = all_logs(alice, cursors[alice.did])
    _, cursors[dave.did] = all_logs(dave, cursors[dave.did])
    alice.ok("chat.bsky.group.approveJoinRequest", {"convoId": cid, "member": dave.did})
    assert log_types(all_logs(alice, cursors[alice.did])[0]) == ["logApproveJoinRequest", "logMemberJoin"]
    assert log_types(all_logs(dave, cursors[dave.did])[0]) == ["logBeginConvo", "logMemberJoin"]
    assert log_types(all_logs(bob, cursors[bob.did])[0]) == ["logMemberJoin"]


def test_cursor_not_handed_out_by_server_is_invalid_request(api: Make) -> None:
    """A well-formed base64url cursor that holds no position this server gave out ("hello") is
    refused by the opaque list cursors; getLog and getMessages take it as a rev, compared as text."""
    alice, bob = api("alice"), api("bob")
    cid = group(alice, bob)
    m = send(alice, cid, "x")
    forged = "aGVsbG8"  # base64url("hello")
    accepted: list[str] = []
    for nsid, params in (
        ("listConvos", {}),
        ("listConvoRequests", {}),
        ("getConvoMembers", {"convoId": cid}),
    ):
        status, out = alice.get(f"{CONVO}.{nsid}", cursor=forged, **params)
        if status != 400 or out.get("error") != "InvalidRequest" or "cursor" not in out.get("message", "").lower():
            accepted.append(f"{nsid}: {status} {str(out)[:80]}")
    assert accepted == []
    # "aGVsbG8" sorts after every rev: no log event is newer, every message is older
    assert alice.ok(f"{CONVO}.getLog", cursor=forged) == {"logs": [], "cursor": forged}
    assert [x["id"] for x in alice.ok(f"{CONVO}.getMessages", convoId=cid, cursor=forged)["messages"]] == [m["id"]]


def test_join_request_count_capped_at_21(api: Make) -> None:
    alice = api("alice")
    cid = group(alice)
    code = alice.ok("chat.bsky.group.createJoinLink", {"convoId": cid, "joinRule": "anyone", "requireApproval": True})[
        "joinLink"
    ]["code"]
    for who in people(api, 22, "r"):
        assert who.ok("chat.bsky.group.requestJoin", {"code": code})["status"] == "pending"
    kind = get_convo(alice, cid)["kind"]
    assert kind["joinRequestCount"] == 21 and kind["unreadJoinRequestCount"] == 22
    assert kind["memberCount"] == 1


def test_get_log_reaction_events_name_the_reactor_in_related_profiles(api: Make) -> None:
    """relatedProfiles: "profiles referred in the message and reaction views" (lexicon)."""
    alice, bob = api("alice"), api("bob")
    cid = group(alice, bob)
    m = send(alice, cid, "hi")
    created = [e for e in all_logs(bob)[0] if e["$type"] == f"{DEFS}#logCreateMessage"]
    assert dids(created[0]["relatedProfiles"]) == [alice.did]
    _, cursor = all_logs(alice)
    bob.ok(f"{CONVO}.addReaction", {"convoId": cid, "messageId": m["id"], "value": "❤️"})
    added, cursor = all_logs(alice, cursor)
    assert {alice.did, bob.did} == set(dids(added[0]["relatedProfiles"]))
    bob.ok(f"{CONVO}.removeReaction", {"convoId": cid, "messageId": m["id"], "value": "❤️"})
    removed, _ = all_logs(alice, cursor)
    assert log_types(removed) == ["logRemoveReaction"]
    assert removed[0]["reaction"]["sender"] == {"did": bob.did}
    assert {alice.did, bob.did} <= set(dids(removed[0]["relatedProfiles"]))
    # the add event, read again after the removal, still names its reactor
    again = [e for e in all_logs(alice)[0] if e["$type"] == f"{DEFS}#logAddReaction"]
    assert {alice.did, bob.did} <= set(dids(again[0]["relatedProfiles"]))
