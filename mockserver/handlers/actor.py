"""``app.bsky.actor``: the profile reads a chat client makes (the SDK's login fills ``me``)."""

from __future__ import annotations

from typing import Any

from ..errors import XrpcError, invalid_request
from ..profiles import profile_view_detailed
from ..state import Actor, State
from ..xrpc import Call, method

Json = dict[str, Any]
_HIDDEN = {
    "takendown": ("AccountTakedown", "Account has been suspended"),
    "deactivated": ("AccountDeactivated", "Account is deactivated"),
}


def visible(state: State, identifier: str) -> Actor:
    """The actor a profile read names; ``AccountTakedown`` / ``AccountDeactivated`` as Bluesky answers."""
    actor = state.find_actor(identifier)
    if actor is None:
        raise invalid_request(f"Profile not found: {identifier}")
    if actor.status in _HIDDEN:
        name, message = _HIDDEN[actor.status]
        raise XrpcError(name, message, 400)
    return actor


@method("app.bsky.actor.getProfile", auth="optional")
def get_profile(call: Call) -> Json:
    """One detailed profile."""
    actor = visible(call.service.state, call.params["actor"])
    return profile_view_detailed(call.service.state, actor, call.viewer)


@method("app.bsky.actor.getProfiles", auth="optional")
def get_profiles(call: Call) -> Json:
    """Detailed profiles of the known, visible actors among those asked for."""
    state = call.service.state
    profiles = []
    for ident in call.params["actors"]:
        actor = state.find_actor(ident)
        if actor is not None and actor.status not in _HIDDEN:
            profiles.append(profile_view_detailed(state, actor, call.viewer))
    return {"profiles": profiles}
