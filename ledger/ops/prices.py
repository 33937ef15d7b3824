"""A new price book version, on the record: committed on-chain by the sha256 of its file (publish_price_book,
signed by the admin) BEFORE the meter prices with it, so that every receipt it prices can be recomputed by
an auditor against the chain. `solmeter operator prices set` runs `publish` (chain first, then the meter's
database); a rerun after a failure in between finds the chain part done and finishes the rest."""
from __future__ import annotations

from dataclasses import dataclass

from solders.keypair import Keypair
from sqlalchemy.engine import Engine

from ledger.engine.chain import RpcChain
from metering.prices import list_price_books, publish_price_book
from metering.rollup.pricing import PriceBook

from .deployment import Deployment, read_account, read_config
from .tx import OpError, send


@dataclass(frozen=True)
class Published:
    version: int
    sha256: str
    signature: str | None  # the publish_price_book transaction; None when the chain held this file already
    stored: bool           # False when the meter's database held this version already


def committed_on_chain(chain: RpcChain, dep: Deployment, book: PriceBook) -> bool:
    """Whether this version is committed with this very file; OpError when it is committed with another."""
    onchain = read_account(chain, "PriceBook", dep.program.price_book_address(book.version))
    if onchain is None:
        return False
    if bytes(onchain.sha256) == book.sha256():
        return True
    raise OpError(f"price book v{book.version} is committed on-chain already with another file (sha256 "
                  f"{bytes(onchain.sha256).hex()}, this file's is {book.sha256().hex()}): committed versions never "
                  f"change; give this book a higher version")


def commit_on_chain(chain: RpcChain, dep: Deployment, admin: Keypair, book: PriceBook) -> str | None:
    """Commit `book` by the sha256 of its file. Returns the signature, or None when this version is committed
    already with the same file. Refuses a version committed with another file, one not above the chain's
    latest, and a keypair that is not the program's admin (before paying anything)."""
    program = dep.program
    digest = book.sha256()
    if committed_on_chain(chain, dep, book):
        return None
    cfg = read_config(chain, program)
    if str(cfg.admin) != str(admin.pubkey()):
        raise OpError(f"keypair {admin.pubkey()} is not the program's admin ({cfg.admin}): only the admin commits "
                      f"price books (pass -k ADMIN.json)")
    latest = int(cfg.price_book_version)
    if book.version <= latest:
        raise OpError(f"price book version {book.version} is not above the latest committed on-chain, {latest}")
    return send(chain, admin, [program.publish_price_book(admin=admin.pubkey(), version=book.version,
                                                          sha256=digest)], what="publish_price_book")


def publish(chain: RpcChain, dep: Deployment, admin: Keypair, engine: Engine, book: PriceBook,
            effective_from_ms: int, now_ms: int) -> Published:
    """On-chain first, then the meter's database: the meter never prices with a book the chain lacks. What the
    database would refuse is refused before anything is sent."""
    committed_on_chain(chain, dep, book)  # a conflict with the chain is named first
    with engine.connect() as conn:
        stored = {b["version"]: b["prices"] for b in list_price_books(conn)}
    if book.version in stored and PriceBook.from_json(stored[book.version]) != book:
        raise OpError(f"the meter's database holds another price book v{book.version} (set with `solmeter meter "
                      f"prices set`, off-chain only): give this book a higher version")
    if book.version not in stored and stored and book.version < max(stored):
        raise OpError(f"price book version {book.version} is not above the meter's latest, {max(stored)}")
    sig = commit_on_chain(chain, dep, admin, book)
    if book.version in stored:
        return Published(book.version, book.sha256().hex(), sig, False)
    publish_price_book(engine, book, effective_from_ms, now_ms)
    return Published(book.version, book.sha256().hex(), sig, True)
