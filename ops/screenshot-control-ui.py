#!/usr/bin/env python3
"""Take the README's screenshot of the Control UI (docs/control-ui.png).

A throwaway gateway and headless chromium (ops/ui_session.py); one agent turn first so there is a
session and a chat; the UI opened with the token in the URL fragment; the PNG saved once the
process table is filled. Usage: .venv/bin/python ops/screenshot-control-ui.py [out.png]
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ui_session import OPENCLAW, REPO, ui_session, wait  # noqa: E402


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "control-ui.png"
    with ui_session() as s:
        subprocess.run([OPENCLAW, "agent", "--message", "hello from the README"], env=s.env, capture_output=True, timeout=60)
        s.driver.get(s.url)
        wait(lambda: s.driver.execute_script("return document.querySelectorAll('#processes tr.proc').length") >= 4,
             20, "the process table")
        time.sleep(0.5)  # let the RSS column and presence settle for the picture (not a test)
        out.parent.mkdir(parents=True, exist_ok=True)
        s.driver.save_screenshot(str(out))
        print(out)


if __name__ == "__main__":
    main()
