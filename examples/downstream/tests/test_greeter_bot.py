"""The bot's tests: bsky-chat-mock's pytest plugin gives a running fake chat service (chat_mock)."""

from __future__ import annotations

import pytest
from greeter_bot import GreeterBot


def test_greets_a_member_added_by_the_owner(chat_mock, chat_mock_client):
    owner = chat_mock.create_actor("owner.test")
    bot = chat_mock.create_actor("greeter.test")
    newcomer = chat_mock.create_actor("newcomer.test")
    owner_chat = chat_mock_client(owner)
    convo = owner_chat.chat.bsky.group.create_group({"name": "Club", "members": [bot.did]}).convo
    greeter = GreeterBot(chat_mock_client(bot))
    assert greeter.poll() == []  # nothing to greet yet

    owner_chat.chat.bsky.group.add_members({"convoId": convo.id, "members": [newcomer.did]})
    assert greeter.poll() == ["Welcome, @newcomer.test!"]
    assert greeter.poll() == []  # never twice
    texts = [m.text for m in chat_mock.messages(convo.id) if not m.is_system]
    assert texts == ["Welcome, @newcomer.test!"]


@pytest.mark.chat_scenario("approval-required")
def test_greets_an_approved_joiner(chat_mock, chat_mock_client):
    # the scenario: alice owns "Ask first" (bob is a member), dan waits for approval
    convo = chat_mock.scenario.convos["ask"]
    alice = chat_mock_client("alice.test")
    greeter = GreeterBot(chat_mock_client("bob.test"))
    greeter.poll()
    alice.chat.bsky.group.approve_join_request({"convoId": convo, "member": chat_mock.scenario.actors["dan"].did})
    assert greeter.poll() == ["Welcome, @dan.test!"]


@pytest.mark.chat_scenario("locked-convo")
def test_a_locked_group_is_skipped(chat_mock, chat_mock_client):
    # carol cannot join a locked group, so the owner adds nobody; unlock, add, lock again
    alice = chat_mock_client("alice.test")
    convo = chat_mock.scenario.convos["locked"]
    greeter = GreeterBot(chat_mock_client("bob.test"))
    greeter.poll()
    alice.chat.bsky.convo.unlock_convo({"convoId": convo})
    alice.chat.bsky.group.add_members({"convoId": convo, "members": [chat_mock.scenario.actors["carol"].did]})
    alice.chat.bsky.convo.lock_convo({"convoId": convo})
    assert greeter.poll() == []  # the welcome was refused with ConvoLocked and skipped
    assert chat_mock.lock(convo) == "locked"
