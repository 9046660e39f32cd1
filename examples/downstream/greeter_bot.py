"""A tiny group chat bot: it greets everyone who joins the groups it is in.

It polls ``chat.bsky.convo.getLog`` and answers each ``logMemberJoin`` / ``logAddMember`` with a
welcome message. The client is an ``atproto.Client`` logged in and proxied to chat.
"""

from __future__ import annotations

from typing import Any

JOIN_EVENTS = ("chat.bsky.convo.defs#logMemberJoin", "chat.bsky.convo.defs#logAddMember")


class GreeterBot:
    """Greets new members; ``poll()`` handles everything that happened since the last poll."""

    def __init__(self, chat: Any) -> None:
        self.chat = chat
        self.me = chat.me.did if chat.me else None
        self.cursor: str | None = None

    def poll(self) -> list[str]:
        """Send a welcome for each new member; returns the texts sent."""
        page = self.chat.chat.bsky.convo.get_log({"cursor": self.cursor} if self.cursor else {})
        self.cursor = page.cursor or self.cursor
        sent = []
        for event in page.logs:
            if event.py_type not in JOIN_EVENTS:
                continue
            member = event.message.data.member.did
            if member == self.me:
                continue
            handle = next((p.handle for p in event.related_profiles if p.did == member), member)
            text = f"Welcome, @{handle}!"
            try:
                self.chat.chat.bsky.convo.send_message({"convoId": event.convo_id, "message": {"text": text}})
            except Exception as error:  # a locked group, for instance: skip it, keep greeting elsewhere
                if "ConvoLocked" not in str(error):
                    raise
                continue
            sent.append(text)
        return sent
