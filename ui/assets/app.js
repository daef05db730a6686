// bftnode's consensus view. Live: it follows the node that serves it over
// the websocket (JSON-RPC subscribe to CometBFT's consensus events). Trace:
// it plays the JSON lines `bftnode sim --trace` wrote, with a slider.
// Both turn what they read into the same records (see apply), so one
// renderer draws both.
"use strict";

const $ = (id) => document.getElementById(id);
const short = (h) => (h ? h.slice(0, 6) : "nil");
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

// newState is what the page shows; apply folds one record into it.
function newState(vals, self) {
  return {
    vals, self, pos: vals.map(() => ({ h: 0, r: 0, s: "", crashed: false })),
    heights: new Map(), locks: new Map(), valid: new Map(), blocks: [], evidence: [],
    partition: null, log: [], maxH: 0, now: 0,
  };
}

function height(S, h) {
  let H = S.heights.get(h);
  if (!H) {
    H = { rounds: new Map(), decisions: new Map(), firstDecision: null };
    S.heights.set(h, H);
    if (h > S.maxH) S.maxH = h;
  }
  return H;
}

function round(S, h, r) {
  const H = height(S, h);
  let R = H.rounds.get(r);
  if (!R) {
    R = { votes: new Map(), proposer: null, proposals: [], polka: false, timeouts: [] };
    H.rounds.set(r, R);
  }
  return R;
}

function logLine(S, text) {
  S.log.push(text);
  if (S.log.length > 200) S.log.shift();
}

// A record: {k: kind, n: validator index, h, r, ...}; kinds: step, vote,
// round, proposal, polka, lock, valid, timeout, decide, block, evidence,
// partition, crash, restart.
function apply(S, rec) {
  if (rec.at !== undefined) S.now = rec.at;
  const who = rec.n !== undefined && S.vals[rec.n] ? "v" + rec.n : "";
  switch (rec.k) {
    case "step": {
      const p = S.pos[rec.n];
      if (p) Object.assign(p, { h: rec.h, r: rec.r, s: rec.s });
      height(S, rec.h);
      break;
    }
    case "vote": {
      const R = round(S, rec.h, rec.r);
      let v = R.votes.get(rec.n);
      if (!v) R.votes.set(rec.n, (v = { prevote: [], precommit: [] }));
      const list = v[rec.t];
      if (!list.includes(rec.b)) list.push(rec.b);
      if (list.length > 1) logLine(S, `${who} signed two ${rec.t}s at ${rec.h}/${rec.r}: ${list.map(short).join(" ")}`);
      // Live, another validator's position is what its votes show.
      const p = S.pos[rec.n];
      if (S.live && rec.n !== S.self && p && (rec.h > p.h || (rec.h === p.h && (rec.r > p.r || (rec.r === p.r && rec.t === "precommit"))))) {
        Object.assign(p, { h: rec.h, r: rec.r, s: rec.t });
      }
      height(S, rec.h);
      break;
    }
    case "round":
      round(S, rec.h, rec.r).proposer = rec.p;
      break;
    case "proposal": {
      const R = round(S, rec.h, rec.r);
      if (!R.proposals.includes(rec.b)) R.proposals.push(rec.b);
      if (rec.n !== undefined) R.proposer = rec.n;
      logLine(S, `${rec.h}/${rec.r} proposal ${short(rec.b)}`);
      break;
    }
    case "polka":
      round(S, rec.h, rec.r).polka = true;
      logLine(S, `${who} polka ${rec.h}/${rec.r}`);
      break;
    case "lock":
      S.locks.set(rec.n, { h: rec.h, r: rec.r, b: rec.b, how: rec.how || "lock" });
      logLine(S, `${who} ${rec.how || "lock"} at ${rec.h}/${rec.r}${rec.b ? " on " + short(rec.b) : ""}`);
      break;
    case "valid":
      S.valid.set(rec.n, { h: rec.h, r: rec.r });
      logLine(S, `${who} valid block at ${rec.h}/${rec.r}`);
      break;
    case "timeout": {
      const ts = round(S, rec.h, rec.r).timeouts, what = rec.s + (who ? " (" + who + ")" : "");
      if (!ts.includes(what)) ts.push(what);
      logLine(S, `${who} timeout ${rec.s} ${rec.h}/${rec.r}`);
      break;
    }
    case "decide": {
      const H = height(S, rec.h);
      H.decisions.set(rec.n, rec.b);
      if (!H.firstDecision) {
        H.firstDecision = rec.at;
        if (!S.live) S.blocks.push({ h: rec.h, time: rec.at, txs: rec.txs || 1 });
      }
      logLine(S, `${who} decided ${rec.h} in round ${rec.r}: ${short(rec.b)}`);
      break;
    }
    case "block":
      S.blocks.push({ h: rec.h, time: rec.time, txs: rec.txs });
      if (S.blocks.length > 120) S.blocks.shift();
      break;
    case "evidence":
      S.evidence.push(rec);
      logLine(S, `evidence at ${rec.h}: ${rec.text}`);
      break;
    case "partition":
      S.partition = rec.sides || null;
      logLine(S, rec.sides ? "partition " + rec.sides.join("") : "partition healed");
      break;
    case "crash":
    case "restart":
      if (S.pos[rec.n]) S.pos[rec.n].crashed = rec.k === "crash";
      logLine(S, `${who} ${rec.k}ed`);
      break;
  }
}

