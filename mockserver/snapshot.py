"""The whole state as plain JSON, and back: ``dump(service)`` / ``load(service, data)``.

A dump holds the source data only; indexes (handles, followers, memberships, logs by viewer)
are rebuilt on load, so ``dump(load(dump(s))) == dump(s)`` exactly. A convo's log events name
their audience by index into the convo's ``audiences`` (version 2): most events of a convo go
to the same members, and one list per event made a dump of a million messages ~2 GB; loaded,
events with the same audience share one frozenset again. Version 1 dumps (a list per event)
still load.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from . import consistency
from .clock import checked_offset
from .errors import invalid_request
from .history import add_request
from .ids import tid_counter
from .service import Service
from .state import Actor, Convo, JoinLink, JoinRequest, LogEvent, Member, Message, Reaction, State

Json = dict[str, Any]
VERSION = 2
READABLE = (1, 2)


def _plain(obj: Any) -> Any:
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if hasattr(obj, "__dataclass_fields__"):
        return {f.name: _plain(getattr(obj, f.name)) for f in fields(obj)}
    return obj


def _convo(convo: Convo) -> Json:
    return {
        "id": convo.id,
        "rev": convo.rev,
        "created_at": convo.created_at,
        "name": convo.name,
        "owner": convo.owner,
        "member_limit": convo.member_limit,
        "members": [_plain(m) for m in convo.members.values()],
        "lock_status": convo.lock_status,
        "moderation_lock": convo.moderation_lock,
        "owner_suspended": convo.owner_suspended,
        "link": convo.link.code if convo.link else None,
        "messages": [_plain(m) for m in convo.messages],
        "kicked": sorted(convo.kicked),
        "past_members": dict(sorted(convo.past_members.items())),
        "requests": [_plain(r) for r in convo.requests.values()],
        "request_seq": convo.request_seq,
        "requests_read_seq": convo.requests_read_seq,
        "next_order": convo.next_order,
        "last_reaction": _last_reaction(convo),
        "kind": convo.kind,
        "pair": list(convo.pair),
        **_events(convo),
    }


def _events(convo: Convo) -> Json:
    """The log events, each audience written once per convo and named by its index."""
    index: dict[frozenset[str], int] = {}
    events = []
    for e in convo.events:
        plain = _plain(e)
        plain["audience"] = index.setdefault(e.audience, len(index))
        events.append(plain)
    return {"audiences": [sorted(a) for a in index], "events": events}


def _last_reaction(convo: Convo) -> list[Any] | None:
    if convo.last_reaction is None:
        return None
    message_id, reaction = convo.last_reaction
    index = next(i for i, r in enumerate(convo.message_ids[message_id].reactions) if r is reaction)
    return [message_id, index]


def dump(service: Service) -> Json:
    """The state, the seeded id generator's position and the clock offset, as JSON."""
    state = service.state
    return {
        "version": VERSION,
        "clockOffset": service.clock.offset_seconds(),
        "ids": service.ids.dump(),
        "actors": [_plain(a) for a in state.actors.values()],
        "sessions": dict(state.sessions),
        "links": [_plain(link) for link in state.links.values()],
        "convos": [_convo(c) for c in state.convos.values()],
        "preferences": dict(state.preferences),
    }


SNAKE = [
    "created_at",
    "display_name",
    "allow_incoming",
    "allow_group_invites",
    "new_account",
    "member_limit",
    "lock_status",
    "moderation_lock",
    "owner_suspended",
    "chat_disabled",
    "chat_access_ref",
    "past_members",
    "request_seq",
    "requests_read_seq",
    "next_order",
    "last_reaction",
    "convo_id",
    "join_rule",
    "require_approval",
    "joined_seq",
    "added_by",
    "read_seq",
    "sent_at",
    "reply_to",
    "message_id",
    "requested_at",
]
"""The state's field names that have an underscore (a dump's are snake_case, a snapshot's camelCase)."""
_CAMEL = {name: name.split("_")[0] + "".join(w.title() for w in name.split("_")[1:]) for name in SNAKE}
_SNAKE = {camel: snake for snake, camel in _CAMEL.items()}
_RECORDS = {
    "actors": None,
    "links": None,
    "convos": {"members": None, "messages": {"reactions": None}, "requests": None, "events": {"reaction": None}},
}
"""Where state records sit in a dump, so only their own field names are renamed (never a key
inside message data such as facets, embeds or system data)."""


def readable(data: Json) -> Json:
    """A dump with camelCase field names (the scenario format's style)."""
    return _rename(data, _CAMEL)


