"""Replay: run a recording's calls again against a mock server and stop at the first difference.

Each call is made as its recorded actor (with a token from the admin API, so no password is
needed), at its recorded time (the server's clock is pinned to it), after the recorded starting
state is put back. Passwords are never recorded: after a replay, the recorded accounts' password
is ``password``.
"""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from yarl import URL

from .journal import REDACTED, SECRET_METHODS, redact
from .lexicons import bundled
from .recording import VERSION
from .xrpc import FAULT_HEADER

Json = dict[str, Any]
REPLAY_PASSWORD = "password"
SESSION_METHODS = ("com.atproto.server.refreshSession", "com.atproto.server.deleteSession")


@dataclass
class Mismatch:
    """The first call whose answer differs from the recorded one."""

    line: int
    seq: int | None
    method: str
    actor: str | None
    expected: Json
    got: Json

    def text(self) -> str:
        """A report a person can act on."""
        return (
            f"line {self.line} (call #{self.seq}, {self.method} as {self.actor or 'anonymous'}) answered differently:\n"
            f"  recorded: {json.dumps(self.expected, ensure_ascii=False)[:2000]}\n"
            f"  replayed: {json.dumps(self.got, ensure_ascii=False)[:2000]}"
        )


@dataclass
class ReplayReport:
    """What a replay did, and where it stopped if it did."""

    starts: int = 0
    admin: int = 0
    calls: int = 0
    mismatch: Mismatch | None = None
    actors: dict[str, str] = field(default_factory=dict)
    """Handle -> DID of the accounts in the last starting state."""
    passed_over: int = 0
    """Calls chat service mode refused for their service-auth token (made with a PDS's or a
    forger's key, which a replay does not hold; they changed nothing): not sent again."""
    loose: bool = False
    """The recording predates the current answer format: calls were compared by status and error only."""

    @property
    def ok(self) -> bool:
        """Whether every call answered as recorded."""
        return self.mismatch is None

    def text(self) -> str:
        """A one-paragraph summary."""
        head = f"replayed {self.calls} call(s), {self.admin} admin change(s), {self.starts} starting state(s)"
        if self.passed_over:
            head += f", passed over {self.passed_over} refused service-auth call(s)"
        if self.loose:
            head += (
                f" (a version 1 recording: answers compared by status and error only, as the answer format changed"
                f" in version {VERSION}; record it again to compare whole answers)"
            )
        return head + (": every answer matched" if self.ok else f"; stopped at {self.mismatch.text()}")  # type: ignore[union-attr]


def _passwords(body: Json) -> Json:
    return {k: (REPLAY_PASSWORD if k == "password" and v == REDACTED else v) for k, v in body.items()}


def _query(params: Json) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name, value in params.items():
        for item in value if isinstance(value, list) else [value]:
            out.append((name, "true" if item is True else "false" if item is False else str(item)))
    return out


