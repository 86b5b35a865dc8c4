// The gateway client: one WebSocket to this page's origin + base path, the handshake
// (connect.challenge -> signed connect -> hello-ok), req/res with ids and timeouts, events,
// reconnect with backoff. Every refusal becomes a sentence a person can act on.

import { deviceIdentity, InsecureContextError, signConnect } from "./identity.js";

export const CLIENT_ID = "openclaw-control-ui";
export const CLIENT_MODE = "webchat";
export const SCOPES = ["operator.admin", "operator.read", "operator.write", "operator.approvals", "operator.pairing"];
const VERSION = "0.1.0";
const CHALLENGE_TIMEOUT_MS = 10000;
const REQUEST_TIMEOUT_MS = 20000;
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];

export class RequestError extends Error {
  constructor(error) {
    super((error && error.message) || "request failed");
    this.code = error && error.code;
    this.details = (error && error.details) || {};
    this.retryable = Boolean(error && error.retryable);
  }
}

// What a refused connect means, in words, and whether to try again by ourselves.
export function explainConnectError(err) {
  const code = (err.details && err.details.code) || err.code || "";
  switch (code) {
    case "AUTH_TOKEN_MISMATCH":
    case "AUTH_PASSWORD_MISMATCH":
      return { text: "Wrong token: the gateway refused it. Enter this gateway's token (gateway.auth.token, or run `openclaw dashboard` on the gateway host for a link with it).", retry: false };
    case "AUTH_TOKEN_MISSING":
    case "AUTH_REQUIRED":
    case "DEVICE_IDENTITY_REQUIRED":
      return { text: "This gateway needs its token: enter it in Settings.", retry: false };
    case "AUTH_RATE_LIMITED": {
      const ms = err.details.retryAfterMs || 30000;
      return { text: `Too many failed attempts from this browser: rate limited, trying again in ${Math.ceil(ms / 1000)} s.`, retry: true, delayMs: ms };
    }
    case "PAIRING_REQUIRED": {
      const id = err.details.requestId || "<requestId>";
      const command = `openclaw gateway call device.pair.approve --params '{"requestId":"${id}"}'`;
      return {
        text: `Pairing required: this browser is waiting for an operator's approval (request ${id}). Approve it in the Nodes view of a connected Control UI, or on the gateway host run: ${command}`,
        command, requestId: id, retry: true, delayMs: 4000,
      };
    }
    case "CONTROL_UI_ORIGIN_NOT_ALLOWED":
      return { text: "Origin refused: this page's origin is not allowed by the gateway (gateway.controlUi.allowedOrigins).", retry: false };
    case "AUTH_SCOPE_MISMATCH":
      return { text: "The gateway refused the scopes this browser asks for; re-pair the device.", retry: false };
    default:
      if (err.code === "UNAVAILABLE" || err.retryable) return { text: `Gateway busy: ${err.message}; retrying.`, retry: true };
      return { text: `Connect refused: ${err.message}${code ? ` (${code})` : ""}`, retry: false };
  }
}

function newId(n) {
  const rand = crypto.getRandomValues ? Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) => b.toString(36)).join("") : String(Math.random());
  return `${n}:${rand}`;
}

export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const x = Array.from(b, (v) => v.toString(16).padStart(2, "0")).join("");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

export class GatewayClient {
  constructor({ url, getToken, needsNoAuth, onStatus, onEvent, onHello }) {
    this.url = url;
    this.getToken = getToken;
    this.needsNoAuth = needsNoAuth || (async () => false);
    this.onStatus = onStatus || (() => {});
    this.onEvent = onEvent || (() => {});
    this.onHello = onHello || (() => {});
    this.ws = null;
    this.pending = new Map();
    this.n = 0;
    this.opening = 0;  // the latest _open: an older one still asking needsNoAuth gives way
    this.attempt = 0;
    this.retryTimer = null;
    this.watchdog = null;
    this.stopped = true;
    this.hello = null;
    this.lastShutdown = null;
  }

  get connected() { return this.hello !== null && this.ws !== null && this.ws.readyState === WebSocket.OPEN; }

  start() {
    this.stopped = false;
    this.attempt = 0;
    this._open();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    if (this.ws) this.ws.close(1000, "client stop");
  }

  restart() {
    this.stop();
    this.start();
  }

  _status(state, text, extra) { this.onStatus({ state, text, ...(extra || {}) }); }

