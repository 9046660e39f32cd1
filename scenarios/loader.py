"""Loading a checked scenario into a running service, all or nothing."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from mockserver import consistency
from mockserver.accounts import create_actor
from mockserver.clock import parse_iso
from mockserver.history import add_member, add_request, append_message, log, new_rev, note_user_message
from mockserver.service import Service
from mockserver.state import Actor, Convo, JoinLink, JoinRequest, Reaction, State

from .model import ScenarioError, ScenarioSource, check, is_cached, member_key, seconds

Json = dict[str, Any]
DEFAULT_PASSWORD = "password"
_CONTENT_OK: set[int] = set()
"""ids of kept scenario specs whose loaded state passed the consistency check once."""


@dataclass
class LoadedActor:
    """An account a scenario made: how to log in as it."""

    did: str
    handle: str
    password: str


@dataclass
class LoadedScenario:
    """What a scenario made, by the keys the file uses."""

    name: str
    description: str = ""
    actors: dict[str, LoadedActor] = field(default_factory=dict)
    convos: dict[str, str] = field(default_factory=dict)
    """Group key -> convo id."""
    codes: dict[str, str] = field(default_factory=dict)
    """Group key -> join link code."""

    def to_json(self) -> Json:
        """The admin API's form."""
        return {
            "name": self.name,
            "description": self.description,
            "actors": {k: vars(a) for k, a in self.actors.items()},
            "convos": dict(self.convos),
            "codes": dict(self.codes),
        }


def from_replay(path: str, accounts: dict[str, str], summary: str) -> LoadedScenario:
    """What replaying a recording made, as a loaded scenario: its accounts by handle (their
    password after a replay is ``password``)."""
    name = Path(path).name.rsplit(".", 1)[0]
    actors = {handle.split(".")[0]: LoadedActor(did, handle, DEFAULT_PASSWORD) for handle, did in accounts.items()}
    return LoadedScenario(name, summary, actors)


def load(service: Service, scenario: ScenarioSource, *, checked: bool = False) -> LoadedScenario:
    """Check a scenario and replace the service's state with it; on any error nothing changes.

    ``checked=True`` skips the check for a scenario that passed it already (a reset to it). The
    ids come from the scenario's seed, else the server's, else (an unseeded server) one drawn at
    the first load and kept with the scenario, so a reset to it makes the same ids again.
    """
    if not checked:
        check(scenario.spec, scenario.source)
    saved = (service.state, service.ids.dump(), service.clock.offset_seconds(), list(service.faults.rules))
    try:
        loaded = _build(service, scenario)
    except Exception as e:
        service.state, ids, offset, rules = saved
        service.ids.load(ids)
        service.clock.set_offset_seconds(offset)
        service.faults.rules = rules
        if isinstance(e, ScenarioError):
            raise
        raise ScenarioError(scenario.source, [f"(top): {e}"]) from e
    service.scenario = scenario
    service.loaded = loaded
    service.reloader = lambda: load(service, scenario, checked=True)
    service.started(scenario.name)
    return loaded


class _Clock:
    """Stops the service clock at the times the scenario names, so a load is exact."""

    def __init__(self, service: Service, now: datetime) -> None:
        self.service = service
        self.now = now

    def at(self, ago: str | None) -> None:
        when = self.now - timedelta(seconds=seconds(ago)) if ago else self.now
        self.service.clock.pin(when)


def _build(service: Service, scenario: ScenarioSource) -> LoadedScenario:
    spec = scenario.spec
    # a scenario without a seed gets the server's own, not the one a scenario loaded before set
    seed = spec.get("seed", service.config.seed)
    if seed is None:
        if scenario.drawn_seed is None:
            scenario.drawn_seed = secrets.randbits(64)
        seed = scenario.drawn_seed
    service.ids.seed = seed
    service.ids.reset()
    if "clock" in spec:
        base = parse_iso(spec["clock"])
        service.clock.set(base)
    else:  # a load starts from a known clock: real (or frozen) time, whatever moved it before
        service.clock.reset()
        base = service.clock.now()
    clock = _Clock(service, base)
    clock.at(None)
    try:
        loaded = _fill(service, scenario, clock)
        if "state" not in scenario.spec and id(scenario.spec) not in _CONTENT_OK:
            consistency.check(service.state)  # what the views will show fits the lexicons, as for a dump
            if is_cached(scenario.spec):  # the same file makes the same content: checked once is enough
                _CONTENT_OK.add(id(scenario.spec))
        return loaded
    finally:
        service.clock.pin(None)


