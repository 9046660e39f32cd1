"""The few non-chat reads chat screens make, from the mock's own accounts and follow graph:
who someone follows and is followed by (the add-members picker), typeahead search, handles."""

from __future__ import annotations

from typing import Any

from .. import cursors
from ..errors import XrpcError
from ..profiles import profile_view, profile_view_basic
from ..state import Actor
from ..xrpc import Call, method
from .actor import visible

Json = dict[str, Any]


def _page(call: Call, subject: Actor, dids: list[str], key: str) -> Json:
    state = call.service.state
    shown = sorted(did for did in dids if did in state.actors and not state.actors[did].gone)
    after = cursors.decode(call.params.get("cursor"))
    if after is not None:
        shown = [did for did in shown if did > after]
    page = shown[: call.params["limit"]]
    listed = [profile_view(state.actors[did], call.viewer) for did in page]
    out: Json = {"subject": profile_view(subject, call.viewer), key: listed}
    if len(shown) > len(page):
        out["cursor"] = cursors.encode(page[-1])
    return out


@method("app.bsky.graph.getFollows", auth="optional")
def get_follows(call: Call) -> Json:
    subject = visible(call.service.state, call.params["actor"])
    return _page(call, subject, list(subject.follows), "follows")


@method("app.bsky.graph.getFollowers", auth="optional")
def get_followers(call: Call) -> Json:
    subject = visible(call.service.state, call.params["actor"])
    return _page(call, subject, list(call.service.state.followers.get(subject.did, ())), "followers")


@method("app.bsky.actor.searchActorsTypeahead", auth="optional")
def search_actors_typeahead(call: Call) -> Json:
    """Accounts whose handle or display name starts with the term (or has a word that does)."""
    term = (call.params.get("q") or call.params.get("term") or "").strip().lstrip("@").lower()
    state = call.service.state
    found = []
    if term:
        for actor in state.actors.values():
            if actor.gone:
                continue
            words = [actor.handle, *actor.display_name.lower().split()]
            if any(word.startswith(term) for word in words) or actor.display_name.lower().startswith(term):
                found.append(actor)
    found.sort(key=lambda a: a.handle)
    return {"actors": [profile_view_basic(a, call.viewer) for a in found[: call.params["limit"]]]}


@method("com.atproto.identity.resolveHandle", auth="none")
def resolve_handle(call: Call) -> Json:
    actor = call.service.state.find_actor(call.params["handle"])
    if actor is None:
        raise XrpcError("HandleNotFound", f"Unable to resolve handle: {call.params['handle']}", 400)
    return {"did": actor.did}
