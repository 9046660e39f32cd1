"""The admin API under ``/_mock/``: what no XRPC call can do (create actors, reset, ...).

Admin bodies are validated by lexrpc too, against the mock's own small lexicons below.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .accounts import create_actor, update_actor
from .chat_views import join_link_view
from .errors import invalid_request, not_found
from .lexicons import Lexicons
from .service import SERVICE_KEY, Service
from .state import Actor, Convo
from .xrpc import json_response, read_input

Json = dict[str, Any]

_DECLARATION = {"type": "string", "description": "all, none or following"}
ACTOR_FIELDS: Json = {
    "did": {"type": "string", "format": "did"},
    "handle": {"type": "string", "minLength": 1, "maxLength": 253},
    "password": {"type": "string", "minLength": 1, "maxLength": 256},
    "displayName": {"type": "string", "maxGraphemes": 64, "maxLength": 640},
    "avatar": {"type": "string", "format": "uri"},
    "allowIncoming": _DECLARATION,
    "allowGroupInvites": _DECLARATION,
    "status": {"type": "string", "description": "active, suspended, deactivated or takendown"},
    "newAccount": {"type": "boolean"},
    "follows": {"type": "array", "items": {"type": "string"}, "maxLength": 100000},
    "blocks": {"type": "array", "items": {"type": "string"}, "maxLength": 100000},
}
CONVO_FIELDS: Json = {
    "memberLimit": {"type": "integer", "minimum": 1, "maximum": 10000},
    "moderationLock": {"type": "boolean"},
}
CREATE_ACTOR = "mock.admin.createActor"
UPDATE_ACTOR = "mock.admin.updateActor"
UPDATE_CONVO = "mock.admin.updateConvo"


def _procedure(nsid: str, fields: Json) -> Json:
    schema = {"type": "object", "properties": fields}
    return {
        "lexicon": 1,
        "id": nsid,
        "defs": {
            "main": {
                "type": "procedure",
                "input": {"encoding": "application/json", "schema": schema},
            }
        },
    }


ADMIN_LEXICONS = Lexicons(
    [
        _procedure(CREATE_ACTOR, ACTOR_FIELDS),
        _procedure(UPDATE_ACTOR, ACTOR_FIELDS),
        _procedure(UPDATE_CONVO, CONVO_FIELDS),
    ]
)


def actor_json(actor: Actor) -> Json:
    """Everything the mock holds about an actor, as the admin API shows it."""
    return {
        "did": actor.did,
        "handle": actor.handle,
        "password": actor.password,
        "displayName": actor.display_name,
        "avatar": actor.avatar,
        "createdAt": actor.created_at,
        "allowIncoming": actor.allow_incoming,
        "allowGroupInvites": actor.allow_group_invites,
        "status": actor.status,
        "newAccount": actor.new_account,
        "follows": sorted(actor.follows),
        "blocks": sorted(actor.blocks),
    }


async def _body(request: web.Request, nsid: str, fields: Json) -> Json:
    service = request.app[SERVICE_KEY]
    data = await read_input(request, ADMIN_LEXICONS, nsid, service.config.max_body)
    assert data is not None
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise invalid_request(f"Unknown field(s) {', '.join(unknown)}; known fields: {', '.join(fields)}")
    return data


def _actor(service: Service, identifier: str) -> Actor:
    actor = service.state.find_actor(identifier)
    if actor is None:
        raise not_found(f"No actor with DID or handle {identifier!r}")
    return actor


async def list_actors(request: web.Request) -> web.Response:
    """GET /_mock/actors: every actor."""
    service = request.app[SERVICE_KEY]
    return json_response({"actors": [actor_json(a) for a in service.state.actors.values()]})


async def post_actor(request: web.Request) -> web.Response:
    """POST /_mock/actors: create an actor and log it in."""
    service = request.app[SERVICE_KEY]
    spec = await _body(request, CREATE_ACTOR, ACTOR_FIELDS)
    actor = create_actor(service.state, service.ids, service.clock, service.lexicons, spec)
    tokens = service.tokens.issue(service.state, actor)
    return json_response(
        {
            "did": actor.did,
            "handle": actor.handle,
            "password": actor.password,
            "accessJwt": tokens.access_jwt,
            "refreshJwt": tokens.refresh_jwt,
        },
        status=201,
    )


async def get_actor(request: web.Request) -> web.Response:
    """GET /_mock/actors/{id}: one actor, by DID or handle."""
    service = request.app[SERVICE_KEY]
    return json_response(actor_json(_actor(service, request.match_info["id"])))


async def patch_actor(request: web.Request) -> web.Response:
    """PATCH /_mock/actors/{id}: change an actor (follows/blocks replace the set)."""
    service = request.app[SERVICE_KEY]
    actor = _actor(service, request.match_info["id"])
    spec = await _body(request, UPDATE_ACTOR, ACTOR_FIELDS)
    update_actor(service.state, service.lexicons, actor, spec)
    return json_response(actor_json(actor))


def convo_json(convo: Convo) -> Json:
    """A group's settings and membership, as the admin API shows them."""
    return {
        "id": convo.id,
        "name": convo.name,
        "owner": convo.owner,
        "memberLimit": convo.member_limit,
        "lockStatus": convo.lock_status,
        "moderationLock": convo.moderation_lock,
        "members": [
            {"did": m.did, "role": m.role, "status": m.status, "addedBy": m.added_by} for m in convo.members.values()
        ],
        "joinLink": join_link_view(convo.link) if convo.link else None,
        "joinRequests": [r.did for r in convo.requests.values()],
        "kicked": sorted(convo.kicked),
        "messageCount": len(convo.messages),
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
    limit = spec.get("memberLimit")
    if limit is not None and limit < len(convo.members):
        raise invalid_request(f"memberLimit {limit} is below the group's {len(convo.members)} members")
    if limit is not None:
        convo.member_limit = limit
    if "moderationLock" in spec:
        convo.moderation_lock = spec["moderationLock"]
    return json_response(convo_json(convo))


async def reset(request: web.Request) -> web.Response:
    """POST /_mock/reset: empty the state."""
    request.app[SERVICE_KEY].reset()
    return json_response({})


def add_routes(app: web.Application) -> None:
    """Mount the admin API on ``app``."""
    app.router.add_get("/_mock/actors", list_actors)
    app.router.add_post("/_mock/actors", post_actor)
    app.router.add_get("/_mock/actors/{id}", get_actor)
    app.router.add_patch("/_mock/actors/{id}", patch_actor)
    app.router.add_get("/_mock/convos", list_convos)
    app.router.add_get("/_mock/convos/{id}", get_convo)
    app.router.add_patch("/_mock/convos/{id}", patch_convo)
    app.router.add_post("/_mock/reset", reset)
