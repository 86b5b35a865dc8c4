"""The per-agent session database in upstream's format: opened by the agent worker (writes) and by
`openclaw sessions` (reads, no gateway) — so its schema and the CLI's row projection live here."""
