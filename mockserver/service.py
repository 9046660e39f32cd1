"""The service object: configuration plus everything a request can touch."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .auth import Tokens
from .clock import Clock
from .faults import Faults
from .ids import SEED_MAX, Ids
from .journal import Journal
from .lexicons import Lexicons, bundled
from .mod_events import ModStream
from .state import State

if TYPE_CHECKING:
    from .network import Network

SERVICE_DID = "did:web:bsky-chat-mock.test"
MAX_BODY = 1024 * 1024
DEFAULT_MEMBER_LIMIT = 50
READS_CACHE = 10_000


@dataclass
class Config:
    """Server settings. ``strict`` validates every successful response against its lexicon."""

    seed: int | None = None
    strict: bool = False
    member_limit: int = DEFAULT_MEMBER_LIMIT
    max_body: int = MAX_BODY
    secret: str | None = None
    """The session-token secret; by default a random one per run (see ``deterministic_tokens``)."""
    deterministic_tokens: bool = False
    """Derive the token secret from the seed, so the same seed gives the same tokens on every run
    (anyone who knows the seed can then make tokens: keep it to machines you trust)."""
    admin: bool = True
    """Serve the admin API under ``/_mock/``."""
    admin_token: str | None = None
    """When set, admin calls need ``Authorization: Bearer <admin_token>``."""
    moderators: tuple[str, ...] = ()
    """DIDs that may call ``chat.bsky.moderation.*``: accounts logged in to the mock, or in chat
    service mode the services (say an Ozone) whose service-auth tokens carry them as ``iss``."""
    cors_origins: tuple[str, ...] = ("*",)
    """Origins allowed to call from a browser (``*``: any)."""
    plc_url: str | None = None
    """Chat service mode: the PLC directory that resolves callers' DIDs (see network.py)."""
    service_did: str | None = None
    """Chat service mode: the mock's service DID (default ``did:web:localhost%3APORT``)."""
    service_url: str | None = None
    """Chat service mode: the URL its DID document names (default: from the DID, or the port)."""


class Service:
    """State, clock, seeded ids, tokens and lexicons for one server."""

    def __init__(self, config: Config | None = None) -> None:
        self.config = config or Config()
        seed = self.config.seed
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < SEED_MAX):
            raise ValueError(f"seed must be a whole number from 0 to {SEED_MAX - 1}, not {seed!r}")
        self.lexicons: Lexicons = bundled()
        self.clock = Clock()
        self.ids = Ids(self.config.seed)
        self.ids.secrets_from_seed = self.config.deterministic_tokens
        self.state = State()
        secret = self.config.secret
        if secret is None:
            if self.config.deterministic_tokens and self.config.seed is not None:
                secret = hashlib.sha256(f"bsky-chat-mock:{self.config.seed}".encode()).hexdigest()
            else:  # whatever the seed: a seed makes ids and names, not the keys to every account
                secret = secrets.token_hex(32)
        self.tokens = Tokens(secret, self.clock, self.ids, SERVICE_DID)
        self.faults = Faults()
        self.journal = Journal()
        self.writes = 0
        """Bumped by every request that may change the state; cached reads are valid within one value."""
        self.reads: dict[Any, tuple[int, bytes]] = {}
        """Answers of queries by (method, viewer, query string), with the ``writes`` they were made at."""
        self.generation = 0
        """Bumped by every change outside XRPC (resets, scenarios, admin edits)."""
        self.recorders: list[Callable[[dict[str, Any]], None]] = []
        """Called with every recording line (see recording.py): ``serve --record`` adds one."""
        self.scenario: Any = None
        """The scenario loaded last, as its loader keeps it (a reset can go back to it)."""
        self.loaded: Any = None
        """What that scenario made (its actors, convo ids and codes by key), for the admin API."""
        self.reloader: Callable[[], Any] | None = None
        """Loads the last scenario again; set by the scenario loader, cleared by a reset."""
        self.mod_stream = ModStream()
        """Moderation events since the state was last replaced, and their live subscribers."""
        self.network: Network | None = None
        """Chat service mode's link to the PLC and the PDSes (None in standalone mode)."""

    def reset(self) -> None:
        """Empty the state and the faults, forget the scenario, restart the seeded ids, and put
        the clock back to real (or frozen) time: a reset starts from a known clock."""
        self.clock.reset()
        self.state = State()
        self.faults.clear()
        self.scenario = self.loaded = self.reloader = None
        self.ids.seed = self.config.seed
        self.ids.reset()
        self.started()

    def touch(self) -> None:
        """Note that the state may have changed: every cached read is stale from now on."""
        self.writes += 1
        if self.reads:
            self.reads = {}

    def remember_repeat(self, key: Any, repeat: Any) -> None:
        """Keep what answers a query sent exactly so again (see ``xrpc.repeat``) until the next change."""
        if len(self.reads) >= READS_CACHE:
            self.reads = {}
        self.reads[key] = repeat

    def remember_read(self, key: Any, text: bytes) -> None:
        """Keep a query's answer (as sent) until the next change."""
        if len(self.reads) >= READS_CACHE:
            self.reads = {}
        self.reads[key] = (self.writes, text)

    def emit(self, line: dict[str, Any]) -> None:
        """Hand a recording line to every recorder."""
        if line.get("type") == "admin":
            self.generation += 1
        for recorder in self.recorders:
            recorder(line)

    @property
    def version(self) -> int:
        """A number that grows with every change the state page should show."""
        return self.journal.last_seq + self.generation

    def started(self, scenario: str | None = None) -> None:
        """Record that the state was replaced (reset, scenario, dump): a new starting point. Tokens
        issued before it stop working (``Tokens.epoch``): a client polling with a cursor from the
        old state must log in again and start over, as after any server's data is wiped."""
        self.generation += 1
        self.tokens.epoch += 1
        self.mod_stream.clear()
        self.touch()
        if self.recorders:
            from .recording import start_line
            from .snapshot import dump

            self.emit(start_line(dump(self), scenario, self.clock.iso(), self.faults.specs()))

    def reload_scenario(self) -> Any:
        """Go back to the start of the scenario loaded last (empty if there is none), with the
        reloader its loader left (the core knows nothing of scenario files)."""
        if self.reloader is None:
            self.reset()
            return None
        return self.reloader()


SERVICE_KEY = web.AppKey("service", Service)
