"""Watching the user's own server: launched from their command with the agent injected
(`run.py -- COMMAND`), or attached to (`run.py --attach`)."""
