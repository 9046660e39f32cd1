"""Group convo operations: create, members, name, lock, leave, accept, mute, read.

Each is synchronous over the state: every check runs before the first write.
"""

from __future__ import annotations

from . import mod_events
from .errors import invalid_request
from .history import (
    add_member,
    drop_member,
    log,
    mark_read,
    new_rev,
    referred,
    system_message,
)
from .rules import check_invitee, fail, member_convo, owned_convo, require_room, require_unlocked
from .service import Service
from .state import Actor, Convo, Member, Message


def create_group(service: Service, owner: Actor, name: str, members: list[str]) -> Convo:
    """A new group owned by ``owner``; every other member starts in 'request' status."""
    state = service.state
    if owner.new_account:
        raise fail("NewAccountCannotCreateGroup", "New accounts cannot create groups yet")
    wanted = [did for did in dict.fromkeys(members) if did != owner.did]
    limit = service.config.member_limit
    if len(wanted) + 1 > limit:
        raise invalid_request(
            f"Too many members: a group holds at most {limit} members, owner included, so at most "
            f"{limit - 1} besides the owner; got {len(wanted)}"
        )
    for did in wanted:
        check_invitee(state, owner, did)
    now = service.clock.iso()
    convo = Convo(
        id=service.ids.tid(),
        rev=new_rev(service),
        created_at=now,
        name=name,
        owner=owner.did,
        member_limit=limit,
    )
    state.convos[convo.id] = convo
    add_member(state, convo, owner.did, role="owner", status="accepted", added_by=None, joined_seq=0)
    for did in wanted:
        add_member(state, convo, did, role="standard", status="request", added_by=owner.did, joined_seq=0)
    for did in [owner.did, *wanted]:
        begin = log(service, convo, "logBeginConvo", {did})
    convo.rev = begin.rev  # the group's creation is shared: every member's view starts at one rev
    mod_events.on_created(service, convo, wanted)
    return convo


def add_members(service: Service, caller: Actor, convo_id: str, members: list[str]) -> tuple[Convo, list[str]]:
    """Add members in 'request' status; those already in the group are left as they are."""
    state = service.state
    convo, _ = owned_convo(state, convo_id, caller)
    require_unlocked(convo)
    wanted = [did for did in dict.fromkeys(members) if did not in convo.members]
    for did in wanted:
        check_invitee(state, caller, did)
    require_room(convo, len(wanted))
    for did in wanted:
        seq = len(convo.messages)
        add_member(state, convo, did, role="standard", status="request", added_by=caller.did, joined_seq=seq)
        log(service, convo, "logBeginConvo", {did})
        data = {"member": referred(did), "role": "standard", "addedBy": referred(caller.did)}
        system_message(service, convo, "systemMessageDataAddMember", data, "logAddMember", convo.everyone())
        mod_events.on_added(service, convo, caller.did, did)
    return convo, wanted


def remove_members(service: Service, caller: Actor, convo_id: str, members: list[str]) -> Convo:
    """Remove members (they may not rejoin by link); non-members in the list are ignored."""
    state = service.state
    convo, _ = owned_convo(state, convo_id, caller)
    if convo.owner in members:
        raise invalid_request("The owner cannot be removed from the group; the owner may leave a locked group")
    for did in dict.fromkeys(members):
        if did not in convo.members:
            continue
        drop_member(state, convo, did)
        convo.kicked.add(did)
        log(service, convo, "logLeaveConvo", {did})
        data = {"member": referred(did), "removedBy": referred(caller.did)}
        system_message(service, convo, "systemMessageDataRemoveMember", data, "logRemoveMember", convo.everyone())
        mod_events.on_left(service, convo, did, caller.did, convo.owner)
    return convo


def edit_group(service: Service, caller: Actor, convo_id: str, name: str) -> Convo:
    """Rename the group (a no-op, with no system message, when the name is unchanged)."""
    convo, _ = owned_convo(service.state, convo_id, caller)
    require_unlocked(convo)
    if name != convo.name:
        data = {"oldName": convo.name, "newName": name}
        convo.name = name
        system_message(service, convo, "systemMessageDataEditGroup", data, "logEditGroup", convo.everyone())
        mod_events.on_updated(service, convo, caller.did, "name_changed", **data)
    return convo


def lock_convo(service: Service, caller: Actor, convo_id: str) -> Convo:
    """Lock the group: no new messages, members, joins, reactions or renames."""
    convo, _ = owned_convo(service.state, convo_id, caller)
    require_unlocked(convo)
    convo.lock_status = "locked"
    data = {"lockedBy": referred(caller.did)}
    system_message(service, convo, "systemMessageDataLockConvo", data, "logLockConvo", convo.everyone())
    mod_events.on_updated(service, convo, caller.did, "locked", lockReason="owner_action")
    return convo


