"""Chat service mode: the mock as the chat service of a real PDS.

A PDS forwards an account's chat calls with a service-auth JWT (:mod:`service_auth`). The
first time the mock meets an account (as a caller, or named in a call) it resolves its DID
document (:mod:`identity`), reads the records a chat service cares about from its PDS
(follows, blocks, chat declaration, profile: ``com.atproto.repo.listRecords``) and makes it an
actor; then it keeps those records current from the PDS's firehose
(``com.atproto.sync.subscribeRepos``, decoded by the ``atproto`` SDK), as the real service
learns them from the network.

The records of every account met are kept here (the network's view, which outlives resets);
the state's actors are made and changed from them through :mod:`control`, so every change is
recorded like an admin change and a recording replays without the network.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from . import control, service_auth
from .admin_schema import UPDATE_ACTOR
from .errors import XrpcError, invalid_token
from .identity import DidInfo, Resolver, Unresolvable, web_origin
from .service import Service
from .state import DECLARATION_VALUES, Actor

log = logging.getLogger("mockserver.network")

Json = dict[str, Any]
FOLLOW = "app.bsky.graph.follow"
BLOCK = "app.bsky.graph.block"
DECLARATION = "chat.bsky.actor.declaration"
PROFILE = "app.bsky.actor.profile"
COLLECTIONS = (FOLLOW, BLOCK, DECLARATION, PROFILE)
MAX_LEARN = 100
"""Most unknown DIDs one call may make the mock look up."""
MAX_PAGES = 100
"""Most pages of one collection read from a PDS (100 records a page)."""
STATUSES = {"takendown": "takendown", "suspended": "suspended", "deactivated": "deactivated", "deleted": "deactivated"}


@dataclass
class Repo:
    """The chat-relevant records of one account's repository, as its PDS holds them."""

    info: DidInfo
    rev: str = ""
    """The repository revision the records were read at: firehose commits up to it are in them."""
    follows: dict[str, str] = field(default_factory=dict)
    """rkey -> subject DID."""
    blocks: dict[str, str] = field(default_factory=dict)
    declaration: Json | None = None
    profile: Json | None = None
    status: str = "active"
    pending: list[Any] | None = field(default_factory=list)
    """Firehose commits that arrived while the records were being read (None once read)."""

    @property
    def did(self) -> str:
        return self.info.did


def service_endpoint(did: str) -> str:
    """The URL a ``did:web`` service DID names, as a PDS resolving it reaches it."""
    return web_origin(unquote(did.removeprefix("did:web:").split(":")[0]))


