"""Reading and checking scenario files: the JSON Schema first, then the references between parts."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

Json = dict[str, Any]
BUILTIN = files("scenarios").joinpath("builtin")
DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([smhd])$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class ScenarioError(ValueError):
    """A scenario that cannot be loaded; ``problems`` lists each as 'path: what was expected'."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"scenario {source} is not valid:\n{lines}")


@dataclass
class ScenarioSource:
    """A scenario's text, parsed: its name, where it came from, and the spec."""

    name: str
    source: str
    spec: Json
    drawn_seed: int | None = None
    """The seed drawn for it on an unseeded server when it names none (kept for resets to it)."""


@cache
def schema() -> Json:
    """The published JSON Schema of scenario files (``scenarios/schema.json``)."""
    data: Json = json.loads(files("scenarios").joinpath("schema.json").read_text())
    return data


def seconds(duration: str) -> float:
    """Seconds in a duration like ``90s``, ``5m``, ``2h``, ``3d``."""
    match = DURATION.match(duration)
    assert match, duration
    return float(match.group(1)) * UNITS[match.group(2)]


def builtin_names() -> list[str]:
    """Names of the scenarios shipped in ``scenarios/builtin``."""
    return sorted(p.name[: -len(".yaml")] for p in BUILTIN.iterdir() if p.name.endswith(".yaml"))


LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML has it (ten times faster than the pure-Python one)."""
_PARSED: dict[Any, Json] = {}
"""Parsed scenario files by name (built-ins) or by path, size and time (files): parsed once."""
_VALID: set[int] = set()
"""ids of parsed specs that passed :func:`check` (kept alive by ``_PARSED``, so the ids hold)."""
MAX_ALIASES = 100
MAX_MESSAGE = 300
"""How much of a value a problem quotes (a schema error would otherwise quote it whole)."""


def read_text(path: Path, source: str) -> str:
    """A scenario file's text; a ScenarioError when it is not UTF-8 or cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ScenarioError(source, [f"(top): not UTF-8 text ({e.reason} at byte {e.start})"]) from None
    except OSError as e:
        raise ScenarioError(source, [f"(top): cannot be read: {e.strerror or e}"]) from None


