"""The group rules shared by several operations: who may see, change and be invited to a convo."""

from __future__ import annotations

from .errors import XrpcError
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
    """Like :func:`member_convo`, then ``InsufficientRole`` unless the viewer owns it."""
    convo, member = member_convo(state, convo_id, viewer)
    if member.role != "owner":
        raise fail("InsufficientRole", "Only the group's owner can do this")
    return convo, member


def require_unlocked(convo: Convo) -> None:
    """``ConvoLocked`` for a locked group (by its owner, permanently, or by moderation)."""
    if convo.locked:
        how = "by moderation" if convo.moderation_lock else convo.lock_status.replace("-", " ")
        raise fail("ConvoLocked", f"The group is locked ({how})")


def check_invitee(state: State, inviter: Actor, did: str) -> Actor:
    """Whether ``inviter`` may put ``did`` in a group; the invitee, or the first rule it breaks."""
    invitee = state.actors.get(did)
    if invitee is None or invitee.status in ("deactivated", "takendown"):
        raise fail("RecipientNotFound", f"No account {did} to add")
    if invitee.blocks_did(inviter.did):
        raise fail("BlockedActor", f"{invitee.handle} has blocked you")
    if inviter.blocks_did(did):
        raise fail("BlockedSubject", f"You have blocked {invitee.handle}")
    if invitee.group_invites == "none":
        raise fail("UserForbidsGroups", f"{invitee.handle} does not accept group invites")
    if invitee.group_invites == "following" and not invitee.follows_did(inviter.did):
        raise fail("NotFollowedBySender", f"{invitee.handle} takes group invites only from accounts they follow")
    return invitee


def require_room(convo: Convo, adding: int) -> None:
    """``MemberLimitReached`` if ``adding`` more members would pass the group's limit."""
    if len(convo.members) + adding > convo.member_limit:
        free = max(convo.member_limit - len(convo.members), 0)
        raise fail(
            "MemberLimitReached",
            f"The group has {len(convo.members)} of {convo.member_limit} members; {free} place(s) left",
        )
