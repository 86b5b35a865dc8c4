"""Agent runs: two-phase `agent`, chat.*, the per-session queue, events to watchers."""
