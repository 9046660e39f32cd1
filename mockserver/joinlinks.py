"""Join links and join requests: create, edit, enable, disable, request, withdraw, approve, reject."""

from __future__ import annotations

from . import mod_events
from .errors import invalid_request
from .history import add_member, add_request, drop_request, log, referred, system_message
from .rules import fail, owned_convo, require_room, require_unlocked
from .service import Service
from .state import Actor, Convo, JoinLink, JoinRequest


def _new_code(service: Service) -> str:
    while True:
        code = service.ids.token(10)
        if code not in service.state.links:
            return code


def create_link(service: Service, caller: Actor, convo_id: str, join_rule: str, require_approval: bool) -> JoinLink:
    """A new enabled link; ``EnabledJoinLinkAlreadyExists`` while the group has one."""
    convo, _ = owned_convo(service.state, convo_id, caller)
    if convo.link is not None and convo.link.enabled:
        raise fail("EnabledJoinLinkAlreadyExists", "The group already has an enabled join link; disable it first")
    link = JoinLink(
        code=_new_code(service),
        convo_id=convo.id,
        join_rule=join_rule,
        require_approval=require_approval,
        enabled=True,
        created_at=service.clock.iso(),
    )
    convo.link = link
    service.state.links[link.code] = link
    system_message(service, convo, "systemMessageDataCreateJoinLink", {}, "logCreateJoinLink", convo.everyone())
    mod_events.on_updated(service, convo, caller.did, "join_link_created")
    return link


def _current_link(convo: Convo) -> JoinLink:
    if convo.link is None:
        raise fail("NoJoinLink", "The group has no join link; create one first")
    return convo.link


def edit_link(
    service: Service, caller: Actor, convo_id: str, join_rule: str | None, require_approval: bool | None
) -> JoinLink:
    """Change the current link's rule or approval setting (enabled or not)."""
    convo, _ = owned_convo(service.state, convo_id, caller)
    link = _current_link(convo)
    changed = False
    if join_rule is not None and join_rule != link.join_rule:
        link.join_rule, changed = join_rule, True
    if require_approval is not None and require_approval != link.require_approval:
        link.require_approval, changed = require_approval, True
    if changed:
        system_message(service, convo, "systemMessageDataEditJoinLink", {}, "logEditJoinLink", convo.everyone())
        mod_events.on_updated(service, convo, caller.did, "join_link_settings_changed")
    return link


def enable_link(service: Service, caller: Actor, convo_id: str) -> JoinLink:
    """Re-enable the group's disabled link."""
    convo, _ = owned_convo(service.state, convo_id, caller)
    link = _current_link(convo)
    if link.enabled:
        raise fail("LinkAlreadyEnabled", "The join link is already enabled")
    link.enabled = True
    system_message(service, convo, "systemMessageDataEnableJoinLink", {}, "logEnableJoinLink", convo.everyone())
    mod_events.on_updated(service, convo, caller.did, "join_link_settings_changed")
    return link


def disable_link(service: Service, caller: Actor, convo_id: str) -> JoinLink:
    """Disable the group's enabled link; ``NoJoinLink`` when there is no enabled one."""
    convo, _ = owned_convo(service.state, convo_id, caller)
    link = _current_link(convo)
    if not link.enabled:
        raise fail("NoJoinLink", "The group has no enabled join link to disable")
    link.enabled = False
    system_message(service, convo, "systemMessageDataDisableJoinLink", {}, "logDisableJoinLink", convo.everyone())
    mod_events.on_updated(service, convo, caller.did, "join_link_disabled")
    return link


def request_join(service: Service, caller: Actor, code: str) -> tuple[str, Convo]:
    """Join through a link: ('joined', convo), or ('pending', convo) when the link needs approval."""
    state = service.state
    link = state.links.get(code)
    if link is None:
        raise fail("InvalidCode", f"No join link with code {code!r}")
    convo = state.convos[link.convo_id]
    if not link.enabled or convo.link is not link:
        raise fail("LinkDisabled", "This join link is disabled")
    if caller.did in convo.members:
        return "joined", convo
    if caller.did in convo.requests:
        return "pending", convo
    require_unlocked(convo)
    if caller.did in convo.kicked:
        raise fail("UserKicked", "You were removed from this group and cannot rejoin by link")
    owner = state.actors.get(convo.owner)
    if link.join_rule == "followedByOwner" and (owner is None or not owner.follows_did(caller.did)):
        raise fail("FollowRequired", "Only accounts the group's owner follows can join with this link")
    require_room(convo, 1)
    if link.require_approval:
        convo.request_seq += 1
        add_request(state, convo, JoinRequest(convo.id, caller.did, service.clock.iso(), convo.request_seq))
        log(service, convo, "logOutgoingJoinRequest", {caller.did})
        log(service, convo, "logIncomingJoinRequest", {convo.owner}, subject=caller.did)
        mod_events.on_join_request(service, convo, caller.did, code)
        return "pending", convo
    _join(service, convo, caller.did, approved_by=None)
    mod_events.on_joined(service, convo, caller.did, code)
    return "joined", convo


def _join(service: Service, convo: Convo, did: str, approved_by: str | None) -> None:
    seq = len(convo.messages)
    add_member(service.state, convo, did, role="standard", status="accepted", added_by=None, joined_seq=seq)
    log(service, convo, "logBeginConvo", {did})
    data = {"member": referred(did), "role": "standard"}
    if approved_by is not None:
        data["approvedBy"] = referred(approved_by)
    system_message(service, convo, "systemMessageDataMemberJoin", data, "logMemberJoin", convo.everyone())


def withdraw_request(service: Service, caller: Actor, convo_id: str) -> None:
    """Withdraw the caller's pending request; ``InvalidJoinRequest`` when there is none."""
    convo = service.state.convos.get(convo_id)
    if convo is None or not drop_request(service.state, convo, caller.did):
        raise fail("InvalidJoinRequest", f"You have no pending join request for convo {convo_id}")
    log(service, convo, "logWithdrawOutgoingJoinRequest", {caller.did})
    log(service, convo, "logWithdrawIncomingJoinRequest", {convo.owner}, subject=caller.did)


def _pending(convo: Convo, did: str) -> JoinRequest:
    request = convo.requests.get(did)
    if request is None:
        raise invalid_request(f"No pending join request from {did} in this group")
    return request


def approve_request(service: Service, caller: Actor, convo_id: str, did: str) -> Convo:
    """Let a requester in; they join as an accepted member."""
    convo, _ = owned_convo(service.state, convo_id, caller)
    _pending(convo, did)
    require_unlocked(convo)
    require_room(convo, 1)
    log(service, convo, "logApproveJoinRequest", {caller.did}, subject=did)
    _join(service, convo, did, approved_by=caller.did)
    mod_events.on_request_decided(service, convo, caller.did, did, True)
    return convo


def reject_request(service: Service, caller: Actor, convo_id: str, did: str) -> None:
    """Turn a requester away (they may ask again)."""
    convo, _ = owned_convo(service.state, convo_id, caller)
    _pending(convo, did)
    drop_request(service.state, convo, did)
    log(service, convo, "logRejectJoinRequest", {caller.did}, subject=did)
    mod_events.on_request_decided(service, convo, caller.did, did, False)


def mark_requests_read(service: Service, caller: Actor, convo_id: str) -> None:
    """The owner has seen every pending request."""
    convo, _ = owned_convo(service.state, convo_id, caller)
    convo.requests_read_seq = convo.request_seq
    convo.unread_requests = 0
    log(service, convo, "logReadJoinRequests", {caller.did})
