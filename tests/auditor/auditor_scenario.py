"""An honest billing history on a real localnet, driven over JSON-RPC with the program's client:

config v1 (meter A) -> receipts 1..5 of one channel in batches 0 and 1 -> settlement of seq 2 -> v2 adds
meter B and raises the fee -> settlement of seq 5 (a v1 receipt, split at v2's fee: the config in force) ->
v3 removes meter A -> receipts 6..7 signed by B in batch 2 -> settlement of seq 7 -> the epoch is funded,
closed by time travel and claimed -> four slashes: executed uncontested after its window, contested and
rejected, contested, upheld and executed, and one left open -> a withdrawal from the escrow.

Everything goes through the real program, the real SPL Token program and the RPC server; the receipts
are encoded by contracts/receipt.py and committed with contracts/merkle.py, exactly as the meter does.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.sysvar import CLOCK
from solders.system_program import CreateAccountParams, create_account
from solders.transaction import Transaction
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import initialize_account, initialize_mint, mint_to
from spl.token.models import InitializeAccountParams, InitializeMintParams, MintToParams

from auditor.receipt_file import SignedReceipt
from auditor.sample import next_receipt
from chain import RpcClient
from contracts.client import BillingProgram, epoch_at
from contracts.merkle import MerkleTree

FEE_BPS, BURN_BPS, NEW_FEE_BPS = 250, 100, 400
EPOCH_LENGTH = 3600
FUNDED = 1_000_003


@dataclass
class Scenario:
    rpc_url: str
    client: RpcClient
    program: BillingProgram
    admin: Keypair
    meter_a: Keypair
    meter_b: Keypair
    customer: Keypair
    provider: Keypair
    mint: Pubkey
    treasury: Pubkey
    payout: Pubkey
    receipts: list[SignedReceipt] = field(default_factory=list)  # seq 1..7 with batch (on-chain index) and proof
    batches: dict[int, list[SignedReceipt]] = field(default_factory=dict)
    settled_seqs: list[int] = field(default_factory=list)
    epoch: int = 0
    settle_signatures: list[str] = field(default_factory=list)


class Chain:
    def __init__(self, rpc_url: str):
        self.url = rpc_url
        self.client = RpcClient(rpc_url, commitment="confirmed", timeout=30)

    def send(self, ixs, signers) -> str:
        bh, _ = self.client.get_latest_blockhash()
        msg = Message.new_with_blockhash(list(ixs), signers[0].pubkey(), bh)
        tx = Transaction(list(signers), msg, bh)
        st = self.client.confirm(self.client.send_transaction(tx))
        assert st.err is None, f"transaction failed: {st}"
        sig = tx.signatures[0]
        return str(sig)

    def airdrop(self, kp: Keypair, sol: int = 10) -> None:
        self.client.confirm(self.client.request_airdrop(kp.pubkey(), sol * 10**9))

    def rent(self, n: int) -> int:
        return self.client.get_minimum_balance_for_rent_exemption(n)

    def token_account(self, payer: Keypair, mint: Pubkey, owner: Pubkey) -> Pubkey:
        acc = Keypair()
        self.send([create_account(CreateAccountParams(from_pubkey=payer.pubkey(), to_pubkey=acc.pubkey(),
                                                      lamports=self.rent(165), space=165, owner=TOKEN_PROGRAM_ID)),
                   initialize_account(InitializeAccountParams(program_id=TOKEN_PROGRAM_ID, account=acc.pubkey(),
                                                              mint=mint, owner=owner))], [payer, acc])
        return acc.pubkey()

    def time_travel(self, seconds: int) -> None:
        r = httpx.post(self.url, json={"jsonrpc": "2.0", "id": 1, "method": "surfnet_timeTravel",
                                       "params": [{"relativeSeconds": seconds}]}, timeout=30).json()
        assert "error" not in r, r

    def block_time(self) -> int:
        """unix_timestamp of the Clock sysvar (what the program sees)."""
        data = bytes(self.client.get_account_info(CLOCK).data)
        return int.from_bytes(data[32:40], "little", signed=True)


@dataclass
class Deployed:
    ch: "Chain"
    prog: BillingProgram
    admin: Keypair
    customer: Keypair
    provider: Keypair
    mint: Pubkey
    treasury: Pubkey
    payout: Pubkey
    admin_ta: Pubkey
    arbiter: Keypair | None = None
    customer_ta: Pubkey | None = None

    def post_batch(self, meter: Keypair, root: bytes, count: int, total: int, config_version: int | None = None) -> int:
        """Post as the crank does; `config_version` (the receipts' version) defaults to the current one."""
        cfg = _config(self.ch, self.prog)
        index = cfg.batch_count
        version = cfg.version if config_version is None else config_version
        self.ch.send([self.prog.post_batch(meter=meter.pubkey(), index=index, root=root, count=count, total=total,
                                           config_version=version)], [meter])
        return index

    def settle(self, batch_index: int, receipt, proof) -> tuple[str, int]:
        cfg = _config(self.ch, self.prog)
        ep = epoch_at(cfg.genesis_ts, cfg.epoch_length, self.ch.block_time())
        sig = self.ch.send([self.prog.settle(payer=self.admin.pubkey(), batch_index=batch_index, receipt=receipt,
                                             proof=list(proof), payout=self.payout, treasury=self.treasury,
                                             mint=self.mint, epoch=ep)], [self.admin])
        return sig, ep


def deploy(rpc_url: str, program_id: Pubkey, meter: Keypair, customer: Keypair | None = None,
           provider: Keypair | None = None, admin: Keypair | None = None) -> Deployed:
    """Initialize the program with `meter` registered, a funded customer and a staked provider. `admin`: the
    program's upgrade authority when it was deployed through the upgradeable loader (initialize requires it)."""
    ch = Chain(rpc_url)
    prog = BillingProgram(program_id)
    admin, arbiter, mint_kp = admin or Keypair(), Keypair(), Keypair()
    customer, provider = customer or Keypair(), provider or Keypair()
    for kp in (admin, meter, customer, provider):
        ch.airdrop(kp)
    ch.send([create_account(CreateAccountParams(from_pubkey=admin.pubkey(), to_pubkey=mint_kp.pubkey(),
                                                lamports=ch.rent(82), space=82, owner=TOKEN_PROGRAM_ID)),
             initialize_mint(InitializeMintParams(decimals=6, program_id=TOKEN_PROGRAM_ID, mint=mint_kp.pubkey(),
                                                  mint_authority=admin.pubkey()))], [admin, mint_kp])
    mint = mint_kp.pubkey()
    treasury = ch.token_account(admin, mint, admin.pubkey())
    cust_ta = ch.token_account(admin, mint, customer.pubkey())
    payout = ch.token_account(admin, mint, provider.pubkey())
    admin_ta = ch.token_account(admin, mint, admin.pubkey())
    for ta, amt in ((cust_ta, 50_000_000), (payout, 2_000_000), (admin_ta, 10_000_000)):
        ch.send([mint_to(MintToParams(program_id=TOKEN_PROGRAM_ID, mint=mint, dest=ta, mint_authority=admin.pubkey(),
                                      amount=amt))], [admin])
    ch.send([prog.initialize(admin=admin.pubkey(), mint=mint, treasury=treasury, meter=meter.pubkey(),
                             arbiter=arbiter.pubkey(), fee_bps=FEE_BPS, burn_bps=BURN_BPS, min_stake=1_000_000,
                             withdrawal_delay=7200, settlement_window=3600, unstake_cooldown=86_400,
                             contest_window=3600, resolution_window=86_400, batch_retention=7 * 86_400,
                             update_delay=2 * 86_400, epoch_length=EPOCH_LENGTH)], [admin])
    ch.send([prog.register_customer(wallet=customer.pubkey(), mint=mint)], [customer])
    ch.send([prog.deposit(wallet=customer.pubkey(), source=cust_ta, mint=mint, amount=40_000_000)], [customer])
    ch.send([prog.register_provider(wallet=provider.pubkey(), payout=payout, mint=mint)], [provider])
    ch.send([prog.stake(wallet=provider.pubkey(), source=payout, mint=mint, amount=1_500_000)], [provider])
    ch.send([prog.open_channel(wallet=customer.pubkey(), provider_wallet=provider.pubkey())], [customer])
    ch.airdrop(arbiter)
    return Deployed(ch, prog, admin, customer, provider, mint, treasury, payout, admin_ta, arbiter, cust_ta)


def run(rpc_url: str, program_id: Pubkey) -> Scenario:
    meter_a, meter_b = Keypair(), Keypair()
    d = deploy(rpc_url, program_id, meter_a)
    ch, prog, admin, customer, provider = d.ch, d.prog, d.admin, d.customer, d.provider
    mint, treasury, payout, admin_ta = d.mint, d.treasury, d.payout, d.admin_ta
    ch.airdrop(meter_b)
    sc = Scenario(rpc_url, ch.client, prog, admin, meter_a, meter_b, customer, provider, mint, treasury, payout)
    chain_rs = []

    def issue(n: int, version: int):
        for _ in range(n):
            prev = chain_rs[-1] if chain_rs else None
            chain_rs.append(next_receipt(prev, program_id=program_id, config_version=version,
                                         customer=customer.pubkey(), provider=provider.pubkey(),
                                         add_amount=100_000 + 7_919 * len(chain_rs), add_byte_seconds=3 << 64,
                                         add_egress=5))

    def post(group, meter: Keypair) -> int:
        tree = MerkleTree([r.receipt_id for r in group])
        before = chain_rs[chain_rs.index(group[0]) - 1].cum_amount if group[0].seq > 1 else 0
        total = group[-1].cum_amount - before  # sum of new amounts (one channel): what the meter posts
        index = d.post_batch(meter, tree.root, len(group), total)
        signed = [SignedReceipt(r, meter.sign_message(r.receipt_id), meter.pubkey(), index, tuple(tree.proof(j)), j)
                  for j, r in enumerate(group)]
        sc.batches[index] = signed
        sc.receipts.extend(signed)
        return index

    def settle(seq: int) -> None:
        sr = sc.receipts[seq - 1]
        sig, ep = d.settle(sr.batch, sr.receipt, sr.proof)
        sc.settled_seqs.append(seq)
        sc.settle_signatures.append(sig)
        sc.epoch = ep

    issue(5, 1)
    post(chain_rs[0:3], meter_a)
    post(chain_rs[3:5], meter_a)
    settle(2)
    # v2: meter B added and the fee raised; seq 5 (a v1 receipt of meter A) settles under v2's fee
    ch.send([prog.update_config(admin=admin.pubkey(), add_meter=meter_b.pubkey(), fee_bps=NEW_FEE_BPS)], [admin])
    settle(5)
    ch.send([prog.update_config(admin=admin.pubkey(), remove_meter=meter_a.pubkey())], [admin])  # v3: A retired
    issue(2, 3)
    post(chain_rs[5:7], meter_b)
    settle(7)
    ch.send([prog.fund_epoch(funder=admin.pubkey(), epoch=sc.epoch, source=admin_ta, mint=mint, amount=FUNDED)],
            [admin])
    ch.time_travel(EPOCH_LENGTH + 5)
    ch.send([prog.claim_rewards(wallet=provider.pubkey(), epoch=sc.epoch, payout=payout, mint=mint)], [provider])
    run_slashes(d)
    # the customer takes part of its escrow back after the withdrawal delay
    ch.send([prog.request_withdrawal(wallet=customer.pubkey(), amount=WITHDRAWN)], [customer])
    ch.time_travel(7200 + 5)
    ch.send([prog.withdraw(wallet=customer.pubkey(), destination=d.customer_ta, mint=mint)], [customer])
    return sc


WITHDRAWN = 1_234_567


SLASHES = (100_000, 200_000, 300_000, 50_000)  # executed uncontested, rejected, upheld and executed, open


def run_slashes(d: Deployed) -> None:
    ch, prog, w = d.ch, d.prog, d.provider.pubkey()

    def propose(i: int) -> None:
        ch.send([prog.propose_slash(admin=d.admin.pubkey(), provider_wallet=w, index=i, amount=SLASHES[i],
                                    evidence_hash=bytes([i + 1]) * 32, beneficiary=d.treasury)], [d.admin])

    def execute(i: int) -> None:
        ch.send([prog.execute_slash(provider_wallet=w, index=i, beneficiary=d.treasury, mint=d.mint)], [d.admin])

    def contest(i: int) -> None:
        ch.send([prog.contest_slash(wallet=w, index=i, evidence_hash=bytes([9]) * 32)], [d.provider])

    def resolve(i: int, uphold: bool) -> None:
        ch.send([prog.resolve_slash(arbiter=d.arbiter.pubkey(), provider_wallet=w, index=i, uphold=uphold)],
                [d.arbiter])

    propose(0)
    propose(1)
    propose(2)
    contest(1)
    contest(2)
    resolve(1, False)
    resolve(2, True)
    execute(2)
    ch.time_travel(3600 + 5)  # past slash 0's contest window
    execute(0)
    propose(3)


def _config(ch: Chain, prog: BillingProgram):
    from contracts.client import decode_account_as

    return decode_account_as("Config", bytes(ch.client.get_account_info(prog.config_address()).data))

