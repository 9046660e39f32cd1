"""``chat.bsky.convo``: the calls a group client lives on. Thin handlers over the operations."""

from __future__ import annotations

from bisect import bisect_left
from typing import Any

from .. import cursors, directs, groups, messages
from ..chat_views import (
    any_message_view,
    convo_view,
    deleted_message_view,
    is_unread,
    join_request_convo_view,
    log_view,
    message_view,
    profile_basic,
    related_profiles,
)
from ..directs import shown_to
from ..listing import log_events, page_by_activity
from ..rules import member_convo
from ..state import Convo, JoinRequest, Message
from ..xrpc import Call, method

Json = dict[str, Any]
COUNT_CAP = 100


def _convo_id(call: Call) -> str:
    source = call.input if call.input is not None else call.params
    return str(source["convoId"])


@method("chat.bsky.convo.getConvo")
def get_convo(call: Call) -> Json:
    convo, _ = member_convo(call.service.state, _convo_id(call), call.actor)
    return {"convo": convo_view(call.service, convo, call.actor)}


@method("chat.bsky.convo.listConvos")
def list_convos(call: Call) -> Json:
    state = call.service.state
    p = call.params
    found = []
    for convo_id in state.convos_of(call.actor.did):
        convo = state.convos[convo_id]
        member = convo.members[call.actor.did]
        if not shown_to(convo, member):
            continue
        if p.get("kind") is not None and convo.kind != p["kind"]:
            continue
        if p.get("status") is not None and member.status != p["status"]:
            continue
        if p.get("lockStatus") is not None and convo.effective_lock_status != p["lockStatus"]:
            continue
        if p.get("readState") == "unread" and not is_unread(convo, member):
            continue
        found.append(convo)
    page, cursor = page_by_activity(found, p.get("cursor"), p["limit"])
    out: Json = {"convos": [convo_view(call.service, c, call.actor) for c in page]}
    if cursor:
        out["cursor"] = cursor
    return out


@method("chat.bsky.convo.listConvoRequests")
def list_convo_requests(call: Call) -> Json:
    state = call.service.state
    did = call.actor.did
    items: list[tuple[str, str, Convo | JoinRequest]] = []
    for convo_id in state.convos_of(did):
        convo = state.convos[convo_id]
        member = convo.members[did]
        if member.status == "request" and shown_to(convo, member):
            items.append((convo.rev, convo.id, convo))
    for convo_id, request in state.outgoing_requests.get(did, {}).items():
        items.append((state.convos[convo_id].rev, convo_id, request))
    items.sort(key=lambda item: (item[0], item[1]), reverse=True)
    after = cursors.decode_rev_id(call.params.get("cursor"))
    if after is not None:
        items = [item for item in items if (item[0], item[1]) < after]
    page = items[: call.params["limit"]]
    views: list[Json] = []
    for _, _, obj in page:
        if isinstance(obj, Convo):
            views.append({"$type": "chat.bsky.convo.defs#convoView", **convo_view(call.service, obj, call.actor)})
        else:
            views.append(join_request_convo_view(state, obj, call.actor))
    out: Json = {"requests": views}
    if len(items) > len(page):
        out["cursor"] = cursors.encode_rev_id(page[-1][0], page[-1][1])
    return out


@method("chat.bsky.convo.getConvoForMembers", acts=True, writes=True)
def get_convo_for_members(call: Call) -> Json:
    convo = directs.convo_for_members(call.service, call.actor, call.params["members"])
    return {"convo": convo_view(call.service, convo, call.actor)}


@method("chat.bsky.convo.getConvoAvailability")
def get_convo_availability(call: Call) -> Json:
    can_chat, convo = directs.available(call.service.state, call.actor, call.params["members"])
    out: Json = {"canChat": can_chat}
    if convo is not None and call.actor.did in convo.members:
        out["convo"] = convo_view(call.service, convo, call.actor)
    return out


@method("chat.bsky.convo.getConvoMembers")
def get_convo_members(call: Call) -> Json:
    state = call.service.state
    convo, _ = member_convo(state, _convo_id(call), call.actor)
    if convo.direct:  # its two members, always, as its convoView lists them
        return {"members": [profile_basic(state, did, call.actor, convo) for did in convo.pair]}
    after = cursors.decode_int(call.params.get("cursor"))
    members = [m for m in convo.members.values() if after is None or m.order > after]
    page = members[: call.params["limit"]]
    out: Json = {"members": [profile_basic(state, m.did, call.actor, convo) for m in page]}
    if len(members) > len(page):
        out["cursor"] = cursors.encode(str(page[-1].order))
    return out


@method("chat.bsky.convo.getMessages")
def get_messages(call: Call) -> Json:
    state = call.service.state
    convo, member = member_convo(state, _convo_id(call), call.actor)
    before = cursors.rev(call.params.get("cursor")) or None  # an empty cursor is no cursor: the latest page
    end = len(convo.messages) if before is None else bisect_left(convo.messages, before, key=_rev)
    start = max(member.joined_seq, end - call.params["limit"])
    rows = convo.messages[start:end][::-1]
    page = [m for m in rows if m.id not in member.deleted]  # deleted for the viewer: left out, as the real service does
    out: Json = {
        "messages": [any_message_view(call.service, convo, m, call.actor) for m in page],
        "relatedProfiles": related_profiles(state, convo, page, call.actor, member.joined_seq),
    }
    if start > member.joined_seq:
        out["cursor"] = rows[-1].rev  # pages go by rows: a short page may still have more before it
    return out


