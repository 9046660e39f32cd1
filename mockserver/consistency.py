"""Is a state whole? Types of every stored field and every reference between records.

A state built from a dump (``PUT /_mock/state``, a snapshot scenario, a recording's start line)
is checked here before it replaces the server's state, so every read that follows can render
it: a field of the wrong type or a reference to nothing is a ``ValueError`` naming the place,
never a 500 later. States made by the mock's own operations pass by construction.
"""

from __future__ import annotations

import types
import typing
from dataclasses import fields, is_dataclass
from typing import Any

from .lexicons import Lexicons, bundled
from .state import ACCOUNT_STATUSES, DECLARATION_VALUES, JOIN_RULES, LOCK_STATUSES, Convo, State
from .xrpc import MAX_DEPTH, too_deep

LOG_KINDS = frozenset(
    {
        "logBeginConvo", "logAcceptConvo", "logLeaveConvo", "logMuteConvo", "logUnmuteConvo",
        "logCreateMessage", "logDeleteMessage", "logReadMessage", "logAddReaction", "logRemoveReaction",
        "logReadConvo", "logAddMember", "logRemoveMember", "logMemberJoin", "logMemberLeave",
        "logLockConvo", "logUnlockConvo", "logLockConvoPermanently", "logEditGroup",
        "logCreateJoinLink", "logEditJoinLink", "logEnableJoinLink", "logDisableJoinLink",
        "logIncomingJoinRequest", "logApproveJoinRequest", "logRejectJoinRequest", "logOutgoingJoinRequest",
        "logWithdrawIncomingJoinRequest", "logWithdrawOutgoingJoinRequest", "logReadJoinRequests",
    }
)  # fmt: skip
"""The getLog union's members (``chat.bsky.convo.getLog``)."""
MESSAGE_DATA_DEPTH = MAX_DEPTH
"""A stored message's facets and embed nest no deeper than an XRPC body could have sent them."""


def check(state: State) -> None:
    """Raise ``ValueError`` naming the first field of the wrong type or reference to nothing, or
    the first value the lexicons would refuse in a view of it (a name, a text, a date, an embed)."""
    lex = bundled()
    for did, actor in state.actors.items():
        _fields(actor, f"actor {did!r}")
        where = f"actor {did!r}"
        if not lex.check_format(did, "did") or actor.did != did:
            raise ValueError(f"{where}: not a DID")
        if not lex.check_format(actor.handle, "handle") or actor.handle != actor.handle.lower():
            raise ValueError(f"{where}: handle {actor.handle!r} is not a lower-case handle")
        if state.handles.get(actor.handle) != did:
            raise ValueError(f"{where}: handle {actor.handle!r} belongs to another actor too")
        _date(lex, actor.created_at, f"{where} created_at")
        problem = lex.def_problem(
            "app.bsky.actor.defs#profileViewBasic",
            {
                "did": did,
                "handle": actor.handle,
                "displayName": actor.display_name,
                **({"avatar": actor.avatar} if actor.avatar else {}),
            },
        )
        if problem:
            raise ValueError(f"{where}: {problem}")
        _one_of(actor.status, ACCOUNT_STATUSES, f"actor {did!r} status")
        _one_of(actor.allow_incoming, (*DECLARATION_VALUES, None), f"actor {did!r} allow_incoming")
        _one_of(actor.allow_group_invites, (*DECLARATION_VALUES, None), f"actor {did!r} allow_group_invites")
        if actor.allow_incoming is None and actor.allow_group_invites is not None:
            raise ValueError(f"actor {did!r}: allow_group_invites needs a declaration (allow_incoming)")
    for did, preferences in state.preferences.items():
        if did not in state.actors or not isinstance(preferences, dict):
            raise ValueError(f"preferences of {did!r}: not an actor's, or not an object")
    for jti, did in state.sessions.items():
        if did not in state.actors:
            raise ValueError(f"session {jti!r} belongs to no actor ({did!r})")
    for code, link in state.links.items():
        _fields(link, f"link {code!r}")
        _one_of(link.join_rule, JOIN_RULES, f"link {code!r} join_rule")
        _date(lex, link.created_at, f"link {code!r} created_at")
        if link.code != code:
            raise ValueError(f"link {code!r}: its code is {link.code!r}")
        if link.convo_id not in state.convos or state.convos[link.convo_id].direct:
            raise ValueError(f"link {code!r} is for no group ({link.convo_id!r})")
    for convo_id, convo in state.convos.items():
        _convo(state, convo_id, convo)
        _content(state, lex, convo_id, convo)


def _date(lex: Lexicons, value: Any, where: str) -> None:
    if not isinstance(value, str) or not lex.check_format(value, "datetime"):
        raise ValueError(f"{where}: {value!r} is not a datetime")


