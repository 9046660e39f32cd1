"""Chat views (state -> lexicon JSON), rendered for one viewer. Every union member has its $type."""

from __future__ import annotations

from itertools import islice
from typing import Any

from .profiles import profile_view_basic
from .service import Service
from .state import Actor, Convo, JoinLink, JoinRequest, LogEvent, Member, Message, State

Json = dict[str, Any]
CONVO = "chat.bsky.convo.defs"
ACTOR = "chat.bsky.actor.defs"
GROUP = "chat.bsky.group.defs"
IMPORTANT_FIRST = 5
"""How many of the first members a group convoView lists (besides the other important ones)."""
JOIN_REQUEST_COUNT_CAP = 21
VIEWS_KEPT = 20_000
"""Profile views kept between answers (about 1 KB each); past it they are all made again."""


def profile_basic(
    state: State, did: str, viewer: Actor | None, convo: Convo | None = None, plain: dict[str, Json] | None = None
) -> Json:
    """``chat.bsky.actor.defs#profileViewBasic``; with ``convo``, the member ``kind`` too.

    ``plain`` collects the views without ``kind`` made while building one answer, so an account
    that added many members is rendered once.
    """
    if convo is None and plain is not None and did in plain:
        return plain[did]
    actor = state.actors.get(did)
    if actor is None:
        return {"did": did, "handle": "handle.invalid"}
    view: Json = {**_plain_profile(state, actor, viewer)}  # its own: a member's kind goes in it
    if convo is not None and not convo.direct:
        member = convo.members.get(did)
        if member is not None:
            kind: Json = {"$type": f"{ACTOR}#groupConvoMember", "role": member.role}
            if member.added_by is not None:
                kind["addedBy"] = profile_basic(state, member.added_by, viewer, None, plain)
            view["kind"] = kind
        else:
            view["kind"] = {"$type": f"{ACTOR}#pastGroupConvoMember"}
    elif plain is not None:
        plain[did] = view
    return view


def _plain_profile(state: State, actor: Actor, viewer: Actor | None) -> Json:
    """``profileViewBasic`` and ``chatDisabled``: rendered once until either account changes
    (each change stamps it; see ``Actor.stamp``). Shared between answers: never changed in place."""
    key = (actor.did, viewer.did if viewer is not None else None)
    stamps = (actor.stamp, viewer.stamp if viewer is not None else 0)
    kept = state.views.get(key)
    if kept is not None and kept[0] == stamps:
        return kept[1]
    view = {**profile_view_basic(actor, viewer), "chatDisabled": actor.status != "active" or actor.chat_disabled}
    if len(state.views) >= VIEWS_KEPT:
        state.views.clear()
    state.views[key] = (stamps, view)
    return view


def join_link_view(link: JoinLink) -> Json:
    """``chat.bsky.group.defs#joinLinkView``."""
    return {
        "code": link.code,
        "enabledStatus": "enabled" if link.enabled else "disabled",
        "requireApproval": link.require_approval,
        "joinRule": link.join_rule,
        "createdAt": link.created_at,
    }


def _important(convo: Convo, member: Member) -> list[str]:
    """The members a convoView lists: the first few, the viewer, who added them, the last sender and reactor.

    Only current members: someone who left is not listed even if they sent the last message.
    """
    dids = list(islice(convo.members, IMPORTANT_FIRST))
    dids.append(member.did)
    if member.added_by:
        dids.append(member.added_by)
    if convo.messages and convo.messages[-1].sender:
        dids.append(convo.messages[-1].sender)
    if convo.last_reaction is not None:
        dids.append(convo.last_reaction[1].sender)
    return [did for did in dict.fromkeys(dids) if did in convo.members]