def _fill(service: Service, scenario: ScenarioSource, clock: _Clock) -> LoadedScenario:
    spec = scenario.spec
    if "state" in spec:
        return _exact(service, scenario)
    service.state = state = State()
    loaded = LoadedScenario(scenario.name, spec.get("description", ""))
    actors: dict[str, Actor] = {}
    for key, raw in spec.get("actors", {}).items():
        fields = {k: v for k, v in raw.items() if k not in ("follows", "blocks")}
        fields.setdefault("handle", f"{key}.test")
        fields.setdefault("password", DEFAULT_PASSWORD)
        actor = create_actor(state, service.ids, service.clock, service.lexicons, fields)
        actors[key] = actor
        loaded.actors[key] = LoadedActor(actor.did, actor.handle, actor.password)
    for key, raw in spec.get("actors", {}).items():
        state.set_follows(actors[key], {actors[k].did for k in raw.get("follows", [])})
        actors[key].blocks = frozenset(actors[k].did for k in raw.get("blocks", []))
    for key, raw in spec.get("groups", {}).items():
        convo = _group(service, clock, actors, raw, spec.get("memberLimit"))
        loaded.convos[key] = convo.id
        if convo.link is not None:
            loaded.codes[key] = convo.link.code
    directs = spec.get("directs", {})
    for key in sorted(directs, key=lambda k: -_latest(directs[k])):  # revs follow time: an inbox in order
        loaded.convos[key] = _direct(service, clock, actors, directs[key]).id
    clock.at(None)
    service.faults.clear()
    for raw in spec.get("faults", []):
        fault = dict(raw)
        if fault.get("actor") in actors:
            fault["actor"] = actors[fault["actor"]].did
        service.faults.add(fault)
    return loaded


def _exact(service: Service, scenario: ScenarioSource) -> LoadedScenario:
    from mockserver import snapshot
    from mockserver.errors import XrpcError

    service.clock.pin(None)
    try:
        snapshot.load(service, scenario.spec["state"], record=False)
    except XrpcError as e:
        raise ScenarioError(scenario.source, [f"state: {e.message}"]) from None
    loaded = LoadedScenario(scenario.name, scenario.spec.get("description", ""))
    for actor in service.state.actors.values():
        key = actor.handle.split(".")[0]
        loaded.actors[key if key not in loaded.actors else actor.handle] = LoadedActor(
            actor.did, actor.handle, actor.password
        )
    for convo in service.state.convos.values():
        loaded.convos[convo.id] = convo.id
        if convo.link is not None:
            loaded.codes[convo.id] = convo.link.code
    return loaded