def unlock_convo(service: Service, caller: Actor, convo_id: str) -> Convo:
    """Unlock the group (a no-op when it is not locked)."""
    convo, _ = owned_convo(service.state, convo_id, caller)
    if convo.moderated:
        raise fail("ConvoLockedByModeration", "The group was locked by moderation; its owner cannot unlock it")
    if convo.lock_status == "locked-permanently":
        raise fail("ConvoLocked", "The group is locked permanently and cannot be unlocked")
    if convo.lock_status == "locked":
        convo.lock_status = "unlocked"
        data = {"unlockedBy": referred(caller.did)}
        system_message(service, convo, "systemMessageDataUnlockConvo", data, "logUnlockConvo", convo.everyone())
        mod_events.on_updated(service, convo, caller.did, "unlocked")
    return convo


def leave_convo(service: Service, caller: Actor, convo_id: str) -> tuple[Convo, str]:
    """Leave the group; the owner may leave only a locked group, which is then locked for good."""
    convo, member = member_convo(service.state, convo_id, caller)
    if member.role == "owner" and convo.lock_status == "unlocked" and not convo.moderated and not convo.direct:
        raise fail("OwnerCannotLeave", "The owner can leave the group only after locking it")
    return convo, leave(service, convo, caller.did)


def leave(service: Service, convo: Convo, did: str) -> str:
    """End a membership (no checks): an owner leaving locks the group for good first; a direct
    convo has no system messages, it is simply gone for the leaver, with its history. The rev of
    the leaver's ``logLeaveConvo``."""
    state = service.state
    if convo.direct:
        drop_member(state, convo, did)
        return log(service, convo, "logLeaveConvo", {did}).rev
    owner = convo.owner
    if convo.members[did].role == "owner" and convo.lock_status != "locked-permanently":
        convo.lock_status = "locked-permanently"
        data = {"lockedBy": referred(did)}
        system_message(
            service, convo, "systemMessageDataLockConvoPermanently", data, "logLockConvoPermanently", convo.everyone()
        )
        mod_events.on_updated(service, convo, did, "locked_permanently", lockReason="owner_left")
    drop_member(state, convo, did)
    gone = log(service, convo, "logLeaveConvo", {did})
    data = {"member": referred(did)}
    system_message(service, convo, "systemMessageDataMemberLeave", data, "logMemberLeave", convo.everyone())
    mod_events.on_left(service, convo, did, did, owner)
    return gone.rev


def accept_convo(service: Service, caller: Actor, convo_id: str) -> str | None:
    """Accept a convo; the rev of the change, or None if it was already accepted."""
    convo, member = member_convo(service.state, convo_id, caller)
    if member.status == "accepted":
        return None
    member.status = "accepted"
    rev = log(service, convo, "logAcceptConvo", {caller.did}).rev
    mod_events.on_accepted(service, convo, caller.did, "explicit")
    return rev


def set_muted(service: Service, caller: Actor, convo_id: str, muted: bool) -> Convo:
    """Mute or unmute a convo for the caller."""
    convo, member = member_convo(service.state, convo_id, caller)
    if member.muted != muted:
        member.muted = muted
        log(service, convo, "logMuteConvo" if muted else "logUnmuteConvo", {caller.did})
    return convo


def update_read(service: Service, caller: Actor, convo_id: str, message_id: str | None) -> Convo:
    """Mark the convo read up to a message (default: the latest)."""
    convo, member = member_convo(service.state, convo_id, caller)
    upto: Message | None = None
    if message_id is not None:
        upto = visible_message(convo, member, message_id)
        if upto is None:
            raise invalid_request(f"No message {message_id} in this convo")
    _read(service, convo, member, upto)
    return convo


def _read(service: Service, convo: Convo, member: Member, upto: Message | None) -> None:
    mark_read(convo, member, upto)
    target = upto or (convo.messages[-1] if convo.messages else None)
    if target is not None:
        log(service, convo, "logReadConvo", {member.did}, message_id=target.id)


def update_all_read(service: Service, caller: Actor, status: str | None) -> int:
    """Mark every convo of the caller (optionally only those in ``status``) read; how many changed."""
    state = service.state
    changed = 0
    for convo_id in sorted(state.convos_of(caller.did)):
        convo = state.convos[convo_id]
        member = convo.members[caller.did]
        if status is not None and member.status != status:
            continue
        if member.unread or (convo.messages and member.read_seq < convo.messages[-1].seq):
            _read(service, convo, member, None)
            changed += 1
    return changed


def visible_message(convo: Convo, member: Member, message_id: str) -> Message | None:
    """A message of the convo that ``member`` may see (sent since they joined), or None."""
    message = convo.message_ids.get(message_id)
    if message is None or message.seq < member.joined_seq:
        return None
    return message
