// Sessions (sessions.list), refreshed on `sessions.changed` (sessions.subscribe while shown) and every
// few seconds. Events are gathered for EVENT_DELAY_MS and never overlap a request in flight, so a
// burst of them costs a few requests a second at most.

import { ago, h, replace, table } from "../dom.js";

export const id = "sessions";
export const title = "Sessions";
const POLL_MS = 5000;
const EVENT_DELAY_MS = 250;
let el = null;
let ctx = null;
let timer = null;
let shown = "";  // re-rendered only when the answer changes
let inFlight = false;
let dirty = false;  // an event came while a sessions.list was in flight: one more after it
let soon = null;  // the refresh an event asked for

export function mount(container, context) {
  el = container;
  ctx = context;
  shown = "";
  replace(el, h("div", { id: "sessions-list" }, h("p", { class: "muted" }, "loading…")));
  subscribe(true);
  refresh();
}

function subscribe(on) {
  if (ctx.client.connected) ctx.client.call(on ? "sessions.subscribe" : "sessions.unsubscribe", {}).catch(() => {});
}

export function unmount() { clearTimeout(timer); clearTimeout(soon); timer = soon = null; el = null; subscribe(false); }
export function onHello() { subscribe(true); refresh(); }
export function onEvent(name) {
  if (name === "sessions.changed" && !soon) soon = setTimeout(() => { soon = null; refresh(); }, EVENT_DELAY_MS);
}

async function refresh() {
  if (inFlight) { dirty = true; return; }
  clearTimeout(timer);
  if (!el) return;
  timer = setTimeout(refresh, POLL_MS);
  if (!ctx.client.connected) return;
  inFlight = true;
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
  } finally {
    inFlight = false;
    if (dirty) { dirty = false; refresh(); }
  }
}
