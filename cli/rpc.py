"""Run one client command against the gateway with uniform errors and exit codes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from openclaw.ipc.errors import ExitCode

from .auth_hint import auth_json, describe_auth_refusal, is_auth_refusal
from .client import GatewayClient, RpcError, TransportError
from .output import fail, fail_json
from .target import BadTlsFingerprint, CredentialsRequired, Target, resolve_target

T = TypeVar("T")


def target_or_exit(
    url: str | None, token: str | None, password: str | None, as_json: bool, tls_fingerprint: str | None = None
) -> Target:
    try:
        return resolve_target(url, token, password, tls_fingerprint)
    except BadTlsFingerprint as exc:
        if as_json:
            fail_json({"type": "gateway_tls_fingerprint_invalid", "message": str(exc)}, code=ExitCode.USAGE)
        fail(f"openclaw: {exc}", ExitCode.USAGE)
    except CredentialsRequired as exc:
        if as_json:
            fail_json({"type": "gateway_credentials_required", "message": str(exc)})
        fail(f"openclaw: {exc}", ExitCode.FAILURE)


def _other_gateways(target: Target) -> str:
    """When this profile's gateway is not reachable: the gateways that do run on this host, and how to reach them."""
    from openclaw.ipc.instance_registry import list_instances

    lines = []
    for inst in list_instances(target.paths.home):
        rec = inst.record
        if not inst.alive or rec.state_dir == str(target.paths.state_dir):
            continue
        cli = "openclaw " + {None: "", "dev": "--dev "}.get(rec.profile, f"--profile {rec.profile} ")
        if rec.state_dir != str(target.paths.home / (f".openclaw-{rec.profile}" if rec.profile else ".openclaw")):
            cli = f"OPENCLAW_STATE_DIR={rec.state_dir} {cli}"
        lines.append(f"  profile {inst.profile_name} on port {rec.port} (pid {rec.pid}): {cli}...")
    return ("\nRunning gateways of other profiles on this host:\n" + "\n".join(lines)) if lines else ""


def with_client(
    target: Target,
    *,
    timeout_ms: int,
    scopes: list[str],
    as_json: bool,
    action: Callable[[GatewayClient], T],
    mode: str = "cli",
    client_id: str = "cli",
    display_name: str | None = None,
) -> T:
    if timeout_ms <= 0:
        fail("--timeout must be a positive number of milliseconds", ExitCode.USAGE)
    client = GatewayClient(
        target.url, token=target.token, password=target.password, timeout_s=timeout_ms / 1000,
        client_id=client_id, mode=mode, scopes=scopes, display_name=display_name, tls_fingerprint=target.tls_fingerprint,
    )
    try:
        client.connect()
        return action(client)
    except TransportError as exc:
        if as_json:
            fail_json(exc.to_json(), {"gateway": {"url": target.url, "urlSource": target.url_source}})
        fail(f"{exc.message}\nTarget: {target.url} ({target.url_source})" + _other_gateways(target), ExitCode.FAILURE)
    except RpcError as exc:
        err: dict[str, Any] = exc.error
        if exc.during_connect and is_auth_refusal(err):  # say which credential was looked for, and where
            if as_json:
                fail_json(exc.to_json(), {"auth": auth_json(target, err)})
            fail(describe_auth_refusal(target, err), ExitCode.FAILURE)
        if as_json:
            fail_json(exc.to_json())
        detail = err.get("details")
        extra = f" [{detail.get('code')}]" if isinstance(detail, dict) and detail.get("code") else ""
        fail(f"Gateway error {err.get('code')}{extra}: {err.get('message')}", ExitCode.FAILURE)
    finally:
        client.close()
