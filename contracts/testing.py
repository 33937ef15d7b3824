"""LiteSVM harness for the billing program: load the program, create a mint and token accounts, fund
wallets, set the clock, send transactions and read back decoded accounts, events and errors, and check
the token conservation invariant. Used by tests/program, tests/contracts and bench/program_*.py, and
reusable by other packages' tests (everything here runs the real program and the real SPL Token)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Optional, Sequence

from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.token.state import Mint, TokenAccount, TokenAccountState
from solders.transaction import Transaction

from contracts import DEFAULT_PROGRAM_ID, PROGRAM_SO
from contracts.client import (
    TOKEN_PROGRAM_ID,
    BillingProgram,
    Event,
    ProgramError,
    decode_account,
    epoch_at,
    error_from_logs,
    error_from_tx_error,
    parse_events,
)
from contracts.merkle import MerkleTree
from contracts.receipt import Receipt

BPF_LOADER_2 = Pubkey.from_string("BPFLoader2111111111111111111111111111111111")
LAMPORTS_PER_SOL = 1_000_000_000
TOKEN_ACCOUNT_LEN = 165
MINT_LEN = 82

DEFAULT_PARAMS = dict(
    fee_bps=100,
    burn_bps=50,
    min_stake=1_000_000,
    withdrawal_delay=7200,
    settlement_window=3600,
    unstake_cooldown=86_400,
    contest_window=3600,
    resolution_window=86_400,
    batch_retention=7 * 86_400,
    update_delay=2 * 86_400,
    epoch_length=86_400,
)
GENESIS_TS = 1_700_000_000


@dataclass
class TxResult:
    ok: bool
    logs: list[str]
    compute_units: int
    events: list[Event]
    error: Optional[ProgramError]
    raw_error: Any = None

    def event(self, name: str) -> Any:
        found = [e.data for e in self.events if e.name == name]
        assert found, f"no {name} event in {[e.name for e in self.events]}"
        return found[0]


@dataclass
class Harness:
    program_id: Pubkey = field(default_factory=lambda: Pubkey.from_string(DEFAULT_PROGRAM_ID))
    svm: LiteSVM = field(default_factory=LiteSVM)
    load_program: bool = True

    def __post_init__(self) -> None:
        if self.load_program:
            # Genesis-style, under loader v2 (no upgrade authority), as the localnet preloads it; LiteSVM's
            # add_program would put it under the upgradeable loader with no authority.
            self.svm.add_program_with_loader(self.program_id, PROGRAM_SO.read_bytes(), BPF_LOADER_2)
        self.program = BillingProgram(self.program_id)
        self.payer = self.new_wallet()
        self.minted: dict[Pubkey, int] = {}
        self.burned: dict[Pubkey, int] = {}
        self.token_accounts: dict[Pubkey, set[Pubkey]] = {}

    # ---- clock and wallets ---------------------------------------------------------------------
    def set_time(self, unix_timestamp: int) -> None:
        c = self.svm.get_clock()
        c.unix_timestamp = unix_timestamp
        self.svm.set_clock(c)

    def now(self) -> int:
        return self.svm.get_clock().unix_timestamp

    def new_wallet(self, sol: int = 10) -> Keypair:
        kp = Keypair()
        self.svm.airdrop(kp.pubkey(), sol * LAMPORTS_PER_SOL)
        return kp

    # ---- tokens --------------------------------------------------------------------------------
    def create_mint(self, authority: Pubkey, decimals: int = 6) -> Pubkey:
        mint = Keypair().pubkey()
        data = bytes(Mint(mint_authority=authority, supply=0, decimals=decimals, is_initialized=True,
                          freeze_authority=None))
        self._set(mint, data, TOKEN_PROGRAM_ID)
        self.minted[mint] = 0
        self.burned[mint] = 0
        self.token_accounts[mint] = set()
        return mint

    def create_token_account(self, mint: Pubkey, owner: Pubkey) -> Pubkey:
        addr = Keypair().pubkey()
        data = bytes(TokenAccount(mint=mint, owner=owner, amount=0, delegate=None,
                                  state=TokenAccountState.Initialized, is_native=None, delegated_amount=0))
        self._set(addr, data, TOKEN_PROGRAM_ID)
        self.track(mint, addr)
        return addr

    def track(self, mint: Pubkey, token_account: Pubkey) -> None:
        """Count a token account (e.g. a vault the program created) in the conservation check."""
        self.token_accounts.setdefault(mint, set()).add(token_account)

    def mint_to(self, mint: Pubkey, authority: Keypair, dest: Pubkey, amount: int) -> TxResult:
        ix = Instruction(TOKEN_PROGRAM_ID, bytes([7]) + amount.to_bytes(8, "little"),
                         [AccountMeta(mint, False, True), AccountMeta(dest, False, True),
                          AccountMeta(authority.pubkey(), True, False)])
        r = self.send([ix], [authority])
        assert r.ok, r.logs
        self.minted[mint] += amount
        return r

    def approve(self, source: Pubkey, delegate: Pubkey, owner: Keypair, amount: int) -> TxResult:
        ix = Instruction(TOKEN_PROGRAM_ID, bytes([4]) + amount.to_bytes(8, "little"),
                         [AccountMeta(source, False, True), AccountMeta(delegate, False, False),
                          AccountMeta(owner.pubkey(), True, False)])
        return self.send([ix], [owner])

    def token_balance(self, addr: Pubkey) -> int:
        acc = self.svm.get_account(addr)
        if acc is None or len(acc.data) != TOKEN_ACCOUNT_LEN:
            return 0
        return TokenAccount.from_bytes(bytes(acc.data)).amount

    def token_account(self, addr: Pubkey) -> TokenAccount:
        return TokenAccount.from_bytes(bytes(self.svm.get_account(addr).data))

    def supply(self, mint: Pubkey) -> int:
        return Mint.from_bytes(bytes(self.svm.get_account(mint).data)).supply

    def assert_conservation(self, mint: Pubkey) -> None:
        """Tokens in all vaults + wallets + treasury + burned == minted; and the token accounts the
        harness knows hold exactly the mint's supply (no tokens anywhere else)."""
        held = sum(self.token_balance(a) for a in self.token_accounts[mint])
        supply = self.supply(mint)
        assert held == supply, f"tracked token accounts hold {held}, supply is {supply}"
        assert held + self.burned[mint] == self.minted[mint], (
            f"held {held} + burned {self.burned[mint]} != minted {self.minted[mint]}"
        )

    # ---- transactions --------------------------------------------------------------------------
    def send(self, ixs: Sequence[Instruction], signers: Sequence[Keypair], payer: Optional[Keypair] = None) -> TxResult:
        payer = payer or (signers[0] if signers else self.payer)
        all_signers = [payer] + [s for s in signers if s.pubkey() != payer.pubkey()]
        msg = Message.new_with_blockhash(list(ixs), payer.pubkey(), self.svm.latest_blockhash())
        tx = Transaction(all_signers, msg, self.svm.latest_blockhash())
        res = self.svm.send_transaction(tx)
        # A fresh blockhash per transaction: identical instructions may be sent twice on purpose.
        self.svm.expire_blockhash()
        if hasattr(res, "err"):
            meta = res.meta()
            logs = list(meta.logs())
            return TxResult(False, logs, meta.compute_units_consumed(), [],
                            error_from_logs(logs) or error_from_tx_error(res.err()), res.err())
        logs = list(res.logs())
        events = parse_events(logs, self.program_id)
        for e in events:
            if e.name == "Settled" and e.data.burned:
                mint = self._config_mint()
                self.burned[mint] += e.data.burned
        return TxResult(True, logs, res.compute_units_consumed(), events, None)

    def _config_mint(self) -> Pubkey:
        return self.config().mint

    # ---- accounts ------------------------------------------------------------------------------
    def account(self, addr: Pubkey) -> Optional[tuple[str, Any]]:
        acc = self.svm.get_account(addr)
        if acc is None or len(acc.data) == 0:
            return None
        return decode_account(bytes(acc.data))

    def config(self) -> Any:
        return self.account(self.program.config_address())[1]

    def exists(self, addr: Pubkey) -> bool:
        acc = self.svm.get_account(addr)
        return acc is not None and (acc.lamports > 0 or len(acc.data) > 0)

    def raw(self, addr: Pubkey) -> Optional[Account]:
        return self.svm.get_account(addr)

    def lamports(self, addr: Pubkey) -> int:
        """Lamports at `addr`, 0 where no account exists (LiteSVM 0.29's get_balance answers None there)."""
        return self.svm.get_balance(addr) or 0

    def current_epoch(self) -> int:
        c = self.config()
        return epoch_at(c.genesis_ts, c.epoch_length, self.now())

    def _set(self, addr: Pubkey, data: bytes, owner: Pubkey) -> None:
        lamports = self.svm.minimum_balance_for_rent_exemption(len(data))
        self.svm.set_account(addr, Account(lamports=lamports, data=data, owner=owner, executable=False, rent_epoch=0))

    def snapshot(self, addrs: Iterable[Pubkey]) -> dict[Pubkey, Optional[tuple[int, bytes, Pubkey]]]:
        """(lamports, data, owner) of each address, to assert that a failed instruction changed nothing."""
        out = {}
        for a in addrs:
            acc = self.svm.get_account(a)
            out[a] = None if acc is None else (acc.lamports, bytes(acc.data), acc.owner)
        return out


