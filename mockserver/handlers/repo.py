"""``com.atproto.repo``: the caller's own chat declaration record, which is how the official app's
settings screen changes who may chat with it. No other record is kept."""

from __future__ import annotations

from typing import Any

from .. import declarations
from ..errors import XrpcError, invalid_request
from ..xrpc import Call, method

Json = dict[str, Any]


@method("com.atproto.repo.putRecord")
def put_record(call: Call) -> Json:
    """Create or replace the caller's declaration."""
    assert call.input is not None
    i = call.input
    declarations.check_write(call.service.state, call.actor, i)
    value = declarations.checked(call.service.lexicons, i["record"])
    declarations.check_swap(call.actor, i.get("swapRecord"), "swapRecord" in i)
    stored = declarations.put(call.actor, value)
    return {"uri": declarations.uri(call.actor), "cid": declarations.cid(stored), "validationStatus": "valid"}


@method("com.atproto.repo.deleteRecord")
def delete_record(call: Call) -> Json:
    """Delete the caller's declaration (deleting one that is not there is fine)."""
    assert call.input is not None
    i = call.input
    declarations.check_write(call.service.state, call.actor, i)
    declarations.check_swap(call.actor, i.get("swapRecord"), "swapRecord" in i)
    declarations.delete(call.actor)
    return {}


@method("com.atproto.repo.getRecord", auth="optional")
def get_record(call: Call) -> Json:
    """Anyone's declaration record; ``RecordNotFound`` for every other record."""
    p = call.params
    actor = call.service.state.find_actor(p["repo"])
    if actor is None:
        raise invalid_request(f"Could not find repo: {p['repo']}")
    uri = f"at://{actor.did}/{p['collection']}/{p['rkey']}"
    value = declarations.record(actor)
    if p["collection"] != declarations.COLLECTION or p["rkey"] != declarations.RKEY or value is None:
        hint = "" if p["collection"] == declarations.COLLECTION else f" (the mock keeps only {declarations.COLLECTION})"
        raise XrpcError("RecordNotFound", f"Could not locate record: {uri}{hint}", 400)
    cid = declarations.cid(value)
    if p.get("cid") not in (None, cid):
        raise XrpcError("RecordNotFound", f"Could not locate record: {uri} at {p['cid']}", 400)
    return {"uri": uri, "cid": cid, "value": value}
