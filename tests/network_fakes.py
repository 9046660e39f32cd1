"""Test doubles for chat service mode: account keys that sign service-auth JWTs as a PDS does,
and a small PLC + PDS (DID documents, listRecords, getLatestCommit, an idle firehose) served
by aiohttp on 127.0.0.1 in a thread of its own."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import quote

import httpx
from aiohttp import web
from atproto_crypto.did import format_multikey
from atproto_crypto.multibase import bytes_to_multibase
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from mockserver import MockChatServer
from mockserver.service import Config

Json = dict[str, Any]
ORDERS = {
    "ES256K": 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141,
    "ES256": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class Key:
    """An account's atproto signing key (``ES256K``: secp256k1, ``ES256``: P-256)."""

    def __init__(self, alg: str = "ES256K") -> None:
        self.alg = alg
        self._key = ec.generate_private_key(ec.SECP256K1() if alg == "ES256K" else ec.SECP256R1())

    def public(self) -> bytes:
        return self._key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )

    def method(self, did: str, legacy: bool, key_id: str = "atproto") -> Json:
        """A verification method (``#atproto``, or a labeler's ``#atproto_label``): the legacy
        form local PLCs serve, or ``Multikey``."""
        if legacy:
            kind = "EcdsaSecp256k1VerificationKey2019" if self.alg == "ES256K" else "EcdsaSecp256r1VerificationKey2019"
            return {"id": f"{did}#{key_id}", "type": kind, "controller": did,
                    "publicKeyMultibase": bytes_to_multibase("z", self.public())}  # fmt: skip
        return {"id": f"{did}#{key_id}", "type": "Multikey", "controller": did,
                "publicKeyMultibase": format_multikey(self.alg, self.public())}  # fmt: skip

    def sign(self, data: bytes) -> bytes:
        """A compact low-S signature, as @atproto/crypto makes them."""
        r, s = decode_dss_signature(self._key.sign(data, ec.ECDSA(hashes.SHA256())))
        order = ORDERS[self.alg]
        s = min(s, order - s)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def token(self, iss: str, aud: str, lxm: str | None, *, exp: float | None = None, **extra: Any) -> str:
        """A service-auth JWT as a PDS forwards it (``extra``: header ``typ``/``alg`` or claims to change)."""
        header = {"typ": extra.pop("typ", "JWT"), "alg": extra.pop("alg", self.alg)}
        now = int(time.time())
        claims: Json = {"iat": now, "iss": iss, "aud": aud, "exp": exp if exp is not None else now + 60}
        if lxm is not None:
            claims["lxm"] = lxm
        claims["jti"] = b64(now.to_bytes(8, "big"))
        claims.update(extra)
        signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
        return f"{signing_input}.{b64(self.sign(signing_input.encode()))}"


@dataclass
class Account:
    """An account of the fake network: its DID, handle, key and repository records."""

    did: str
    handle: str
    key: Key
    legacy: bool = True
    records: dict[str, dict[str, Json]] = field(default_factory=dict)
    """collection -> rkey -> record."""
    rev: str = "2222222222222"
    label_key: Key | None = None
    """A labeler's (an Ozone's) ``#atproto_label`` key: it signs as ``iss: DID#atproto_labeler``."""

    def token(self, aud: str, lxm: str | None, **extra: Any) -> str:
        return self.key.token(self.did, aud, lxm, **extra)

    def put(self, collection: str, rkey: str, record: Json) -> None:
        self.records.setdefault(collection, {})[rkey] = {"$type": collection, **record}


def chat_behind(net: FakeNetwork, *, strict: bool = True, moderators: tuple[str, ...] = ()) -> MockChatServer:
    """A mock in chat service mode resolving DIDs through ``net`` (start it with ``with``)."""
    return MockChatServer(config=Config(plc_url=net.plc_url, seed=7, strict=strict, moderators=moderators))


