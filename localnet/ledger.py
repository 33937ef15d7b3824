"""The ledger directory: a SQLite database in WAL mode with synchronous=FULL.

The bank appends operations (transaction + post-state of its writable accounts, sealed block, cheat-code
account write, clock offset); `write` commits a batch of them in one transaction, so many transactions share
one fsync (group commit) and a batch is all-or-nothing. A transaction is reported to its client only after the
batch holding it is committed, so whatever a client was told survives kill -9. `load` rebuilds the state.
"""
from __future__ import annotations

import fcntl
import json
import shutil
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import msgspec
from solders.account import Account
from solders.pubkey import Pubkey

from .history import Block, TxRecord

SCHEMA_VERSION = 1
_dumps = json.JSONEncoder(separators=(",", ":")).encode
_fast_dumps = msgspec.json.encode  # the per-transaction doc: the same JSON, written several times faster
_SYSTEM = "11111111111111111111111111111111"
DB_NAME = "ledger.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
    pubkey TEXT PRIMARY KEY, lamports INTEGER NOT NULL, owner TEXT NOT NULL, executable INTEGER NOT NULL,
    rent_epoch TEXT NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS transactions (
    signature TEXT PRIMARY KEY, slot INTEGER NOT NULL, idx INTEGER NOT NULL, block_time INTEGER NOT NULL,
    raw BLOB NOT NULL, doc TEXT NOT NULL, version TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (
    slot INTEGER PRIMARY KEY, parent_slot INTEGER NOT NULL, blockhash TEXT NOT NULL,
    previous_blockhash TEXT NOT NULL, block_time INTEGER NOT NULL, signatures TEXT NOT NULL);
"""


class LedgerError(RuntimeError):
    pass


LOCK_NAME = "ledger.lock"


def _lock(directory: Path):
    """An exclusive flock on the ledger directory: two nodes on one ledger would fork its history. The OS
    drops the lock when the process dies, kill -9 included."""
    f = open(directory / LOCK_NAME, "a+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.close()
        raise LedgerError(f"ledger {directory} is in use by another running localnet") from None
    return f


@dataclass
class LedgerState:
    genesis_hash: Optional[str] = None
    features: Optional[str] = None  # the feature set it was created with (None: a ledger older than --features)
    slot: int = 0
    blockhash: str = ""
    time_offset: int = 0
    accounts: list[tuple[str, Account]] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    transactions: list[TxRecord] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.genesis_hash is None


class Ledger:
    """Owns one SQLite connection, used from whichever single thread calls write (the server's writer)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lockfile = _lock(self.directory)
        self.path = self.directory / DB_NAME
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._conn.close()
        self._lockfile.close()  # releases the flock

    @staticmethod
    def reset(directory: Path) -> None:
        """Deletes the ledger so the next start begins at genesis (refused while a node has it open)."""
        directory = Path(directory)
        if not directory.exists():
            return
        _lock(directory).close()
        for name in (DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm", LOCK_NAME):
            (directory / name).unlink(missing_ok=True)
        if directory.exists() and not any(directory.iterdir()):
            shutil.rmtree(directory)

    def load(self) -> LedgerState:
        c = self._conn
        meta = dict(c.execute("SELECT key, value FROM meta"))
        st = LedgerState()
        if "genesis_hash" not in meta:
            return st
        if int(meta.get("schema", "0")) != SCHEMA_VERSION:
            raise LedgerError(f"ledger {self.path} has schema {meta.get('schema')}, expected {SCHEMA_VERSION}")
        st.genesis_hash = meta["genesis_hash"]
        st.features = meta.get("features")
        st.slot = int(meta["slot"])
        st.blockhash = meta["blockhash"]
        st.time_offset = int(meta.get("time_offset", "0"))
        for pubkey, lamports, owner, executable, rent_epoch, data in c.execute(
            "SELECT pubkey, lamports, owner, executable, rent_epoch, data FROM accounts"
        ):
            st.accounts.append(
                (pubkey, Account(lamports, bytes(data), Pubkey.from_string(owner), bool(executable), int(rent_epoch)))
            )
        for slot, parent, bh, prev, bt, sigs in c.execute(
            "SELECT slot, parent_slot, blockhash, previous_blockhash, block_time, signatures FROM blocks ORDER BY slot"
        ):
            st.blocks.append(Block(slot, parent, bh, prev, bt, json.loads(sigs)))
        for sig, slot, idx, bt, raw, doc, version in c.execute(
            "SELECT signature, slot, idx, block_time, raw, doc, version FROM transactions ORDER BY slot, idx"
        ):
            keys, lw, lr, core = json.loads(doc)
            st.transactions.append(
                TxRecord(sig, slot, idx, bt, bytes(raw), keys, lw, lr, core,
                         "legacy" if version == "legacy" else int(version))
            )
        return st

    def init_genesis(self, genesis_hash: str, slot: int, blockhash: str, features: str) -> None:
        with self._lock:
            c = self._conn
            c.execute("BEGIN IMMEDIATE")
            try:
                for k, v in (("schema", SCHEMA_VERSION), ("genesis_hash", genesis_hash), ("slot", slot),
                             ("blockhash", blockhash), ("time_offset", 0), ("features", features)):
                    c.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (k, str(v)))
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise

    def write(self, ops: list[tuple]) -> None:
        """Commits a batch of bank operations atomically (one fsync)."""
        if not ops:
            return
        accounts: dict[str, Optional[Account]] = {}
        txs, blocks, meta = [], [], {}
        for op in ops:
            kind = op[0]
            if kind == "tx":
                rec: TxRecord = op[1]
                doc = _fast_dumps([rec.account_keys, rec.loaded_writable, rec.loaded_readonly, rec.core]).decode()
                txs.append((rec.signature, rec.slot, rec.index, rec.block_time, rec.raw, doc, str(rec.version)))
                accounts.update(op[2])  # {pubkey: post-state or None when closed}
            elif kind == "account":
                accounts[op[1]] = op[2]
            elif kind == "block":
                b: Block = op[1]
                blocks.append((b.slot, b.parent_slot, b.blockhash, b.previous_blockhash, b.block_time,
                               json.dumps(b.signatures)))
                meta["slot"] = str(op[2])
                meta["blockhash"] = op[3]
                meta["time_offset"] = str(op[4])
            elif kind == "meta":
                meta[op[1]] = str(op[2])
        # A closed account is kept as a zero-lamport tombstone so a restart does not resurrect a genesis copy.
        upserts = [
            (k, a.lamports, str(a.owner), int(a.executable), str(a.rent_epoch), bytes(a.data))
            if a is not None
            else (k, 0, _SYSTEM, 0, "0", b"")
            for k, a in accounts.items()
        ]
        with self._lock:
            c = self._conn
            c.execute("BEGIN IMMEDIATE")
            try:
                if txs:
                    c.executemany("INSERT OR REPLACE INTO transactions VALUES (?,?,?,?,?,?,?)", txs)
                if upserts:
                    c.executemany("INSERT OR REPLACE INTO accounts VALUES (?,?,?,?,?,?)", upserts)
                if blocks:
                    c.executemany("INSERT OR REPLACE INTO blocks VALUES (?,?,?,?,?,?)", blocks)
                for k, v in meta.items():
                    c.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (k, v))
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise
