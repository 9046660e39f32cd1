"""A whole group life, driven by the official atproto SDK, checking what every participant sees.

Each participant keeps a getLog cursor, so every check looks only at what happened since that
participant last looked. The SDK parses every answer into its models, so a view that does not
match the lexicons fails here too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from atproto.exceptions import BadRequestError
from conftest import Api

DEFS = "chat.bsky.convo.defs"


class Person:
    """One participant: an SDK client and a getLog cursor."""

    def __init__(self, api: Api, client: Any) -> None:
        self.did = api.did
        self.handle = api.handle
        self.chat = client.chat.bsky
        self.cursor: str = ""
        """Where this person stopped reading: "" is before every rev, so the first read has it all."""

    def new_log(self) -> list[Any]:
        """The log events since this person last looked."""
        page = self.chat.convo.get_log({"cursor": self.cursor})
        if page.cursor:
            self.cursor = page.cursor
        return list(page.logs)

    def new_log_types(self) -> list[str]:
        return [event.py_type.split("#")[1] for event in self.new_log()]

    def convo(self, convo_id: str) -> Any:
        return self.chat.convo.get_convo({"convoId": convo_id}).convo

    def messages(self, convo_id: str) -> list[Any]:
        """Messages oldest first."""
        return list(reversed(self.chat.convo.get_messages({"convoId": convo_id, "limit": 100}).messages))

    def refused(self, call: Callable[[], Any]) -> str:
        """The XRPC error name of a call that must fail."""
        with pytest.raises(BadRequestError) as info:
            call()
        assert info.value.response is not None
        return str(info.value.response.content.error)


def system_kinds(messages: list[Any]) -> list[str]:
    return [m.data.py_type.split("#systemMessageData")[1] for m in messages if m.py_type.endswith("systemMessageView")]


def test_a_whole_group_life(api: Callable[..., Api], sdk: Callable[[str], Any]) -> None:
    names = ["alice", "bob", "carol", "dan", "erin", "frank", "gus"]
    people = {name: Person(api(name), sdk(f"{name}.test")) for name in names}
    alice, bob, carol, dan, erin, frank, gus = (people[n] for n in names)

    # 1. alice creates a group with bob: bob sees it as a request
    convo = alice.chat.group.create_group({"name": "Book club", "members": [bob.did]}).convo
    cid = convo.id
    assert convo.status == "accepted" and convo.kind.member_count == 2 and convo.kind.member_limit == 50
    assert alice.new_log_types() == ["logBeginConvo"]
    assert bob.new_log_types() == ["logBeginConvo"]
    assert bob.convo(cid).status == "request"
    requests = bob.chat.convo.list_convo_requests().requests
    assert [r.id for r in requests] == [cid]

    # 2. bob accepts
    accepted = bob.chat.convo.accept_convo({"convoId": cid})
    assert accepted.rev
    assert bob.chat.convo.accept_convo({"convoId": cid}).rev is None  # already accepted
    assert bob.convo(cid).status == "accepted"
    assert bob.new_log_types() == ["logAcceptConvo"]
    assert alice.new_log_types() == []

    # 3. alice adds carol: carol begins the convo and sees the addMember message first
    added = alice.chat.group.add_members({"convoId": cid, "members": [carol.did]})
    assert [p.did for p in added.added_members] == [carol.did]
    assert carol.new_log_types() == ["logBeginConvo", "logAddMember"]
    assert bob.new_log_types() == ["logAddMember"]
    assert alice.new_log_types() == ["logAddMember"]
    first = carol.messages(cid)
    assert system_kinds(first) == ["AddMember"]
    assert first[0].data.added_by.did == alice.did and first[0].data.member.did == carol.did
    carol_kind = next(m.kind for m in carol.convo(cid).members if m.did == carol.did)
    assert carol_kind.role == "standard" and carol_kind.added_by.did == alice.did

    # 4. a join link without approval: dan joins
    link = alice.chat.group.create_join_link({"convoId": cid, "joinRule": "anyone"}).join_link
    assert link.enabled_status == "enabled" and link.require_approval is False
    joined = dan.chat.group.request_join({"code": link.code})
    assert joined.status == "joined" and joined.convo.id == cid
    assert dan.new_log_types() == ["logBeginConvo", "logMemberJoin"]
    assert bob.new_log_types() == ["logCreateJoinLink", "logMemberJoin"]
    join_message = dan.messages(cid)[-1]
    assert join_message.data.member.did == dan.did and join_message.data.approved_by is None

    # 5. the link now needs approval: erin asks, withdraws, asks again, is rejected
    edited = alice.chat.group.edit_join_link({"convoId": cid, "requireApproval": True}).join_link
    assert edited.require_approval is True and edited.code == link.code
    alice.new_log()
    asked = erin.chat.group.request_join({"code": link.code})
    assert asked.status == "pending" and asked.convo is None
    assert erin.new_log_types() == ["logOutgoingJoinRequest"]
    incoming = alice.new_log()
    assert [e.py_type for e in incoming] == [f"{DEFS}#logIncomingJoinRequest"]
    assert incoming[0].member.did == erin.did
    assert bob.new_log_types() == ["logEditJoinLink"]  # members see the edit, not the request
    pending = erin.chat.convo.list_convo_requests().requests
    assert [(r.py_type, r.convo_id, r.name) for r in pending] == [
        ("chat.bsky.group.defs#joinRequestConvoView", cid, "Book club")
    ]
    assert erin.refused(lambda: erin.convo(cid)) == "InvalidConvo"
    owner_view = alice.convo(cid).kind
    assert owner_view.join_request_count == 1 and owner_view.unread_join_request_count == 1
    assert bob.convo(cid).kind.join_request_count is None  # only the owner sees counts

    erin.chat.group.withdraw_join_request({"convoId": cid})
    assert erin.new_log_types() == ["logWithdrawOutgoingJoinRequest"]
    assert alice.new_log_types() == ["logWithdrawIncomingJoinRequest"]
    assert erin.refused(lambda: erin.chat.group.withdraw_join_request({"convoId": cid})) == "InvalidJoinRequest"
    assert erin.chat.group.request_join({"code": link.code}).status == "pending"
    alice.new_log()
    alice.chat.group.reject_join_request({"convoId": cid, "member": erin.did})
    assert alice.new_log_types() == ["logRejectJoinRequest"]
    assert alice.chat.group.list_join_requests({"convoId": cid}).requests == []
    assert erin.chat.convo.list_convo_requests().requests == []

    # 6. frank asks and alice approves him
    assert frank.chat.group.request_join({"code": link.code}).status == "pending"
    listed = alice.chat.group.list_join_requests({"convoId": cid}).requests
    assert [r.requested_by.did for r in listed] == [frank.did]
    alice.new_log()
    bob.new_log()
    approved = alice.chat.group.approve_join_request({"convoId": cid, "member": frank.did}).convo
    assert approved.kind.member_count == 5
    assert alice.new_log_types() == ["logApproveJoinRequest", "logMemberJoin"]
    assert frank.new_log_types() == ["logOutgoingJoinRequest", "logBeginConvo", "logMemberJoin"]
    assert bob.new_log_types() == ["logMemberJoin"]
    frank_sees = frank.messages(cid)
    assert len(frank_sees) == 1  # nothing from before he joined
    assert frank_sees[0].data.approved_by.did == alice.did

    # 7. alice renames the group
    alice.chat.group.edit_group({"convoId": cid, "name": "Novel club"})
    rename = bob.messages(cid)[-1]
    assert (rename.data.old_name, rename.data.new_name) == ("Book club", "Novel club")
    assert bob.new_log_types() == ["logEditGroup"]
    assert bob.convo(cid).kind.name == "Novel club"

    # 8. alice removes dan; dan may not come back by link
    dan.new_log()
    carol.new_log()
    alice.chat.group.remove_members({"convoId": cid, "members": [dan.did]})
    assert dan.new_log_types() == ["logLeaveConvo"]
    assert carol.new_log_types() == ["logRemoveMember"]
    assert dan.refused(lambda: dan.convo(cid)) == "InvalidConvo"
    alice.chat.group.edit_join_link({"convoId": cid, "requireApproval": False})
    assert dan.refused(lambda: dan.chat.group.request_join({"code": link.code})) == "UserKicked"

    # 9. lock: no messages, no joins; unlock
    alice.chat.convo.lock_convo({"convoId": cid})
    assert bob.convo(cid).kind.lock_status == "locked"
    send = {"convoId": cid, "message": {"text": "anyone?"}}
    assert bob.refused(lambda: bob.chat.convo.send_message(send)) == "ConvoLocked"
    assert gus.refused(lambda: gus.chat.group.request_join({"code": link.code})) == "ConvoLocked"
    alice.chat.convo.unlock_convo({"convoId": cid})
    assert system_kinds(bob.messages(cid))[-2:] == ["LockConvo", "UnlockConvo"]

    # 10. bob talks, carol replies; everyone sees it
    bob.new_log()
    hello = bob.chat.convo.send_message(send)
    reply = carol.chat.convo.send_message(
        {"convoId": cid, "message": {"text": "me!", "replyTo": {"messageId": hello.id}}}
    )
    assert reply.reply_to.id == hello.id
    assert bob.new_log_types() == ["logCreateMessage", "logCreateMessage"]
    last = frank.convo(cid)
    assert last.last_message.id == reply.id and last.unread_count == 2
    frank.chat.convo.update_read({"convoId": cid})
    assert frank.convo(cid).unread_count == 0

    # 11. bob leaves; alice cannot leave an unlocked group; she locks it and leaves
    carol.new_log()
    left = bob.chat.convo.leave_convo({"convoId": cid})
    assert left.convo_id == cid
    assert bob.new_log_types()[-1] == "logLeaveConvo"
    assert carol.new_log_types() == ["logMemberLeave"]
    assert alice.refused(lambda: alice.chat.convo.leave_convo({"convoId": cid})) == "OwnerCannotLeave"
    alice.chat.convo.lock_convo({"convoId": cid})
    alice.chat.convo.leave_convo({"convoId": cid})
    after = carol.convo(cid)
    assert after.kind.lock_status == "locked-permanently"
    assert after.kind.member_count == 2  # carol and frank
    assert system_kinds(carol.messages(cid))[-3:] == ["LockConvo", "LockConvoPermanently", "MemberLeave"]
    assert carol.new_log_types()[-2:] == ["logLockConvoPermanently", "logMemberLeave"]
    assert carol.refused(lambda: carol.chat.convo.send_message(send)) == "ConvoLocked"
    assert alice.refused(lambda: alice.convo(cid)) == "InvalidConvo"
    # the old owner now shows as a past member next to the messages she wrote
    related = carol.chat.convo.get_messages({"convoId": cid}).related_profiles
    alice_profile = next(p for p in related if p.did == alice.did)
    assert alice_profile.kind.py_type == "chat.bsky.actor.defs#pastGroupConvoMember"
