"""A throwaway gateway and a headless chromium looking at its Control UI, for ops scripts
(ops/screenshot-control-ui.py, ops/bench/control_ui_bench.py).

    with ui_session() as s:      # s.port, s.url (with #token=), s.env, s.driver
        s.driver.get(s.url)

The gateway runs under a temporary HOME on a free loopback port with the offline provider; the
browser is Debian's chromium through its chromedriver (ops/browser-setup.sh). Both are stopped
(the gateway by its PID) and the HOME removed on the way out, even on failure.
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
OPENCLAW = str(Path(sys.executable).with_name("openclaw"))
TOKEN = "ui-session-token-0123456789abcdef"


def wait(cond: Callable[[], Any], timeout: float, what: str, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = cond()
            if value:
                return value
        except Exception:  # not there yet
            pass
        time.sleep(every)
    raise SystemExit(f"timed out waiting for {what}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class UiSession:
    port: int
    env: dict[str, str]
    driver: Any

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/#token={TOKEN}"


@contextmanager
def ui_session(window: str = "1280,800") -> Iterator[UiSession]:
    setup = subprocess.run([str(REPO / "ops" / "browser-setup.sh")], capture_output=True, text=True)
    if setup.returncode != 0:
        raise SystemExit(f"no headless browser: {setup.stderr.strip()}")
    driver_path = setup.stdout.strip().splitlines()[-1]
    home = Path(tempfile.mkdtemp(prefix="openclaw-ui-"))
    port = _free_port()
    (home / ".openclaw").mkdir(mode=0o700)
    (home / ".openclaw" / "openclaw.json").write_text(
        json.dumps({"gateway": {"mode": "local", "port": port, "auth": {"token": TOKEN}}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCLAW_")}
    env.update(HOME=str(home), OPENCLAW_SKIP_CANVAS_HOST="1", OPENCLAW_DISABLE_BONJOUR="1")
    gw = subprocess.Popen([OPENCLAW, "gateway"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          stdin=subprocess.DEVNULL)
    driver = None
    try:
        wait(lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1).status == 200, 30, "the gateway")
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service

        opts = Options()
        opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--disable-sync", "--disable-component-update",
                    "--hide-scrollbars", f"--window-size={window}"):
            opts.add_argument(arg)
        driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=opts)
        yield UiSession(port, env, driver)
    finally:
        if driver is not None:
            driver.quit()
        gw.terminate()
        try:
            gw.wait(20)
        except subprocess.TimeoutExpired:
            gw.kill()
            gw.wait()
        shutil.rmtree(home, ignore_errors=True)
