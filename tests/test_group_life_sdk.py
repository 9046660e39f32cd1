"""One whole group life, told step by step through the official atproto SDK.

Every chat call goes through ``client.chat.bsky...`` of the atproto SDK, whose models parse every
answer strictly: a view that does not match the lexicons fails the test at the call.

The test keeps a small model of what the group should be (its members in join order, its name,
lock, link and pending requests, and the timeline of every message ever posted in it). After
each step it checks, for EVERY participant (members, past members and outsiders alike):

* getLog: exactly the new events since that participant's own last getLog call (each keeps a
  cursor), in order, with revs that only grow, and messages and relatedProfiles that match;
* getConvo: the viewer's rev, status, counts, name, lock, link, lastMessage and important
  members, or ``InvalidConvo`` for someone who is not a member;
* getMessages (read in small pages through the cursor): exactly the messages posted since the
  one that announced the viewer, with matching relatedProfiles;
* getConvoMembers: every member, in join order.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from atproto.exceptions import BadRequestError
from conftest import Api

DEFS = "chat.bsky.convo.defs"
ACTOR_DEFS = "chat.bsky.actor.defs"
GROUP_DEFS = "chat.bsky.group.defs"
MEMBER_LIMIT = 50
"""The server's default member limit (the fixture's server is started without ``--member-limit``)."""
PAGE = 3
"""getMessages page size: small, so that reading a history always goes through the cursor."""
IMPORTANT_FIRST = 5
"""A convoView lists the first 5 members in join order among its important members."""

Described = tuple[Any, ...]
"""A message reduced to comparable values, see :func:`describe`."""

SYSTEM_EVENTS = {
    "logAddMember",
    "logRemoveMember",
    "logMemberJoin",
    "logMemberLeave",
    "logLockConvo",
    "logUnlockConvo",
    "logLockConvoPermanently",
}
"""Log events whose lexicon requires relatedProfiles: the profiles the system message refers to."""

OWN_EVENTS = {
    "logAcceptConvo",
    "logLeaveConvo",
    "logMuteConvo",
    "logUnmuteConvo",
    "logReadConvo",
    "logReadMessage",
    "logIncomingJoinRequest",
    "logOutgoingJoinRequest",
    "logApproveJoinRequest",
    "logRejectJoinRequest",
    "logWithdrawIncomingJoinRequest",
    "logWithdrawOutgoingJoinRequest",
    "logReadJoinRequests",
}
"""Log events about one account's own doings (accept, read, mute, join requests): they move that
member's view of the convo only, never the convo's shared rev. Every other event is shared: it
moves every member's view. (A logBeginConvo is private too, but a group's creation starts every
member at the same rev, and a later one always comes with a shared addMember or memberJoin.)"""


def short(py_type: str) -> str:
    """``chat.bsky.convo.defs#logAddMember`` -> ``logAddMember``."""
    return py_type.split("#")[-1]


def describe(message: Any) -> Described:
    """A message as plain values.

    A user message: ``("message", sender did, text, id of the message it replies to or None)``.
    A system message: ``(kind, {field: value})`` where kind is the part after
    ``systemMessageData`` and referred users are reduced to their DID.
    """
    if message.py_type == f"{DEFS}#messageView":
        reply = message.reply_to
        parent = None if reply is None else getattr(reply, "id", short(reply.py_type))
        return ("message", message.sender.did, message.text, parent)
    assert message.py_type == f"{DEFS}#systemMessageView", message.py_type
    kind = message.data.py_type.removeprefix(f"{DEFS}#systemMessageData")
    fields = {name: getattr(value, "did", value) for name, value in message.data if name != "py_type" and value}
    return (kind, fields)


def system(kind: str, **fields: str) -> Described:
    """The expected description of a system message (see :func:`describe`)."""
    return (kind, fields)


def referred(described: Described) -> set[str]:
    """The DIDs a described message refers to: its sender, or the users its system data names."""
    if described[0] == "message":
        return {described[1]}
    return {value for value in described[1].values() if isinstance(value, str) and value.startswith("did:")}


def referred_in_view(message: Any) -> set[str]:
    """The DIDs a messageView refers to: its sender, its reactors, and the sender of the message it replies to."""
    dids = {message.sender.did} | {reaction.sender.did for reaction in message.reactions or []}
    parent = message.reply_to
    if parent is not None and parent.py_type == f"{DEFS}#messageView":
        dids.add(parent.sender.did)
    return dids


