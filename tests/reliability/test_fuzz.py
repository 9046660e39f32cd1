"""A property-based fuzzer over every served method: lexicon-shaped and malformed inputs alike.

Whatever comes in: never a 5xx, always an XRPC error body on a 4xx, and a 4xx changes nothing.
"""

from __future__ import annotations

import json
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
EXAMPLES = 400
QUERY_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789&=%+;,.-_~!*'()[]$:@/?"
FIGURES: dict[str, int] = {"calls": 0, "malformed": 0, "4xx": 0, "5xx": 0, "state checks": 0}


@pytest.fixture(scope="module")
def target() -> Iterator[tuple[MockChatServer, httpx.Client, Json]]:
    with MockChatServer(seed=1, strict=True) as server:
        loaded = server.load_scenario("demo")
        client = httpx.Client(base_url=server.url, verify=SSL, timeout=10)
        token = client.post(f"/_mock/actors/{loaded.actors['alice'].did}/token").json()["accessJwt"]
        words = {
            "convos": list(loaded.convos.values()),
            "codes": list(loaded.codes.values()),
            "dids": [a.did for a in loaded.actors.values()],
            "token": token,
        }
        yield server, client, words
        client.close()
    print(f"\nfuzz figures: {FIGURES}")


def _ref(ref: str, lexicon: str) -> Json:
    name = lexicon.split("#")[0] + ref if ref.startswith("#") else ref
    schema = DEFS.get(name) or {}
    return schema.get("record", schema) if schema.get("type") == "record" else schema


def value(schema: Json, lexicon: str, words: Json, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values shaped like a lexicon schema, salted with real ids so rules get exercised."""
    kind = schema.get("type")
    if kind == "ref" and depth < 4:
        return value(_ref(schema["ref"], lexicon), schema["ref"] if "." in schema["ref"] else lexicon, words, depth + 1)
    if kind == "string":
        options = [st.text(max_size=60), st.sampled_from(words["convos"] + words["codes"] + words["dids"])]
        if schema.get("knownValues"):
            options.append(st.sampled_from(schema["knownValues"]))
        return st.one_of(*options)
    if kind == "integer":
        return st.integers(min_value=-5, max_value=200)
    if kind == "boolean":
        return st.booleans()
    if kind == "array" and depth < 4:
        return st.lists(value(schema.get("items", {}), lexicon, words, depth + 1), max_size=4)
    if kind == "object" and depth < 4:
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        return st.fixed_dictionaries(
            {k: value(v, lexicon, words, depth + 1) for k, v in props.items() if k in required},
            optional={k: value(v, lexicon, words, depth + 1) for k, v in props.items() if k not in required},
        )
    return st.one_of(st.none(), st.integers(), st.text(max_size=10))


JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def with_lone_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return value + "\ud800"
    if isinstance(value, list):
        return [with_lone_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {k: with_lone_surrogates(v) for k, v in value.items()}
    return value


@st.composite
def request(draw: st.DrawFn, words: Json) -> tuple[str, str, Json]:
    """(nsid, how, arguments) for one call: well shaped, or broken in one of many ways."""
    nsid = draw(st.sampled_from(NSIDS))
    defn = bundled().method(nsid) or {}
    how = draw(
        st.sampled_from(
            [
                "shaped",
                "shaped",
                "shaped",
                "junk",
                "wrong-verb",
                "bad-json",
                "bad-utf8",
                "content-type",
                "huge",
                "anonymous",
                "odd-query",
                "surrogate",
            ]
        )
    )
    if defn["type"] == "procedure":
        schema = (defn.get("input") or {}).get("schema") or {"type": "object", "properties": {}}
    else:
        schema = {"type": "object", **(defn.get("parameters") or {"properties": {}})}
        schema["type"] = "object"
    args = draw(value(schema, nsid, words)) if how in ("shaped", "anonymous", "wrong-verb", "surrogate") else {}
    if how == "surrogate":  # a lone surrogate in every string: escaped in JSON, invalid in UTF-8
        args = with_lone_surrogates(args)
    if how == "junk":
        args = {"junk": draw(JUNK)}
    if how == "odd-query":
        args = {"raw": draw(st.text(alphabet=QUERY_CHARS, max_size=40))}
    return nsid, how, args


def send(client: httpx.Client, nsid: str, how: str, args: Json, token: str) -> httpx.Response:
    defn = bundled().method(nsid) or {}
    headers = {} if how == "anonymous" else {"Authorization": f"Bearer {token}"}
    url = f"/xrpc/{nsid}"
    procedure = defn["type"] == "procedure"
    if how == "wrong-verb":
        return client.get(url, headers=headers) if procedure else client.post(url, json=args, headers=headers)
    if how == "odd-query":
        return client.request("GET" if not procedure else "POST", url + "?" + args["raw"], headers=headers)
    if not procedure:
        params = [
            (k, str(x).lower() if isinstance(x, bool) else str(x))
            for k, v in args.items()
            for x in (v if isinstance(v, list) else [v])
        ]
        if how == "surrogate":  # percent-encoded as the bytes of a lone surrogate: not UTF-8
            query = "&".join(f"{k}={quote(v, encoding='utf-8', errors='surrogatepass')}" for k, v in params)
            return client.get(f"{url}?{query}", headers=headers)
        return client.get(url, params=params, headers=headers)
    if how == "junk":
        return client.post(
            url, content=json.dumps(args["junk"]), headers={**headers, "content-type": "application/json"}
        )
    if how == "bad-json":
        return client.post(url, content=b'{"convoId": ', headers={**headers, "content-type": "application/json"})
    if how == "bad-utf8":
        return client.post(url, content=b'{"x": "\xff\xfe"}', headers={**headers, "content-type": "application/json"})
    if how == "content-type":
        return client.post(url, content=b"convoId=x", headers={**headers, "content-type": "text/plain"})
    if how == "surrogate" and procedure:  # json.dumps escapes the surrogates as \\ud800
        return client.post(url, content=json.dumps(args), headers={**headers, "content-type": "application/json"})
    if how == "huge":
        return client.post(
            url,
            content=b'{"a": "' + b"x" * (1024 * 1024 + 10) + b'"}',
            headers={**headers, "content-type": "application/json"},
        )
    return client.post(url, json=args, headers=headers)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(data=st.data())
def test_no_input_breaks_the_server(target: tuple[MockChatServer, httpx.Client, Json], data: st.DataObject) -> None:
    _, client, words = target
    nsid, how, args = data.draw(request(words))
    before = client.get("/_mock/state").json()
    response = send(client, nsid, how, args, words["token"])
    FIGURES["calls"] += 1
    FIGURES["malformed"] += how != "shaped"
    assert response.status_code < 500, (nsid, how, args, response.text)
    if response.status_code >= 400:
        FIGURES["4xx"] += 1
        body = response.json()
        assert set(body) == {"error", "message"} and body["error"] and body["message"], body
        after = client.get("/_mock/state").json()
        FIGURES["state checks"] += 1
        assert after == before, (nsid, how, args, body)
    # the server goes on serving
    assert client.get("/_mock/version").status_code == 200
