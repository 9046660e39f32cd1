"""The wire contract: lexicons bundled with ``lexrpc``, loaded once, used to decode and validate.

Nothing here restates a schema rule: parameter types, defaults, limits and formats are all
read from the lexicons at run time.
"""

from __future__ import annotations

import logging
import re
from functools import cache
from typing import Any, Literal

import grapheme
import lexrpc.base
from lexrpc.base import Base, ValidationError

from .errors import invalid_request

Json = dict[str, Any]
Part = Literal["parameters", "input", "record"]
PARAMS_CACHE = 4096
_INTEGER = re.compile(r"-?[0-9]{1,18}")
logging.getLogger("lexrpc.base").setLevel(logging.CRITICAL)  # its "X not found" for open unions' unknown types is noise


def grapheme_length(text: str, until: int | None = None) -> int:
    """``grapheme.length``, at once for ASCII text: there every character is a cluster of its own
    but CR LF (Unicode's rules GB3-GB5; ASCII has no extending or prepended marks). Counting a
    message's graphemes one by one was a fifth of sendMessage's time."""
    if text.isascii():
        count = len(text) - text.count("\r\n")
        return count if until is None else min(count, until)
    return int(grapheme.length(text, until))


class _Graphemes:
    """The ``grapheme`` module as lexrpc's checks of minGraphemes and maxGraphemes see it."""

    length = staticmethod(grapheme_length)
    slice = staticmethod(grapheme.slice)


lexrpc.base.grapheme = _Graphemes


class Lexicons:
    """Lexicon-driven decoding and validation for XRPC methods."""

    def __init__(self, lexicons: list[Json] | None = None) -> None:
        self._base = Base(lexicons=lexicons, validate=True, truncate=False)
        self._params: dict[tuple[str, tuple[tuple[str, str], ...]], Json] = {}
        """Decoded, valid parameters by method and known query parameters (the same reads repeat a lot)."""
        self._param_props: dict[str, Json] = {}

    def method(self, nsid: str) -> Json | None:
        """The main def of a query or procedure, or None if no such method is known."""
        defn = self._base.defs.get(nsid)
        if isinstance(defn, dict) and defn.get("type") in ("query", "procedure"):
            return defn
        return None

    def names(self) -> list[str]:
        """Every main def's NSID the lexicons hold."""
        return [name for name in self._base.defs if "#" not in name]

    def has_input(self, nsid: str) -> bool:
        """Whether a procedure takes a JSON body."""
        defn = self.method(nsid) or {}
        return bool((defn.get("input") or {}).get("schema"))

    def decode_params(self, nsid: str, items: list[tuple[str, str]]) -> Json:
        """Decode query-string pairs per the lexicon, apply defaults and validate.

        Unknown parameters are ignored, as the XRPC spec allows. A scalar parameter given
        twice, a value of the wrong type or one that breaks a rule is an ``InvalidRequest``.
        """
        props = self._props(nsid)
        known = [(k, v) for k, v in items if k in props]
        key = (nsid, tuple(known))  # unknown parameters change nothing, so they are not part of the key
        cached = self._params.get(key)
        if cached is not None:
            return dict(cached)
        seen: set[str] = set()
        for name, raw in known:
            if name in seen and props[name].get("type") != "array":
                raise invalid_request(f"Parameter {name} was given more than once")
            seen.add(name)
            kind = props[name].get("type")
            if kind == "array":
                kind = (props[name].get("items") or {}).get("type")
            if kind == "integer" and not _INTEGER.fullmatch(raw):  # int() takes other scripts' digits, ' 3', '+2'
                raise invalid_request(f"Invalid parameter: {name} must be an integer in ASCII digits, got {raw[:40]!r}")
        try:
            params: Json = self._base.decode_params(nsid, known)
        except ValueError as e:
            raise invalid_request(f"Invalid parameter: {e}") from None
        for name, schema in props.items():
            if name not in params and "default" in schema:
                params[name] = schema["default"]
        self.validate(nsid, "parameters", params)
        if len(self._params) >= PARAMS_CACHE:
            self._params.clear()
        self._params[key] = params
        return dict(params)

    def _props(self, nsid: str) -> Json:
        """A method's parameter schemas by name (empty for none)."""
        props = self._param_props.get(nsid)
        if props is None:
            defn = self._base.defs.get(nsid)  # a query, a procedure or a subscription
            defn = defn if isinstance(defn, dict) else {}
            props = self._param_props[nsid] = (defn.get("parameters") or {}).get("properties") or {}
        return props

    def validate(self, nsid: str, part: Part, value: Any) -> None:
        """Validate a method's parameters or input; raise ``InvalidRequest`` naming the rule."""
        if part != "parameters":  # lexrpc lets a string through where a union wants an object
            where = self.misshapen_union(nsid, part, value)
            if where:
                raise invalid_request(f"Invalid {part}: {where}")
        try:
            self._base.validate(nsid, part, value)
        except ValidationError as e:
            raise invalid_request(f"Invalid {part}: {e}") from None
        except Exception as e:  # lexrpc trips on some shapes (AttributeError, NotImplementedError, ...)
            where = self.misshapen_union(nsid, part, value)
            raise invalid_request(f"Invalid {part}: {where or _lexrpc_trouble(e)}") from None

    def misshapen_union(self, nsid: str, part: Part, value: Any) -> str | None:
        """Where ``value`` puts something other than an object with a string ``$type`` in a union
        (the shape lexrpc stumbles on), said so a person can find it; None if nowhere."""
        defn = self._base.defs.get(nsid) or {}
        schema = defn.get(part) or {}
        if part == "input":
            schema = schema.get("schema") or {}
        return _union_problem(self._base.defs, schema, nsid, value, part, 0)

    def output_problem(self, nsid: str, value: Any) -> str | None:
        """Why a method's output breaks its schema, or None if it is valid."""
        try:
            self._base.validate(nsid, "output", value)
        except (ValidationError, NotImplementedError) as e:
            return str(e)
        return None

    def def_problem(self, ref: str, value: Any) -> str | None:
        """Why ``value`` breaks the lexicon def ``ref`` (such as ``chat.bsky.convo.defs#messageInput``),
        or None if it fits. Never raises."""
        schema = self._base.defs.get(ref)
        if not isinstance(schema, dict):
            return f"no lexicon def {ref}"
        if schema.get("type") in ("object", "union") or "properties" in schema:
            where = _union_problem(self._base.defs, schema, ref, value, "value", 0)
            if where:
                return where
        try:
            self._base._validate_schema(name=ref, val=value, type_name=ref, lexicon=ref, schema=schema)
        except Exception as e:  # ValidationError, or lexrpc stumbling on a shape: both mean no
            return str(e)[:300]
        return None

    def required(self, ref: str) -> list[str]:
        """The required properties of a lexicon object def."""
        schema = self._base.defs.get(ref) or {}
        return list(schema.get("required", []))

    def check_format(self, value: str, fmt: str) -> bool:
        """Whether a string matches an atproto string format (``handle``, ``did``, ...)."""
        try:
            self._base._validate_string_format(value, fmt)
        except ValidationError:
            return False
        return True


