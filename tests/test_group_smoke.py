"""A first walk through the fixtures every group test uses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conftest import Api, dump

from mockserver import MockChatServer


def test_create_group_and_refused_call_changes_nothing(server: MockChatServer, api: Callable[..., Api]) -> None:
    alice, bob = api("alice"), api("bob", allowGroupInvites="none")
    carol = api("carol")
    out = alice.ok("chat.bsky.group.createGroup", {"name": "Friends", "members": [carol.did]})
    assert out["convo"]["kind"]["name"] == "Friends"
    before = dump(server)
    error, message = alice.error("chat.bsky.group.createGroup", {"name": "x", "members": [bob.did]})
    assert error == "UserForbidsGroups" and "bob.test" in message
    assert dump(server) == before


def test_sdk_fixture_logs_in(api: Callable[..., Api], sdk: Callable[[str], Any]) -> None:
    api("alice")
    chat = sdk("alice.test")
    assert chat.chat.bsky.convo.list_convos().convos == []
