"""The in-memory state: plain data, with the indexes the operations need.

Nothing here does I/O or checks rules; the operations modules do that.
"""

from __future__ import annotations

import itertools
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

ACCOUNT_STATUSES = ("active", "suspended", "deactivated", "takendown")
_STAMPS = itertools.count(1)
DECLARATION_VALUES = ("all", "none", "following")


@dataclass
class Actor:
    """An account: identity, profile, chat declaration, social graph and status."""

    did: str
    handle: str
    password: str
    display_name: str
    avatar: str
    """An image URL; empty for none (the default: no fake image host to reach)."""
    created_at: str
    allow_incoming: str | None = "all"
    """The chat declaration's ``allowIncoming``; None when the account has no declaration."""
    allow_group_invites: str | None = "all"
    """The declaration's ``allowGroupInvites``; None when it leaves it unset."""
    status: str = "active"
    new_account: bool = False
    chat_disabled: bool = False
    """Moderation removed the account's chat access (``updateActorAccess``): it cannot chat."""
    chat_access_ref: str | None = None
    """The ``ref`` moderation gave with its last access change."""
    follows: frozenset[str] = frozenset()
    blocks: frozenset[str] = frozenset()
    """Replaced whole, never changed in place: frozen, so the many accounts that follow or block
    no one share the one empty frozenset (two empty sets per account were 43 MB at 100,000)."""

    @property
    def gone(self) -> bool:
        """Deactivated or taken down: no one can reach it (a suspended account is still there)."""
        return self.status in ("deactivated", "takendown")

    @property
    def incoming(self) -> str:
        """Who may start a direct chat with this account: an unset declaration means ``following``."""
        return self.allow_incoming or "following"

    @property
    def group_invites(self) -> str:
        """Who may add this account to a group: unset, it follows ``allowIncoming`` (as the app reads it)."""
        return self.allow_group_invites or self.incoming

    def follows_did(self, did: str) -> bool:
        """Whether this actor follows ``did``."""
        return did in self.follows

    def blocks_did(self, did: str) -> bool:
        """Whether this actor blocks ``did``."""
        return did in self.blocks

    def __setattr__(self, name: str, value: Any) -> None:
        # Every field holds an immutable value (the graph in frozensets, replaced whole), so every
        # change to an account passes here, and stamps it anew.
        object.__setattr__(self, name, value)
        self.__dict__["_stamp"] = next(_STAMPS)

    @property
    def stamp(self) -> int:
        """A number no account had before: it changes with every change to this one, so a view
        rendered from it can be kept until then (``State.views``)."""
        return int(self.__dict__["_stamp"])


@dataclass
class State:
    """Everything the server knows. Reset by replacing it with a new ``State()``."""

    actors: dict[str, Actor] = field(default_factory=dict)
    handles: dict[str, str] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)
    """Live refresh-token ids (``jti``) mapped to the DID they belong to."""
    followers: dict[str, set[str]] = field(default_factory=dict)
    """DID -> DIDs that follow it (the reverse of ``Actor.follows``)."""
    convos: dict[str, Convo] = field(default_factory=dict)
    member_convos: dict[str, set[str]] = field(default_factory=dict)
    """DID -> ids of the convos it is a member of now."""
    links: dict[str, JoinLink] = field(default_factory=dict)
    """Every join link code ever made (disabled and replaced ones too)."""
    outgoing_requests: dict[str, dict[str, JoinRequest]] = field(default_factory=dict)
    """DID -> convo id -> that DID's pending join request."""
    log_convos: dict[str, set[str]] = field(default_factory=dict)
    """DID -> ids of the convos holding log events addressed to it."""
    directs: dict[frozenset[str], str] = field(default_factory=dict)
    """The two DIDs of a direct convo -> its id: one convo per pair, whoever asks."""
    preferences: dict[str, dict[str, Any]] = field(default_factory=dict)
    """DID -> chat notification preferences it set (``chat``, ``chatRequest``); absent: defaults."""
    views: dict[tuple[str, str | None], tuple[tuple[int, int], dict[str, Any]]] = field(
        default_factory=dict, repr=False, compare=False
    )
    """Profile views rendered (subject DID, viewer DID) -> (the two accounts' stamps then, view):
    kept while neither account changes. Not state: never dumped, dropped with the state."""

    def convos_of(self, did: str) -> set[str]:
        """Ids of the convos ``did`` is a member of."""
        return self.member_convos.get(did, set())

    def add_actor(self, actor: Actor) -> None:
        """Store an actor and index its handle."""
        self.actors[actor.did] = actor
        self.handles[actor.handle] = actor.did

    def set_follows(self, actor: Actor, follows: AbstractSet[str]) -> None:
        """Replace whom ``actor`` follows, keeping the followers index right."""
        for did in actor.follows - follows:
            self.followers.get(did, set()).discard(actor.did)
        for did in follows - actor.follows:
            self.followers.setdefault(did, set()).add(actor.did)
        actor.follows = frozenset(follows)

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


LOCK_STATUSES = ("unlocked", "locked", "locked-permanently")
JOIN_RULES = ("anyone", "followedByOwner")


