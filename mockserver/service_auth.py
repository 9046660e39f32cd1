"""Service-auth JWTs, as a PDS forwards chat calls with them: checked in the order and with the
error names of atproto's own services (``@atproto/xrpc-server``'s ``verifyJwt``).

Parsing and the signature check are the ``atproto`` SDK's; the claims are checked here, because
the SDK leaves out ``typ`` and ``lxm`` and reads ``exp`` on the wall clock, not the mock's.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any

from .errors import XrpcError

SERVICE_ALGS = ("ES256K", "ES256")
"""The algorithms of service-auth tokens (a PDS signs with the account's atproto key)."""
REFUSED_TYPES = ("at+jwt", "refresh+jwt", "dpop+jwt")
"""Session and proof tokens: never service-auth tokens."""

KeyLookup = Callable[[str, bool], Awaitable[str]]
"""``(iss, fresh) -> did:key``; raises :class:`XrpcError` when the issuer cannot be resolved."""


def bad(error: str, message: str) -> XrpcError:
    """A 401 service-auth refusal."""
    return XrpcError(error, message, 401)


def _part(token: str, index: int) -> dict[str, Any] | None:
    """One JSON part of a JWT (0: header, 1: claims), unverified, or None when it is not one."""
    parts = token.split(".")
    if len(parts) <= index:
        return None
    text = parts[index]
    try:
        value = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def header_of(token: str) -> dict[str, Any] | None:
    """A JWT's header, unverified, or None when it is not one."""
    return _part(token, 0)


def foreign_session_type(token: str, own_aud: str) -> str | None:
    """The ``typ`` of a session token someone else issued (a PDS's own access token sent straight
    to the chat service), or None: the chat service refuses those as ``BadJwtType``."""
    header = _part(token, 0)
    if header is None or header.get("typ") not in REFUSED_TYPES:
        return None
    claims = _part(token, 1) or {}
    return None if claims.get("aud") == own_aud else str(header["typ"])


def is_service_token(token: str) -> bool:
    """Whether a bearer token is a service-auth JWT (signed with an account key, not a session secret)."""
    header = header_of(token)
    return header is not None and header.get("alg") in SERVICE_ALGS


async def verify(token: str, own_did: str, lxm: str, now: float, key: KeyLookup) -> str:
    """The issuer DID of a valid service-auth token for method ``lxm``, else a 401 named as
    atproto's services name it: ``BadJwt``, ``BadJwtType``, ``JwtExpired``, ``BadJwtAudience``,
    ``BadJwtLexiconMethod``, ``BadJwtIss``, ``BadJwtSignature``."""
    from atproto_crypto.did import parse_did_key
    from atproto_crypto.verify import verify_signature
    from atproto_server.auth.jwt import parse_jwt

    if token.count(".") != 2:
        raise bad("BadJwt", "poorly formatted jwt")
    try:
        payload_bytes, signing_input, header, signature = parse_jwt(token)
        payload = json.loads(payload_bytes)
    except Exception:  # the SDK raises its own decode errors, binascii and JSON ones
        raise bad("BadJwt", "poorly formatted jwt") from None
    if not isinstance(payload, dict):
        raise bad("BadJwt", "poorly formatted jwt")
    if header.get("typ") in REFUSED_TYPES:
        raise bad("BadJwtType", f'Invalid jwt type "{header["typ"]}"')
    exp, iss, aud = payload.get("exp"), payload.get("iss"), payload.get("aud")
    numeric_exp = isinstance(exp, (int, float)) and not isinstance(exp, bool)
    if not numeric_exp or not isinstance(iss, str) or not isinstance(aud, str):
        raise bad("BadJwt", "poorly formatted jwt")
    assert isinstance(exp, (int, float))
    if now > exp:
        raise bad("JwtExpired", "jwt expired")
    if aud != own_did:
        raise bad("BadJwtAudience", "jwt audience does not match service did")
    if payload.get("lxm") != lxm:
        kind = "missing" if "lxm" not in payload else "bad"
        raise bad("BadJwtLexiconMethod", f'{kind} jwt lexicon method ("lxm"). must match: {lxm}')
    did = iss.split("#", 1)[0]
    if not did.startswith("did:") or did.count(":") < 2:
        raise bad("BadJwtIss", "jwt iss is not a valid did")

    def valid(did_key: str) -> bool:
        try:  # the key decides the curve; the header must name the same one
            return parse_did_key(did_key).jwt_alg == header.get("alg") and bool(
                verify_signature(did_key, signing_input, signature)
            )
        except Exception:  # an unknown key type, a key of the wrong curve for the signature
            return False

    signing_key = await key(did, False)
    if valid(signing_key):
        return did
    fresh = await key(did, True)  # the account may have rotated its key since we read it
    if fresh != signing_key and valid(fresh):
        return did
    raise bad("BadJwtSignature", "jwt signature does not match jwt issuer")
