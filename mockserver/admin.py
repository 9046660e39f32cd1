"""The admin API under ``/_mock/``: what no XRPC call can do (create actors, reset, ...).

Admin bodies are validated by lexrpc too, against the mock's own small lexicons below.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.resources import files
from typing import Any, TypeVar

from aiohttp import web

from . import control, snapshot
from .admin_schema import (
    ACTOR_FIELDS,
    ADMIN_LEXICONS,
    CLOCK_FIELDS,
    CONVO_FIELDS,
    CREATE_ACTOR,
    LOAD_FIELDS,
    LOAD_SCENARIO,
    OBJECT,
    OPEN,
    RESET,
    RESET_FIELDS,
    SESSION,
    SESSION_FIELDS,
    SET_CLOCK,
    TOKEN,
    TOKEN_FIELDS,
    UPDATE_ACTOR,
    UPDATE_CONVO,
    check_fields,
)
from .chat_views import join_link_view
from .clock import parse_iso
from .errors import invalid_request, not_found
from .exposure import loopback_peer
from .journal import REDACTED
from .parsing import whole_number
from .recording import is_recording, redact_state
from .service import SERVICE_KEY, Service
from .state import Actor, Convo
from .xrpc import MAX_DEPTH, json_response, read_input, served_methods

Json = dict[str, Any]
T = TypeVar("T")
ADMIN_MAX_DEPTH = 2 * MAX_DEPTH
"""State dumps and scenarios hold message data a few levels below where an XRPC body has it."""
RECENT_MESSAGES = 8
"""How many of a group's latest messages the admin view (and the state page) shows."""
PAGE = files("mockserver").joinpath("static").joinpath("index.html")


def shows_passwords(request: web.Request) -> bool:
    """Passwords go to the admin (its token, where there is one) and to callers on this machine;
    never to a caller on a network when the admin API has no token."""
    return bool(request.app[SERVICE_KEY].config.admin_token) or loopback_peer(request)


def actor_json(actor: Actor, passwords: bool = True) -> Json:
    """Everything the mock holds about an actor, as the admin API shows it (``passwords=False``:
    the password as ``***``)."""
    return {
        "did": actor.did,
        "handle": actor.handle,
        "password": actor.password if passwords else REDACTED,
        "displayName": actor.display_name,
        "avatar": actor.avatar,
        "createdAt": actor.created_at,
        "allowIncoming": actor.allow_incoming,
        "allowGroupInvites": actor.allow_group_invites,
        "status": actor.status,
        "newAccount": actor.new_account,
        "chatDisabled": actor.chat_disabled,
        "chatAccessRef": actor.chat_access_ref,
        "follows": sorted(actor.follows),
        "blocks": sorted(actor.blocks),
    }


async def _body(request: web.Request, nsid: str, fields: Json, *, optional: bool = False) -> Json:
    service = request.app[SERVICE_KEY]
    if optional and not request.can_read_body:
        return {}
    data = await read_input(request, ADMIN_LEXICONS, nsid, service.config.max_body, ADMIN_MAX_DEPTH)
    assert data is not None
    if fields is OPEN:
        return data
    check_fields(data, fields)
    return data


def _actor(service: Service, identifier: str) -> Actor:
    actor = service.state.find_actor(identifier)
    if actor is None:
        raise not_found(f"No actor with DID or handle {identifier!r}")
    return actor


async def list_actors(request: web.Request) -> web.Response:
    """GET /_mock/actors: every actor."""
    service = request.app[SERVICE_KEY]
    shown = shows_passwords(request)
    return json_response({"actors": [actor_json(a, shown) for a in service.state.actors.values()]})


async def post_actor(request: web.Request) -> web.Response:
    """POST /_mock/actors: create an actor and log it in."""
    service = request.app[SERVICE_KEY]
    spec = await _body(request, CREATE_ACTOR, ACTOR_FIELDS)
    actor, tokens = control.create_actor(service, spec)
    return json_response(
        {
            "did": actor.did,
            "handle": actor.handle,
            "password": actor.password if shows_passwords(request) else REDACTED,
            "accessJwt": tokens.access_jwt,
            "refreshJwt": tokens.refresh_jwt,
        },
        status=201,
    )


async def get_actor(request: web.Request) -> web.Response:
    """GET /_mock/actors/{id}: one actor, by DID or handle."""
    service = request.app[SERVICE_KEY]
    return json_response(actor_json(_actor(service, request.match_info["id"]), shows_passwords(request)))


async def patch_actor(request: web.Request) -> web.Response:
    """PATCH /_mock/actors/{id}: change an actor (follows/blocks replace the set)."""
    service = request.app[SERVICE_KEY]
    actor = _actor(service, request.match_info["id"])
    spec = await _body(request, UPDATE_ACTOR, ACTOR_FIELDS)
    return json_response(actor_json(control.update_actor(service, actor, spec), shows_passwords(request)))


