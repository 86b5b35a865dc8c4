"""Human output of `gateway status`, in upstream's wording where it has one.

The health baseline an operator looks for: `Runtime: running`, `Connectivity probe: ok` and the
expected `Capability: ...`.
"""

from __future__ import annotations

from typing import Any

from .output import style
from .port_report import listening_addresses
from .service_block import looks_running, runtime_line

OWNER_TEXT = {"this-gateway": "this gateway", "openclaw": "openclaw (not registered)", "other": "another program"}


def _label(text: str) -> str:
    return style(text, fg="cyan")


def _listener_line(entry: dict[str, Any]) -> str:
    owner = entry.get("owner") or "other"
    owner_text = OWNER_TEXT.get(owner) or f"gateway of profile {owner.split(':', 1)[1]}"
    who = f"pid {entry['pid']}" if entry.get("pid") else "pid ?"
    if entry.get("user"):
        who += f" {entry['user']}"
    ppid = f" ppid {entry['ppid']}" if entry.get("ppid") else ""
    return f"{who}: {entry.get('commandLine') or entry.get('command')} ({entry['address']}){ppid} · {owner_text}"


def _print_service(svc: dict[str, Any], log_file: str) -> None:
    load = svc.get("loadState", {}).get("status")
    load_text = svc.get("loadedText") if load == "loaded" else svc.get("notLoadedText") if load == "not-loaded" else "unknown"
    state = f"installed, {load_text}" if svc.get("installed") else "not installed"
    manager = svc.get("manager") or "unknown manager"
    reason = " · no service manager answers" if svc.get("inspectionReason") == "service-manager-unavailable" else ""
    print(f"{_label('Service:')} {svc.get('label')} ({manager}): {state}{reason}")
    if svc.get("definitionPath"):
        print(f"{_label('Service file:')} {svc['definitionPath']}")
    command = svc.get("command") or {}
    if command.get("programArguments"):
        print(f"{_label('Command:')} {' '.join(command['programArguments'])}")
    for issue in (svc.get("configAudit") or {}).get("issues") or []:
        print(style(f"Service config issue: {issue['message']}", fg="yellow"))
    if (svc.get("loadState") or {}).get("detail"):
        print(style(f"Service inspection failed: {svc['loadState']['detail']}", fg="red"))
    print(f"{_label('File logs:')} {log_file}")
    print()


def _print_config(cfg: dict[str, Any]) -> None:
    for key, name in (("cli", "Config (cli):"), ("daemon", "Config (service):")):
        c = cfg[key]
        marks = ("" if c["exists"] else " (missing)") + ("" if c["valid"] else " (invalid)")
        print(f"{_label(name)} {c['path']}{style(marks, fg='yellow') if marks else ''}")
        if key == "cli":
            for issue in c.get("issues") or []:
                print(style(f"Config issue: {issue.get('path') or '<root>'}: {issue.get('message')}", fg="red"))
    if cfg.get("mismatch"):
        print(style("Root cause: CLI and service are using different config paths (likely a profile/state-dir mismatch).", fg="red"))
    print()


def _print_gateway(gw: dict[str, Any]) -> None:
    print(f"{_label('Gateway:')} bind={gw['bindMode']} ({gw['bindHost']}), port={gw['port']} ({gw['portSource']})")
    print(f"{_label('Probe target:')} {gw['probeUrl']} ({gw.get('probeUrlSource')})")
    print(f"{_label('Dashboard:')} {gw['controlUiLinks']['httpUrl']}")
    tls = gw.get("tls") or {}
    if tls.get("enabled"):
        fp = tls.get("fingerprint") or tls.get("error") or tls.get("note")
        print(f"{_label('TLS:')} on, {tls.get('certPath', '')} SHA-256 {fp}" if tls.get("fingerprint") else f"{_label('TLS:')} on ({fp})")
    if gw.get("probeNote"):
        print(f"{_label('Probe note:')} {gw['probeNote']}")
    print()


