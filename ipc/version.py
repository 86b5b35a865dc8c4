"""Version numbers, kept apart on purpose.

PROTOCOL_VERSION is the public Gateway WebSocket protocol spoken with clients.
IPC_VERSION is our internal ZeroMQ envelope/control protocol; bump it on any
incompatible change to envelope.py or control.py (msgspec evolution rules:
new fields need defaults, never change an existing field's type).
"""

PROTOCOL_VERSION = 4
# Protocol 3 is still accepted for probe-mode and node-mode clients.
LEGACY_PROTOCOL_VERSION = 3
IPC_VERSION = 5

# Kept equal to pyproject's [project] version (tests/unit checks it); a constant, because
# importlib.metadata costs every process ~4 MiB and ~10 ms at start.
GATEWAY_VERSION = "0.1.0"

# The upstream release whose protocol and payload shapes this gateway implements. Clients
# compare it with their own (`gateway status` warns on a mismatch, `doctor` too), so it is what
# the gateway reports as its version; GATEWAY_VERSION is carried in `server.buildId`.
COMPAT_VERSION = "2026.9.6"
BUILD_ID = f"openclaw-gateway-python-{GATEWAY_VERSION}"