def refused(call: Callable[[], object]) -> str:
    """Run a call that must fail with an XRPC error; its error name."""
    with pytest.raises(BadRequestError) as info:
        call()
    assert info.value.response is not None
    return str(info.value.response.content.error)


class Participant:
    """One person in the story: an SDK client, their getLog cursor, and what the model expects of them."""

    def __init__(self, name: str, api: Api, client: Any) -> None:
        self.name = name
        self.did = api.did
        self.handle = api.handle
        self.chat = client.chat.bsky
        self.cursor = ""
        """getLog cursor: where this participant stopped reading their log ("" sorts before every rev)."""
        self.last_rev = ""
        """Rev of the last log event they read (revs are TIDs: they sort in the order of change)."""
        self.history: list[tuple[str, str]] = []
        """(type, rev) of every log event they read, in order."""
        # the model, while they are a member
        self.seen_from: int | None = None
        """Index in the group's timeline of the first message they may see; None while not a member."""
        self.status: str | None = None
        self.added_by: Participant | None = None
        self.unread = 0
        self.own_rev = ""
        """Rev of their latest own change (see ``OWN_EVENTS``) while a member: their view's rev is
        the later of it and the group's shared rev."""

    def __repr__(self) -> str:
        return self.name

    def new_log(self) -> list[Any]:
        """getLog from this participant's cursor: the events since they last looked."""
        page = self.chat.convo.get_log({"cursor": self.cursor})
        events = list(page.logs)
        revs = [event.rev for event in events]
        if events:
            assert page.cursor and page.cursor != self.cursor, (self, "a new cursor after new events")
            assert revs == sorted(set(revs)), (self, "events oldest first, each once", revs)
            assert revs[0] > self.last_rev, (self, "no event is repeated", revs[0], self.last_rev)
            self.last_rev = revs[-1]
            self.history += [(short(event.py_type), event.rev) for event in events]
        else:
            assert page.cursor == self.cursor, (self, "without events the cursor sent comes back")
        self.cursor = page.cursor
        return events

    def whole_log(self) -> list[tuple[str, str]]:
        """(type, rev) of every log event, read again from the very start (the empty cursor)."""
        seen: list[tuple[str, str]] = []
        cursor = ""
        for _ in range(100):
            page = self.chat.convo.get_log({"cursor": cursor})
            if not page.logs:
                return seen
            seen += [(short(event.py_type), event.rev) for event in page.logs]
            cursor = page.cursor
        raise AssertionError(f"{self}: getLog never runs out of events")

    def convo(self, convo_id: str) -> Any:
        """getConvo as this participant."""
        return self.chat.convo.get_convo({"convoId": convo_id}).convo

    def pages_of_messages(self, convo_id: str) -> list[Any]:
        """Every getMessages page, newest first, following the cursor (PAGE messages a page)."""
        pages: list[Any] = []
        params: dict[str, Any] = {"convoId": convo_id, "limit": PAGE}
        for _ in range(100):
            page = self.chat.convo.get_messages(params)
            pages.append(page)
            if not page.cursor:
                return pages
            params = {**params, "cursor": page.cursor}
        raise AssertionError(f"{self}: getMessages never stops handing out cursors")


