"""Thin XRPC handlers, one module per lexicon namespace; importing registers them."""

from . import actor, chat_actor, convo, graph, group, moderation, repo, server

__all__ = ["actor", "chat_actor", "convo", "graph", "group", "moderation", "repo", "server"]