async def post_session(request: web.Request) -> web.Response:
    """POST /_mock/actors/{id}/session: log an actor in without its password (what createSession
    gives). Recorded: a session id is drawn from the seeded generator, so a replay must draw it too."""
    service = request.app[SERVICE_KEY]
    body = await _body(request, SESSION, SESSION_FIELDS, optional=True)
    actor = _actor(service, request.match_info["id"])
    if "session" in body:  # a session that exists already: its token again, nothing new (replay uses it)
        if service.state.sessions.get(body["session"]) != actor.did:
            raise not_found(f"No session {body['session']!r} of {actor.handle}")
        refresh = service.tokens.refresh_token(actor, body["session"])
        return json_response({"did": actor.did, "handle": actor.handle, "refreshJwt": refresh})
    tokens = control.open_session(service, actor)
    return json_response(
        {"did": actor.did, "handle": actor.handle, "accessJwt": tokens.access_jwt, "refreshJwt": tokens.refresh_jwt}
    )


async def post_token(request: web.Request) -> web.Response:
    """POST /_mock/actors/{id}/token ``{expired?: true}``: a fresh access token only (no session,
    no randomness: nothing to record); ``expired`` gives one that expired a minute ago."""
    service = request.app[SERVICE_KEY]
    actor = _actor(service, request.match_info["id"])
    body = await _body(request, TOKEN, TOKEN_FIELDS, optional=True)
    token = service.tokens.access_token(actor, expired=bool(body.get("expired", False)))
    return json_response({"did": actor.did, "accessJwt": token})


def convo_json(convo: Convo) -> Json:
    """A convo's settings and membership, as the admin API shows them (``kind``: group or
    direct; a direct convo's ``pair`` is its two accounts, members now or not)."""
    return {
        "id": convo.id,
        "kind": convo.kind,
        "pair": list(convo.pair),
        "name": convo.name,
        "owner": convo.owner,
        "memberLimit": convo.member_limit,
        "lockStatus": convo.lock_status,
        "moderationLock": convo.moderation_lock,
        "moderationReason": convo.moderation_reason,
        "members": [
            {"did": m.did, "role": m.role, "status": m.status, "addedBy": m.added_by} for m in convo.members.values()
        ],
        "joinLink": join_link_view(convo.link) if convo.link else None,
        "joinRequests": [r.did for r in convo.requests.values()],
        "kicked": sorted(convo.kicked),
        "messageCount": len(convo.messages),
        "recentMessages": [
            {"id": m.id, "system": m.system["$type"].split("#systemMessageData")[-1]}
            if m.system is not None
            else {
                "id": m.id,
                "sender": m.sender,
                "text": m.text,
                "reactions": [{"value": r.value, "sender": r.sender} for r in m.reactions],
            }
            for m in convo.messages[-RECENT_MESSAGES:]
        ],
    }


def _convo(service: Service, convo_id: str) -> Convo:
    convo = service.state.convos.get(convo_id)
    if convo is None:
        raise not_found(f"No convo {convo_id!r}")
    return convo


async def list_convos(request: web.Request) -> web.Response:
    """GET /_mock/convos: every group."""
    service = request.app[SERVICE_KEY]
    return json_response({"convos": [convo_json(c) for c in service.state.convos.values()]})


async def get_convo(request: web.Request) -> web.Response:
    """GET /_mock/convos/{id}: one group."""
    return json_response(convo_json(_convo(request.app[SERVICE_KEY], request.match_info["id"])))


async def patch_convo(request: web.Request) -> web.Response:
    """PATCH /_mock/convos/{id}: set a group's member limit or its moderation lock."""
    service = request.app[SERVICE_KEY]
    convo = _convo(service, request.match_info["id"])
    spec = await _body(request, UPDATE_CONVO, CONVO_FIELDS)
    return json_response(convo_json(control.update_convo(service, convo, spec)))


async def reset(request: web.Request) -> web.Response:
    """POST /_mock/reset ``{to?: "empty" | "scenario"}``: empty the state, or reload the scenario."""
    service = request.app[SERVICE_KEY]
    to = (await _body(request, RESET, RESET_FIELDS, optional=True)).get("to", "empty")
    if to == "empty":
        service.reset()
        return json_response({"scenario": None})
    if to == "scenario":
        if service.scenario is None:
            raise invalid_request("No scenario is loaded: there is nothing to reset to but empty")
        loaded = _scenario_call(lambda: service.reload_scenario())
        return json_response({"scenario": _loaded_json(request, loaded.to_json()) if loaded else None})
    raise invalid_request(f"to must be empty or scenario, got {to!r}")


def _scenario_call(fn: Callable[[], T]) -> T:
    from scenarios.model import ScenarioError

    try:
        return fn()
    except ScenarioError as e:
        raise invalid_request(str(e)) from None


