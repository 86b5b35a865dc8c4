// Chat with an agent: chat.history on open, chat.send, the streamed `chat` deltas shown as they
// arrive, the final message, abort. Keeps the last MAX_MESSAGES messages.

import { h, replace, trim } from "../dom.js";
import { uuid } from "../gateway.js";

export const id = "chat";
export const title = "Chat";
const MAX_MESSAGES = 200;
let el = null;
let ctx = null;
let sessionKey = "main";
const runs = new Map();  // runId -> the assistant message element being streamed
const MAX_OPEN_RUNS = 50;  // runs whose final never came are forgotten, oldest first

function track(runId, node) {
  runs.set(runId, node);
  while (runs.size > MAX_OPEN_RUNS) runs.delete(runs.keys().next().value);
}

function textOf(message) {
  if (!message) return "";
  const c = message.content;
  if (typeof c === "string") return c;
  if (Array.isArray(c)) return c.map((p) => (p && typeof p.text === "string" ? p.text : "")).join("");
  return typeof message.text === "string" ? message.text : "";
}

function canonical(key) {
  const agent = (ctx.hello && ctx.hello.snapshot && ctx.hello.snapshot.sessionDefaults && ctx.hello.snapshot.sessionDefaults.defaultAgentId) || "main";
  return key.startsWith("agent:") ? key : `agent:${agent}:${key}`;
}

function bubble(role, text, extra) {
  return h("div", { class: `msg msg-${role}`, dataset: { role, ...(extra || {}) } },
    h("div", { class: "who" }, role), h("div", { class: "body" }, text));
}

function add(node) {
  const list = el.querySelector("#chat-log");
  list.appendChild(node);
  trim(list, MAX_MESSAGES);
  list.scrollTop = list.scrollHeight;
}

function setNote(text, isError) {
  const note = el && el.querySelector("#chat-note");
  if (note) { note.textContent = text; note.className = isError ? "error" : "muted"; }
}

export function mount(container, context) {
  el = container;
  ctx = context;
  const keyInput = h("input", { id: "chat-session", value: sessionKey, size: "24", "aria-label": "session key" });
  const input = h("textarea", { id: "chat-input", rows: "3", placeholder: "Message the agent (Enter sends, Shift+Enter: new line)" });
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); send(input); }
  });
  replace(el,
    h("div", { class: "row" }, h("label", { for: "chat-session" }, "Session"), keyInput,
      h("button", { type: "button", id: "chat-load", onclick: () => { sessionKey = keyInput.value.trim() || "main"; history(); } }, "Open")),
    h("div", { id: "chat-log", class: "chat-log" }),
    h("div", { class: "composer" }, input,
      h("div", { class: "col" },
        h("button", { type: "button", id: "chat-send", onclick: () => send(input) }, "Send"),
        h("button", { type: "button", id: "chat-abort", class: "secondary", onclick: abort }, "Abort"))),
    h("p", { id: "chat-note", class: "muted" }, ""));
  history();
}

export function unmount() { el = null; runs.clear(); }

export function onHello() { if (el) history(); }

async function history() {
  if (!el || !ctx.client.connected) return;
  try {
    const res = await ctx.client.call("chat.history", { sessionKey, limit: 100 });
    if (!el) return;
    replace(el.querySelector("#chat-log"));
    runs.clear();
    for (const m of res.messages || []) {
      if (m.role === "user" || m.role === "assistant" || m.role === "system") add(bubble(m.role, textOf(m), { state: "history" }));
    }
    setNote(res.totalMessages ? `${res.totalMessages} message(s) in ${sessionKey}` : `no messages yet in ${sessionKey}`);
  } catch (e) {
    setNote(`chat.history failed: ${e.message}`, true);
  }
}

async function send(input) {
  const text = input.value;
  if (!text.trim()) return;
  const runId = uuid();
  const reply = bubble("assistant", "", { state: "pending", deltas: "0", run: runId });
  track(runId, reply);
  add(bubble("user", text, { state: "sent" }));
  add(reply);
  input.value = "";
  try {
    await ctx.client.call("chat.send", { sessionKey, message: text, idempotencyKey: runId });
    setNote("sent");
  } catch (e) {
    reply.dataset.state = "error";
    reply.querySelector(".body").textContent = `chat.send failed: ${e.message}`;
    setNote(`chat.send failed: ${e.message}`, true);
  }
}

async function abort() {
  try {
    const res = await ctx.client.call("chat.abort", { sessionKey });
    setNote(res.aborted ? `aborted ${res.runIds.join(", ")}` : "nothing running");
  } catch (e) {
    setNote(`chat.abort failed: ${e.message}`, true);
  }
}

export function onEvent(name, p) {
  if (!el || name !== "chat" || !p) return;
  let node = runs.get(p.runId);
  if (!node) {
    if (p.sessionKey !== canonical(sessionKey) || p.state === "status") return;
    node = bubble("assistant", "", { state: "pending", deltas: "0", run: p.runId || "" });  // a run started elsewhere
    track(p.runId, node);
    add(node);
  }
  const body = node.querySelector(".body");
  if (p.state === "status") {
    node.dataset.phase = p.phase || "";
  } else if (p.state === "delta") {
    node.dataset.state = "streaming";
    node.dataset.deltas = String(Number(node.dataset.deltas || 0) + 1);
    body.textContent = p.message ? textOf(p.message) : body.textContent + (p.deltaText || "");
  } else if (p.state === "final") {
    node.dataset.state = "final";
    body.textContent = textOf(p.message) || body.textContent;
    runs.delete(p.runId);
  } else if (p.state === "aborted") {
    node.dataset.state = "aborted";
    body.textContent = `${textOf(p.message) || body.textContent} [aborted]`;
    runs.delete(p.runId);
  } else if (p.state === "error") {
    node.dataset.state = "error";
    body.textContent = `error: ${p.errorMessage || "the run failed"}`;
    runs.delete(p.runId);
  }
  const list = el.querySelector("#chat-log");
  list.scrollTop = list.scrollHeight;
}
