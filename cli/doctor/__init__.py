"""`openclaw doctor`: find why this profile's gateway does not start or misbehaves, and repair what is safe.

One module per family of checks (config, port, instance records and lock, permissions, token,
logs and disk, installed service drift, other gateways on this host); each returns `Finding`s
(id, verdict ok|warn|fail, message, fix hint, and for what is safe to repair a `repair`).
`runner.py` (`doctor_cmd`) runs them, applies the repairs with `--fix`, checks again and renders the result.
"""