async def list_scenarios(request: web.Request) -> web.Response:
    """GET /_mock/scenarios: the built-in scenarios with their descriptions."""
    from scenarios.model import builtin_names, find

    items = [{"name": n, "description": find(n).spec.get("description", "")} for n in builtin_names()]
    return json_response({"scenarios": items})


async def load_scenario(request: web.Request) -> web.Response:
    """POST /_mock/scenarios/load ``{name}`` (built-in or file path) or ``{scenario: {...}}`` (inline)."""
    from scenarios.loader import load
    from scenarios.model import ScenarioSource, find

    service = request.app[SERVICE_KEY]
    body = await _body(request, LOAD_SCENARIO, LOAD_FIELDS)
    if ("name" in body) == ("scenario" in body):
        raise invalid_request("Give either name (a built-in scenario or a file path) or scenario (inline), not both")
    if "name" in body and is_recording(body["name"]):
        return json_response(_loaded_json(request, await _replay_recording(request, body["name"])))
    if "name" in body:
        loaded = _scenario_call(lambda: load(service, find(body["name"])))
    else:
        if not isinstance(body["scenario"], dict):
            raise invalid_request("scenario must be an object: the same content as a scenario file")
        source = ScenarioSource("inline", "inline scenario", body["scenario"])
        loaded = _scenario_call(lambda: load(service, source))
    return json_response(_loaded_json(request, loaded.to_json()))


def _loaded_json(request: web.Request, loaded: Json) -> Json:
    """What a scenario made, its passwords as ``***`` where the caller may not see them."""
    if shows_passwords(request):
        return loaded
    actors = {key: {**actor, "password": REDACTED} for key, actor in loaded.get("actors", {}).items()}
    return {**loaded, "actors": actors}


async def _replay_recording(request: web.Request, path: str) -> Json:
    """A recording loads where a scenario file does: it is replayed against this very server."""
    from scenarios.loader import from_replay

    from .recording import read
    from .replay import replay_async

    service = request.app[SERVICE_KEY]
    try:
        lines = read(path)
    except (OSError, ValueError) as e:
        raise invalid_request(f"Cannot load recording {path}: {e}") from None
    host, port = request.transport.get_extra_info("sockname")[:2] if request.transport else ("127.0.0.1", 0)
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    report = await replay_async(url, lines, service.config.admin_token)
    if not report.ok:
        raise invalid_request(f"Recording {path} did not replay: {report.text()}")
    return from_replay(path, report.actors, report.text()).to_json()


async def current_scenario(request: web.Request) -> web.Response:
    """GET /_mock/scenario: what the loaded scenario made (actors, convo ids, codes), or null."""
    loaded = request.app[SERVICE_KEY].loaded
    return json_response({"scenario": _loaded_json(request, loaded.to_json()) if loaded else None})


async def get_state(request: web.Request) -> web.Response:
    """GET /_mock/state: the whole state as JSON."""
    data = snapshot.dump(request.app[SERVICE_KEY])
    return json_response(data if shows_passwords(request) else redact_state(data))


async def get_snapshot(request: web.Request) -> web.Response:
    """GET /_mock/snapshot[?exact=true]: the state as a scenario file (YAML) that loads back to the
    same state every read sees (``exact``: with the id generator's whole internal state too)."""
    exact = request.query.get("exact", "false").lower() in ("true", "1", "yes")
    text = snapshot.as_scenario(request.app[SERVICE_KEY], exact=exact, passwords=shows_passwords(request))
    return web.Response(text=text, content_type="application/yaml")


async def put_state(request: web.Request) -> web.Response:
    """PUT /_mock/state: replace the state with a dump from GET /_mock/state."""
    service = request.app[SERVICE_KEY]
    data = await _body(request, OBJECT, OPEN)
    snapshot.load(service, data)
    return json_response({"actors": len(service.state.actors), "convos": len(service.state.convos)})


def _clock_json(service: Service) -> Json:
    return {
        "now": service.clock.iso(),
        "offsetSeconds": service.clock.offset_seconds(),
        "stopped": service.clock.stopped,
    }


async def get_clock(request: web.Request) -> web.Response:
    """GET /_mock/clock: the server's time."""
    return json_response(_clock_json(request.app[SERVICE_KEY]))


