// The config file: config.get (raw text + hash), an editor, Apply. When the file and the edit are
// both plain JSON, Apply sends the difference as a merge patch (config.patch, objects merge, null
// deletes, arrays replace) with the base hash; a JSON5 file is sent whole (config.apply, base hash).
// Validation errors, the reload outcome and a stale hash ("changed elsewhere") are shown.

import { h, replace } from "../dom.js";

export const id = "config";
export const title = "Config";
let el = null;
let ctx = null;
let loaded = null;  // {raw, hash, path}

function isObject(v) { return v !== null && typeof v === "object" && !Array.isArray(v); }

// RFC 7386 merge patch that turns `from` into `to`; undefined when they are equal.
export function mergePatch(from, to) {
  if (!isObject(from) || !isObject(to)) return JSON.stringify(from) === JSON.stringify(to) ? undefined : to;
  const out = {};
  let changed = false;
  for (const k of Object.keys(from)) {
    if (!(k in to)) { out[k] = null; changed = true; }
  }
  for (const [k, v] of Object.entries(to)) {
    if (!(k in from)) { out[k] = v; changed = true; continue; }
    const sub = mergePatch(from[k], v);
    if (sub !== undefined) { out[k] = sub; changed = true; }
  }
  return changed ? out : undefined;
}

function parseJson(text) {
  try { return { ok: true, value: JSON.parse(text) }; } catch (e) { return { ok: false, error: e.message }; }
}

function outcome(...children) {
  const box = el && el.querySelector("#config-outcome");
  if (box) replace(box, ...children);
}

export function mount(container, context) {
  el = container;
  ctx = context;
  replace(el,
    h("div", { class: "row" },
      h("span", { id: "config-path", class: "muted" }, ""),
      h("span", { class: "spacer" }),
      h("button", { type: "button", id: "config-reload", class: "secondary", onclick: load }, "Reload"),
      h("button", { type: "button", id: "config-apply", onclick: apply }, "Apply")),
    h("textarea", { id: "config-editor", class: "editor", spellcheck: "false", rows: "24", "aria-label": "config file" }),
    h("div", { id: "config-outcome", class: "outcome" }),
    h("p", { class: "muted" }, "Secrets show as __OPENCLAW_REDACTED__; leaving them so keeps the stored value."));
  load();
}

export function unmount() { el = null; }

export function onHello() { if (el && !loaded) load(); }

export function onEvent(name, payload) {
  if (el && name === "config.changed" && loaded && payload && payload.hash !== loaded.hash) {
    const box = el.querySelector("#config-outcome");
    if (box && !box.dataset.kind) outcome(h("p", { class: "warn" }, "The config file changed on the gateway; Reload to see it."));
  }
}

async function load() {
  if (!el) return;
  if (!ctx.client.connected) { outcome(h("p", { class: "muted" }, "not connected")); return; }
  try {
    const res = await ctx.client.call("config.get", {});
    if (!el) return;
    loaded = { raw: res.raw || "", hash: res.hash, path: res.path };
    el.querySelector("#config-editor").value = loaded.raw;
    el.querySelector("#config-path").textContent = `${res.path} · ${res.hash}`;
    el.querySelector("#config-editor").dataset.hash = res.hash || "";
    const box = el.querySelector("#config-outcome");
    delete box.dataset.kind;
    outcome(res.valid === false ? h("p", { class: "error" }, `The file on disk is invalid: ${(res.issues || []).map((i) => `${i.path}: ${i.message}`).join("; ")}`) : null);
  } catch (e) {
    outcome(h("p", { class: "error" }, `config.get failed: ${e.message}`));
  }
}

async function apply() {
  if (!loaded) return;
  const edited = el.querySelector("#config-editor").value;
  const before = parseJson(loaded.raw);
  const after = parseJson(edited);
  let method = "config.apply";
  let raw = edited;
  if (before.ok && after.ok) {
    const patch = mergePatch(before.value, after.value);
    if (patch === undefined) { show("info", h("p", {}, "No change to apply.")); return; }
    method = "config.patch";
    raw = JSON.stringify(patch);
  } else if (!after.ok && before.ok) {
    show("error", h("p", {}, `Not valid JSON: ${after.error}`));
    return;
  }
  show("info", h("p", {}, `${method}…`));
  try {
    const res = await ctx.client.call(method, { raw, baseHash: loaded.hash });
    const reload = res.reload || {};
    show("applied",
      h("p", {}, `Applied (${method}): ${(res.changedPaths || []).join(", ") || "no key changed"}.`),
      (reload.actions || []).length ? h("ul", {}, reload.actions.map((a) => h("li", {}, a))) : null,
      (reload.pending || []).length ? h("p", { class: "warn" }, `Needs a restart: ${reload.pending.join(", ")}`) : null);
    const keep = el.querySelector("#config-outcome").cloneNode(true);
    await load();
    replace(el.querySelector("#config-outcome"), ...keep.childNodes);
    el.querySelector("#config-outcome").dataset.kind = "applied";
  } catch (e) {
    if (/changed since last load/i.test(e.message)) {
      show("stale", h("p", {}, "The config changed elsewhere since you loaded it: Reload, then redo your edit."));
    } else {
      const issues = Array.isArray(e.details.issues) ? e.details.issues : [];
      show("invalid", h("p", {}, `Refused: ${e.message}`),
        issues.length ? h("ul", {}, issues.map((i) => h("li", {}, `${i.path}${i.line ? ` (line ${i.line})` : ""}: ${i.message}`))) : null);
    }
  }
}

function show(kind, ...children) {
  const box = el && el.querySelector("#config-outcome");
  if (!box) return;
  box.dataset.kind = kind;
  replace(box, ...children);
}