_UNIONS: dict[tuple[int, str], tuple[Json, bool]] = {}
"""Whether a schema (by identity, within its lexicon) can hold a union anywhere below it, beside
the schema itself (held, its id is never another's). Only the lexicons' own schemas come here
(an empty one is answered before), so it stays as small as they are."""


def _resolve(defs: Json, ref: str, lexicon: str) -> tuple[str, Json | None]:
    """The def a ref names (a record def's record), and its full name; None if there is none."""
    target = lexicon.split("#")[0] + ref if ref.startswith("#") else ref
    found = defs.get(target)
    if isinstance(found, dict) and found.get("type") == "record":
        found = found.get("record")
    return target, found if isinstance(found, dict) else None


def _holds_union(defs: Json, schema: Json, lexicon: str, seen: frozenset[int] = frozenset()) -> bool:
    key = (id(schema), lexicon)
    known = _UNIONS.get(key)
    if known is not None and known[0] is schema:
        return known[1]
    if id(schema) in seen:  # a def that contains itself: whatever it holds is found on the way in
        return False
    seen = seen | {id(schema)}
    kind = schema.get("type")
    if kind == "union":
        held = True
    elif kind == "ref":
        target, found = _resolve(defs, schema.get("ref", ""), lexicon)
        held = found is not None and _holds_union(defs, found, target, seen)
    else:
        below = [*(schema.get("properties") or {}).values(), schema.get("items")]
        held = any(isinstance(child, dict) and _holds_union(defs, child, lexicon, seen) for child in below)
    if not seen - {id(schema)}:  # only answers found from the top are final (a cycle cut short is not)
        _UNIONS[key] = (schema, held)
    return held


def _union_problem(defs: Json, schema: Json, lexicon: str, value: Any, path: str, depth: int) -> str | None:
    """The first union in ``value`` that is not an object with a string ``$type`` (see
    :meth:`Lexicons.misshapen_union`), walking the schema beside the value (only where a union can be)."""
    if depth > 20 or not isinstance(schema, dict) or not schema or not _holds_union(defs, schema, lexicon):
        return None
    kind = schema.get("type")
    if kind == "ref":
        target, found = _resolve(defs, schema.get("ref", ""), lexicon)
        return _union_problem(defs, found or {}, target, value, path, depth + 1)
    if kind == "union":
        if not isinstance(value, dict):
            return f"{path} must be an object with a $type (one of the union's types), not {type(value).__name__}"
        chosen = value.get("$type")
        if not isinstance(chosen, str):
            return f"{path}.$type must be a string naming one of the union's types, not {chosen!r}"
        refs = [r if not r.startswith("#") else lexicon.split("#")[0] + r for r in schema.get("refs", [])]
        if chosen in refs or f"{chosen}#main" in refs:
            target, found = _resolve(defs, chosen, lexicon)
            return _union_problem(defs, found or {}, target, value, path, depth + 1)
        return None
    if kind == "object" and isinstance(value, dict):
        for name, prop in (schema.get("properties") or {}).items():
            if name in value:
                problem = _union_problem(defs, prop, lexicon, value[name], f"{path}.{name}", depth + 1)
                if problem:
                    return problem
    if kind == "array" and isinstance(value, list):
        for i, item in enumerate(value):
            problem = _union_problem(defs, schema.get("items") or {}, lexicon, item, f"{path}[{i}]", depth + 1)
            if problem:
                return problem
    return None


def _lexrpc_trouble(error: Exception) -> str:
    """What lexrpc stumbled on, said as the input's fault (it is: valid input never trips it)."""
    if isinstance(error, NotImplementedError):
        return f"unknown type: {error}"
    return f"a value has the wrong shape ({type(error).__name__}: {error})"


@cache
def bundled() -> Lexicons:
    """The lexicons ``lexrpc`` bundles (chat, com.atproto, app.bsky), loaded once per process."""
    return Lexicons()