def aud(chat: MockChatServer) -> str:
    """The mock's service DID: the ``aud`` its service-auth tokens must carry."""
    assert chat.service.network is not None
    return chat.service.network.did


def call(client: httpx.Client, nsid: str, token: str | None, body: Json | None = None, **params: Any) -> httpx.Response:
    """An XRPC call straight to the mock with a bearer token (a procedure when ``body`` is given)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if body is not None:
        return client.post(f"/xrpc/{nsid}", json=body, headers=headers)
    return client.get(f"/xrpc/{nsid}", params=params, headers=headers)


class FakeNetwork:
    """A PLC directory and one PDS, enough for the mock's chat service mode (no writes, no
    firehose events: the firehose socket stays open and quiet)."""

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.fetches: dict[str, int] = {}
        """DID -> how many times its document was asked for."""
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    @property
    def plc_url(self) -> str:
        return f"{self.url}/plc"

    def add(self, name: str, *, alg: str = "ES256K", legacy: bool = True, web_did: bool = False) -> Account:
        """A new account ``name.test`` (a did:web one is this network's host, so one at most)."""
        if web_did:
            did = f"did:web:{quote(f'localhost:{self.port}', safe='')}"
        else:
            did = "did:plc:" + b64(name.encode()).lower().ljust(24, "a")[:24].replace("-", "a").replace("_", "a")
        account = Account(did, f"{name}.test", Key(alg), legacy)
        self.accounts[did] = account
        return account

    def document(self, account: Account) -> Json:
        return {
            "@context": ["https://www.w3.org/ns/did/v1"],
            "id": account.did,
            "alsoKnownAs": [f"at://{account.handle}"],
            "verificationMethod": [
                account.key.method(account.did, account.legacy),
                *([account.label_key.method(account.did, False, "atproto_label")] if account.label_key else []),
            ],
            "service": [{"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": self.url}],
        }

    # -- routes ------------------------------------------------------------------------------
    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/plc/{did}", self._plc)
        app.router.add_get("/.well-known/did.json", self._web)
        app.router.add_get("/xrpc/com.atproto.sync.getLatestCommit", self._latest)
        app.router.add_get("/xrpc/com.atproto.repo.listRecords", self._list)
        app.router.add_get("/xrpc/com.atproto.sync.subscribeRepos", self._firehose)
        return app

    def _doc(self, did: str) -> web.Response:
        self.fetches[did] = self.fetches.get(did, 0) + 1
        account = self.accounts.get(did)
        if account is None:
            return web.json_response({"message": f"DID not registered: {did}"}, status=404)
        return web.json_response(self.document(account))

    async def _plc(self, request: web.Request) -> web.Response:
        return self._doc(request.match_info["did"])

    async def _web(self, request: web.Request) -> web.Response:
        return self._doc(f"did:web:{quote(f'localhost:{self.port}', safe='')}")

    async def _latest(self, request: web.Request) -> web.Response:
        account = self.accounts[request.query["did"]]
        return web.json_response({"cid": "bafyfake", "rev": account.rev})

    async def _list(self, request: web.Request) -> web.Response:
        account = self.accounts[request.query["repo"]]
        collection = request.query["collection"]
        records = [
            {"uri": f"at://{account.did}/{collection}/{rkey}", "cid": "bafyfake", "value": value}
            for rkey, value in account.records.get(collection, {}).items()
        ]
        return web.json_response({"records": records})

    async def _firehose(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for _ in ws:
            pass
        return ws

    # -- running -----------------------------------------------------------------------------
    def start(self) -> FakeNetwork:
        ready = threading.Event()
        loop = asyncio.new_event_loop()

        async def up() -> None:
            self._runner = web.AppRunner(self._app(), handle_signals=False, shutdown_timeout=0.5)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            self.port = int(self._runner.addresses[0][1])

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(up())
            ready.set()
            loop.run_forever()
            assert self._runner is not None
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="fake-network", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
