"""``chat.bsky.group``: thin handlers over the group and join link operations."""

from __future__ import annotations

from typing import Any

from .. import cursors, groups, joinlinks
from ..chat_views import convo_view, join_link_view, join_request_view, preview, profile_basic
from ..listing import page_by_activity
from ..rules import owned_convo
from ..xrpc import Call, method

Json = dict[str, Any]


@method("chat.bsky.group.createGroup", acts=True)
def create_group(call: Call) -> Json:
    assert call.input is not None
    convo = groups.create_group(call.service, call.actor, call.input["name"], call.input["members"])
    return {"convo": convo_view(call.service, convo, call.actor)}


@method("chat.bsky.group.addMembers", acts=True)
def add_members(call: Call) -> Json:
    assert call.input is not None
    convo, added = groups.add_members(call.service, call.actor, call.input["convoId"], call.input["members"])
    state = call.service.state
    return {
        "convo": convo_view(call.service, convo, call.actor),
        "addedMembers": [profile_basic(state, did, call.actor, convo) for did in added],
    }


@method("chat.bsky.group.removeMembers", acts=True)
def remove_members(call: Call) -> Json:
    assert call.input is not None
    convo = groups.remove_members(call.service, call.actor, call.input["convoId"], call.input["members"])
    return {"convo": convo_view(call.service, convo, call.actor)}


@method("chat.bsky.group.editGroup", acts=True)
def edit_group(call: Call) -> Json:
    assert call.input is not None
    convo = groups.edit_group(call.service, call.actor, call.input["convoId"], call.input["name"])
    return {"convo": convo_view(call.service, convo, call.actor)}


@method("chat.bsky.group.createJoinLink", acts=True)
def create_join_link(call: Call) -> Json:
    assert call.input is not None
    link = joinlinks.create_link(
        call.service,
        call.actor,
        call.input["convoId"],
        call.input["joinRule"],
        call.input.get("requireApproval", False),
    )
    return {"joinLink": join_link_view(link)}


@method("chat.bsky.group.editJoinLink", acts=True)
def edit_join_link(call: Call) -> Json:
    assert call.input is not None
    link = joinlinks.edit_link(
        call.service,
        call.actor,
        call.input["convoId"],
        call.input.get("joinRule"),
        call.input.get("requireApproval"),
    )
    return {"joinLink": join_link_view(link)}


@method("chat.bsky.group.enableJoinLink", acts=True)
def enable_join_link(call: Call) -> Json:
    assert call.input is not None
    return {"joinLink": join_link_view(joinlinks.enable_link(call.service, call.actor, call.input["convoId"]))}


@method("chat.bsky.group.disableJoinLink", acts=True)
def disable_join_link(call: Call) -> Json:
    assert call.input is not None
    return {"joinLink": join_link_view(joinlinks.disable_link(call.service, call.actor, call.input["convoId"]))}


@method("chat.bsky.group.getJoinLinkPreviews", auth="optional")
def get_join_link_previews(call: Call) -> Json:
    state = call.service.state
    return {"joinLinkPreviews": [preview(state, code, call.viewer, call.service) for code in call.params["codes"]]}


@method("chat.bsky.group.requestJoin", acts=True)
def request_join(call: Call) -> Json:
    assert call.input is not None
    status, convo = joinlinks.request_join(call.service, call.actor, call.input["code"])
    if status == "joined":
        return {"status": status, "convo": convo_view(call.service, convo, call.actor)}
    return {"status": status}


@method("chat.bsky.group.withdrawJoinRequest")
def withdraw_join_request(call: Call) -> Json:
    assert call.input is not None
    joinlinks.withdraw_request(call.service, call.actor, call.input["convoId"])
    return {}


@method("chat.bsky.group.listJoinRequests")
def list_join_requests(call: Call) -> Json:
    state = call.service.state
    convo, _ = owned_convo(state, call.params["convoId"], call.actor)
    after = cursors.decode_int(call.params.get("cursor"))
    pending = sorted(convo.requests.values(), key=lambda r: r.seq)
    if after is not None:
        pending = [r for r in pending if r.seq > after]
    page = pending[: call.params["limit"]]
    out: Json = {"requests": [join_request_view(state, r, call.actor) for r in page]}
    if len(pending) > len(page):
        out["cursor"] = cursors.encode(str(page[-1].seq))
    return out


@method("chat.bsky.group.approveJoinRequest", acts=True)
def approve_join_request(call: Call) -> Json:
    assert call.input is not None
    convo = joinlinks.approve_request(call.service, call.actor, call.input["convoId"], call.input["member"])
    return {"convo": convo_view(call.service, convo, call.actor)}


@method("chat.bsky.group.rejectJoinRequest", acts=True)
def reject_join_request(call: Call) -> Json:
    assert call.input is not None
    joinlinks.reject_request(call.service, call.actor, call.input["convoId"], call.input["member"])
    return {}


@method("chat.bsky.group.updateJoinRequestsRead")
def update_join_requests_read(call: Call) -> Json:
    assert call.input is not None
    joinlinks.mark_requests_read(call.service, call.actor, call.input["convoId"])
    return {}


@method("chat.bsky.group.listMutualGroups")
def list_mutual_groups(call: Call) -> Json:
    state = call.service.state
    mine = state.convos_of(call.actor.did)
    theirs = state.convos_of(call.params["subject"])
    shared = [state.convos[cid] for cid in mine & theirs if not state.convos[cid].direct]
    page, cursor = page_by_activity(shared, call.params.get("cursor"), call.params["limit"])
    out: Json = {"convos": [convo_view(call.service, c, call.actor) for c in page]}
    if cursor:
        out["cursor"] = cursor
    return out
