"""Thin XRPC handlers, one module per lexicon namespace; importing registers them."""

from . import actor, convo, group, repo, server

__all__ = ["actor", "convo", "group", "repo", "server"]
