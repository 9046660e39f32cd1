"""Chat declaration records (``chat.bsky.actor.declaration``, rkey ``self``): the one kind of
repository record the mock keeps, as the official app's settings screen writes it.

The record lives on the actor (``allow_incoming`` None: no record). Its CID is the mock's own:
a CIDv1 (raw codec, sha-256) of the record's canonical JSON, not of its DAG-CBOR encoding; it
changes exactly when the record does, which is all ``swapRecord`` needs.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from .errors import XrpcError, invalid_request
from .lexicons import Lexicons
from .state import DECLARATION_VALUES, Actor, State

Json = dict[str, Any]
COLLECTION = "chat.bsky.actor.declaration"
RKEY = "self"


def record(actor: Actor) -> Json | None:
    """The actor's declaration record as stored, or None when it has none."""
    if actor.allow_incoming is None:
        return None
    out: Json = {"$type": COLLECTION, "allowIncoming": actor.allow_incoming}
    if actor.allow_group_invites is not None:
        out["allowGroupInvites"] = actor.allow_group_invites
    return out


def uri(actor: Actor) -> str:
    """The record's at-uri."""
    return f"at://{actor.did}/{COLLECTION}/{RKEY}"


def cid(value: Json) -> str:
    """The record's CID (see the module's note)."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    raw = bytes([0x01, 0x55, 0x12, 0x20]) + hashlib.sha256(canonical).digest()
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


def check_write(state: State, caller: Actor, given: Json) -> None:
    """A putRecord or deleteRecord body: it must name the caller's own declaration (the mock
    keeps no other record), and cannot swap on a commit (the mock keeps none)."""
    check_place(state, caller, given["repo"], given["collection"], given["rkey"])
    if "swapCommit" in given:
        raise invalid_request("swapCommit is not supported: the mock keeps no repository commits")


def check_place(state: State, caller: Actor, repo: str, collection: str, rkey: str) -> None:
    """The caller may write only its own declaration: the mock keeps no other record."""
    target = state.find_actor(repo)
    if target is None:
        raise invalid_request(f"Could not find repo: {repo}")
    if target.did != caller.did:
        raise XrpcError("AuthenticationRequired", "You can write only to your own repo", 401)
    if collection != COLLECTION:
        raise invalid_request(
            f"The mock keeps only {COLLECTION} records (rkey {RKEY}), not {collection}: it serves chat only"
        )
    if rkey != RKEY:
        raise invalid_request(f"Invalid record key {rkey!r}: {COLLECTION} records have the key {RKEY!r}")


def check_swap(actor: Actor, swap: str | None, given: bool) -> None:
    """``InvalidSwap`` unless ``swap`` is the current record's CID (None: there must be no record)."""
    if not given:
        return
    current = record(actor)
    now = cid(current) if current is not None else None
    if swap != now:
        raise XrpcError("InvalidSwap", f"Record was at {now or 'nothing'}, not {swap or 'nothing'}", 400)


def checked(lex: Lexicons, value: Any) -> Json:
    """A declaration record to store: an object that fits the lexicon, with a value the mock knows."""
    if not isinstance(value, dict):
        raise invalid_request(f"Invalid record: {COLLECTION} must be an object")
    value = {"$type": COLLECTION, **value}
    kind = value["$type"]
    if kind != COLLECTION:
        raise invalid_request(f"Invalid $type: expected {COLLECTION}, got {kind!r}")
    lex.validate(COLLECTION, "record", value)
    for field in ("allowIncoming", "allowGroupInvites"):
        if field in value and value[field] not in DECLARATION_VALUES:
            raise invalid_request(f"Invalid record: {field} must be one of {', '.join(DECLARATION_VALUES)}")
    out: Json = value
    return out


def put(actor: Actor, value: Json) -> Json:
    """Store a checked record as the actor's declaration; the record as stored."""
    actor.allow_incoming = value["allowIncoming"]
    actor.allow_group_invites = value.get("allowGroupInvites")
    stored = record(actor)
    assert stored is not None
    return stored


def delete(actor: Actor) -> None:
    """Remove the actor's declaration: it accepts chats and invites only from accounts it follows."""
    actor.allow_incoming = None
    actor.allow_group_invites = None
