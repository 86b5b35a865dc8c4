"""Fault injection under load for openclaw-gateway: `python -m ops.chaos --help`."""
