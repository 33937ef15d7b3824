// @solana/web3.js against a localnet running in real time: the recipes that differ from our own clients'.
// node conformance.mjs RPC_URL WS_URL. Prints one JSON object: each step's result or "ERROR: ...".
import * as web3 from "@solana/web3.js";
const [rpc, ws] = process.argv.slice(2);
const conn = new web3.Connection(rpc, { wsEndpoint: ws }); // no commitment: the node's default, finalized
const out = {};
const step = async (name, fn) => { try { out[name] = await fn(); } catch (e) { out[name] = "ERROR: " + (e && e.message || e); } };
const payer = web3.Keypair.generate();
await step("airdrop", async () => {
  const sig = await conn.requestAirdrop(payer.publicKey, 5 * web3.LAMPORTS_PER_SOL);
  const bh = await conn.getLatestBlockhash();
  return (await conn.confirmTransaction({ signature: sig, ...bh })).value.err;
});
await step("blockOfGetSlot", async () => { const s = await conn.getSlot(); return (await conn.getBlock(s, { maxSupportedTransactionVersion: 0 })).blockHeight === s; });
await step("blockTimeOfEpochInfo", async () => typeof (await conn.getBlockTime((await conn.getEpochInfo()).absoluteSlot)));
await step("lookupTable", async () => {
  const [ix, table] = web3.AddressLookupTableProgram.createLookupTable({ authority: payer.publicKey, payer: payer.publicKey, recentSlot: await conn.getSlot() });
  await web3.sendAndConfirmTransaction(conn, new web3.Transaction().add(ix), [payer]);
  return (await conn.getAccountInfo(table)).owner.toBase58();
});
const to = web3.Keypair.generate().publicKey;
const transfer = () => new web3.Transaction().add(web3.SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: to, lamports: 1000000 }));
let twice = [];
await step("sameTransferTwice", async () => {
  // "confirmed" as a user waiting for confirmation asks (without a commitment web3.js resolves at processed)
  const opts = { commitment: "confirmed" };
  twice = [await web3.sendAndConfirmTransaction(conn, transfer(), [payer], opts), await web3.sendAndConfirmTransaction(conn, transfer(), [payer], opts)];
  return twice[0] !== twice[1];
});
await step("parsedTransfer", async () => {
  const t = await conn.getParsedTransaction(twice[0], { maxSupportedTransactionVersion: 0, commitment: "confirmed" });
  const ix = t.transaction.message.instructions[0];
  return [ix.program, ix.parsed.type, ix.parsed.info.lamports];
});
await step("priorityFee", async () => {
  const tx = new web3.Transaction().add(web3.ComputeBudgetProgram.setComputeUnitLimit({ units: 10000 }),
    web3.ComputeBudgetProgram.setComputeUnitPrice({ microLamports: 1000000 }), web3.SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: to, lamports: 1 }));
  tx.feePayer = payer.publicKey; tx.recentBlockhash = (await conn.getLatestBlockhash()).blockhash;
  const quoted = (await conn.getFeeForMessage(tx.compileMessage())).value;
  const sig = await web3.sendAndConfirmTransaction(conn, tx, [payer], { commitment: "confirmed" });
  const fee = (await conn.getTransaction(sig, { maxSupportedTransactionVersion: 0, commitment: "confirmed" })).meta.fee;
  const recent = await conn.getRecentPrioritizationFees({ lockedWritableAccounts: [to] });
  return [quoted, fee, Math.max(...recent.map(f => f.prioritizationFee))];
});
await step("voteAccounts", async () => { const v = await conn.getVoteAccounts(); return [v.current.length, v.current[0].activatedStake > 0]; });
await step("nativeMint", async () => (await conn.getTokenSupply(new web3.PublicKey("So11111111111111111111111111111111111111112"))).value.amount);
console.log(JSON.stringify(out, (k, v) => typeof v === "bigint" ? v.toString() : v));
process.exit(0);