def from_readable(data: Json) -> Json:
    """A dump as :func:`load` reads it: camelCase field names back to the state's own."""
    return _rename(data, _SNAKE)


def _rename(data: Json, names: dict[str, str]) -> Json:
    out = dict(data)
    for key, inner in _RECORDS.items():
        if isinstance(out.get(key), list):
            out[key] = [_record(r, names, inner) for r in out[key]]
    return out


def _record(record: Any, names: dict[str, str], inner: dict[str, Any] | None) -> Any:
    if not isinstance(record, dict):
        return record
    out = {names.get(k, k): v for k, v in record.items()}
    for key, nested in (inner or {}).items():
        value = out.get(key)
        if isinstance(value, list):
            out[key] = [_record(v, names, nested) for v in value]
        elif isinstance(value, dict):
            out[key] = _record(value, names, nested)
    return out


def _build(cls: type, data: Json) -> Any:
    unknown = set(data) - {f.name for f in fields(cls)}
    if unknown:
        raise ValueError(f"{cls.__name__} has no field(s) {', '.join(sorted(unknown))}")
    return cls(**data)


def load(service: Service, data: Json, *, record: bool = True) -> None:
    """Replace the state with a dump; a malformed dump is an ``InvalidRequest`` and changes nothing."""
    try:
        data = from_readable(data)  # a snapshot's camelCase names are the state's own
        state = _state(data)
        consistency.check(state)  # every field's type and every reference, before anything changes
        newest = newest_counter(state)
        if "ids" in data:
            service.ids.check(data["ids"])
            if data["ids"]["tidLast"] < newest:
                raise ValueError(
                    "ids.tidLast is behind the newest rev in the dump: new revs would sort before old ones"
                )
        offset = float(data.get("clockOffset", 0))
        checked_offset(offset)  # the clock's own limit, checked before anything changes
    except (KeyError, TypeError, ValueError, AttributeError, StopIteration, IndexError, OverflowError) as e:
        raise invalid_request(f"Not a state dump this server can load: {type(e).__name__}: {e}") from None
    service.state = state
    if "ids" in data:
        service.ids.load(data["ids"])
    else:
        service.ids.catch_up(newest)
    service.clock.set_offset_seconds(offset)
    if record:
        service.started()


def newest_counter(state: State) -> int:
    """The counter of the newest rev a state holds (0 for none)."""
    revs = [convo.rev for convo in state.convos.values()]
    for convo in state.convos.values():
        revs += [m.rev for m in convo.members.values() if m.rev]
        if convo.messages:
            revs.append(convo.messages[-1].rev)
        if convo.event_revs:
            revs.append(convo.event_revs[-1])
    counters = [tid_counter(rev) for rev in revs]
    return max((c for c in counters if c is not None), default=0)


def _state(data: Json) -> State:
    if data.get("version") not in READABLE:
        raise ValueError(f"version must be one of {', '.join(map(str, READABLE))}")
    state = State()
    for raw in data["actors"]:
        actor: Actor = _build(Actor, {**raw, "follows": frozenset(), "blocks": frozenset(raw["blocks"])})
        state.add_actor(actor)
    for raw in data["actors"]:
        state.set_follows(state.actors[raw["did"]], frozenset(raw["follows"]))
    state.sessions = {str(k): str(v) for k, v in data["sessions"].items()}
    for raw in data["links"]:
        link: JoinLink = _build(JoinLink, raw)
        state.links[link.code] = link
    for raw in data["convos"]:
        convo = _convo_from(state, raw)
        if convo.id in state.convos:
            raise ValueError(f"convo id {convo.id!r} appears twice")
        state.convos[convo.id] = convo
        if convo.direct:
            state.directs[frozenset(convo.pair)] = convo.id
    preferences = data.get("preferences", {})
    if not isinstance(preferences, dict):
        raise TypeError("preferences must be an object: DID -> preferences")
    state.preferences = {str(did): dict(p) for did, p in preferences.items()}
    return state


