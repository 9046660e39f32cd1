"""``com.atproto.server``: sessions, the way a PDS hands them out."""

from __future__ import annotations

from typing import Any

from ..accounts import authenticate
from ..errors import XrpcError, auth_required
from ..state import Actor
from ..xrpc import Call, method

Json = dict[str, Any]


def _status(actor: Actor) -> Json:
    if actor.status == "active":
        return {"active": True}
    return {"active": False, "status": actor.status}


def _may_log_in(actor: Actor) -> None:
    if actor.status == "takendown":
        raise XrpcError("AccountTakedown", "Account has been taken down", 401)


def _session(call: Call, actor: Actor) -> Json:
    _may_log_in(actor)
    tokens = call.service.tokens.issue(call.service.state, actor)
    return {
        "accessJwt": tokens.access_jwt,
        "refreshJwt": tokens.refresh_jwt,
        "handle": actor.handle,
        "did": actor.did,
        **_status(actor),
    }


@method("com.atproto.server.createSession", auth="none")
def create_session(call: Call) -> Json:
    """Log in with a handle or DID and a password."""
    assert call.input is not None
    actor = authenticate(call.service.state, call.input["identifier"], call.input["password"])
    if actor is None:
        raise auth_required("Invalid identifier or password")
    return _session(call, actor)


@method("com.atproto.server.refreshSession", auth="refresh")
def refresh_session(call: Call) -> Json:
    """Trade a refresh token for a new pair; the old refresh token stops working (only when the
    trade succeeds: a refused call changes nothing)."""
    _may_log_in(call.actor)
    call.service.tokens.revoke(call.service.state, call.claims)
    return _session(call, call.actor)


@method("com.atproto.server.getSession")
def get_session(call: Call) -> Json:
    """Who the access token belongs to."""
    return {"handle": call.actor.handle, "did": call.actor.did, **_status(call.actor)}


@method("com.atproto.server.deleteSession", auth="refresh")
def delete_session(call: Call) -> None:
    """Log out: the refresh token stops working."""
    call.service.tokens.revoke(call.service.state, call.claims)
