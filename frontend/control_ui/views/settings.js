// Settings: the gateway token (kept in this tab's sessionStorage), the connection state in words.

import { h, replace } from "../dom.js";
import { deviceIdentity } from "../identity.js";

export const id = "settings";
export const title = "Settings";
let el = null;
let ctx = null;
let listener = null;

export function mount(container, context) {
  el = container;
  ctx = context;
  const input = h("input", { id: "token", type: "password", autocomplete: "off", spellcheck: "false", placeholder: "gateway token", value: ctx.token() });
  const form = h("form", {
    class: "settings", id: "token-form",
    onsubmit: (ev) => { ev.preventDefault(); ctx.setToken(input.value.trim()); },
  },
  h("label", { for: "token" }, "Gateway token"),
  h("div", { class: "row" }, input,
    h("button", { type: "submit", id: "connect" }, "Connect"),
    h("button", { type: "button", id: "forget", onclick: () => { input.value = ""; ctx.setToken(""); } }, "Forget")),
  h("p", { class: "muted" }, "Kept in this browser tab only (sessionStorage). `openclaw dashboard` prints a link that fills it in."));
  replace(el, h("h2", {}, "Connection"), form,
    h("div", { id: "settings-status", class: "status-box" }),
    h("p", { class: "muted", id: "device-id" }, ""));
  listener = (status) => renderStatus(status);
  ctx.listeners.add(listener);
  renderStatus(ctx.status);
  deviceIdentity().then((d) => { if (el) el.querySelector("#device-id").textContent = `This browser's device id: ${d.deviceId}`; })
    .catch((e) => { if (el) el.querySelector("#device-id").textContent = e.message; });
}

function renderStatus(status) {
  if (!el) return;
  const box = el.querySelector("#settings-status");
  box.dataset.state = status.state;
  replace(box, h("strong", {}, status.state.replace(/-/g, " ")), ": ", h("span", { id: "settings-status-text" }, status.text),
    status.command ? h("div", {}, "Approve it with: ", h("code", { class: "cmd" }, status.command),
      " (or: openclaw gateway call device.pair.approve --params '{\"requestId\":\"" + status.requestId + "\"}')") : null);
}

export function unmount() {
  if (listener) ctx.listeners.delete(listener);
  listener = null;
  el = null;
}
