"""openclaw.supervisor: owns the process tree, the listening sockets, signals and restarts."""