class Network:
    """The mock's link to a PLC directory and the PDSes of the accounts that call it."""

    def __init__(self, service: Service, plc_url: str, did: str | None = None, url: str | None = None) -> None:
        self.service = service
        self.resolver = Resolver(plc_url)
        self.did = did or ""
        """The mock's service DID (``aud`` of the tokens it accepts); set at start-up when not given."""
        self.url = url or (service_endpoint(did) if did and did.startswith("did:web:") else "")
        self.repos: dict[str, Repo] = {}
        self._fetching: dict[str, asyncio.Future[Repo | None]] = {}
        self._firehoses: dict[str, Firehose] = {}

    # -- set-up --------------------------------------------------------------------------
    def bind(self, port: int) -> None:
        """Take ``did:web:localhost%3APORT`` and its URL when no DID was given."""
        if not self.did:
            self.did = f"did:web:{quote(f'localhost:{port}', safe='')}"
        if not self.url:
            self.url = f"http://localhost:{port}"

    def did_document(self) -> Json:
        """The mock's DID document: one ``#bsky_chat`` service at its own URL."""
        return {
            "@context": ["https://www.w3.org/ns/did/v1"],
            "id": self.did,
            "service": [{"id": "#bsky_chat", "type": "BskyChatService", "serviceEndpoint": self.url}],
        }

    def forget(self) -> None:
        """Forget every account met and every document read (the next call reads them again)."""
        self.repos.clear()
        self.resolver.forget()

    async def close(self) -> None:
        """Stop following every firehose and close the HTTP client."""
        for firehose in list(self._firehoses.values()):
            await firehose.stop()
        self._firehoses.clear()
        await self.resolver.close()

    # -- calls -----------------------------------------------------------------------------
    async def verify(self, token: str, nsid: str) -> str:
        """The issuer of a valid service-auth token (``DID`` or ``DID#service``), else a 401 (nothing is written)."""
        return await service_auth.verify(token, self.did, nsid, self.service.clock.timestamp(), self._key)

    async def caller(self, did: str) -> Actor:
        """The actor of a verified caller, made on first sight."""
        actor = await self.ensure(did)
        if actor is None:  # its key resolved a moment ago: the PDS is what failed
            raise invalid_token(f"Could not read the account {did} from its PDS")
        return actor

    async def _key(self, iss: str, fresh: bool) -> str:
        did, _, service = iss.partition("#")
        # as atproto's own services answer (the PDS's auth-verifier): a plain AuthenticationRequired
        try:
            info = await self.resolver.resolve(did, fresh=fresh)
        except Unresolvable as e:
            log.info("could not resolve iss did: %s", e)
            raise service_auth.bad("AuthenticationRequired", "could not resolve iss did") from None
        key = info.label_key if service == "atproto_labeler" else info.key
        if key is None:
            raise service_auth.bad("AuthenticationRequired", "missing or bad key in did doc")
        return key

    async def learn(self, values: Iterable[Any]) -> None:
        """Make actors of the accounts a call names that the mock has not met (DIDs that do not
        resolve are left alone: the call then fails as it would for any unknown account)."""
        dids: list[str] = []
        for value in values:
            for item in value if isinstance(value, list) else (value,):
                if (
                    isinstance(item, str)
                    and item.startswith(("did:plc:", "did:web:"))
                    and item not in self.service.state.actors
                    and item not in dids
                    and not self.resolver.missing(item)
                ):
                    dids.append(item)
        if dids:
            await asyncio.gather(*(self.ensure(did) for did in dids[:MAX_LEARN]))

    async def ensure(self, did: str) -> Actor | None:
        """The actor of ``did``, made from its repository when the state has none."""
        actor = self.service.state.actors.get(did)
        if actor is not None:
            return actor
        repo = self.repos.get(did)
        if repo is None or repo.pending is not None:
            repo = await self._fetch(did)
        if repo is None:
            return None
        actor = self.service.state.actors.get(did)  # another call may have made it meanwhile
        return actor if actor is not None else self._import(repo)

    # -- reading repositories --------------------------------------------------------------
    async def _fetch(self, did: str) -> Repo | None:
        running = self._fetching.get(did)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[Repo | None] = asyncio.get_running_loop().create_future()
        self._fetching[did] = future
        try:
            repo = await self._read(did)
            future.set_result(repo)
            return repo
        except BaseException as e:
            future.set_exception(e)
            future.exception()  # retrieved: a fetch nobody else awaited must not warn
            raise
        finally:
            del self._fetching[did]

    async def _read(self, did: str) -> Repo | None:
        try:
            info = await self.resolver.resolve(did)
        except Unresolvable as e:
            log.info("%s", e)
            return None
        repo = self.repos.get(did) or Repo(info)
        repo.info, repo.pending = info, []
        self.repos[did] = repo
        if info.pds:
            self._follow(info.pds)
            try:
                await self._read_records(repo, info.pds)
            except Exception as e:  # a PDS that fails or answers nonsense: the account without its records
                log.warning("could not read the records of %s from %s: %s", did, info.pds, e or type(e).__name__)
        pending, repo.pending = repo.pending or [], None
        for commit in pending:
            self._guarded_commit(repo, commit)
        return repo

    async def _read_records(self, repo: Repo, pds: str) -> None:
        http = self.resolver.http()
        base = pds.rstrip("/") + "/xrpc/"
        async with http.get(base + "com.atproto.sync.getRepoStatus", params={"did": repo.did}) as r:
            if r.status == 200:  # an account deactivated or taken down before the mock met it
                status = await r.json()
                repo.status = "active" if status.get("active") is not False else _status(status.get("status"))
                repo.rev = str(status.get("rev") or "")
        if not repo.rev:
            async with http.get(base + "com.atproto.sync.getLatestCommit", params={"did": repo.did}) as r:
                if r.status == 200:
                    repo.rev = str((await r.json()).get("rev") or "")
        for collection in COLLECTIONS:
            records: list[Json] = []
            cursor: str | None = None
            for _ in range(MAX_PAGES):
                params = {"repo": repo.did, "collection": collection, "limit": "100"}
                if cursor:
                    params["cursor"] = cursor
                async with http.get(base + "com.atproto.repo.listRecords", params=params) as r:
                    if r.status != 200:
                        break
                    page = await r.json()
                records += page.get("records") or []
                cursor = page.get("cursor")
                if not cursor or not page.get("records"):
                    break
            for item in records:
                rkey = str(item.get("uri", "")).rsplit("/", 1)[-1]
                _set(repo, collection, rkey, item.get("value"))

    def _follow(self, pds: str) -> None:
        if pds not in self._firehoses:
            self._firehoses[pds] = Firehose(self, pds)

    # -- the firehose ------------------------------------------------------------------------
    def on_commit(self, commit: Any) -> None:
        """A repository commit from a firehose."""
        repo = self.repos.get(commit.repo)
        if repo is None:
            return  # an account the mock has not met: read whole when it is
        if repo.pending is not None:
            repo.pending.append(commit)
            return
        if self._guarded_commit(repo, commit):
            self._sync(repo)

    def _guarded_commit(self, repo: Repo, commit: Any) -> bool:
        """Apply one commit; one the mock cannot read is logged and skipped, never raised."""
        try:
            return self._commit(repo, commit)
        except Exception as e:
            log.warning("firehose: a commit of %s could not be read: %r", repo.did, e)
            return False

    def _commit(self, repo: Repo, commit: Any) -> bool:
        from atproto import CAR

        if commit.rev <= repo.rev:
            return False  # already in the records as read
        repo.rev = commit.rev
        blocks = CAR.from_bytes(commit.blocks).blocks if commit.blocks else {}
        changed = False
        for op in commit.ops:
            collection, _, rkey = op.path.partition("/")
            if collection in COLLECTIONS:
                value = blocks.get(op.cid) if op.action != "delete" and op.cid is not None else None
                _set(repo, collection, rkey, value)
                changed = True
        return changed

    async def on_identity(self, did: str) -> None:
        """An account's handle or keys changed: read its document again."""
        repo = self.repos.get(did)
        if repo is None:
            return
        try:
            repo.info = await self.resolver.resolve(did, fresh=True)
        except Unresolvable as e:
            log.info("%s", e)
            return
        self._sync(repo)

    def on_account(self, did: str, active: bool, status: str | None) -> None:
        """An account was deactivated, taken down, or came back."""
        repo = self.repos.get(did)
        if repo is None:
            return
        repo.status = "active" if active else _status(status)
        self._sync(repo)

    # -- from records to actors ------------------------------------------------------------
    def _import(self, repo: Repo) -> Actor:
        """Make the actor of ``repo`` (never refused: a field the admin API would refuse is left out)."""
        state = self.service.state
        fields = self._checked(repo, self._fields(repo))
        try:
            actor, _ = control.create_actor(self.service, {"did": repo.did, "handle": self._handle(repo), **fields})
        except XrpcError as e:  # a state rule, such as two records that disagree: the bare account
            log.warning("%s: %s; made without its records", repo.did, e.message)
            actor, _ = control.create_actor(self.service, {"did": repo.did, "handle": self._handle(repo)})
        # whoever already follows or blocks it, by records read before it was met: those edges only
        for other in self.repos.values():
            account = state.actors.get(other.did)
            if other.did == repo.did or account is None:
                continue
            edges: Json = {}
            if repo.did in other.follows.values() and repo.did not in account.follows:
                edges["follows"] = sorted(account.follows | {repo.did})
            if repo.did in other.blocks.values() and repo.did not in account.blocks:
                edges["blocks"] = sorted(account.blocks | {repo.did})
            if edges:
                self._apply(account, edges)
        self.service.touch()
        log.info("met %s (%s) from %s", actor.handle, actor.did, repo.info.pds)
        return actor

    def _sync(self, repo: Repo) -> None:
        """Bring the actor of ``repo`` in line with its records (nothing when it has none yet)."""
        actor = self.service.state.actors.get(repo.did)
        if actor is None:
            return
        wanted = {"handle": self._handle(repo), **self._fields(repo)}
        current = {
            "handle": actor.handle,
            "displayName": actor.display_name,
            "avatar": actor.avatar,
            "allowIncoming": actor.allow_incoming,
            "allowGroupInvites": actor.allow_group_invites,
            "status": actor.status,
            "follows": sorted(actor.follows),
            "blocks": sorted(actor.blocks),
        }
        changes = {k: v for k, v in wanted.items() if current[k] != v}
        if changes:
            self._apply(actor, self._checked(repo, changes))
            self.service.touch()

    def _apply(self, actor: Actor, changes: Json) -> None:
        """Change an actor as the admin API would; what it refuses is logged and left as it was."""
        try:
            control.update_actor(self.service, actor, changes)
        except XrpcError:
            for name, value in changes.items():  # one at a time: a refused one holds back no other
                try:
                    control.update_actor(self.service, actor, {name: value})
                except XrpcError as e:
                    log.warning("%s: could not apply %s from its records: %s", actor.did, name, e.message)

    def _checked(self, repo: Repo, fields: Json) -> Json:
        """The fields the admin API takes (a display name too long, say, is left out)."""
        kept: Json = {}
        for name, value in fields.items():
            try:
                control.checked_actor_spec({name: value}, UPDATE_ACTOR)
            except XrpcError as e:
                log.warning("%s: its %s is not taken: %s", repo.did, name, e.message)
            else:
                kept[name] = value
        return kept

    def _handle(self, repo: Repo) -> str:
        """The handle its document claims, when it is a valid one no other actor has; else the
        one it has, or one made from its DID (``<id>.invalid``)."""
        state = self.service.state
        handle = (repo.info.handle or "").lower()
        owner = state.handles.get(handle)
        if handle and self.service.lexicons.check_format(handle, "handle") and owner in (None, repo.did):
            return handle
        actor = state.actors.get(repo.did)
        if actor is not None:
            return actor.handle
        label = re.sub(r"[^a-z0-9-]+", "-", unquote(repo.did.rsplit(":", 1)[-1]).lower()).strip("-")[:63].strip("-")
        fallback = f"{label}.invalid"
        if not label or not self.service.lexicons.check_format(fallback, "handle") or fallback in state.handles:
            fallback = f"h{hashlib.sha256(repo.did.encode()).hexdigest()[:20]}.invalid"
        return fallback

    def _fields(self, repo: Repo) -> Json:
        """An admin spec of what the records say (follows and blocks of accounts the mock knows)."""
        known = self.service.state.actors
        profile = repo.profile or {}
        name = profile.get("displayName")
        declaration = repo.declaration
        incoming = declaration.get("allowIncoming") if declaration else None
        invites = declaration.get("allowGroupInvites") if declaration else None
        return {
            "displayName": name if isinstance(name, str) else "",
            "avatar": _avatar(repo, profile.get("avatar")),  # '' for none
            "status": repo.status,
            "follows": sorted({d for d in repo.follows.values() if d in known and d != repo.did}),
            "blocks": sorted({d for d in repo.blocks.values() if d in known and d != repo.did}),
            "allowIncoming": incoming if incoming in DECLARATION_VALUES else ("following" if declaration else None),
            "allowGroupInvites": invites if declaration and invites in DECLARATION_VALUES else None,
        }


