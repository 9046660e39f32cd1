"""An account's chat as a whole: its status, notification preferences, export and deletion."""

from __future__ import annotations

from typing import Any

from .errors import invalid_request
from .groups import leave
from .history import log
from .joinlinks import withdraw_request
from .messages import latest_reaction
from .service import Service
from .state import Actor, State

Json = dict[str, Any]
PREFERENCE_KINDS = ("chat", "chatRequest")
INCLUDE = ("all", "follows")
DEFAULT_PREFERENCE: Json = {"include": "all", "push": True}
"""What an account that set nothing gets, for chats and for chat requests alike."""


def status(service: Service, actor: Actor) -> Json:
    """``chat.bsky.actor.getStatus``: whether the account may chat and create groups."""
    return {
        "chatDisabled": actor.status != "active" or actor.chat_disabled,
        "canCreateGroups": actor.status == "active" and not actor.chat_disabled and not actor.new_account,
        "groupMemberLimit": service.config.member_limit,
    }


def preferences(state: State, actor: Actor) -> Json:
    """The account's notification preferences, defaults filled in."""
    mine = state.preferences.get(actor.did, {})
    return {kind: dict(mine.get(kind, DEFAULT_PREFERENCE)) for kind in PREFERENCE_KINDS}


def checked_preferences(given: Json) -> Json:
    """Preferences to store: each given kind with an ``include`` the mock knows. ``ValueError``
    (for a dump) or ``InvalidRequest`` (for a call) otherwise."""
    out: Json = {}
    for kind, value in given.items():
        if kind not in PREFERENCE_KINDS:
            raise invalid_request(f"Unknown preference {kind!r}: one of {', '.join(PREFERENCE_KINDS)}")
        if (
            not isinstance(value, dict)
            or value.get("include") not in INCLUDE
            or not isinstance(value.get("push"), bool)
        ):
            raise invalid_request(f"{kind} must be {{include: {' or '.join(INCLUDE)}, push: true or false}}")
        out[kind] = {"include": value["include"], "push": value["push"]}
    return out


def put_preferences(state: State, actor: Actor, given: Json) -> Json:
    """Change the kinds given, keep the others (a partial update)."""
    changes = checked_preferences(given)
    state.preferences[actor.did] = {**state.preferences.get(actor.did, {}), **changes}
    return preferences(state, actor)


def export(state: State, actor: Actor) -> list[Json]:
    """``exportAccountData``: one line per message the account sent and still has, oldest first,
    each a ``messageView`` with its ``$type`` and the ``convoId`` it was sent in."""
    lines = []
    for convo in state.convos.values():
        for message in convo.messages:
            if message.sender == actor.did and not message.removed:
                lines.append(
                    {
                        "$type": "chat.bsky.convo.defs#messageView",
                        "convoId": convo.id,
                        "id": message.id,
                        "rev": message.rev,
                        "text": message.text,
                        "sender": {"did": message.sender},
                        "sentAt": message.sent_at,
                        **({"facets": message.facets} if message.facets is not None else {}),
                        **({"embed": message.embed} if message.embed is not None else {}),
                    }
                )
    lines.sort(key=lambda line: str(line["rev"]))
    return lines


def delete_account(service: Service, actor: Actor) -> None:
    """Delete the account's chat: it leaves every convo (a group it owns is locked for good first,
    as when an owner leaves), its join requests are withdrawn, its messages show as deleted to
    everyone and its reactions and preferences go. The account itself (its login) stays."""
    state = service.state
    # what others see changes first, each with its log event, while the account is still a member
    for convo_id in sorted(state.outgoing_requests.get(actor.did, {})):
        withdraw_request(service, actor, convo_id)
    for convo in state.convos.values():
        shown_gone = False
        for message in convo.messages:
            for reaction in [r for r in message.reactions if r.sender == actor.did]:
                message.reactions.remove(reaction)  # type: ignore[union-attr]  # it holds one: a list
                if convo.last_reaction is not None and convo.last_reaction[1] is reaction:
                    shown_gone = True
                log(service, convo, "logRemoveReaction", convo.everyone(), message_id=message.id, reaction=reaction)
            if message.sender == actor.did and not message.removed:
                message.removed = True
                log(service, convo, "logDeleteMessage", convo.everyone(), message_id=message.id, shared=True)
        if shown_gone:  # the reaction a convoView showed went: the newest one still there instead
            convo.last_reaction = latest_reaction(convo)
    for convo_id in sorted(state.convos_of(actor.did)):
        leave(service, state.convos[convo_id], actor.did)
    state.preferences.pop(actor.did, None)