@dataclass(slots=True)
class Member:
    """One membership of a group convo, as the member sees it."""

    did: str
    role: str
    """``owner`` or ``standard``."""
    status: str
    """``request`` until the member accepts, then ``accepted``."""
    order: int
    """Position in join order; getConvoMembers pages by it."""
    joined_seq: int
    """Index of the first message this member may see."""
    added_by: str | None = None
    muted: bool = False
    read_seq: int = -1
    """Index of the last message the member has read."""
    unread: int = 0
    """User messages from others after ``read_seq``."""
    deleted: frozenset[str] = frozenset()
    """Ids of the messages this member deleted for themselves (replaced whole, like follows)."""
    rev: str = ""
    """Rev of this member's latest private change (read, mute, accept, own join requests): it
    shows in this member's views only, never moving the convo for the others."""


@dataclass(slots=True)
class Reaction:
    """An emoji reaction on a message."""

    value: str
    sender: str
    created_at: str


@dataclass(slots=True)
class Message:
    """A user message (``sender`` set) or a system message (``system`` set)."""

    id: str
    rev: str
    seq: int
    sent_at: str
    sender: str | None = None
    text: str = ""
    facets: list[Any] | None = None
    embed: dict[str, Any] | None = None
    reply_to: str | None = None
    system: dict[str, Any] | None = None
    reactions: list[Reaction] | tuple[()] = ()
    """Reactions in the order they were added; an empty tuple (shared) until the first one."""
    removed: bool = False
    """Its sender deleted their chat account: everyone sees it as a ``deletedMessageView``."""

    def add_reaction(self, reaction: Reaction) -> None:
        """Append a reaction (the list is made on the first one: most messages never get any)."""
        if isinstance(self.reactions, tuple):
            self.reactions = []
        self.reactions.append(reaction)


@dataclass
class JoinLink:
    """A join link; a group has at most one enabled at a time."""

    code: str
    convo_id: str
    join_rule: str
    require_approval: bool
    enabled: bool
    created_at: str


@dataclass(slots=True)
class JoinRequest:
    """A pending request to join a group through a link that needs approval."""

    convo_id: str
    did: str
    requested_at: str
    seq: int


@dataclass(slots=True)
class LogEvent:
    """One ``chat.bsky.convo.getLog`` event, shown to the DIDs in ``audience``.

    Only references are stored; the views are rendered for each viewer when read.
    """

    rev: str
    convo_id: str
    kind: str
    """The log def name, such as ``logAddMember``."""
    audience: frozenset[str]
    message_id: str | None = None
    subject: str | None = None
    reaction: Reaction | None = None


@dataclass
class Convo:
    """A convo (a group, or a direct convo of two) with its members, history, link, requests and log."""

    id: str
    rev: str
    created_at: str
    name: str
    owner: str
    """The group's owner ("" for a direct convo, and for a group whose owner left)."""
    member_limit: int
    members: dict[str, Member] = field(default_factory=dict)
    lock_status: str = "unlocked"
    moderation_lock: bool = False
    """Locked by moderation from outside (the admin API's takedown: ``convo_taken_down``)."""
    owner_suspended: bool = False
    """Its owner has no chat access (``updateActorAccess``): locked by moderation until it is back."""
    link: JoinLink | None = None
    messages: list[Message] = field(default_factory=list)
    message_ids: dict[str, Message] = field(default_factory=dict)
    kicked: set[str] = field(default_factory=set)
    past_members: dict[str, int] = field(default_factory=dict)
    """Who was a member and is not now, with the ``joined_seq`` of their last membership."""
    requests: dict[str, JoinRequest] = field(default_factory=dict)
    request_seq: int = 0
    requests_read_seq: int = 0
    unread_requests: int = 0
    """Pending requests with ``seq`` past ``requests_read_seq`` (kept by add_request / drop_request)."""
    next_order: int = 0
    last_reaction: tuple[str, Reaction] | None = None
    events: list[LogEvent] = field(default_factory=list)
    event_revs: list[str] = field(default_factory=list)
    kind: str = "group"
    """``group`` or ``direct``."""
    pair: tuple[str, ...] = ()
    """A direct convo's two DIDs (in the order it was made), members now or not."""
    _everyone: frozenset[str] | None = field(default=None, repr=False, compare=False)

    def everyone(self) -> frozenset[str]:
        """The current members as one shared frozenset (log events of the same audience share it)."""
        if (
            self._everyone is None
            or len(self._everyone) != len(self.members)
            or not all(did in self._everyone for did in self.members)
        ):
            self._everyone = frozenset(self.members)
        return self._everyone

    @property
    def direct(self) -> bool:
        """Whether this is a direct (1:1) convo."""
        return self.kind == "direct"

    @property
    def locked(self) -> bool:
        """Whether the convo takes no new content (by the owner or by moderation)."""
        return self.moderated or self.lock_status != "unlocked"

    @property
    def moderated(self) -> bool:
        """Locked by moderation, for either reason."""
        return self.moderation_lock or self.owner_suspended

    @property
    def moderation_reason(self) -> str | None:
        """Why moderation locks it (the takedown first), or None."""
        if self.moderation_lock:
            return "convo_taken_down"
        return "owner_suspended" if self.owner_suspended else None

    @property
    def effective_lock_status(self) -> str:
        """The lock status clients see (a moderation lock shows as ``locked``)."""
        if self.moderated and self.lock_status == "unlocked":
            return "locked"
        return self.lock_status
