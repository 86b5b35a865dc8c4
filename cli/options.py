"""Options shared by the client commands (declared once, cheap to import)."""

from __future__ import annotations

import typer

UrlOpt = typer.Option(None, "--url", help="Gateway WebSocket URL (requires --token or --password).")
TokenOpt = typer.Option(None, "--token", help="Gateway token.")
PasswordOpt = typer.Option(None, "--password", help="Gateway password.")
TimeoutOpt = typer.Option(10000, "--timeout", help="Timeout in ms.")
JsonOpt = typer.Option(False, "--json", help="Machine-readable JSON output.")
TlsFingerprintOpt = typer.Option(
    None, "--tls-fingerprint", help="Expected SHA-256 of the gateway's TLS certificate (wss:// URLs); replaces CA checks."
)
