// Nodes and devices: node.list, pending node pairings (Approve / Reject -> node.pair.approve/reject)
// and device pairing requests (device.pair.approve/reject), refreshed on the pairing events.

import { ago, h, replace, table } from "../dom.js";
import { Poller } from "./poller.js";

export const id = "nodes";
export const title = "Nodes";
const POLL_MS = 3000;
const EVENTS = new Set(["node.pair.requested", "node.pair.resolved", "device.pair.requested", "device.pair.resolved",
  "device.pair.changed", "node.runnerInventory.changed"]);
let el = null;
let ctx = null;
const poller = new Poller({ everyMs: POLL_MS, load: () => load(), connected: () => ctx.client.connected });
let shown = "";  // what is on screen: re-rendered only when it changes (a button being clicked stays put)

export function mount(container, context) {
  el = container;
  ctx = context;
  shown = "";
  replace(el,
    h("h2", {}, "Pending node pairings"), h("div", { id: "node-pending" }),
    h("h2", {}, "Nodes"), h("div", { id: "node-list" }),
    h("h2", {}, "Device pairing requests"), h("div", { id: "device-pending" }),
    h("p", { id: "nodes-note", class: "muted" }, ""));
  poller.start();
}

export function unmount() { poller.stop(); el = null; }
export function onHello() { poller.now(); }
export function onEvent(name) { if (EVENTS.has(name)) poller.soon(); }

function note(text, isError) {
  const n = el && el.querySelector("#nodes-note");
  if (n) { n.textContent = text; n.className = isError ? "error" : "muted"; }
}

async function act(method, requestId, label) {
  try {
    await ctx.client.call(method, { requestId });
    note(`${label}: ${requestId}`);
  } catch (e) {
    note(`${method} failed: ${e.message}`, true);
  }
  poller.now();
}

async function load() {
  try {
    const [list, pairs, devices] = await Promise.all([
      ctx.client.call("node.list", {}), ctx.client.call("node.pair.list", {}),
      ctx.client.call("device.pair.list", {}).catch(() => ({ pending: [] })),
    ]);
    if (el) render(list.nodes || [], pairs.pending || [], devices.pending || []);
  } catch (e) {
    note(`refresh failed: ${e.message}`, true);
  }
}

function render(nodes, pending, devices) {
  const signature = JSON.stringify([nodes.map(({ lastSeenAtMs, ...n }) => n), pending, devices]);
  if (signature === shown) return;
  shown = signature;
  replace(el.querySelector("#node-pending"), pending.length ? table(
    ["Node", "Platform", "Commands", "Requested", ""],
    pending.map((p) => ({ p, cells: [p.displayName || p.nodeId, `${p.platform || ""} ${p.deviceFamily || ""}`, (p.commands || []).join(", ") || "–", ago(p.ts),
      h("span", { class: "actions" },
        h("button", { type: "button", class: "approve", dataset: { requestId: p.requestId }, onclick: () => act("node.pair.approve", p.requestId, "approved") }, "Approve"),
        h("button", { type: "button", class: "reject secondary", dataset: { requestId: p.requestId }, onclick: () => act("node.pair.reject", p.requestId, "rejected") }, "Reject"))] })),
    (r) => ({ class: "pending-node", dataset: { nodeId: r.p.nodeId, requestId: r.p.requestId } })) : h("p", { class: "muted" }, "none"));
  replace(el.querySelector("#node-list"), nodes.length ? table(
    ["Node", "State", "Connected", "Platform", "Commands", "Last seen"],
    nodes.map((n) => ({ n, cells: [n.displayName || n.nodeId, n.approvalState === "approved" ? "paired" : n.approvalState || "", n.connected ? "yes" : "no",
      n.platform || "", (n.commands || []).join(", ") || "–", ago(n.lastSeenAtMs)] })),
    (r) => ({ class: "node", dataset: { nodeId: r.n.nodeId, approval: r.n.approvalState || "" } })) : h("p", { class: "muted" }, "no nodes"));
  replace(el.querySelector("#device-pending"), devices.length ? table(
    ["Device", "Client", "Scopes", "From", ""],
    devices.map((d) => ({ d, cells: [(d.deviceId || "").slice(0, 16), `${d.clientId || ""} ${d.clientMode || ""}`, (d.scopes || []).join(", "), d.remoteIp || "",
      h("span", { class: "actions" },
        h("button", { type: "button", class: "approve", onclick: () => act("device.pair.approve", d.requestId, "device approved") }, "Approve"),
        h("button", { type: "button", class: "reject secondary", onclick: () => act("device.pair.reject", d.requestId, "device rejected") }, "Reject"))] })),
    (r) => ({ class: "pending-device", dataset: { requestId: r.d.requestId } })) : h("p", { class: "muted" }, "none"));
}
