"""Official-SDK clients for tests, made cheaply and kept working across clock moves.

A client the fixtures hand out is logged in without a round trip (its session is opened in the
server, as ``POST /_mock/actors/{id}/session`` does, and imported), shares one SSL context with
every other (httpx builds one per client otherwise, ~25 ms each), and reads the time from the
mock's clock, so it refreshes its tokens when the mock's time says they are due, as a real app
would with a real clock. ``refresh=False`` gives a client on the machine's clock instead: after
the mock's clock jumps ahead, its calls meet ``ExpiredToken``.
"""

from __future__ import annotations

import ssl
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mockserver.profiles import profile_view_detailed

if TYPE_CHECKING:
    from .handle import ChatMock

SSL = ssl.create_default_context()
"""One SSL context for every client the fixtures make (the mock is plain HTTP: it is never used,
but httpx builds one per client unless given one)."""
_CLASSES: dict[tuple[int, str, bool], type] = {}


def _client_class(mock: ChatMock, kind: str, refresh: bool) -> type:
    """A Client (or AsyncClient) class whose clock is the mock's (one per server)."""
    key = (id(mock.server), kind, refresh)
    if key not in _CLASSES:
        import atproto

        base = atproto.AsyncClient if kind == "async" else atproto.Client
        if not refresh:
            _CLASSES[key] = base
        else:
            server = mock.server

            def get_current_time(self: Any) -> datetime:
                return server.service.clock.now()

            _CLASSES[key] = type(f"Mock{base.__name__}", (base,), {"get_current_time": get_current_time})
    return _CLASSES[key]


def _request(kind: str) -> Any:
    if kind == "async":
        from atproto_client.request import AsyncRequest

        return AsyncRequest(verify=SSL)
    from atproto_client.request import Request

    return Request(verify=SSL)


def logged_in(mock: ChatMock, account: Any, kind: str = "sync", *, refresh: bool = True) -> Any:
    """A client of ``kind`` (``sync`` or ``async``) logged in as ``account``, proxied to chat.

    Its session is imported (no createSession / getProfile round trip); ``me`` is filled from the
    server's state, as the SDK's login would fill it."""
    from atproto import models
    from atproto_client.client.session import Session

    did, handle, access, refresh_jwt, profile = mock.server.call(lambda s: _open(mock, s, account))
    cls = _client_class(mock, kind, refresh)
    client = cls(base_url=mock.url, request=_request(kind))
    session = Session(handle, did, access, refresh_jwt, mock.url)
    client._set_session_common(session, mock.url)  # what login(session_string=...) does, without the parse
    client.me = models.AppBskyActorDefs.ProfileViewDetailed.model_validate(profile)
    return client.with_bsky_chat_proxy()


def _open(mock: ChatMock, service: Any, account: Any) -> tuple[str, str, str, str, dict[str, Any]]:
    from mockserver import control

    actor = mock.resolve_in(service, account)
    tokens = control.open_session(service, actor)
    profile = profile_view_detailed(service.state, actor, actor)
    return actor.did, actor.handle, tokens.access_jwt, tokens.refresh_jwt, profile
