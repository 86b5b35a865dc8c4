// openclaw-node (0.14.0) client.chat() against our gateway, for tests/compat/test_openclaw_node_chat.py.
//   node sdk_chat.cjs URL TOKEN IDENTITY_FILE MESSAGE SESSION_KEY -> one JSON line {chunks:[{type,text,runId}], sync, waited}
const { OpenClawClient } = require("openclaw-node");
const [url, token, identity, message, sessionKey] = process.argv.slice(2);
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");

async function main() {
  const client = new OpenClawClient({ url, token, deviceIdentityPath: identity, autoReconnect: false });
  await client.connect();
  const chunks = [];
  for await (const chunk of client.chat(message, { sessionKey, agentId: "main" })) chunks.push(chunk);
  const sync = await client.chatSync("second turn", { sessionKey, agentId: "main" });
  const runId = chunks.find((c) => c.runId)?.runId;
  const waited = runId ? (await client.agentWait(runId, { timeoutMs: 2000 })) : null;
  const agents = await client.agents.list();
  out({ chunks, sync, waited, agents });
  await client.disconnect();
}

main().catch((e) => { out({ error: e.message }); process.exit(1); });
