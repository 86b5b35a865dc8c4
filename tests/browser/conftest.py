"""A real headless browser for the Control UI tests: Debian's chromium driven by its chromedriver
through Selenium (never selenium-manager: the driver's path is given, nothing is downloaded).
Skipped, saying why, when ops/browser-setup.sh reports that no browser is available here.

A failed test gets a screenshot PNG, the page's HTML and the browser console log written under
.cache/test-artifacts/browser/<test>/; the report names the files and shows the console text."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ..harness import REPO

ARTIFACTS = REPO / ".cache" / "test-artifacts" / "browser"
WINDOW = (1280, 800)
_setup: tuple[str, str] | str | None = None  # (chromium, chromedriver) or the reason there are none


def browser_paths() -> tuple[str, str]:
    """(chromium, chromedriver), or pytest.skip with the reason."""
    global _setup
    if _setup is None:
        script = REPO / "ops" / "browser-setup.sh"
        driver = ""
        if script.exists():
            try:
                res = subprocess.run([str(script)], capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                res = None
            if res is None or res.returncode != 0:
                why = (res.stderr.strip().splitlines() or ["failed"])[-1] if res is not None else "timed out"
                _setup = f"no headless browser here: {why}"
            else:
                driver = res.stdout.strip().splitlines()[-1] if res.stdout.strip() else ""
        if not isinstance(_setup, str):
            driver = driver or shutil.which("chromedriver") or ""
            chromium = shutil.which("chromium") or shutil.which("chromium-browser") or ""
            _setup = (chromium, driver) if chromium and driver else "no headless browser here: chromium or chromedriver not found"
    if isinstance(_setup, str):
        pytest.skip(_setup)
    return _setup


class Browser:
    """One headless chromium for a module, with waits that poll a condition (never fixed sleeps)."""

    def __init__(self, chromium: str, chromedriver: str) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service

        opts = Options()
        opts.binary_location = chromium
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                    "--disable-extensions", "--disable-background-networking", "--disable-sync",
                    "--disable-component-update", "--disable-default-apps", f"--window-size={WINDOW[0]},{WINDOW[1]}"):
            opts.add_argument(arg)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=opts)
        self.driver.set_page_load_timeout(20)
        self.driver.set_script_timeout(10)
        self.console: list[str] = []

    def quit(self) -> None:
        try:
            self.driver.quit()
        except Exception:  # the browser is gone already: nothing left to stop
            pass

    def take_console(self) -> list[str]:
        try:
            entries = self.driver.get_log("browser")
        except Exception:
            entries = []
        self.console += [f"{e.get('level')} {e.get('message')}" for e in entries]
        return self.console

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def wait(self, cond: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while True:
            try:
                value = cond()
                if value:
                    return value
            except Exception as exc:  # the element is not there yet, or was re-rendered under us
                last_error = exc
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}" + (f" (last error: {last_error!r})" if last_error else ""))
            time.sleep(0.05)

    def css(self, selector: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def one(self, selector: str, timeout: float = 10.0) -> Any:
        return self.wait(lambda: (found := self.css(selector)) and found[0], timeout, what=selector)

    def click(self, selector: str, timeout: float = 10.0) -> None:
        """Click the first match, looking it up again if a re-render replaced it under us."""
        def done() -> bool:
            found = self.css(selector)
            if not found:
                return False
            found[0].click()
            return True

        self.wait(done, timeout, what=f"click {selector}")

    def text(self, selector: str) -> str:
        found = self.css(selector)
        return found[0].text if found else ""

    def save_artifacts(self, name: str) -> tuple[Path, str]:
        folder = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:120]
        folder.mkdir(parents=True, exist_ok=True)
        try:
            self.driver.save_screenshot(str(folder / "screenshot.png"))
            (folder / "page.html").write_text(self.driver.page_source)
        except Exception as exc:  # a crashed browser: still report the console
            (folder / "error.txt").write_text(repr(exc))
        console = "\n".join(self.take_console())
        (folder / "console.log").write_text(console)
        return folder, console


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium, chromedriver = browser_paths()
    b = Browser(chromium, chromedriver)
    try:
        yield b
    finally:
        b.quit()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.failed and call.when == "call":
        b = getattr(item, "funcargs", {}).get("browser")
        if isinstance(b, Browser):
            folder, console = b.save_artifacts(item.nodeid)
            report.sections.append(("browser artifacts", f"screenshot: {folder / 'screenshot.png'}\n"
                                    f"page html: {folder / 'page.html'}\nconsole log: {folder / 'console.log'}"))
            report.sections.append(("browser console", console or "(empty)"))
    return report
