"""openclaw.ipc: the contract every process shares.

Everything that crosses a process boundary is defined here as a msgspec Struct:
public WebSocket frames (frames.py), the front-end <-> worker envelope
(envelope.py), supervisor <-> child control (control.py), launch options
(launch.py). Config resolution (config.py, paths.py) lives here too because the
CLI and the daemon must agree on files, precedence and ports.

This package imports nothing else from openclaw.
"""
