"""The in-memory state: plain data, with the indexes the operations need.

Nothing here does I/O or checks rules; the operations modules do that.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ACCOUNT_STATUSES = ("active", "suspended", "deactivated", "takendown")
DECLARATION_VALUES = ("all", "none", "following")


@dataclass
class Actor:
    """An account: identity, profile, chat declaration, social graph and status."""

    did: str
    handle: str
    password: str
    display_name: str
    avatar: str
    created_at: str
    allow_incoming: str = "all"
    allow_group_invites: str = "all"
    status: str = "active"
    new_account: bool = False
    follows: set[str] = field(default_factory=set)
    blocks: set[str] = field(default_factory=set)

    def follows_did(self, did: str) -> bool:
        """Whether this actor follows ``did``."""
        return did in self.follows

    def blocks_did(self, did: str) -> bool:
        """Whether this actor blocks ``did``."""
        return did in self.blocks


@dataclass
class State:
    """Everything the server knows. Reset by replacing it with a new ``State()``."""

    actors: dict[str, Actor] = field(default_factory=dict)
    handles: dict[str, str] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)
    """Live refresh-token ids (``jti``) mapped to the DID they belong to."""

    def add_actor(self, actor: Actor) -> None:
        """Store an actor and index its handle."""
        self.actors[actor.did] = actor
        self.handles[actor.handle] = actor.did

    def rename_actor(self, actor: Actor, handle: str) -> None:
        """Change an actor's handle, keeping the index right."""
        del self.handles[actor.handle]
        actor.handle = handle
        self.handles[handle] = actor.did

    def find_actor(self, identifier: str) -> Actor | None:
        """Look an actor up by DID or handle (case-insensitive, leading ``@`` allowed)."""
        if identifier.startswith("did:"):
            return self.actors.get(identifier)
        did = self.handles.get(identifier.lstrip("@").lower())
        return self.actors.get(did) if did else None
