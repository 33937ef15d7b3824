"""The validator's state machine over LiteSVM: slots and the Clock, a window of recent blockhashes, commitment
levels, execution with the metadata a real validator reports. History (blocks, transaction records, signatures
per address) lives in history.py, the account indexes LiteSVM lacks in indexes.py; the bank keeps both current.

Single-threaded by design: the server calls every method from its event loop thread, so there are no locks.
Durability is the caller's business: every state change is appended to `pending_ops` with a sequence number,
and the server writes them to the ledger (group commit) before telling a client a transaction was processed.
"""
from __future__ import annotations

import bisect
import hashlib
import time
from collections import OrderedDict
from typing import Callable, Optional, Sequence

from solders.account import Account
from solders.clock import Clock
from solders.epoch_schedule import EpochSchedule
from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.instruction import AccountMeta, Instruction
from solders.system_program import CreateAccountParams, TransferParams, create_account, transfer
from solders.sysvar import CLOCK, RENT
from solders.transaction import Transaction, VersionedTransaction
from solders.message import Message
from solders.transaction_metadata import FailedTransactionMetadata

from . import tokens, txmeta
from .features import new_svm
from .genesis import (FAUCET_KEYPAIR, FAUCET_LAMPORTS, LOADER_V2_SPL, LOADER_V3, NATIVE_MINT, NO_AUTHORITY, UPGRADEABLE_SPL, VALIDATOR_STAKE_LAMPORTS,
                      VOTE_PROGRAM, GenesisConfig, native_mint_account, programdata_address, stake_account,
                      upgradeable_program_accounts)
from .history import MAX_RECENT_BLOCKHASHES, Block, History, PerfSample, TxRecord
from .indexes import AccountIndexes, entry_of

__all__ = ["Bank", "Block", "History", "Listener", "PerfSample", "SignatureInvalid", "TxRecord", "TxRejected",
           "first_signature", "COMMITMENT_ALIASES", "MAX_RECENT_BLOCKHASHES"]

# A one-validator cluster roots a slot once a full tower of votes (MAX_LOCKOUT_HISTORY = 31) stacks on it, so
# solana-test-validator's finalized slot trails its confirmed slot by about 32.
DEFAULT_FINALITY_DEPTH = 32
MAX_FINALITY_DEPTH = MAX_RECENT_BLOCKHASHES - 1  # a finalized blockhash must still be a valid one
COMMITMENT_ALIASES = {"recent": "processed", "single": "confirmed", "singleGossip": "confirmed",
                      "root": "finalized", "max": "finalized"}
SYSTEM_PROGRAM = "11111111111111111111111111111111"
ALT_PROGRAM = "AddressLookupTab1e1111111111111111111111111"
# Accounts present from genesis that clients list (getProgramAccounts on a loader, etc.).
_GENESIS_INDEXED = (
    tokens.TOKEN_PROGRAM,
    tokens.TOKEN_2022_PROGRAM,
    "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL",
    "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr",
    "Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo",
    "So11111111111111111111111111111111111111112",
)
_ADVANCE_NONCE_TAG = (4).to_bytes(4, "little")


BPF_LOADER_2 = Pubkey.from_string("BPFLoader2111111111111111111111111111111111")


def first_signature(tx: VersionedTransaction, raw: bytes) -> str:
    """The transaction id, read from the wire bytes (cheaper than tx.signatures, which copies them all). solders'
    base58 (Rust) is ~10 times faster than based58's on 64 bytes, which took ~40 µs a transaction."""
    return str(Signature.from_bytes(raw[1:65])) if raw[0] < 0x80 else str(tx.signatures[0])


class TxRejected(Exception):
    """The transaction did not land. `err` is the TransactionError JSON, `meta` LiteSVM's metadata if it ran."""

    def __init__(self, err: object, logs: Sequence[str] = (), units: Optional[int] = None, return_data=None):
        super().__init__(txmeta.error_text(err))
        self.err = err
        self.logs = list(logs)
        self.units = units
        self.return_data = return_data


class SignatureInvalid(Exception):
    pass


class Listener:
    """What PubSub hears from the bank; all methods are called in the bank's thread."""

    def on_transaction(self, record: TxRecord, accounts: dict[str, Optional[Account]]) -> None: ...
    def on_account(self, pubkey: str, account: Optional[Account]) -> None: ...
    def on_slot(self, slot: int, parent: int, root: int) -> None: ...