def _content(state: State, lex: Lexicons, convo_id: str, convo: Convo) -> None:
    """What the views of a convo will show must fit the lexicons, and every event must have what
    its kind needs."""
    where = f"convo {convo_id!r}"
    _date(lex, convo.created_at, f"{where} created_at")
    if not convo.direct:
        problem = lex.def_problem(
            "chat.bsky.convo.defs#groupConvo",
            {
                "createdAt": convo.created_at,
                "name": convo.name,
                "memberCount": len(convo.members),
                "memberLimit": convo.member_limit,
                "lockStatus": convo.lock_status,
                "lockStatusModerationOverride": convo.moderated,
            },
        )
        if problem:
            raise ValueError(f"{where}: {problem}")
        owners = [did for did, m in convo.members.items() if m.role == "owner"]
        if owners not in ([convo.owner], []) or (not owners and convo.owner in convo.members):
            raise ValueError(f"{where}: its owner {convo.owner!r} and its members' roles disagree")
        for part, dids in (
            ("kicked", convo.kicked),
            ("past_members", convo.past_members),
            ("requests", convo.requests),
        ):
            if any(did in convo.members for did in dids):
                raise ValueError(f"{where}: a current member is also in {part}")
            if any(did not in state.actors for did in dids):
                raise ValueError(f"{where}: {part} names an account that is no actor")
        if convo.link is not None and convo.link.convo_id != convo.id:
            raise ValueError(f"{where}: its link belongs to convo {convo.link.convo_id!r}")
    for did, member in convo.members.items():
        if member.unread < 0 or member.order < 0 or (member.order >= max(convo.next_order, 1) and not convo.direct):
            raise ValueError(f"{where} member {did!r}: unread or order out of range")
    for i, message in enumerate(convo.messages):
        at = f"{where} message {i}"
        _date(lex, message.sent_at, f"{at} sent_at")
        if message.system is not None:
            view: dict[str, Any] = {
                "id": message.id,
                "rev": message.rev,
                "sentAt": message.sent_at,
                "data": message.system,
            }
            problem = lex.def_problem("chat.bsky.convo.defs#systemMessageView", view)
        else:
            given: dict[str, Any] = {"text": message.text}
            if message.facets is not None:
                given["facets"] = message.facets
            if message.embed is not None:
                given["embed"] = message.embed
            problem = lex.def_problem("chat.bsky.convo.defs#messageInput", given)
            if problem is None and message.reply_to is not None:
                parent = convo.message_ids.get(message.reply_to)
                if parent is not None and (parent.system is not None or parent.seq >= message.seq):
                    problem = "it replies to a system message or to a later one"
        if problem:
            raise ValueError(f"{at}: {problem}")
        for reaction in message.reactions:
            _date(lex, reaction.created_at, f"{at} reaction created_at")
    for request in convo.requests.values():
        _date(lex, request.requested_at, f"{where} join request requested_at")
    for i, event in enumerate(convo.events):
        at = f"{where} log event {i}"
        needs = set(lex.required(f"chat.bsky.convo.defs#{event.kind}")) if event.kind in LOG_KINDS else set()
        if "message" in needs and event.message_id is None:
            raise ValueError(f"{at}: a {event.kind} needs a message")
        if "member" in needs and event.subject is None:
            raise ValueError(f"{at}: a {event.kind} needs a member")
        if "reaction" in needs and event.reaction is None:
            raise ValueError(f"{at}: a {event.kind} needs a reaction")
        if any(did not in state.actors for did in event.audience):
            raise ValueError(f"{at}: its audience names an account that is no actor")


