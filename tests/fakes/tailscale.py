"""A fake `tailscale` CLI for tests: put the folder holding it first on PATH.

It appends its argv as a JSON line to $FAKE_TS_LOG (when set) and answers `status --json` like the
real CLI (BackendState $FAKE_TS_STATE, default Running; Self.DNSName "gw.tail1234.ts.net.";
Self.TailscaleIPs [$FAKE_TS_IP or 127.0.0.2, fd7a:115c:a1e0::1], so nothing leaves loopback);
`serve|funnel` succeed unless logged out or $FAKE_TS_REFUSE; $FAKE_TS_HANG=S sleeps S seconds first;
$FAKE_TS_HANG_CHILD=<file> starts a `sleep 120` child, writes its pid there and waits for it.
"""

from __future__ import annotations

import stat
import sys
from pathlib import Path

DNS_NAME = "gw.tail1234.ts.net"
TAILNET_IPV4 = "127.0.0.2"

FAKE = r'''#!PYTHON
import json, os, sys
log = os.environ.get("FAKE_TS_LOG")
if log:
    with open(log, "a") as f:
        f.write(json.dumps(sys.argv[1:]) + "\n")
args = sys.argv[1:]
state = os.environ.get("FAKE_TS_STATE", "Running")
if os.environ.get("FAKE_TS_HANG"):
    import time
    time.sleep(float(os.environ["FAKE_TS_HANG"]))
if os.environ.get("FAKE_TS_HANG_CHILD"):  # a wrapper script whose child hangs, holding the output pipe
    import subprocess
    child = subprocess.Popen(["sleep", "120"])
    with open(os.environ["FAKE_TS_HANG_CHILD"], "w") as f:
        f.write(str(child.pid))
    child.wait()
if args[:2] == ["status", "--json"]:
    print(json.dumps({
        "Version": "1.76.1", "BackendState": state,
        "Self": {"HostName": "gw", "DNSName": "gw.tail1234.ts.net.",
                 "TailscaleIPs": [os.environ.get("FAKE_TS_IP", "127.0.0.2"), "fd7a:115c:a1e0::1"]},
    }))
    sys.exit(0)
if args and args[0] in ("serve", "funnel"):
    if state != "Running":
        print("Logged out.", file=sys.stderr)
        sys.exit(1)
    if os.environ.get("FAKE_TS_REFUSE"):
        print("Funnel not available; \"funnel\" node attribute not set.", file=sys.stderr)
        sys.exit(1)
    sys.exit(0)
print("unknown command", file=sys.stderr)
sys.exit(2)
'''


def install_fake_tailscale(bindir: Path) -> Path:
    """Write the fake as `<bindir>/tailscale` (executable) and return its path."""
    bindir.mkdir(parents=True, exist_ok=True)
    exe = bindir / "tailscale"
    exe.write_text(FAKE.replace("PYTHON", sys.executable, 1))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return exe
