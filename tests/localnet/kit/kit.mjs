// @solana/kit against a localnet in real time: node kit.mjs RPC_URL WS_URL. Prints one JSON object: each step's
// result or "ERROR: ..." (test_kit.py asserts on it). Kit validates commitments and confirms through
// signatureNotifications + slotNotifications, as against solana-test-validator.
import {
  AccountRole, address, airdropFactory, appendTransactionMessageInstruction, createSolanaRpc,
  createSolanaRpcSubscriptions, createTransactionMessage, generateKeyPairSigner, getSignatureFromTransaction,
  lamports, pipe, sendAndConfirmTransactionFactory, setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash, signTransactionMessageWithSigners,
} from "@solana/kit";
const [rpcUrl, wsUrl] = process.argv.slice(2);
const rpc = createSolanaRpc(rpcUrl);
const rpcSubscriptions = createSolanaRpcSubscriptions(wsUrl);
const out = {};
const step = async (name, fn) => { try { out[name] = await fn(); } catch (e) { out[name] = "ERROR: " + (e && (e.message + (e.context ? " " + JSON.stringify(e.context, (k, v) => typeof v === "bigint" ? v.toString() : v) : "")) || e); } };
const payer = await generateKeyPairSigner();
const to = (await generateKeyPairSigner()).address;
await step("levels", async () => {
  // one after the other, lowest level first: each later answer can only be newer
  const f = await rpc.getSlot({ commitment: "finalized" }).send();
  const c = await rpc.getSlot({ commitment: "confirmed" }).send();
  const p = await rpc.getSlot({ commitment: "processed" }).send();
  return p > c && c > f;
});
await step("blockOfGetSlot", async () => { const s = await rpc.getSlot().send(); const b = await rpc.getBlock(s, { maxSupportedTransactionVersion: 0 }).send(); return b.blockHeight === s; });
await step("blockTimeOfEpochInfo", async () => typeof (await rpc.getBlockTime((await rpc.getEpochInfo().send()).absoluteSlot).send()));
await step("airdrop", async () => {
  const sig = await airdropFactory({ rpc, rpcSubscriptions })({ commitment: "confirmed", recipientAddress: payer.address, lamports: lamports(5_000_000_000n) });
  return typeof sig;
});
const sendAndConfirm = sendAndConfirmTransactionFactory({ rpc, rpcSubscriptions });
const transferTx = async () => {
  const { value: blockhash } = await rpc.getLatestBlockhash({ commitment: "confirmed" }).send();
  const data = new Uint8Array(12); const view = new DataView(data.buffer); view.setUint32(0, 2, true); view.setBigUint64(4, 1_000_000n, true);
  const ix = { programAddress: address("11111111111111111111111111111111"), data,
    accounts: [{ address: payer.address, role: AccountRole.WRITABLE_SIGNER, signer: payer }, { address: to, role: AccountRole.WRITABLE }] };
  const msg = pipe(createTransactionMessage({ version: 0 }), m => setTransactionMessageFeePayerSigner(payer, m),
    m => setTransactionMessageLifetimeUsingBlockhash(blockhash, m), m => appendTransactionMessageInstruction(ix, m));
  return await signTransactionMessageWithSigners(msg);
};
let sigs = [];
await step("sameTransferTwice", async () => {
  for (let i = 0; i < 2; i++) {
    const tx = await transferTx();
    await sendAndConfirm(tx, { commitment: "confirmed" });
    sigs.push(getSignatureFromTransaction(tx));
  }
  return sigs[0] !== sigs[1];
});
await step("finalizedTransfer", async () => {
  const tx = await transferTx();
  await sendAndConfirm(tx, { commitment: "finalized" });
  const st = (await rpc.getSignatureStatuses([getSignatureFromTransaction(tx)]).send()).value[0];
  return st.confirmationStatus;
});
await step("parsed", async () => {
  const t = await rpc.getTransaction(sigs[0], { commitment: "confirmed", encoding: "jsonParsed", maxSupportedTransactionVersion: 0 }).send();
  const ix = t.transaction.message.instructions[0];
  return [ix.program, ix.parsed.type, Number(ix.parsed.info.lamports)];
});
await step("balance", async () => Number((await rpc.getBalance(to, { commitment: "confirmed" }).send()).value));
console.log(JSON.stringify(out, (k, v) => typeof v === "bigint" ? v.toString() : v));
process.exit(0);