def _print_rpc(rpc: dict[str, Any]) -> None:
    latency = f" ({rpc['latencyMs']}ms)" if rpc.get("latencyMs") is not None else ""
    connected = rpc.get("latencyMs") is not None
    if connected:
        print(f"{_label('Connectivity probe:')} {style('ok', fg='green')}{latency}")
    else:
        print(f"{_label('Connectivity probe:')} {style('failed', fg='red')}")
        print(f"{_label('Probe target:')} {rpc['url']}")
        print(f"  {style(str(rpc.get('error') or 'unknown error'), fg='red')}")
    if rpc.get("authWarning"):
        print(f"{_label('Probe auth:')} {style(rpc['authWarning'], fg='yellow')}")
    if connected:
        st = rpc.get("status")
        if rpc.get("kind") == "read" and st:
            up = f", up {int(st['uptimeMs'] / 1000)}s" if isinstance(st.get("uptimeMs"), (int, float)) else ""
            print(f"{_label('Read probe:')} {style('ok', fg='green')} (status: pid {st.get('pid')}{up}, generation {st.get('generation')})")
        else:
            print(f"{_label('Read probe:')} {style('limited' if rpc['ok'] else 'failed', fg='yellow')} - {rpc.get('error')}")
    print(f"{_label('Capability:')} {str(rpc['capability']).replace('_', '-')}")
    if rpc.get("foreignGateway"):
        print(style(f"Warning: {rpc['foreignGateway']}", fg="red"))
    processes = (rpc.get("status") or {}).get("processes") or []
    width = max((len(p["name"]) for p in processes), default=0)
    for p in processes:
        rss = f"{p['rssBytes'] / 1048576:.1f} MiB" if p.get("rssBytes") else "-"
        print(f"  {p['name']:{width}}  pid {p['pid']!s:>7}  {p['state']:9} restarts {p['restarts']}  rss {rss}")
    print()


def _print_port(out: dict[str, Any]) -> None:
    port, rpc, service = out["port"], out.get("rpc"), out["service"]
    addrs = listening_addresses(port)
    if addrs:
        print(f"{_label('Listening:')} {', '.join(addrs)}")
        for entry in port["listeners"]:
            print(f"  {_listener_line(entry)}")
    if port["status"] == "busy" and rpc is not None and not rpc["ok"]:
        owners = {entry.get("owner") for entry in port["listeners"]}
        if owners == {"this-gateway"}:
            print(style(
                f"This gateway listens on port {port['port']} but did not answer the probe (overloaded or wedged?): "
                "see its log, or restart it (openclaw gateway restart).", fg="red",
            ))
        else:
            print(style(f"Port {port['port']} is already in use.", fg="red"))
    for hint in port["hints"]:
        print(style(f"- {hint}", fg="yellow"))
    if port["status"] == "free":
        if looks_running(service):
            print(style(f"Gateway port {port['port']} is not listening (service appears running).", fg="red"))
        else:
            print(f"Port {port['port']} is free: no gateway listens on it.")
    if out.get("lastError"):
        print(f"{style('Last gateway error:', fg='red')} {out['lastError']}")
        print(f"{_label('Logs:')} {out['logFile']}")
    print()


def _print_deep(out: dict[str, Any]) -> None:
    extra = out.get("extraServices") or []
    services = [e for e in extra if e.get("kind") == "service"]
    gateways = [e for e in extra if e.get("kind") == "gateway"]
    if services:
        print(style("Other gateway-like services detected (best effort):", fg="yellow"))
        for svc in services:
            print(f"- {svc['label']} ({svc['scope']}, {svc['detail']})")
        for svc in services:
            name = "Inspection hint:" if svc["platform"] == "linux" else "Cleanup hint:"
            for hint in svc.get("cleanupHints") or []:
                print(f"{_label(name)} {hint}")
    else:
        print("Other gateway-like services: none found")
    if not gateways:
        print("Other gateways on this host: none registered")
    else:
        print(style("Other gateways on this host:", bold=True))
        for inst in gateways:
            where = f"pid {inst['pid']}, port {inst['port']}, state {inst['state_dir']}"
            if inst["alive"]:
                print(f"- profile {inst['profileName']}: {where} ({style('running', fg='green')})")
            else:
                print(f"- profile {inst['profileName']}: {where} ({style('stale', fg='yellow')}: {inst.get('staleReason')})")
                print(f"  {_label('Cleanup hint:')} {' or '.join(inst.get('cleanupHints') or [])}")
        if any(i["alive"] for i in gateways):
            print("If you need multiple gateways (e.g., a rescue bot on the same host), isolate ports + config/state.")
    print()


def print_status(out: dict[str, Any], deep: bool) -> None:
    print(style("Gateway status", bold=True))
    _print_service(out["service"], out["logFile"])
    _print_config(out["config"])
    _print_gateway(out["gateway"])
    if out["gateway"].get("version"):
        print(f"{_label('CLI version:')} {out['cli']['version']} ({out['cli']['buildId']})")
        print(f"{_label('Gateway version:')} {out['gateway']['version']}")
        print()
    print(f"{_label('Runtime:')} {runtime_line(out['service'])}")
    stale = out.get("staleRecord")
    if stale:
        print(style(f"Stale instance record: {stale.get('staleReason')} ({stale['registryPath']})", fg="yellow"))
        print(f"{_label('Cleanup hint:')} {' or '.join(stale.get('cleanupHints') or [])}")
    rpc = out.get("rpc")
    if rpc is None:
        print(f"{_label('Connectivity probe:')} skipped (--no-probe)")
        print()
    else:
        _print_rpc(rpc)
    _print_port(out)
    if deep:
        _print_deep(out)
