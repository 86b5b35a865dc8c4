// The openclaw-node npm client (0.14.0) against our gateway, for tests/compat.
//   node sdk_client.cjs operator URL TOKEN IDENTITY_FILE   -> one JSON line {hello, health, nodes}, exit 0
//   node sdk_client.cjs node URL TOKEN IDENTITY_FILE       -> JSON lines {connected, auth} / {invoked, ...}; runs until killed
// A node declares `system.which` (the library sends commands:[]; the v2 signature does not cover them).
const { OpenClawClient } = require("openclaw-node");
const { execFileSync } = require("node:child_process");
const [mode, url, token, identity] = process.argv.slice(2);
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");

async function operator() {
  const client = new OpenClawClient({ url, token, deviceIdentityPath: identity, autoReconnect: false });
  const hello = await client.connect();
  const health = await client.health();
  const nodes = (await client.request("node.list", {})).payload;
  out({ hello: { type: hello.type, auth: hello.auth, methods: hello.features.methods.length }, health: { ok: health.ok }, nodes });
  await client.disconnect();
}

function node() {
  const client = new OpenClawClient({ url, token, role: "node", scopes: [], clientId: "node-host", deviceIdentityPath: identity });
  const send = client.send.bind(client);
  client.send = (m) => {
    if (m.method === "connect") {
      m.params.caps = ["system"];
      m.params.commands = ["system.which"];
      m.params.client.deviceFamily = "Linux";
      m.params.client.displayName = "sdk-node";
    }
    return send(m);
  };
  client.on("event", async ({ event, payload }) => {
    if (event !== "node.invoke.request") return;
    const { id, nodeId, command, paramsJSON } = payload;
    const params = paramsJSON ? JSON.parse(paramsJSON) : {};
    const bins = {};
    for (const b of params.bins || []) {
      try { bins[b] = execFileSync("sh", ["-c", 'command -v "$1"', "sh", b]).toString().trim(); } catch {}
    }
    const res = await client.request("node.invoke.result", { id, nodeId, ok: true, payloadJSON: JSON.stringify({ bins }) });
    out({ invoked: command, ack: res.payload });
  });
  client.connect().then((hello) => out({ connected: true, auth: hello.auth }), (e) => { out({ error: e.message }); process.exit(1); });
}

(mode === "node" ? Promise.resolve(node()) : operator()).catch((e) => { out({ error: e.message }); process.exit(1); });