class GroupStory:
    """Everyone in the story and the model of the one group they meet in."""

    def __init__(self, people: list[Participant]) -> None:
        self.people = people
        self.id = ""
        self.name = ""
        self.owner: Participant | None = None
        self.members: list[Participant] = []
        """Current members, in join order."""
        self.timeline: list[Described] = []
        """Every message posted in the group, oldest first."""
        self.logged = 0
        """How much of the timeline the log checks have covered already."""
        self.rev = ""
        """The group's shared rev: the newest rev of a shared event (not in ``OWN_EVENTS``) that
        anyone's log has shown."""
        self.lock_status = "unlocked"
        self.link: Any = None
        """The joinLinkView the group's link should show (None: no link yet)."""
        self.pending: list[Participant] = []
        """Pending join requests, oldest first."""
        self.unread_requests = 0

    # -- the model ---------------------------------------------------------------------------

    def join(self, person: Participant, status: str, added_by: Participant | None = None) -> None:
        """``person`` becomes a member; they see the timeline from the next message on (the one announcing them)."""
        person.seen_from, person.status, person.added_by, person.unread = len(self.timeline), status, added_by, 0
        person.own_rev = ""
        self.members.append(person)

    def drop(self, person: Participant) -> None:
        """``person`` is no longer a member (left or removed)."""
        self.members.remove(person)
        person.seen_from, person.status, person.added_by, person.unread = None, None, None, 0
        person.own_rev = ""

    def post(self, described: Described) -> None:
        """A message is posted; a user message is unread for every member but its sender (sending reads)."""
        self.timeline.append(described)
        if described[0] == "message":
            for member in self.members:
                member.unread = 0 if member.did == described[1] else member.unread + 1

    def names(self, dids: Any) -> list[str]:
        """People's names for DIDs, for readable failures."""
        by_did = {person.did: person.name for person in self.people}
        return sorted(by_did.get(did, did) for did in dids)

    # -- the checks --------------------------------------------------------------------------

    def check_related(
        self, profiles: list[Any], required: set[str], where: str, allowed: set[str] | None = None
    ) -> None:
        """relatedProfiles: each DID once; every required DID and nothing beyond ``allowed``
        (default: exactly the required ones); the member kind each has now."""
        dids = [profile.did for profile in profiles]
        assert len(dids) == len(set(dids)), (where, "each profile once", self.names(dids))
        assert required <= set(dids) <= (required if allowed is None else allowed), (
            f"{where}: relatedProfiles {self.names(dids)}, expected {self.names(required)}"
            + ("" if allowed is None else f" (and maybe {self.names(allowed - required)})")
        )
        current = {member.did for member in self.members}
        for profile in profiles:
            kind = "groupConvoMember" if profile.did in current else "pastGroupConvoMember"
            assert profile.kind is not None and profile.kind.py_type == f"{ACTOR_DEFS}#{kind}", (where, profile.did)

    def expect_logs(self, expected: dict[Participant, list[str]]) -> dict[Participant, list[Any]]:
        """Read every participant's new log events and compare their types; unnamed participants must get none.

        Events that carry a message must carry one posted in this step, in timeline order, with
        relatedProfiles naming exactly who the message (system data, or message view) refers to.
        Returns the events, per participant, for the step's own checks.
        """
        new_messages = self.timeline[self.logged :]
        self.logged = len(self.timeline)
        seen: dict[Participant, list[Any]] = {}
        for person in self.people:
            events = person.new_log()
            seen[person] = events
            assert [short(e.py_type) for e in events] == expected.get(person, []), person
            carried: list[Described] = []
            for event in events:
                assert event.convo_id == self.id, (person, event)
                if short(event.py_type) not in OWN_EVENTS:
                    self.rev = max(self.rev, event.rev)
                elif person in self.members:
                    person.own_rev = max(person.own_rev, event.rev)
                message = getattr(event, "message", None)
                if message is None or short(event.py_type) == "logReadConvo":
                    continue
                described = describe(message)
                assert described in new_messages, (person, short(event.py_type), described, new_messages)
                carried.append(described)
                where = f"{person}'s {short(event.py_type)}"
                if short(event.py_type) in SYSTEM_EVENTS:
                    self.check_related(event.related_profiles, referred(described), where)
                elif short(event.py_type) == "logCreateMessage":
                    # "Profiles referred to in the message view": the sender, and the sender of
                    # the message replied to, whose view is embedded in it
                    assert event.related_profiles is not None, where
                    self.check_related(event.related_profiles, referred_in_view(message), where)
            assert carried == [m for m in new_messages if m in carried], (person, "messages in the order posted")
        return seen

    def check_views(self) -> None:
        """getConvo, getMessages and getConvoMembers, as every participant, against the model."""
        for person in self.people:
            if person in self.members:
                self.check_member_views(person)
            else:
                # not a member (never, not yet, or not any more): the group does not exist for them
                convo = person.chat.convo
                for read in (convo.get_convo, convo.get_messages, convo.get_convo_members):
                    assert refused(partial(read, {"convoId": self.id})) == "InvalidConvo", (person, read.__name__)

    def check_member_views(self, person: Participant) -> None:
        assert person.seen_from is not None and self.owner is not None
        # getConvo: the convo as this member sees it
        view = person.convo(self.id)
        assert (view.id, view.rev, view.status, view.muted, view.unread_count) == (
            self.id,
            max(self.rev, person.own_rev),
            person.status,
            False,
            person.unread,
        ), person
        kind = view.kind
        assert kind.py_type == f"{DEFS}#groupConvo", person
        assert (kind.name, kind.member_count, kind.member_limit) == (self.name, len(self.members), MEMBER_LIMIT), person
        assert (kind.lock_status, kind.lock_status_moderation_override) == (self.lock_status, False), person
        assert kind.join_link == self.link, person
        if person is self.owner:
            # the owner's counts, left out while they are 0
            assert (kind.join_request_count, kind.unread_join_request_count) == (
                len(self.pending) or None,
                self.unread_requests or None,
            ), person
        else:
            assert (kind.join_request_count, kind.unread_join_request_count) == (None, None), person
        last = describe(view.last_message) if view.last_message is not None else None
        assert last == (self.timeline[-1] if self.timeline else None), person
        assert view.last_reaction is None
        # the important members: the first 5, the viewer, who added the viewer, the last sender.
        # An adder who has left since may be listed (as a past member) or not: both readings of
        # "the member who added the viewer" are fair.
        important = {m.did for m in self.members[:IMPORTANT_FIRST]} | {person.did}
        if last is not None and last[0] == "message":
            important.add(last[1])
        maybe: set[str] = set()
        if person.added_by is not None:
            (important if person.added_by in self.members else maybe).add(person.added_by.did)
        listed = [profile.did for profile in view.members]
        assert len(listed) == len(set(listed)), (person, "each important member once", self.names(listed))
        assert important <= set(listed) <= important | maybe, (
            f"{person}'s important members: {self.names(listed)}, expected {self.names(important)}"
        )
        self.check_member_kinds(view.members, person)

        # getMessages: everything since the message that announced this member, nothing before
        pages = person.pages_of_messages(self.id)
        for page in pages:
            described = [describe(m) for m in page.messages]
            assert len(described) <= PAGE
            # "all members who authored or reacted to the returned messages" and those named by
            # system messages; the senders of replied-to messages may come along
            who = set().union(*(referred(d) for d in described)) if described else set()
            replies = [getattr(m, "reply_to", None) for m in page.messages]
            parents = {r.sender.did for r in replies if r is not None and r.py_type == f"{DEFS}#messageView"}
            self.check_related(page.related_profiles or [], who, f"{person}'s getMessages", who | parents)
        history = [describe(m) for page in pages for m in page.messages][::-1]
        assert history == self.timeline[person.seen_from :], person

        # getConvoMembers: every member, in join order
        everyone = person.chat.convo.get_convo_members({"convoId": self.id})
        assert [m.did for m in everyone.members] == [m.did for m in self.members], person
        assert everyone.cursor is None
        self.check_member_kinds(everyone.members, person)

    def check_member_kinds(self, profiles: list[Any], viewer: Participant) -> None:
        """Each current member shows role and addedBy; anyone else shows as a past member."""
        by_did = {member.did: member for member in self.members}
        for profile in profiles:
            member = by_did.get(profile.did)
            if member is None:
                assert profile.kind.py_type == f"{ACTOR_DEFS}#pastGroupConvoMember", (viewer, profile.did)
                continue
            assert profile.kind.py_type == f"{ACTOR_DEFS}#groupConvoMember", (viewer, profile.did)
            assert profile.kind.role == ("owner" if member is self.owner else "standard"), (viewer, member)
            added_by = profile.kind.added_by.did if profile.kind.added_by is not None else None
            assert added_by == (member.added_by.did if member.added_by else None), (viewer, member)


