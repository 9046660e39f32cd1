"""bsky-chat-mock: a stateful, in-memory fake of Bluesky's group chat XRPC API."""

from .app import create_app
from .errors import XrpcError
from .server import MockChatServer
from .service import Config, Service

__version__ = "0.2.0"
"""The package's version: the only place it is written (pyproject.toml reads it from here)."""

__all__ = ["Config", "MockChatServer", "Service", "XrpcError", "__version__", "create_app"]
