// Health, every supervised process (status -> supervision.processes) and presence, live.

import { ago, bytes, duration, h, replace, table } from "../dom.js";
import { Poller } from "./poller.js";

export const id = "overview";
export const title = "Overview";
const POLL_MS = 2000;
let el = null;
let ctx = null;
const poller = new Poller({ everyMs: POLL_MS, load: () => load(), connected: () => ctx.client.connected });
let presence = [];
let health = null;

export function remember(name, payload) {
  if (name === "presence" && payload && Array.isArray(payload.presence)) presence = payload.presence;
  if (name === "health" && payload) health = payload;
}

export function mount(container, context) {
  el = container;
  ctx = context;
  if (!el.firstChild) {
    replace(el,
      h("div", { class: "cards", id: "health-cards" }),
      h("h2", {}, "Processes"),
      h("div", { id: "processes" }, h("p", { class: "muted" }, "waiting for the gateway…")),
      h("h2", {}, "Presence"),
      h("ul", { class: "presence", id: "presence" }));
  }
  onHello(ctx.hello);
  poller.start();
}

export function unmount() {
  poller.stop();
  el = null;
}

export function onHello(hello) {
  if (!hello || !hello.snapshot) return;
  if (Array.isArray(hello.snapshot.presence)) presence = hello.snapshot.presence;
  if (hello.snapshot.health) health = hello.snapshot.health;
  renderPresence();
  poller.now();
}

export function onEvent(name, payload) {
  remember(name, payload);
  if (name === "presence") renderPresence();
}

async function load() {
  try {
    const status = await ctx.client.call("status", {});
    if (el) render(status);
  } catch (e) {
    if (el) replace(el.querySelector("#processes"), h("p", { class: "error" }, `status failed: ${e.message}`));
  }
}

function card(label, value, state) {
  return h("div", { class: "card", dataset: { state: state || "" } }, h("div", { class: "label" }, label), h("div", { class: "value" }, value));
}

function render(status) {
  const sup = status.supervision || {};
  const reload = sup.configReload || (health && health.configReload) || {};
  const listen = sup.listen || {};
  replace(el.querySelector("#health-cards"),
    card("Health", sup.healthy === false ? "degraded" : "healthy", sup.healthy === false ? "bad" : "ok"),
    card("Uptime", duration(sup.uptimeMs)),
    card("Listening", listen.port ? `${(listen.bindHosts || []).join(", ")} :${listen.port}` : "–"),
    card("Connections", String(sup.connections ?? "–")),
    card("Config reload", `${reload.status || reload.hotReloadStatus || "–"}${(reload.pendingRestart || []).length ? " (restart pending)" : ""}`),
    card("Version", String(status.runtimeVersion || (ctx.hello && ctx.hello.server && ctx.hello.server.version) || "–")));
  const procs = Array.isArray(sup.processes) ? sup.processes : [];
  replace(el.querySelector("#processes"), table(
    ["Process", "Kind", "State", "PID", "Restarts", "RSS", "Uptime", "Reason"],
    procs.map((p) => ({
      p,
      cells: [p.name, p.kind || p.role || "", h("span", { class: `state state-${p.state}` }, p.state), p.pid ?? "–",
        String(p.restarts ?? 0), bytes(p.rssBytes), duration(p.uptimeMs), p.reason || (p.lastExit ? JSON.stringify(p.lastExit) : "")],
    })),
    (r) => ({ class: "proc", dataset: { name: r.p.name, pid: r.p.pid ?? "", state: r.p.state } })));
}

function renderPresence() {
  if (!el) return;
  const list = el.querySelector("#presence");
  replace(list, presence.length ? presence.map((p) => h("li", { class: "presence-entry", dataset: { mode: p.mode || "" } },
    h("span", { class: "badge" }, p.mode || "?"),
    h("span", { class: "presence-text" }, p.text || p.host || p.clientId || "(no text)"),
    h("span", { class: "muted" }, ` · ${ago(p.ts)}`))) : h("li", { class: "muted" }, "nobody"));
}
