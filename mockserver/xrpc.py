"""XRPC dispatch: method registry, lexicon-driven request decoding, auth, strict output checks.

Handlers are plain synchronous functions ``fn(call) -> dict | None``; everything about HTTP
happens here, so a handler never sees a request object.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote_to_bytes

import orjson
from aiohttp import web

from . import mod_events, service_auth
from .errors import XrpcError, auth_required, invalid_request, invalid_token
from .exposure import holds_admin_token
from .lexicons import Lexicons
from .service import Service
from .state import Actor

log = logging.getLogger("mockserver")

Json = dict[str, Any]
AuthMode = Literal["access", "refresh", "optional", "none", "moderator"]
JSON_TYPE = "application/json"
MAX_DEPTH = 32
"""Deepest nesting of arrays and objects an XRPC body may have. Every chat input fits in a
dozen levels; the limit keeps whatever is stored renderable, encodable and dumpable (a state dump
nests a message's data a few levels deeper, so admin bodies may nest twice as deep)."""


def too_deep(value: Any, limit: int) -> bool:
    """Whether ``value`` nests arrays and objects more than ``limit`` levels deep (no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


@dataclass
class Call:
    """One decoded XRPC call, as a handler sees it."""

    service: Service
    nsid: str
    params: Json
    input: Json | None
    viewer: Actor | None
    claims: Json = field(default_factory=dict)

    @property
    def actor(self) -> Actor:
        """The authenticated caller (only for methods that require auth)."""
        assert self.viewer is not None, f"{self.nsid} was registered without auth"
        return self.viewer


@dataclass
class Jsonl:
    """An answer of JSON lines (``application/jsonl``), one object a line."""

    lines: list[Json]

    def encode(self) -> bytes:
        """The lines, each compact JSON, each ending in a newline."""
        return b"".join(encode(line) + b"\n" for line in self.lines)


Handler = Callable[[Call], "Json | Jsonl | None"]


@dataclass
class Method:
    """A registered method: its handler and the token it needs."""

    nsid: str
    fn: Handler
    auth: AuthMode
    writes: bool = False
    """A query that may change the state (getConvoForMembers makes a convo): never answered from
    the read cache, and it empties the cache like a procedure."""
    acts: bool = False
    """The caller takes part in a chat (sends, reacts, creates, joins, changes a group): refused
    for an account that is not active."""


METHODS: dict[str, Method] = {}
SUBSCRIPTIONS: set[str] = set()
"""Event streams served (over WebSocket, each by a route of its own)."""


def method(
    nsid: str, auth: AuthMode = "access", *, acts: bool = False, writes: bool = False
) -> Callable[[Handler], Handler]:
    """Register a handler for an XRPC method (``writes``: a query that may change the state)."""

    def register(fn: Handler) -> Handler:
        if nsid in METHODS:
            raise ValueError(f"{nsid} is registered twice")
        METHODS[nsid] = Method(nsid, fn, auth, writes, acts)
        return fn

    return register


def refuse_disabled(defn: Json, nsid: str, viewer: Actor) -> None:
    """A suspended, deactivated or taken-down account takes no part: ``AccountSuspended`` where the
    method's lexicon lists it, else a 400 whose message is exactly ``Account is disabled`` (the
    official app matches that text)."""
    if viewer.status == "active" and not viewer.chat_disabled:
        return
    if any(e.get("name") == "AccountSuspended" for e in defn.get("errors", ())):
        why = "has no chat access" if viewer.status == "active" else f"is {viewer.status}"
        raise XrpcError("AccountSuspended", f"Account {viewer.handle} {why} and cannot do this", 400)
    raise invalid_request("Account is disabled")


_FALLBACK = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)


def encode(body: Json) -> bytes:
    """Compact UTF-8 JSON. orjson does it about ten times faster than the standard library (the
    largest single cost of building an answer); the standard encoder takes what orjson refuses,
    such as integers past 64 bits echoed from an input."""
    try:
        return orjson.dumps(body)
    except TypeError:
        return _FALLBACK.encode(body).encode()


def json_response(body: Json | None, status: int = 200) -> web.Response:
    """A JSON response (an empty 200 for procedures without output)."""
    if body is None:
        return web.Response(status=status)
    return web.Response(status=status, body=encode(body), content_type=JSON_TYPE, charset="utf-8")


def check_query_encoding(request: web.Request) -> None:
    """Refuse a query string whose percent-escapes are not UTF-8, in any parameter, known or not
    (aiohttp would quietly turn them into U+FFFD, so the call would run on text the client never
    sent)."""
    raw = request.raw_path.partition("?")[2]
    if "%" not in raw:
        return
    for part in raw.split("&"):
        try:
            unquote_to_bytes(part.replace("+", " ")).decode("utf-8")
        except UnicodeDecodeError:
            name = part.partition("=")[0]  # as sent, still escaped: it may be the broken part
            raise invalid_request(f"Query parameter {name!r} is not valid UTF-8 once percent-decoded") from None


async def read_input(
    request: web.Request, lexicons: Lexicons, nsid: str, limit: int, max_depth: int = MAX_DEPTH
) -> Json | None:
    """Read, decode and validate a procedure's JSON body; None for procedures without input."""
    return (await read_input_sized(request, lexicons, nsid, limit, max_depth))[0]


