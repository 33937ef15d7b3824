"""A user's client of the billing program written with anchorpy 0.21 and the LEGACY IDL
(contracts/idl/solmeter_billing.json), nothing of solmeter imported: it runs in a venv of its own (anchorpy's
pins: solana 0.36.6, solders 0.26.0), against a localnet over JSON-RPC.

    python billing_client.py RPC_URL IDL_PATH PROGRAM_ID CUSTOMER_KEYPAIR_JSON MINT AMOUNT

Registers the customer, deposits AMOUNT base units from its associated token account, fetches and decodes the
Config and Customer accounts, lists the Customer accounts (getProgramAccounts with anchorpy's discriminator
filter), decodes the events of both transactions from their logs, and prints all of it as one JSON line."""
from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from anchorpy import Context, EventParser, Idl, Program, Provider, Wallet
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solana.rpc.types import TxOpts
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

TOKEN_PROGRAM = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
ATA_PROGRAM = Pubkey.from_string("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")
SYSTEM_PROGRAM = Pubkey.from_string("11111111111111111111111111111111")


def pda(program_id: Pubkey, *seeds: bytes) -> tuple[Pubkey, int]:
    """The seeds are PROTOCOL.md's: ["config"], ["customer", wallet], ["escrow", wallet]."""
    return Pubkey.find_program_address(list(seeds), program_id)


def jsonable(value):
    """anchorpy's decoded containers as plain JSON (public keys as base58)."""
    if isinstance(value, Pubkey):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "__dict__"):
        return {k: jsonable(v) for k, v in vars(value).items() if not k.startswith("_")}
    return value


async def main(url: str, idl_path: str, program_id: str, keypair_path: str, mint_text: str, amount: int) -> dict:
    wallet = Keypair.from_bytes(bytes(json.loads(Path(keypair_path).read_text())))
    pid, mint = Pubkey.from_string(program_id), Pubkey.from_string(mint_text)
    config, _ = pda(pid, b"config")
    customer, customer_bump = pda(pid, b"customer", bytes(wallet.pubkey()))
    escrow, escrow_bump = pda(pid, b"escrow", bytes(wallet.pubkey()))
    source = Pubkey.find_program_address([bytes(wallet.pubkey()), bytes(TOKEN_PROGRAM), bytes(mint)], ATA_PROGRAM)[0]
    async with AsyncClient(url, commitment=Confirmed) as client:
        provider = Provider(client, Wallet(wallet), TxOpts(preflight_commitment=Confirmed))
        program = Program(Idl.from_json(Path(idl_path).read_text()), pid, provider)
        registered = await program.rpc["register_customer"](customer_bump, escrow_bump, ctx=Context(accounts={
            "wallet": wallet.pubkey(), "config": config, "customer": customer, "escrow": escrow, "mint": mint,
            "system_program": SYSTEM_PROGRAM, "token_program": TOKEN_PROGRAM}))
        deposited = await program.rpc["deposit"](amount, ctx=Context(accounts={
            "wallet": wallet.pubkey(), "config": config, "customer": customer, "escrow": escrow, "source": source,
            "mint": mint, "token_program": TOKEN_PROGRAM}))
        events = []
        parser = EventParser(pid, program.coder)
        for sig in (registered, deposited):
            await client.confirm_transaction(sig, Confirmed)
            tx = await client.get_transaction(Signature.from_string(str(sig)), commitment=Confirmed)
            parser.parse_logs(tx.value.transaction.meta.log_messages,
                              lambda e: events.append({"name": e.name, "data": jsonable(e.data)}))
        cfg = await program.account["Config"].fetch(config)
        cust = await program.account["Customer"].fetch(customer)
        every = await program.account["Customer"].all()
    return {"signatures": [str(registered), str(deposited)], "events": events, "config": jsonable(cfg),
            "customer": jsonable(cust), "customers": [str(a.public_key) for a in every],
            "addresses": {"config": str(config), "customer": str(customer), "escrow": str(escrow)}}


if __name__ == "__main__":
    url, idl, program_id, keypair, mint, amount = sys.argv[1:7]
    print(json.dumps(asyncio.run(main(url, idl, program_id, keypair, mint, int(amount)))))