def _convo(state: State, convo_id: str, convo: Convo) -> None:
    where = f"convo {convo_id!r}"
    _fields(convo, where, skip=("members", "messages", "message_ids", "requests", "events", "event_revs", "link"))
    _one_of(convo.lock_status, LOCK_STATUSES, f"{where} lock_status")
    _one_of(convo.kind, ("group", "direct"), f"{where} kind")
    if convo.direct:
        if len(convo.pair) != 2 or len(set(convo.pair)) != 2 or not all(did in state.actors for did in convo.pair):
            raise ValueError(f"{where}: a direct convo is between two actors, not {convo.pair!r}")
        if not set(convo.members) <= set(convo.pair) or state.directs.get(frozenset(convo.pair)) != convo.id:
            raise ValueError(f"{where}: its members are not its pair, or another convo has the same pair")
    elif convo.owner and convo.owner not in state.actors:
        raise ValueError(f"{where}: its owner {convo.owner!r} is no actor")
    if convo.link is not None and state.links.get(convo.link.code) is not convo.link:
        raise ValueError(f"{where}: its link is not among the links")
    for did, member in convo.members.items():
        _fields(member, f"{where} member {did!r}")
        if did not in state.actors:
            raise ValueError(f"{where}: member {did!r} is no actor")
        _one_of(member.role, ("owner", "standard"), f"{where} member {did!r} role")
        _one_of(member.status, ("request", "accepted"), f"{where} member {did!r} status")
        if not 0 <= member.joined_seq <= len(convo.messages):
            raise ValueError(f"{where} member {did!r}: joined_seq {member.joined_seq} is outside the history")
        if not member.joined_seq - 1 <= member.read_seq < max(len(convo.messages), member.joined_seq):
            raise ValueError(f"{where} member {did!r}: read_seq {member.read_seq} is outside the history")
        if not all(isinstance(m, str) and m in convo.message_ids for m in member.deleted):
            raise ValueError(f"{where} member {did!r}: deleted names a message that is not in the convo")
        if member.added_by is not None and member.added_by not in state.actors:
            raise ValueError(f"{where} member {did!r}: added_by {member.added_by!r} is no actor")
    for did, seq in convo.past_members.items():
        if not isinstance(did, str) or not isinstance(seq, int) or not 0 <= seq <= len(convo.messages):
            raise ValueError(f"{where}: past member {did!r} has joined_seq {seq!r} outside the history")
    for i, message in enumerate(convo.messages):
        at = f"{where} message {i}"
        _fields(message, at, skip=("reactions",))
        if message.seq != i or convo.message_ids.get(message.id) is not message:
            raise ValueError(f"{at}: seq or id out of place")
        if (message.sender is None) == (message.system is None):
            raise ValueError(f"{at}: a message has a sender or system data, not both or neither")
        if message.sender is not None and message.sender not in state.actors:
            raise ValueError(f"{at}: sender {message.sender!r} is no actor")
        if message.system is not None and not isinstance(message.system.get("$type"), str):
            raise ValueError(f"{at}: system data without a $type")
        if message.embed is not None and not isinstance(message.embed.get("$type"), str):
            raise ValueError(f"{at}: an embed without a $type")
        if too_deep([message.facets, message.embed, message.system], MESSAGE_DATA_DEPTH):
            raise ValueError(f"{at}: its data nests deeper than {MESSAGE_DATA_DEPTH - 1} levels")
        for j, reaction in enumerate(message.reactions):
            _fields(reaction, f"{at} reaction {j}")
    if convo.last_reaction is not None and convo.last_reaction[0] not in convo.message_ids:
        raise ValueError(f"{where}: last_reaction is on no message")
    for did, request in convo.requests.items():
        _fields(request, f"{where} join request {did!r}")
        if request.convo_id != convo.id or request.did != did or did not in state.actors:
            raise ValueError(f"{where}: join request {did!r} does not belong here")
    if convo.event_revs != sorted(convo.event_revs):
        raise ValueError(f"{where}: log events are not in rev order")
    for i, event in enumerate(convo.events):
        at = f"{where} log event {i}"
        _fields(event, at, skip=("audience", "reaction"))
        if event.kind not in LOG_KINDS:
            raise ValueError(f"{at}: kind {event.kind!r} is not a getLog event")
        if event.convo_id != convo.id:
            raise ValueError(f"{at}: it belongs to convo {event.convo_id!r}")
        if event.message_id is not None and event.message_id not in convo.message_ids:
            raise ValueError(f"{at}: message {event.message_id!r} is not in the convo")
        if event.subject is not None and event.subject not in state.actors:
            raise ValueError(f"{at}: member {event.subject!r} is no actor")
        if not all(isinstance(did, str) for did in event.audience):
            raise ValueError(f"{at}: its audience holds something other than DIDs")
        if event.reaction is not None:
            _fields(event.reaction, f"{at} reaction")


def _one_of(value: Any, allowed: tuple[Any, ...], where: str) -> None:
    if value not in allowed:
        raise ValueError(f"{where} must be one of {', '.join(map(repr, allowed))}, not {value!r}")


def _fields(obj: Any, where: str, skip: tuple[str, ...] = ()) -> None:
    """Every field of a state record has the type its class declares."""
    for name, expected in _hints(type(obj)).items():
        if name in skip or name.startswith("_"):
            continue
        value = getattr(obj, name)
        if not _is(value, expected):
            raise ValueError(f"{where}: {name} must be {_show(expected)}, not {value!r}"[:300])


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    """A state class's field types, evaluated once."""
    if cls not in _HINTS:
        assert is_dataclass(cls)
        hints = typing.get_type_hints(cls)
        _HINTS[cls] = {f.name: hints[f.name] for f in fields(cls)}
    return _HINTS[cls]


def _is(value: Any, expected: Any) -> bool:
    origin = typing.get_origin(expected)
    if expected is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_is(value, arm) for arm in typing.get_args(expected))
    if expected is type(None):
        return value is None
    if origin is None:
        if expected is int:
            return isinstance(value, int) and not isinstance(value, bool)
        return isinstance(value, expected) if isinstance(expected, type) else True
    args = typing.get_args(expected)
    if not isinstance(value, origin):
        return False
    if origin in (list, set, frozenset) and args:
        return all(_is(item, args[0]) for item in value)
    if origin is dict and args:
        return all(_is(k, args[0]) and _is(v, args[1]) for k, v in value.items())
    if origin is tuple:
        return True
    return True


def _show(expected: Any) -> str:
    return getattr(expected, "__name__", None) or str(expected).replace("typing.", "")
