"""A property-based fuzzer over every served method and admin route: shaped and malformed inputs.

Whatever comes in: never a 5xx, always an XRPC error body on a 4xx, and a 4xx changes nothing;
after every call that changed something, every read still answers for every member (the views,
the log, the state dump and its encoding). Each method gets its own run from the demo scenario's
state, with shaped calls (values drawn from the lexicon, salted with the state's real ids so the
method's rules are reached, and with strings over the lexicon's limits) and malformed ones
(broken in a way that suits a query or a procedure: nesting, unicode, huge numbers, wrong types
inside unions, header bytes, ...). Each method's run must reach past validation at least once.

``FUZZ_SCALE`` multiplies the number of examples (``make test``: 1, about 2,000 calls;
``make bench``: 6, over 10,000).
"""

from __future__ import annotations

import json
import os
import socket
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from conftest import SSL
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockserver import MockChatServer
from mockserver.lexicons import bundled
from mockserver.xrpc import METHODS

Json = dict[str, Any]
DEFS = bundled()._base.defs
NSIDS = sorted(nsid for nsid in METHODS if bundled().method(nsid))
SCALE = int(os.environ.get("FUZZ_SCALE", "1"))
SHAPED_EXAMPLES = 12 * SCALE
MALFORMED_EXAMPLES = 2 * SCALE  # per kind of breakage
QUERY_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789&=%+;,.-_~!*'()[]$:@/?"
#: errors that validation or authentication give before a method's own rules run
EARLY_ERRORS = {"InvalidRequest", "AuthenticationRequired", "InvalidToken", "ExpiredToken", "PayloadTooLarge"}
FIGURES: Counter[str] = Counter()
REFRESH_METHODS = {"com.atproto.server.refreshSession", "com.atproto.server.deleteSession"}
MALFORMED_PROCEDURE = [
    "junk-body",
    "wrong-verb",
    "bad-json",
    "bad-utf8",
    "content-type",
    "oversized-body",
    "anonymous",
    "lone-surrogates",
    "missing-field",
    "wrong-types",
    "huge-strings",
    "deep-nesting",
    "unicode",
    "huge-numbers",
    "union-types",
    "header-bytes",
]
MALFORMED_QUERY = [
    "wrong-verb",
    "odd-query",
    "bad-utf8",
    "lone-surrogates",
    "anonymous",
    "wrong-types",
    "missing-field",
    "repeated-param",
    "oversized-query",
    "unicode",
    "huge-numbers",
    "header-bytes",
]

#: breakages that no method may accept
ALWAYS_REJECTED = {
    "wrong-verb",
    "bad-json",
    "bad-utf8",
    "content-type",
    "oversized-body",
    "oversized-query",
    "deep-nesting",
    "union-types",
}
UNICODE = [
    "\U0001d518\U0001d52b\U0001d526",
    "é",
    "a\u0301\u0302",
    "٣٤",
    "५",
    "①",
    "²",
    "\u200f\u202e",
    "👩‍👩‍👧",
    "\ufeff",
    "𠜎",
    "\u0000",
]
HUGE = [10**30, -(10**30), 2**64, 2**63, -(2**63) - 1, 10**400]
SettingsKw: Json = {"deadline": None, "suppress_health_check": list(HealthCheck), "derandomize": True}


@pytest.fixture(scope="module")
def target() -> Iterator[tuple[MockChatServer, httpx.Client]]:
    with MockChatServer(seed=1, strict=True) as server, httpx.Client(base_url=server.url, verify=SSL) as client:
        yield server, client
    print(f"\nfuzz figures: {dict(sorted(FIGURES.items()))}")


