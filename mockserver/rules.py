"""The group rules shared by several operations: who may see, change and be invited to a convo."""

from __future__ import annotations

from .errors import XrpcError, invalid_request
from .state import Actor, Convo, Member, State


def fail(error: str, message: str) -> XrpcError:
    """A 400 XRPC error with one of the lexicons' error names."""
    return XrpcError(error, message, 400)


def member_convo(state: State, convo_id: str, viewer: Actor) -> tuple[Convo, Member]:
    """The convo and the viewer's membership; ``InvalidConvo`` if either is missing.

    A non-member gets the same answer as for an unknown id, so a group's existence never leaks.
    """
    convo = state.convos.get(convo_id)
    member = convo.members.get(viewer.did) if convo is not None else None
    if convo is None or member is None:
        raise fail("InvalidConvo", "Convo not found")
    return convo, member


def owned_convo(state: State, convo_id: str, viewer: Actor) -> tuple[Convo, Member]:
    """Like :func:`member_convo`, then ``InsufficientRole`` unless the viewer owns it (a direct
    convo has no owner: ``InvalidRequest``)."""
    convo, member = member_convo(state, convo_id, viewer)
    if convo.direct:
        raise invalid_request("This is a direct convo: only a group has an owner, members to manage, a lock and links")
    if member.role != "owner":
        raise fail("InsufficientRole", "Only the group's owner can do this")
    return convo, member


def require_unlocked(convo: Convo) -> None:
    """``ConvoLocked`` for a locked group (by its owner, permanently, or by moderation)."""
    if convo.locked:
        how = "by moderation" if convo.moderated else convo.lock_status.replace("-", " ")
        raise fail("ConvoLocked", f"The group is locked ({how})")


def reachable(state: State, caller: Actor, did: str, purpose: str) -> Actor:
    """The account ``did`` if the caller can reach it, else the first of the errors a group
    invite and a new direct chat share: ``RecipientNotFound`` (none, or gone), ``BlockedActor``
    (it blocked the caller: checked first, as the app explains it), ``BlockedSubject``."""
    other = state.actors.get(did)
    if other is None or other.gone:
        raise fail("RecipientNotFound", f"No account {did} {purpose}")
    if other.blocks_did(caller.did):
        raise fail("BlockedActor", f"{other.handle} has blocked you")
    if caller.blocks_did(did):
        raise fail("BlockedSubject", f"You have blocked {other.handle}")
    return other


def check_invitee(state: State, inviter: Actor, did: str) -> Actor:
    """Whether ``inviter`` may put ``did`` in a group; the invitee, or the first rule it breaks."""
    invitee = reachable(state, inviter, did, "to add")
    if invitee.group_invites == "none":
        raise fail("UserForbidsGroups", f"{invitee.handle} does not accept group invites")
    if invitee.group_invites == "following" and not invitee.follows_did(inviter.did):
        raise fail("NotFollowedBySender", f"{invitee.handle} takes group invites only from accounts they follow")
    return invitee


BLOCKED = "block between recipient and sender"
"""The text the official app matches (``handleSendMessageFailure``) for a send refused by a block."""


def check_recipient(state: State, caller: Actor, did: str, *, new_convo: bool) -> Actor:
    """Whether ``caller`` may chat directly with ``did``: the recipient, or the first rule it breaks
    (the errors of getConvoForMembers). A convo that exists already is not refused for the
    recipient's declaration: it applies to new convos only."""
    other = reachable(state, caller, did, "to chat with")
    if new_convo and other.incoming == "none":
        raise fail("MessagesDisabled", f"{other.handle} does not take direct messages")
    if new_convo and other.incoming == "following" and not other.follows_did(caller.did):
        raise fail("NotFollowedBySender", f"{other.handle} takes direct messages only from accounts they follow")
    return other


def check_direct_send(state: State, caller: Actor, convo: Convo) -> None:
    """Whether ``caller`` may send into a direct convo now, with the messages the official app
    matches on (sendMessage lists no error names for these: each is an ``InvalidRequest``)."""
    other_did = next((did for did in convo.pair if did != caller.did), None)
    other = state.actors.get(other_did or "")
    if other is None or other.gone:
        raise invalid_request("recipient does not exist")
    if other.blocks_did(caller.did) or caller.blocks_did(other.did):
        raise invalid_request(BLOCKED)
    theirs = convo.members.get(other.did)
    if theirs is None or theirs.status == "request":  # they have not taken the convo: their rules hold
        if other.incoming == "none":
            raise invalid_request("recipient has disabled incoming messages")
        if other.incoming == "following" and not other.follows_did(caller.did):
            raise invalid_request("recipient requires incoming messages to come from someone they follow")


def require_room(convo: Convo, adding: int) -> None:
    """``MemberLimitReached`` if ``adding`` more members would pass the group's limit."""
    if len(convo.members) + adding > convo.member_limit:
        free = max(convo.member_limit - len(convo.members), 0)
        raise fail(
            "MemberLimitReached",
            f"The group has {len(convo.members)} of {convo.member_limit} members; {free} place(s) left",
        )
