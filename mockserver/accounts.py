"""Account operations: create and change actors, check passwords. Synchronous, no I/O."""

from __future__ import annotations

from typing import Any

from .clock import Clock
from .errors import invalid_request
from .ids import Ids
from .lexicons import Lexicons
from .state import ACCOUNT_STATUSES, DECLARATION_VALUES, Actor, State

DEFAULT_DOMAIN = "test"

Json = dict[str, Any]


def normalize_handle(handle: str, lex: Lexicons) -> str:
    """Lower-case a handle, add ``.test`` when it has no domain, and check its syntax."""
    handle = handle.strip().lstrip("@").lower()
    if handle and "." not in handle:
        handle = f"{handle}.{DEFAULT_DOMAIN}"
    if not lex.check_format(handle, "handle"):
        raise invalid_request(f"handle {handle!r} is not a valid handle (like 'alice.test')")
    return handle


def _choice(field: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise invalid_request(f"{field} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def _resolve_all(state: State, field: str, identifiers: list[str], extra: dict[str, str]) -> set[str]:
    """DIDs for a list of DIDs or handles; ``extra`` maps identifiers of an actor being created."""
    dids: set[str] = set()
    for ident in identifiers:
        key = ident.lstrip("@").lower() if not ident.startswith("did:") else ident
        if key in extra:
            dids.add(extra[key])
            continue
        actor = state.find_actor(ident)
        if actor is None and "." not in key and not key.startswith("did:"):
            actor = state.find_actor(f"{key}.{DEFAULT_DOMAIN}")
        if actor is None:
            raise invalid_request(f"{field}: no actor with DID or handle {ident!r}")
        dids.add(actor.did)
    return dids


def _checked_changes(state: State, lex: Lexicons, spec: Json, actor: Actor | None) -> Json:
    """Validate every field of a create/update spec against the state; return clean values."""
    out: Json = {}
    if "handle" in spec:
        handle = normalize_handle(spec["handle"], lex)
        owner = state.handles.get(handle)
        if owner is not None and (actor is None or owner != actor.did):
            raise invalid_request(f"handle {handle!r} is already taken")
        out["handle"] = handle
    if "did" in spec:
        did = spec["did"]
        if actor is not None and did != actor.did:
            raise invalid_request("did cannot be changed")
        if actor is None and did in state.actors:
            raise invalid_request(f"did {did!r} is already taken")
        out["did"] = did
    for field in ("allowIncoming", "allowGroupInvites"):
        if spec.get(field) is not None:
            out[field] = _choice(field, spec[field], DECLARATION_VALUES)
        elif field in spec:
            out[field] = None
    if "allowIncoming" in out or "allowGroupInvites" in out:
        incoming = out.get("allowIncoming", actor.allow_incoming if actor else "all")
        invites = out.get("allowGroupInvites", actor.allow_group_invites if actor else "all")
        if incoming is None and invites is not None:
            if "allowGroupInvites" in out:
                raise invalid_request(
                    "allowGroupInvites needs a chat declaration: set allowIncoming too "
                    "(allowIncoming null means the account has no declaration at all)"
                )
            out["allowGroupInvites"] = None  # no declaration record: no field of it either
    if "status" in spec:
        out["status"] = _choice("status", spec["status"], ACCOUNT_STATUSES)
    if spec.get("avatar") and not lex.check_format(spec["avatar"], "uri"):
        raise invalid_request(f"avatar must be a URI, or empty for none; got {spec['avatar']!r}")
    for field in ("password", "displayName", "avatar", "newAccount"):
        if field in spec:
            out[field] = spec[field]
    own: dict[str, str] = {}
    if actor is not None:
        own = {actor.did: actor.did, actor.handle: actor.did}
    elif "did" in out or "handle" in out:
        own = {k: "__self__" for k in (out.get("did"), out.get("handle")) if k}
    for field in ("follows", "blocks"):
        if field in spec:
            dids = _resolve_all(state, field, spec[field], own)
            self_did = actor.did if actor else "__self__"
            if self_did in dids:
                raise invalid_request(f"{field}: an actor cannot list itself")
            out[field] = frozenset(dids)
    return out


def create_actor(state: State, ids: Ids, clock: Clock, lex: Lexicons, spec: Json) -> Actor:
    """Create an actor from an admin spec; generated values fill what the spec leaves out."""
    clean = _checked_changes(state, lex, spec, None)
    did = clean.get("did") or ids.did()
    while did in state.actors:
        did = ids.did()
    handle = clean.get("handle") or ids.handle(taken=set(state.handles))
    actor = Actor(
        did=did,
        handle=handle,
        password=clean.get("password") or ids.password(),
        display_name=clean.get("displayName", ids.display_name()),
        avatar=clean.get("avatar", ""),
        created_at=clock.iso(),
        allow_incoming=clean.get("allowIncoming", "all"),
        allow_group_invites=clean.get("allowGroupInvites", "all" if clean.get("allowIncoming", "all") else None),
        status=clean.get("status", "active"),
        new_account=clean.get("newAccount", False),
    )
    state.add_actor(actor)
    if "follows" in clean:
        state.set_follows(actor, clean["follows"])
    if "blocks" in clean:
        actor.blocks = clean["blocks"]
    return actor


def update_actor(state: State, lex: Lexicons, actor: Actor, spec: Json) -> Actor:
    """Change an actor's fields; ``follows`` and ``blocks`` replace the whole set."""
    clean = _checked_changes(state, lex, spec, actor)
    if "handle" in clean and clean["handle"] != actor.handle:
        state.rename_actor(actor, clean["handle"])
    simple = {
        "password": "password",
        "displayName": "display_name",
        "avatar": "avatar",
        "allowIncoming": "allow_incoming",
        "allowGroupInvites": "allow_group_invites",
        "status": "status",
        "newAccount": "new_account",
        "blocks": "blocks",
    }
    for field, attr in simple.items():
        if field in clean:
            setattr(actor, attr, clean[field])
    if "follows" in clean:
        state.set_follows(actor, clean["follows"])
    return actor


def authenticate(state: State, identifier: str, password: str) -> Actor | None:
    """The actor whose handle or DID and password match, or None."""
    actor = state.find_actor(identifier)
    if actor is None or actor.password != password:
        return None
    return actor
