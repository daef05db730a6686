// Runs CosmJS's Tendermint/CometBFT RPC client against one node and prints
// what it decoded as one JSON object. The Go test (cosmjs_test.go) checks
// the values against CometBFT's own client and the chain.
//
// Usage: node check.mjs http://127.0.0.1:PORT KEY VALUE
import {
  Comet38Client,
  WebsocketClient,
  connectComet,
  toRfc3339WithNanoseconds,
} from "@cosmjs/tendermint-rpc";

const [endpoint, key, value] = process.argv.slice(2);
const hex = (b) => Buffer.from(b).toString("hex");
const out = {};
const step = (name) => process.stderr.write(`cosmjs: ${name}\n`);

const detected = await connectComet(endpoint);
out.detectedClient = detected.constructor.name;
detected.disconnect();

const c = await Comet38Client.connect(endpoint);
step("status");
const status = await c.status();
out.status = {
  network: status.nodeInfo.network,
  version: status.nodeInfo.version,
  id: hex(status.nodeInfo.id),
  latestBlockHeight: status.syncInfo.latestBlockHeight,
  latestBlockHash: hex(status.syncInfo.latestBlockHash),
  validatorAddress: hex(status.validatorInfo.address),
  validatorPower: Number(status.validatorInfo.votingPower),
};
await c.health();
out.abciInfo = { lastBlockHeight: (await c.abciInfo()).lastBlockHeight };

const tx = Buffer.from(`${key}=${value}`);
step("broadcastTxCommit");
const committed = await c.broadcastTxCommit({ tx });
out.broadcastTxCommit = {
  hash: hex(committed.hash),
  height: committed.height,
  checkTxCode: committed.checkTx.code,
  txResultCode: committed.txResult.code,
  txResultEvents: committed.txResult.events.map((e) => e.type),
};
const h = committed.height;

step("abciQuery");
const q = await c.abciQuery({ path: "/key", data: Buffer.from(key) });
out.abciQuery = { value: Buffer.from(q.value).toString(), height: q.height };

step("block");
const block = await c.block(h);
out.block = {
  hash: hex(block.blockId.hash),
  partsTotal: block.blockId.parts.total,
  height: block.block.header.height,
  chainId: block.block.header.chainId,
  time: toRfc3339WithNanoseconds(block.block.header.time),
  lastBlockHash: hex(block.block.header.lastBlockId.hash),
  appHash: hex(block.block.header.appHash),
  proposer: hex(block.block.header.proposerAddress),
  txs: block.block.txs.map(hex),
  lastCommitSignatures: block.block.lastCommit ? block.block.lastCommit.signatures.length : 0,
};

step("blockResults");
const results = await c.blockResults(h);
out.blockResults = {
  height: results.height,
  txCodes: results.results.map((r) => r.code),
  txEvents: results.results.map((r) => r.events.map((e) => e.type)),
  finalizeBlockEvents: results.finalizeBlockEvents.length,
};

// The websocket: the first new block header above the tx's height, then
// unsubscribe. After it, the tx's block has its canonical commit.
step("websocket");
const ws = Comet38Client.create(new WebsocketClient(endpoint.replace(/^http/, "ws")));
const header = await new Promise((resolve, reject) => {
  const sub = ws.subscribeNewBlockHeader().subscribe({
    next: (ev) => {
      if (ev.height <= h) return;
      sub.unsubscribe();
      resolve(ev);
    },
    error: reject,
  });
});
out.newBlockHeader = { height: header.height, chainId: header.chainId };
ws.disconnect();

step("commit");
const commit = await c.commit(h);
out.commit = {
  height: commit.header.height,
  blockHash: hex(commit.commit.blockId.hash),
  signatures: commit.commit.signatures.map((s) => ({
    address: hex(s.validatorAddress ?? new Uint8Array()),
    signature: hex(s.signature ?? new Uint8Array()),
    time: s.timestamp ? toRfc3339WithNanoseconds(s.timestamp) : "",
  })),
  canonical: commit.canonical,
};

step("validators");
const vals = await c.validatorsAll(h);
out.validators = vals.validators.map((v) => ({
  address: hex(v.address),
  pubKey: hex(v.pubkey.data),
  power: Number(v.votingPower),
}));

step("blockchain");
const chain = await c.blockchain(1, h);
out.blockchain = { lastHeight: chain.lastHeight, metas: chain.blockMetas.map((m) => m.header.height) };

step("tx");
const found = await c.tx({ hash: committed.hash });
out.tx = { height: found.height, index: found.index, code: found.result.code };
step("txSearch");
const search = await c.txSearchAll({ query: `app.key='${key}'` });
out.txSearch = search.txs.map((t) => ({ height: t.height, hash: hex(t.hash) }));
c.disconnect();


// The websocket client reconnects on its own and would keep the process
// alive: exit once the report is out.
process.stdout.write(JSON.stringify(out) + "\n", () => process.exit(0));
