"""Direct (1:1) convos: one per pair of accounts, made on the first ``getConvoForMembers``.

A direct convo is a request for the recipient until they accept it or reply. The recipient sees
it (in lists and in their log) only once there is a message for them. Leaving hides it and its
history; the next message from the other brings it back, as a request.
"""

from __future__ import annotations

from .errors import XrpcError, invalid_request
from .history import add_member, log, new_rev
from .rules import check_recipient
from .service import Service
from .state import Actor, Convo, Member, State

DIRECT_LIMIT = 2


def other_of(caller: Actor, members: list[str]) -> str:
    """The one other account a members list names (the caller may be in it, and repeats are fine)."""
    others = [did for did in dict.fromkeys(members) if did != caller.did]
    if not others:
        raise invalid_request("members must name another account: a direct convo is between two")
    if len(others) > 1:
        raise invalid_request(
            f"members names {len(others)} other accounts: a direct convo is between two; "
            "use chat.bsky.group.createGroup for more"
        )
    return others[0]


def existing(state: State, caller: Actor, other: str) -> Convo | None:
    """The direct convo of the two, if there is one."""
    convo_id = state.directs.get(frozenset((caller.did, other)))
    return state.convos.get(convo_id) if convo_id is not None else None


def available(state: State, caller: Actor, members: list[str]) -> tuple[bool, Convo | None]:
    """Whether the caller can chat with them, and the convo they already share (never made here)."""
    other = other_of(caller, members)
    convo = existing(state, caller, other)
    if caller.status != "active":
        return False, convo
    try:
        check_recipient(state, caller, other, new_convo=convo is None or caller.did not in convo.members)
    except XrpcError:  # whichever rule refuses, the answer is no
        return False, convo
    return True, convo


def convo_for_members(service: Service, caller: Actor, members: list[str]) -> Convo:
    """The direct convo of the caller and one other account: the same one every time, made on
    the first call, and joined again (with no history) by a caller who had left it."""
    state = service.state
    other = other_of(caller, members)
    convo = existing(state, caller, other)
    check_recipient(state, caller, other, new_convo=convo is None or caller.did not in convo.members)
    if convo is None:
        convo = Convo(
            id=service.ids.tid(),
            rev=new_rev(service),
            created_at=service.clock.iso(),
            name="",
            owner="",
            member_limit=DIRECT_LIMIT,
            kind="direct",
            pair=(caller.did, other),
        )
        state.convos[convo.id] = convo
        state.directs[frozenset(convo.pair)] = convo.id
        add_member(state, convo, caller.did, role="standard", status="accepted", added_by=None, joined_seq=0)
        add_member(state, convo, other, role="standard", status="request", added_by=None, joined_seq=0)
        convo.rev = log(service, convo, "logBeginConvo", {caller.did}).rev
    elif caller.did not in convo.members:
        rejoin(service, convo, caller.did, status="accepted")
    return convo


def rejoin(service: Service, convo: Convo, did: str, *, status: str) -> Member:
    """Bring back a member who left a direct convo: from now on, with nothing before."""
    member = add_member(
        service.state, convo, did, role="standard", status=status, added_by=None, joined_seq=len(convo.messages)
    )
    log(service, convo, "logBeginConvo", {did})
    return member


def reachable(state: State, convo: Convo, viewer: Actor) -> bool:
    """Whether the other one of a direct convo is there to talk to: not gone, no block either way."""
    other = state.actors.get(next((did for did in convo.pair if did != viewer.did), ""))
    if other is None or other.gone:
        return False
    return not (other.blocks_did(viewer.did) or viewer.blocks_did(other.did))


def reach_recipients(service: Service, convo: Convo) -> None:
    """Before a message in a direct convo: the other one gets it, as a request if they had left,
    with a ``logBeginConvo`` first if the convo had not reached them yet."""
    for did in convo.pair:
        member = convo.members.get(did)
        if member is None:
            rejoin(service, convo, did, status="request")
        elif not shown_to(convo, member):
            log(service, convo, "logBeginConvo", {did})


def shown_to(convo: Convo, member: Member) -> bool:
    """Whether a member sees the convo in lists and counts: always for a group; for a direct
    convo, once they took it or a message came for them."""
    return not convo.direct or member.status == "accepted" or len(convo.messages) > member.joined_seq
