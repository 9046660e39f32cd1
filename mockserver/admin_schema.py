"""The admin API's bodies as small lexicons of the mock's own, so lexrpc checks them like XRPC
input. Shared by the admin API, ``control`` (the plugin's helpers) and the scenario loader: one
set of rules for an account, however it is made."""

from __future__ import annotations

from typing import Any

from .lexicons import Lexicons

Json = dict[str, Any]

_DECLARATION = {"type": "string", "description": "all, none or following; null for none set"}
ACTOR_FIELDS: Json = {
    "did": {"type": "string", "format": "did"},
    "handle": {"type": "string", "minLength": 1, "maxLength": 253},
    "password": {"type": "string", "minLength": 1, "maxLength": 256},
    "displayName": {"type": "string", "maxGraphemes": 64, "maxLength": 640},
    "avatar": {"type": "string", "maxLength": 8192, "description": "a URI, or empty for none (checked in accounts.py)"},
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
LOAD_FIELDS: Json = {"name": {"type": "string", "minLength": 1}, "scenario": {"type": "unknown"}}
RESET_FIELDS: Json = {"to": {"type": "string", "description": "empty or scenario"}}
TOKEN_FIELDS: Json = {"expired": {"type": "boolean"}}
SESSION_FIELDS: Json = {"session": {"type": "string", "minLength": 1, "maxLength": 64}}
CLOCK_FIELDS: Json = {
    "set": {"type": "string", "format": "datetime"},
    "advance": {"type": "unknown", "description": "seconds, may be fractional or negative"},
    "reset": {"type": "boolean"},
    "pin": {"type": "string", "format": "datetime", "description": "stop the clock at this time"},
    "unpin": {"type": "boolean"},
}
OPEN: Json = {}
CREATE_ACTOR = "mock.admin.createActor"
UPDATE_ACTOR = "mock.admin.updateActor"
UPDATE_CONVO = "mock.admin.updateConvo"
LOAD_SCENARIO = "mock.admin.loadScenario"
RESET = "mock.admin.reset"
TOKEN = "mock.admin.token"
SESSION = "mock.admin.session"
SET_CLOCK = "mock.admin.setClock"
OBJECT = "mock.admin.object"


NULLABLE_ACTOR_FIELDS = ["allowIncoming", "allowGroupInvites"]
"""``allowIncoming: null``: the account has no chat declaration record; ``allowGroupInvites:
null``: its declaration leaves that field unset."""


def _procedure(nsid: str, fields: Json, nullable: list[str] | None = None) -> Json:
    schema: Json = {"type": "object", "properties": fields}
    if nullable:
        schema["nullable"] = nullable
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
        _procedure(CREATE_ACTOR, ACTOR_FIELDS, NULLABLE_ACTOR_FIELDS),
        _procedure(UPDATE_ACTOR, ACTOR_FIELDS, NULLABLE_ACTOR_FIELDS),
        _procedure(UPDATE_CONVO, CONVO_FIELDS),
        _procedure(LOAD_SCENARIO, LOAD_FIELDS),
        _procedure(RESET, RESET_FIELDS),
        _procedure(TOKEN, TOKEN_FIELDS),
        _procedure(SESSION, SESSION_FIELDS),
        _procedure(SET_CLOCK, CLOCK_FIELDS),
        _procedure(OBJECT, OPEN),
    ]
)


def check_fields(spec: Json, fields: Json) -> None:
    """Refuse fields a body has no place for (a typo must not pass silently)."""
    unknown = sorted(set(spec) - set(fields))
    if unknown:
        from .errors import invalid_request

        raise invalid_request(f"Unknown field(s) {', '.join(unknown)}; known fields: {', '.join(fields)}")
