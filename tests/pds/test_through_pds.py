"""Group chat through a real PDS, as production runs: accounts made on the PDS, chat calls sent
to the PDS with ``atproto-proxy`` and forwarded to the mock with service-auth JWTs, follows,
blocks and declarations written as real records and learnt by the mock from the PDS's firehose.
The atproto SDK here; @atproto/api in flow.mjs."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest
from atproto import models
from atproto.exceptions import BadRequestError

from tests.network_fakes import Key
from tests.pds.harness import HERE, NODE, Network, Person, eventually, start_network


@pytest.fixture(scope="module")
def network() -> Iterator[Network]:
    yield from start_network()


LIST = "chat.bsky.convo.listConvos"


def now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def error_of(call: Any) -> str:
    with pytest.raises(BadRequestError) as info:
        call()
    assert info.value.response is not None
    return str(info.value.response.content.error)


def knows(network: Network, did: str, check: Any = lambda actor: True) -> bool:
    return bool(network.mock.call(lambda s: (a := s.state.actors.get(did)) is not None and check(a)))


def test_a_group_life_through_the_pds(network: Network) -> None:
    alice, bob = network.person("alice"), network.person("bob")
    # bob has no chat declaration: as the app reads that, he takes invites from accounts he follows
    refused = error_of(lambda: alice.chat.chat.bsky.group.create_group({"name": "x", "members": [bob.did]}))
    assert refused == "NotFollowedBySender"
    bob.client.follow(alice.did)
    eventually(lambda: knows(network, bob.did, lambda a: alice.did in a.follows), "bob's follow to reach the mock")
    convo = alice.chat.chat.bsky.group.create_group({"name": "Through the PDS", "members": [bob.did]}).convo
    assert {m.did for m in convo.members} == {alice.did, bob.did}
    assert knows(network, bob.did, lambda a: a.handle == bob.handle)  # met when named, before any call of his
    head = bob.chat.chat.bsky.convo.get_log({}).cursor
    sent = alice.chat.chat.bsky.convo.send_message({"convoId": convo.id, "message": {"text": "hello from a PDS"}})
    log = bob.chat.chat.bsky.convo.get_log({"cursor": head})
    assert [getattr(e.message, "text", None) for e in log.logs if e.py_type.endswith("#logCreateMessage")] == [
        "hello from a PDS"
    ]
    assert log.cursor > head
    assert bob.chat.chat.bsky.convo.get_messages({"convoId": convo.id}).messages[0].id == sent.id
    assert [c.id for c in bob.chat.chat.bsky.convo.list_convos().convos] == [convo.id]


def test_a_follow_record_lets_someone_join_a_follow_required_group(network: Network) -> None:
    alice, dan = network.person("alice"), network.person("dan")
    convo = alice.chat.chat.bsky.group.create_group({"name": "Followers only", "members": []}).convo
    code = alice.chat.chat.bsky.group.create_join_link(
        {"convoId": convo.id, "joinRule": "followedByOwner"}
    ).join_link.code
    assert error_of(lambda: dan.chat.chat.bsky.group.request_join({"code": code})) == "FollowRequired"
    alice.client.follow(dan.did)  # a record in alice's repository, nothing else
    eventually(lambda: knows(network, alice.did, lambda a: dan.did in a.follows), "the follow to reach the mock")
    assert dan.chat.chat.bsky.group.request_join({"code": code}).status == "joined"
    # and taking the follow back is learnt the same way
    follows = alice.client.com.atproto.repo.list_records({"repo": alice.did, "collection": "app.bsky.graph.follow"})
    alice.client.delete_follow(follows.records[0].uri)
    eventually(lambda: knows(network, alice.did, lambda a: dan.did not in a.follows), "the unfollow to reach the mock")


def test_a_block_record_refuses_an_invite(network: Network) -> None:
    alice, erin = network.person("alice"), network.person("erin")
    erin.client.follow(alice.did)  # she would take alice's invites, but for the block
    convo = alice.chat.chat.bsky.group.create_group({"name": "No blockers", "members": []}).convo
    erin.chat.chat.bsky.convo.list_convos()  # the mock has met erin before she blocks
    record = models.AppBskyGraphBlock.Record(subject=alice.did, created_at=now())
    erin.client.app.bsky.graph.block.create(erin.did, record)
    eventually(lambda: knows(network, erin.did, lambda a: alice.did in a.blocks), "the block to reach the mock")
    refused = error_of(lambda: alice.chat.chat.bsky.group.add_members({"convoId": convo.id, "members": [erin.did]}))
    assert refused == "BlockedActor"


def test_a_declaration_record_refuses_groups(network: Network) -> None:
    alice, frank = network.person("alice"), network.person("frank")
    frank.client.com.atproto.repo.put_record(
        {
            "repo": frank.did,
            "collection": "chat.bsky.actor.declaration",
            "rkey": "self",
            "record": {"$type": "chat.bsky.actor.declaration", "allowIncoming": "all", "allowGroupInvites": "none"},
        }
    )
    # read from his repository when he is first named (listRecords), no firehose needed
    refused = error_of(lambda: alice.chat.chat.bsky.group.create_group({"name": "x", "members": [frank.did]}))
    assert refused == "UserForbidsGroups"
    assert knows(network, frank.did, lambda a: a.allow_group_invites == "none")


def test_a_profile_record_names_the_account(network: Network) -> None:
    grace = network.person("grace")
    grace.client.com.atproto.repo.put_record(
        {
            "repo": grace.did,
            "collection": "app.bsky.actor.profile",
            "rkey": "self",
            "record": {"$type": "app.bsky.actor.profile", "displayName": "Grace H."},
        }
    )
    grace.chat.chat.bsky.convo.list_convos()
    assert knows(network, grace.did, lambda a: a.display_name == "Grace H.")


def service_token(person: Person, aud: str, lxm: str | None, exp: int | None = None) -> str:
    params: dict[str, Any] = {"aud": aud}
    if lxm:
        params["lxm"] = lxm
    if exp:
        params["exp"] = exp
    return str(person.client.com.atproto.server.get_service_auth(params).token)


def straight(network: Network, token: str, nsid: str = LIST) -> tuple[int, str]:
    r = httpx.get(f"{network.mock.url}/xrpc/{nsid}", headers={"Authorization": f"Bearer {token}"})
    return r.status_code, (r.json().get("error") if r.status_code != 200 else "")


def test_tokens_the_pds_signs_are_checked(network: Network) -> None:
    henry = network.person("henry")
    me = network.chat_did
    assert straight(network, service_token(henry, me, LIST)) == (200, "")  # the PDS's own signature, PLC's key
    assert straight(network, service_token(henry, "did:web:elsewhere.test", LIST)) == (401, "BadJwtAudience")
    assert straight(network, service_token(henry, me, "chat.bsky.convo.getLog")) == (401, "BadJwtLexiconMethod")
    assert straight(network, Key().token(henry.did, me, LIST)) == (401, "BadJwtSignature")  # forged
    assert straight(network, str(henry.client._session.access_jwt)) == (401, "BadJwtType")  # a PDS access token
    soon = service_token(henry, me, LIST, exp=int(time.time()) + 30)
    network.mock.call(lambda s: s.clock.advance(120))
    try:
        assert straight(network, soon) == (401, "JwtExpired")
    finally:
        network.mock.call(lambda s: s.clock.reset())


def test_the_official_client_library_through_the_pds(network: Network) -> None:
    """flow.mjs: @atproto/api (node 22) logs in to the PDS and walks a group through it."""
    alice, bob = network.person("alice"), network.person("bob")
    env = {
        **os.environ,
        "PDS_URL": network.pds,
        "CHAT_DID": network.chat_did,
        "ALICE": f"{alice.handle} {alice.password}",
        "BOB": f"{bob.handle} {bob.password}",
    }
    done = subprocess.run([str(NODE), str(HERE / "flow.mjs")], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "6 passed, 0 failed" in done.stdout, done.stdout


def test_a_new_handle_and_a_deactivation_reach_the_mock(network: Network) -> None:
    ivy = network.person("ivy")
    ivy.chat.chat.bsky.convo.list_convos()
    new = f"ivy-renamed{network.made}.test"
    ivy.client.com.atproto.identity.update_handle({"handle": new})  # an #identity event on the firehose
    eventually(lambda: knows(network, ivy.did, lambda a: a.handle == new), "the new handle to reach the mock")
    ivy.client.com.atproto.server.deactivate_account({})  # an #account event
    eventually(lambda: knows(network, ivy.did, lambda a: a.status == "deactivated"), "the deactivation")


def test_a_moderator_token_signed_by_the_pds(network: Network) -> None:
    """A moderation call with a service-auth token the PDS signs: refused until its issuer is listed."""
    mod = network.person("mod")
    nsid = "chat.bsky.moderation.getActorMetadata"
    url = f"{network.mock.url}/xrpc/{nsid}"

    def ask() -> httpx.Response:
        token = service_token(mod, network.chat_did, nsid)
        return httpx.get(url, params={"actor": mod.did}, headers={"Authorization": f"Bearer {token}"})

    assert (ask().status_code, ask().json()["error"]) == (401, "UntrustedIss")
    config = network.mock.service.config
    config.moderators = (mod.did,)
    try:
        answer = ask()
        assert answer.status_code == 200 and answer.json()["all"]["messagesSent"] == 0
    finally:
        config.moderators = ()