// fork finds the first height decided differently by two validators.
function fork(S) {
  for (const h of [...S.heights.keys()].sort((a, b) => a - b)) {
    const byBlock = new Map();
    for (const [n, b] of S.heights.get(h).decisions) {
      if (!byBlock.has(b)) byBlock.set(b, []);
      byBlock.get(b).push(n);
    }
    if (byBlock.size > 1) return { h, byBlock };
  }
  return null;
}

function render(S) {
  const at = S.pos[S.self] || S.pos[0] || { h: 0, r: 0, s: "" };
  $("summary").textContent = S.live
    ? `height ${at.h} · round ${at.r} · ${at.s}`
    : `${S.title || "trace"} · t=${(S.now / 1000).toFixed(3)}s · highest height ${S.maxH}`;
  const rows = ["<tr><th>#</th><th>validator</th><th>power</th><th>height</th><th>round</th><th>step</th><th>lock</th><th>valid</th></tr>"];
  S.vals.forEach((v, i) => {
    const p = S.pos[i];
    const cls = [v.byz ? "byz" : "", p.crashed ? "crashed" : "", i === S.self ? "self" : "", S.partition ? "side" + S.partition[i] : ""].join(" ");
    const l = S.locks.get(i), vb = S.valid.get(i);
    rows.push(`<tr class="${cls}" data-n="${i}"><td>v${i}${i === S.self ? " (this node)" : ""}${v.byz ? " " + esc(v.behaviour) : ""}</td><td class="mono">${esc(v.addr.slice(0, 12))}</td><td>${v.power}</td>` +
      `<td class="h">${p.h}</td><td>${p.r}</td><td>${esc(p.s)}${p.crashed ? " crashed" : ""}</td>` +
      `<td class="lock">${l ? `${l.how} ${l.h}/${l.r}` : ""}</td><td>${vb ? `${vb.h}/${vb.r}` : ""}</td></tr>`);
  });
  $("validators").innerHTML = rows.join("");
  const f = fork(S);
  const show = [S.maxH, S.maxH - 1, S.maxH - 2].filter((h) => S.heights.has(h) && !(f && f.h === h));
  if (f) show.unshift(f.h); // where the fork happened comes first
  $("grids").innerHTML = show.map((h) => grid(S, h, f && f.h === h)).join("");
  renderFork(S, f);
  if (!S.live) renderDecisions(S);
  chart($("intervals"), S.blocks.slice(1).map((b, i) => ({ h: b.h, v: Math.max(0, b.time - S.blocks[i].time) })));
  chart($("txs"), S.blocks.map((b) => ({ h: b.h, v: b.txs })));
  $("evidence").innerHTML = S.evidence.length
    ? S.evidence.slice(-20).map((e) => `<li>height ${e.h}: ${esc(e.text)}</li>`).join("")
    : '<li class="muted">none</li>';
  $("log").innerHTML = S.log.slice(-60).reverse().map((l) => `<li>${esc(l)}</li>`).join("");
}

function cell(list) {
  if (!list || !list.length) return "";
  const cls = list.length > 1 ? "conflict" : list[0] ? "blk" : "nil";
  return `<span class="${cls}">${list.map(short).join("|")}</span>`;
}