@dataclass
class Deployment:
    """An initialized program with a mint, a treasury, an admin, a meter and an arbiter."""

    h: Harness
    admin: Keypair
    meter: Keypair
    arbiter: Keypair
    mint_authority: Keypair
    mint: Pubkey
    treasury: Pubkey
    params: dict

    @property
    def program(self) -> BillingProgram:
        return self.h.program

    def fund(self, owner: Keypair, amount: int) -> Pubkey:
        """A new token account of `owner` holding `amount` freshly minted tokens."""
        ta = self.h.create_token_account(self.mint, owner.pubkey())
        if amount:
            self.h.mint_to(self.mint, self.mint_authority, ta, amount)
        return ta

    def customer(self, deposit: int = 0, wallet_tokens: int = 0) -> "Party":
        kp = self.h.new_wallet()
        ta = self.fund(kp, deposit + wallet_tokens)
        r = self.h.send([self.program.register_customer(wallet=kp.pubkey(), mint=self.mint)], [kp])
        assert r.ok, r.logs
        self.h.track(self.mint, self.program.escrow_address(kp.pubkey()))
        if deposit:
            r = self.h.send([self.program.deposit(wallet=kp.pubkey(), source=ta, mint=self.mint, amount=deposit)], [kp])
            assert r.ok, r.logs
        return Party(kp, ta)

    def provider(self, stake: int = 0, wallet_tokens: int = 0) -> "Party":
        kp = self.h.new_wallet()
        ta = self.fund(kp, stake + wallet_tokens)
        r = self.h.send([self.program.register_provider(wallet=kp.pubkey(), payout=ta, mint=self.mint)], [kp])
        assert r.ok, r.logs
        self.h.track(self.mint, self.program.stake_address(kp.pubkey()))
        if stake:
            r = self.h.send([self.program.stake(wallet=kp.pubkey(), source=ta, mint=self.mint, amount=stake)], [kp])
            assert r.ok, r.logs
        return Party(kp, ta)

    def open_channel(self, customer: "Party", provider: "Party", limit_per_epoch: int = (1 << 64) - 1) -> TxResult:
        """The customer opens its channel with the provider (its consent to be billed; no limit by default)."""
        r = self.h.send([self.program.open_channel(wallet=customer.pubkey, provider_wallet=provider.pubkey,
                                                   limit_per_epoch=limit_per_epoch)], [customer.kp])
        assert r.ok, r.logs[-4:]
        return r

    def conservation(self) -> None:
        self.h.assert_conservation(self.mint)


