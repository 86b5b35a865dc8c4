// Sessions (sessions.list), refreshed on `sessions.changed` (sessions.subscribe while shown) and every
// few seconds; events are gathered and never overlap a request in flight (poller.js).

import { ago, h, replace, table } from "../dom.js";
import { Poller } from "./poller.js";

export const id = "sessions";
export const title = "Sessions";
const POLL_MS = 5000;
let el = null;
let ctx = null;
let shown = "";  // re-rendered only when the answer changes
const poller = new Poller({ everyMs: POLL_MS, load: () => load(), connected: () => ctx.client.connected });

export function mount(container, context) {
  el = container;
  ctx = context;
  shown = "";
  replace(el, h("div", { id: "sessions-list" }, h("p", { class: "muted" }, "loading…")));
  subscribe(true);
  poller.start();
}

function subscribe(on) {
  if (ctx.client.connected) ctx.client.call(on ? "sessions.subscribe" : "sessions.unsubscribe", {}).catch(() => {});
}

export function unmount() { poller.stop(); el = null; subscribe(false); }
export function onHello() { subscribe(true); poller.now(); }
export function onEvent(name) { if (name === "sessions.changed") poller.soon(); }

async function load() {
  try {
    const res = await ctx.client.call("sessions.list", { limit: 100 });
    if (!el) return;
    const signature = JSON.stringify({ ...res, ts: 0, eventLoop: null });
    if (signature === shown) return;
    shown = signature;
    const rows = res.sessions || [];
    replace(el.querySelector("#sessions-list"),
      h("p", { class: "muted" }, `${res.count ?? rows.length} of ${res.totalCount ?? rows.length} session(s) · ${res.path || ""}`),
      rows.length ? table(["Key", "Title", "Kind", "Status", "Model", "Tokens", "Updated"], rows.map((s) => ({ s, cells: [
        s.key, s.derivedTitle || s.displayName || s.label || "", s.kind || "", s.status || "", [s.modelProvider, s.model].filter(Boolean).join("/"),
        String(s.totalTokens ?? ""), ago(s.updatedAt)] })), (r) => ({ class: "session", dataset: { key: r.s.key } })) : h("p", { class: "muted" }, "no sessions yet"));
  } catch (e) {
    if (el) replace(el.querySelector("#sessions-list"), h("p", { class: "error" }, `sessions.list failed: ${e.message}`));
  }
}
