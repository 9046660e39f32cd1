"""Every XRPC error the core produces, over raw HTTP: status, error name, and a message that says why."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
from collections.abc import Callable
from typing import Any

import aiohttp
import jwt
import pytest

from mockserver import MockChatServer
from mockserver.xrpc import Call

Json = dict[str, Any]


async def xrpc(http: aiohttp.ClientSession, method: str, url: str, **kwargs: Any) -> tuple[int, Json]:
    async with http.request(method, url, **kwargs) as response:
        text = await response.text()
        return response.status, json.loads(text) if text else {}


def assert_error(status: int, body: Json, want_status: int, name: str, *words: str) -> None:
    assert status == want_status, body
    assert set(body) == {"error", "message"}, body
    assert body["error"] == name, body
    for word in words:
        assert word in body["message"], body


def session_url(server: MockChatServer) -> str:
    return f"{server.url}/xrpc/com.atproto.server.createSession"


async def test_unknown_method_is_501(server: MockChatServer, http: aiohttp.ClientSession) -> None:
    status, body = await xrpc(http, "GET", f"{server.url}/xrpc/com.example.nothing")
    assert_error(status, body, 501, "MethodNotImplemented", "com.example.nothing")
    # a method the lexicons define but the mock does not serve
    status, body = await xrpc(http, "GET", f"{server.url}/xrpc/app.bsky.feed.getTimeline")
    assert_error(status, body, 501, "MethodNotImplemented", "app.bsky.feed.getTimeline", "chat only")


async def test_wrong_verb_is_invalid_request(server: MockChatServer, http: aiohttp.ClientSession) -> None:
    status, body = await xrpc(http, "GET", session_url(server))
    assert_error(status, body, 400, "InvalidRequest", "procedure", "POST")
    status, body = await xrpc(http, "POST", f"{server.url}/xrpc/app.bsky.actor.getProfile?actor=a.test")
    assert_error(status, body, 400, "InvalidRequest", "query", "GET")


async def test_invalid_json(server: MockChatServer, http: aiohttp.ClientSession) -> None:
    headers = {"Content-Type": "application/json"}
    status, body = await xrpc(http, "POST", session_url(server), data=b"{nope", headers=headers)
    assert_error(status, body, 400, "InvalidRequest", "not valid JSON")
    status, body = await xrpc(http, "POST", session_url(server), data=b"\xff\xfe{}", headers=headers)
    assert_error(status, body, 400, "InvalidRequest", "UTF-8")
    status, body = await xrpc(http, "POST", session_url(server), data=b"[1, 2]", headers=headers)
    assert_error(status, body, 400, "InvalidRequest", "JSON object")
    status, body = await xrpc(http, "POST", session_url(server), data=b"", headers=headers)
    assert_error(status, body, 400, "InvalidRequest", "empty")


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b'{"name": "x\\ud800y", "members": []}', "surrogate"),  # valid UTF-8, but no valid string
        (b'{"name": NaN, "members": []}', "not valid JSON"),
        (b'{"name": "G", "members": [], "extra": 1e999}', "infinity"),
    ],
    ids=["lone-surrogate-escape", "nan", "infinity"],
)
async def test_json_that_python_would_accept_but_is_not_valid_is_refused(
    raw: bytes, words: str, server: MockChatServer, http: aiohttp.ClientSession, make_actor: Callable[..., Json]
) -> None:
    """Escapes of lone surrogates once got through and broke the answer (a 500); NaN is not JSON."""
    alice = make_actor(handle="alice.test")
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {alice['accessJwt']}"}
    url = f"{server.url}/xrpc/chat.bsky.group.createGroup"
    status, body = await xrpc(http, "POST", url, data=raw, headers=headers)
    assert_error(status, body, 400, "InvalidRequest", words)
    assert server.dump()["convos"] == []


async def test_wrong_content_type(server: MockChatServer, http: aiohttp.ClientSession) -> None:
    status, body = await xrpc(
        http, "POST", session_url(server), data=b"identifier=a", headers={"Content-Type": "text/plain"}
    )
    assert_error(status, body, 400, "InvalidRequest", "text/plain", "application/json")


async def test_schema_violation_names_field_and_rule(server: MockChatServer, http: aiohttp.ClientSession) -> None:
    status, body = await xrpc(http, "POST", session_url(server), json={"identifier": "alice.test"})
    assert_error(status, body, 400, "InvalidRequest", "password", "missing required")
    status, body = await xrpc(http, "POST", session_url(server), json={"identifier": 5, "password": "x"})
    assert_error(status, body, 400, "InvalidRequest", "identifier", "type")
    many = "&".join(f"actors=a{i}.test" for i in range(26))
    status, body = await xrpc(http, "GET", f"{server.url}/xrpc/app.bsky.actor.getProfiles?{many}")
    assert_error(status, body, 400, "InvalidRequest", "actors", "maxLength 25")
    status, body = await xrpc(http, "GET", f"{server.url}/xrpc/app.bsky.actor.getProfile?actor=not%20a%20handle")
    assert_error(status, body, 400, "InvalidRequest", "actor", "at-identifier")
    status, body = await xrpc(http, "GET", f"{server.url}/xrpc/app.bsky.actor.getProfile")
    assert_error(status, body, 400, "InvalidRequest", "missing required", "actor")


async def test_grapheme_rule_in_message(server: MockChatServer, http: aiohttp.ClientSession) -> None:
    status, body = await xrpc(http, "POST", f"{server.url}/_mock/actors", json={"displayName": "é" * 65})
    assert_error(status, body, 400, "InvalidRequest", "displayName", "maxGraphemes 64")
    # 40 family emoji are 40 graphemes but 720 bytes: the byte rule (640) names itself
    status, body = await xrpc(http, "POST", f"{server.url}/_mock/actors", json={"displayName": "👩‍👩‍👧" * 40})
    assert_error(status, body, 400, "InvalidRequest", "displayName", "maxLength 640")


async def test_body_over_one_mib_is_413(server: MockChatServer, http: aiohttp.ClientSession) -> None:
    big = json.dumps({"identifier": "a" * (1024 * 1024), "password": "x"}).encode()
    headers = {"Content-Type": "application/json"}
    status, body = await xrpc(http, "POST", session_url(server), data=big, headers=headers)
    assert_error(status, body, 413, "PayloadTooLarge", "limit")

    async def chunks() -> Any:
        for _ in range(17):
            yield b" " * 65536

    # no Content-Length (chunked): the limit still holds
    status, body = await xrpc(http, "POST", session_url(server), data=chunks(), headers=headers)
    assert_error(status, body, 413, "PayloadTooLarge", "limit")
    # and the server goes on serving
    status, body = await xrpc(http, "POST", session_url(server), json={"identifier": "a.test", "password": "x"})
    assert_error(status, body, 401, "AuthenticationRequired")


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"GET /xrpc/chat.bsky.convo.listConvos?cursor=" + b"x" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", "8190"),
        (b"GET /xrpc/chat.bsky.convo.listConvos HTTP/1.1\r\nX-Big: " + b"y" * 9000 + b"\r\n\r\n", "8190"),
        (b"GARBAGE\r\n\r\n", "method"),
        (b"GET / HTTP/1.1\r\nNot a header\r\n\r\n", "header"),
    ],
    ids=["long-url", "long-header", "not-http", "broken-header"],
)
async def test_unparsable_http_gets_an_xrpc_error(
    server: MockChatServer, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture, raw: bytes, words: str
) -> None:
    """Requests aiohttp itself cannot parse: still a 400 XRPC body, no traceback logged, serving goes on."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(raw)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), timeout=10)
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0].split(b" ")[1] == b"400", head
    assert b"content-type: application/json" in head.lower(), head
    assert_error(400, json.loads(body), 400, "InvalidRequest", "Bad HTTP request", words)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    status, _ = await xrpc(http, "GET", f"{server.url}/_mock/version")
    assert status == 200