function grid(S, h, forked) {
  const H = S.heights.get(h);
  const rounds = [...H.rounds.keys()].sort((a, b) => a - b);
  if (!rounds.length) rounds.push(0);
  let out = `<h2>Height ${h}${forked ? ' <span class="conflict">the fork: two blocks decided</span>' : ""}</h2><table class="grid" data-h="${h}"><tr><th>validator</th>`;
  for (const r of rounds) {
    const R = H.rounds.get(r) || {};
    const info = [
      R.proposer !== null && R.proposer !== undefined ? `proposer v${R.proposer}` : "",
      R.proposals && R.proposals.length ? `proposal ${cell(R.proposals)}` : "",
      R.polka ? '<span class="polka">polka</span>' : "",
      ...(R.timeouts || []).map((t) => `<span class="timeout">timeout ${esc(t)}</span>`),
    ].filter(Boolean).join("<br>");
    out += `<th colspan="2">round ${r}<br><small>${info}</small></th>`;
  }
  out += "</tr><tr><th></th>" + rounds.map(() => "<th>prevote</th><th>precommit</th>").join("") + "</tr>";
  S.vals.forEach((v, n) => {
    out += `<tr class="${v.byz ? "byz" : ""}"><td>v${n}${H.decisions.has(n) ? ` ✔ <span class="blk">${short(H.decisions.get(n))}</span>` : ""}</td>`;
    for (const r of rounds) {
      const vs = (H.rounds.get(r) || { votes: new Map() }).votes.get(n) || {};
      out += `<td class="vote" data-n="${n}" data-r="${r}" data-t="prevote">${cell(vs.prevote)}</td>`;
      out += `<td class="vote" data-n="${n}" data-r="${r}" data-t="precommit">${cell(vs.precommit)}</td>`;
    }
    out += "</tr>";
  });
  return out + "</table>";
}

function renderFork(S, f) {
  const el = $("fork");
  el.hidden = !f;
  if (!f) return;
  el.dataset.height = f.h;
  const more = [...S.heights.values()].filter((H) => new Set(H.decisions.values()).size > 1).length - 1;
  el.innerHTML = `FORK at height ${f.h}${more > 0 ? ` (and ${more} later heights)` : ""}: conflicting decisions — ` +
    [...f.byBlock].map(([b, ns]) => `<span class="mono decided" data-block="${esc(b)}">${esc(b.slice(0, 12))}</span> by ${ns.map((n) => "v" + n).join(", ")}`).join(" vs ");
}

function renderDecisions(S) {
  $("decisions-box").hidden = false;
  const hs = [...S.heights.keys()].filter((h) => S.heights.get(h).decisions.size).sort((a, b) => a - b);
  let out = "<tr><th>height</th>" + S.vals.map((v, n) => `<th>v${n}${v.byz ? " (byz)" : ""}</th>`).join("") + "</tr>";
  for (const h of hs.slice(-30)) {
    const D = S.heights.get(h).decisions;
    const forked = new Set(D.values()).size > 1;
    out += `<tr${forked ? ' class="byz"' : ""}><td>${h}${forked ? " fork" : ""}</td>` + S.vals.map((v, n) => `<td class="mono">${D.has(n) ? short(D.get(n)) : ""}</td>`).join("") + "</tr>";
  }
  $("decisions").innerHTML = out;
}

function chart(svg, pts) {
  pts = pts.slice(-60);
  const W = +svg.getAttribute("width"), Hh = +svg.getAttribute("height") - 14;
  const max = Math.max(1, ...pts.map((p) => p.v));
  const w = W / Math.max(pts.length, 1);
  svg.innerHTML = pts.map((p, i) => {
    const bh = (p.v / max) * (Hh - 4);
    return `<rect x="${i * w + 1}" y="${Hh - bh}" width="${Math.max(w - 2, 1)}" height="${bh}"><title>height ${p.h}: ${p.v}</title></rect>`;
  }).join("") + `<text x="2" y="${Hh + 12}">max ${Math.round(max)}</text>`;
}

// ---- Live: the node's RPC. ----

