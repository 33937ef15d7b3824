"""Deploy and upgrade the program on any cluster over JSON-RPC, through the upgradeable loader, paying once.

- Upload: the ELF goes into a buffer account whose authority is the operator. Before creating one, the
  operator's existing buffers of exactly this size are read (getProgramAccounts, filtered on tag and
  authority); one that can still become this ELF (every byte either the ELF's or never written) is resumed,
  and only its missing chunks are written. An interrupted deploy therefore costs nothing twice: the buffer's
  rent was paid once and stays in the buffer, and chunks already written are not sent again. No buffer
  keypair is kept anywhere: Write needs only the authority's signature.
- Deploy: create the Program account and DeployWithMaxDataLen in one transaction (the buffer's lamports
  return to the payer, who pays the ProgramData's rent).
- Upgrade: the upgrade authority is read from ProgramData and compared with the signer before anything is
  paid; the new bytes are uploaded the same way, then Upgrade (the buffer's lamports return to the signer).
- Buffers: the operator's buffers can be listed and closed (their rent returns to the operator).
Every transaction can carry a compute budget and priority fee (`budget.py`); the writes run in parallel
(`buffer_writes.py`). Costs are measured as the payer's balance before and after, never estimated after
the fact."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

from solders.hash import Hash
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from chain.tx_errors import describe
from contracts import loader_v3
from contracts.loader_v3 import LOADER_V3, Buffer, LoaderLayoutError, ProgramData

from ledger.engine.chain import RpcChain

from .budget import LAMPORTS_PER_SIGNATURE, NO_BUDGET, ComputeBudget, estimated_limit
from .buffer_writes import BufferWriter, NoProgress, Progress, WritePlan, WriteStats
from .tx import OpError, send, sign

# SIMD-0500 ("Disable deployment of SBPF v0, v1 and v2 programs"): active on devnet and testnet, so an SBPF
# v0-v2 ELF is refused there before anything is paid (localnet/features/clusters.json lists it)
SIMD_0500 = Pubkey.from_string("B8JJXCy5amZyWG9r7EnUYLwzXSXTxG7GZ1qZ1qggo83g")
FEATURE_PROGRAM = Pubkey.from_string("Feature111111111111111111111111111111111111")
CLOSE_PER_TX = 8  # Close instructions per transaction (3 accounts each: well under the size limit)
WRITE_UNITS_GUESS = 3_000  # compute units of one Write (a builtin), for the funds check before simulating


@dataclass(frozen=True)
class DeployOptions:
    budget: ComputeBudget = NO_BUDGET
    concurrency: int = 8
    max_len: Optional[int] = None  # ProgramData room for the ELF; default twice its size (room for upgrades)
    max_rounds: int = 8


@dataclass(frozen=True)
class BufferInfo:
    address: Pubkey
    lamports: int
    capacity: int  # ELF bytes it has room for
    chunks_total: Optional[int] = None  # when it can become the given ELF: its chunks ...
    chunks_written: Optional[int] = None  # ... and how many of them it holds


@dataclass
class Upload:
    buffer: Pubkey
    resumed: bool
    chunks_total: int
    chunks_written: int  # written by this run
    refunded: int = 0  # lamports the resumed buffer held (paid by an earlier run, returned at deploy/upgrade)
    stats: WriteStats = field(default_factory=WriteStats)


@dataclass
class Outcome:
    """What a deploy or an upgrade did and what it cost the payer in this run (lamports)."""
    program_id: Pubkey
    signature: str
    upload: Upload
    cost: int  # the payer's balance before minus after
    rent: int  # of which now held by the program's accounts (deploy; 0 for an upgrade)

    @property
    def fees(self) -> int:
        """Transaction fees paid by this run (a resumed buffer's rent, paid before, came back)."""
        return self.cost - self.rent + self.upload.refunded


def sol(lamports: int) -> str:
    """Lamports as an exact SOL amount, without trailing zeros ("1.5", "0.000005", "-0.1")."""
    sign_ = "-" if lamports < 0 else ""
    whole, frac = divmod(abs(int(lamports)), 10**9)
    return f"{sign_}{whole}" + (f".{frac:09d}".rstrip("0") if frac else "")


# ----- reading the loader's accounts ---------------------------------------------------------------------------

def buffers(chain: RpcChain, authority: Pubkey, elf: Optional[bytes] = None, chunk: int = 1) -> list[BufferInfo]:
    """The buffers whose authority is `authority`, with how far each got towards `elf` when it can become it."""
    memcmp, _ = loader_v3.buffer_filters(authority)
    out = []
    for acct in chain.program_accounts(LOADER_V3, memcmp=memcmp):
        b = Buffer.parse(acct.data)
        total = written = None
        if elf is not None and loader_v3.resumable(elf, b.data):
            total = len(loader_v3.chunk_offsets(len(elf), chunk))
            written = total - len(loader_v3.missing_chunks(elf, b.data, chunk))
        out.append(BufferInfo(acct.address, acct.lamports, len(b.data), total, written))
    return sorted(out, key=lambda i: str(i.address))


def find_resumable(chain: RpcChain, authority: Pubkey, elf: bytes, chunk: int) -> Optional[tuple[Pubkey, int, list[int]]]:
    """(address, lamports, missing chunk offsets) of the authority's buffer closest to holding `elf`."""
    memcmp, size = loader_v3.buffer_filters(authority, len(elf))
    best = None
    for acct in chain.program_accounts(LOADER_V3, memcmp=memcmp, data_size=size):
        b = Buffer.parse(acct.data)
        if b.authority != authority or not loader_v3.resumable(elf, b.data):
            continue
        missing = loader_v3.missing_chunks(elf, b.data, chunk)
        key = (len(missing), str(acct.address))
        if best is None or key < best[0]:
            best = (key, (acct.address, acct.lamports, missing))
    return best[1] if best else None


def deployed(chain: RpcChain, program_id: Pubkey) -> Optional[tuple[Pubkey, ProgramData]]:
    """(ProgramData address, its state) of an upgradeable program; None when no account is there."""
    acct = chain.client.get_account_info(program_id)
    if acct is None:
        return None
    if acct.owner != LOADER_V3:
        raise OpError(f"{program_id} is not a program of the upgradeable loader (its owner is {acct.owner}): "
                      f"it cannot be deployed to or upgraded")
    try:
        pd_address = loader_v3.parse_program(bytes(acct.data))
        data = chain.account_data(pd_address)
        if data is None:
            raise LoaderLayoutError(f"its ProgramData account {pd_address} does not exist")
        return pd_address, ProgramData.parse(data)
    except LoaderLayoutError as e:
        raise OpError(f"{program_id} is not a deployed upgradeable program: {e}") from None


def _refuses_old_sbpf(chain: RpcChain) -> bool:
    """Whether the cluster has SIMD-0500 active (a Feature account with `activated_at` set). A cluster that
    does not expose feature accounts (the localnet) answers at the deploy itself."""
    acct = chain.client.get_account_info(SIMD_0500)
    return acct is not None and acct.owner == FEATURE_PROGRAM and bytes(acct.data)[:1] == b"\x01"


def _check_sbpf(chain: RpcChain, elf: bytes) -> None:
    version = loader_v3.sbpf_version(elf)
    if version < 3 and _refuses_old_sbpf(chain):
        raise OpError(f"this cluster refuses to deploy SBPF v{version} programs (SIMD-0500 is active; nothing was "
                      f"paid): build SBPF v3 with `solmeter contracts build`")


def _explain(e: OpError, elf: bytes, buffer: Pubkey, lamports: int) -> OpError:
    """A refused deploy/upgrade, with what it most likely means and how to recover the buffer's rent."""
    text = str(e)
    version = loader_v3.sbpf_version(elf)
    if "InvalidAccountData" in text and version < 3:
        text += (f" -- the ELF is SBPF v{version}, which this cluster no longer deploys (SIMD-0500, active on "
                 f"devnet and testnet): build SBPF v3 with `solmeter contracts build`")
    text += (f"; buffer {buffer} keeps the upload (a rerun resumes it; `solmeter operator buffers close {buffer}` "
             f"returns its {sol(lamports)} SOL)")
    return OpError(text)


# ----- uploading --------------------------------------------------------------------------------------------

def write_chunk_size(payer: Keypair, budget: ComputeBudget) -> int:
    """The most ELF bytes one Write transaction carries with this budget's instructions (measured on a
    signed transaction: `solana program deploy` computes it the same way)."""
    probe_ixs = [*budget.instructions(1), loader_v3.write(Pubkey.default(), payer.pubkey(), 0,
                                                           bytes(loader_v3.WRITE_PROBE))]
    # any blockhash: only the size matters
    return loader_v3.max_write_chunk(len(bytes(sign(payer, probe_ixs, (), Hash.default()))))


def _fee(budget: ComputeBudget, signatures: int, limit: int) -> int:
    return LAMPORTS_PER_SIGNATURE * signatures + (budget.priority_fee(limit) if budget.unit_price else 0)


def _check_funds(chain: RpcChain, payer: Pubkey, need: int, what: str, cluster_name: str) -> None:
    have = chain.lamports(payer)
    if have >= need:
        return
    hint = (f"`solana airdrop 2 {payer} -u {cluster_name}` or https://faucet.solana.com"
            if cluster_name in ("devnet", "testnet") else "send it SOL")
    raise OpError(f"{payer} has {sol(have)} SOL but {what} needs about {sol(need)} SOL (rent and fees); "
                  f"fund it first: {hint}")


class Deployer:
    """Deploys and upgrades for one payer/authority on one cluster."""

    def __init__(self, chain: RpcChain, payer: Keypair, options: DeployOptions = DeployOptions(), *,
                 say: Callable[[str], None] = lambda m: None, progress: Progress | None = None,
                 cluster_name: str = "custom", sleep: Callable[[float], None] = time.sleep) -> None:
        self.chain = chain
        self.payer = payer
        self.opts = options
        self.say = say
        self.progress = progress or NoProgress()
        self.cluster_name = cluster_name
        self.chunk = write_chunk_size(payer, options.budget)
        self.sleep = sleep
        self.writer = BufferWriter(chain, payer, concurrency=options.concurrency, max_rounds=options.max_rounds,
                                   progress=self.progress, sleep=sleep)

    # --- the parts -------------------------------------------------------------------------------------------

    def _plan_upload(self, elf: bytes) -> tuple[Optional[tuple[Pubkey, int, list[int]]], int]:
        """(the buffer to resume or None, lamports still to pay for the upload: new buffer's rent + fees)."""
        found = find_resumable(self.chain, self.payer.pubkey(), elf, self.chunk)
        total = len(loader_v3.chunk_offsets(len(elf), self.chunk))
        writes = len(found[2]) if found else total
        write_limit = self.opts.budget.unit_limit or WRITE_UNITS_GUESS
        cost = writes * _fee(self.opts.budget, 1, write_limit)
        if found is None:
            cost += self.chain.rent_exempt(loader_v3.buffer_account_len(len(elf))) + _fee(self.opts.budget, 2, 2_000)
        return found, cost

    def _upload(self, elf: bytes, found: Optional[tuple[Pubkey, int, list[int]]]) -> Upload:
        total = len(loader_v3.chunk_offsets(len(elf), self.chunk))
        if found is not None:
            address, lamports, missing = found
            self.say(f"resuming buffer {address}: {total - len(missing)} of {total} chunks already written")
            upload = Upload(address, True, total, len(missing), lamports)
        else:
            kp = Keypair()
            rent = self.chain.rent_exempt(loader_v3.buffer_account_len(len(elf)))
            self.say(f"creating buffer {kp.pubkey()} ({len(elf)} bytes, {total} chunks of {self.chunk})")
            send(self.chain, self.payer, loader_v3.create_buffer(self.payer.pubkey(), kp.pubkey(), self.payer.pubkey(),
                                                                 len(elf), rent),
                 [kp], what="create buffer", budget=self.opts.budget, sleep=self.sleep)
            address, missing = kp.pubkey(), list(loader_v3.chunk_offsets(len(elf), self.chunk))
            upload = Upload(address, False, total, len(missing))
        if missing:
            plan = WritePlan(address, elf, missing, self.chunk, self._write_budget(address, elf, missing[0]))
            upload.stats = self.writer.write(plan)
        data = self.chain.account_data(address)
        if data is None or Buffer.parse(data).data != elf:
            raise OpError(f"buffer {address} does not hold the program after the writes; run the command again "
                          f"to resume it")
        return upload

    def _write_budget(self, buffer: Pubkey, elf: bytes, off: int) -> list:
        budget = self.opts.budget
        if not budget.needs_estimate:
            return budget.instructions()
        ix = loader_v3.write(buffer, self.payer.pubkey(), off, elf[off:off + self.chunk])
        blockhash, _ = self.chain.latest_blockhash()
        sim = self.chain.simulate(sign(self.payer, [*budget.instructions(), ix], (), blockhash))
        if sim.err is not None:
            raise OpError(f"a buffer write would fail: {describe(sim.err, sim.logs, [LOADER_V3])}")
        return budget.instructions(estimated_limit(sim.units))

    # --- the operations --------------------------------------------------------------------------------------

    def deploy(self, program: Keypair, elf: bytes) -> Outcome:
        """Deploy `elf` at `program`'s address (which must be free)."""
        program_id = program.pubkey()
        if self.chain.client.get_account_info(program_id) is not None:
            raise OpError(f"an account already exists at {program_id}: to replace its program use "
                          f"`solmeter operator upgrade`")
        max_len = self.opts.max_len or 2 * len(elf)
        if max_len < len(elf):
            raise OpError(f"--max-len {max_len} is smaller than the program ({len(elf)} bytes)")
        _check_sbpf(self.chain, elf)
        found, upload_cost = self._plan_upload(elf)
        rent = (self.chain.rent_exempt(loader_v3.programdata_account_len(max_len))
                + self.chain.rent_exempt(loader_v3.PROGRAM_ACCOUNT_LEN))
        refund = found[1] if found else self.chain.rent_exempt(loader_v3.buffer_account_len(len(elf)))
        need = max(upload_cost, upload_cost + rent - refund + _fee(self.opts.budget, 2, 200_000))
        _check_funds(self.chain, self.payer.pubkey(), need, f"deploying {len(elf)} bytes", self.cluster_name)
        before = self.chain.lamports(self.payer.pubkey())
        upload = self._upload(elf, found)
        ixs = loader_v3.create_program_and_deploy(self.payer.pubkey(), program_id, upload.buffer, self.payer.pubkey(),
                                                  max_len, self.chain.rent_exempt(loader_v3.PROGRAM_ACCOUNT_LEN))
        try:
            sig = send(self.chain, self.payer, ixs, [program], what="deploy", budget=self.opts.budget,
                       sleep=self.sleep)
        except OpError as e:
            raise _explain(e, elf, upload.buffer, self.chain.lamports(upload.buffer)) from None
        held = self.chain.lamports(program_id) + self.chain.lamports(loader_v3.programdata_address(program_id))
        return Outcome(program_id, sig, upload, before - self.chain.lamports(self.payer.pubkey()), held)

    def upgrade(self, program_id: Pubkey, elf: bytes) -> Optional[Outcome]:
        """Replace the program's bytes with `elf`; None when it already runs exactly these bytes."""
        found_program = deployed(self.chain, program_id)
        if found_program is None:
            raise OpError(f"no program at {program_id} on this cluster: deploy it with `solmeter operator init`")
        pd_address, pd = found_program
        me = self.payer.pubkey()
        if pd.upgrade_authority is None:
            raise OpError(f"program {program_id} is immutable (its upgrade authority was removed): it cannot be "
                          f"upgraded")
        if pd.upgrade_authority != me:
            raise OpError(f"the upgrade authority of program {program_id} is {pd.upgrade_authority}, not {me}: sign "
                          f"with its keypair (--keypair)")
        if pd.elf[:len(elf)] == elf and not pd.elf[len(elf):].strip(b"\0"):
            return None
        if len(elf) > pd.capacity:
            raise OpError(f"the new program ({len(elf)} bytes) does not fit program {program_id}'s data account "
                          f"({pd.capacity} bytes): deploy it under a new program id with a larger --max-len")
        _check_sbpf(self.chain, elf)
        found, upload_cost = self._plan_upload(elf)
        _check_funds(self.chain, me, upload_cost + _fee(self.opts.budget, 1, 200_000), f"uploading {len(elf)} bytes",
                     self.cluster_name)
        before = self.chain.lamports(me)
        upload = self._upload(elf, found)
        try:
            sig = send(self.chain, self.payer, [loader_v3.upgrade(program_id, upload.buffer, me, me)], what="upgrade",
                       budget=self.opts.budget, sleep=self.sleep)
        except OpError as e:
            raise _explain(e, elf, upload.buffer, self.chain.lamports(upload.buffer)) from None
        return Outcome(program_id, sig, upload, before - self.chain.lamports(me), 0)

    def close_buffers(self, addresses: Sequence[Pubkey]) -> list[tuple[str, list[Pubkey], int]]:
        """Close buffers of this authority; (signature, buffers, lamports returned) per transaction."""
        mine = {b.address: b for b in buffers(self.chain, self.payer.pubkey())}
        for a in addresses:
            if a not in mine:
                raise OpError(f"{a} is not a buffer whose authority is {self.payer.pubkey()} (see `solmeter operator "
                              f"buffers list`)")
        out = []
        todo = list(dict.fromkeys(addresses))
        for i in range(0, len(todo), CLOSE_PER_TX):
            group = todo[i:i + CLOSE_PER_TX]
            ixs = [loader_v3.close_buffer(a, self.payer.pubkey(), self.payer.pubkey()) for a in group]
            sig = send(self.chain, self.payer, ixs, what="close buffers", budget=self.opts.budget, sleep=self.sleep)
            out.append((sig, group, sum(mine[a].lamports for a in group)))
        return out
