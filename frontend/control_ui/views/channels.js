// Channels (channels.status): each configured channel account and its state.

import { h, replace, table } from "../dom.js";
import { Poller } from "./poller.js";

export const id = "channels";
export const title = "Channels";
const POLL_MS = 5000;
let el = null;
let ctx = null;
let shown = "";  // re-rendered only when the answer changes
const poller = new Poller({ everyMs: POLL_MS, load: () => load(), connected: () => ctx.client.connected });

export function mount(container, context) {
  el = container;
  ctx = context;
  shown = "";
  replace(el, h("div", { id: "channels-list" }, h("p", { class: "muted" }, "loading…")));
  poller.start();
}

export function unmount() { poller.stop(); el = null; }
export function onHello() { poller.now(); }

function flag(v) { return v === true ? "yes" : v === false ? "no" : "–"; }

async function load() {
  try {
    const res = await ctx.client.call("channels.status", {});
    if (!el) return;
    const signature = JSON.stringify({ ...res, ts: 0, eventLoop: null });
    if (signature === shown) return;
    shown = signature;
    const rows = [];
    for (const channel of res.channelOrder || Object.keys(res.channelAccounts || {})) {
      for (const a of (res.channelAccounts || {})[channel] || []) {
        rows.push({ a, cells: [(res.channelLabels || {})[channel] || channel, a.accountId || "default", flag(a.enabled), flag(a.configured),
          flag(a.running), flag(a.connected), a.mode || "", a.lastError || ""] });
      }
    }
    const issues = res.statusIssues || [];
    replace(el.querySelector("#channels-list"),
      rows.length ? table(["Channel", "Account", "Enabled", "Configured", "Running", "Connected", "Mode", "Last error"], rows,
        (r) => ({ class: "channel", dataset: { account: r.a.accountId || "" } })) : h("p", { class: "muted" }, "No channels configured (channels.* in the config)."),
      issues.length ? h("ul", { class: "issues" }, issues.map((i) => h("li", {}, `${i.channel || ""} ${i.accountId || ""}: ${i.message || JSON.stringify(i)}`))) : null);
  } catch (e) {
    if (el) replace(el.querySelector("#channels-list"), h("p", { class: "error" }, `channels.status failed: ${e.message}`));
  }
}
