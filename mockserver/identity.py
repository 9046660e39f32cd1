"""DID documents, as a chat service reads them in chat service mode: the signing key, the
handle and the PDS of an account, resolved from a PLC directory or over did:web.

The document itself is read with the ``atproto`` SDK (both key encodings: the legacy
``EcdsaSecp256k1VerificationKey2019`` form local PLCs serve, and ``Multikey``).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import aiohttp

MISS_TTL = 5.0
"""Seconds a DID that did not resolve is not asked for again (calls name many DIDs)."""
TIMEOUT = aiohttp.ClientTimeout(total=10)


class Unresolvable(Exception):
    """A DID whose document could not be found or read."""


@dataclass(frozen=True)
class DidInfo:
    """What a DID document says about an account."""

    did: str
    handle: str | None
    """The first ``at://`` entry of ``alsoKnownAs``, as the document claims it."""
    pds: str | None
    """The ``#atproto_pds`` service endpoint."""
    key: str | None
    """The ``#atproto`` signing key as a ``did:key``."""
    label_key: str | None = None
    """The ``#atproto_label`` key (a labeler's, which signs as ``iss: DID#atproto_labeler``)."""


def web_did_url(did: str) -> str:
    """Where a ``did:web`` document lives: ``/.well-known/did.json`` of its host, over http for
    ``localhost`` (as atproto's resolver does in development), https for any other host. A
    ``did:web`` with a path is refused, as atproto refuses it."""
    host = unquote(did.removeprefix("did:web:"))
    if ":" in did.removeprefix("did:web:") or "/" in host or not host:
        raise Unresolvable(f"{did}: a did:web with a path is not supported (atproto resolves only host did:webs)")
    return f"{web_origin(host)}/.well-known/did.json"


def web_origin(host: str) -> str:
    """``http://`` for ``localhost`` (as atproto's resolver does in development), else ``https://``."""
    return f"{'http' if host.split(':')[0] == 'localhost' else 'https'}://{host}"


def read_document(did: str, doc: Any) -> DidInfo:
    """The handle, PDS and signing key of a DID document (which must be this DID's)."""
    from atproto_core.did_doc import DidDocument, is_valid_did_doc

    try:
        if not isinstance(doc, dict) or not is_valid_did_doc(doc):
            raise Unresolvable(f"{did}: not a DID document")
        parsed = DidDocument.from_dict(doc)
        if parsed.id != did:
            raise Unresolvable(f"{did}: the document is for {parsed.id}")
        return DidInfo(did, parsed.get_handle(), parsed.get_pds_endpoint(), parsed.get_did_key(), _label_key(parsed))
    except Unresolvable:
        raise
    except Exception as e:  # the SDK's model and key errors: a document this service cannot use
        raise Unresolvable(f"{did}: the DID document cannot be read: {e}") from None


def _label_key(parsed: Any) -> str | None:
    from atproto_crypto.did import get_did_key

    for method in parsed.verification_method or ():
        if method.id in ("#atproto_label", f"{parsed.id}#atproto_label") and method.public_key_multibase:
            return get_did_key(method.type, method.public_key_multibase)  # type: ignore[no-any-return]
    return None


class Resolver:
    """Resolves DIDs over HTTP and keeps what it found (``fresh`` reads a document again)."""

    def __init__(self, plc_url: str) -> None:
        self.plc_url = plc_url.rstrip("/")
        self._http: aiohttp.ClientSession | None = None
        self._known: dict[str, DidInfo] = {}
        self._missing: dict[str, float] = {}

    def http(self) -> aiohttp.ClientSession:
        """The client session every outgoing call of chat service mode shares."""
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(timeout=TIMEOUT)
        return self._http

    async def close(self) -> None:
        """Close the client session."""
        if self._http is not None:
            await self._http.close()
            self._http = None

    def forget(self) -> None:
        """Drop every document kept."""
        self._known.clear()
        self._missing.clear()

    def missing(self, did: str) -> bool:
        """Whether ``did`` failed to resolve a moment ago."""
        failed = self._missing.get(did)
        return failed is not None and time.monotonic() - failed < MISS_TTL

    async def resolve(self, did: str, *, fresh: bool = False) -> DidInfo:
        """The document of ``did`` (from the cache unless ``fresh``)."""
        if not fresh and did in self._known:
            return self._known[did]
        if did.startswith("did:plc:"):
            url = f"{self.plc_url}/{did}"
        elif did.startswith("did:web:"):
            try:
                url = web_did_url(did)
            except Unresolvable:
                self._missing[did] = time.monotonic()
                raise
        else:
            raise Unresolvable(f"{did}: only did:plc and did:web are resolved")
        try:
            async with self.http().get(url) as r:
                if r.status != 200:
                    raise Unresolvable(f"{did}: {url} answered {r.status}")
                doc = await r.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as e:
            self._missing[did] = time.monotonic()
            raise Unresolvable(f"{did}: {url}: {e or type(e).__name__}") from None
        except Unresolvable:
            self._missing[did] = time.monotonic()
            raise
        try:
            info = read_document(did, doc)
        except Unresolvable:
            self._missing[did] = time.monotonic()
            raise
        self._known[did] = info
        self._missing.pop(did, None)
        return info
