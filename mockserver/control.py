"""Changes made from outside XRPC (the admin API, the pytest plugin): each applied and recorded
in one place, so a recording holds every change and replays to the same state.

Each function checks everything before it writes (a refused change is an ``XrpcError`` and
changes nothing) and then hands one ``admin`` line to the recorders.
"""

from __future__ import annotations

from typing import Any

from . import accounts
from .admin_schema import ACTOR_FIELDS, ADMIN_LEXICONS, CREATE_ACTOR, UPDATE_ACTOR, check_fields
from .auth import SessionTokens
from .errors import invalid_request
from .faults import Fault
from .moderation import take_down
from .recording import admin_line
from .service import Service
from .state import Actor, Convo

Json = dict[str, Any]


def checked_actor_spec(spec: Json, nsid: str = CREATE_ACTOR) -> Json:
    """An account spec checked as ``POST /_mock/actors`` checks its body: known fields only, each
    of the right type (the same rules and messages for the admin API and the plugin)."""
    check_fields(spec, ACTOR_FIELDS)
    ADMIN_LEXICONS.validate(nsid, "input", spec)
    return spec


def create_actor(service: Service, spec: Json) -> tuple[Actor, SessionTokens]:
    """Create an account from an admin spec and log it in."""
    checked_actor_spec(spec)
    with service.clock.frozen():
        actor = accounts.create_actor(service.state, service.ids, service.clock, service.lexicons, spec)
        tokens = service.tokens.issue(service.state, actor)
        who = {"did": actor.did, "handle": actor.handle}
        service.emit(admin_line("createActor", None, spec, service.clock.iso(), who))
    return actor, tokens


def update_actor(service: Service, actor: Actor, spec: Json) -> Actor:
    """Change an account (``follows`` / ``blocks`` replace the whole set)."""
    checked_actor_spec(spec, UPDATE_ACTOR)
    accounts.update_actor(service.state, service.lexicons, actor, spec)
    who = {"did": actor.did, "handle": actor.handle}
    service.emit(admin_line("updateActor", actor.did, spec, service.clock.iso(), who))
    return actor


def open_session(service: Service, actor: Actor) -> SessionTokens:
    """Log an account in without its password. Its session id comes from the seeded generator,
    so it is recorded: a replay draws it too, and every id after it stays the same."""
    with service.clock.frozen():
        tokens = service.tokens.issue(service.state, actor)
        service.emit(admin_line("session", actor.did, {}, service.clock.iso()))
    return tokens


def update_convo(service: Service, convo: Convo, spec: Json) -> Convo:
    """Set a group's member limit or its moderation lock."""
    limit = spec.get("memberLimit")
    if limit is not None and limit < len(convo.members):
        raise invalid_request(f"memberLimit {limit} is below the group's {len(convo.members)} members")
    if limit is not None:
        convo.member_limit = limit
    if "moderationLock" in spec:
        take_down(service, convo, spec["moderationLock"])
    service.emit(admin_line("updateConvo", convo.id, spec, service.clock.iso()))
    return convo


def add_fault(service: Service, spec: Json) -> Fault:
    """Add a fault rule (recorded with its id, so a replay can remove the same one)."""
    fault = service.faults.add(spec)
    service.emit(admin_line("addFault", None, spec, service.clock.iso(), {"id": fault.id}))
    return fault


def remove_fault(service: Service, fault_id: int) -> bool:
    """Remove one fault rule; whether it existed."""
    removed = service.faults.remove(fault_id)
    if removed:
        service.emit(admin_line("removeFault", str(fault_id), {}, service.clock.iso()))
    return removed


def clear_faults(service: Service) -> None:
    """Remove every fault rule."""
    service.faults.clear()
    service.emit(admin_line("clearFaults", None, {}, service.clock.iso()))
