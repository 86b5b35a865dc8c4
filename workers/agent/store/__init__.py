"""The session store: one SQLite file per agent in upstream's schema (`openclaw sessions` reads it)."""