@dataclass
class Party:
    kp: Keypair
    token_account: Pubkey

    @property
    def pubkey(self) -> Pubkey:
        return self.kp.pubkey()


def deploy(h: Optional[Harness] = None, start_ts: int = GENESIS_TS, admin: Optional[Keypair] = None,
           **overrides: int) -> Deployment:
    """A Harness with the program initialized (clock at `start_ts`, which becomes genesis_ts). `admin`
    must be the upgrade authority when the program was deployed through the upgradeable loader."""
    h = h or Harness()
    h.set_time(start_ts)
    admin = admin or h.new_wallet()
    meter, arbiter, mint_auth = h.new_wallet(), h.new_wallet(), h.new_wallet()
    mint = h.create_mint(mint_auth.pubkey())
    treasury = h.create_token_account(mint, admin.pubkey())
    params = {**DEFAULT_PARAMS, **overrides}
    ix = h.program.initialize(admin=admin.pubkey(), mint=mint, treasury=treasury, meter=meter.pubkey(),
                              arbiter=arbiter.pubkey(), **params)
    r = h.send([ix], [admin])
    assert r.ok, r.logs
    h.track(mint, h.program.rewards_address())
    return Deployment(h, admin, meter, arbiter, mint_auth, mint, treasury, params)


# ---- receipts and batches -----------------------------------------------------------------------
def make_receipt(d: Deployment, customer: Pubkey, provider: Pubkey, seq: int, cum_amount: int,
                 prev: bytes, config_version: int = 1, **fields: Any):
    base = dict(program_id=d.h.program_id, config_version=config_version, customer=customer, provider=provider,
                seq=seq, period_start=1000 * seq, period_end=1000 * seq + 1000, cum_gpu_ms=3_600_000 * seq,
                cum_byte_seconds=(1 << 70) + seq, cum_egress_bytes=10 * seq, cum_amount=cum_amount,
                prev_receipt_id=prev, detail_hash=bytes([seq % 256]) * 32)
    base.update(fields)
    return Receipt(**base)


