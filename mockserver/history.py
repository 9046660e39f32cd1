"""What every change leaves behind: a new rev, system messages, and per-viewer log events."""

from __future__ import annotations

from typing import Any

from .service import Service
from .state import Convo, JoinRequest, LogEvent, Member, Message, Reaction, State

Json = dict[str, Any]
DEFS = "chat.bsky.convo.defs"


def new_rev(service: Service) -> str:
    """A rev that sorts after every rev handed out before it."""
    return service.ids.tid()


PRIVATE = frozenset(
    {
        "logBeginConvo",
        "logAcceptConvo",
        "logLeaveConvo",
        "logMuteConvo",
        "logUnmuteConvo",
        "logReadConvo",
        "logReadMessage",
        "logIncomingJoinRequest",
        "logOutgoingJoinRequest",
        "logApproveJoinRequest",
        "logRejectJoinRequest",
        "logWithdrawIncomingJoinRequest",
        "logWithdrawOutgoingJoinRequest",
        "logReadJoinRequests",
        "logDeleteMessage",
    }
)
"""Log kinds about one account's own doings: they move that account's view of the convo (its
member ``rev``), not the convo every member sees."""
OUTSIDERS = frozenset({"logLeaveConvo", "logOutgoingJoinRequest", "logWithdrawOutgoingJoinRequest"})
"""The only events addressed to someone who is not a member (the one who just left or was
removed; a requester): every other event goes to current members only, whoever asks for it."""


def log(
    service: Service,
    convo: Convo,
    kind: str,
    audience: set[str] | frozenset[str],
    *,
    rev: str | None = None,
    message_id: str | None = None,
    subject: str | None = None,
    reaction: Reaction | None = None,
    shared: bool | None = None,
) -> LogEvent:
    """Append a log event for ``audience``; a shared event moves the convo's rev forward, a
    private one (``PRIVATE``, unless ``shared`` says otherwise) only the rev of the members it is
    addressed to. Nobody but a current member gets an event, except those ``OUTSIDERS`` kinds are for."""
    if kind not in OUTSIDERS and not audience <= convo.members.keys():
        audience = frozenset(did for did in audience if did in convo.members)
    event = LogEvent(
        rev=rev or new_rev(service),
        convo_id=convo.id,
        kind=kind,
        audience=audience if isinstance(audience, frozenset) else frozenset(audience),
        message_id=message_id,
        subject=subject,
        reaction=reaction,
    )
    convo.events.append(event)
    convo.event_revs.append(event.rev)
    if (kind in PRIVATE) if shared is None else not shared:
        for did in event.audience:
            member = convo.members.get(did)
            if member is not None:
                member.rev = event.rev
    else:
        convo.rev = event.rev
    log_convos = service.state.log_convos
    for did in event.audience:
        mine = log_convos.get(did)
        if mine is None:
            log_convos[did] = {convo.id}
        else:
            mine.add(convo.id)
    return event


def append_message(service: Service, convo: Convo, **fields: Any) -> Message:
    """Add a message (user or system) at the end of the convo's history.

    A message's id is its rev: both are unique and sort in order, and sharing one string keeps a
    million messages in less memory.
    """
    rev = new_rev(service)
    message = Message(
        id=rev,
        rev=rev,
        seq=len(convo.messages),
        sent_at=service.clock.iso(),
        **fields,
    )
    convo.messages.append(message)
    convo.message_ids[message.id] = message
    convo.rev = message.rev
    return message


def system_message(
    service: Service, convo: Convo, data_type: str, data: Json, log_kind: str, audience: set[str] | frozenset[str]
) -> Message:
    """Post a system message and log it (with the message's rev) to ``audience``."""
    message = append_message(service, convo, system={"$type": f"{DEFS}#{data_type}", **data})
    log(service, convo, log_kind, audience, rev=message.rev, message_id=message.id)
    return message


def referred(did: str) -> Json:
    """``systemMessageReferredUser``."""
    return {"did": did}


def add_member(
    state: State, convo: Convo, did: str, *, role: str, status: str, added_by: str | None, joined_seq: int
) -> Member:
    """Make ``did`` a member and index it; clears a pending request and a kick."""
    member = Member(
        did=did,
        role=role,
        status=status,
        order=convo.next_order,
        joined_seq=joined_seq,
        added_by=added_by,
        read_seq=joined_seq - 1,
    )
    convo.next_order += 1
    convo.members[did] = member
    convo.kicked.discard(did)
    convo.past_members.pop(did, None)
    drop_request(state, convo, did)
    state.member_convos.setdefault(did, set()).add(convo.id)
    return member


def drop_member(state: State, convo: Convo, did: str) -> None:
    """End ``did``'s membership (it becomes a past member)."""
    member = convo.members.pop(did, None)
    convo.past_members[did] = member.joined_seq if member is not None else 0
    mine = state.member_convos.get(did)
    if mine is not None:
        mine.discard(convo.id)


def add_request(state: State, convo: Convo, request: JoinRequest) -> None:
    """Keep a pending join request, indexed for its requester and counted as unread if it is."""
    convo.requests[request.did] = request
    state.outgoing_requests.setdefault(request.did, {})[convo.id] = request
    if request.seq > convo.requests_read_seq:
        convo.unread_requests += 1


def drop_request(state: State, convo: Convo, did: str) -> bool:
    """Remove ``did``'s pending join request, if any; whether there was one."""
    request = convo.requests.pop(did, None)
    if request is None:
        return False
    if request.seq > convo.requests_read_seq:
        convo.unread_requests -= 1
    outgoing = state.outgoing_requests.get(did)
    if outgoing is not None:
        outgoing.pop(convo.id, None)
    return True


def note_user_message(convo: Convo, message: Message) -> None:
    """Count a new user message as unread for every member but its sender."""
    for member in convo.members.values():
        if member.did == message.sender:
            member.read_seq = message.seq
            member.unread = 0
        else:
            member.unread += 1


def mark_read(convo: Convo, member: Member, upto: Message | None) -> None:
    """Mark the convo read for ``member`` up to ``upto`` (default: the latest message)."""
    last = convo.messages[-1].seq if convo.messages else -1
    target = upto.seq if upto is not None else last
    member.read_seq = max(target, member.joined_seq - 1)
    member.unread = sum(
        1
        for m in convo.messages[member.read_seq + 1 :]
        if m.sender is not None and m.sender != member.did and m.id not in member.deleted
    )