class Bank:
    def __init__(
        self,
        genesis: GenesisConfig,
        *,
        per_tx_slots: bool = False,
        finality_depth: Optional[int] = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.genesis = genesis
        self.per_tx_slots = per_tx_slots
        if finality_depth is None:
            finality_depth = 0 if per_tx_slots else DEFAULT_FINALITY_DEPTH
        if not 0 <= finality_depth <= MAX_FINALITY_DEPTH:
            raise ValueError(f"finality depth {finality_depth}: choose 0..{MAX_FINALITY_DEPTH} blocks")
        # How many sealed blocks "finalized" trails "confirmed" by (a real cluster's root trails its tip).
        self.finality_depth = finality_depth
        self.context_slot: Optional[int] = None  # the slot the request being answered reads at (rpc sets it)
        self._now = now
        self.genesis_hash = genesis.fingerprint()
        self.features = genesis.features
        self.svm = (
            new_svm(genesis.features, 1_000_000 * 10**9)
            .with_blockhash_check(False)  # the bank keeps its own 150-blockhash window
            .with_sigverify(False)  # signatures are verified once, by the bank, before execution
            .with_transaction_history(0)  # duplicates are detected against the bank's own history
        )
        self.epoch_schedule = EpochSchedule.without_warmup()
        self.svm.set_epoch_schedule(self.epoch_schedule)
        # LiteSVM.get_account is a Python wrapper around the Rust call: the hot path calls the Rust one directly.
        self._get_account = getattr(self.svm, "_inner", self.svm).get_account
        self.time_offset = 0  # seconds added to wall time by time travel
        self.slot = 0
        self.blockhash = self._derive_blockhash("genesis", 0)
        self.recent_blockhashes: OrderedDict[str, int] = OrderedDict({self.blockhash: 0})
        self._slot_hashes_dirty = True  # SlotHashes sysvar refreshed lazily (see _refresh_slot_hashes)
        self.hist = History(now())
        self.indexes = AccountIndexes()
        self._decimals: dict[str, int] = {}
        self.listeners: list[Listener] = []
        self.pending_ops: list[tuple] = []
        self.op_seq = 0
        self.tx_count = 0
        self._apply_genesis()
        self._set_clock()
        self.close_slot()  # the genesis block: from the start, every commitment level names a slot with a block

    # ----- genesis and restore -------------------------------------------------------------------------------

    def _apply_genesis(self) -> None:
        rent = self.svm.minimum_balance_for_rent_exemption
        self._spl_programs_as_test_validator()
        self.svm.set_account(NATIVE_MINT, native_mint_account(rent))
        for pid, path, authority in self.genesis.all_programs():
            # Upgradeable, as solana-test-validator's --bpf-program (authority none) and --upgradeable-program.
            # Genesis state, not a deployment, so SIMD-0500 (which refuses deploying v0-v2) does not apply:
            # on devnet the programs deployed before it keep running, and so do these.
            if authority is None:  # the billing program: BPF loader 2 (see GenesisConfig.all_programs)
                self.svm.add_program_with_loader(pid, path.read_bytes(), BPF_LOADER_2)
                self._index(str(pid), self.svm.get_account(pid))
                continue
            for key, acct in upgradeable_program_accounts(pid, path.read_bytes(), authority, rent):
                self.svm.set_account(key, acct)
                self._index(str(key), acct)
        for addr, acct in self.genesis.accounts:
            self.svm.set_account(addr, acct)
            self._index(str(addr), acct)
        faucet = FAUCET_KEYPAIR.pubkey()
        if self.svm.get_account(faucet) is None:
            self.svm.set_account(faucet, Account(FAUCET_LAMPORTS, b"", Pubkey.from_string(SYSTEM_PROGRAM)))
        self._create_validator(rent)
        self._index(str(faucet), self.svm.get_account(faucet))
        for p in _GENESIS_INDEXED:
            pk = Pubkey.from_string(p)
            self._index(p, self.svm.get_account(pk))

    def _spl_programs_as_test_validator(self) -> None:
        """LiteSVM ships SPL Token upgradeable and Memo 1.0 under loader 1; solana-test-validator has them (and
        ATA, Memo 3.0) under BPF loader 2. The same ELF, moved to the loader the validator uses."""
        for p in LOADER_V2_SPL:
            pk = Pubkey.from_string(p)
            acct = self.svm.get_account(pk)
            if acct is None or acct.owner == BPF_LOADER_2:
                continue
            elf = bytes(acct.data)
            if acct.owner == LOADER_V3:
                pd = programdata_address(pk)
                elf = bytes(self.svm.get_account(pd).data)[45:]
                self.svm.set_account(pd, Account(0, b"", Pubkey.from_string(SYSTEM_PROGRAM)))
            self.svm.add_program_with_loader(pk, elf, BPF_LOADER_2)
        for p in UPGRADEABLE_SPL:  # LiteSVM leaves these without an authority; test-validator's is "none"
            pd = programdata_address(Pubkey.from_string(p))
            acct = self.svm.get_account(pd)
            if acct is not None and acct.owner == LOADER_V3 and bytes(acct.data)[12] == 0:
                data = bytearray(acct.data)
                data[12:45] = b"\x01" + bytes(NO_AUTHORITY)
                self.svm.set_account(pd, Account(acct.lamports, bytes(data), acct.owner, False, acct.rent_epoch))

    def _create_validator(self, rent) -> None:
        """The node's identity, its vote account (initialized by the vote program itself) and a stake account
        delegated to it, so getVoteAccounts and the Explorer see a staked validator as on test-validator."""
        identity, vote, stake = self.genesis.validator_keys()
        self.identity, self.vote_pubkey = str(identity.pubkey()), str(vote.pubkey())
        if self.svm.get_account(vote.pubkey()) is not None:
            return
        self.svm.set_account(identity.pubkey(), Account(500 * 10**9, b"", Pubkey.from_string(SYSTEM_PROGRAM)))
        space = 3762  # VoteState's size
        init = Instruction(VOTE_PROGRAM, (0).to_bytes(4, "little") + bytes(identity.pubkey()) + bytes(vote.pubkey())
                           + bytes(identity.pubkey()) + bytes([0]),
                           [AccountMeta(vote.pubkey(), False, True), AccountMeta(RENT, False, False),
                            AccountMeta(CLOCK, False, False), AccountMeta(identity.pubkey(), True, False)])
        create = create_account(CreateAccountParams(from_pubkey=FAUCET_KEYPAIR.pubkey(), to_pubkey=vote.pubkey(),
                                                    lamports=rent(space), space=space, owner=VOTE_PROGRAM))
        tx = Transaction.new_signed_with_payer([create, init], FAUCET_KEYPAIR.pubkey(),
                                               [FAUCET_KEYPAIR, vote, identity], Hash.from_string(self.blockhash))
        result = self.svm.send_transaction(VersionedTransaction.from_legacy(tx))
        if isinstance(result, FailedTransactionMetadata):
            raise RuntimeError(f"genesis vote account: {txmeta.error_json(result)} {result.meta().logs()}")
        self.svm.set_account(stake.pubkey(), stake_account(identity.pubkey(), vote.pubkey(),
                                                           VALIDATOR_STAKE_LAMPORTS, rent))
        for key in (identity.pubkey(), vote.pubkey(), stake.pubkey()):
            self._index(str(key), self.svm.get_account(key))

    def restore(self, state) -> None:
        """Loads what the ledger holds (see ledger.LedgerState) over the genesis state."""
        self.pending_ops = []  # the ledger has its own genesis block
        # Data accounts first: LiteSVM compiles a loader-v3 program when its program account is set, and that
        # needs the ProgramData account to be there already.
        for pubkey, acct in sorted(state.accounts, key=lambda kv: kv[1].executable):
            self.svm.set_account(Pubkey.from_string(pubkey), acct)
            self._index(pubkey, acct if acct.lamports > 0 else None)
        self.hist.restore(state.blocks, state.transactions, state.slot, self._now())
        self.tx_count = len(self.history)
        self.time_offset = state.time_offset
        self.slot = state.slot
        self.blockhash = state.blockhash
        self.recent_blockhashes = OrderedDict()
        for s in self.block_slots:
            if s >= self.slot - MAX_RECENT_BLOCKHASHES:
                self.recent_blockhashes[self.blocks[s].blockhash] = s
        self.recent_blockhashes.setdefault(self.blockhash, self.block_slots[-1] if self.block_slots else self.slot)
        self._set_clock()

    # ----- clock, slots, blockhashes -------------------------------------------------------------------------

    def unix_time(self) -> int:
        return int(self._now()) + self.time_offset

    @staticmethod
    def _derive_blockhash(prev: str, slot: int) -> str:
        return str(Hash(hashlib.sha256(f"{prev}:{slot}".encode()).digest()))

    def _set_clock(self) -> None:
        epoch = self.epoch_schedule.get_epoch(self.slot)
        self.svm.set_clock(
            Clock(
                slot=self.slot,
                epoch_start_timestamp=self.unix_time(),
                epoch=epoch,
                leader_schedule_epoch=epoch + 1,
                unix_timestamp=self.unix_time(),
            )
        )

    def close_slot(self, *, next_slot: Optional[int] = None) -> None:
        """Seals the open slot as a block and opens the next one (or `next_slot`, skipping the ones between).

        A sealed block gets its own blockhash, and that is the one transactions of the following slots
        reference (as a bank's last blockhash is): a transaction rebuilt after its twin was confirmed gets a
        new blockhash, as on a real cluster. A jump (time travel) also produces empty blocks just before the
        target, enough for the finalized level to stay on a recent, still valid blockhash."""
        target = self.slot + 1 if next_slot is None else max(next_slot, self.slot + 1)
        fill = range(max(self.slot + 1, target - 1 - self.finality_depth), target)
        self._seal(self.slot, fill.start if fill else target)
        for s in fill:
            self._seal(s, s + 1)
        self.slot = target
        while self.recent_blockhashes:
            oldest, s = next(iter(self.recent_blockhashes.items()))
            if s >= target - MAX_RECENT_BLOCKHASHES:
                break
            self.recent_blockhashes.popitem(last=False)
        self._set_clock()
        self._slot_hashes_dirty = True

    def _seal(self, slot: int, next_open: int) -> None:
        prev_hash = self.blockhash
        parent = self.block_slots[-1] if self.block_slots else slot
        block = Block(slot=slot, parent_slot=parent, blockhash=self._derive_blockhash(prev_hash, slot),
                      previous_blockhash=prev_hash, block_time=self.unix_time(),
                      signatures=self.hist.open_signatures if slot == self.slot else [])
        self.hist.add_block(block)
        if slot == self.slot:
            self.hist.open_signatures = []
        self.hist.sample(block, self._now())
        self.blockhash = block.blockhash
        self.recent_blockhashes[block.blockhash] = slot
        self._op(("block", block, next_open, block.blockhash, self.time_offset))
        for listener in self.listeners:
            listener.on_slot(slot, parent, self.commitment_slot("finalized"))

    # ----- commitment ------------------------------------------------------------------------------------

    def commitment_slot(self, commitment: Optional[str]) -> int:
        """The slot a level answers at: processed is the open slot (no block yet), confirmed the newest sealed
        block, finalized the block `finality_depth` blocks behind it. The RPC's default level is finalized."""
        level = COMMITMENT_ALIASES.get(commitment, commitment) if commitment else "finalized"
        if level == "processed" or not self.block_slots:
            return self.slot
        if level == "confirmed":
            return self.block_slots[-1]
        return self.block_slots[max(0, len(self.block_slots) - 1 - self.finality_depth)]

    def confirmation_of(self, slot: int) -> tuple[str, Optional[int]]:
        """(confirmationStatus, confirmations) of a transaction landed in `slot`, as getSignatureStatuses
        reports them: confirmations counts the sealed blocks from its own on, None once finalized."""
        if slot > self.block_slots[-1]:
            return "processed", 0
        if slot <= self.commitment_slot("finalized"):
            return "finalized", None
        n = len(self.block_slots) - bisect.bisect_left(self.block_slots, slot)
        return "confirmed", n

    def _refresh_slot_hashes(self) -> None:
        """SlotHashes (newest first, at most 512) from the sealed blocks. Only the address-lookup-table program
        reads it (from the sysvar cache, for a table's recent slot), so it is written just before such a
        transaction rather than at every slot."""
        recent = self.block_slots[-512:][::-1]
        self.svm.set_slot_hashes([(s, Hash.from_string(self.blocks[s].blockhash)) for s in recent])
        self._slot_hashes_dirty = False

    def blockhash_slot(self, blockhash: str) -> Optional[int]:
        return self.recent_blockhashes.get(blockhash)

    def last_valid_block_height(self, blockhash_slot: int) -> int:
        return blockhash_slot + MAX_RECENT_BLOCKHASHES

    @property
    def block_height(self) -> int:
        return self.block_height_at(self.slot)

    @staticmethod
    def block_height_at(slot: int) -> int:
        # Skipped slots (time travel) are not subtracted, so height tracks the slot: time travel ages
        # blockhashes (lastValidBlockHeight) as the slots it skips would.
        return slot

    def block_slot_at(self, slot: int) -> int:
        """The newest sealed block at or before `slot` (the processed level's open slot has none yet)."""
        return self.block_slots[bisect.bisect_right(self.block_slots, slot) - 1]

    def time_travel(self, *, slot: Optional[int] = None, epoch: Optional[int] = None,
                    timestamp: Optional[int] = None, seconds: Optional[int] = None) -> None:
        if epoch is not None:
            slot = self.epoch_schedule.get_first_slot_in_epoch(epoch)
        if seconds is not None:
            self.time_offset += seconds
            slot = self.slot + max(1, int(seconds * 1000 // 400)) if slot is None else slot
        if timestamp is not None:
            self.time_offset += timestamp - self.unix_time()
        if slot is not None and slot <= self.slot:
            raise ValueError(f"cannot travel back to slot {slot}: the current slot is {self.slot}")
        if slot is not None:
            self.close_slot(next_slot=slot)
        else:
            self._set_clock()
            self._op(("meta", "time_offset", self.time_offset))

    # ----- accounts and indexes ------------------------------------------------------------------------------

    def get_account(self, pubkey: Pubkey) -> Optional[Account]:
        acct = self.svm.get_account(pubkey)
        if acct is None or (acct.lamports == 0 and not acct.data and not acct.executable):
            return None
        return acct

    def known_accounts(self) -> list[str]:
        """Every live account the indexes know of (LiteSVM itself cannot enumerate its accounts)."""
        return self.indexes.known()

    def decimals_of(self, mint: str) -> Optional[int]:
        dec = self._decimals.get(mint)
        if dec is None:
            acct = self.svm.get_account(Pubkey.from_string(mint))
            if acct is None:
                return None
            m = tokens.parse_mint(str(acct.owner), acct.data)
            if m is None:
                return None
            dec = self._decimals[mint] = m.decimals
        return dec

    def _index(self, pubkey: str, acct: Optional[Account]) -> None:
        self.indexes.set(pubkey, entry_of(acct))

    def set_account(self, pubkey: Pubkey, acct: Account) -> None:
        """Cheat code: overwrite an account outside any transaction (durable like everything else)."""
        self.svm.set_account(pubkey, acct)
        key = str(pubkey)
        self._index(key, acct)
        if str(acct.owner) in tokens.TOKEN_PROGRAMS:
            self._decimals.pop(key, None)
        self._op(("account", key, acct))
        for listener in self.listeners:
            listener.on_account(key, acct)

    # ----- transactions --------------------------------------------------------------------------------------

    def _op(self, op: tuple) -> int:
        self.op_seq += 1
        self.pending_ops.append(op)
        return self.op_seq

    def resolve_keys(self, msg, account_keys=None) -> tuple[list[str], list[str], list[str]]:
        static = [str(k) for k in (account_keys if account_keys is not None else msg.account_keys)]
        if isinstance(msg, Message) or not msg.address_table_lookups:
            return static, [], []
        writable, readonly = [], []
        for lookup in msg.address_table_lookups:
            table = self.svm.get_account(lookup.account_key)
            if table is None:
                raise TxRejected("AddressLookupTableNotFound")
            data = bytes(table.data)
            addrs = [str(Pubkey.from_bytes(data[i : i + 32])) for i in range(56, len(data) - 31, 32)]
            try:
                writable += [addrs[i] for i in bytes(lookup.writable_indexes)]
                readonly += [addrs[i] for i in bytes(lookup.readonly_indexes)]
            except IndexError:
                raise TxRejected("InvalidAddressLookupTableIndex") from None
        return static, writable, readonly

    def check_blockhash(self, msg, instructions=None, account_keys=None) -> bool:
        if str(msg.recent_blockhash) in self.recent_blockhashes:
            return True
        # Durable nonce transactions carry the nonce value instead: first instruction AdvanceNonceAccount.
        instructions = msg.instructions if instructions is None else instructions
        if instructions:
            ix = instructions[0]
            keys = msg.account_keys if account_keys is None else account_keys
            if ix.program_id_index < len(keys) and str(keys[ix.program_id_index]) == SYSTEM_PROGRAM:
                if bytes(ix.data[:4]) == _ADVANCE_NONCE_TAG:
                    return True
        return False

    def verify_signatures(self, tx: VersionedTransaction, raw: Optional[bytes] = None) -> None:
        """ed25519 over the message bytes as sent (slicing the wire bytes spares re-serializing the message)."""
        if raw is None or raw[0] >= 0x80:
            if not all(tx.verify_with_results()):
                raise SignatureInvalid()
            return
        n = raw[0]
        start = 1 + 64 * n
        message = raw[start:]
        # The signers are the message's first n static keys, read from the wire as the deserializer does: an
        # optional version byte (high bit set), the 3-byte header, the key count (one byte below 128), keys.
        off = start + (1 if message and message[0] & 0x80 else 0) + 3
        count = raw[off] if off < len(raw) else 0
        if count & 0x80:  # 128 keys or more: a multi-byte count, leave the parsing to solders
            keys = tx.message.account_keys
            if len(keys) < n:
                raise SignatureInvalid()
            signers = [bytes(k) for k in keys[:n]]
        else:
            off += 1
            if count < n or off + 32 * count > len(raw):
                raise SignatureInvalid()
            signers = [raw[off + 32 * i : off + 32 * i + 32] for i in range(n)]
        for i in range(n):
            if not Signature.from_bytes(raw[1 + 64 * i : 65 + 64 * i]).verify(Pubkey.from_bytes(signers[i]), message):
                raise SignatureInvalid()

    def process(self, tx: VersionedTransaction, raw: bytes, *, preflight: bool,
                sig: Optional[str] = None) -> Optional[TxRecord]:
        """Executes a sanitized, signature-checked transaction.

        Returns the record if it landed (possibly with an error, when preflight is off). Raises TxRejected if it
        did not land and preflight was requested; returns None if it was dropped without preflight, as a real
        validator silently drops a transaction it cannot process.
        """
        # solders getters copy out of Rust on every access: read each part of the message once.
        sig = sig or first_signature(tx, raw)
        if sig in self.history:
            if preflight:
                raise TxRejected("AlreadyProcessed")
            return None
        msg = tx.message
        account_keys = msg.account_keys
        instructions = msg.instructions
        if not self.check_blockhash(msg, instructions, account_keys):
            if preflight:
                raise TxRejected("BlockhashNotFound")
            return None
        header = msg.header
        static, lw, lr = self.resolve_keys(msg, account_keys)
        if self._slot_hashes_dirty and ALT_PROGRAM in static:
            self._refresh_slot_hashes()
        keys = static + lw + lr if lw or lr else static
        writable = txmeta.writable_flags_cached(header, len(static), len(lw), len(lr))
        pubkeys = [Pubkey.from_string(k) for k in keys] if lw or lr else account_keys
        get = self._get_account
        pre = [get(pk) for pk in pubkeys]
        result = self.svm.send_transaction(tx)
        failed = isinstance(result, FailedTransactionMetadata)
        meta_obj = result.meta() if failed else result
        if failed:
            err = txmeta.error_json(result)
            payer_after = get(pubkeys[0])
            charged = pre[0] is not None and (payer_after is None or payer_after.lamports != pre[0].lamports)
            if not charged or preflight:
                if charged:
                    self.svm.set_account(pubkeys[0], pre[0])  # preflight would never have let it land
                if preflight:
                    raise TxRejected(
                        err, meta_obj.logs(), meta_obj.compute_units_consumed(), txmeta.return_data_json(meta_obj)
                    )
                return None
        else:
            err = None
        # One pass over the pre-state, then one over the writable keys' post-state (read-only accounts cannot
        # change): balances, token balances and index entries all come from the same reads.
        decimals_of = self.decimals_of
        token_keys = txmeta.TOKEN_PROGRAM_KEYS
        pre_lamports = [0] * len(pre)
        pre_tok = []
        for i, a in enumerate(pre):
            if a is not None:
                pre_lamports[i] = a.lamports
                owner = a.owner
                if owner in token_keys:
                    row = txmeta.token_row(i, a.data, txmeta.key_str(owner), decimals_of)
                    if row is not None:
                        pre_tok.append(row)
        post_lamports = list(pre_lamports)
        post_tok = [r for r in pre_tok if not writable[r[0]]]
        changed: dict[str, Optional[Account]] = {}
        indexes = self.indexes
        index_set = indexes.set
        for i, w in enumerate(writable):
            k = keys[i]
            if not w:
                if k not in indexes.entries and pre[i] is not None:
                    self._index(k, pre[i])
                continue
            a = get(pubkeys[i])
            if a is None or a.lamports == 0:
                post_lamports[i] = 0
                changed[k] = None
                index_set(k, None)
                continue
            post_lamports[i] = a.lamports
            owner = a.owner
            owner_s = txmeta.key_str(owner)
            if owner in token_keys:
                row, index_keys = txmeta.token_row_and_index_keys(i, a.data, owner_s, decimals_of)
                if row is not None:
                    post_tok.append(row)
                entry = (owner_s,) + index_keys
            else:
                entry = (owner_s, None, None, None)
            changed[k] = a
            index_set(k, entry)
        post_tok.sort()
        inner = meta_obj.inner_instructions()
        core = {
            "err": err,
            "fee": meta_obj.fee(),  # what the runtime charged: signatures, precompile signatures, priority fee
            "pre": pre_lamports,
            "post": post_lamports,
            "preTok": pre_tok,
            "postTok": post_tok,
            "logs": meta_obj.logs(),
            "inner": txmeta.inner_instructions_json(inner) if any(inner) else [],
            "cu": meta_obj.compute_units_consumed(),
            "rd": txmeta.return_data_json(meta_obj),
        }
        record = TxRecord(sig, self.slot, len(self.hist.open_signatures), int(self._now()) + self.time_offset, raw, keys,
                          lw, lr, core, "legacy" if isinstance(msg, Message) else 0)
        self.hist.remember(record)
        self.hist.open_signatures.append(sig)
        self.tx_count += 1
        self._op(("tx", record, changed))
        for listener in self.listeners:
            listener.on_transaction(record, changed)
        if self.per_tx_slots:
            self.close_slot()
        return record

    def simulate(self, tx: VersionedTransaction):
        """LiteSVM's simulation (no state change) plus the resolved keys; errors come back in the result."""
        return self.svm.simulate_transaction(tx)

    def airdrop(self, to: Pubkey, lamports: int) -> TxRecord:
        """An ordinary faucet transfer (one System transfer, nothing else, as solana-test-validator's faucet
        sends), so the airdrop has a signature, history and metadata like any other. Two equal airdrops in one
        slot would be the same transaction: the later one takes an older blockhash of the window instead."""
        faucet = FAUCET_KEYPAIR
        ix = transfer(TransferParams(from_pubkey=faucet.pubkey(), to_pubkey=to, lamports=lamports))
        for blockhash in reversed(self.recent_blockhashes):
            legacy = Transaction.new_signed_with_payer([ix], faucet.pubkey(), [faucet], Hash.from_string(blockhash))
            if str(legacy.signatures[0]) not in self.history:
                break
        else:
            raise TxRejected("AlreadyProcessed")  # as many equal airdrops as valid blockhashes, all in one slot
        vtx = VersionedTransaction.from_legacy(legacy)
        rec = self.process(vtx, bytes(vtx), preflight=True)
        assert rec is not None
        return rec

    # ----- history and indexes, as the RPC and PubSub read them ----------------------------------------------

    @property
    def blocks(self) -> dict[int, Block]:
        return self.hist.blocks

    @property
    def block_slots(self) -> list[int]:
        return self.hist.block_slots

    @property
    def open_signatures(self) -> list[str]:
        return self.hist.open_signatures

    @property
    def history(self) -> dict[str, TxRecord]:
        return self.hist.transactions

    @property
    def by_address(self) -> dict[str, list[tuple[int, int, str]]]:
        return self.hist.by_address

    @property
    def perf_samples(self) -> list[PerfSample]:
        return self.hist.perf_samples

    @property
    def owner_index(self) -> dict[str, set[str]]:
        return self.indexes.owner

    @property
    def token_owner_index(self) -> dict[str, set[str]]:
        return self.indexes.token_owner

    @property
    def token_delegate_index(self) -> dict[str, set[str]]:
        return self.indexes.token_delegate

    @property
    def token_mint_index(self) -> dict[str, set[str]]:
        return self.indexes.token_mint

    def signatures_for(self, address: str, *, before: Optional[str], until: Optional[str], limit: int,
                       max_slot: Optional[int] = None) -> list[TxRecord]:
        return self.hist.signatures_for(address, before=before, until=until, limit=limit, max_slot=max_slot)

    def block_prioritization_fees(self, slot: int) -> tuple[int, dict[str, int]]:
        return self.hist.block_prioritization_fees(slot)