async def post_clock(request: web.Request) -> web.Response:
    """POST /_mock/clock ``{set: datetime} | {advance: seconds} | {reset: true} | {pin: datetime} | {unpin: true}``."""
    service = request.app[SERVICE_KEY]
    body = await _body(request, SET_CLOCK, CLOCK_FIELDS)
    if len(body) != 1:
        raise invalid_request(
            "Give exactly one of set (a datetime), advance (seconds), reset (true), pin (a datetime) or unpin (true)"
        )
    try:
        if "pin" in body:
            service.clock.pin(parse_iso(body["pin"]))
        elif "unpin" in body:
            service.clock.unpin()
        elif "set" in body:
            service.clock.set(parse_iso(body["set"]))
        elif "advance" in body:
            seconds = body["advance"]
            if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
                raise invalid_request(f"advance must be a number of seconds, got {seconds!r}")
            service.clock.advance(seconds)
        elif body["reset"]:
            service.clock.reset()
    except (ValueError, OverflowError) as e:
        raise invalid_request(f"Cannot move the clock so: {e}") from None
    return json_response(_clock_json(service))


async def state_page(request: web.Request) -> web.Response:
    """GET /_mock/: the state page (actors, groups, latest calls, and controls)."""
    return web.Response(text=PAGE.read_text(encoding="utf-8"), content_type="text/html")


async def get_methods(request: web.Request) -> web.Response:
    """GET /_mock/methods: the methods served, and the chat.bsky methods that are not."""
    return json_response(served_methods(request.app[SERVICE_KEY].lexicons))


async def get_version(request: web.Request) -> web.Response:
    """GET /_mock/version: a number that changes whenever there is something new to show."""
    return json_response({"version": request.app[SERVICE_KEY].version})


async def get_journal(request: web.Request) -> web.Response:
    """GET /_mock/journal?since=SEQ&limit=N: the XRPC calls after ``since``, oldest first."""
    journal = request.app[SERVICE_KEY].journal
    numbers: dict[str, int | None] = {}
    for name in ("since", "limit"):
        raw = request.query.get(name)
        numbers[name] = whole_number(raw, name) if raw is not None else None
    entries = journal.since(numbers["since"] or 0, numbers["limit"])
    if entries:
        cursor = entries[-1]["seq"]
    elif numbers["since"] is not None or numbers["limit"] == 0:
        cursor = numbers["since"] or 0  # nothing read: the cursor does not move past anything
    else:
        cursor = journal.last_seq
    return json_response({"entries": entries, "cursor": cursor})


async def list_faults(request: web.Request) -> web.Response:
    """GET /_mock/faults: the active fault rules."""
    return json_response({"faults": [f.to_json() for f in request.app[SERVICE_KEY].faults.rules]})


async def post_fault(request: web.Request) -> web.Response:
    """POST /_mock/faults: add a fault rule."""
    service = request.app[SERVICE_KEY]
    fault = control.add_fault(service, await _body(request, OBJECT, OPEN))
    return json_response(fault.to_json(), status=201)


async def delete_faults(request: web.Request) -> web.Response:
    """DELETE /_mock/faults: remove every rule."""
    control.clear_faults(request.app[SERVICE_KEY])
    return json_response({"faults": []})


async def delete_fault(request: web.Request) -> web.Response:
    """DELETE /_mock/faults/{id}: remove one rule."""
    raw = request.match_info["id"]
    if not control.remove_fault(request.app[SERVICE_KEY], whole_number(raw, "fault rule", status=404)):
        raise not_found(f"No fault rule {raw!r}")
    return json_response({})


def add_routes(app: web.Application) -> None:
    """Mount the admin API on ``app``."""
    app.router.add_get("/_mock/actors", list_actors)
    app.router.add_post("/_mock/actors", post_actor)
    app.router.add_get("/_mock/actors/{id}", get_actor)
    app.router.add_patch("/_mock/actors/{id}", patch_actor)
    app.router.add_post("/_mock/actors/{id}/session", post_session)
    app.router.add_post("/_mock/actors/{id}/token", post_token)
    app.router.add_get("/_mock/convos", list_convos)
    app.router.add_get("/_mock/convos/{id}", get_convo)
    app.router.add_patch("/_mock/convos/{id}", patch_convo)
    app.router.add_post("/_mock/reset", reset)
    app.router.add_get("/_mock/scenarios", list_scenarios)
    app.router.add_post("/_mock/scenarios/load", load_scenario)
    app.router.add_get("/_mock/scenario", current_scenario)
    app.router.add_get("/_mock/state", get_state)
    app.router.add_put("/_mock/state", put_state)
    app.router.add_get("/_mock/snapshot", get_snapshot)
    app.router.add_get("/_mock/clock", get_clock)
    app.router.add_post("/_mock/clock", post_clock)
    app.router.add_get("/_mock/journal", get_journal)
    app.router.add_get("/_mock/", state_page)
    app.router.add_get("/_mock/version", get_version)
    app.router.add_get("/_mock/methods", get_methods)
    app.router.add_get("/_mock/faults", list_faults)
    app.router.add_post("/_mock/faults", post_fault)
    app.router.add_delete("/_mock/faults", delete_faults)
    app.router.add_delete("/_mock/faults/{id}", delete_fault)