class _Replayer:
    def __init__(self, http: aiohttp.ClientSession, url: str, admin_token: str | None) -> None:
        self.http = http
        self.url = url.rstrip("/")
        self.admin_headers = {"Authorization": f"Bearer {admin_token}"} if admin_token else {}
        self.refresh: dict[str, str] = {}
        """DID -> the refresh token it got last (recordings that name no session)."""
        self.sessions: dict[str, str] = {}
        """Session id (``jti``) -> refresh token: ids repeat in a replay, so a recorded call's
        ``session`` names the very token to use."""
        self.fault_ids: dict[str, int] = {}
        """Recorded fault id -> the id the same rule got in the replay."""
        self.report = ReplayReport()

    async def admin(self, method: str, path: str, body: Json | None = None) -> Json:
        async with self.http.request(method, self.url + path, json=body, headers=self.admin_headers) as r:
            data: Json = await r.json(content_type=None) if r.content_length != 0 else {}
            if r.status >= 400:
                raise RuntimeError(f"admin call {method} {path} failed: {r.status} {data}")
            return data

    async def start(self, line: Json) -> None:
        state = dict(line["state"])
        state["actors"] = [_passwords(a) for a in state["actors"]]
        await self.admin("PUT", "/_mock/state", state)
        await self.admin("DELETE", "/_mock/faults")
        self.fault_ids = {}
        for spec in line.get("faults") or []:
            spec = dict(spec)
            recorded = spec.pop("id", None)
            added = await self.admin("POST", "/_mock/faults", spec)
            if recorded is not None:
                self.fault_ids[str(recorded)] = added["id"]
        self.refresh = {}
        self.sessions = {}
        self.report.starts += 1
        self.report.actors = {a["handle"]: a["did"] for a in state["actors"]}

    async def change(self, line: Json) -> None:
        body = _passwords(line.get("body") or {})
        if line.get("time"):
            await self.admin("POST", "/_mock/clock", {"pin": line["time"]})
        if line["op"] == "createActor":
            made = await self.admin("POST", "/_mock/actors", body)
            self.keep(made["did"], made["refreshJwt"])
        elif line["op"] == "session":
            session = await self.admin("POST", f"/_mock/actors/{line['target']}/session")
            self.keep(session["did"], session["refreshJwt"])
        elif line["op"] == "updateActor":
            await self.admin("PATCH", f"/_mock/actors/{line['target']}", body)
        elif line["op"] == "updateConvo":
            await self.admin("PATCH", f"/_mock/convos/{line['target']}", body)
        elif line["op"] == "addFault":
            added = await self.admin("POST", "/_mock/faults", body)
            self.fault_ids[str((line.get("result") or {}).get("id"))] = added["id"]
        elif line["op"] == "removeFault":
            await self.admin("DELETE", f"/_mock/faults/{self.fault_ids.get(str(line['target']), line['target'])}")
        elif line["op"] == "clearFaults":
            await self.admin("DELETE", "/_mock/faults")
        else:
            raise ValueError(f"unknown admin op {line['op']!r}")
        self.report.admin += 1

    def keep(self, did: str, refresh_jwt: str) -> None:
        """Note a refresh token the replay was given, by its account and by its session id."""
        self.refresh[did] = refresh_jwt
        jti = _session_id(refresh_jwt)
        if jti:
            self.sessions[jti] = refresh_jwt

    async def call(self, number: int, line: Json) -> Json:
        await self.admin("POST", "/_mock/clock", {"pin": line["time"]})
        method, actor = line["method"], line.get("actor")
        if method == "com.atproto.server.createSession" and line.get("status") == 200:
            did = (line.get("output") or {}).get("did")
            session = await self.admin("POST", f"/_mock/actors/{did}/session")
            assert isinstance(did, str)
            self.keep(did, session["refreshJwt"])
            got: Json = {"status": 200, "error": None, "output": redact(_session_output(line, session))}
            return got
        headers: dict[str, str] = {}
        if "fault" in line:  # which fault rule the call took when recorded (None: none), the same again
            taken = line["fault"]
            headers[FAULT_HEADER] = "none" if taken is None else str(self.fault_ids.get(str(taken), taken))
        refused = line.get("error") if line.get("status") == 401 else None
        if refused == "InvalidToken":
            headers["Authorization"] = "Bearer not-a-token"  # forged, revoked or the wrong kind: refused alike
        elif refused == "ExpiredToken" and actor:
            token = await self.admin("POST", f"/_mock/actors/{actor}/token", {"expired": True})
            headers["Authorization"] = f"Bearer {token['accessJwt']}"
        elif actor and method in SESSION_METHODS:
            jti = str(line.get("session") or "")
            if jti and jti not in self.sessions:  # a session the starting state already held
                minted = await self.admin("POST", f"/_mock/actors/{actor}/session", {"session": jti})
                self.sessions[jti] = minted["refreshJwt"]
            refresh = self.sessions.get(jti) or self.refresh.get(actor, "")
            headers["Authorization"] = f"Bearer {refresh}"
        elif actor:
            token = await self.admin("POST", f"/_mock/actors/{actor}/token")
            headers["Authorization"] = f"Bearer {token['accessJwt']}"
        elif line.get("moderator"):
            headers.update(self.admin_headers)  # a moderator's call: the admin token speaks for them
        if line.get("status") == 0:
            # a call a fault dropped: aiohttp sends a GET again after a dropped connection, and
            # the second one would get through; this one must see the drop
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as once:
                once._retry_connection = False  # aiohttp has no public switch for its one retry of a GET
                return await self.send(once, line, headers)
        return await self.send(self.http, line, headers)

    async def send(self, http: aiohttp.ClientSession, line: Json, headers: dict[str, str]) -> Json:
        method, actor = line["method"], line.get("actor")
        url = f"{self.url}/xrpc/{method}"
        given = line.get("input")
        if method == "com.atproto.server.createSession" and line.get("status") != 200 and isinstance(given, dict):
            given = {**given, "password": "not the password"}  # it failed when recorded: it must fail again
        verb = line.get("httpMethod")
        if isinstance(line.get("rawQuery"), str):  # a query refused as sent (bad %-escapes): sent so again
            raw = URL(f"{url}?{line['rawQuery']}", encoded=True)
            request = http.request(verb or ("POST" if _is_procedure(line) else "GET"), raw, headers=headers)
        elif verb is not None:  # recorded with the wrong HTTP method
            request = http.request(verb, url, headers=headers, params=_query(line.get("params") or {}))
        elif line.get("tooLarge"):  # recorded as 413: a body as large again (bounded)
            size = min(int(line["tooLarge"]), 64 * 1024 * 1024)
            request = http.post(url, data=b" " * size, headers={**headers, "Content-Type": "application/json"})
        elif given is not None:
            request = http.post(url, json=_passwords(given), headers=headers)
        elif _is_procedure(line):
            request = http.post(url, headers=headers, params=_query(line.get("params") or {}))
        else:
            request = http.get(url, headers=headers, params=_query(line.get("params") or {}))
        try:
            async with request as r:
                text = await r.text()
                status = r.status
                body: Any
                if r.content_type == "application/jsonl":  # an export: journaled as its line count
                    body = {"lines": sum(1 for row in text.splitlines() if row.strip())}
                else:
                    body = json.loads(text) if text else None
        except aiohttp.ClientConnectionError:  # a fault dropped the connection, as it did when recorded
            return {"status": 0, "error": "ConnectionDropped", "output": None}
        if status == 200 and isinstance(body, dict) and method == "com.atproto.server.refreshSession" and actor:
            self.keep(actor, body["refreshJwt"])
        if status >= 400 and isinstance(body, dict):
            return {"status": status, "error": body.get("error"), "output": None}
        # only session calls have their secrets redacted in a recording (as in the journal)
        return {"status": status, "error": None, "output": redact(body) if method.startswith(SECRET_METHODS) else body}


