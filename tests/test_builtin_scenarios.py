"""Each built-in scenario, loaded through the admin API, reproduces every error it claims, over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from conftest import SSL

from mockserver import MockChatServer
from scenarios import builtin_names, find

Json = dict[str, Any]


class As:
    """XRPC calls as one scenario account, logged in with createSession like any client."""

    def __init__(self, server: MockChatServer, handle: str, password: str = "password") -> None:
        self.http = httpx.Client(base_url=f"{server.url}/xrpc/", verify=SSL, timeout=10)
        session = self.http.post(
            "com.atproto.server.createSession", json={"identifier": handle, "password": password}
        ).json()
        assert "accessJwt" in session, session
        self.did: str = session["did"]
        self.http.headers["Authorization"] = f"Bearer {session['accessJwt']}"

    def ok(self, nsid: str, body: Json | None = None, **params: Any) -> Json:
        r = self.http.post(nsid, json=body) if body is not None else self.http.get(nsid, params=params)
        assert r.status_code == 200, (nsid, r.text)
        out: Json = r.json() if r.content else {}
        return out

    def error(self, nsid: str, body: Json | None = None, **params: Any) -> str:
        r = self.http.post(nsid, json=body) if body is not None else self.http.get(nsid, params=params)
        assert 400 <= r.status_code < 500, (nsid, r.text)
        assert set(r.json()) == {"error", "message"}
        return str(r.json()["error"])


@pytest.fixture
def load(server: MockChatServer, admin_http: httpx.Client) -> Callable[[str], Json]:
    """Load a built-in scenario through the admin API; its actors, convos and codes by key."""

    def go(name: str) -> Json:
        response = admin_http.post("/_mock/scenarios/load", json={"name": name})
        assert response.status_code == 200, response.text
        loaded: Json = response.json()
        return loaded

    return go


@pytest.fixture
def login(server: MockChatServer) -> Callable[[str], As]:
    return lambda handle: As(server, handle)


def test_every_builtin_is_listed_with_a_description(admin_http: httpx.Client) -> None:
    listed = admin_http.get("/_mock/scenarios").json()["scenarios"]
    names = [s["name"] for s in listed]
    assert names == builtin_names()
    for wanted in (
        "demo",
        "locked-convo",
        "member-limit",
        "follow-required",
        "approval-required",
        "user-kicked",
        "link-disabled",
        "invites-refused",
        "restricted-accounts",
        "moderation-locked",
    ):
        assert wanted in names
    assert all(len(s["description"]) > 40 for s in listed)


def test_demo_is_lively(load: Callable[[str], Json], login: Callable[[str], As]) -> None:
    loaded = load("demo")
    for handle in ("alice.test", "bob.test", "carol.test", "dan.test"):
        assert handle in {a["handle"] for a in loaded["actors"].values()}
    alice = login("alice.test")
    convos = alice.ok("chat.bsky.convo.listConvos")["convos"]
    assert len(convos) >= 3
    hikers = alice.ok("chat.bsky.convo.getConvo", convoId=loaded["convos"]["hikers"])["convo"]
    assert hikers["kind"]["joinRequestCount"] == 1
    assert hikers["kind"]["joinLink"]["code"] == "hikers"
    messages = alice.ok("chat.bsky.convo.getMessages", convoId=loaded["convos"]["hikers"])["messages"]
    assert len(messages) >= 5 and any(m.get("reactions") for m in messages)
    assert alice.ok("chat.bsky.convo.listConvoRequests")["requests"]  # alice is a request in bob's band


def test_locked_convo(load: Callable[[str], Json], login: Callable[[str], As]) -> None:
    loaded = load("locked-convo")
    cid = loaded["convos"]["locked"]
    alice, bob, carol = login("alice.test"), login("bob.test"), login("carol.test")
    assert carol.error("chat.bsky.group.requestJoin", {"code": "locked-link"}) == "ConvoLocked"
    assert bob.error("chat.bsky.convo.sendMessage", {"convoId": cid, "message": {"text": "hi"}}) == "ConvoLocked"
    assert alice.error("chat.bsky.group.addMembers", {"convoId": cid, "members": [carol.did]}) == "ConvoLocked"


def test_member_limit(load: Callable[[str], Json], login: Callable[[str], As]) -> None:
    loaded = load("member-limit")
    cid = loaded["convos"]["full"]
    alice, carol = login("alice.test"), login("carol.test")
    convo = alice.ok("chat.bsky.convo.getConvo", convoId=cid)["convo"]
    assert (convo["kind"]["memberCount"], convo["kind"]["memberLimit"]) == (5, 5)
    assert carol.error("chat.bsky.group.requestJoin", {"code": "full-house"}) == "MemberLimitReached"
    assert alice.error("chat.bsky.group.addMembers", {"convoId": cid, "members": [carol.did]}) == "MemberLimitReached"
    gina = loaded["actors"]["gina"]["did"]
    assert alice.error("chat.bsky.group.approveJoinRequest", {"convoId": cid, "member": gina}) == "MemberLimitReached"


def test_follow_required(load: Callable[[str], Json], login: Callable[[str], As]) -> None:
    load("follow-required")
    assert login("carol.test").error("chat.bsky.group.requestJoin", {"code": "followers-only"}) == "FollowRequired"
    assert login("bob.test").ok("chat.bsky.group.requestJoin", {"code": "followers-only"})["status"] == "joined"


def test_approval_required(load: Callable[[str], Json], login: Callable[[str], As]) -> None:
    loaded = load("approval-required")
    cid = loaded["convos"]["ask"]
    alice, carol, dan = login("alice.test"), login("carol.test"), login("dan.test")
    waiting = alice.ok("chat.bsky.group.listJoinRequests", convoId=cid)["requests"]
    assert [r["requestedBy"]["handle"] for r in waiting] == ["dan.test"]
    assert carol.ok("chat.bsky.group.requestJoin", {"code": "needs-approval"})["status"] == "pending"
    dan.ok("chat.bsky.group.withdrawJoinRequest", {"convoId": cid})
    assert dan.error("chat.bsky.group.withdrawJoinRequest", {"convoId": cid}) == "InvalidJoinRequest"
    alice.ok("chat.bsky.group.approveJoinRequest", {"convoId": cid, "member": carol.did})
    assert carol.ok("chat.bsky.convo.getConvo", convoId=cid)["convo"]["status"] == "accepted"


def test_user_kicked(load: Callable[[str], Json], login: Callable[[str], As]) -> None:
    load("user-kicked")
    assert login("eve.test").error("chat.bsky.group.requestJoin", {"code": "kicked"}) == "UserKicked"
    assert login("carol.test").ok("chat.bsky.group.requestJoin", {"code": "kicked"})["status"] == "joined"


def test_link_disabled(load: Callable[[str], Json], login: Callable[[str], As]) -> None:
    loaded = load("link-disabled")
    carol = login("carol.test")
    assert carol.error("chat.bsky.group.requestJoin", {"code": "disabled-link"}) == "LinkDisabled"
    previews = carol.ok("chat.bsky.group.getJoinLinkPreviews", codes=["disabled-link"])["joinLinkPreviews"]
    assert previews[0]["$type"] == "chat.bsky.group.defs#disabledJoinLinkPreviewView"
    login("alice.test").ok("chat.bsky.group.enableJoinLink", {"convoId": loaded["convos"]["closed"]})
    assert carol.ok("chat.bsky.group.requestJoin", {"code": "disabled-link"})["status"] == "joined"


def test_invites_refused(load: Callable[[str], Json], login: Callable[[str], As]) -> None:
    loaded = load("invites-refused")
    alice = login("alice.test")
    did = {key: actor["did"] for key, actor in loaded["actors"].items()}
    cid = loaded["convos"]["invites"]
    expected = {
        "frank": "UserForbidsGroups",
        "gina": "NotFollowedBySender",
        "hank": "BlockedActor",  # hank (the invitee) blocks alice
        "ivan": "BlockedSubject",  # alice (the caller) blocks ivan
    }
    for key, error in expected.items():
        assert alice.error("chat.bsky.group.createGroup", {"name": "x", "members": [did[key]]}) == error
        assert alice.error("chat.bsky.group.addMembers", {"convoId": cid, "members": [did[key]]}) == error
    nobody = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"
    assert alice.error("chat.bsky.group.createGroup", {"name": "x", "members": [nobody]}) == "RecipientNotFound"
    assert alice.ok("chat.bsky.group.addMembers", {"convoId": cid, "members": [did["bob"]]})["addedMembers"]


def test_restricted_accounts(load: Callable[[str], Json], login: Callable[[str], As]) -> None:
    loaded = load("restricted-accounts")
    alice = loaded["actors"]["alice"]["did"]
    body = {"name": "x", "members": [alice]}
    assert login("sam.test").error("chat.bsky.group.createGroup", body) == "AccountSuspended"
    assert login("nina.test").error("chat.bsky.group.createGroup", body) == "NewAccountCannotCreateGroup"


def test_moderation_locked(load: Callable[[str], Json], login: Callable[[str], As]) -> None:
    loaded = load("moderation-locked")
    cid = loaded["convos"]["review"]
    alice, bob = login("alice.test"), login("bob.test")
    kind = alice.ok("chat.bsky.convo.getConvo", convoId=cid)["convo"]["kind"]
    assert kind["lockStatusModerationOverride"] is True and kind["lockStatus"] == "locked"
    assert alice.error("chat.bsky.convo.unlockConvo", {"convoId": cid}) == "ConvoLockedByModeration"
    assert bob.error("chat.bsky.convo.sendMessage", {"convoId": cid, "message": {"text": "hi"}}) == "ConvoLocked"


@pytest.mark.parametrize("name", builtin_names())
def test_builtin_files_check_and_every_account_logs_in(
    name: str, load: Callable[[str], Json], login: Callable[[str], As]
) -> None:
    spec = find(name).spec
    loaded = load(name)
    assert loaded["description"] == spec["description"]
    for actor in loaded["actors"].values():
        assert actor["password"] == "password"
        if name != "restricted-accounts":
            login(actor["handle"])
