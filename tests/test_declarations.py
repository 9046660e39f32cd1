"""The chat declaration: absent, set through the admin API, or written as the app's settings screen
writes it (``com.atproto.repo.putRecord`` of ``chat.bsky.actor.declaration``, rkey ``self``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from atproto import Client
from atproto.exceptions import BadRequestError
from conftest import Api, dump

from mockserver import MockChatServer

Json = dict[str, Any]
Make = Callable[..., Api]
G = "chat.bsky.group."
REPO = "com.atproto.repo."
DECL = "chat.bsky.actor.declaration"


def chat_of(who: Api, subject: Api) -> Json | None:
    """``associated.chat`` of ``subject``'s profile as ``who`` sees it (None when absent)."""
    chat: Json | None = who.ok("app.bsky.actor.getProfile", actor=subject.did)["associated"].get("chat")
    return chat


def test_no_declaration_means_following_for_invites(api: Make, admin_http: httpx.Client) -> None:
    alice = api("alice")
    quiet = api("quiet", allowIncoming=None)
    assert chat_of(alice, quiet) is None, "no declaration: no associated.chat, as Bluesky's profiles"
    assert admin_http.get("/_mock/actors/quiet.test").json()["allowIncoming"] is None
    error, _ = alice.error(G + "createGroup", {"name": "x", "members": [quiet.did]})
    assert error == "NotFollowedBySender", "unset allowGroupInvites follows allowIncoming, unset means following"
    admin_http.patch("/_mock/actors/quiet.test", json={"follows": [alice.did]}).raise_for_status()
    alice.ok(G + "createGroup", {"name": "x", "members": [quiet.did]})
    members = alice.ok(
        "chat.bsky.convo.getConvoMembers", convoId=alice.ok("chat.bsky.convo.listConvos")["convos"][0]["id"]
    )
    theirs = next(m for m in members["members"] if m["did"] == quiet.did)
    assert "chat" not in theirs["associated"]


def test_unset_group_invites_follow_allow_incoming(api: Make) -> None:
    alice = api("alice")
    closed = api("closed", allowIncoming="none", allowGroupInvites=None)
    assert chat_of(alice, closed) == {"allowIncoming": "none"}
    assert alice.error(G + "createGroup", {"name": "x", "members": [closed.did]})[0] == "UserForbidsGroups"
    open_ = api("open", allowIncoming="all", allowGroupInvites=None)
    alice.ok(G + "createGroup", {"name": "x", "members": [open_.did]})


def test_admin_refuses_group_invites_without_a_declaration(server: MockChatServer, admin_http: httpx.Client) -> None:
    before = dump(server)
    answer = admin_http.post(
        "/_mock/actors", json={"handle": "x.test", "allowIncoming": None, "allowGroupInvites": "all"}
    )
    assert answer.status_code == 400 and "allowIncoming" in answer.json()["message"]
    assert dump(server) == before
    made = admin_http.post("/_mock/actors", json={"handle": "y.test", "allowIncoming": None}).json()
    assert admin_http.get(f"/_mock/actors/{made['did']}").json()["allowGroupInvites"] is None


def test_settings_screen_writes_reads_and_deletes_the_record(server: MockChatServer, api: Make) -> None:
    alice, bob = api("alice"), api("bob", allowIncoming=None)
    client = Client(base_url=server.url)
    client.login("bob.test", "pw")
    with pytest.raises(BadRequestError) as info:
        client.com.atproto.repo.get_record({"repo": bob.did, "collection": DECL, "rkey": "self"})
    assert info.value.response is not None and info.value.response.content.error == "RecordNotFound"
    record = {"$type": DECL, "allowIncoming": "all", "allowGroupInvites": "none"}
    put = client.com.atproto.repo.put_record({"repo": bob.did, "collection": DECL, "rkey": "self", "record": record})
    assert put.uri == f"at://{bob.did}/{DECL}/self" and put.cid.startswith("b")
    assert chat_of(alice, bob) == {"allowIncoming": "all", "allowGroupInvites": "none"}
    assert alice.error(G + "createGroup", {"name": "x", "members": [bob.did]})[0] == "UserForbidsGroups"
    got = client.com.atproto.repo.get_record({"repo": "bob.test", "collection": DECL, "rkey": "self"})
    assert got.cid == put.cid and got.uri == put.uri
    assert alice.ok(REPO + "getRecord", repo=bob.did, collection=DECL, rkey="self")["value"] == record
    # the same write again keeps the same CID; a change gives a new one
    again = client.com.atproto.repo.put_record({"repo": bob.did, "collection": DECL, "rkey": "self", "record": record})
    assert again.cid == put.cid
    changed = {"$type": DECL, "allowIncoming": "following"}
    later = client.com.atproto.repo.put_record(
        {"repo": bob.did, "collection": DECL, "rkey": "self", "record": changed, "swapRecord": put.cid}
    )
    assert later.cid != put.cid and chat_of(alice, bob) == {"allowIncoming": "following"}
    client.com.atproto.repo.delete_record({"repo": bob.did, "collection": DECL, "rkey": "self"})
    assert chat_of(alice, bob) is None
    client.com.atproto.repo.delete_record({"repo": bob.did, "collection": DECL, "rkey": "self"})  # already gone: fine


