"""``chat.bsky.moderation``: convos as a moderator sees them, message context, an account's
activity figures, chat access, and moderation locks. Plain functions over the state; the
events they cause go through :mod:`mod_events`.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from . import mod_events
from .chat_views import JOIN_REQUEST_COUNT_CAP, join_link_view, profile_basic, system_message_view
from .chat_views import message_view as chat_message_view
from .errors import XrpcError, invalid_request
from .service import Service
from .state import Actor, Convo, Message

Json = dict[str, Any]
MOD = "chat.bsky.moderation.defs"
WINDOWS = {"day": timedelta(days=1), "month": timedelta(days=30), "all": None}
ACCESS_LOCK = "owner_suspended"
"""The lock reason of the groups an account owns while its chat access is removed."""
TAKEDOWN_LOCK = "convo_taken_down"
"""The lock reason of a moderation lock set from the admin API."""


def convo_of(service: Service, convo_id: str) -> Convo:
    """The convo, or the lexicon's ``InvalidConvo``."""
    convo = service.state.convos.get(convo_id)
    if convo is None:
        raise XrpcError("InvalidConvo", "Convo not found")
    return convo


def convo_view(convo: Convo) -> Json:
    """``chat.bsky.moderation.defs#convoView``: no viewer, no members."""
    if convo.direct:
        return {"id": convo.id, "rev": convo.rev, "kind": {"$type": f"{MOD}#directConvo"}}
    kind: Json = {
        "$type": f"{MOD}#groupConvo",
        "createdAt": convo.created_at,
        "name": convo.name,
        "memberCount": len(convo.members),
        "memberLimit": convo.member_limit,
        "lockStatus": convo.effective_lock_status,
        "joinRequestCount": min(len(convo.requests), JOIN_REQUEST_COUNT_CAP),
    }
    if convo.link is not None:
        kind["joinLink"] = join_link_view(convo.link)
    return {"id": convo.id, "rev": convo.rev, "kind": kind}


def members(service: Service, convo: Convo, after: int | None, limit: int) -> tuple[list[Json], int | None]:
    """A page of members in join order (a direct convo: its two accounts), and the last order shown
    when there are more."""
    state = service.state
    # a direct convo: its two accounts, numbered in the order the convo was made with them
    members = [(m.order, m.did) for m in convo.members.values()]
    order = list(enumerate(convo.pair)) if convo.direct else members
    rows = [(n, did) for n, did in order if after is None or n > after]
    page = rows[:limit]
    more = page[-1][0] if len(rows) > len(page) else None
    return [profile_basic(state, did, None, convo) for _, did in page], more


def message_view(service: Service, convo: Convo, message: Message) -> Json:
    """A message as a moderator sees it: whatever its members deleted for themselves, and whoever
    has left since, it is all there."""
    if message.system is not None:
        return system_message_view(message)
    return chat_message_view(service, convo, message, None)


def message_context(
    service: Service, convo_id: str | None, message_id: str, before: int, after: int, cap: int
) -> list[Json]:
    """``getMessageContext``: up to ``before`` user messages before the target and ``after`` after
    it, the system messages between consecutive ones (at most ``cap`` a gap, those nearest the
    earlier message), or, on a side with no user message at all, up to ``cap`` system messages
    next to the target."""
    if before < 0 or after < 0:
        raise invalid_request("before and after must be 0 or more")
    convo, target = _find(service, convo_id, message_id)
    rows = convo.messages
    earlier = [m.seq for m in reversed(rows[: target.seq]) if m.system is None][:before]
    later = [m.seq for m in rows[target.seq + 1 :] if m.system is None][:after]
    anchors = sorted([*earlier, target.seq, *later])
    chosen = set(anchors)
    for first, second in itertools.pairwise(anchors):
        gap = [seq for seq in range(first + 1, second) if rows[seq].system is not None]
        chosen.update(gap[:cap])
    if not any(m.system is None for m in rows[: target.seq]):  # no user message on that side at all
        chosen.update(_system_run(rows[: target.seq][::-1], cap))
    if not any(m.system is None for m in rows[target.seq + 1 :]):
        chosen.update(_system_run(rows[target.seq + 1 :], cap))
    return [message_view(service, convo, rows[seq]) for seq in sorted(chosen)]


