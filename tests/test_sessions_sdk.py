"""Login, refresh, session and profile through the official Python SDK (atproto)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from atproto import AsyncClient, Client
from atproto.exceptions import BadRequestError, UnauthorizedError

from mockserver import MockChatServer

Json = dict[str, Any]


def test_login_fills_me_and_session(server: MockChatServer, make_actor: Callable[..., Json]) -> None:
    alice = make_actor(handle="alice.test", password="hunter2", displayName="Alice")
    client = Client(base_url=server.url)
    me = client.login("alice.test", "hunter2")
    assert me is not None
    assert me.did == alice["did"]
    assert me.handle == "alice.test"
    assert me.display_name == "Alice"
    session = client.com.atproto.server.get_session()
    assert session.did == alice["did"]
    assert session.handle == "alice.test"
    assert session.active is True


def test_login_by_did(server: MockChatServer, make_actor: Callable[..., Json]) -> None:
    alice = make_actor(handle="alice.test", password="pw")
    client = Client(base_url=server.url)
    client.login(alice["did"], "pw")
    assert client.me is not None and client.me.handle == "alice.test"


def test_wrong_password_is_authentication_required(server: MockChatServer, make_actor: Callable[..., Json]) -> None:
    make_actor(handle="alice.test", password="pw")
    client = Client(base_url=server.url)
    with pytest.raises(UnauthorizedError) as info:
        client.login("alice.test", "nope")
    assert info.value.response is not None
    assert info.value.response.content.error == "AuthenticationRequired"
    assert "password" in info.value.response.content.message


def test_sdk_refreshes_when_the_access_token_nears_expiry(
    server: MockChatServer, make_actor: Callable[..., Json]
) -> None:
    make_actor(handle="alice.test", password="pw")
    client = Client(base_url=server.url)
    client.login("alice.test", "pw")
    first = client._session
    assert first is not None
    # the SDK refreshes 15 minutes before exp; it compares exp with its own clock, so the
    # server's clock must agree: issue the next tokens from 2 hours in the past
    server.service.clock.advance(-2 * 3600 + 60)
    client.login("alice.test", "pw")
    old_access = client._session.access_jwt  # type: ignore[union-attr]
    server.service.clock.reset()
    client.com.atproto.server.get_session()  # triggers the refresh first
    assert client._session is not None
    assert client._session.access_jwt != old_access
    # the refreshed token works
    assert client.com.atproto.server.get_session().handle == "alice.test"


def test_refresh_rotates_and_delete_revokes(server: MockChatServer, make_actor: Callable[..., Json]) -> None:
    make_actor(handle="alice.test", password="pw")
    client = Client(base_url=server.url)
    client.login("alice.test", "pw")
    assert client._session is not None
    old_refresh = client._session.refresh_jwt
    refreshed = client.com.atproto.server.refresh_session(headers={"Authorization": f"Bearer {old_refresh}"})
    assert refreshed.refresh_jwt != old_refresh
    # the old refresh token is spent
    with pytest.raises(UnauthorizedError) as info:
        client.com.atproto.server.refresh_session(headers={"Authorization": f"Bearer {old_refresh}"})
    assert info.value.response is not None
    assert info.value.response.content.error == "InvalidToken"
    client.com.atproto.server.delete_session(headers={"Authorization": f"Bearer {refreshed.refresh_jwt}"})
    with pytest.raises(UnauthorizedError) as info:
        client.com.atproto.server.refresh_session(headers={"Authorization": f"Bearer {refreshed.refresh_jwt}"})
    assert info.value.response is not None
    assert "revoked" in info.value.response.content.message


def test_profiles_with_viewer_state(server: MockChatServer, make_actor: Callable[..., Json]) -> None:
    bob = make_actor(handle="bob.test", password="pw", allowGroupInvites="following")
    make_actor(handle="alice.test", password="pw", follows=["bob.test"])
    client = Client(base_url=server.url)
    client.login("alice.test", "pw")
    profile = client.get_profile("bob.test")
    assert profile.did == bob["did"]
    assert profile.viewer is not None and profile.viewer.following is not None
    assert profile.viewer.following.startswith("at://")
    assert profile.followers_count == 1
    assert profile.associated is not None and profile.associated.chat is not None
    assert profile.associated.chat.allow_group_invites == "following"
    profiles = client.get_profiles(["bob.test", "alice.test", "nobody.test"])
    assert [p.handle for p in profiles.profiles] == ["bob.test", "alice.test"]


def test_avatar_only_when_given(server: MockChatServer, make_actor: Callable[..., Json]) -> None:
    make_actor(handle="bob.test", avatar="https://cdn.example.test/bob.jpg")
    make_actor(handle="alice.test", password="pw")
    client = Client(base_url=server.url)
    client.login("alice.test", "pw")
    assert client.get_profile("bob.test").avatar == "https://cdn.example.test/bob.jpg"
    assert client.get_profile("alice.test").avatar is None


def test_unknown_profile_is_a_clear_error(server: MockChatServer, make_actor: Callable[..., Json]) -> None:
    make_actor(handle="alice.test", password="pw")
    client = Client(base_url=server.url)
    client.login("alice.test", "pw")
    with pytest.raises(BadRequestError) as info:
        client.get_profile("ghost.test")
    assert info.value.response is not None
    assert info.value.response.content.error == "InvalidRequest"
    assert "ghost.test" in info.value.response.content.message


def test_chat_proxy_header_is_accepted(server: MockChatServer, make_actor: Callable[..., Json]) -> None:
    make_actor(handle="alice.test", password="pw")
    client = Client(base_url=server.url)
    client.login("alice.test", "pw")
    chat = client.with_bsky_chat_proxy()
    assert chat.com.atproto.server.get_session().handle == "alice.test"


def test_takendown_account_cannot_log_in(server: MockChatServer, make_actor: Callable[..., Json]) -> None:
    make_actor(handle="alice.test", password="pw", status="takendown")
    client = Client(base_url=server.url)
    with pytest.raises(UnauthorizedError) as info:
        client.login("alice.test", "pw")
    assert info.value.response is not None
    assert info.value.response.content.error == "AccountTakedown"


def test_suspended_account_gets_an_inactive_session(server: MockChatServer, make_actor: Callable[..., Json]) -> None:
    make_actor(handle="alice.test", password="pw", status="suspended")
    client = Client(base_url=server.url)
    client.login("alice.test", "pw", fetch_bsky_profile=False)
    session = client.com.atproto.server.get_session()
    assert session.active is False
    assert session.status == "suspended"


async def test_async_client_logs_in(server: MockChatServer, make_actor: Callable[..., Json]) -> None:
    make_actor(handle="alice.test", password="pw")
    client = AsyncClient(base_url=server.url)
    me = await client.login("alice.test", "pw")
    assert me is not None and me.handle == "alice.test"
    session = await client.with_bsky_chat_proxy().com.atproto.server.get_session()
    assert session.handle == "alice.test"
