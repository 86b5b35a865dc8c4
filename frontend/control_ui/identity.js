// The browser's device identity (spec protocol §2.5): an Ed25519 key pair made with WebCrypto, the
// private key NON-extractable, kept in IndexedDB (a CryptoKey is stored as is, its bytes never leave
// the browser's key store). deviceId = hex SHA-256 of the raw 32-byte public key; publicKey and
// signature are base64url without padding.

const DB_NAME = "openclaw-control-ui";
const STORE = "identity";
const KEY = "device-v1";

export class InsecureContextError extends Error {}

function b64url(bytes) {
  let s = "";
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function hex(bytes) {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error || new Error("IndexedDB unavailable"));
  });
}

function dbOp(db, mode, fn) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const req = fn(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(req.result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("IndexedDB transaction aborted"));
  });
}

async function build(keyPair) {
  const raw = await crypto.subtle.exportKey("raw", keyPair.publicKey);
  const digest = await crypto.subtle.digest("SHA-256", raw);
  return { privateKey: keyPair.privateKey, deviceId: hex(digest), publicKey: b64url(raw) };
}

// Stores `candidate` unless another page stored a key first (one readwrite transaction: the read
// and the write cannot interleave with another tab's); returns the key that is now the stored one.
function keepFirst(db, candidate) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, "readwrite");
    const store = tx.objectStore(STORE);
    let kept = candidate;
    const req = store.get(KEY);
    req.onsuccess = () => {
      const found = req.result;
      if (found && found.privateKey && found.publicKey) kept = found; else store.put(candidate, KEY);
    };
    tx.oncomplete = () => resolve(kept);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("IndexedDB transaction aborted"));
  });
}

async function load() {
  if (!window.isSecureContext || !globalThis.crypto || !crypto.subtle) {
    throw new InsecureContextError(
      "This page is not a secure context, so the browser offers no WebCrypto for the device identity. " +
      "Open it over https, or through localhost / an SSH tunnel (ssh -N -L PORT:127.0.0.1:PORT host).");
  }
  let db = null;
  try { db = await openDb(); } catch { db = null; }  // private mode: an identity for this page only
  let stored = null;
  if (db) {
    try { stored = await dbOp(db, "readonly", (s) => s.get(KEY)); } catch { stored = null; }
  }
  if (!stored || !stored.privateKey || !stored.publicKey) {
    const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
    stored = { privateKey: pair.privateKey, publicKey: pair.publicKey };
    if (db) {
      try { stored = await keepFirst(db, stored); } catch { /* kept for this page only */ }
    }
  }
  return build(stored);
}

let pending = null;  // one identity per page, however many callers ask at once

// The identity of this browser profile (created on first use).
export function deviceIdentity() {
  if (!pending) pending = load().catch((e) => { pending = null; throw e; });
  return pending;
}

function norm(value) {
  return typeof value === "string" ? value.trim().replace(/[A-Z]/g, (c) => c.toLowerCase()) : "";
}

// The `device` object of a connect request: signs the v3 payload.
export async function signConnect(identity, { clientId, clientMode, role, scopes, token, nonce, platform, deviceFamily }) {
  const signedAt = Date.now();
  const payload = ["v3", identity.deviceId, clientId, clientMode, role, scopes.join(","), String(signedAt),
    token || "", nonce, norm(platform), norm(deviceFamily)].join("|");
  const sig = await crypto.subtle.sign({ name: "Ed25519" }, identity.privateKey, new TextEncoder().encode(payload));
  return { id: identity.deviceId, publicKey: identity.publicKey, signature: b64url(sig), signedAt, nonce };
}