def _system_run(rows: list[Message], cap: int) -> list[int]:
    """The first ``cap`` system messages of ``rows`` (a side with no user messages is all system)."""
    return [m.seq for m in rows if m.system is not None][:cap]


def _find(service: Service, convo_id: str | None, message_id: str) -> tuple[Convo, Message]:
    convos = [service.state.convos.get(convo_id)] if convo_id is not None else list(service.state.convos.values())
    for convo in convos:
        if convo is not None and message_id in convo.message_ids:
            return convo, convo.message_ids[message_id]
    where = f" in convo {convo_id}" if convo_id is not None else ""
    raise invalid_request(f"Message not found: no message {message_id!r}{where}")


def actor_metadata(service: Service, did: str) -> Json:
    """``getActorMetadata``: messages sent and received, convos with activity, and convos started,
    in the last day, the last 30 days, and ever, on the server's clock."""
    now = service.clock.now()
    out: Json = {}
    for name, span in WINDOWS.items():
        out[name] = _figures(service, did, now - span if span is not None else None)
    return out


def _figures(service: Service, did: str, since: datetime | None) -> Json:
    sent = received = 0
    active: set[str] = set()
    started = 0
    for convo in service.state.convos.values():
        seen = did in convo.members or did in convo.past_members or did in convo.pair
        if not seen:
            continue
        starter = convo.owner if not convo.direct else (convo.pair[0] if convo.pair else "")
        if starter == did and _after(convo.created_at, since):
            started += 1
        joined = convo.members[did].joined_seq if did in convo.members else convo.past_members.get(did, 0)
        left = _left_at(convo, did)
        for message in convo.messages[joined:]:
            if left is not None and message.rev > left:
                break  # sent after they left: not theirs to receive
            if message.system is not None or not _after(message.sent_at, since):
                continue
            if message.sender == did:
                sent += 1
                active.add(convo.id)
            else:
                received += 1
                active.add(convo.id)
    return {"messagesSent": sent, "messagesReceived": received, "convos": len(active), "convosStarted": started}


def _left_at(convo: Convo, did: str) -> str | None:
    """The rev at which a past member last left (None for a member)."""
    if did in convo.members:
        return None
    revs = [e.rev for e in convo.events if e.kind == "logLeaveConvo" and did in e.audience]
    return revs[-1] if revs else None


def _after(stamp: str, since: datetime | None) -> bool:
    """Whether a stored timestamp is at or after ``since`` (None: the beginning of time)."""
    return since is None or datetime.fromisoformat(stamp.replace("Z", "+00:00")) >= since


def update_access(service: Service, actor: Actor, allow: bool, ref: str | None) -> None:
    """Remove or restore an account's chat access. Without it the account cannot chat (as a
    suspended one), and the groups it owns are locked by moderation (``owner_suspended``) until
    it is restored; a takedown of one of them stays whatever happens to its owner."""
    actor.chat_disabled = not allow
    actor.chat_access_ref = ref
    for convo_id in sorted(service.state.convos_of(actor.did)):
        convo = service.state.convos[convo_id]
        if not convo.direct and convo.owner == actor.did:
            _moderate(service, convo, suspended=not allow)


def take_down(service: Service, convo: Convo, locked: bool) -> None:
    """The admin API's moderation lock (``convo_taken_down``), set or lifted."""
    _moderate(service, convo, taken_down=locked)


def _moderate(service: Service, convo: Convo, *, taken_down: bool | None = None, suspended: bool | None = None) -> None:
    """Change one of the two reasons for a moderation lock; an event when the lock itself changes."""
    before = convo.moderated
    if taken_down is not None:
        convo.moderation_lock = taken_down
    if suspended is not None:
        convo.owner_suspended = suspended
    if convo.moderated == before or convo.direct:
        return
    if convo.moderated:
        reason = TAKEDOWN_LOCK if taken_down else ACCESS_LOCK
        mod_events.on_updated(service, convo, convo.owner, "locked", lockReason=reason)
    else:
        mod_events.on_updated(service, convo, convo.owner, "unlocked")
