"""A property-based fuzzer over every served method: lexicon-shaped and malformed inputs alike.

Whatever comes in: never a 5xx, always an XRPC error body on a 4xx, and a 4xx changes nothing.
Each method gets its own run from the demo scenario's state, with shaped calls (values drawn
from the lexicon, salted with the state's real ids so the method's rules are reached, and with
strings over the lexicon's limits) and malformed ones (broken in a way that suits a query or a
procedure). Each method's run must reach past validation at least once.
"""

from __future__ import annotations

import json
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
SHAPED_EXAMPLES = 12
MALFORMED_EXAMPLES = 2  # per kind of breakage
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
]

#: breakages that no method may accept
ALWAYS_REJECTED = {"wrong-verb", "bad-json", "bad-utf8", "content-type", "oversized-body", "oversized-query"}
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
    if how == "huge-strings":  # valid JSON under the body limit, every string far over any lexicon limit
        big = {k: ("y" * 100_000 if p.get("type") == "string" else args.get(k)) for k, p in props.items()}
        return client.post(
            url, json={k: v for k, v in big.items() if v is not None} or {"x": "y" * 100_000}, headers=headers
        )
    raise AssertionError(how)


def check(client: httpx.Client, before: Json, response: httpx.Response, seen: Counter[str], context: Any) -> None:
    """The fuzzer's property: no 5xx; a 4xx is an XRPC error body and changed nothing."""
    FIGURES["calls"] += 1
    assert response.status_code < 500, (context, response.text)
    if response.status_code < 400:
        seen["2xx"] += 1
        FIGURES["2xx"] += 1
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
    _, client = target
    seen: Counter[str] = Counter()
    tokens = words["refresh" if nsid in REFRESH_METHODS else "access"]

    @settings(max_examples=SHAPED_EXAMPLES, **SettingsKw)
    @given(args=value(input_schema(nsid), nsid, words), caller=st.sampled_from(tokens))
    def run(args: Json, caller: str) -> None:
        before = client.get("/_mock/state").json()
        response = send_shaped(client, nsid, args, {"Authorization": f"Bearer {caller}"})
        FIGURES["shaped"] += 1
        check(client, before, response, seen, (nsid, args))

    run()
    # the run reached the method itself, not only its validation
    assert seen["2xx"] + seen["rule errors"] > 0, (nsid, seen)


@pytest.mark.parametrize("nsid", NSIDS)
def test_malformed_inputs(target: tuple[MockChatServer, httpx.Client], words: Json, nsid: str) -> None:
    _, client = target
    seen: Counter[str] = Counter()
    kinds = MALFORMED_PROCEDURE if is_procedure(nsid) else MALFORMED_QUERY
    token = words["refresh" if nsid in REFRESH_METHODS else "access"][0]

    rejected = set(ALWAYS_REJECTED)
    typed = [p for p in input_schema(nsid).get("properties", {}).values() if p.get("type") in ("integer", "boolean")]
    rejected |= (
        {"wrong-types"} if (typed if not is_procedure(nsid) else input_schema(nsid).get("properties")) else set()
    )
    rejected |= {"lone-surrogates"} if string_fields(nsid) else set()
    rejected |= {"anonymous"} if METHODS[nsid].auth in ("access", "refresh") else set()
    for kind in kinds:  # every kind of breakage on every method

        @settings(max_examples=MALFORMED_EXAMPLES, **SettingsKw)
        @given(how=st.just(kind), args=value(input_schema(nsid), nsid, words), data=st.data())
        def run(how: str, args: Json, data: st.DataObject) -> None:
            before = client.get("/_mock/state").json()
            response = send_malformed(client, nsid, how, args, {"Authorization": f"Bearer {token}"}, data.draw)
            FIGURES["malformed"] += 1
            FIGURES[f"malformed: {how}"] += 1
            check(client, before, response, seen, (nsid, how, args))
            if how in rejected:
                assert response.status_code >= 400, (nsid, how, args, response.text)

        run()