def convo_view(service: Service, convo: Convo, viewer: Actor, *, previews: bool = True) -> Json:
    """``chat.bsky.convo.defs#convoView`` of a group, for one of its members.

    Its ``rev`` is the later of the convo's shared rev and the viewer's own (read, mute, accept):
    a member's private changes show in that member's views only. ``previews=False`` renders join
    link embeds without their ``convo`` (a preview inside a convo inside a preview would recurse).
    """
    state = service.state
    member = convo.members[viewer.did]
    plain: dict[str, Json] = {}
    if convo.direct:
        return _direct_view(service, convo, viewer, member, previews)
    kind: Json = {
        "$type": f"{CONVO}#groupConvo",
        "createdAt": convo.created_at,
        "name": convo.name,
        "memberCount": len(convo.members),
        "memberLimit": convo.member_limit,
        "lockStatus": convo.effective_lock_status,
        "lockStatusModerationOverride": convo.moderated,
    }
    if convo.link is not None:
        kind["joinLink"] = join_link_view(convo.link)
    if member.role == "owner":
        # omitted when zero, as the real service does ("collapse to undefined when empty")
        if convo.requests:
            kind["joinRequestCount"] = min(len(convo.requests), JOIN_REQUEST_COUNT_CAP)
        if unread_requests(convo):
            kind["unreadJoinRequestCount"] = unread_requests(convo)
    view: Json = {
        "id": convo.id,
        "rev": max(convo.rev, member.rev),
        "members": [profile_basic(state, did, viewer, convo, plain) for did in _important(convo, member)],
        "muted": member.muted,
        "status": member.status,
        "unreadCount": member.unread,
        "kind": kind,
    }
    _last(service, convo, viewer, member, previews, view)
    return view


def _direct_view(service: Service, convo: Convo, viewer: Actor, member: Member, previews: bool) -> Json:
    """A direct convo's ``convoView``: its two members, always (``#directConvo`` has no fields)."""
    view: Json = {
        "id": convo.id,
        "rev": max(convo.rev, member.rev),
        "members": [profile_basic(service.state, did, viewer) for did in convo.pair],
        "muted": member.muted,
        "status": member.status,
        "unreadCount": member.unread,
        "kind": {"$type": f"{CONVO}#directConvo"},
    }
    _last(service, convo, viewer, member, previews, view)
    return view


def _last(service: Service, convo: Convo, viewer: Actor, member: Member, previews: bool, view: Json) -> None:
    """``lastMessage`` and ``lastReaction`` of a convoView, as the viewer may see them."""
    if len(convo.messages) > member.joined_seq:
        view["lastMessage"] = any_message_view(service, convo, convo.messages[-1], viewer, previews=previews)
    if convo.last_reaction is not None and convo.message_ids[convo.last_reaction[0]].seq >= member.joined_seq:
        message_id, reaction = convo.last_reaction
        if not deleted_for(convo, convo.message_ids[message_id], viewer):
            view["lastReaction"] = {
                "$type": f"{CONVO}#messageAndReactionView",
                "message": message_view(service, convo, convo.message_ids[message_id], viewer, previews=previews),
                "reaction": reaction_view(reaction),
            }


def unread_requests(convo: Convo) -> int:
    """Pending join requests the owner has not marked read."""
    return convo.unread_requests


def is_unread(convo: Convo, member: Member) -> bool:
    """Whether a convo counts as unread for a member: messages they have not read, or (for the
    owner) join requests they have not seen, as getUnreadCounts and ``readState=unread`` both say."""
    return member.unread > 0 or (member.role == "owner" and unread_requests(convo) > 0)


def reaction_view(reaction: Any) -> Json:
    """``reactionView``."""
    return {"value": reaction.value, "sender": {"did": reaction.sender}, "createdAt": reaction.created_at}


