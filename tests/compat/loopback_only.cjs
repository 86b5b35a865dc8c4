// Preloaded into the upstream CLI by the compat tests (NODE_OPTIONS=--require): it may talk to
// loopback only. `status --all` / `--deep` run an npm update check that no setting turns off;
// this refuses it (and any other non-loopback connect, fetch or DNS lookup) before a packet
// leaves, and records each refusal in $OPENCLAW_BLOCKED_LOG.
"use strict";
const fs = require("fs");
const net = require("net");
const dns = require("dns");

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+|localhost)$/i;
const isLoopback = (host) => !host || LOOPBACK.test(String(host).replace(/^\[|\]$/g, ""));
function record(what) {
  if (process.env.OPENCLAW_BLOCKED_LOG) fs.appendFileSync(process.env.OPENCLAW_BLOCKED_LOG, what + "\n");
}

const realFetch = globalThis.fetch;
if (realFetch) {
  globalThis.fetch = function (input, init) {
    let url = null;
    try { url = new URL(typeof input === "string" ? input : input.url || String(input)); } catch (_) {}
    if (url && !isLoopback(url.hostname)) {
      record("fetch " + url.origin);
      return Promise.reject(new TypeError("fetch failed: non-loopback destination refused by the test harness"));
    }
    return realFetch.call(this, input, init);
  };
}

const realConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  let opts = Array.isArray(args[0]) ? args[0][0] : args[0];
  let host = "localhost";
  if (opts && typeof opts === "object") host = opts.path ? null : opts.host || "localhost";
  else if (typeof opts === "number") host = typeof args[1] === "string" ? args[1] : "localhost";
  else host = null; // a unix socket path
  if (host !== null && !isLoopback(host)) {
    record("connect " + host);
    const socket = this;
    process.nextTick(() => socket.destroy(new Error("connect EHOSTUNREACH " + host + " (refused by the test harness)")));
    return this;
  }
  return realConnect.apply(this, args);
};

function refuseLookup(real) {
  return function (host, ...rest) {
    if (isLoopback(host)) return real.call(this, host, ...rest);
    record("dns " + host);
    const cb = rest[rest.length - 1];
    const err = Object.assign(new Error("getaddrinfo ENOTFOUND " + host), { code: "ENOTFOUND" });
    if (typeof cb === "function") process.nextTick(() => cb(err));
  };
}
dns.lookup = refuseLookup(dns.lookup);
for (const name of ["resolve", "resolve4", "resolve6", "resolveAny"]) dns[name] = refuseLookup(dns[name]);
const realPromiseLookup = dns.promises.lookup;
dns.promises.lookup = (host, ...rest) =>
  isLoopback(host) ? realPromiseLookup(host, ...rest)
    : (record("dns " + host), Promise.reject(Object.assign(new Error("getaddrinfo ENOTFOUND " + host), { code: "ENOTFOUND" })));