async function rpc(method, params) {
  const q = new URLSearchParams(params || {}).toString();
  const res = await fetch(`/${method}${q ? "?" + q : ""}`);
  const body = await res.json();
  if (body.error) throw new Error(`${method}: ${body.error.message} ${body.error.data || ""}`);
  return body.result;
}

// Each websocket takes at most 5 subscriptions (max_subscriptions_per_client).
const groups = [
  ["Vote", "NewRoundStep", "NewRound", "CompleteProposal", "NewBlock"],
  ["Polka", "Lock", "Relock", "Unlock", "ValidBlock"],
  ["TimeoutPropose", "TimeoutWait", "NewEvidence", "ValidatorSetUpdates"],
];

async function live() {
  const [st, vs] = await Promise.all([rpc("status"), rpc("validators", { per_page: 100 })]);
  const vals = vs.validators.map((v) => ({ addr: v.address, power: +v.voting_power }));
  const self = vals.findIndex((v) => v.addr === st.validator_info.address);
  const S = newState(vals, self);
  S.live = true;
  const index = new Map(vals.map((v, i) => [v.addr, i]));
  const top = +st.sync_info.latest_block_height;
  if (top > 1) {
    const bc = await rpc("blockchain", { minHeight: Math.max(1, top - 40), maxHeight: top });
    for (const m of bc.block_metas.slice().reverse()) apply(S, { k: "block", h: +m.header.height, time: Date.parse(m.header.time), txs: +m.num_txs });
  }
  $("derived").textContent = self >= 0
    ? `v${self} is this node: its height, round and step are its own (NewRoundStep). The others' are derived from the last vote this node saw from each.`
    : "This node is not a validator: every validator's position is derived from the last vote this node saw from it.";
  $("status").textContent = `live: ${location.host}, chain ${st.node_info.network}, node ${st.node_info.moniker}`;
  let dirty = true;
  const onEvent = (type, v) => {
    const recs = translate(type, v, S, index);
    for (const r of recs) apply(S, r);
    dirty = true;
  };
  groups.forEach((g) => subscribe(g, onEvent));
  const poll = async () => {
    try {
      const [mp, ni] = await Promise.all([rpc("num_unconfirmed_txs"), rpc("net_info")]);
      $("stats").innerHTML = `<tr><th>mempool txs</th><td id="mempool">${mp.n_txs}</td></tr><tr><th>mempool bytes</th><td>${mp.total_bytes}</td></tr>` +
        `<tr><th>peers</th><td id="peers">${ni.n_peers}</td></tr>`;
    } catch (e) { /* shown on the next success */ }
  };
  poll();
  setInterval(poll, 2000);
  // Draw at most twice a second, and only after something changed.
  setInterval(() => { if (dirty) { dirty = false; render(S); } }, 500);
}

