"""Control UI benchmark (issue 10): how long a person waits, in Debian's headless chromium.

    .venv/bin/python ops/bench/control_ui_bench.py [--loads 10] [--chats 10] [--json]

Starts its own gateway (temporary HOME, loopback, a free port, the offline provider), then measures
  load   navigation start -> the app connected (document + modules + WebCrypto device key +
         challenge + signed connect + hello-ok), each load a fresh page with `#token=`
  table  navigation start -> the process table filled from `status`
  chat   send in the Chat view -> the first streamed delta shown, and -> the final reply shown
Loopback only; the gateway (by PID) and the browser are stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
OPENCLAW = str(Path(sys.executable).with_name("openclaw"))
TOKEN = "bench-token-0123456789abcdef0123"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(cond: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = cond()
            if value:
                return value
        except Exception:
            pass
        time.sleep(0.005)
    raise SystemExit(f"control_ui_bench: timed out waiting for {what}")


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--loads", type=int, default=10)
    ap.add_argument("--chats", type=int, default=10)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    setup = subprocess.run([str(REPO / "ops" / "browser-setup.sh")], capture_output=True, text=True)
    if setup.returncode != 0:
        raise SystemExit(f"control_ui_bench: no headless browser: {setup.stderr.strip()}")
    driver_path = setup.stdout.strip().splitlines()[-1]
    home = Path(tempfile.mkdtemp(prefix="openclaw-uibench-"))
    port = free_port()
    (home / ".openclaw").mkdir(mode=0o700)
    (home / ".openclaw" / "openclaw.json").write_text(json.dumps({"gateway": {"mode": "local", "port": port, "auth": {"token": TOKEN}}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCLAW_")}
    env.update(HOME=str(home), OPENCLAW_SKIP_CANVAS_HOST="1", OPENCLAW_DISABLE_BONJOUR="1")
    gw = subprocess.Popen([OPENCLAW, "gateway"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    driver = None
    try:
        wait(lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1).status == 200, 30, "the gateway")
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service

        opts = Options()
        opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-sync", "--disable-component-update", "--window-size=1280,800"):
            opts.add_argument(a)
        driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=opts)
        js = driver.execute_script
        url = f"http://127.0.0.1:{port}/#token={TOKEN}"
        # every page records when the app first said "connected" and when the process table filled
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": """
          new MutationObserver(() => {
            const c = document.getElementById('conn');
            if (c && c.dataset.state === 'connected' && !window.__connectedAt) window.__connectedAt = performance.now();
            if (!window.__tableAt && document.querySelectorAll('#processes tr.proc').length >= 4) window.__tableAt = performance.now();
          }).observe(document, {subtree: true, attributes: true, childList: true});"""})
        loads: list[float] = []
        tables: list[float] = []
        for _ in range(args.loads):
            driver.get("about:blank")
            driver.get(url)
            tables.append(wait(lambda: js("return window.__tableAt || 0"), 20, "the process table"))
            loads.append(js("return window.__connectedAt"))
        driver.find_element("css selector", "#tab-chat").click()
        firsts: list[float] = []
        finals: list[float] = []
        last_state = "return (l => l.length ? l[l.length - 1].dataset.state + '|' + l[l.length - 1].dataset.run : '')" \
                     "(document.querySelectorAll('.msg-assistant'))"
        for i in range(args.chats):
            box = wait(lambda: driver.find_element("css selector", "#chat-input"), 10, "the chat input")
            before = js(last_state)
            box.send_keys(f"bench message {i} " + "word " * 40)
            t0 = time.perf_counter()
            driver.find_element("css selector", "#chat-send").click()
            wait(lambda: (st := js(last_state)) != before and st.split("|")[0] in ("streaming", "final"), 20, "the first delta")
            firsts.append((time.perf_counter() - t0) * 1000)
            wait(lambda: js(last_state).split("|")[0] == "final", 20, "the final reply")
            finals.append((time.perf_counter() - t0) * 1000)
        out = {
            "connectMs": {"p50": round(statistics.median(loads), 1), "p90": round(pct(loads, 90), 1)},
            "processTableMs": {"p50": round(statistics.median(tables), 1), "p90": round(pct(tables, 90), 1)},
            "chatFirstDeltaMs": {"p50": round(statistics.median(firsts), 1), "p90": round(pct(firsts, 90), 1)},
            "chatFinalMs": {"p50": round(statistics.median(finals), 1), "p90": round(pct(finals, 90), 1)},
            "loads": args.loads, "chats": args.chats,
        }
        print(json.dumps(out) if args.json else "\n".join(f"{k}: {v}" for k, v in out.items()))
    finally:
        if driver is not None:
            driver.quit()
        gw.terminate()
        try:
            gw.wait(20)
        except subprocess.TimeoutExpired:
            gw.kill()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