def _status(status: Any) -> str:
    """The actor status for a repository's status (``deleted`` and unknown ones: deactivated)."""
    return STATUSES.get(status, "deactivated") if isinstance(status, str) else "deactivated"


def _set(repo: Repo, collection: str, rkey: str, value: Any) -> None:
    """Put (or with ``value`` None, delete) one record."""
    record = value if isinstance(value, dict) else None
    if collection in (FOLLOW, BLOCK):
        edges = repo.follows if collection == FOLLOW else repo.blocks
        subject = record.get("subject") if record else None
        if isinstance(subject, str):
            edges[rkey] = subject
        else:
            edges.pop(rkey, None)
    elif rkey == "self":
        if collection == DECLARATION:
            repo.declaration = record
        else:
            repo.profile = record


def _avatar(repo: Repo, blob: Any) -> str:
    """The URL of a profile's avatar blob on the account's PDS ('' for none)."""
    from atproto_core.cid import CID

    if not isinstance(blob, dict) or not repo.info.pds:
        return ""
    ref = blob.get("ref")
    try:  # {"$link": ...} from listRecords' JSON, the CID's bytes from the firehose's DAG-CBOR
        cid = ref.get("$link") if isinstance(ref, dict) else CID.decode(ref).encode() if ref is not None else None
    except Exception:
        return ""
    if not isinstance(cid, str) or not cid.isalnum():
        return ""
    return f"{repo.info.pds.rstrip('/')}/xrpc/com.atproto.sync.getBlob?did={repo.did}&cid={cid}"


