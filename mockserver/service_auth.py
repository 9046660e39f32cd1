"""Service-auth JWTs, as a PDS forwards chat calls with them: checked in the order and with the
error names of atproto's own services (``@atproto/xrpc-server``'s ``verifyJwt``: its
``parseHeader`` and ``parsePayload`` type checks, the ``typ``, ``exp``, ``aud``, ``lxm`` and
``iss`` checks, then the signature, malleable signatures accepted as it accepts them).

The signature itself is checked by the ``atproto`` SDK against the issuer's ``did:key``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from .errors import XrpcError

REFUSED_TYPES = ("at+jwt", "refresh+jwt", "dpop+jwt")
"""Session and proof tokens: never service-auth tokens."""
CURVE_ORDERS = {
    "ES256K": 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141,
    "ES256": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
}
DID = re.compile(r"did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]")
"""atproto's DID syntax (``@atproto/syntax``), at most 2048 characters."""

KeyLookup = Callable[[str, bool], Awaitable[str]]
"""``(iss, fresh) -> did:key`` (``iss`` with its fragment: ``#atproto_labeler`` signs with the
labeler's key); raises :class:`XrpcError` when the issuer cannot be resolved."""


class ServiceAuthError(XrpcError):
    """A refused service-auth token (the journal marks the call, and a replay passes over it)."""


def bad(error: str, message: str) -> ServiceAuthError:
    """A 401 service-auth refusal."""
    return ServiceAuthError(error, message, 401)


def _json_part(text: str) -> Any:
    """A base64url JSON part of a JWT as ``JSON.parse`` reads it (strict: no NaN, no BOM), or None."""
    raw = _json_part_bytes(text)
    try:
        return orjson.loads(raw) if raw is not None else None
    except ValueError:
        return None


def is_own_token(token: str, own_aud: str) -> bool:
    """Whether a token looks like one of the mock's own session tokens (HS256, its audience):
    those go to the mock's login, everything else, in chat service mode, to :func:`verify`."""
    parts = token.split(".")
    if len(parts) != 3:
        return False
    header, claims = _json_part(parts[0]), _json_part(parts[1])
    return (
        isinstance(header, dict)
        and header.get("alg") == "HS256"
        and isinstance(claims, dict)
        and claims.get("aud") == own_aud
    )


def is_service_token(token: str) -> bool:
    """Whether a bearer token claims to be signed with an account key (ES256K or ES256)."""
    header = _json_part(token.split(".", 1)[0])
    return isinstance(header, dict) and header.get("alg") in CURVE_ORDERS


def _valid_iss(iss: str) -> bool:
    did, hash_mark, fragment = iss.partition("#")
    if hash_mark and (not fragment or "#" in fragment):
        return False
    return len(did) <= 2048 and DID.fullmatch(did) is not None


def compact_low_s(signature: bytes, alg: str) -> bytes | None:
    """A signature as 64 bytes ``r || s`` with a low ``s``: atproto's services verify malleable
    signatures (high ``s``, or DER encoded) too, and the SDK takes only this form."""
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    if len(signature) == 64:
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    else:
        try:
            r, s = decode_dss_signature(signature)
        except ValueError:
            return None
    order = CURVE_ORDERS.get(alg)
    if order is None or not (0 < r < order and 0 < s < order):
        return None
    return r.to_bytes(32, "big") + min(s, order - s).to_bytes(32, "big")


async def verify(token: str, own_did: str, lxm: str, now: float, key: KeyLookup) -> str:
    """The issuer (``DID`` or ``DID#service``) of a valid service-auth token for method ``lxm``, else a 401 named as
    atproto's services name it: ``BadJwt``, ``BadJwtType``, ``JwtExpired``, ``BadJwtAudience``,
    ``BadJwtLexiconMethod``, ``BadJwtIss``, ``BadJwtSignature``."""
    from atproto_crypto.did import parse_did_key
    from atproto_crypto.verify import verify_signature

    parts = token.split(".")
    if len(parts) != 3:
        raise bad("BadJwt", "poorly formatted jwt")
    header = _json_part(parts[0])
    if not isinstance(header, dict) or not isinstance(header.get("alg"), str):
        raise bad("BadJwt", "poorly formatted jwt")
    if header.get("typ") in REFUSED_TYPES:
        raise bad("BadJwtType", f'Invalid jwt type "{header["typ"]}"')
    payload = _json_part(parts[1])
    if not isinstance(payload, dict):
        raise bad("BadJwt", "poorly formatted jwt")
    exp, iss, aud = payload.get("exp"), payload.get("iss"), payload.get("aud")
    lexicon_method, nonce = payload.get("lxm"), payload.get("nonce")
    if (
        not isinstance(iss, str)
        or not isinstance(aud, str)
        or not isinstance(exp, (int, float))
        or isinstance(exp, bool)
        or (lexicon_method and not isinstance(lexicon_method, str))
        or (nonce and not isinstance(nonce, str))
    ):
        raise bad("BadJwt", "poorly formatted jwt")
    if now > exp:
        raise bad("JwtExpired", "jwt expired")
    if aud != own_did:
        raise bad("BadJwtAudience", "jwt audience does not match service did")
    if lexicon_method != lxm:
        kind = "missing" if "lxm" not in payload else "bad"
        raise bad("BadJwtLexiconMethod", f'{kind} jwt lexicon method ("lxm"). must match: {lxm}')
    if not iss or not _valid_iss(iss):
        raise bad("BadJwtIss", "jwt iss is not a valid did")
    signing_input = f"{parts[0]}.{parts[1]}".encode()
    raw = _json_part_bytes(parts[2])
    alg = header["alg"]

    def valid(did_key: str) -> bool:
        try:  # the key decides the curve; the header must name the same one
            if parse_did_key(did_key).jwt_alg != alg:
                return False
        except Exception:  # a key of a kind the SDK does not know
            return False
        signature = compact_low_s(raw, alg) if raw is not None else None
        try:
            return signature is not None and bool(verify_signature(did_key, signing_input, signature))
        except Exception:
            return False

    signing_key = await key(iss, False)
    if valid(signing_key):
        return iss
    fresh = await key(iss, True)  # the account may have rotated its key since we read it
    if fresh != signing_key and valid(fresh):
        return iss
    raise bad("BadJwtSignature", "jwt signature does not match jwt issuer")


def _json_part_bytes(text: str) -> bytes | None:
    """A base64url part of a JWT as bytes, or None."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, binascii.Error):
        return None