def test_a_whole_group_life_as_every_participant_sees_it(api: Callable[..., Api], sdk: Callable[[str], Any]) -> None:
    names = ["alice", "bob", "carol", "dan", "erin", "frank", "gus"]
    alice, bob, carol, dan, erin, frank, gus = people = [Participant(n, api(n), sdk(f"{n}.test")) for n in names]
    story = GroupStory(people)

    # ------------------------------------------------------------------------------------------
    # 0. Nobody has anything yet.
    story.expect_logs({})
    assert all(p.chat.convo.list_convos().convos == [] for p in people)

    # ------------------------------------------------------------------------------------------
    # 1. alice creates "Book club" with bob. The convo begins for both; no system message.
    created = alice.chat.group.create_group({"name": "Book club", "members": [bob.did]}).convo
    story.id, story.name, story.owner = created.id, "Book club", alice
    cid = created.id
    story.join(alice, "accepted")
    story.join(bob, "request", added_by=alice)
    story.expect_logs({alice: ["logBeginConvo"], bob: ["logBeginConvo"]})
    story.check_views()
    assert created == alice.convo(cid)  # the answer is alice's own view of the new group
    # bob sees it as a request: in listConvoRequests (as a convoView), not in alice's
    bob_requests = bob.chat.convo.list_convo_requests().requests
    assert [(r.py_type, r.id, r.status) for r in bob_requests] == [(f"{DEFS}#convoView", cid, "request")]
    assert alice.chat.convo.list_convo_requests().requests == []
    assert [c.id for c in bob.chat.convo.list_convos({"status": "request"}).convos] == [cid]

    # ------------------------------------------------------------------------------------------
    # 2. bob accepts. Only bob's log shows it; accepting again is a no-op without a rev.
    accepted = bob.chat.convo.accept_convo({"convoId": cid})
    bob.status = "accepted"
    logs = story.expect_logs({bob: ["logAcceptConvo"]})
    assert accepted.rev == logs[bob][0].rev
    assert bob.chat.convo.accept_convo({"convoId": cid}).rev is None
    story.expect_logs({})
    story.check_views()
    assert bob.chat.convo.list_convo_requests().requests == []

    # ------------------------------------------------------------------------------------------
    # 3. alice adds carol. carol's convo begins with the addMember system message, named by alice.
    added = alice.chat.group.add_members({"convoId": cid, "members": [carol.did]})
    assert [p.did for p in added.added_members] == [carol.did]
    story.join(carol, "request", added_by=alice)
    story.post(system("AddMember", member=carol.did, role="standard", added_by=alice.did))
    logs = story.expect_logs(
        {
            alice: ["logAddMember"],
            bob: ["logAddMember"],
            carol: ["logBeginConvo", "logAddMember"],
        }
    )
    assert logs[carol][0].rev < logs[carol][1].rev
    story.check_views()
    assert added.convo == alice.convo(cid)
    assert [r.id for r in carol.chat.convo.list_convo_requests().requests] == [cid]

    # ------------------------------------------------------------------------------------------
    # 4. alice makes a join link that needs no approval; dan previews it and joins at once.
    link = alice.chat.group.create_join_link({"convoId": cid, "joinRule": "anyone"}).join_link
    assert (link.enabled_status, link.require_approval, link.join_rule) == ("enabled", False, "anyone")
    story.link = link
    story.post(system("CreateJoinLink"))
    story.expect_logs({alice: ["logCreateJoinLink"], bob: ["logCreateJoinLink"], carol: ["logCreateJoinLink"]})
    story.check_views()

    preview = dan.chat.group.get_join_link_previews({"codes": [link.code]}).join_link_previews[0]
    assert preview.py_type == f"{GROUP_DEFS}#joinLinkPreviewView"
    assert (preview.convo_id, preview.name, preview.member_count, preview.require_approval) == (
        cid,
        "Book club",
        3,
        False,
    )
    assert preview.owner.did == alice.did and preview.convo is None
    assert preview.viewer is not None and preview.viewer.requested_at is None

    joined = dan.chat.group.request_join({"code": link.code})
    assert joined.status == "joined" and joined.convo is not None and joined.convo.id == cid
    story.join(dan, "accepted")
    story.post(system("MemberJoin", member=dan.did, role="standard"))  # no approvedBy
    logs = story.expect_logs(
        {
            alice: ["logMemberJoin"],
            bob: ["logMemberJoin"],
            carol: ["logMemberJoin"],
            dan: ["logBeginConvo", "logMemberJoin"],
        }
    )
    assert logs[dan][1].message.data.approved_by is None
    story.check_views()
    assert joined.convo == dan.convo(cid)
    # asking again by the same link is harmless: dan is a member already
    again = dan.chat.group.request_join({"code": link.code})
    assert again.status == "joined" and again.convo is not None and again.convo.id == cid
    story.expect_logs({})

    # ------------------------------------------------------------------------------------------
    # 5. alice makes the link need approval. erin asks: only alice hears of it, erin sees her
    #    own pending request, and nobody's messages change.
    edited = alice.chat.group.edit_join_link({"convoId": cid, "requireApproval": True}).join_link
    assert (edited.code, edited.require_approval, edited.enabled_status) == (link.code, True, "enabled")
    story.link = edited
    story.post(system("EditJoinLink"))
    story.expect_logs({p: ["logEditJoinLink"] for p in story.members})
    story.check_views()

    asked = erin.chat.group.request_join({"code": link.code})
    assert asked.status == "pending" and asked.convo is None
    story.pending, story.unread_requests = [erin], 1
    logs = story.expect_logs({alice: ["logIncomingJoinRequest"], erin: ["logOutgoingJoinRequest"]})
    assert logs[alice][0].member.did == erin.did
    story.check_views()  # erin is not a member: InvalidConvo for her getConvo and getMessages
    erin_requests = erin.chat.convo.list_convo_requests().requests
    assert len(erin_requests) == 1
    request = erin_requests[0]
    assert request.py_type == f"{GROUP_DEFS}#joinRequestConvoView"
    assert (request.convo_id, request.name, request.owner.did, request.member_count, request.member_limit) == (
        cid,
        "Book club",
        alice.did,
        4,
        MEMBER_LIMIT,
    )
    assert request.viewer.requested_at
    erin_preview = erin.chat.group.get_join_link_previews({"codes": [link.code]}).join_link_previews[0]
    assert erin_preview.viewer.requested_at == request.viewer.requested_at and erin_preview.convo is None
    listed = alice.chat.group.list_join_requests({"convoId": cid}).requests
    assert [(r.convo_id, r.requested_by.did) for r in listed] == [(cid, erin.did)]
    # asking twice is one request
    assert erin.chat.group.request_join({"code": link.code}).status == "pending"
    story.expect_logs({})

    # ------------------------------------------------------------------------------------------
    # 6. erin withdraws (twice is an error), asks again, and alice rejects her: erin hears nothing.
    erin.chat.group.withdraw_join_request({"convoId": cid})
    story.pending, story.unread_requests = [], 0
    logs = story.expect_logs({alice: ["logWithdrawIncomingJoinRequest"], erin: ["logWithdrawOutgoingJoinRequest"]})
    assert logs[alice][0].member.did == erin.did
    story.check_views()
    assert erin.chat.convo.list_convo_requests().requests == []
    assert refused(lambda: erin.chat.group.withdraw_join_request({"convoId": cid})) == "InvalidJoinRequest"

    assert erin.chat.group.request_join({"code": link.code}).status == "pending"
    story.pending, story.unread_requests = [erin], 1
    story.expect_logs({alice: ["logIncomingJoinRequest"], erin: ["logOutgoingJoinRequest"]})
    story.check_views()

    alice.chat.group.reject_join_request({"convoId": cid, "member": erin.did})
    story.pending, story.unread_requests = [], 0
    logs = story.expect_logs({alice: ["logRejectJoinRequest"]})
    assert logs[alice][0].member.did == erin.did
    story.check_views()
    assert alice.chat.group.list_join_requests({"convoId": cid}).requests == []
    assert erin.chat.convo.list_convo_requests().requests == []
    assert refused(lambda: alice.chat.group.reject_join_request({"convoId": cid, "member": erin.did})) == (
        "InvalidRequest"
    )
    story.expect_logs({})

    # ------------------------------------------------------------------------------------------
    # 7. frank asks; alice marks the requests read, then approves him. frank joins with a
    #    memberJoin naming alice as approver, and sees nothing from before he joined.
    assert frank.chat.group.request_join({"code": link.code}).status == "pending"
    story.pending, story.unread_requests = [frank], 1
    story.expect_logs({alice: ["logIncomingJoinRequest"], frank: ["logOutgoingJoinRequest"]})
    story.check_views()

    alice.chat.group.update_join_requests_read({"convoId": cid})
    story.unread_requests = 0
    story.expect_logs({alice: ["logReadJoinRequests"]})
    story.check_views()  # alice: joinRequestCount 1, unreadJoinRequestCount left out (0)

    approved = alice.chat.group.approve_join_request({"convoId": cid, "member": frank.did}).convo
    story.pending = []
    story.join(frank, "accepted")
    story.post(system("MemberJoin", member=frank.did, role="standard", approved_by=alice.did))
    logs = story.expect_logs(
        {
            alice: ["logApproveJoinRequest", "logMemberJoin"],
            bob: ["logMemberJoin"],
            carol: ["logMemberJoin"],
            dan: ["logMemberJoin"],
            frank: ["logBeginConvo", "logMemberJoin"],
        }
    )
    assert logs[alice][0].member.did == frank.did
    assert logs[frank][1].message.data.approved_by.did == alice.did
    story.check_views()
    assert approved == alice.convo(cid)
    # frank's history starts at his own arrival: four earlier messages stay hidden from him
    frank_history = [describe(m) for m in frank.chat.convo.get_messages({"convoId": cid}).messages]
    assert frank_history == [system("MemberJoin", member=frank.did, role="standard", approved_by=alice.did)]
    assert len(bob.chat.convo.get_messages({"convoId": cid}).messages) == 5
    assert frank.chat.convo.list_convo_requests().requests == []

    # ------------------------------------------------------------------------------------------
    # 8. alice renames the group: everyone gets logEditGroup and an editGroup system message.
    renamed = alice.chat.group.edit_group({"convoId": cid, "name": "Novel club"}).convo
    story.name = "Novel club"
    story.post(system("EditGroup", old_name="Book club", new_name="Novel club"))
    story.expect_logs({p: ["logEditGroup"] for p in story.members})
    story.check_views()
    assert renamed == alice.convo(cid)

    # ------------------------------------------------------------------------------------------
    # 9. alice removes dan. dan's log says he left (logLeaveConvo, not logRemoveMember); the
    #    others see logRemoveMember. dan may not come back by the link.
    before = list(story.members)
    removed = alice.chat.group.remove_members({"convoId": cid, "members": [dan.did]}).convo
    story.drop(dan)
    story.post(system("RemoveMember", member=dan.did, removed_by=alice.did))
    story.expect_logs({**{p: ["logRemoveMember"] for p in before if p is not dan}, dan: ["logLeaveConvo"]})
    story.check_views()  # dan now gets InvalidConvo; the others see him as a past member
    assert removed == alice.convo(cid)
    assert refused(lambda: dan.chat.group.request_join({"code": link.code})) == "UserKicked"
    story.expect_logs({})

    # ------------------------------------------------------------------------------------------
    # 10. alice locks the group: bob cannot send, gus (a newcomer) cannot ask to join. She unlocks.
    locked = alice.chat.convo.lock_convo({"convoId": cid}).convo
    story.lock_status = "locked"
    story.post(system("LockConvo", locked_by=alice.did))
    story.expect_logs({p: ["logLockConvo"] for p in story.members})
    story.check_views()
    assert locked == alice.convo(cid)
    hello = {"convoId": cid, "message": {"text": "Has anyone started chapter one?"}}
    assert refused(lambda: bob.chat.convo.send_message(hello)) == "ConvoLocked"
    assert refused(lambda: gus.chat.group.request_join({"code": link.code})) == "ConvoLocked"
    assert refused(lambda: alice.chat.convo.lock_convo({"convoId": cid})) == "ConvoLocked"
    story.expect_logs({})
    story.check_views()

    unlocked = alice.chat.convo.unlock_convo({"convoId": cid}).convo
    story.lock_status = "unlocked"
    story.post(system("UnlockConvo", unlocked_by=alice.did))
    story.expect_logs({p: ["logUnlockConvo"] for p in story.members})
    story.check_views()
    assert unlocked == alice.convo(cid)

    # ------------------------------------------------------------------------------------------
    # 11. bob talks. carol replies (which accepts the convo for her: she never did), and bob
    #     replies to her. Every current member gets logCreateMessage; dan, removed, gets nothing.
    first = bob.chat.convo.send_message(hello)
    story.post(("message", bob.did, "Has anyone started chapter one?", None))
    logs = story.expect_logs({p: ["logCreateMessage"] for p in story.members})
    assert {logs[p][0].message.id for p in story.members} == {first.id}
    story.check_views()  # alice, carol and frank have 1 unread; bob, the sender, none

    answer = carol.chat.convo.send_message(
        {"convoId": cid, "message": {"text": "Yes, twice!", "replyTo": {"messageId": first.id}}}
    )
    assert answer.reply_to is not None and answer.reply_to.py_type == f"{DEFS}#messageView"
    assert answer.reply_to.id == first.id and answer.reply_to.reply_to is None
    carol.status = "accepted"
    story.post(("message", carol.did, "Yes, twice!", first.id))
    story.expect_logs(
        {**{p: ["logCreateMessage"] for p in story.members}, carol: ["logAcceptConvo", "logCreateMessage"]}
    )
    story.check_views()

    reply = bob.chat.convo.send_message(
        {"convoId": cid, "message": {"text": "No spoilers please", "replyTo": {"messageId": answer.id}}}
    )
    assert reply.reply_to is not None and reply.reply_to.id == answer.id
    assert reply.reply_to.reply_to is None  # the parent is embedded one level deep only
    story.post(("message", bob.did, "No spoilers please", answer.id))
    logs = story.expect_logs({p: ["logCreateMessage"] for p in story.members})
    assert describe(logs[frank][0].message) == story.timeline[-1]
    story.check_views()
    assert [(m.did, m.unread) for m in story.members] == [(alice.did, 3), (bob.did, 0), (carol.did, 1), (frank.did, 3)]

    # frank reads everything: only his log hears of it
    frank.chat.convo.update_read({"convoId": cid})
    frank.unread = 0
    logs = story.expect_logs({frank: ["logReadConvo"]})
    assert logs[frank][0].message.id == reply.id
    story.check_views()

    # ------------------------------------------------------------------------------------------
    # 12. bob leaves: memberLeave for the others, logLeaveConvo for him.
    before = list(story.members)
    left = bob.chat.convo.leave_convo({"convoId": cid})
    story.drop(bob)
    story.post(system("MemberLeave", member=bob.did))
    logs = story.expect_logs({**{p: ["logMemberLeave"] for p in before if p is not bob}, bob: ["logLeaveConvo"]})
    assert (left.convo_id, left.rev) == (cid, logs[bob][0].rev)
    story.check_views()  # bob's messages now come with a past-member profile

    # ------------------------------------------------------------------------------------------
    # 13. alice cannot leave an unlocked group. She locks it and leaves: the group is locked for
    #     good, with no owner; the rest can read but not write, and nobody can join.
    assert refused(lambda: alice.chat.convo.leave_convo({"convoId": cid})) == "OwnerCannotLeave"
    story.expect_logs({})
    story.check_views()

    alice.chat.convo.lock_convo({"convoId": cid})
    story.lock_status = "locked"
    story.post(system("LockConvo", locked_by=alice.did))
    story.expect_logs({p: ["logLockConvo"] for p in story.members})
    story.check_views()

    gone = alice.chat.convo.leave_convo({"convoId": cid})
    story.drop(alice)
    story.lock_status = "locked-permanently"
    story.post(system("LockConvoPermanently", locked_by=alice.did))
    story.post(system("MemberLeave", member=alice.did))
    logs = story.expect_logs(
        {
            alice: ["logLockConvoPermanently", "logLeaveConvo"],
            carol: ["logLockConvoPermanently", "logMemberLeave"],
            frank: ["logLockConvoPermanently", "logMemberLeave"],
        }
    )
    assert (gone.convo_id, gone.rev) == (cid, logs[alice][1].rev)
    story.check_views()  # carol and frank: locked-permanently, 2 members, alice a past member

    bye = {"convoId": cid, "message": {"text": "Anyone still here?"}}
    assert refused(lambda: carol.chat.convo.send_message(bye)) == "ConvoLocked"
    assert refused(lambda: gus.chat.group.request_join({"code": link.code})) == "ConvoLocked"
    assert refused(lambda: carol.chat.convo.unlock_convo({"convoId": cid})) == "InsufficientRole"
    assert refused(lambda: alice.chat.convo.unlock_convo({"convoId": cid})) == "InvalidConvo"
    story.expect_logs({})
    story.check_views()
    assert [c.id for c in carol.chat.convo.list_convos({"lockStatus": "locked-permanently"}).convos] == [cid]
    assert all(p.chat.convo.list_convos().convos == [] for p in (alice, bob, dan, erin, gus))

    # ------------------------------------------------------------------------------------------
    # 14. Everyone reads their whole log again from the start: exactly the events they read step
    #     by step, none skipped, none repeated, and every old event still renders (past members too).
    for person in people:
        assert person.whole_log() == person.history, person
    assert gus.history == []