async def test_expect_100_continue_is_answered_before_the_body(
    server: MockChatServer, make_actor: Callable[..., Json]
) -> None:
    """curl sends ``Expect: 100-continue`` with bodies over 1 KiB and waits for the 100 before
    sending the body: XRPC calls skip the router (app.front) but not that."""
    make_actor(handle="alice.test")
    body = json.dumps({"identifier": "alice.test", "password": "wrong", "pad": "x" * 2000}).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(
        b"POST /xrpc/com.atproto.server.createSession HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Expect: 100-continue\r\nConnection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    await writer.drain()
    interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
    assert interim.startswith(b"HTTP/1.1 100"), interim
    writer.write(body)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), timeout=10)
    writer.close()
    head, _, text = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 401"), head
    assert_error(401, json.loads(text), 401, "AuthenticationRequired")


async def test_compressed_bodies(
    server: MockChatServer, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """A gzip body is read as JSON; a broken one is a 400 that closes the connection, not a 500."""
    body = json.dumps({"identifier": "nobody.test", "password": "x"}).encode()
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    status, answer = await xrpc(http, "POST", session_url(server), data=gzip.compress(body), headers=headers)
    assert_error(status, answer, 401, "AuthenticationRequired")  # read and decoded: the account is unknown
    for encoding in ("gzip", "deflate"):
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(
            b"POST /xrpc/com.atproto.server.createSession HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Encoding: " + encoding.encode() + b"\r\n"
            b"Content-Length: 10\r\n\r\n0123456789"
        )
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout=10)  # returns once the server closes
        writer.close()
        head, _, text = raw.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400") and b"connection: close" in head.lower(), head
        assert_error(400, json.loads(text), 400, "InvalidRequest", "could not be read", encoding)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    status, _ = await xrpc(http, "GET", f"{server.url}/_mock/version")
    assert status == 200