def _group(service: Service, clock: _Clock, actors: dict[str, Actor], raw: Json, default_limit: int | None) -> Convo:
    state = service.state
    messages = raw.get("messages", [])
    oldest = max((seconds(m["ago"]) for m in messages if m.get("ago")), default=0.0)
    clock.at(raw.get("created") or (f"{oldest + 60}s" if messages else None))
    owner = actors[raw["owner"]]
    convo = Convo(
        id=service.ids.tid(),
        rev=new_rev(service),
        created_at=service.clock.iso(),
        name=raw["name"],
        owner=owner.did,
        member_limit=raw.get("memberLimit") or default_limit or service.config.member_limit,
    )
    state.convos[convo.id] = convo
    add_member(state, convo, owner.did, role="owner", status="accepted", added_by=None, joined_seq=0)
    log(service, convo, "logBeginConvo", {owner.did})
    for entry in raw.get("members", []):
        member_raw: Json = entry if isinstance(entry, dict) else {}
        did = actors[member_key(entry)].did
        added_by = actors[member_raw["addedBy"]].did if "addedBy" in member_raw else owner.did
        member = add_member(
            state,
            convo,
            did,
            role="standard",
            status=member_raw.get("status", "accepted"),
            added_by=added_by,
            joined_seq=0,
        )
        member.muted = bool(member_raw.get("muted", False))
        log(service, convo, "logBeginConvo", {did})
    if "link" in raw:
        link_raw = raw["link"]
        code = link_raw.get("code") or service.ids.token(10)
        convo.link = JoinLink(
            code=code,
            convo_id=convo.id,
            join_rule=link_raw.get("joinRule", "anyone"),
            require_approval=link_raw.get("requireApproval", False),
            enabled=link_raw.get("enabled", True),
            created_at=service.clock.iso(),
        )
        state.links[code] = convo.link
    _messages(service, clock, actors, convo, messages)
    for key in raw.get("requests", []):
        did = actors[key].did
        convo.request_seq += 1
        add_request(state, convo, JoinRequest(convo.id, did, service.clock.iso(), convo.request_seq))
        log(service, convo, "logOutgoingJoinRequest", {did})
        log(service, convo, "logIncomingJoinRequest", {owner.did}, subject=did)
    for key in raw.get("kicked", []):
        convo.kicked.add(actors[key].did)
        convo.past_members.setdefault(actors[key].did, 0)
    convo.lock_status = raw.get("lock", "unlocked")
    convo.moderation_lock = bool(raw.get("moderationLock", False))
    return convo


def _latest(raw: Json) -> float:
    """How long ago a convo's newest scenario message was sent (0: now, or no messages)."""
    return min((seconds(m["ago"]) if m.get("ago") else 0.0 for m in raw.get("messages", [])), default=0.0)


def _messages(service: Service, clock: _Clock, actors: dict[str, Actor], convo: Convo, messages: list[Json]) -> None:
    """A convo's scenario messages, in the order of their ``ago``, with their reactions."""
    ordered = sorted(enumerate(messages), key=lambda im: (-seconds(im[1]["ago"]) if im[1].get("ago") else 0, im[0]))
    for _, m in ordered:
        clock.at(m.get("ago"))
        message = append_message(service, convo, sender=actors[m["from"]].did, text=m["text"])
        note_user_message(convo, message)
        log(service, convo, "logCreateMessage", convo.everyone(), rev=message.rev, message_id=message.id)
        for emoji, reactors in m.get("reactions", {}).items():
            for who in reactors:
                reaction = Reaction(emoji, actors[who].did, service.clock.iso())
                message.add_reaction(reaction)
                convo.last_reaction = (message.id, reaction)
    clock.at(None)


def _direct(service: Service, clock: _Clock, actors: dict[str, Actor], raw: Json) -> Convo:
    """A direct convo: the first member started it; the second is a request unless it accepted."""
    state = service.state
    first, second = (actors[key] for key in raw["members"])
    messages = raw.get("messages", [])
    oldest = max((seconds(m["ago"]) for m in messages if m.get("ago")), default=0.0)
    clock.at(f"{oldest + 60}s" if messages else None)
    convo = Convo(
        id=service.ids.tid(),
        rev=new_rev(service),
        created_at=service.clock.iso(),
        name="",
        owner="",
        member_limit=2,
        kind="direct",
        pair=(first.did, second.did),
    )
    state.convos[convo.id] = convo
    state.directs[frozenset(convo.pair)] = convo.id
    add_member(state, convo, first.did, role="standard", status="accepted", added_by=None, joined_seq=0)
    status = raw.get("status", "accepted")
    add_member(state, convo, second.did, role="standard", status=status, added_by=None, joined_seq=0)
    log(service, convo, "logBeginConvo", {first.did})
    if messages or status == "accepted":
        log(service, convo, "logBeginConvo", {second.did})
    for key in raw.get("muted", []):
        convo.members[actors[key].did].muted = True
    _messages(service, clock, actors, convo, messages)
    return convo


__all__ = ["LoadedActor", "LoadedScenario", "load"]