def message_view(
    service: Service,
    convo: Convo,
    message: Message,
    viewer: Actor | None,
    *,
    nested: bool = False,
    previews: bool = True,
) -> Json:
    """``messageView`` of a user message, with its ``$type``, rendered for ``viewer``.

    The parent of a reply is embedded one level deep; a parent sent before the viewer (last)
    joined shows as ``messageBeforeUserJoinedGroupView``. A join link embed carries the preview
    as the viewer sees it (their convo, their request, the owner's follow of them). ``viewer``
    None: as a moderator sees it, whoever joined when and deleted what.
    """
    view: Json = {
        "$type": f"{CONVO}#messageView",
        "id": message.id,
        "rev": message.rev,
        "text": message.text,
        "sender": {"did": message.sender},
        "sentAt": message.sent_at,
    }
    if message.facets is not None:
        view["facets"] = message.facets
    if message.embed is not None:
        view["embed"] = embed_view(service, message.embed, viewer, previews=previews)
    if message.reactions:
        view["reactions"] = [reaction_view(r) for r in message.reactions]
    if message.reply_to is not None and not nested:
        parent = convo.message_ids.get(message.reply_to)
        if parent is None:
            pass
        elif viewer is None:
            view["replyTo"] = message_view(service, convo, parent, None, nested=True, previews=previews)
        elif parent.seq < viewer_since(convo, viewer.did):
            view["replyTo"] = {"$type": f"{CONVO}#messageBeforeUserJoinedGroupView"}
        elif deleted_for(convo, parent, viewer):
            view["replyTo"] = deleted_message_view(parent)
        else:
            view["replyTo"] = message_view(service, convo, parent, viewer, nested=True, previews=previews)
    return view


def system_message_view(message: Message) -> Json:
    """``systemMessageView``, with its ``$type`` (the official app renders only what has it)."""
    assert message.system is not None
    return {
        "$type": f"{CONVO}#systemMessageView",
        "id": message.id,
        "rev": message.rev,
        "sentAt": message.sent_at,
        "data": dict(message.system),
    }


def any_message_view(service: Service, convo: Convo, message: Message, viewer: Actor, *, previews: bool = True) -> Json:
    """A message as a union member, with its $type: ``systemMessageView``, ``messageView``, or
    ``deletedMessageView`` for one the viewer deleted for themselves."""
    if message.system is not None:
        return system_message_view(message)
    if deleted_for(convo, message, viewer):
        return deleted_message_view(message)
    return message_view(service, convo, message, viewer, previews=previews)


def deleted_for(convo: Convo, message: Message, viewer: Actor) -> bool:
    """Whether the viewer sees this message as deleted: they deleted it for themselves, or its
    sender deleted their chat account."""
    if message.removed:
        return True
    member = convo.members.get(viewer.did)
    return member is not None and message.id in member.deleted


def deleted_message_view(message: Message) -> Json:
    """``deletedMessageView``: who sent it and when, nothing of what it said."""
    return {
        "$type": f"{CONVO}#deletedMessageView",
        "id": message.id,
        "rev": message.rev,
        "sender": {"did": message.sender},
        "sentAt": message.sent_at,
    }


def embed_view(service: Service, embed: Json, viewer: Actor | None, *, previews: bool = True) -> Json:
    """The view of a message embed: a join link with its live preview for ``viewer``, or a record
    reference."""
    if embed.get("$type") == "chat.bsky.embed.joinLink":
        shown = preview(service.state, embed["code"], viewer, service if previews else None)
        return {"$type": "chat.bsky.embed.joinLink#view", "joinLinkPreview": shown}
    uri = (embed.get("record") or {}).get("uri", "")
    return {
        "$type": "app.bsky.embed.record#view",
        "record": {"$type": "app.bsky.embed.record#viewNotFound", "uri": uri, "notFound": True},
    }


def preview(state: State, code: str, viewer: Actor | None, service: Service | None = None) -> Json:
    """One join link preview: live, disabled or invalid, with its $type.

    For a signed-in viewer: ``convo`` when they are a member (only with ``service``; left out
    inside another preview), ``viewer.requestedAt`` when they asked to join, and the owner's
    profile with the viewer's follow state (``followedBy`` decides a followedByOwner link).
    """
    link = state.links.get(code)
    if link is None:
        return {"$type": f"{GROUP}#invalidJoinLinkPreviewView", "code": code}
    convo = state.convos[link.convo_id]
    if not link.enabled or convo.link is not link:
        return {"$type": f"{GROUP}#disabledJoinLinkPreviewView", "code": code}
    view: Json = {
        "$type": f"{GROUP}#joinLinkPreviewView",
        "convoId": convo.id,
        "code": code,
        "name": convo.name,
        "owner": profile_basic(state, convo.owner, viewer),
        "memberCount": len(convo.members),
        "memberLimit": convo.member_limit,
        "requireApproval": link.require_approval,
        "joinRule": link.join_rule,
    }
    if viewer is not None:
        if service is not None and viewer.did in convo.members:
            view["convo"] = convo_view(service, convo, viewer, previews=False)
        request = convo.requests.get(viewer.did)
        view["viewer"] = {"requestedAt": request.requested_at} if request else {}
    return view


