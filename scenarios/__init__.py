"""Scenario files and builder for bsky-chat-mock (arrives with the scenarios issue)."""
