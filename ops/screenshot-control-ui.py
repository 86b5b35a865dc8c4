#!/usr/bin/env python3
"""Take the README's screenshot of the Control UI (docs/control-ui.png).

Starts a throwaway gateway (temporary HOME, a free loopback port, the offline provider), runs one
agent turn so there is a session and a chat, opens the UI in Debian's headless chromium (Selenium,
ops/browser-setup.sh) with the token in the URL fragment, waits for the process table and saves a
1280x800 PNG. Stops the gateway by its PID. Usage: .venv/bin/python ops/screenshot-control-ui.py [out.png]
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OPENCLAW = str(Path(sys.executable).with_name("openclaw"))
TOKEN = "screenshot-token-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(cond, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = cond()
            if value:
                return value
        except Exception:
            pass
        time.sleep(0.1)
    raise SystemExit(f"screenshot: timed out waiting for {what}")


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "control-ui.png"
    setup = subprocess.run([str(REPO / "ops" / "browser-setup.sh")], capture_output=True, text=True)
    if setup.returncode != 0:
        raise SystemExit(f"screenshot: no headless browser: {setup.stderr.strip()}")
    driver_path = setup.stdout.strip().splitlines()[-1]
    home = Path(tempfile.mkdtemp(prefix="openclaw-shot-"))
    port = free_port()
    state = home / ".openclaw"
    state.mkdir(mode=0o700)
    (state / "openclaw.json").write_text(json.dumps({"gateway": {"mode": "local", "port": port, "auth": {"token": TOKEN}}}))
    env = {**os.environ, "HOME": str(home), "OPENCLAW_SKIP_CANVAS_HOST": "1", "OPENCLAW_DISABLE_BONJOUR": "1"}
    env.pop("OPENCLAW_STATE_DIR", None)
    env.pop("OPENCLAW_CONFIG_PATH", None)
    gw = subprocess.Popen([OPENCLAW, "gateway"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          stdin=subprocess.DEVNULL)
    driver = None
    try:
        wait(lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1).status == 200, 30, "the gateway")
        subprocess.run([OPENCLAW, "agent", "--message", "hello from the README"], env=env, capture_output=True, timeout=60)
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service

        opts = Options()
        opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--disable-sync", "--disable-component-update",
                    "--hide-scrollbars", "--window-size=1280,800"):
            opts.add_argument(arg)
        driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=opts)
        driver.get(f"http://127.0.0.1:{port}/#token={TOKEN}")
        wait(lambda: driver.execute_script("return document.querySelectorAll('#processes tr.proc').length") >= 4,
             20, "the process table")
        time.sleep(0.5)  # let the RSS column and presence settle for the picture (not a test)
        out.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(out))
        print(out)
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
