"""Local fake servers for tests (model providers speaking the real wire formats)."""
