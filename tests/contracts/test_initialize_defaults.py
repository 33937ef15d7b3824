"""initialize's builder gives every optional argument its documented default (INITIALIZE_DEFAULTS, and
update_delay = 2 x the longest exit), the same bytes as passing them; `operator init` and InitParams use the
same table; and the program accepts the defaults (a Config initialized with only the required arguments)."""
from __future__ import annotations

import dataclasses

from solders.pubkey import Pubkey

from contracts.client import INITIALIZE_DEFAULTS, BillingProgram, default_update_delay

KEYS = dict(admin=Pubkey.new_unique(), mint=Pubkey.new_unique(), treasury=Pubkey.new_unique(),
            meter=Pubkey.new_unique(), arbiter=Pubkey.new_unique())


def test_left_out_arguments_take_the_documented_defaults():
    bp = BillingProgram()
    explicit = bp.initialize(**KEYS, **INITIALIZE_DEFAULTS, update_delay=2 * 86_400)
    assert bytes(bp.initialize(**KEYS).data) == bytes(explicit.data)
    assert bp.initialize(**KEYS).accounts == explicit.accounts
    # update_delay follows the exits actually used: 2 x max(withdrawal_delay, unstake_cooldown)
    longer = bp.initialize(**KEYS, withdrawal_delay=3 * 86_400)
    same = bp.initialize(**KEYS, withdrawal_delay=3 * 86_400, update_delay=6 * 86_400)
    assert bytes(longer.data) == bytes(same.data)
    assert default_update_delay(7_200, 86_400) == 2 * 86_400
    # one given argument changes only itself
    assert bytes(bp.initialize(**KEYS, fee_bps=300).data) != bytes(explicit.data)


def test_init_params_and_the_operator_cli_use_the_same_defaults():
    from typer.main import get_command

    from solmeter.commands import operator as operator_cli
    from ledger.ops.deployment import InitParams

    p = InitParams()
    for name, value in INITIALIZE_DEFAULTS.items():
        assert getattr(p, name) == value, name
    assert p.update_delay is None  # the builder's default_update_delay
    init = get_command(operator_cli.app).commands["init"]
    opts = {o.name: o.default for o in init.params}
    for name in ("fee_bps", "burn_bps"):
        assert opts[name] == INITIALIZE_DEFAULTS[name]
    for name in ("withdrawal_delay", "settlement_window", "unstake_cooldown", "contest_window", "resolution_window",
                 "batch_retention", "epoch_length"):
        assert opts[f"{name}_s"] == INITIALIZE_DEFAULTS[name], name
    assert {f.name for f in dataclasses.fields(p)} >= set(INITIALIZE_DEFAULTS)


def test_the_program_accepts_the_defaults(tmp_path):
    from contracts import DEFAULT_PROGRAM_ID
    from contracts.client import params_at
    from ledger.engine.chain import RpcChain
    from ledger.ops.bootstrap import airdrop
    from ledger.ops.deployment import InitParams, initialize, read_config
    from solders.keypair import Keypair

    import socket

    import localnet

    def free_port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    node = localnet.start_in_process(ledger_dir=tmp_path / "chain", port=free_port(), ws_port=free_port())
    try:
        chain = RpcChain(node.rpc_url)
        admin = Keypair()
        airdrop(chain, admin.pubkey())
        dep = initialize(chain, admin, program_id=Pubkey.from_string(DEFAULT_PROGRAM_ID), meter=Keypair().pubkey(),
                         arbiter=Keypair().pubkey(), params=InitParams())
        cfg = read_config(chain, dep.program)
        inforce = params_at(cfg, chain.unix_time())
        assert (int(cfg.fee_bps), int(cfg.burn_bps), int(cfg.epoch_length)) == (250, 50, 86_400)
        assert int(inforce.withdrawal_delay) == 7_200 and int(inforce.update_delay) == 2 * 86_400
        assert int(inforce.batch_retention) == 7 * 86_400 and int(inforce.min_stake) == 1_000_000
    finally:
        node.stop()
