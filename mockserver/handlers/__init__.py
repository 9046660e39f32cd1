"""Thin XRPC handlers, one module per lexicon namespace; importing registers them."""

from . import actor, server

__all__ = ["actor", "server"]