async def test_missing_malformed_expired_tokens(
    server: MockChatServer, http: aiohttp.ClientSession, make_actor: Callable[..., Json]
) -> None:
    alice = make_actor(handle="alice.test")
    url = f"{server.url}/xrpc/com.atproto.server.getSession"
    status, body = await xrpc(http, "GET", url)
    assert_error(status, body, 401, "AuthenticationRequired", "Authorization")
    status, body = await xrpc(http, "GET", url, headers={"Authorization": "Basic abc"})
    assert_error(status, body, 401, "InvalidToken", "Bearer")
    status, body = await xrpc(http, "GET", url, headers={"Authorization": "Bearer not.a.jwt"})
    assert_error(status, body, 401, "InvalidToken", "verified")
    forged = jwt.encode(
        {"sub": alice["did"], "scope": "com.atproto.access", "exp": 2**40}, "wrong-secret-of-thirty-two-bytes!", "HS256"
    )
    status, body = await xrpc(http, "GET", url, headers={"Authorization": f"Bearer {forged}"})
    assert_error(status, body, 401, "InvalidToken", "Signature")
    status, body = await xrpc(http, "GET", url, headers={"Authorization": f"Bearer {alice['refreshJwt']}"})
    assert_error(status, body, 401, "InvalidToken", "scope")
    server.service.clock.advance(2 * 3600 + 1)
    status, body = await xrpc(http, "GET", url, headers={"Authorization": f"Bearer {alice['accessJwt']}"})
    assert_error(status, body, 401, "ExpiredToken", "expired")


