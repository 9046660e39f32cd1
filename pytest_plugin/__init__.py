"""pytest plugin for bsky-chat-mock (fixtures arrive with the plugin issue)."""
