// Sessions (sessions.list), refreshed on `sessions.changed` and every few seconds while shown.

import { ago, h, replace, table } from "../dom.js";

export const id = "sessions";
export const title = "Sessions";
const POLL_MS = 5000;
let el = null;
let ctx = null;
let timer = null;
let shown = "";  // re-rendered only when the answer changes

export function mount(container, context) {
  el = container;
  ctx = context;
  shown = "";
  replace(el, h("div", { id: "sessions-list" }, h("p", { class: "muted" }, "loading…")));
  refresh();
}

export function unmount() { clearTimeout(timer); timer = null; el = null; }
export function onHello() { refresh(); }
export function onEvent(name) { if (name === "sessions.changed") refresh(); }

async function refresh() {
  clearTimeout(timer);
  if (!el) return;
  timer = setTimeout(refresh, POLL_MS);
  if (!ctx.client.connected) return;
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
    replace(el.querySelector("#sessions-list"), h("p", { class: "error" }, `sessions.list failed: ${e.message}`));
  }
}
