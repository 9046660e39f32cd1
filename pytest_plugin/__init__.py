"""The bsky-chat-mock pytest plugin: ``chat_mock`` and friends (see docs/pytest-plugin.md)."""

from .handle import Actor, ChatMock

__all__ = ["Actor", "ChatMock"]
