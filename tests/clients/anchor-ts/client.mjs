// A user's client of the billing program written with @coral-xyz/anchor and the NEW (Anchor 0.30+) IDL,
// contracts/idl/anchor/solmeter_billing.json: nothing of solmeter used but that file.
//
//   node client.mjs RPC_URL WS_URL IDL_PATH CUSTOMER_KEYPAIR_JSON MINT AMOUNT
//
// Registers the customer, deposits AMOUNT base units from its associated token account, fetches and
// decodes the Config and Customer accounts, lists the Customer accounts, decodes both transactions' events
// from their logs, and prints it all as one JSON line (public keys base58, integers as decimal strings).
import { readFileSync } from "node:fs";

import anchor from "@coral-xyz/anchor";
import { Connection, Keypair, PublicKey, SystemProgram } from "@solana/web3.js";

const { AnchorProvider, BN, EventParser, Program, Wallet } = anchor;
const TOKEN_PROGRAM = new PublicKey("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");
const ATA_PROGRAM = new PublicKey("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL");

// PROTOCOL.md's seeds: ["config"], ["customer", wallet], ["escrow", wallet]
const pda = (programId, ...seeds) => PublicKey.findProgramAddressSync(seeds, programId);

function plain(value) {
  if (value instanceof PublicKey) return value.toBase58();
  if (BN.isBN(value)) return value.toString(10);
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

async function main([url, wsUrl, idlPath, keypairPath, mintText, amountText]) {
  const wallet = Keypair.fromSecretKey(Uint8Array.from(JSON.parse(readFileSync(keypairPath, "utf8"))));
  const idl = JSON.parse(readFileSync(idlPath, "utf8"));
  // confirmations arrive over PubSub (signatureSubscribe), as on any cluster
  const connection = new Connection(url, { commitment: "confirmed", wsEndpoint: wsUrl });
  const provider = new AnchorProvider(connection, new Wallet(wallet), { commitment: "confirmed" });
  const program = new Program(idl, provider); // the program id is the IDL's `address`
  const mint = new PublicKey(mintText);
  const owner = wallet.publicKey.toBuffer();
  const [config] = pda(program.programId, Buffer.from("config"));
  const [customer, customerBump] = pda(program.programId, Buffer.from("customer"), owner);
  const [escrow, escrowBump] = pda(program.programId, Buffer.from("escrow"), owner);
  const [source] = PublicKey.findProgramAddressSync([owner, TOKEN_PROGRAM.toBuffer(), mint.toBuffer()], ATA_PROGRAM);

  const registered = await program.methods
    .registerCustomer(customerBump, escrowBump)
    .accountsStrict({ wallet: wallet.publicKey, config, customer, escrow, mint,
                      systemProgram: SystemProgram.programId, tokenProgram: TOKEN_PROGRAM })
    .rpc();
  const deposited = await program.methods
    .deposit(new BN(amountText))
    .accountsStrict({ wallet: wallet.publicKey, config, customer, escrow, source, mint, tokenProgram: TOKEN_PROGRAM })
    .rpc();

  const parser = new EventParser(program.programId, program.coder);
  const events = [];
  for (const sig of [registered, deposited]) {
    const tx = await connection.getTransaction(sig, { commitment: "confirmed", maxSupportedTransactionVersion: 0 });
    for (const event of parser.parseLogs(tx.meta.logMessages)) events.push({ name: event.name, data: plain(event.data) });
  }
  const cfg = await program.account.config.fetch(config);
  const cust = await program.account.customer.fetch(customer);
  const every = await program.account.customer.all();
  return {
    programId: program.programId.toBase58(), signatures: [registered, deposited], events,
    config: plain(cfg), customer: plain(cust), customers: every.map((a) => a.publicKey.toBase58()),
    addresses: { config: config.toBase58(), customer: customer.toBase58(), escrow: escrow.toBase58() },
  };
}

main(process.argv.slice(2)).then(
  (out) => { console.log(JSON.stringify(out)); process.exit(0); },
  (err) => { console.error(err?.stack ?? String(err)); if (err?.logs) console.error(err.logs.join("\n")); process.exit(1); },
);
