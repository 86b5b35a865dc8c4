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
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ui_session import ui_session, wait  # noqa: E402


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--loads", type=int, default=10)
    ap.add_argument("--chats", type=int, default=10)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with ui_session() as session:
        driver = session.driver
        js = driver.execute_script
        url = session.url
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
            wait(lambda: (st := js(last_state)) != before and st.split("|")[0] in ("streaming", "final"), 20, "the first delta", every=0.005)
            firsts.append((time.perf_counter() - t0) * 1000)
            wait(lambda: js(last_state).split("|")[0] == "final", 20, "the final reply", every=0.005)
            finals.append((time.perf_counter() - t0) * 1000)
        out = {
            "connectMs": {"p50": round(statistics.median(loads), 1), "p90": round(pct(loads, 90), 1)},
            "processTableMs": {"p50": round(statistics.median(tables), 1), "p90": round(pct(tables, 90), 1)},
            "chatFirstDeltaMs": {"p50": round(statistics.median(firsts), 1), "p90": round(pct(firsts, 90), 1)},
            "chatFinalMs": {"p50": round(statistics.median(finals), 1), "p90": round(pct(finals, 90), 1)},
            "loads": args.loads, "chats": args.chats,
        }
        print(json.dumps(out) if args.json else "\n".join(f"{k}: {v}" for k, v in out.items()))


if __name__ == "__main__":
    main()
