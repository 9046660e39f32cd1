"""The service object: configuration plus everything a request can touch."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from aiohttp import web

from .auth import Tokens
from .clock import Clock
from .ids import Ids
from .lexicons import Lexicons, bundled
from .state import State

SERVICE_DID = "did:web:bsky-chat-mock.test"
MAX_BODY = 1024 * 1024
DEFAULT_MEMBER_LIMIT = 50


@dataclass
class Config:
    """Server settings. ``strict`` validates every successful response against its lexicon."""

    seed: int | None = None
    strict: bool = False
    member_limit: int = DEFAULT_MEMBER_LIMIT
    max_body: int = MAX_BODY
    secret: str | None = None


class Service:
    """State, clock, seeded ids, tokens and lexicons for one server."""

    def __init__(self, config: Config | None = None) -> None:
        self.config = config or Config()
        self.lexicons: Lexicons = bundled()
        self.clock = Clock()
        self.ids = Ids(self.config.seed)
        self.state = State()
        secret = self.config.secret
        if secret is None:
            if self.config.seed is None:
                secret = secrets.token_hex(32)
            else:
                secret = hashlib.sha256(f"bsky-chat-mock:{self.config.seed}".encode()).hexdigest()
        self.tokens = Tokens(secret, self.clock, self.ids, SERVICE_DID)

    def reset(self) -> None:
        """Empty the state and restart the seeded id sequence; the clock is left alone."""
        self.state = State()
        self.ids.reset()


SERVICE_KEY = web.AppKey("service", Service)
