// Drives @solana/web3.js (the Explorer's client library) against a localnet: node smoke.mjs RPC_URL WS_URL
// Prints one JSON object: each step's result, or "ERROR: ..." (test_web3js.py asserts on it).
import * as web3 from "@solana/web3.js";
const [rpc, ws] = process.argv.slice(2);
const conn = new web3.Connection(rpc, { commitment: "confirmed", wsEndpoint: ws });
const out = {};
const step = async (name, fn) => { try { out[name] = await fn(); } catch (e) { out[name] = "ERROR: " + (e && e.message || e); } };
await step("version", () => conn.getVersion());
await step("epochInfo", () => conn.getEpochInfo());
await step("epochSchedule", () => conn.getEpochSchedule());
await step("supply", async () => (await conn.getSupply()).value.total);
await step("perf", () => conn.getRecentPerformanceSamples(5));
await step("clusterNodes", () => conn.getClusterNodes());
await step("voteAccounts", () => conn.getVoteAccounts());
await step("inflation", () => conn.getInflationGovernor());
await step("firstBlock", () => conn.getFirstAvailableBlock());
await step("genesis", () => conn.getGenesisHash());
const payer = web3.Keypair.generate();
const to = web3.Keypair.generate();
await step("airdrop", async () => {
  const sig = await conn.requestAirdrop(payer.publicKey, 2 * web3.LAMPORTS_PER_SOL);
  const bh = await conn.getLatestBlockhash();
  const r = await conn.confirmTransaction({ signature: sig, ...bh });
  return r.value.err === null ? "ok" : r;
});
let sig;
await step("transfer", async () => {
  const tx = new web3.Transaction().add(web3.SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: to.publicKey, lamports: 1000000 }));
  sig = await web3.sendAndConfirmTransaction(conn, tx, [payer]);
  return sig;
});
await step("balance", () => conn.getBalance(to.publicKey));
await step("parsedTx", async () => { const t = await conn.getParsedTransaction(sig, { maxSupportedTransactionVersion: 0 }); return [t.meta.fee, t.transaction.message.accountKeys.length, t.slot]; });
await step("tx", async () => { const t = await conn.getTransaction(sig, { maxSupportedTransactionVersion: 0 }); return [t.meta.postBalances[1], t.version]; });
await step("sigs", async () => (await conn.getSignaturesForAddress(to.publicKey)).map(s => s.signature === sig));
await step("statuses", async () => (await conn.getSignatureStatuses([sig], { searchTransactionHistory: true })).value[0].confirmationStatus);
await step("parsedAccount", async () => (await conn.getParsedAccountInfo(to.publicKey)).value.lamports);
await step("block", async () => { const s = (await conn.getTransaction(sig, {maxSupportedTransactionVersion: 0})).slot; const b = await conn.getBlock(s, { maxSupportedTransactionVersion: 0 }); return b.transactions.length; });
await step("parsedBlock", async () => { const s = (await conn.getTransaction(sig, {maxSupportedTransactionVersion: 0})).slot; const b = await conn.getParsedBlock(s, { maxSupportedTransactionVersion: 0 }); return b.transactions.length; });
await step("blockTime", async () => typeof (await conn.getBlockTime((await conn.getTransaction(sig, {maxSupportedTransactionVersion: 0})).slot)));
await step("simulate", async () => { const tx = new web3.Transaction().add(web3.SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: to.publicKey, lamports: 1 })); tx.feePayer = payer.publicKey; tx.recentBlockhash = (await conn.getLatestBlockhash()).blockhash; const r = await conn.simulateTransaction(tx); return [r.value.err, r.value.logs.length]; });
await step("fee", async () => { const tx = new web3.Transaction().add(web3.SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: to.publicKey, lamports: 1 })); tx.feePayer = payer.publicKey; tx.recentBlockhash = (await conn.getLatestBlockhash()).blockhash; return (await conn.getFeeForMessage(tx.compileMessage())).value; });
await step("programAccounts", async () => (await conn.getProgramAccounts(web3.SystemProgram.programId, { filters: [{ dataSize: 0 }], dataSlice: {offset: 0, length: 0} })).length > 0);
await step("parsedProgramAccounts", async () => (await conn.getParsedProgramAccounts(new web3.PublicKey("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"))).length);
await step("accountSub", () => new Promise((resolve, reject) => {
  const id = conn.onAccountChange(to.publicKey, (info) => { conn.removeAccountChangeListener(id); resolve(info.lamports); });
  setTimeout(async () => { const tx = new web3.Transaction().add(web3.SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: to.publicKey, lamports: 1 })); await web3.sendAndConfirmTransaction(conn, tx, [payer]); }, 300);
  setTimeout(() => reject(new Error("no notification")), 10000);
}));
await step("slotSub", () => new Promise((resolve, reject) => {
  const id = conn.onSlotChange((s) => { conn.removeSlotChangeListener(id); resolve(typeof s.slot); });
  setTimeout(async () => { await conn.requestAirdrop(to.publicKey, 1000); }, 300);
  setTimeout(() => reject(new Error("no slot notification")), 10000);
}));
await step("logsSub", () => new Promise((resolve, reject) => {
  const id = conn.onLogs(to.publicKey, (l) => { conn.removeOnLogsListener(id); resolve(l.logs.length); });
  setTimeout(async () => { await conn.requestAirdrop(to.publicKey, 1000); }, 300);
  setTimeout(() => reject(new Error("no logs notification")), 10000);
}));
console.log(JSON.stringify(out, (k, v) => typeof v === "bigint" ? v.toString() : v));
process.exit(0);
