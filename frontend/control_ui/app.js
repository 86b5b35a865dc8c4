// The Control UI: settings (the token), the connection, the tabs. Each view is a module in views/
// with mount(container, ctx) / unmount() / onEvent(name, payload); only the shown view polls.

import { h, replace } from "./dom.js";
import { GatewayClient } from "./gateway.js";
import * as overview from "./views/overview.js";
import * as sessions from "./views/sessions.js";
import * as channels from "./views/channels.js";
import * as nodes from "./views/nodes.js";
import * as logs from "./views/logs.js";
import * as config from "./views/config.js";
import * as chat from "./views/chat.js";
import * as settings from "./views/settings.js";

const VIEWS = [overview, chat, sessions, channels, nodes, logs, config, settings];
const TOKEN_KEY = "openclaw.control.token";
const base = document.documentElement.dataset.openclawControlUiBasePath || "";

function readToken() {
  try { return sessionStorage.getItem(TOKEN_KEY) || ""; } catch { return ""; }
}

function saveToken(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token); else sessionStorage.removeItem(TOKEN_KEY);
  } catch { /* storage off: memory only */ }
  memoryToken = token;
}

let memoryToken = readToken();

// `#token=<token>` (what `openclaw dashboard` prints): keep it, then drop it from the address bar.
// Returns true when the fragment carried a token.
function takeTokenFromFragment() {
  const hash = location.hash.replace(/^#/, "");
  if (!hash) return false;
  const params = new URLSearchParams(hash);
  const token = params.get("token");
  if (token === null) return false;
  saveToken(token.trim());
  params.delete("token");
  const rest = params.toString();
  history.replaceState(history.state, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
  return true;
}

const ctx = {
  base,
  client: null,
  hello: null,
  status: { state: "idle", text: "not connected" },
  token: () => memoryToken,
  setToken(token) { saveToken(token); ctx.client.restart(); },
  show: (id) => show(id),
  listeners: new Set(),
};

let current = null;
const viewEls = new Map();

function renderTabs() {
  const nav = document.getElementById("tabs");
  replace(nav, VIEWS.map((v) => h("button", {
    type: "button", class: "tab", id: `tab-${v.id}`, dataset: { view: v.id },
    "aria-selected": current === v ? "true" : "false", onclick: () => show(v.id),
  }, v.title)));
}

function show(id) {
  const view = VIEWS.find((v) => v.id === id) || VIEWS[0];
  if (current === view) return;
  if (current) {
    try { current.unmount(); } catch (e) { console.error(e); }
  }
  current = view;
  const main = document.getElementById("main");
  let el = viewEls.get(view.id);
  if (!el) {
    el = h("section", { class: "view", id: `view-${view.id}` });
    viewEls.set(view.id, el);
  }
  replace(main, el);
  if (location.hash !== `#${view.id}` && !location.hash.includes("token=")) {
    history.replaceState(history.state, "", `${location.pathname}${location.search}#${view.id}`);
  }
  renderTabs();
  view.mount(el, ctx);
}

function renderStatus(status) {
  ctx.status = status;
  const conn = document.getElementById("conn");
  conn.dataset.state = status.state;
  conn.textContent = status.state === "connected" ? "connected" : status.state.replace(/-/g, " ");
  const banner = document.getElementById("banner");
  if (status.state === "connected") {
    banner.hidden = true;
    replace(banner);
  } else {
    banner.hidden = false;
    banner.dataset.state = status.state;
    replace(banner, h("span", { id: "banner-text" }, status.text),
      status.command ? h("code", { class: "cmd", id: "banner-command" }, status.command) : null);
  }
  for (const fn of ctx.listeners) fn(status);
  if ((status.state === "need-token" || status.state === "refused") && current !== settings) show("settings");
}

function start() {
  takeTokenFromFragment();
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  ctx.client = new GatewayClient({
    url: `${scheme}://${location.host}${base}`,
    getToken: () => memoryToken,
    // control-ui-config.json answers without a Bearer only when the gateway has no auth (mode "none")
    needsNoAuth: async () => (await fetch(`${base}/control-ui-config.json`, { cache: "no-store", credentials: "omit" })).ok,
    onStatus: renderStatus,
    onHello: (hello) => {
      ctx.hello = hello;
      if (current && current.onHello) current.onHello(hello);
      if (current === settings && memoryToken) show("overview");
    },
    onEvent: (name, payload) => {
      if (current && current.onEvent) current.onEvent(name, payload);
      if (name === "presence" || name === "health") overview.remember(name, payload);
    },
  });
  const wanted = location.hash.replace(/^#/, "");
  show(VIEWS.some((v) => v.id === wanted) ? wanted : memoryToken ? "overview" : "settings");
  ctx.client.start();
  // a dashboard link opened in this tab again, or a view's address typed in: no page load happens
  window.addEventListener("hashchange", () => {
    if (takeTokenFromFragment()) {
      ctx.client.restart();
      show("overview");
      return;
    }
    const id = location.hash.replace(/^#/, "");
    if (VIEWS.some((v) => v.id === id)) show(id);
  });
}

start();