def _whole(value: Any, name: str) -> int:
    """A count as dumped: an integer from 0 to 2^53 (no bool, float or string passes as one)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 2**53:
        raise TypeError(f"{name} must be a whole number from 0 to 2^53, not {value!r}")
    return value


def _past_members(raw: Any) -> dict[str, int]:
    """Past members as saved: DID -> joined_seq (a plain list, from older dumps, means seq 0)."""
    if isinstance(raw, list):
        return dict.fromkeys(raw, 0)
    return {did: _whole(seq, "past_members") for did, seq in raw.items()}


def _convo_from(state: State, raw: Json) -> Convo:
    convo = Convo(
        id=raw["id"],
        rev=raw["rev"],
        created_at=raw["created_at"],
        name=raw["name"],
        owner=raw["owner"],
        member_limit=_whole(raw["member_limit"], "member_limit"),
        lock_status=raw["lock_status"],
        moderation_lock=bool(raw["moderation_lock"]),
        owner_suspended=bool(raw.get("owner_suspended", False)),
        kicked=set(raw["kicked"]),
        past_members=_past_members(raw["past_members"]),
        request_seq=_whole(raw["request_seq"], "request_seq"),
        requests_read_seq=_whole(raw["requests_read_seq"], "requests_read_seq"),
        next_order=_whole(raw["next_order"], "next_order"),
        kind=raw.get("kind", "group"),
        pair=tuple(raw.get("pair", ())),
    )
    convo.link = state.links[raw["link"]] if raw["link"] is not None else None
    for m in raw["members"]:
        member: Member = _build(Member, {**m, "deleted": frozenset(m.get("deleted", ()))})
        convo.members[member.did] = member
        state.member_convos.setdefault(member.did, set()).add(convo.id)
    for m in raw["messages"]:
        reactions = [_build(Reaction, r) for r in m["reactions"]]
        message: Message = _build(Message, {**m, "reactions": reactions or ()})
        convo.messages.append(message)
        convo.message_ids[message.id] = message
    for r in raw["requests"]:
        add_request(state, convo, _build(JoinRequest, r))
    if raw["last_reaction"] is not None:
        message_id, index = raw["last_reaction"]
        convo.last_reaction = (message_id, convo.message_ids[message_id].reactions[index])
    audiences = [frozenset(a) for a in raw.get("audiences", [])]
    shared: dict[frozenset[str], frozenset[str]] = {a: a for a in audiences}
    for e in raw["events"]:
        reaction = _build(Reaction, e["reaction"]) if e.get("reaction") else None
        audience = _audience(e["audience"], audiences, shared)
        event: LogEvent = _build(LogEvent, {**e, "audience": audience, "reaction": reaction})
        convo.events.append(event)
        convo.event_revs.append(event.rev)
    for audience in shared:
        for did in audience:
            state.log_convos.setdefault(did, set()).add(convo.id)
    return convo


def _audience(
    given: Any, audiences: list[frozenset[str]], shared: dict[frozenset[str], frozenset[str]]
) -> frozenset[str]:
    """An event's audience: an index into the convo's audiences, or (version 1) a list of DIDs."""
    if isinstance(given, int) and not isinstance(given, bool):
        if not 0 <= given < len(audiences):
            raise IndexError(f"audience {given} is not an index into the {len(audiences)} audiences")
        return audiences[given]
    if isinstance(given, list) and all(isinstance(did, str) for did in given):
        audience = frozenset(given)
        return shared.setdefault(audience, audience)
    raise TypeError(f"audience must be an index into audiences or a list of DIDs, not {given!r}")


def as_scenario(service: Service, *, exact: bool = False, passwords: bool = True) -> str:
    """The state as a scenario file (YAML): the documented camelCase format, whose ``state`` loads
    back to the same state as every read sees it. The id generator is written as its seed and
    position only (new ids after a load are drawn afresh from them); ``exact=True`` keeps its
    whole internal state, so the ids made after a load are the very ones the original would make.
    ``passwords=False``: every password written as ``***``."""
    import yaml

    from .recording import redact_state

    data = dump(service)
    state = readable(data if passwords else redact_state(data))
    if not exact:
        ids = state["ids"]
        state["ids"] = {"seed": ids["seed"], "tidLast": ids["tidLast"]}
    spec = {
        "description": f"Snapshot of the mock's state at {service.clock.iso()}",
        "state": state,
    }
    text: str = yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, width=120)
    return text


def fetch_snapshot(url: str, admin_token: str | None = None) -> str:
    """``GET /_mock/snapshot`` of a running mock: its state as a scenario file."""
    import asyncio

    import aiohttp

    async def fetch() -> str:
        headers = {"Authorization": f"Bearer {admin_token}"} if admin_token else {}
        async with aiohttp.ClientSession() as http, http.get(f"{url.rstrip('/')}/_mock/snapshot", headers=headers) as r:
            text = await r.text()
            if r.status != 200:
                raise RuntimeError(f"GET /_mock/snapshot answered {r.status}: {text}")
            return text

    return asyncio.run(fetch())