function subscribe(queries, onEvent) {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/websocket`);
  ws.onopen = () => queries.forEach((q, i) => ws.send(JSON.stringify({ jsonrpc: "2.0", id: i, method: "subscribe", params: { query: `tm.event='${q}'` } })));
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    if (msg.error) { $("status").textContent = "subscription ended: " + msg.error.data + " — reconnecting"; ws.close(); return; }
    const ev = msg.result && msg.result.events && msg.result.events["tm.event"];
    if (ev) onEvent(ev[0], msg.result.data.value);
  };
  ws.onclose = () => setTimeout(() => subscribe(queries, onEvent), 1000);
}

// translate turns one CometBFT event into records.
function translate(type, v, S, index) {
  const self = S.self, h = +v.height, r = v.round;
  const step = (s) => s.replace("RoundStep", "");
  switch (type) {
    case "Vote": {
      const vote = v.Vote;
      return [{ k: "vote", n: vote.validator_index, h: +vote.height, r: vote.round, t: vote.type === 1 ? "prevote" : "precommit", b: vote.block_id.hash }];
    }
    case "NewRoundStep": return [{ k: "step", n: self, h, r, s: step(v.step) }];
    case "NewRound": return [{ k: "round", h, r, p: v.proposer.index }];
    case "CompleteProposal": return [{ k: "proposal", h, r, b: v.block_id.hash }];
    case "Polka": return [{ k: "polka", n: self, h, r }];
    case "Lock": case "Relock": case "Unlock": return [{ k: "lock", n: self, h, r, how: type.toLowerCase() }];
    case "ValidBlock": return [{ k: "valid", n: self, h, r }];
    case "TimeoutPropose": case "TimeoutWait": return [{ k: "timeout", n: self, h, r, s: step(v.step) }];
    case "NewBlock": {
      const hd = v.block.header, lc = v.block.last_commit;
      const recs = [{ k: "block", h: +hd.height, time: Date.parse(hd.time), txs: (v.block.data.txs || []).length }];
      // The precommits this node's consensus saw count only until it
      // decided; the next block's last commit holds the ones that came
      // later too (block_id_flag 2: for the block, 3: nil).
      if (lc && lc.signatures) {
        lc.signatures.forEach((sig, n) => {
          if (sig.block_id_flag === 2 || sig.block_id_flag === 3) {
            recs.push({ k: "vote", n, h: +lc.height, r: lc.round, t: "precommit", b: sig.block_id_flag === 2 ? lc.block_id.hash : "" });
          }
        });
      }
      return recs;
    }
    case "NewEvidence": {
      const e = v.evidence.value, a = e.vote_a || {};
      const who = index.has(a.validator_address) ? "v" + index.get(a.validator_address) : a.validator_address;
      return [{ k: "evidence", h: +v.height, text: `${v.evidence.type.replace("tendermint/", "")} against ${who}` }];
    }
    case "ValidatorSetUpdates":
      return [{ k: "evidence", h: S.maxH, text: `validator set updated: ${v.validator_updates.length} changes` }];
  }
  return [];
}

// ---- Trace: JSON lines of `bftnode sim --trace`. ----

function playTrace(text, title) {
  const lines = text.split("\n").filter((l) => l.trim());
  let header = null;
  const recs = [];
  for (const [i, l] of lines.entries()) {
    let rec;
    try { rec = JSON.parse(l); } catch (e) { throw new Error(`line ${i + 1} is not JSON: ${e.message}`); }
    if (rec.k === "header") header = rec; else recs.push(rec);
  }
  if (!header) throw new Error("no header line: is this a file of `bftnode sim --trace`?");
  const vals = header.validators.map((v) => ({ addr: v.address, power: v.power, byz: !!v.behaviour, behaviour: v.behaviour }));
  $("mode").textContent = "simulated run";
  $("status").textContent = header.replay || "";
  $("derived").textContent = "Each validator's height, round and step are its own, as the simulator stepped it.";
  $("player").hidden = false;
  const slider = $("slider");
  slider.max = recs.length;
  // Snapshots every 2000 records keep the slider quick on long runs.
  const snaps = new Map();
  const stateAt = (i) => {
    let from = Math.floor(i / 2000) * 2000;
    while (from > 0 && !snaps.has(from)) from -= 2000;
    let S = from ? structuredClone(snaps.get(from)) : Object.assign(newState(vals, -1), { title });
    for (let j = from; j < i; j++) {
      apply(S, recs[j]);
      if ((j + 1) % 2000 === 0 && !snaps.has(j + 1)) snaps.set(j + 1, structuredClone(S));
    }
    return S;
  };
  const show = () => {
    const i = +slider.value;
    render(stateAt(i));
    $("at").textContent = `${i} / ${recs.length}`;
  };
  slider.oninput = show;
  let timer = null;
  $("play").onclick = () => {
    if (timer) { clearInterval(timer); timer = null; $("play").textContent = "▶"; return; }
    if (+slider.value >= recs.length) slider.value = 0;
    $("play").textContent = "❚❚";
    timer = setInterval(() => {
      slider.value = Math.min(recs.length, +slider.value + Math.max(1, Math.round(recs.length / 400)));
      show();
      if (+slider.value >= recs.length) $("play").click();
    }, 50);
  };
  slider.value = recs.length;
  show();
}

function fail(e) {
  $("status").textContent = "error: " + e.message;
  $("status").className = "conflict";
}

$("file").onchange = () => {
  const f = $("file").files[0];
  if (f) f.text().then((t) => playTrace(t, f.name)).catch(fail);
};

(async () => {
  // `bftnode ui FILE` serves the trace beside the page; a node does not.
  const res = await fetch("trace.jsonl").catch(() => null);
  if (res && res.ok) return playTrace(await res.text(), "trace");
  return live();
})().catch(fail);