async def test_issued_tokens_are_known_and_forgotten_ones_decoded_again(
    server: MockChatServer,
    http: aiohttp.ClientSession,
    make_actor: Callable[..., Json],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An access token the mock issued is known without decoding (as fast as one used before);
    a copy with its claims changed is still refused, and a known token forgotten past the limit
    decodes again."""
    from mockserver import auth

    monkeypatch.setattr(auth, "VERIFIED_CACHE", 4)
    url = f"{server.url}/xrpc/com.atproto.server.getSession"
    alice = make_actor(handle="alice.test")
    head, _payload, signature = alice["accessJwt"].split(".")
    claims = jwt.decode(alice["accessJwt"], options={"verify_signature": False})
    assert claims["sub"] == alice["did"] and claims["scope"] == "com.atproto.access"
    changed = jwt.utils.base64url_encode(json.dumps({**claims, "exp": claims["exp"] + 1}).encode()).decode()
    status, body = await xrpc(http, "GET", url, headers={"Authorization": f"Bearer {head}.{changed}.{signature}"})
    assert_error(status, body, 401, "InvalidToken", "Signature")
    for n in range(6):  # more tokens than the mock keeps: alice's is forgotten
        make_actor(handle=f"other{n}.test")
    status, body = await xrpc(http, "GET", url, headers={"Authorization": f"Bearer {alice['accessJwt']}"})
    assert status == 200 and body["did"] == alice["did"]
    server.service.clock.advance(2 * 3600 + 1)  # known again now, and expiring all the same
    status, body = await xrpc(http, "GET", url, headers={"Authorization": f"Bearer {alice['accessJwt']}"})
    assert_error(status, body, 401, "ExpiredToken", "expired")


async def test_token_of_a_reset_account_is_invalid(
    server: MockChatServer, http: aiohttp.ClientSession, make_actor: Callable[..., Json]
) -> None:
    alice = make_actor(handle="alice.test")
    server.reset()
    url = f"{server.url}/xrpc/com.atproto.server.getSession"
    status, body = await xrpc(http, "GET", url, headers={"Authorization": f"Bearer {alice['accessJwt']}"})
    assert_error(status, body, 401, "InvalidToken", "state was replaced")


async def test_a_bug_is_a_logged_500_without_traceback(
    server: MockChatServer,
    http: aiohttp.ClientSession,
    register: Callable[..., list[Call]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from mockserver.xrpc import METHODS, Method

    def broken(call: Call) -> Json:
        raise KeyError("secret-internal-detail")

    register("chat.bsky.convo.getUnreadCounts", None)  # saves the real handler for afterwards
    METHODS["chat.bsky.convo.getUnreadCounts"] = Method("chat.bsky.convo.getUnreadCounts", broken, "none")
    with caplog.at_level(logging.ERROR, logger="mockserver"):
        status, body = await xrpc(http, "GET", f"{server.url}/xrpc/chat.bsky.convo.getUnreadCounts")
    assert_error(status, body, 500, "InternalServerError")
    assert "secret-internal-detail" not in body["message"]
    assert any(r.exc_info and "secret-internal-detail" in str(r.exc_info[1]) for r in caplog.records)
    # still serving
    status, _ = await xrpc(http, "GET", f"{server.url}/xrpc/com.example.nothing")
    assert status == 501


async def test_strict_mode_rejects_a_bad_response(
    server: MockChatServer, http: aiohttp.ClientSession, register: Callable[..., list[Call]]
) -> None:
    register("chat.bsky.convo.getUnreadCounts", {"unreadAcceptedConvos": "three"})
    status, body = await xrpc(http, "GET", f"{server.url}/xrpc/chat.bsky.convo.getUnreadCounts")
    assert_error(status, body, 500, "InternalServerError", "Strict mode", "unreadAcceptedConvos")


async def test_params_decoded_from_lexicon(
    server: MockChatServer, http: aiohttp.ClientSession, register: Callable[..., list[Call]]
) -> None:
    calls = register("chat.bsky.convo.getUnreadCounts", {"unreadAcceptedConvos": 0, "unreadRequestConvos": 0})
    base = f"{server.url}/xrpc/chat.bsky.convo.getUnreadCounts"
    status, _ = await xrpc(http, "GET", base)
    assert status == 200
    assert calls[-1].params == {"includeGroupChats": True}  # the lexicon's default
    status, _ = await xrpc(http, "GET", f"{base}?includeGroupChats=false&utm_source=x")
    assert status == 200
    assert calls[-1].params == {"includeGroupChats": False}  # unknown params are ignored
    status, body = await xrpc(http, "GET", f"{base}?includeGroupChats=maybe")
    assert_error(status, body, 400, "InvalidRequest", "includeGroupChats", "true or false")
    status, body = await xrpc(http, "GET", f"{base}?includeGroupChats=true&includeGroupChats=false")
    assert_error(status, body, 400, "InvalidRequest", "includeGroupChats", "more than once")

    calls = register("chat.bsky.group.listMutualGroups", {"convos": []})
    base = f"{server.url}/xrpc/chat.bsky.group.listMutualGroups"
    status, _ = await xrpc(http, "GET", f"{base}?subject=did:plc:abc&limit=7")
    assert status == 200
    assert calls[-1].params == {"subject": "did:plc:abc", "limit": 7}
    status, body = await xrpc(http, "GET", f"{base}?subject=did:plc:abc&limit=seven")
    assert_error(status, body, 400, "InvalidRequest", "limit", "integer")
    status, body = await xrpc(http, "GET", f"{base}?subject=did:plc:abc&limit=101")
    assert_error(status, body, 400, "InvalidRequest", "limit", "maximum 100")

    calls = register("chat.bsky.group.getJoinLinkPreviews", {"joinLinkPreviews": []})
    base = f"{server.url}/xrpc/chat.bsky.group.getJoinLinkPreviews"
    status, _ = await xrpc(http, "GET", f"{base}?codes=a&codes=b")
    assert status == 200
    assert calls[-1].params == {"codes": ["a", "b"]}
    status, _ = await xrpc(http, "GET", f"{base}?codes=solo")
    assert calls[-1].params == {"codes": ["solo"]}
    status, _ = await xrpc(http, "GET", f"{base}?codes=caf%C3%A9+bar")  # UTF-8 escapes and + decoded
    assert calls[-1].params == {"codes": ["café bar"]}
    count = len(calls)
    for bad in ("%ff%fe", "%ED%A0%80", "%C3"):  # not UTF-8: a stray byte, a lone surrogate, a cut sequence
        status, body = await xrpc(http, "GET", f"{base}?codes=ok&codes={bad}")
        assert_error(status, body, 400, "InvalidRequest", "'codes'", "not valid UTF-8")
    assert len(calls) == count  # the handler never ran


async def test_unknown_paths_and_admin_errors(server: MockChatServer, http: aiohttp.ClientSession) -> None:
    status, body = await xrpc(http, "GET", f"{server.url}/nothing-here")
    assert_error(status, body, 404, "NotFound", "/nothing-here")
    status, body = await xrpc(http, "DELETE", f"{server.url}/_mock/reset")
    assert_error(status, body, 405, "MethodNotAllowed")