def join_request_view(state: State, request: JoinRequest, viewer: Actor) -> Json:
    """``joinRequestView``: a request as the owner sees it."""
    return {
        "convoId": request.convo_id,
        "requestedBy": profile_basic(state, request.did, viewer),
        "requestedAt": request.requested_at,
    }


def join_request_convo_view(state: State, request: JoinRequest, viewer: Actor) -> Json:
    """``joinRequestConvoView``: the requester's own pending request, with group context."""
    convo = state.convos[request.convo_id]
    return {
        "$type": f"{GROUP}#joinRequestConvoView",
        "convoId": convo.id,
        "name": convo.name,
        "owner": profile_basic(state, convo.owner, viewer),
        "memberCount": len(convo.members),
        "memberLimit": convo.member_limit,
        "viewer": {"requestedAt": request.requested_at},
    }


def referred_dids(convo: Convo, message: Message, since: int) -> list[str]:
    """Every DID a message's view refers to: sender, reactors, the sender of a reply's parent (when
    the viewer may see it) and users named by a system message."""
    dids: list[str] = []
    if message.sender:
        dids.append(message.sender)
    dids.extend(r.sender for r in message.reactions)
    if message.reply_to is not None:
        parent = convo.message_ids.get(message.reply_to)
        if parent is not None and parent.seq >= since and parent.sender:
            dids.append(parent.sender)
    for value in (message.system or {}).values():
        if isinstance(value, dict) and "did" in value:
            dids.append(value["did"])
    return dids


def related_profiles(
    state: State, convo: Convo, messages: list[Message], viewer: Actor, since: int, extra: list[str] | None = None
) -> list[Json]:
    """Profiles of everyone the messages (and ``extra``) refer to, each once, with their member kind."""
    dids: dict[str, None] = dict.fromkeys(extra or [])
    for message in messages:
        dids.update(dict.fromkeys(referred_dids(convo, message, since)))
    return [profile_basic(state, did, viewer, convo) for did in dids]


def viewer_since(convo: Convo, did: str) -> int:
    """Seq of the first message ``did`` may see: from their (last) joining, for members and past members."""
    member = convo.members.get(did)
    if member is not None:
        return member.joined_seq
    return convo.past_members.get(did, 0)


def log_view(service: Service, event: LogEvent, viewer: Actor) -> Json:
    """One getLog entry for ``viewer``; every message in it carries its ``$type``."""
    state = service.state
    convo = state.convos[event.convo_id]
    since = viewer_since(convo, viewer.did)
    view: Json = {"$type": f"{CONVO}#{event.kind}", "rev": event.rev, "convoId": event.convo_id}
    if event.message_id is not None:
        message = convo.message_ids[event.message_id]
        view["message"] = any_message_view(service, convo, message, viewer)
        if event.kind in ("logReadConvo", "logReadMessage"):
            pass
        elif message.system is not None:
            if event.kind != "logEditGroup" and not event.kind.endswith("JoinLink"):
                view["relatedProfiles"] = related_profiles(state, convo, [message], viewer, since)
        else:
            extra = [event.reaction.sender] if event.reaction is not None else []
            view["relatedProfiles"] = related_profiles(state, convo, [message], viewer, since, extra)
    if event.reaction is not None:
        view["reaction"] = reaction_view(event.reaction)
    if event.subject is not None:
        view["member"] = profile_basic(state, event.subject, viewer)
    return view