def receipt_chain(d: Deployment, customer: Pubkey, provider: Pubkey, amounts: Sequence[int], **fields: Any) -> list:
    """Receipts seq 1..n with the given cumulative amounts, hash-chained."""
    out, prev = [], bytes(32)
    for i, amt in enumerate(amounts, start=1):
        r = make_receipt(d, customer, provider, i, amt, prev, **fields)
        out.append(r)
        prev = r.receipt_id
    return out


def post_batch(d: Deployment, receipts: Sequence[Any], meter: Optional[Keypair] = None, extra_ids: Sequence[bytes] = (),
               config_version: Optional[int] = None):
    """Post a batch over `receipts` (+ filler ids); returns (batch index, MerkleTree, TxResult).
    `config_version` defaults to the config's current version (what an up-to-date meter names)."""
    ids = [r.receipt_id for r in receipts] + list(extra_ids)
    tree = MerkleTree(ids)
    cfg = d.h.config()
    index = cfg.batch_count
    total = sum(r.cum_amount for r in receipts)
    meter = meter or d.meter
    version = cfg.version if config_version is None else config_version
    res = d.h.send([d.program.post_batch(meter=meter.pubkey(), index=index, root=tree.root, count=len(ids),
                                         total=total, config_version=version)], [meter])
    return index, tree, res


def settle(d: Deployment, batch_index: int, tree, leaf: int, receipt, provider_payout: Pubkey,
           payer: Optional[Keypair] = None, **overrides: Any) -> TxResult:
    payer = payer or d.h.payer
    ix = d.program.settle(payer=payer.pubkey(), batch_index=batch_index, receipt=receipt, proof=tree.proof(leaf),
                          payout=provider_payout, treasury=d.treasury, mint=d.mint,
                          epoch=overrides.pop("epoch") if "epoch" in overrides else d.h.current_epoch(), **overrides)
    return d.h.send([ix], [payer])


def with_account(ix: Instruction, pos: int, key: Pubkey, signer: Optional[bool] = None,
                 writable: Optional[bool] = None) -> Instruction:
    """`ix` with account `pos` replaced by `key` (signer / writable flags kept unless given): how the
    tests substitute an account or drop a signature the client would have set."""
    metas = list(ix.accounts)
    m = metas[pos]
    metas[pos] = AccountMeta(key, m.is_signer if signer is None else signer,
                             m.is_writable if writable is None else writable)
    return Instruction(ix.program_id, ix.data, metas)
