"""Profile views (state -> lexicon JSON) for ``app.bsky.actor``."""

from __future__ import annotations

import hashlib
from typing import Any

from .state import Actor, State

Json = dict[str, Any]
_TID_FIRST = "234567abcdefghij"
_TID_REST = "234567abcdefghijklmnopqrstuvwxyz"


def record_uri(author: str, collection: str, subject: str) -> str:
    """A stable at-uri for a graph record (a follow or a block) that the mock never stores."""
    digest = hashlib.sha256(f"{author} {collection} {subject}".encode()).digest()
    rkey = _TID_FIRST[digest[0] % 16] + "".join(_TID_REST[b % 32] for b in digest[1:13])
    return f"at://{author}/{collection}/{rkey}"


def viewer_state(subject: Actor, viewer: Actor | None) -> Json:
    """``app.bsky.actor.defs#viewerState``: the viewer's follows and blocks with the subject."""
    out: Json = {"muted": False, "blockedBy": False}
    if viewer is None or viewer.did == subject.did:
        return out
    out["blockedBy"] = subject.blocks_did(viewer.did)
    if viewer.blocks_did(subject.did):
        out["blocking"] = record_uri(viewer.did, "app.bsky.graph.block", subject.did)
    if viewer.follows_did(subject.did):
        out["following"] = record_uri(viewer.did, "app.bsky.graph.follow", subject.did)
    if subject.follows_did(viewer.did):
        out["followedBy"] = record_uri(subject.did, "app.bsky.graph.follow", viewer.did)
    return out


def chat_declaration(actor: Actor) -> Json | None:
    """``app.bsky.actor.defs#profileAssociatedChat`` from the actor's chat declaration; None for an
    account with no declaration (profiles then carry no ``associated.chat``, as Bluesky's do)."""
    if actor.allow_incoming is None:
        return None
    out: Json = {"allowIncoming": actor.allow_incoming}
    if actor.allow_group_invites is not None:
        out["allowGroupInvites"] = actor.allow_group_invites
    return out


def associated(actor: Actor) -> Json:
    """``associated`` of a profile view: the chat declaration, when there is one."""
    chat = chat_declaration(actor)
    return {"chat": chat} if chat is not None else {}


def profile_view_basic(actor: Actor, viewer: Actor | None) -> Json:
    """``app.bsky.actor.defs#profileViewBasic``."""
    view: Json = {
        "did": actor.did,
        "handle": actor.handle,
        "displayName": actor.display_name,
        "associated": associated(actor),
        "viewer": viewer_state(actor, viewer),
        "labels": [],
        "createdAt": actor.created_at,
    }
    if actor.avatar:
        view["avatar"] = actor.avatar
    return view


def profile_view(actor: Actor, viewer: Actor | None) -> Json:
    """``app.bsky.actor.defs#profileView``."""
    return {**profile_view_basic(actor, viewer), "indexedAt": actor.created_at}


def profile_view_detailed(state: State, actor: Actor, viewer: Actor | None) -> Json:
    """``app.bsky.actor.defs#profileViewDetailed``."""
    return {
        **profile_view(actor, viewer),
        "followersCount": len(state.followers.get(actor.did, ())),
        "followsCount": len(actor.follows),
        "postsCount": 0,
    }
