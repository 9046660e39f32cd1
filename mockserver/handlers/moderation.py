"""``chat.bsky.moderation``: for moderators only (see ``xrpc.moderator``)."""

from __future__ import annotations

from typing import Any

from .. import cursors, moderation
from ..errors import invalid_request
from ..xrpc import Call, method

Json = dict[str, Any]
MOD = "chat.bsky.moderation."


@method(MOD + "getConvo", "moderator")
def get_convo(call: Call) -> Json:
    return {"convo": moderation.convo_view(moderation.convo_of(call.service, call.params["convoId"]))}


@method(MOD + "getConvos", "moderator")
def get_convos(call: Call) -> Json:
    convos = call.service.state.convos
    ids = dict.fromkeys(call.params["convoIds"])  # unknown ones left out, as the lexicon says
    return {"convos": [moderation.convo_view(convos[i]) for i in ids if i in convos]}


@method(MOD + "getConvoMembers", "moderator")
def get_convo_members(call: Call) -> Json:
    convo = moderation.convo_of(call.service, call.params["convoId"])
    after = cursors.decode_int(call.params.get("cursor"))
    members, more = moderation.members(call.service, convo, after, call.params["limit"])
    out: Json = {"members": members}
    if more is not None:
        out["cursor"] = cursors.encode(str(more))
    return out


@method(MOD + "getMessageContext", "moderator")
def get_message_context(call: Call) -> Json:
    p = call.params
    cap = p["maxInterleavedSystemMessages"]
    messages = moderation.message_context(call.service, p.get("convoId"), p["messageId"], p["before"], p["after"], cap)
    return {"messages": messages}


@method(MOD + "getActorMetadata", "moderator")
def get_actor_metadata(call: Call) -> Json:
    return moderation.actor_metadata(call.service, call.params["actor"])


@method(MOD + "updateActorAccess", "moderator")
def update_actor_access(call: Call) -> None:
    assert call.input is not None
    actor = call.service.state.actors.get(call.input["actor"])
    if actor is None:
        raise invalid_request(f"Actor not found: {call.input['actor']}")
    moderation.update_access(call.service, actor, call.input["allowAccess"], call.input.get("ref"))