def parse_text(text: str, source: str) -> Json:
    """Parse YAML or JSON text into a mapping; a ScenarioError says why not."""
    try:
        if "*" in text:  # a handful of anchors can expand into gigabytes: count the aliases first
            aliases = sum(isinstance(t, yaml.AliasToken) for t in yaml.scan(text, Loader=LOADER))
            if aliases > MAX_ALIASES:
                problem = f"(top): {aliases} YAML aliases; a scenario may use at most {MAX_ALIASES}"
                raise ScenarioError(source, [problem])
        data = yaml.load(text, Loader=LOADER)
    except yaml.YAMLError as e:
        raise ScenarioError(source, [f"not valid YAML or JSON: {e}"]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError(source, [f"(top): expected a mapping of sections, got {type(data).__name__}"])
    return data


def find(name_or_path: str) -> ScenarioSource:
    """A built-in scenario by name, or a YAML/JSON file by path."""
    if name_or_path in builtin_names():
        if name_or_path not in _PARSED:
            text = BUILTIN.joinpath(f"{name_or_path}.yaml").read_text(encoding="utf-8")
            _PARSED[name_or_path] = parse_text(text, name_or_path)
        return ScenarioSource(name_or_path, f"built-in scenario {name_or_path}", _PARSED[name_or_path])
    path = Path(name_or_path)
    if not path.is_file():
        known = ", ".join(builtin_names())
        raise ScenarioError(name_or_path, [f"no such file, and not a built-in scenario (those are: {known})"])
    name = path.name.rsplit(".", 1)[0]
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _PARSED:
        _PARSED[key] = parse_text(read_text(path, str(path)), str(path))
    return ScenarioSource(name, str(path), _PARSED[key])


def _where(path: Iterable[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top)"


def _message(error: Any) -> str:
    """A schema error in words: a pattern mismatch says what was expected (the schema's description)."""
    if error.validator == "pattern" and isinstance(error.schema, dict) and "description" in error.schema:
        return f"{error.instance!r}"[:MAX_MESSAGE] + f" is not valid. {error.schema['description']}"
    text = str(error.message)
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + "..."


def check(spec: Json, source: str) -> None:
    """Raise a ScenarioError listing every problem of a scenario spec (schema, then references).
    A parsed file that passed once is not checked again (it cannot have changed: files are parsed
    anew when they change)."""
    if id(spec) in _VALID and is_cached(spec):
        return
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema(), format_checker=jsonschema.FormatChecker())
    problems = [f"{_where(e.absolute_path)}: {_message(e)}" for e in validator.iter_errors(spec)]
    if problems:
        raise ScenarioError(source, sorted(problems))
    problems = list(_references(spec))
    if problems:
        raise ScenarioError(source, problems)
    if is_cached(spec):
        _VALID.add(id(spec))


def _reaction_problems(where: str, message: Json) -> Iterable[str]:
    """A scenario's reactions follow addReaction's rules: one emoji each (one grapheme, as the
    lexicon has it), at most five different ones per account on one message."""
    from mockserver.lexicons import bundled
    from mockserver.messages import REACTIONS_PER_SENDER, is_emoji

    per_sender: dict[str, int] = {}
    for emoji, reactors in message.get("reactions", {}).items():
        body = {"convoId": "x", "messageId": "x", "value": emoji}
        problem = None
        try:
            bundled().validate("chat.bsky.convo.addReaction", "input", body)
        except Exception as e:  # the mock's own 400, naming the rule
            problem = str(getattr(e, "message", e))
        if problem or not is_emoji(emoji):
            yield f"{where}.reactions: {emoji!r} is not one emoji ({problem or 'addReaction refuses it'})"
        for who in reactors:
            per_sender[who] = per_sender.get(who, 0) + 1
    for who, count in per_sender.items():
        if count > REACTIONS_PER_SENDER:
            yield f"{where}.reactions: {who} reacts {count} ways; addReaction allows {REACTIONS_PER_SENDER}"


def is_cached(spec: Json) -> bool:
    """Whether a spec is one of the parsed files kept (so it never changes while it is kept)."""
    return any(parsed is spec for parsed in _PARSED.values())


def member_key(member: str | Json) -> str:
    """The actor key of a group member entry (a key or a mapping with ``actor``)."""
    return member if isinstance(member, str) else str(member["actor"])


def _references(spec: Json) -> Iterable[str]:
    seed = spec.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        yield f"seed: {seed!r} must be a whole number (written without a decimal point)"
    if "state" in spec:
        extra = sorted(set(spec) - {"state", "description", "seed"})
        if extra:
            yield f"(top): a scenario with a state has only description and seed beside it, not {', '.join(extra)}"
    if "clock" in spec:
        try:
            datetime.fromisoformat(str(spec["clock"]).replace("Z", "+00:00"))
        except ValueError:
            yield f"clock: {spec['clock']!r} is not an ISO 8601 date-time such as 2026-04-01T12:00:00Z"
    actors: Json = spec.get("actors", {})
    handles: dict[str, str] = {}
    dids: dict[str, str] = {}
    for key, actor in actors.items():
        handle = str(actor.get("handle", f"{key}.test")).lower()
        if handle in handles:
            yield f"actors.{key}.handle: {handle!r} is also the handle of {handles[handle]}"
        handles[handle] = key
        if "did" in actor:
            if actor["did"] in dids:
                yield f"actors.{key}.did: {actor['did']!r} is also the DID of {dids[actor['did']]}"
            dids[actor["did"]] = key
        for part in ("follows", "blocks"):
            for i, other in enumerate(actor.get(part, [])):
                if other not in actors:
                    yield f"actors.{key}.{part}[{i}]: {other!r} is not an actor in this scenario"
                elif other == key:
                    yield f"actors.{key}.{part}[{i}]: an actor cannot list itself"
    codes: dict[str, str] = {}
    for key, group in spec.get("groups", {}).items():
        where = f"groups.{key}"
        owner = group["owner"]
        if owner not in actors:
            yield f"{where}.owner: {owner!r} is not an actor in this scenario"
        members = [member_key(m) for m in group.get("members", [])]
        seen: set[str] = {owner}
        for i, member in enumerate(group.get("members", [])):
            name = member_key(member)
            if name not in actors:
                yield f"{where}.members[{i}]: {name!r} is not an actor in this scenario"
            elif name in seen:
                yield f"{where}.members[{i}]: {name!r} is listed twice (the owner is a member already)"
            seen.add(name)
            added_by = member.get("addedBy") if isinstance(member, dict) else None
            if added_by is not None and added_by not in seen | set(members):
                yield f"{where}.members[{i}].addedBy: {added_by!r} is not a member of this group"
        limit = group.get("memberLimit", spec.get("memberLimit"))
        if limit is not None and len(seen) > limit:
            yield f"{where}.memberLimit: {len(seen)} members (owner included) do not fit in a limit of {limit}"
        for part in ("requests", "kicked"):
            for i, name in enumerate(group.get(part, [])):
                if name not in actors:
                    yield f"{where}.{part}[{i}]: {name!r} is not an actor in this scenario"
                elif name in seen:
                    yield f"{where}.{part}[{i}]: {name!r} is a member of this group"
        if set(group.get("requests", [])) & set(group.get("kicked", [])):
            yield f"{where}: an actor cannot be both in requests and kicked"
        if group.get("requests") and not (group.get("link") or {}).get("requireApproval", False):
            yield f"{where}.requests: pending requests need a link with requireApproval: true"
        code = (group.get("link") or {}).get("code")
        if code is not None:
            if code in codes:
                yield f"{where}.link.code: {code!r} is also the code of groups.{codes[code]}"
            codes[code] = key
        for i, message in enumerate(group.get("messages", [])):
            if message["from"] not in seen:
                yield f"{where}.messages[{i}].from: {message['from']!r} is not a member of this group"
            for emoji, reactors in message.get("reactions", {}).items():
                for who in reactors:
                    if who not in seen:
                        yield f"{where}.messages[{i}].reactions.{emoji}: {who!r} is not a member of this group"
        created = group.get("created")
        for i, message in enumerate(group.get("messages", [])):
            if created and message.get("ago") and seconds(message["ago"]) > seconds(created):
                yield f"{where}.messages[{i}].ago: sent before the group was created ({created} ago)"
    for where, convo in [
        *(("groups." + k, g) for k, g in spec.get("groups", {}).items()),
        *(("directs." + k, d) for k, d in spec.get("directs", {}).items()),
    ]:
        for i, message in enumerate(convo.get("messages", [])):
            yield from _reaction_problems(f"{where}.messages[{i}]", message)
    for key in sorted(set(spec.get("groups", {})) & set(spec.get("directs", {}))):
        yield f"directs.{key}: the key {key!r} is a group's too: convos are named by one key each"
    pairs: dict[frozenset[str], str] = {}
    for key, direct in spec.get("directs", {}).items():
        where = f"directs.{key}"
        members = direct["members"]
        for i, name in enumerate(members):
            if name not in actors:
                yield f"{where}.members[{i}]: {name!r} is not an actor in this scenario"
        if len(set(members)) != 2:
            yield f"{where}.members: a direct convo is between two different actors"
            continue
        pair = frozenset(members)
        if pair in pairs:
            yield f"{where}.members: {members[0]} and {members[1]} already share directs.{pairs[pair]}"
        pairs[pair] = key
        for i, name in enumerate(direct.get("muted", [])):
            if name not in members:
                yield f"{where}.muted[{i}]: {name!r} is not a member of this convo"
        for i, message in enumerate(direct.get("messages", [])):
            if message["from"] not in members:
                yield f"{where}.messages[{i}].from: {message['from']!r} is not a member of this convo"
            if direct.get("status") == "request" and message["from"] == members[1]:
                yield f"{where}.messages[{i}].from: {members[1]} replied, so the convo cannot be a request for them"
            for emoji, reactors in message.get("reactions", {}).items():
                for who in reactors:
                    if who not in members:
                        yield f"{where}.messages[{i}].reactions.{emoji}: {who!r} is not a member of this convo"
    for i, fault in enumerate(spec.get("faults", [])):
        actor = fault.get("actor")
        if actor is not None and actor not in actors and "." not in actor and not actor.startswith("did:"):
            yield f"faults[{i}].actor: {actor!r} is not an actor key, handle or DID"