class Firehose:
    """Follows one PDS's ``subscribeRepos`` from its first event, reconnecting where it left off."""

    def __init__(self, network: Network, pds: str) -> None:
        self.network = network
        self.pds = pds
        self.cursor = 0
        parts = urlsplit(pds)
        scheme = "wss" if parts.scheme == "https" else "ws"
        self.uri = f"{scheme}://{parts.netloc}/xrpc"
        self._client: Any = None
        self._stopped = False
        self.task = asyncio.create_task(self._run(), name=f"firehose {pds}")

    async def _run(self) -> None:
        from atproto import AsyncFirehoseSubscribeReposClient, models, parse_subscribe_repos_message

        firehose = self

        class Client(AsyncFirehoseSubscribeReposClient):  # type: ignore[misc]
            async def _before_connect(self) -> None:  # a reconnect goes on after the last event seen
                self.update_params(models.ComAtprotoSyncSubscribeRepos.Params(cursor=firehose.cursor))

        async def on_message(frame: Any) -> None:
            event = parse_subscribe_repos_message(frame)
            seq = getattr(event, "seq", None)
            if isinstance(seq, int):
                self.cursor = seq
            if isinstance(event, models.ComAtprotoSyncSubscribeRepos.Commit):
                self.network.on_commit(event)
            elif isinstance(event, models.ComAtprotoSyncSubscribeRepos.Identity):
                await self.network.on_identity(event.did)
            elif isinstance(event, models.ComAtprotoSyncSubscribeRepos.Account):
                self.network.on_account(event.did, event.active, event.status)

        async def on_error(error: BaseException) -> None:
            log.warning("firehose %s: an event could not be applied: %r", self.pds, error)

        delay = 0.5
        while not self._stopped:
            if self.cursor != getattr(self, "_cursor_at_connect", None):
                delay = 0.5  # it was flowing: the drop is news, not a failing server
            self._cursor_at_connect = self.cursor
            self._client = Client(base_uri=self.uri)
            try:  # it returns on a clean close and raises on an error frame: either way, go on after a pause
                await self._client.start(on_message, on_error)
                log.info("firehose %s closed; following it again from %d", self.pds, self.cursor)
            except Exception as e:
                log.warning("firehose %s stopped: %r; following it again from %d", self.pds, e, self.cursor)
            if not self._stopped:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def stop(self) -> None:
        """Stop following."""
        self._stopped = True
        if self._client is not None:
            await self._client.stop()
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