def _rev(message: Message) -> str:
    return message.rev


@method("chat.bsky.convo.sendMessage", acts=True)
def send_message(call: Call) -> Json:
    assert call.input is not None
    convo, posted = messages.send_message(call.service, call.actor, call.input["convoId"], call.input["message"])
    return message_view(call.service, convo, posted, call.actor)


@method("chat.bsky.convo.sendMessageBatch", acts=True)
def send_message_batch(call: Call) -> Json:
    assert call.input is not None
    sent = messages.send_batch(call.service, call.actor, call.input["items"])
    return {"items": [message_view(call.service, convo, posted, call.actor) for convo, posted in sent]}


@method("chat.bsky.convo.deleteMessageForSelf")
def delete_message_for_self(call: Call) -> Json:
    assert call.input is not None
    i = call.input
    _, message = messages.delete_for_self(call.service, call.actor, i["convoId"], i["messageId"])
    return deleted_message_view(message)


@method("chat.bsky.convo.getLog")
def get_log(call: Call) -> Json:
    service = call.service
    events, cursor = log_events(service.state, call.actor.did, call.params.get("cursor"), service.ids.head())
    return {"logs": [log_view(service, e, call.actor) for e in events], "cursor": cursor}


@method("chat.bsky.convo.acceptConvo", acts=True)
def accept_convo(call: Call) -> Json:
    rev = groups.accept_convo(call.service, call.actor, _convo_id(call))
    return {"rev": rev} if rev else {}


@method("chat.bsky.convo.leaveConvo")
def leave_convo(call: Call) -> Json:
    convo, rev = groups.leave_convo(call.service, call.actor, _convo_id(call))
    return {"convoId": convo.id, "rev": rev}


@method("chat.bsky.convo.lockConvo", acts=True)
def lock_convo(call: Call) -> Json:
    convo = groups.lock_convo(call.service, call.actor, _convo_id(call))
    return {"convo": convo_view(call.service, convo, call.actor)}


@method("chat.bsky.convo.unlockConvo", acts=True)
def unlock_convo(call: Call) -> Json:
    convo = groups.unlock_convo(call.service, call.actor, _convo_id(call))
    return {"convo": convo_view(call.service, convo, call.actor)}


@method("chat.bsky.convo.muteConvo")
def mute_convo(call: Call) -> Json:
    convo = groups.set_muted(call.service, call.actor, _convo_id(call), True)
    return {"convo": convo_view(call.service, convo, call.actor)}


@method("chat.bsky.convo.unmuteConvo")
def unmute_convo(call: Call) -> Json:
    convo = groups.set_muted(call.service, call.actor, _convo_id(call), False)
    return {"convo": convo_view(call.service, convo, call.actor)}


@method("chat.bsky.convo.updateRead")
def update_read(call: Call) -> Json:
    assert call.input is not None
    convo = groups.update_read(call.service, call.actor, call.input["convoId"], call.input.get("messageId"))
    return {"convo": convo_view(call.service, convo, call.actor)}


@method("chat.bsky.convo.updateAllRead")
def update_all_read(call: Call) -> Json:
    status = (call.input or {}).get("status")
    return {"updatedCount": groups.update_all_read(call.service, call.actor, status)}


@method("chat.bsky.convo.getUnreadCounts")
def get_unread_counts(call: Call) -> Json:
    state = call.service.state
    did = call.actor.did
    counts = {"accepted": 0, "request": 0}
    for convo_id in state.convos_of(did):
        convo = state.convos[convo_id]
        member = convo.members[did]
        if convo.locked or member.muted or not shown_to(convo, member):
            continue
        if convo.direct and not directs.reachable(state, convo, call.actor):
            continue  # a block either way, or the other account gone: the lexicon leaves it out
        if not convo.direct and not call.params["includeGroupChats"]:
            continue
        if is_unread(convo, member):
            counts[member.status] += 1
    return {
        "unreadAcceptedConvos": min(counts["accepted"], COUNT_CAP),
        "unreadRequestConvos": min(counts["request"], COUNT_CAP),
    }


@method("chat.bsky.convo.addReaction", acts=True)
def add_reaction(call: Call) -> Json:
    assert call.input is not None
    i = call.input
    convo, message = messages.add_reaction(call.service, call.actor, i["convoId"], i["messageId"], i["value"])
    return {"message": message_view(call.service, convo, message, call.actor)}


@method("chat.bsky.convo.removeReaction", acts=True)
def remove_reaction(call: Call) -> Json:
    assert call.input is not None
    i = call.input
    convo, message = messages.remove_reaction(call.service, call.actor, i["convoId"], i["messageId"], i["value"])
    return {"message": message_view(call.service, convo, message, call.actor)}
