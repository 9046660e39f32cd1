"""Messages and reactions."""

from __future__ import annotations

import unicodedata
from typing import Any

from . import mod_events
from .directs import reach_recipients
from .errors import invalid_request
from .groups import visible_message
from .history import append_message, log, note_user_message
from .rules import check_direct_send, fail, member_convo, require_unlocked
from .service import Service
from .state import Actor, Convo, Member, Message, Reaction

Json = dict[str, Any]
REACTIONS_PER_SENDER = 5
"""Distinct reactions one account may put on one message (``ReactionLimitReached`` past it)."""
LAST_REACTION_SCAN = 5000
"""How many recent log events removeReaction looks through for the reaction to show next."""
EMBEDS = ("app.bsky.embed.record", "chat.bsky.embed.joinLink")
"""Embed types the mock can render (the lexicon's union is open to others)."""


def send_message(service: Service, caller: Actor, convo_id: str, message: Json) -> tuple[Convo, Message]:
    """Post a user message; sending accepts a convo still in 'request' status."""
    convo, member = check_send(service, caller, convo_id, message)
    reply_to = (message.get("replyTo") or {}).get("messageId")
    if member.status == "request":
        member.status = "accepted"
        log(service, convo, "logAcceptConvo", {caller.did})
        mod_events.on_accepted(service, convo, caller.did, "message")
    first = not any(m.sender is not None for m in reversed(convo.messages))
    if convo.direct:
        reach_recipients(service, convo)
    posted = append_message(
        service,
        convo,
        sender=caller.did,
        text=message["text"],
        facets=message.get("facets"),
        embed=message.get("embed"),
        reply_to=reply_to,
    )
    note_user_message(convo, posted)
    log(service, convo, "logCreateMessage", convo.everyone(), rev=posted.rev, message_id=posted.id)
    if first:
        mod_events.on_first_message(service, convo, caller.did, posted.id)
    return convo, posted


def send_batch(service: Service, caller: Actor, items: list[Json]) -> list[tuple[Convo, Message]]:
    """Post several messages, each to its own convo, all or nothing: every item is checked
    before the first is posted (posting one never makes a later one fail)."""
    for item in items:
        check_send(service, caller, item["convoId"], item["message"])
    return [send_message(service, caller, item["convoId"], item["message"]) for item in items]


def check_send(service: Service, caller: Actor, convo_id: str, message: Json) -> tuple[Convo, Member]:
    """Every rule a message must pass, in order, before anything is written."""
    convo, member = member_convo(service.state, convo_id, caller)
    require_unlocked(convo)
    if convo.direct:
        check_direct_send(service.state, caller, convo)
    embed_type = (message.get("embed") or {}).get("$type")
    if embed_type is not None and embed_type not in EMBEDS:
        raise invalid_request(f"Embed type {embed_type} is not supported; use one of {', '.join(EMBEDS)}")
    reply_to = (message.get("replyTo") or {}).get("messageId")
    if reply_to is not None:
        target = visible_message(convo, member, reply_to)
        if target is None:
            raise fail("ReplyTargetNotFound", f"No message {reply_to} in this convo to reply to")
        if target.system is not None:
            raise fail("ReplyTargetNotFound", f"Message {reply_to} is a system message: replies go to user messages")
    return convo, member


def is_emoji(value: str) -> bool:
    """Whether a single grapheme is an emoji (symbols, flags, keycaps), not a letter or digit."""
    return any(unicodedata.category(ch) == "So" for ch in value) or "\u20e3" in value


def _reactable(service: Service, caller: Actor, convo_id: str, message_id: str, value: str) -> tuple[Convo, Message]:
    convo, member = member_convo(service.state, convo_id, caller)
    message = visible_message(convo, member, message_id)
    if message is None:
        raise invalid_request(f"No message {message_id} in this convo")
    if message.id in member.deleted or message.removed:
        raise fail("ReactionMessageDeleted", "This message was deleted: it takes no reactions")
    if convo.locked:
        raise fail("ReactionNotAllowed", "The group is locked: no reactions")
    if message.sender is None:
        raise fail("ReactionNotAllowed", "System messages take no reactions")
    if not is_emoji(value):
        raise fail("ReactionInvalidValue", f"{value!r} is not an emoji")
    return convo, message


def add_reaction(service: Service, caller: Actor, convo_id: str, message_id: str, value: str) -> tuple[Convo, Message]:
    """React to a message; the same emoji twice is one reaction."""
    convo, message = _reactable(service, caller, convo_id, message_id, value)
    mine = [r for r in message.reactions if r.sender == caller.did]
    if any(r.value == value for r in mine):
        return convo, message
    if len(mine) >= REACTIONS_PER_SENDER:
        raise fail("ReactionLimitReached", f"At most {REACTIONS_PER_SENDER} reactions per account on one message")
    reaction = Reaction(value=value, sender=caller.did, created_at=service.clock.iso())
    message.add_reaction(reaction)
    convo.last_reaction = (message.id, reaction)
    log(service, convo, "logAddReaction", convo.everyone(), message_id=message.id, reaction=reaction)
    return convo, message


def remove_reaction(
    service: Service, caller: Actor, convo_id: str, message_id: str, value: str
) -> tuple[Convo, Message]:
    """Take a reaction back; removing one that is not there is fine."""
    convo, message = _reactable(service, caller, convo_id, message_id, value)
    for reaction in message.reactions:
        if reaction.sender == caller.did and reaction.value == value:
            message.reactions.remove(reaction)  # type: ignore[union-attr]  # found in it, so a list
            if convo.last_reaction is not None and convo.last_reaction[1] == reaction:
                convo.last_reaction = latest_reaction(convo)
            log(service, convo, "logRemoveReaction", convo.everyone(), message_id=message.id, reaction=reaction)
            break
    return convo, message


def delete_for_self(service: Service, caller: Actor, convo_id: str, message_id: str) -> tuple[Convo, Message]:
    """Hide a message from the caller only (others still see it); deleting it again is fine."""
    convo, member = member_convo(service.state, convo_id, caller)
    message = visible_message(convo, member, message_id)
    if message is None:
        raise invalid_request(f"No message {message_id} in this convo")
    if message.system is not None:
        raise fail("MessageDeleteNotAllowed", "System messages cannot be deleted")
    if message.id not in member.deleted:
        member.deleted = member.deleted | {message.id}
        if message.seq > member.read_seq and message.sender != member.did:
            member.unread = max(member.unread - 1, 0)
        log(service, convo, "logDeleteMessage", {caller.did}, message_id=message.id)
    return convo, message


def latest_reaction(convo: Convo) -> tuple[str, Reaction] | None:
    """The newest reaction still in place, found from the log (recent events only)."""
    for event in reversed(convo.events[-LAST_REACTION_SCAN:]):
        if event.kind == "logAddReaction" and event.message_id is not None and event.reaction is not None:
            message = convo.message_ids[event.message_id]
            if event.reaction in message.reactions:
                return event.message_id, event.reaction
    return None