def _session_id(token: str) -> str | None:
    """The ``jti`` of a refresh token the replay was handed (read, not verified: the server did that)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    jti = claims.get("jti") if isinstance(claims, dict) else None
    return jti if isinstance(jti, str) else None


def _service_auth_refusal(line: Json) -> bool:
    """A call chat service mode refused for its service-auth token."""
    return bool(line.get("serviceAuth")) and line.get("status") == 401


def _is_procedure(line: Json) -> bool:
    defn = bundled().method(line["method"]) or {}
    return defn.get("type") == "procedure"


def _session_output(line: Json, session: Json) -> Json:
    recorded: Json = line.get("output") or {}
    return {**recorded, "did": session["did"], "handle": session["handle"]}


def _expected(line: Json) -> Json:
    if line.get("status", 0) >= 400 or line.get("status") == 0:
        return {"status": line.get("status"), "error": line.get("error"), "output": None}
    return {"status": line.get("status"), "error": None, "output": line.get("output")}


def _outcome(result: Json) -> Json:
    """Status and error name only (how a version 1 recording is compared)."""
    return {"status": result["status"], "error": result["error"]}


async def replay_async(url: str, lines: list[Json], admin_token: str | None = None) -> ReplayReport:
    """Replay recording lines against the mock at ``url``; stops at the first difference."""
    async with aiohttp.ClientSession() as http:
        replayer = _Replayer(http, url, admin_token)
        replayer.report.loose = bool(lines) and lines[0].get("version", 1) < 2
        try:
            for number, line in enumerate(lines, start=1):
                if line["type"] == "start":
                    await replayer.start(line)
                elif line["type"] == "admin":
                    await replayer.change(line)
                elif _service_auth_refusal(line):
                    replayer.report.passed_over += 1
                else:
                    got = await replayer.call(number, line)
                    replayer.report.calls += 1
                    expected = _expected(line)
                    if replayer.report.loose:
                        expected, got = _outcome(expected), _outcome(got)
                    if got != expected:
                        replayer.report.mismatch = Mismatch(
                            number, line.get("seq"), line["method"], line.get("actor"), expected, got
                        )
                        break
        finally:
            await replayer.admin("POST", "/_mock/clock", {"unpin": True})
        return replayer.report


def replay(url: str, lines: list[Json], admin_token: str | None = None) -> ReplayReport:
    """:func:`replay_async` for code without a running event loop."""
    return asyncio.run(replay_async(url, lines, admin_token))