  _schedule(delayMs, why) {
    if (this.stopped) return;
    const ms = delayMs !== undefined ? delayMs : BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt++;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this._open(), ms);
    return ms;
  }

  async _open() {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    const token = this.getToken();
    const mine = ++this.opening;
    // no token: connect only when the gateway asks for none (a tokenless connect of a new device
    // would otherwise leave a pairing request behind on every page load)
    if (!token) {
      const open = await this.needsNoAuth().catch(() => false);
      if (this.stopped || mine !== this.opening) return;  // stopped or opened again meanwhile
      if (!open) {
        this._status("need-token", "Enter the gateway token to connect.");
        return;
      }
    }
    this._status("connecting", "connecting…");
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (e) {
      this._status("error", `Cannot open the WebSocket: ${e.message}`);
      return;
    }
    this.ws = ws;
    this.hello = null;
    let opened = false;
    let refused = null;  // set when connect was refused: the close says no more
    const challengeTimer = setTimeout(() => {
      if (!this.hello) ws.close(4000, "connect challenge timeout");
    }, CHALLENGE_TIMEOUT_MS);

    ws.onopen = () => { opened = true; };
    ws.onmessage = async (msg) => {
      let frame;
      try { frame = JSON.parse(msg.data); } catch { return; }
      this._kick();
      if (frame.type === "event" && frame.event === "connect.challenge" && !this.hello) {
        clearTimeout(challengeTimer);
        try {
          await this._connect(ws, token, frame.payload && frame.payload.nonce);
        } catch (err) {
          refused = err;
          const why = err instanceof InsecureContextError ? { text: err.message, retry: false } : explainConnectError(err);
          this._status(why.retry ? "waiting" : "refused", why.text, { error: err, command: why.command, requestId: why.requestId });
          if (why.retry) this._schedule(why.delayMs);
          ws.close(1000, "connect refused");
        }
        return;
      }
      if (frame.type === "res") {
        const p = this.pending.get(frame.id);
        if (!p) return;
        this.pending.delete(frame.id);
        clearTimeout(p.timer);
        if (frame.ok) p.resolve(frame.payload); else p.reject(new RequestError(frame.error));
        return;
      }
      if (frame.type === "event") {
        if (frame.event === "shutdown") {
          this.lastShutdown = frame.payload || {};
          const restarting = this.lastShutdown.restartExpectedMs !== undefined || /restart/i.test(this.lastShutdown.reason || "");
          this._status("restarting", restarting ? "Gateway restarting; reconnecting…" : `Gateway stopping (${this.lastShutdown.reason || "shutdown"}); reconnecting when it is back…`);
        }
        try { this.onEvent(frame.event, frame.payload, frame); } catch (e) { console.error("event handler failed", e); }
      }
    };
    ws.onclose = (ev) => {
      clearTimeout(challengeTimer);
      clearTimeout(this.watchdog);
      const wasConnected = this.hello !== null;
      this.hello = null;
      for (const p of this.pending.values()) { clearTimeout(p.timer); p.reject(new RequestError({ code: "CLOSED", message: "connection closed" })); }
      this.pending.clear();
      if (this.ws === ws) this.ws = null;
      if (this.stopped || refused) return;
      if (!opened) {
        const ms = this._schedule();
        this._status("offline", `Cannot reach the gateway at ${this.url} (not running, or this page's origin is not allowed: gateway.controlUi.allowedOrigins). Retrying in ${Math.ceil(ms / 1000)} s.`);
        return;
      }
      if (ev.code === 1008 || ev.code === 1002) {
        this._status("refused", `Closed by the gateway: ${ev.reason || ev.code}`);
        return;
      }
      const ms = this._schedule(wasConnected && this.attempt === 0 ? 300 : undefined);
      const text = this.lastShutdown ? "Gateway restarting; reconnecting…" : `Connection lost (${ev.code}${ev.reason ? ` ${ev.reason}` : ""}); reconnecting in ${Math.ceil(ms / 1000)} s.`;
      this._status("reconnecting", text);
    };
  }

  async _connect(ws, token, nonce) {
    if (!nonce) throw new RequestError({ code: "INVALID_REQUEST", message: "connect challenge missing nonce" });
    const identity = await deviceIdentity();
    const platform = (navigator.platform || "web").slice(0, 60) || "web";
    const device = await signConnect(identity, {
      clientId: CLIENT_ID, clientMode: CLIENT_MODE, role: "operator", scopes: SCOPES, token, nonce, platform, deviceFamily: "",
    });
    const params = {
      minProtocol: 4, maxProtocol: 4,
      client: { id: CLIENT_ID, version: VERSION, platform, mode: CLIENT_MODE, displayName: "Control UI", instanceId: uuid() },
      role: "operator", scopes: SCOPES, caps: [], ...(token ? { auth: { token } } : {}), device,
      userAgent: navigator.userAgent.slice(0, 200), locale: navigator.language,
    };
    const hello = await this._send(ws, "connect", params, REQUEST_TIMEOUT_MS);
    this.hello = hello;
    this.attempt = 0;
    this.lastShutdown = null;
    this.tickMs = (hello.policy && hello.policy.tickIntervalMs) || 30000;
    this._kick();
    this._status("connected", "connected", { hello });
    try { this.onHello(hello); } catch (e) { console.error("hello handler failed", e); }
  }

  _kick() {
    clearTimeout(this.watchdog);
    if (!this.hello || !this.ws) return;
    const ws = this.ws;
    this.watchdog = setTimeout(() => ws.close(4000, "tick timeout"), 2 * this.tickMs + 5000);
  }

  _send(ws, method, params, timeoutMs) {
    return new Promise((resolve, reject) => {
      const id = newId(++this.n);
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RequestError({ code: "TIMEOUT", message: `${method}: no answer within ${Math.round(timeoutMs / 1000)} s` }));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      const frame = { type: "req", id, method };
      if (params !== undefined) frame.params = params;
      ws.send(JSON.stringify(frame));
    });
  }

  // A request on the live connection; rejects at once when there is none.
  call(method, params, timeoutMs = REQUEST_TIMEOUT_MS) {
    if (!this.connected) return Promise.reject(new RequestError({ code: "CLOSED", message: "not connected" }));
    return this._send(this.ws, method, params, timeoutMs);
  }
}
