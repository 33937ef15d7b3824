"""anchorpy against the billing program preloaded at genesis: send through the localnet, fetch and decode
accounts with anchorpy's Program/AccountClient, read events from the transaction logs."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from anchorpy import Program, Provider, Wallet
from solana.rpc.api import Client
from solana.rpc.async_api import AsyncClient
from solana.rpc.core import RPCException
from solders.keypair import Keypair
from solders.transaction import Transaction
from spl.token.client import Token
from spl.token.constants import TOKEN_PROGRAM_ID

import contracts
import localnet

if not Path(contracts.PROGRAM_SO).exists():  # pragma: no cover - the build is committed
    pytest.fail(f"the billing program build {contracts.PROGRAM_SO} is missing", pytrace=False)

from contracts.client import BillingProgram, parse_events  # noqa: E402
from contracts.client.idl import idl  # noqa: E402


def test_initialize_and_fetch_config_with_anchorpy(tmp_path):
    with localnet.start_in_process(ledger_dir=tmp_path / "ledger") as h:
        c = Client(h.rpc_url)
        admin = Keypair()
        c.confirm_transaction(c.request_airdrop(admin.pubkey(), 10 * 10**9).value)
        mint = Token.create_mint(c, admin, admin.pubkey(), 6, TOKEN_PROGRAM_ID)
        treasury = mint.create_associated_token_account(admin.pubkey())
        bp = BillingProgram()
        ix = bp.initialize(admin=admin.pubkey(), mint=mint.pubkey, treasury=treasury, meter=Keypair().pubkey(),
                           arbiter=Keypair().pubkey(), fee_bps=250, burn_bps=100, min_stake=1_000_000,
                           withdrawal_delay=7200, settlement_window=3600, unstake_cooldown=3600,
                           contest_window=3600, resolution_window=86_400, batch_retention=7 * 86_400,
                           update_delay=2 * 7200, epoch_length=86400)
        bh = c.get_latest_blockhash().value.blockhash
        sig = c.send_transaction(Transaction.new_signed_with_payer([ix], admin.pubkey(), [admin], bh)).value
        meta = c.get_transaction(sig).value.transaction.meta
        assert meta.err is None, meta.log_messages
        events = parse_events(meta.log_messages, bp.program_id)
        assert events, meta.log_messages  # every state change emits an event

        async def fetch():
            async with AsyncClient(h.rpc_url) as ac:
                program = Program(idl(), bp.program_id, Provider(ac, Wallet(admin)))
                cfg = await program.account["Config"].fetch(bp.config_address())
                every = await program.account["Config"].all()
                return cfg, every

        cfg, every = asyncio.run(fetch())
        assert cfg.admin == admin.pubkey() and cfg.mint == mint.pubkey and cfg.fee_bps == 250
        assert [a.public_key for a in every] == [bp.config_address()]  # getProgramAccounts + memcmp filter

        bh = c.get_latest_blockhash().value.blockhash
        with pytest.raises(RPCException) as exc:  # a second initialize fails in preflight, with logs
            c.send_transaction(Transaction.new_signed_with_payer([ix], admin.pubkey(), [admin], bh))
        assert exc.value.args[0].data.logs
