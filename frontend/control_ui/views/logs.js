// The log tail: logs.tail with its cursor, following (polling) while shown; keeps the last MAX_LINES.
// One call at a time: the next is timed from the last answer (two calls with one cursor would show
// the same lines twice); an answer for a view mounted before this one is dropped.

import { h, replace, trim } from "../dom.js";

export const id = "logs";
export const title = "Logs";
const POLL_MS = 1000;
const MAX_LINES = 500;
let el = null;
let ctx = null;
let timer = null;
let cursor = null;
let follow = true;
let inFlight = false;
let epoch = 0;  // bumped on mount and on hello: an answer from an older epoch is not shown

export function mount(container, context) {
  el = container;
  ctx = context;
  cursor = null;
  epoch++;
  const box = h("input", { type: "checkbox", id: "logs-follow", checked: follow, onchange: (ev) => { follow = ev.target.checked; if (follow) poll(); } });
  replace(el,
    h("div", { class: "row" }, h("label", {}, box, " follow"), h("span", { class: "spacer" }), h("span", { id: "logs-file", class: "muted" }, "")),
    h("pre", { id: "logs-lines", class: "logs" }));
  poll();
}

export function unmount() { clearTimeout(timer); timer = null; el = null; }
export function onHello() { cursor = null; epoch++; poll(); }

function render(line) {
  let rec = null;
  try { rec = JSON.parse(line); } catch { rec = null; }
  if (!rec || typeof rec !== "object") return h("div", { class: "line" }, line);
  const meta = rec._meta || {};
  const level = String(meta.logLevelName || rec.level || "").toLowerCase();
  const fields = rec.fields && Object.keys(rec.fields).length ? ` ${JSON.stringify(rec.fields)}` : "";
  return h("div", { class: `line lvl-${level}` },
    h("span", { class: "ts" }, String(rec.time || meta.date || "").replace("T", " ").slice(0, 23)), " ",
    h("span", { class: "lvl" }, level.padEnd(5)), " ",
    h("span", { class: "src" }, rec.process || ""), " ",
    `${rec.message ?? rec["1"] ?? ""}${fields}`);
}

function again() {
  clearTimeout(timer);
  timer = el && follow ? setTimeout(poll, POLL_MS) : null;
}

async function poll() {
  clearTimeout(timer);
  if (!el || inFlight) return;  // the call in flight schedules the next one
  if (!ctx.client.connected) { again(); return; }
  const mine = epoch;
  inFlight = true;
  try {
    const params = cursor === null ? { limit: 200 } : { cursor, limit: 500 };
    const res = await ctx.client.call("logs.tail", params);
    if (!el || mine !== epoch) return;
    const pre = el.querySelector("#logs-lines");
    if (res.reset || params.cursor === undefined) replace(pre);
    const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    for (const line of res.lines || []) pre.appendChild(render(line));
    trim(pre, MAX_LINES);
    if (atBottom) pre.scrollTop = pre.scrollHeight;
    cursor = res.cursor;
    el.querySelector("#logs-file").textContent = `${res.file || ""}${res.truncated ? " (older lines skipped)" : ""}`;
  } catch (e) {
    if (el && mine === epoch) el.querySelector("#logs-file").textContent = `logs.tail failed: ${e.message}`;
  } finally {
    inFlight = false;
    if (mine !== epoch) poll(); else again();
  }
}
