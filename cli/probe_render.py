"""Human output of `gateway probe`, in upstream's wording (`Reachable: yes`, `Connect: ok (12ms) · Capability: ...`)."""

from __future__ import annotations

from typing import Any

from .output import style

HEADERS = {
    "explicit": "URL (explicit)", "sshTunnel": "Remote over SSH", "localLoopback": "Local loopback",
    "configRemote": "Remote (configured)",
}
CAPABILITY_LABELS = {
    "admin_capable": "admin-capable", "write_capable": "write-capable", "read_only": "read-only",
    "connected_no_operator_scope": "connect-only", "pairing_pending": "pairing pending", "unknown": "unknown",
}


def _header(target: dict[str, Any]) -> str:
    if target["kind"] == "profile":
        name = f"Profile {target['profile']}"
    else:
        name = HEADERS.get(target["kind"], target["kind"])
        if target["kind"] == "configRemote" and not target["active"]:
            name = "Remote (configured, inactive)"
    return f"{name} {target['url']}"


def _summary_line(t: dict[str, Any]) -> str:
    c = t["connect"]
    cap = f"Capability: {CAPABILITY_LABELS.get(t['auth']['capability'], t['auth']['capability'])}"
    if c["rpcOk"]:
        return f"Connect: ok ({c['latencyMs']}ms) · {cap} · Read probe: ok"
    if c["latencyMs"] is not None:
        read = "Read probe: limited" if c["scopeLimited"] else "Read probe: failed"
        return f"Connect: ok ({c['latencyMs']}ms) · {cap} · {read} - {c['error']}"
    if t["auth"]["capability"] == "pairing_pending":
        return f"Connect: blocked - {c['error']} · {cap}"
    return f"Connect: failed - {c['error']} · {cap}"


def print_probe(out: dict[str, Any]) -> None:
    print(style("Gateway Status", bold=True))
    print(f"{style('Reachable', fg='green' if out['ok'] else 'red')}: {'yes' if out['ok'] else 'no'}")
    print(f"Capability: {out['capability'].replace('_', '-')}")
    print(f"Probe budget: {out['timeoutMs']}ms (took {out['durationMs']}ms)")
    if out["warnings"]:
        print()
        print(style("Warning:", fg="yellow"))
        for w in out["warnings"]:
            print(f"- {w['message']}")
    print()
    print(style("Targets", bold=True))
    for t in out["targets"]:
        print(_header(t))
        print(f"  {_summary_line(t)}")
        if t.get("tunnel"):
            tn = t["tunnel"]
            print(f"  ssh: {tn['target']} (pid {tn['pid']}, 127.0.0.1:{tn['localPort']} -> remote 127.0.0.1:{tn['remotePort']})")
        me = t.get("self") or {}
        if t["connect"]["latencyMs"] is not None:
            parts = [f"{me.get('host', 'unknown')}" + (f" ({me['ip']})" if me.get("ip") else "")]
            if me.get("platform"):
                parts.append(me["platform"])
            if t.get("version"):
                parts.append(f"app {t['version']}")
            if t.get("pid"):
                parts.append(f"pid {t['pid']}")
            print(f"  Gateway: {' · '.join(parts)}")
        if t.get("sameGatewayAs"):
            print(f"  (the same gateway as {t['sameGatewayAs']})")
        for note in t.get("notes") or []:
            print(f"  Note: {note}")
        if t.get("credentialSource") is None and not t["connect"]["rpcOk"]:
            print("  Auth: no credential found for this target")
        print()
