"""Chat service mode against a small fake PLC + PDS (tests/network_fakes.py): service-auth JWTs
checked as atproto's services check them, accounts met on their first call and read from their
repositories, the DID document, and the mock's own login beside it. The same flows through a
real PDS are in tests/pds/."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from conftest import comparable

from mockserver import MockChatServer
from tests.network_fakes import Account, FakeNetwork, Key, aud, call, chat_behind

Json = dict[str, Any]
LIST = "chat.bsky.convo.listConvos"
CREATE = "chat.bsky.group.createGroup"


@pytest.fixture(scope="module")
def net() -> Iterator[FakeNetwork]:
    with FakeNetwork() as network:
        yield network


@pytest.fixture(scope="module")
def chat(net: FakeNetwork) -> Iterator[MockChatServer]:
    with chat_behind(net) as srv:
        yield srv


@pytest.fixture(autouse=True)
def _fresh(chat: MockChatServer, net: FakeNetwork) -> Iterator[None]:
    chat.reset()
    chat.call(lambda s: s.network.forget())  # type: ignore[union-attr]
    net.accounts.clear()
    net.fetches.clear()
    yield


@pytest.fixture
def client(chat: MockChatServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=chat.url, timeout=10) as c:
        yield c


def as_(
    client: httpx.Client, chat: MockChatServer, who: Account, nsid: str, body: Json | None = None, **p: Any
) -> Json:
    r = call(client, nsid, who.token(aud(chat), nsid), body, **p)
    assert r.status_code == 200, r.text
    return r.json() if r.content else {}


def test_did_document_names_the_chat_service(chat: MockChatServer, client: httpx.Client) -> None:
    doc = client.get("/.well-known/did.json").json()
    assert doc["id"] == f"did:web:localhost%3A{chat.port}"
    assert doc["service"] == [
        {"id": "#bsky_chat", "type": "BskyChatService", "serviceEndpoint": f"http://localhost:{chat.port}"}
    ]


def test_standalone_mode_has_no_did_document_and_explains_service_tokens(server: MockChatServer) -> None:
    r = httpx.get(f"{server.url}/.well-known/did.json")
    assert r.status_code == 404
    token = Key().token("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", "did:web:x", LIST)
    r = httpx.get(f"{server.url}/xrpc/{LIST}", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    assert r.json()["error"] == "InvalidToken" and "--plc-url" in r.json()["message"]


@pytest.mark.parametrize(("alg", "legacy"), [("ES256K", True), ("ES256K", False), ("ES256", True), ("ES256", False)])
def test_a_first_call_makes_the_account_from_its_did_document(
    chat: MockChatServer, net: FakeNetwork, client: httpx.Client, alg: str, legacy: bool
) -> None:
    alice = net.add("alice", alg=alg, legacy=legacy)
    alice.put("app.bsky.actor.profile", "self", {"displayName": "Alice Liddell"})
    alice.put("chat.bsky.actor.declaration", "self", {"allowIncoming": "following", "allowGroupInvites": "none"})
    assert as_(client, chat, alice, LIST) == {"convos": []}
    actor = chat.state.actors[alice.did]
    assert (actor.handle, actor.display_name) == ("alice.test", "Alice Liddell")
    assert (actor.allow_incoming, actor.allow_group_invites) == ("following", "none")
    as_(client, chat, alice, LIST)
    assert net.fetches[alice.did] == 1  # the document is kept


def test_a_did_web_account(chat: MockChatServer, net: FakeNetwork, client: httpx.Client) -> None:
    web = net.add("webby", web_did=True)
    as_(client, chat, web, LIST)
    assert chat.state.actors[web.did].handle == "webby.test"


def test_accounts_a_call_names_are_met_with_their_follows(
    chat: MockChatServer, net: FakeNetwork, client: httpx.Client
) -> None:
    alice, bob, carol = net.add("alice"), net.add("bob"), net.add("carol")
    alice.put("app.bsky.graph.follow", "f1", {"subject": bob.did, "createdAt": "2026-01-01T00:00:00Z"})
    bob.put("app.bsky.graph.follow", "f2", {"subject": alice.did, "createdAt": "2026-01-01T00:00:00Z"})
    carol.put("app.bsky.graph.block", "b1", {"subject": alice.did, "createdAt": "2026-01-01T00:00:00Z"})
    as_(client, chat, alice, LIST)  # alice alone: her follow of bob waits until the mock meets bob
    assert chat.state.actors[alice.did].follows == frozenset()
    group = as_(client, chat, alice, CREATE, {"name": "walrus", "members": [bob.did]})["convo"]
    assert {m["did"] for m in group["members"]} == {alice.did, bob.did}
    assert chat.state.actors[alice.did].follows == {bob.did}
    assert chat.state.actors[bob.did].follows == {alice.did}
    r = call(client, "chat.bsky.group.addMembers", alice.token(aud(chat), "chat.bsky.group.addMembers"),
             {"convoId": group["id"], "members": [carol.did]})  # fmt: skip
    assert r.status_code == 400 and r.json()["error"] == "BlockedActor"  # carol's block record
    assert chat.state.actors[carol.did].blocks == {alice.did}


def test_an_unknown_did_in_a_call_is_refused_as_usual(
    chat: MockChatServer, net: FakeNetwork, client: httpx.Client
) -> None:
    alice = net.add("alice")
    r = call(
        client, CREATE, alice.token(aud(chat), CREATE), {"name": "g", "members": ["did:plc:nobodyaaaaaaaaaaaaaaaaaa"]}
    )
    assert r.status_code == 400
    assert set(chat.state.actors) == {alice.did}


def test_after_a_reset_accounts_come_back_without_asking_again(
    chat: MockChatServer, net: FakeNetwork, client: httpx.Client
) -> None:
    alice = net.add("alice")
    as_(client, chat, alice, LIST)
    chat.reset()
    assert alice.did not in chat.state.actors
    as_(client, chat, alice, LIST)
    assert alice.did in chat.state.actors and net.fetches[alice.did] == 1


def test_the_mocks_own_login_works_beside_it(chat: MockChatServer, client: httpx.Client) -> None:
    made = client.post("/_mock/actors", json={"handle": "local", "password": "pw"}).json()
    r = client.post("/xrpc/com.atproto.server.createSession", json={"identifier": "local.test", "password": "pw"})
    assert r.status_code == 200
    assert call(client, LIST, r.json()["accessJwt"]).status_code == 200
    assert made["did"] in chat.state.actors


# -- refusals: each a 401 with the name atproto's services give it, and nothing changes ------
def refused(client: httpx.Client, chat: MockChatServer, token: str, nsid: str = LIST) -> tuple[str, str]:
    before = set(chat.state.actors)
    r = call(client, nsid, token)
    assert r.status_code == 401, r.text
    assert set(chat.state.actors) == before
    body = r.json()
    return body["error"], body["message"]


def test_refusals(chat: MockChatServer, net: FakeNetwork, client: httpx.Client) -> None:
    alice = net.add("alice")
    me = aud(chat)
    now = int(time.time())
    good = alice.token(me, LIST)
    head, _, rest = good.partition(".")
    assert refused(client, chat, f"{head}.bm90IGpzb24.{rest.split('.')[1]}")[0] == "BadJwt"
    assert refused(client, chat, alice.token(me, LIST, typ="at+jwt")) == ("BadJwtType", 'Invalid jwt type "at+jwt"')
    assert refused(client, chat, alice.token(me, LIST, typ="refresh+jwt"))[0] == "BadJwtType"
    assert refused(client, chat, alice.token(me, LIST, exp=now - 5)) == ("JwtExpired", "jwt expired")
    assert refused(client, chat, alice.token("did:web:elsewhere", LIST))[0] == "BadJwtAudience"
    assert refused(client, chat, alice.token(f"{me}#bsky_chat", LIST))[0] == "BadJwtAudience"
    error, message = refused(client, chat, alice.token(me, "chat.bsky.convo.getLog"))
    assert error == "BadJwtLexiconMethod" and message.startswith("bad jwt lexicon method")
    error, message = refused(client, chat, alice.token(me, None))
    assert error == "BadJwtLexiconMethod" and message.startswith("missing")
    assert refused(client, chat, Key().token("did:plc:nobodyaaaaaaaaaaaaaaaaaa", me, LIST)) == (
        "AuthenticationRequired",
        "could not resolve iss did",
    )
    assert refused(client, chat, Key().token("not a did", me, LIST))[0] == "BadJwtIss"
    assert refused(client, chat, Key().token(alice.did, me, LIST)) == (
        "BadJwtSignature",
        "jwt signature does not match jwt issuer",
    )
    assert refused(client, chat, alice.token(me, LIST, alg="ES256"))[0] == "BadJwtSignature"
    assert net.fetches[alice.did] == 3  # the two forged ones each made it read the document again, once
    assert call(client, LIST, good).status_code == 200  # and the server still serves


def test_exp_is_read_on_the_mocks_clock(chat: MockChatServer, net: FakeNetwork, client: httpx.Client) -> None:
    alice = net.add("alice")
    token = alice.token(aud(chat), LIST)
    assert call(client, LIST, token).status_code == 200
    client.post("/_mock/clock", json={"advance": 120})
    assert refused(client, chat, token)[0] == "JwtExpired"


def test_a_rotated_key_is_read_again_once(chat: MockChatServer, net: FakeNetwork, client: httpx.Client) -> None:
    alice = net.add("alice")
    as_(client, chat, alice, LIST)
    alice.key = Key()  # rotated on the PLC; the mock still has the old one
    as_(client, chat, alice, LIST)
    assert net.fetches[alice.did] == 2


def test_a_recording_in_chat_service_mode_replays_standalone(
    chat: MockChatServer, net: FakeNetwork, client: httpx.Client, tmp_path: Any
) -> None:
    from mockserver.recording import FileRecorder, read
    from mockserver.replay import replay
    from mockserver.snapshot import dump

    path = tmp_path / "rec.jsonl"
    recorder = FileRecorder(str(path))
    chat.call(lambda s: s.recorders.append(recorder))
    try:
        chat.call(lambda s: s.started())
        alice, bob = net.add("alice"), net.add("bob")
        bob.put("app.bsky.graph.follow", "f", {"subject": alice.did, "createdAt": "2026-01-01T00:00:00Z"})
        convo = as_(client, chat, alice, CREATE, {"name": "replayed", "members": [bob.did]})["convo"]
        as_(client, chat, bob, "chat.bsky.convo.sendMessage", {"convoId": convo["id"], "message": {"text": "hi"}})
        assert refused(client, chat, Key().token(alice.did, aud(chat), LIST))[0] == "BadJwtSignature"
        assert refused(client, chat, "not-a-token")[0] == "BadJwt"
    finally:
        chat.call(lambda s: s.recorders.remove(recorder))
    want = chat.call(dump)
    with MockChatServer(seed=7) as standalone:
        report = replay(standalone.url, read(str(path)))
        assert report.ok, report.text()
        assert report.passed_over == 2 and "passed over 2 refused service-auth call(s)" in report.text()
        got = standalone.call(dump)
    assert comparable(got)["actors"] == comparable(want)["actors"] and got["convos"] == want["convos"]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--service-did", "did:web:x"], "give --plc-url too"),
        (["--plc-url", "localhost:2582"], "http:// or https:// URL"),
        (["--plc-url", "http://localhost:2582", "--service-did", "nope"], "must be a DID"),
        (["--plc-url", "http://localhost:2582", "--service-did", "did:plc:abc"], "give --service-url"),
        (["--moderator", "ozone"], "must be a DID"),
    ],
)
def test_serve_refuses_a_bad_chat_service_setting(args: list[str], says: str) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", *args], capture_output=True, text=True, timeout=30
    )
    assert r.returncode == 2 and says in r.stderr


def test_a_pds_session_token_sent_straight_to_the_mock_is_the_wrong_type(chat: MockChatServer) -> None:
    import jwt

    pds_access = jwt.encode({"scope": "com.atproto.access", "sub": "did:plc:x", "aud": "did:web:pds.test"}, "s" * 32,
                            headers={"typ": "at+jwt"})  # fmt: skip
    r = httpx.get(f"{chat.url}/xrpc/{LIST}", headers={"Authorization": f"Bearer {pds_access}"})
    assert (r.status_code, r.json()["error"]) == (401, "BadJwtType")


def test_a_malformed_call_with_a_good_token_meets_no_one(
    chat: MockChatServer, net: FakeNetwork, client: httpx.Client
) -> None:
    alice = net.add("alice")
    r = call(client, CREATE, alice.token(aud(chat), CREATE), {"name": 5, "members": "nope"})
    assert r.status_code == 400 and r.json()["error"] == "InvalidRequest"
    assert alice.did not in chat.state.actors  # the input is checked before anything is written


def test_a_moderation_service_calls_with_its_labeler_key(net: FakeNetwork) -> None:
    ozone, alice = net.add("ozone"), net.add("alice")
    ozone.label_key = Key()
    with chat_behind(net, moderators=(ozone.did,)) as chat, httpx.Client(base_url=chat.url, timeout=10) as client:
        me = aud(chat)
        nsid = "chat.bsky.moderation.getActorMetadata"
        as_labeler = ozone.label_key.token(f"{ozone.did}#atproto_labeler", me, nsid)
        r = call(client, nsid, as_labeler, actor=alice.did)
        assert r.status_code == 200 and r.json()["all"]["messagesSent"] == 0
        assert alice.did in chat.state.actors  # the account it asked about was met
        assert ozone.did not in chat.state.actors  # the service itself is no chat account
        not_listed = call(client, nsid, alice.token(me, nsid), actor=alice.did)
        assert (not_listed.status_code, not_listed.json()["error"]) == (401, "UntrustedIss")
        wrong_key = ozone.key.token(f"{ozone.did}#atproto_labeler", me, nsid)  # its account key, not the label key
        assert call(client, nsid, wrong_key, actor=alice.did).json()["error"] == "BadJwtSignature"
