"""The billing program preloaded at genesis, driven as a user's client would over JSON-RPC: instructions from the
generated client sent through solana-py (its AsyncClient), accounts fetched with solana-py and with the
project's chain layer and decoded by the generated classes, events read from the transaction logs, and a
refused transaction reported by both clients (the program error by name through the chain layer)."""
from __future__ import annotations

from pathlib import Path

import pytest
from solana.rpc.core import RPCException
from solana.rpc.models import MemcmpOpts
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.transaction import VersionedTransaction
from spl.token.constants import TOKEN_PROGRAM_ID

import contracts
import localnet
from chain import RpcClient, TxRejected
from chain.requests import base58
from contracts.client import BillingProgram, gen, parse_events
from localnet.solana_py import SplToken, SyncAsyncClient

if not Path(contracts.PROGRAM_SO).exists():  # pragma: no cover - the build is committed
    pytest.fail(f"the billing program build {contracts.PROGRAM_SO} is missing", pytrace=False)


def test_initialize_fetch_decode_and_refusal_over_rpc(tmp_path):
    with localnet.start_in_process(ledger_dir=tmp_path / "ledger") as h, SyncAsyncClient(h.rpc_url) as c:
        admin = Keypair()
        c.confirm_transaction(c.request_airdrop(admin.pubkey(), 10 * 10**9).value, sleep_seconds=0.05)
        token = SplToken.create_mint(c, admin, admin.pubkey(), 6, TOKEN_PROGRAM_ID)
        treasury = token.create_associated_token_account(admin.pubkey())
        bp = BillingProgram()
        ix = bp.initialize(admin=admin.pubkey(), mint=token.pubkey, treasury=treasury, meter=Keypair().pubkey(),
                           arbiter=Keypair().pubkey(), fee_bps=250, burn_bps=100, min_stake=1_000_000,
                           withdrawal_delay=7200, settlement_window=3600, unstake_cooldown=3600,
                           contest_window=3600, resolution_window=86_400, batch_retention=7 * 86_400,
                           update_delay=2 * 7200, epoch_length=86400)

        def v0(ixs):
            bh = c.get_latest_blockhash().value.blockhash
            return VersionedTransaction(MessageV0.try_compile(admin.pubkey(), ixs, [], bh), [admin])

        sig = c.send_transaction(v0([ix])).value
        c.confirm_transaction(sig, sleep_seconds=0.05)
        meta = c.get_transaction(sig, max_supported_transaction_version=0).value.transaction.meta
        assert meta.err is None, meta.log_messages
        events = parse_events(meta.log_messages, bp.program_id)
        assert [e.name for e in events] == ["Initialized"]
        assert events[0].data.admin == admin.pubkey() and events[0].data.fee_bps == 250

        # fetched with solana-py, decoded by the generated Config class
        raw = c.get_account_info(bp.config_address()).value
        cfg = gen.accounts.Config.decode(bytes(raw.data))
        assert raw.owner == bp.program_id and len(raw.data) == gen.accounts.Config.SIZE
        assert cfg.admin == admin.pubkey() and cfg.mint == token.pubkey and cfg.fee_bps == 250 and cfg.version == 1
        assert cfg.params.min_stake == 1_000_000 and cfg.params.update_delay == 2 * 7200 and cfg.pending_at == 0
        disc = gen.accounts.Config.DISCRIMINATOR
        listed = c.get_program_accounts(bp.program_id, encoding="base64",
                                        filters=[MemcmpOpts(offset=0, bytes=base58(disc))]).value
        assert [a.pubkey for a in listed] == [bp.config_address()]  # getProgramAccounts + memcmp filter

        # the same through the project's chain layer
        with RpcClient(h.rpc_url) as rc:
            assert [k for k, _ in rc.get_program_accounts(bp.program_id, memcmp=[(0, disc)])] == [bp.config_address()]
            assert gen.accounts.Config.decode(bytes(rc.get_account_info(bp.config_address()).data)) == cfg

            # a second initialize fails in preflight: solana-py raises with the logs, the chain layer names the error
            with pytest.raises(RPCException) as exc:
                c.send_transaction(v0([ix]))
            assert exc.value.args[0].data.logs
            with pytest.raises(TxRejected) as rej:
                rc.send_transaction(v0([ix]))
            assert rej.value.logs and rej.value.program_error is not None
            assert rej.value.program_error.name in str(rej.value) and "0x" not in str(rej.value)
