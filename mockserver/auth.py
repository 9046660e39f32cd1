"""Session tokens as a PDS issues them: HS256 JWTs whose ``exp`` follows the server clock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import jwt

from .clock import Clock
from .errors import auth_required, expired_token, invalid_token
from .ids import Ids
from .state import Actor, State

ACCESS_SCOPE = "com.atproto.access"
REFRESH_SCOPE = "com.atproto.refresh"
ACCESS_TTL = 2 * 60 * 60
REFRESH_TTL = 90 * 24 * 60 * 60
VERIFIED_CACHE = 20_000
"""Tokens whose claims are known without decoding: those this server issued and those it checked
(about 800 bytes each). Past it, the older half is forgotten (and decoded again if it comes back)."""

Scope = Literal["access", "refresh"]


@dataclass
class SessionTokens:
    """A pair of tokens for one session."""

    access_jwt: str
    refresh_jwt: str


class Tokens:
    """Issues and verifies session tokens with a per-server secret."""

    def __init__(self, secret: str, clock: Clock, ids: Ids, service_did: str) -> None:
        self._secret = secret
        self._clock = clock
        self._ids = ids
        self.service_did = service_did
        self._verified: dict[str, dict[str, Any]] = {}
        """Claims of access tokens issued here or whose signature was checked already (expiry,
        epoch and revocation are checked each time)."""
        self.epoch = 0
        """Bumped whenever the state is replaced: a token carries the epoch it was issued in, and
        one from an earlier epoch is refused (the state it was issued for is gone)."""

    def issue(self, state: State, actor: Actor) -> SessionTokens:
        """New access and refresh tokens for ``actor``; the refresh token is recorded as live."""
        now = self._clock.timestamp()
        jti = self._ids.token(24)
        refresh = {
            "scope": REFRESH_SCOPE,
            "sub": actor.did,
            "aud": self.service_did,
            "jti": jti,
            "iat": now,
            "exp": now + REFRESH_TTL,
            "epoch": self.epoch,
        }
        state.sessions[jti] = actor.did
        return SessionTokens(self.access_token(actor), self._encode(refresh))

    def refresh_token(self, actor: Actor, jti: str) -> str:
        """A refresh token for a session that exists already (no randomness, no new session)."""
        now = self._clock.timestamp()
        claims = {"scope": REFRESH_SCOPE, "sub": actor.did, "aud": self.service_did, "jti": jti, "iat": now}
        claims["epoch"] = self.epoch
        return self._encode({**claims, "exp": now + REFRESH_TTL})

    def access_token(self, actor: Actor, *, expired: bool = False) -> str:
        """A new access token for ``actor`` (it uses no randomness, so replays stay in step);
        ``expired``: one whose ``exp`` passed a minute ago."""
        now = self._clock.timestamp() - (ACCESS_TTL + 60 if expired else 0)
        access = {
            "scope": ACCESS_SCOPE,
            "sub": actor.did,
            "aud": self.service_did,
            "iat": now,
            "exp": now + ACCESS_TTL,
            "epoch": self.epoch,
        }
        token = self._encode(access)
        self._know(token, access)  # its first use needs no decoding: these are the claims it carries
        return token

    def _encode(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._secret, algorithm="HS256", headers={"typ": _typ(claims)})

    def _know(self, token: str, claims: dict[str, Any]) -> None:
        verified = self._verified
        if len(verified) >= VERIFIED_CACHE:
            for old in list(verified)[: VERIFIED_CACHE // 2]:  # the oldest half: dicts keep insertion order
                del verified[old]
        verified[token] = claims

    def verify(self, state: State, authorization: str | None, scope: Scope) -> tuple[Actor, dict[str, Any]]:
        """The actor and claims of a ``Bearer`` token of the given scope, or a 401 XRPC error."""
        if not authorization:
            raise auth_required("Authentication required: send an 'Authorization: Bearer <token>' header")
        kind, _, token = authorization.partition(" ")
        if kind.lower() != "bearer" or not token.strip():
            raise invalid_token("Malformed authorization header: expected 'Bearer <token>'")
        token = token.strip()
        if not token.isascii():
            raise invalid_token("Malformed token: a JWT is ASCII text")
        claims = self._verified.get(token)
        if claims is None:
            try:
                claims = jwt.decode(
                    token,
                    self._secret,
                    algorithms=["HS256"],
                    audience=self.service_did,
                    options={"verify_exp": False, "verify_iat": False, "require": ["sub", "exp", "scope"]},
                )
            except jwt.PyJWTError as e:
                raise invalid_token(f"Token could not be verified: {e}") from None
            self._know(token, claims)
        if claims.get("epoch") != self.epoch:
            raise invalid_token(
                "Token was issued before the mock's state was replaced (a reset, a scenario or a state load): "
                "log in again"
            )
        problem = None
        if not isinstance(claims["exp"], (int, float)) or claims["exp"] <= self._clock.timestamp():
            problem = expired_token("Token has expired")
        elif claims["scope"] != (ACCESS_SCOPE if scope == "access" else REFRESH_SCOPE):
            problem = invalid_token(f"Bad token scope: this method needs a {scope} token")
        elif scope == "refresh" and claims.get("jti") not in state.sessions:
            problem = invalid_token("Token has been revoked")
        if problem is not None:
            problem.did = claims["sub"] if isinstance(claims["sub"], str) else None
            raise problem
        actor = state.actors.get(claims["sub"])
        if actor is None:
            raise invalid_token("Token is for an account this server does not know")
        return actor, claims

    def revoke(self, state: State, claims: dict[str, Any]) -> None:
        """End the session a refresh token belongs to."""
        state.sessions.pop(claims.get("jti", ""), None)


def _typ(claims: dict[str, Any]) -> str:
    return "at+jwt" if claims["scope"] == ACCESS_SCOPE else "refresh+jwt"