@pytest.fixture
def words(target: tuple[MockChatServer, httpx.Client]) -> Json:
    """The demo scenario, loaded afresh: real ids and tokens to salt the inputs with."""
    server, client = target
    loaded = server.load_scenario("demo")
    sessions = [client.post(f"/_mock/actors/{a.did}/session").json() for a in loaded.actors.values()]
    message_ids = server.call(lambda s: [m.id for c in s.state.convos.values() for m in c.messages])
    return {
        "convoId": list(loaded.convos.values()),
        "code": list(loaded.codes.values()),
        "did": [a.did for a in loaded.actors.values()],
        "handle": [a.handle for a in loaded.actors.values()],
        "messageId": message_ids,
        "value": ["👍", "❤️", "x", ""],
        "password": ["password"],  # every demo account's
        "collection": ["chat.bsky.actor.declaration", "app.bsky.feed.post"],
        "rkey": ["self", "other"],
        "record": [
            {"$type": "chat.bsky.actor.declaration", "allowIncoming": "following"},
            {"allowIncoming": "none", "allowGroupInvites": "all"},
            {"allowIncoming": "sometimes"},
        ],
        "access": [t["accessJwt"] for t in sessions],
        "refresh": [t["refreshJwt"] for t in sessions],
    }


def _ref(ref: str, lexicon: str) -> Json:
    name = lexicon.split("#")[0] + ref if ref.startswith("#") else ref
    schema = DEFS.get(name) or {}
    return schema.get("record", schema) if schema.get("type") == "record" else schema


def _known(name: str, schema: Json, words: Json) -> list[str]:
    """The state's real values for a field, by its name or format."""
    if schema.get("format") == "did" or name in ("member", "members"):
        return list(words["did"])
    if name in ("actor", "actors", "identifier") or schema.get("format") in ("handle", "at-identifier"):
        return words["did"] + words["handle"]
    return list(words.get(name.rstrip("s") if name.endswith("Ids") else name, []))


def _string(name: str, schema: Json, words: Json) -> st.SearchStrategy[str]:
    """Mostly real values (so the method's rules are reached), sometimes any text, sometimes a
    string over the lexicon's limit (or a long one where it sets none)."""
    known = _known(name, schema, words) or list(schema.get("knownValues") or schema.get("enum") or [])
    limit = schema.get("maxLength") or schema.get("maxGraphemes")
    over = st.integers(limit + 1, limit + 50).map(lambda n: "é" * n) if limit else st.just("x" * 2_000)
    kinds = ["known"] * 7 + ["text", "text", "over"] if known else ["text"] * 4 + ["over"]
    pick = {"known": st.sampled_from(known or [""]), "text": st.text(max_size=40), "over": over}
    return st.sampled_from(kinds).flatmap(lambda kind: pick[kind])


def value(schema: Json, lexicon: str, words: Json, name: str = "", depth: int = 0) -> st.SearchStrategy[Any]:
    """Values shaped like a lexicon schema, salted with real ids so rules get exercised."""
    kind = schema.get("type")
    if kind == "ref" and depth < 4:
        ref = schema["ref"]
        return value(_ref(ref, lexicon), ref if "." in ref else lexicon, words, name, depth + 1)
    if kind == "union" and depth < 4 and schema.get("refs"):
        return st.one_of(*(value({"type": "ref", "ref": r}, lexicon, words, name, depth + 1) for r in schema["refs"]))
    if kind == "string":
        return _string(name, schema, words)
    if kind == "integer":
        low, high = schema.get("minimum", -5), schema.get("maximum", 200)
        return st.integers(min_value=low - 2, max_value=high + 2)
    if kind == "boolean":
        return st.booleans()
    if kind == "array" and depth < 4:
        size = schema.get("maxLength", 4)
        return st.lists(value(schema.get("items", {}), lexicon, words, name, depth + 1), max_size=min(size + 1, 4))
    if kind == "object" and depth < 4:
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        return st.fixed_dictionaries(
            {k: value(v, lexicon, words, k, depth + 1) for k, v in props.items() if k in required},
            optional={k: value(v, lexicon, words, k, depth + 1) for k, v in props.items() if k not in required},
        )
    if kind == "unknown" and words.get(name):
        return st.one_of(st.sampled_from(words[name]), JUNK)
    return st.one_of(st.none(), st.integers(), st.text(max_size=10))


def input_schema(nsid: str) -> Json:
    defn = bundled().method(nsid) or {}
    if defn["type"] == "procedure":
        return (defn.get("input") or {}).get("schema") or {"type": "object", "properties": {}}
    return {**(defn.get("parameters") or {"properties": {}}), "type": "object"}