def test_record_writes_that_are_refused_change_nothing(server: MockChatServer, api: Make) -> None:
    alice, bob = api("alice"), api("bob")
    good = {"$type": DECL, "allowIncoming": "none"}
    cases: list[tuple[Json, int, str, str]] = [
        (
            {"repo": alice.did, "collection": DECL, "rkey": "self", "record": good},
            401,
            "AuthenticationRequired",
            "own repo",
        ),
        (
            {"repo": "nobody.test", "collection": DECL, "rkey": "self", "record": good},
            400,
            "InvalidRequest",
            "nobody.test",
        ),
        (
            {"repo": bob.did, "collection": "app.bsky.feed.post", "rkey": "self", "record": good},
            400,
            "InvalidRequest",
            "chat only",
        ),
        ({"repo": bob.did, "collection": DECL, "rkey": "other", "record": good}, 400, "InvalidRequest", "self"),
        (
            {"repo": bob.did, "collection": DECL, "rkey": "self", "record": {"allowIncoming": "maybe"}},
            400,
            "InvalidRequest",
            "allowIncoming",
        ),
        (
            {"repo": bob.did, "collection": DECL, "rkey": "self", "record": {"allowGroupInvites": "all"}},
            400,
            "InvalidRequest",
            "allowIncoming",
        ),
        ({"repo": bob.did, "collection": DECL, "rkey": "self", "record": "none"}, 400, "InvalidRequest", "object"),
        (
            {"repo": bob.did, "collection": DECL, "rkey": "self", "record": {**good, "$type": "x.y.z"}},
            400,
            "InvalidRequest",
            "x.y.z",
        ),
        (
            {
                "repo": bob.did,
                "collection": DECL,
                "rkey": "self",
                "record": {**good, "$type": "app.bsky.actor.profile"},
            },
            400,
            "InvalidRequest",
            "expected chat.bsky.actor.declaration",
        ),
        (
            {"repo": bob.did, "collection": DECL, "rkey": "self", "record": good, "swapRecord": "bafkreiaaaa"},
            400,
            "InvalidSwap",
            "not",
        ),
        (
            {"repo": bob.did, "collection": DECL, "rkey": "self", "record": good, "swapCommit": "bafkreiaaaa"},
            400,
            "InvalidRequest",
            "swapCommit",
        ),
    ]
    before = dump(server)
    for body, status, error, text in cases:
        got_status, out = bob.post(REPO + "putRecord", body)
        assert (got_status, out.get("error")) == (status, error), (body, out)
        assert text in out["message"], (text, out)
    status, out = bob.post(REPO + "deleteRecord", {"repo": alice.did, "collection": DECL, "rkey": "self"})
    assert (status, out["error"]) == (401, "AuthenticationRequired")
    assert dump(server) == before
    assert api(None).error(REPO + "getRecord", repo=bob.did, collection="app.bsky.actor.profile", rkey="self")[0] == (
        "RecordNotFound"
    )


def test_scenario_actor_without_declaration(admin_http: httpx.Client) -> None:
    scenario = {"actors": {"alice": {}, "quiet": {"allowIncoming": None}}}
    answer = admin_http.post("/_mock/scenarios/load", json={"scenario": scenario})
    assert answer.status_code == 200, answer.text
    quiet = admin_http.get("/_mock/actors/quiet.test").json()
    assert quiet["allowIncoming"] is None and quiet["allowGroupInvites"] is None
