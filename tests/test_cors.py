"""CORS: browser apps on allowed origins may call XRPC and the admin API; preflights are answered."""

from __future__ import annotations

import httpx
from conftest import SSL

from mockserver import Config, MockChatServer


def test_preflight_and_headers_for_any_origin(server: MockChatServer, admin_http: httpx.Client) -> None:
    headers = {
        "Origin": "http://localhost:5173",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, atproto-proxy",
    }
    answer = admin_http.options("/xrpc/chat.bsky.group.createGroup", headers=headers)
    assert answer.status_code == 204
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    allowed = answer.headers["Access-Control-Allow-Headers"]
    for name in ("authorization", "content-type", "atproto-proxy"):
        assert name in allowed
    assert "POST" in answer.headers["Access-Control-Allow-Methods"]
    answer = admin_http.options("/_mock/actors", headers=headers)
    assert answer.status_code == 204
    # real calls carry the header, errors included
    answer = admin_http.get("/xrpc/chat.bsky.convo.listConvos", headers={"Origin": "http://localhost:5173"})
    assert answer.status_code == 401 and answer.headers["Access-Control-Allow-Origin"] == "*"
    answer = admin_http.get("/_mock/actors", headers={"Origin": "http://localhost:5173"})
    assert answer.headers["Access-Control-Allow-Origin"] == "*"


def test_configured_origins_only() -> None:
    with MockChatServer(config=Config(cors_origins=("http://app.test",))) as server:
        good = {"Origin": "http://app.test", "Access-Control-Request-Method": "GET"}
        answer = httpx.options(f"{server.url}/xrpc/chat.bsky.convo.listConvos", headers=good, verify=SSL)
        assert answer.status_code == 204 and answer.headers["Access-Control-Allow-Origin"] == "http://app.test"
        assert answer.headers["Vary"] == "Origin"
        bad = {"Origin": "http://evil.test", "Access-Control-Request-Method": "GET"}
        answer = httpx.options(f"{server.url}/xrpc/chat.bsky.convo.listConvos", headers=bad, verify=SSL)
        assert answer.status_code == 403 and "http://evil.test" in answer.json()["message"]
        answer = httpx.get(f"{server.url}/_mock/actors", headers={"Origin": "http://evil.test"}, verify=SSL)
        assert "Access-Control-Allow-Origin" not in answer.headers


def test_state_page_is_served(admin_http: httpx.Client) -> None:
    answer = admin_http.get("/_mock/")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    assert "bsky-chat-mock" in answer.text and 'admin("version")' in answer.text
    version = admin_http.get("/_mock/version").json()["version"]
    admin_http.post("/_mock/actors", json={})
    assert admin_http.get("/_mock/version").json()["version"] > version
