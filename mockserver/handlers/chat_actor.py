"""``chat.bsky.actor`` and ``chat.bsky.notification``: an account's chat as a whole."""

from __future__ import annotations

from typing import Any

from .. import chat_accounts
from ..xrpc import Call, Jsonl, method

Json = dict[str, Any]


@method("chat.bsky.actor.getStatus")
def get_status(call: Call) -> Json:
    return chat_accounts.status(call.service, call.actor)


@method("chat.bsky.actor.deleteAccount")
def delete_account(call: Call) -> Json:
    chat_accounts.delete_account(call.service, call.actor)
    return {}


@method("chat.bsky.actor.exportAccountData")
def export_account_data(call: Call) -> Jsonl:
    return Jsonl(chat_accounts.export(call.service.state, call.actor))


@method("chat.bsky.notification.getPreferences")
def get_preferences(call: Call) -> Json:
    return {"preferences": chat_accounts.preferences(call.service.state, call.actor)}


@method("chat.bsky.notification.putPreferences")
def put_preferences(call: Call) -> Json:
    assert call.input is not None
    return {"preferences": chat_accounts.put_preferences(call.service.state, call.actor, call.input)}
