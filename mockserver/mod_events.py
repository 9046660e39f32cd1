"""Moderation events (``chat.bsky.moderation.subscribeModEvents``): what the chat operations tell
moderation tools, kept in order and handed to every live subscriber.

The operations call the ``on_*`` functions below as they change the state. Each event carries a
rev of the stream's own (13 sortable base32 characters, like a TID, growing by one per event and
never going back, across resets too), and a subscriber's cursor is such a rev. The backfill holds
the events since the state was last replaced (a reset, a scenario or state load empty it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .ids import SORTABLE_B32, sortable_text

if TYPE_CHECKING:
    from .service import Service
    from .state import Convo

Json = dict[str, Any]
NSID = "chat.bsky.moderation.subscribeModEvents"
MAX_KEPT = 100_000
"""Events kept for backfill; the oldest go first (a cursor before them backfills from the oldest)."""


def rev_text(seq: int) -> str:
    """Event number ``seq`` as a rev: 13 sortable base32 characters (0 is ``2222222222222``)."""
    return sortable_text(seq)


def is_rev(text: str) -> bool:
    """Whether ``text`` has a rev's shape."""
    return len(text) == 13 and all(ch in SORTABLE_B32 for ch in text)


@dataclass
class ModEvent:
    """One event: its union member (``eventGroupChatCreated``, ...) and its body."""

    kind: str
    body: Json

    @property
    def rev(self) -> str:
        return str(self.body["rev"])


@dataclass
class ModStream:
    """The events so far, and the subscribers to hand new ones to."""

    events: list[ModEvent] = field(default_factory=list)
    subscribers: set[Callable[[ModEvent], None]] = field(default_factory=set)
    seq: int = 0
    """How many events were ever emitted (kept across resets: revs never go back)."""
    backlog: int = 10_000
    """Events a subscriber may fall behind before it is cut off (``ConsumerTooSlow``)."""

    def clear(self) -> None:
        """Forget the backfill (the state was replaced); subscribers stay and get what comes next,
        and revs go on growing, so a cursor from before still means 'after that'."""
        self.events = []

    def after(self, cursor: str) -> list[ModEvent]:
        """The events after ``cursor`` (a rev), oldest first."""
        return [e for e in self.events if e.rev > cursor]


def emit(service: Service, kind: str, body: Json) -> None:
    """Add an event at the stream's next rev and hand it out."""
    stream = service.mod_stream
    stream.seq += 1
    event = ModEvent(kind, {**body, "rev": rev_text(stream.seq), "createdAt": service.clock.iso()})
    stream.events.append(event)
    if len(stream.events) > MAX_KEPT:
        del stream.events[: len(stream.events) - MAX_KEPT]
    for deliver in list(stream.subscribers):
        deliver(event)


def _group(service: Service, convo: Convo, actor: str, owner: str | None = None) -> Json:
    """The fields every group event has."""
    return {
        "actorDid": actor,
        "convoCreatedAt": convo.created_at,
        "convoId": convo.id,
        "groupMemberCount": len(convo.members),
        "groupName": convo.name,
        "ownerDid": owner or convo.owner,
    }


def _follows_owner(service: Service, convo: Convo, did: str) -> bool:
    actor = service.state.actors.get(did)
    return actor is not None and bool(convo.owner) and actor.follows_did(convo.owner)


def on_created(service: Service, convo: Convo, members: list[str]) -> None:
    """A group was created with ``members`` besides its owner."""
    body = {**_group(service, convo, convo.owner), "initialMemberDids": list(members)}
    emit(service, "eventGroupChatCreated", body)


def on_added(service: Service, convo: Convo, by: str, did: str) -> None:
    """``by`` added ``did`` (in request status)."""
    body = {
        **_group(service, convo, by),
        "subjectDid": did,
        "subjectFollowsOwner": _follows_owner(service, convo, did),
        "requestMembersCount": sum(1 for m in convo.members.values() if m.status == "request"),
    }
    emit(service, "eventGroupChatMemberAdded", body)


def on_joined(service: Service, convo: Convo, did: str, code: str) -> None:
    """``did`` joined through the link ``code`` (no approval needed)."""
    body = {
        **_group(service, convo, did),
        "joinLinkCode": code,
        "subjectFollowsOwner": _follows_owner(service, convo, did),
    }
    emit(service, "eventGroupChatMemberJoined", body)


def on_join_request(service: Service, convo: Convo, did: str, code: str) -> None:
    """``did`` asked to join through the link ``code``."""
    body = {
        **_group(service, convo, did),
        "joinLinkCode": code,
        "subjectFollowsOwner": _follows_owner(service, convo, did),
    }
    emit(service, "eventGroupChatJoinRequest", body)


def on_request_decided(service: Service, convo: Convo, by: str, did: str, approved: bool) -> None:
    """The owner approved or rejected ``did``'s request."""
    kind = "eventGroupChatJoinRequestApproved" if approved else "eventGroupChatJoinRequestRejected"
    emit(service, kind, {**_group(service, convo, by), "subjectDid": did})


def on_accepted(service: Service, convo: Convo, did: str, method: str) -> None:
    """``did`` accepted the convo (``explicit``, or by sending a ``message``)."""
    body: Json = {"actorDid": did, "convoCreatedAt": convo.created_at, "convoId": convo.id, "method": method}
    if not convo.direct:
        body.update(groupMemberCount=len(convo.members), groupName=convo.name)
        if convo.owner:
            body["ownerDid"] = convo.owner
    emit(service, "eventChatAccepted", body)


def on_left(service: Service, convo: Convo, did: str, by: str, owner: str) -> None:
    """``did`` left (``by`` themselves) or was removed (``by`` the owner); ``owner`` as it was."""
    if not owner:
        return  # a group whose owner left: it has no owner to name
    body = {
        **_group(service, convo, by, owner),
        "subjectDid": did,
        "leaveMethod": "voluntary" if by == did else "kicked",
    }
    emit(service, "eventGroupChatMemberLeft", body)


def on_updated(service: Service, convo: Convo, by: str, update: str, **extra: Any) -> None:
    """A group change: ``name_changed`` (``oldName``, ``newName``), ``locked`` (``lockReason``),
    ``locked_permanently``, ``unlocked``, ``join_link_*`` (the link's settings)."""
    owner = convo.owner or by
    if not owner:
        return
    body = {**_group(service, convo, by, owner), "updateType": update, **extra}
    if update.startswith("join_link") and convo.link is not None:
        body.update(
            joinLinkCode=convo.link.code,
            joinLinkFollowersOnly=convo.link.join_rule == "followedByOwner",
            joinLinkRequiresApproval=convo.link.require_approval,
        )
    emit(service, "eventGroupChatUpdated", body)


def on_first_message(service: Service, convo: Convo, sender: str, message_id: str) -> None:
    """The first user message of a convo."""
    recipients = [did for did in convo.members if did != sender]
    body = {"convoId": convo.id, "messageId": message_id, "user": sender, "recipients": recipients}
    emit(service, "eventConvoFirstMessage", body)


def on_rate_limited(service: Service, did: str, nsid: str) -> None:
    """A call was refused with 429 (in the mock: a fault rule that answers 429)."""
    emit(service, "eventRateLimitExceeded", {"actorDid": did, "endpoint": nsid})