def string_fields(nsid: str) -> list[str]:
    """Top-level fields holding a string or a list of strings."""
    return [
        name
        for name, p in input_schema(nsid).get("properties", {}).items()
        if p.get("type") == "string" or (p.get("type") == "array" and p.get("items", {}).get("type") == "string")
    ]


def is_procedure(nsid: str) -> bool:
    return (bundled().method(nsid) or {})["type"] == "procedure"


JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
WRONG = {"string": 7, "integer": "seven", "boolean": "yes", "array": {"not": "a list"}, "object": ["not", "an object"]}


def with_lone_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return value + "\ud800"
    if isinstance(value, list):
        return [with_lone_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {k: with_lone_surrogates(v) for k, v in value.items()}
    return value


def query_params(args: Json) -> list[tuple[str, str]]:
    return [
        (k, str(x).lower() if isinstance(x, bool) else str(x))
        for k, v in args.items()
        for x in (v if isinstance(v, list) else [v])
    ]


def send_shaped(client: httpx.Client, nsid: str, args: Json, headers: dict[str, str]) -> httpx.Response:
    url = f"/xrpc/{nsid}"
    if is_procedure(nsid):
        return client.post(url, json=args, headers=headers)
    return client.get(url, params=query_params(args), headers=headers)


def send_malformed(
    client: httpx.Client, nsid: str, how: str, args: Json, headers: dict[str, str], draw: st.DrawFn
) -> httpx.Response:
    """One request broken as ``how`` says (``args`` is a shaped input to break)."""
    url = f"/xrpc/{nsid}"
    json_type = {**headers, "content-type": "application/json"}
    schema = input_schema(nsid)
    props: Json = schema.get("properties", {})
    if how == "anonymous":
        return send_shaped(client, nsid, args, {})
    if how == "wrong-verb":
        return client.get(url, headers=headers) if is_procedure(nsid) else client.post(url, json=args, headers=headers)
    if how == "missing-field":  # every required field dropped (a method without one gets a junk field)
        kept = {k: v for k, v in args.items() if k not in schema.get("required", [])} or {"junk": 1}
        return send_shaped(client, nsid, kept, headers)
    if how == "wrong-types":  # every field of the wrong type (in a query string only numbers and booleans can be)
        if is_procedure(nsid):
            wrong = {k: WRONG.get(p.get("type"), 7) for k, p in props.items()} or {"junk": {"a": 1}}
            return client.post(url, json=wrong, headers=headers)
        typed = {k: WRONG[p["type"]] for k, p in props.items() if p.get("type") in ("integer", "boolean")}
        return client.get(url, params={**args, **typed}, headers=headers)
    if how == "lone-surrogates":  # in every string, and always in the first string field
        broken = with_lone_surrogates(args)
        if string_fields(nsid):
            first = string_fields(nsid)[0]
            broken[first] = ["a\ud800"] if props[first]["type"] == "array" else "a\ud800"
        if is_procedure(nsid):  # json.dumps escapes them as \\ud800: valid JSON syntax, not valid text
            return client.post(url, content=json.dumps(broken), headers=json_type)
        # percent-encoded as the bytes of a lone surrogate: not UTF-8
        query = "&".join(f"{k}={quote(v, errors='surrogatepass')}" for k, v in query_params(broken))
        return client.get(f"{url}?{query}", headers=headers)
    if how == "bad-utf8":
        if is_procedure(nsid):
            return client.post(url, content=b'{"convoId": "\xff\xfe"}', headers=json_type)
        name = next(iter(props), "x")
        return client.get(f"{url}?{name}=%ff%fe%fd", headers=headers)
    if how == "odd-query":
        return client.get(f"{url}?{draw(st.text(alphabet=QUERY_CHARS, max_size=60))}", headers=headers)
    if how == "repeated-param":  # a parameter that is not an array, given twice
        name = next((k for k, p in props.items() if p.get("type") != "array"), "x")
        return client.get(url, params=[(name, "a"), (name, "b")], headers=headers)
    if how == "oversized-query":
        return client.get(url, params={next(iter(props), "x"): "q" * 9000}, headers=headers)
    if how == "junk-body":
        return client.post(url, content=json.dumps(draw(JUNK)), headers=json_type)
    if how == "bad-json":
        return client.post(
            url, content=draw(st.sampled_from([b'{"convoId": ', b"{'a': 1}", b"[1,]", b"nul"])), headers=json_type
        )
    if how == "content-type":
        kind = draw(st.sampled_from(["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]))
        return client.post(url, content=json.dumps(args).encode(), headers={**headers, "content-type": kind})
    if how == "oversized-body":
        return client.post(url, content=b'{"a": "' + b"x" * (1024 * 1024 + 10) + b'"}', headers=json_type)
    if how == "deep-nesting":  # a field nested past the limit, written by hand (json.dumps would recurse)
        depth = draw(st.sampled_from([33, 40, 200, 1000, 1100, 5000]))
        field = draw(st.sampled_from(sorted(props) or ["x"]))
        text = json.dumps({**args, field: "DEEP"}).replace('"DEEP"', "[" * depth + "{}" + "]" * depth)
        return client.post(url, content=text.encode(), headers=json_type)
    if how == "unicode":  # every string made of astral, combining, RTL, other scripts' digits, NUL
        odd = with_strings(
            args, lambda s: s + "".join(draw(st.lists(st.sampled_from(UNICODE), min_size=1, max_size=4)))
        )
        return send_shaped(client, nsid, odd, headers)
    if how == "huge-numbers":  # every integer far past 64 bits, every string a 5000-digit number
        big = draw(st.sampled_from(HUGE))
        odd = with_numbers(with_strings(args, lambda s: "9" * 5000 if draw(st.booleans()) else s), big)
        if not is_procedure(nsid):
            odd.update({k: big for k, p in props.items() if p.get("type") == "integer"})
            return client.get(url, params=query_params(odd), headers=headers)
        text = json.dumps(odd)
        return client.post(url, content=text.encode(), headers=json_type)
    if how == "union-types":  # a union (an embed, a facet feature) of the wrong shape
        wrong = draw(
            st.sampled_from(["a string", 5, True, None, [1], {"$type": 5}, {"$type": ["x"]}, {"$type": {}}, {}])
        )
        broken = put_in_unions(schema, nsid, args, wrong)
        return client.post(url, json=broken, headers=headers)
    if how == "header-bytes":  # an Authorization header of non-ASCII or control bytes, sent raw
        junk = draw(
            st.sampled_from(
                ["Bearer héllo€".encode(), b"Bearer \xff\xfe\x80", b"Bearer a\x01b", "🙂".encode(), b"Bearer "]
            )
        )
        return raw_request(client, "POST" if is_procedure(nsid) else "GET", url, junk, json.dumps(args).encode())
    if how == "huge-strings":  # valid JSON under the body limit, every string far over any lexicon limit
        big = {k: ("y" * 100_000 if p.get("type") == "string" else args.get(k)) for k, p in props.items()}
        return client.post(
            url, json={k: v for k, v in big.items() if v is not None} or {"x": "y" * 100_000}, headers=headers
        )
    raise AssertionError(how)


def with_strings(value: Any, change: Any) -> Any:
    """``value`` with every string (not keys, not ``$type``) passed through ``change``."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, list):
        return [with_strings(v, change) for v in value]
    if isinstance(value, dict):
        return {k: (v if k == "$type" else with_strings(v, change)) for k, v in value.items()}
    return value


def with_numbers(value: Any, number: int) -> Any:
    """``value`` with every integer replaced by ``number``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return number
    if isinstance(value, list):
        return [with_numbers(v, number) for v in value]
    if isinstance(value, dict):
        return {k: with_numbers(v, number) for k, v in value.items()}
    return value


def union_paths(schema: Json, lexicon: str, depth: int = 0) -> list[list[str]]:
    """Paths (property names; ``[]`` for array items) from an input schema to its unions."""
    if depth > 6:
        return []
    kind = schema.get("type")
    if kind == "ref":
        ref = schema["ref"]
        return union_paths(_ref(ref, lexicon), ref if "." in ref else lexicon, depth + 1)
    if kind == "union":
        return [[]]
    if kind == "array":
        return [["[]", *p] for p in union_paths(schema.get("items", {}), lexicon, depth + 1)]
    if kind == "object":
        return [[k, *p] for k, v in schema.get("properties", {}).items() for p in union_paths(v, lexicon, depth + 1)]
    return []


def put_in_unions(schema: Json, nsid: str, args: Json, wrong: Any) -> Json:
    """``args`` with ``wrong`` at every union position the schema has (made where missing)."""
    out = json.loads(json.dumps(args))
    for path in union_paths(schema, nsid):
        node: Any = out
        for i, part in enumerate(path):
            last = i == len(path) - 1
            nxt = path[i + 1] if not last else None
            if part == "[]":
                if not isinstance(node, list):
                    break
                if not node:
                    node.append({})
                if last:
                    node[0] = wrong
                else:
                    node = node[0]
                continue
            if not isinstance(node, dict):
                break
            if last:
                node[part] = wrong
            else:
                if not isinstance(node.get(part), (dict, list)):
                    node[part] = [{}] if nxt == "[]" else {}
                node = node[part]
    return out


def raw_request(client: httpx.Client, verb: str, url: str, authorization: bytes, body: bytes) -> httpx.Response:
    """A request with header bytes httpx refuses to send: written to a socket, read back by httpx's
    own parser (h11) into a Response."""
    port = client.base_url.port
    head = f"{verb} {url} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(
            head.encode()
            + b"Authorization: "
            + authorization
            + f"\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        data = b""
        while chunk := raw.recv(65536):
            data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    headers_blob, _, content = rest.partition(b"\r\n\r\n")
    status = int(status_line.split()[1])
    return httpx.Response(
        status, content=content, headers=[tuple(h.split(b": ", 1)) for h in headers_blob.split(b"\r\n") if b": " in h]
    )


def reads_work(server: MockChatServer) -> None:
    """Every member's reads render, validate against their lexicons and encode, and the state
    dumps: what a stored input must always allow (run in the server's loop, as its handlers are)."""

    def every_read(service: Any) -> int:
        from mockserver import snapshot
        from mockserver.xrpc import Call, encode

        count = 0
        for actor in list(service.state.actors.values()):
            reads: list[tuple[str, Json]] = [
                ("chat.bsky.convo.listConvos", {"limit": 100}),
                ("chat.bsky.convo.getLog", {"cursor": ""}),
                ("chat.bsky.convo.getUnreadCounts", {"includeGroupChats": True}),
            ]
            for convo_id in service.state.convos_of(actor.did):
                reads += [
                    ("chat.bsky.convo.getConvo", {"convoId": convo_id}),
                    ("chat.bsky.convo.getMessages", {"convoId": convo_id, "limit": 100}),
                    ("chat.bsky.convo.getConvoMembers", {"convoId": convo_id, "limit": 100}),
                ]
            for nsid, params in reads:
                output = METHODS[nsid].fn(Call(service, nsid, params, None, actor))
                problem = service.lexicons.output_problem(nsid, output)
                assert problem is None, (nsid, actor.handle, problem)
                encode(output)
                count += 1
        encode(snapshot.dump(service))
        snapshot.as_scenario(service)
        return count

    FIGURES["reads checked after a change"] += server.call(every_read)


def check(
    client: httpx.Client,
    before: Json,
    response: httpx.Response,
    seen: Counter[str],
    context: Any,
    server: MockChatServer | None = None,
) -> None:
    """The fuzzer's property: no 5xx; a 4xx is an XRPC error body and changed nothing; after a
    change, every read still works for every member."""
    FIGURES["calls"] += 1
    assert response.status_code < 500, (context, response.text)
    if response.status_code < 400:
        seen["2xx"] += 1
        FIGURES["2xx"] += 1
        if server is not None and client.get("/_mock/state").json() != before:
            reads_work(server)
    else:
        body = response.json()
        assert set(body) == {"error", "message"} and body["error"] and body["message"], body
        FIGURES["4xx"] += 1
        seen[f"{body['error']}: {body['message'][:70]}"] += 1
        if body["error"] not in EARLY_ERRORS:
            seen["rule errors"] += 1
            FIGURES["4xx from a method's own rules"] += 1
        after = client.get("/_mock/state").json()
        FIGURES["state checks"] += 1
        assert after == before, (context, body)
    assert client.get("/_mock/version").status_code == 200  # the server goes on serving


@pytest.mark.parametrize("nsid", NSIDS)
def test_shaped_inputs(target: tuple[MockChatServer, httpx.Client], words: Json, nsid: str) -> None:
    server, client = target
    seen: Counter[str] = Counter()
    tokens = words["refresh" if nsid in REFRESH_METHODS else "access"]

    @settings(max_examples=SHAPED_EXAMPLES, **SettingsKw)
    @given(args=value(input_schema(nsid), nsid, words), caller=st.sampled_from(tokens))
    def run(args: Json, caller: str) -> None:
        before = client.get("/_mock/state").json()
        response = send_shaped(client, nsid, args, {"Authorization": f"Bearer {caller}"})
        FIGURES["shaped"] += 1
        check(client, before, response, seen, (nsid, args), server)

    run()
    # the run reached the method itself, not only its validation
    assert seen["2xx"] + seen["rule errors"] > 0, (nsid, seen)


@pytest.mark.parametrize("nsid", NSIDS)
def test_malformed_inputs(target: tuple[MockChatServer, httpx.Client], words: Json, nsid: str) -> None:
    server, client = target
    seen: Counter[str] = Counter()
    kinds = MALFORMED_PROCEDURE if is_procedure(nsid) else MALFORMED_QUERY
    if not union_paths(input_schema(nsid), nsid):
        kinds = [k for k in kinds if k != "union-types"]
    token = words["refresh" if nsid in REFRESH_METHODS else "access"][0]

    rejected = set(ALWAYS_REJECTED)
    typed = [p for p in input_schema(nsid).get("properties", {}).values() if p.get("type") in ("integer", "boolean")]
    rejected |= (
        {"wrong-types"} if (typed if not is_procedure(nsid) else input_schema(nsid).get("properties")) else set()
    )
    rejected |= {"lone-surrogates"} if string_fields(nsid) else set()
    rejected |= {"anonymous", "header-bytes"} if METHODS[nsid].auth in ("access", "refresh") else set()
    for kind in kinds:  # every kind of breakage on every method

        @settings(max_examples=MALFORMED_EXAMPLES, **SettingsKw)
        @given(how=st.just(kind), args=value(input_schema(nsid), nsid, words), data=st.data())
        def run(how: str, args: Json, data: st.DataObject) -> None:
            before = client.get("/_mock/state").json()
            response = send_malformed(client, nsid, how, args, {"Authorization": f"Bearer {token}"}, data.draw)
            FIGURES["malformed"] += 1
            FIGURES[f"malformed: {how}"] += 1
            check(client, before, response, seen, (nsid, how, args), server)
            if how in rejected:
                assert response.status_code >= 400, (nsid, how, args, response.text)

        run()


ADMIN_TEXT = st.one_of(
    st.text(max_size=20),
    st.sampled_from(UNICODE),
    st.sampled_from(["alice.test", "bob", "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", "", "²", "9" * 300]),
)
ADMIN_VALUE = st.one_of(ADMIN_TEXT, st.sampled_from(HUGE), st.integers(-3, 3), st.booleans(), st.none(), JUNK)


def admin_bodies(fields: dict[str, Any]) -> st.SearchStrategy[Json]:
    """Bodies for an admin route: its fields with odd values (and sometimes an unknown one)."""
    return st.fixed_dictionaries({}, optional={**fields, "zzz": ADMIN_VALUE})


def mutated(draw: st.DrawFn, state: Json) -> Json:
    """A state dump with one value somewhere replaced by something odd."""
    out = json.loads(json.dumps(state))
    node: Any = out
    for _ in range(draw(st.integers(1, 6))):
        if isinstance(node, dict) and node:
            key = draw(st.sampled_from(sorted(node)))
            if isinstance(node[key], (dict, list)) and node[key] and draw(st.booleans()):
                node = node[key]
                continue
            node[key] = draw(ADMIN_VALUE)
            break
        if isinstance(node, list) and node:
            i = draw(st.integers(0, len(node) - 1))
            if isinstance(node[i], (dict, list)) and node[i] and draw(st.booleans()):
                node = node[i]
                continue
            node[i] = draw(ADMIN_VALUE)
            break
        break
    return out


ADMIN_ROUTES = [
    "POST /_mock/actors",
    "PATCH /_mock/actors/{id}",
    "GET /_mock/actors/{id}",
    "POST /_mock/actors/{id}/session",
    "POST /_mock/actors/{id}/token",
    "PATCH /_mock/convos/{id}",
    "GET /_mock/convos/{id}",
    "POST /_mock/reset",
    "POST /_mock/scenarios/load",
    "PUT /_mock/state",
    "POST /_mock/clock",
    "POST /_mock/faults",
    "DELETE /_mock/faults/{id}",
    "GET /_mock/journal",
]


@pytest.mark.parametrize("route", ADMIN_ROUTES)
def test_admin_routes(target: tuple[MockChatServer, httpx.Client], words: Json, route: str) -> None:
    server, client = target
    seen: Counter[str] = Counter()
    verb, template = route.split(" ")
    state = client.get("/_mock/state").json()
    ids = {
        "actors": words["did"] + words["handle"],
        "convos": words["convoId"],
        "faults": ["1", "2"],
    }

    @settings(max_examples=15 * SCALE, **SettingsKw)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        draw = data.draw
        kind = template.split("/")[2]
        path = template
        if "{id}" in template:
            path = template.replace("{id}", quote(draw(st.one_of(st.sampled_from(ids[kind]), ADMIN_TEXT)), safe=""))
        body: Any = None
        params: Json = {}
        if route == "POST /_mock/actors" or route == "PATCH /_mock/actors/{id}":
            from mockserver.admin import ACTOR_FIELDS

            body = draw(admin_bodies({k: ADMIN_VALUE for k in ACTOR_FIELDS}))
        elif route == "PATCH /_mock/convos/{id}":
            body = draw(admin_bodies({"memberLimit": ADMIN_VALUE, "moderationLock": ADMIN_VALUE}))
        elif route == "POST /_mock/reset":
            body = draw(admin_bodies({"to": st.one_of(st.sampled_from(["empty", "scenario"]), ADMIN_VALUE)}))
        elif route == "POST /_mock/scenarios/load":
            body = draw(
                admin_bodies(
                    {
                        "name": st.one_of(st.sampled_from(["demo", "nope.jsonl", "x.yaml"]), ADMIN_VALUE),
                        "scenario": JUNK,
                    }
                )
            )
        elif route == "PUT /_mock/state":
            body = mutated(draw, state)
        elif route == "POST /_mock/clock":
            body = draw(admin_bodies({k: ADMIN_VALUE for k in ("set", "advance", "reset", "pin", "unpin")}))
        elif route == "POST /_mock/faults":
            body = draw(
                admin_bodies(
                    {k: ADMIN_VALUE for k in ("method", "actor", "error", "status", "times", "delay", "input")}
                )
            )
            body.pop("delay", None)  # a real delay would only slow the run
        elif route == "GET /_mock/journal":
            params = draw(st.fixed_dictionaries({}, optional={"since": ADMIN_TEXT, "limit": ADMIN_TEXT}))
        before = client.get("/_mock/state").json()
        faults = client.get("/_mock/faults").json()
        try:
            text = json.dumps(body) if body is not None else None
        except (ValueError, RecursionError):
            return
        response = client.request(
            verb, path, params=params, content=text, headers={"content-type": "application/json"} if text else {}
        )
        FIGURES["admin calls"] += 1
        FIGURES["calls"] += 1
        assert response.status_code < 500, (route, body, response.text)
        if response.status_code >= 400:
            out = response.json()
            assert set(out) == {"error", "message"}, out
            seen[out["error"]] += 1
            FIGURES["4xx"] += 1
            assert client.get("/_mock/state").json() == before, (route, body, out)
            assert client.get("/_mock/faults").json() == faults, (route, body, out)
        else:
            seen["2xx"] += 1
            FIGURES["2xx"] += 1
            if verb != "GET":
                reads_work(server)
        client.post("/_mock/clock", json={"reset": True})

    run()
    assert seen, route