async def read_input_sized(
    request: web.Request, lexicons: Lexicons, nsid: str, limit: int, max_depth: int = MAX_DEPTH
) -> tuple[Json | None, int]:
    """:func:`read_input`, and the size of the body as received (after any decompression)."""
    if not lexicons.has_input(nsid):
        await _no_input(request, nsid, limit)
        return None, 0
    if request.content_length is not None and request.content_length > limit:
        raise XrpcError(
            "PayloadTooLarge",
            f"Request body is {request.content_length} bytes; the limit is {limit}",
            413,
        )
    if request.content_type != JSON_TYPE:
        got = request.headers.get("Content-Type") or "none"
        raise invalid_request(f"Wrong content type {got!r}: {nsid} takes {JSON_TYPE}")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise XrpcError("PayloadTooLarge", f"Request body is over the limit of {limit} bytes", 413) from None
    except ConnectionResetError:
        raise ClientGone(f"the client hung up before the body of {nsid} was complete") from None
    except web.RequestPayloadError as e:  # a body aiohttp cannot decode (bad gzip or deflate)
        request.content.feed_eof()  # nothing more to read: aiohttp must not try to drain it after the answer
        reason = str(e).strip().splitlines()[-1].strip()  # aiohttp's text starts "400, message:"
        raise UnreadableBody("InvalidRequest", f"Request body could not be read: {reason}", 400) from None
    if len(raw) > limit:
        raise XrpcError("PayloadTooLarge", f"Request body is {len(raw)} bytes; the limit is {limit}", 413)
    if not raw.strip():
        raise invalid_request(f"Request body is empty: {nsid} takes a JSON object")
    try:
        data = orjson.loads(raw.decode("utf-8"))  # strict: no lone surrogate escapes, NaN or Infinity
    except UnicodeDecodeError as e:
        raise invalid_request(f"Request body is not valid UTF-8: {e}") from None
    except json.JSONDecodeError as e:
        if "depth" in str(e) or "recursion" in str(e).lower():  # orjson stops at 1024 levels
            raise invalid_request(f"Request body nests arrays and objects more than {max_depth} levels deep") from None
        raise invalid_request(f"Request body is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise invalid_request(f"Request body must be a JSON object, not {type(data).__name__}")
    if too_deep(data, max_depth):
        raise invalid_request(f"Request body nests arrays and objects more than {max_depth} levels deep")
    lexicons.validate(nsid, "input", data)
    return data, len(raw)


async def _no_input(request: web.Request, nsid: str, limit: int) -> None:
    """A procedure that takes no input may be sent an empty body or an empty JSON object, nothing else."""
    if not request.can_read_body:
        return
    if request.content_length is not None and request.content_length > limit:
        raise XrpcError("PayloadTooLarge", f"Request body is {request.content_length} bytes; the limit is {limit}", 413)
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise XrpcError("PayloadTooLarge", f"Request body is over the limit of {limit} bytes", 413) from None
    except ConnectionResetError:
        raise ClientGone(f"the client hung up before the body of {nsid} was complete") from None
    except web.RequestPayloadError as e:
        request.content.feed_eof()
        raise UnreadableBody("InvalidRequest", f"Request body could not be read: {e}", 400) from None
    if raw.strip() and (request.content_type != JSON_TYPE or not _empty_object(raw)):
        raise invalid_request(f"{nsid} takes no input: send no body, or an empty JSON object")


def _empty_object(raw: bytes) -> bool:
    try:
        return bool(orjson.loads(raw) == {})
    except orjson.JSONDecodeError:
        return False


async def authenticate(request: web.Request, service: Service, mode: AuthMode, nsid: str) -> tuple[Actor | None, Json]:
    """The caller for a method's auth mode (401 when a required token is missing or bad). In chat
    service mode a service-auth JWT forwarded by a PDS is taken too, beside the mock's own tokens."""
    header = request.headers.get("Authorization")
    if mode == "none" or (mode == "optional" and not header):
        return None, {}
    if mode == "moderator":  # the journal keeps who: a replay calls as the admin where a moderator did
        return None, {"moderator": await moderator(request, service, nsid)}
    scope: Literal["access", "refresh"] = "refresh" if mode == "refresh" else "access"
    kind, _, token = (header or "").partition(" ")
    token = token.strip()
    bearer = kind.lower() == "bearer" and bool(token) and token.isascii()
    forwarded = service.network is not None and scope == "access" and bearer
    if forwarded and not service_auth.is_own_token(token, service.tokens.service_did):  # a PDS sent it
        assert service.network is not None
        return None, {"iss": await service.network.verify(token, nsid)}  # met once the input is checked
    try:
        return service.tokens.verify(service.state, header, scope)
    except XrpcError:
        if bearer and service.network is None and service_auth.is_service_token(token):
            raise invalid_token(
                "This is a service-auth token (signed with an account key, as a PDS forwards calls): the mock "
                "takes them in chat service mode only (bsky-chat-mock serve --plc-url URL)"
            ) from None
        raise


async def moderator(request: web.Request, service: Service, nsid: str) -> str:
    """Who calls a moderation method: ``admin`` (the admin token; no header when the mock has
    none), or a DID of ``Config.moderators`` (an account logged in to the mock, or in chat service
    mode the issuer of a service-auth token, such as an Ozone). Anyone else: 401."""
    header = request.headers.get("Authorization")
    token = service.config.admin_token
    if not header:
        if not token:
            return "admin"  # the admin API is open too: no one to tell apart
        raise auth_required("Moderation calls need the admin token or a moderator's token")
    if holds_admin_token(header, token):
        return "admin"
    kind, _, bearer = header.partition(" ")
    bearer = bearer.strip()
    forwarded = kind.lower() == "bearer" and bool(bearer) and bearer.isascii()
    if service.network is not None and forwarded and not service_auth.is_own_token(bearer, service.tokens.service_did):
        did = (await service.network.verify(bearer, nsid)).partition("#")[0]
        if did not in service.config.moderators:
            raise service_auth.bad("UntrustedIss", "Untrusted issuer")
        return did
    actor, _ = service.tokens.verify(service.state, header, "access")
    if actor.did not in service.config.moderators:
        refused = XrpcError(
            "UntrustedIss", f"Untrusted issuer: {actor.handle} is not a moderator (--moderator DID)", 401
        )
        refused.did = actor.did  # the journal names who was refused: a replay refuses them again
        raise refused
    return actor.did


def served_methods(lexicons: Lexicons) -> dict[str, list[str]]:
    """Which methods the mock serves, and which ``chat.bsky`` methods of the lexicons it does not."""
    chat = sorted(n for n in lexicons.names() if n.startswith("chat.bsky.") and lexicons.method(n))
    served = {*METHODS, *SUBSCRIPTIONS}
    return {"served": sorted(served), "unserved": [n for n in chat if n not in served]}


def not_served(nsid: str) -> str:
    """The 501 message: what is missing, and where to see what is served."""
    if nsid.startswith("chat.bsky."):
        return f"Method not implemented: {nsid} is not served by the mock yet (GET /_mock/methods lists what is)"
    return (
        f"Method not implemented: {nsid}. The mock serves chat only: chat.bsky.* and the few calls chat "
        "screens make (GET /_mock/methods lists them)"
    )


class DropConnection(Exception):
    """Raised by a fault to close the connection without answering."""


BODY_BYTES = "bodyBytes"
"""Entry key (taken out before the entry is journaled): the size of the input kept."""


class UnreadableBody(XrpcError):
    """A body aiohttp could not decode: answered, then the connection is closed (its byte
    stream can no longer be trusted)."""


class ClientGone(Exception):
    """The client hung up mid-request: there is no one to answer and no call to record."""


FAULT_HEADER = "bsky-chat-mock-fault"
"""Sent by replay only: the id of the fault rule the recorded call took, or ``none``, so calls
that raced for a counted rule take the same ones again."""


async def apply_fault(
    request: web.Request, service: Service, nsid: str, viewer: Actor | None, values: Json, entry: Json
) -> None:
    """Delay, drop or fail the call if a fault rule hits it (its id, or None, goes in the journal)."""
    fault = service.faults.take(service.state, nsid, viewer, values, request.headers.get(FAULT_HEADER))
    entry["fault"] = fault.id if fault is not None else None
    if fault is None:
        return
    if fault.delay:
        await asyncio.sleep(fault.delay)
    if fault.drop:
        raise DropConnection(f"fault #{fault.id}")
    try:
        fault.raise_error()
    except XrpcError as e:
        if e.status == 429 and viewer is not None:  # a rate limit, as moderation tools hear of it
            mod_events.on_rate_limited(service, viewer.did, nsid)
        raise


async def handle(request: web.Request, service: Service, entry: Json) -> web.Response:
    """Serve ``/xrpc/{nsid}``: find, check, decode, authenticate, call, validate.

    What is learnt on the way (caller, parameters, input, output) is written into ``entry``
    for the journal.
    """
    nsid = request.match_info["nsid"]
    defn = service.lexicons.method(nsid)
    registered = METHODS.get(nsid)
    if defn is None or registered is None:
        raise XrpcError("MethodNotImplemented", not_served(nsid), 501)
    verb = "GET" if defn["type"] == "query" else "POST"
    if request.method != verb and not (verb == "GET" and request.method == "HEAD"):
        entry["httpMethod"] = request.method  # so a replay sends the same wrong verb
        raise invalid_request(f"{nsid} is a {defn['type']}: use {verb}, not {request.method}")
    try:
        viewer, claims = await authenticate(request, service, registered.auth, nsid)
    except XrpcError as e:
        entry["actor"] = e.did  # an expired or revoked token still says whose it is
        if isinstance(e, service_auth.ServiceAuthError):
            entry["serviceAuth"] = True  # a PDS's (or a forger's) token: a replay cannot send it again
        raise
    entry["actor"] = viewer.did if viewer else (claims["iss"].partition("#")[0] if "iss" in claims else None)
    if "moderator" in claims:
        entry["moderator"] = claims["moderator"]  # who moderated: a replay calls as the admin
    if registered.auth == "refresh":
        entry["session"] = claims.get("jti")  # which session a refresh used: a replay must end the same one
    try:
        check_query_encoding(request)
    except XrpcError:
        entry["rawQuery"] = request.raw_path.partition("?")[2]  # decoded, it is not what was sent
        raise
    params = service.lexicons.decode_params(nsid, list(request.query.items()))
    entry["params"] = params
    body = None
    if verb == "POST":
        try:
            body, size = await read_input_sized(request, service.lexicons, nsid, service.config.max_body)
        except XrpcError as e:
            if e.status == 413:  # the body is not kept: its size is, so a replay can send one as large
                entry["tooLarge"] = request.content_length or service.config.max_body + 1
            raise
        entry["input"] = body
        entry[BODY_BYTES] = size
    if service.network is not None:  # the caller and the accounts the call names, met if they are new
        if "iss" in claims:
            viewer = await service.network.caller(claims["iss"].partition("#")[0])
        await service.network.learn([*params.values(), *(body or {}).values()])
    if service.faults.rules:
        await apply_fault(request, service, nsid, viewer, {**params, **(body or {})}, entry)
    if viewer is not None:
        # after the last await: the state may have been replaced meanwhile (a reset, a scenario, a
        # dump), and a call must act in the state it finds, as the account it finds there
        current = service.state.actors.get(viewer.did)
        if current is None:
            raise invalid_token("Token is for an account this server does not know")
        viewer = current
    if registered.acts and viewer is not None:
        refuse_disabled(defn, nsid, viewer)  # after the input checks: a malformed call is a 400 first
    reads_only = verb == "GET" and not registered.writes
    key = (nsid, viewer.did if viewer else None, tuple(request.query.items())) if reads_only else None
    cached = service.reads.get(key) if key is not None else None
    if cached is not None and cached[0] == service.writes:
        entry["output"] = cached[1]  # the same bytes object: kept once, whoever holds it
        _remember_repeat(request, service, viewer, claims, entry, cached[1])
        return web.Response(body=cached[1], content_type=JSON_TYPE, charset="utf-8")
    call = Call(service, nsid, params, body, viewer, claims)
    with service.clock.frozen():
        entry["time"] = service.clock.iso()
        if registered.writes:
            service.touch()
        try:
            output = registered.fn(call)
        finally:
            if registered.writes:
                service.touch()
    if service.config.strict and defn.get("output"):
        problem = service.lexicons.output_problem(nsid, output)
        if problem:
            log.error("strict mode: %s returned an invalid response: %s", nsid, problem)
            raise XrpcError(
                "InternalServerError",
                f"Strict mode: the response of {nsid} breaks its lexicon: {problem}",
                500,
            )
    if output is None:
        entry["output"] = None
        return web.Response()
    if isinstance(output, Jsonl):
        entry["output"] = {"lines": len(output.lines)}  # the journal keeps a count, not the export
        return web.Response(body=output.encode(), content_type="application/jsonl", charset="utf-8")
    data = encode(output)
    entry["output"] = data
    if key is not None:
        service.remember_read(key, data)
        _remember_repeat(request, service, viewer, claims, entry, data)
    return web.Response(body=data, content_type=JSON_TYPE, charset="utf-8")


@dataclass(frozen=True, slots=True)
class Repeat:
    """A query answered before, as sent (path and query, token), until the state changes."""

    writes: int
    actor: str | None
    exp: Any
    epoch: Any
    params: Json
    answer: bytes


def _remember_repeat(
    request: web.Request, service: Service, viewer: Actor | None, claims: Json, entry: Json, answer: bytes
) -> None:
    """Keep what a repeat of this very request needs: the same answer, and what its journal entry says."""
    if service.faults.rules or service.network is not None or request.method != "GET" or "iss" in claims:
        return
    raw = ("repeat", request.raw_path, request.headers.get("Authorization"))
    actor = viewer.did if viewer is not None else None
    kept = Repeat(service.writes, actor, claims.get("exp"), claims.get("epoch"), entry["params"], answer)
    service.remember_repeat(raw, kept)


def repeat(request: web.Request, service: Service) -> tuple[web.Response, Json] | None:
    """The answer to a query sent exactly as before while nothing changed, and its journal entry
    (the one the full path makes); None otherwise. Nothing is parsed or checked again that could
    come out differently: the state, the token's epoch and the faults are as they were, and the
    token's expiry is read anew."""
    if service.faults.rules:
        return None
    hit = service.reads.get(("repeat", request.raw_path, request.headers.get("Authorization")))
    if not isinstance(hit, Repeat) or hit.writes != service.writes:
        return None
    if hit.actor is not None:
        now = service.clock.timestamp()
        if not isinstance(hit.exp, (int, float)) or hit.exp <= now or hit.epoch != service.tokens.epoch:
            return None  # an expired token: the full path says so
    entry = {
        "time": service.clock.iso(),
        "actor": hit.actor,
        "method": request.match_info["nsid"],
        "params": dict(hit.params),  # its own: a journal entry is never shared with another
        "input": None,
        "output": hit.answer,
        "status": 200,
        "error": None,
        "message": None,
    }
    return web.Response(body=hit.answer, content_type=JSON_TYPE, charset="utf-8"), entry
