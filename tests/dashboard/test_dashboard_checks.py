"""The dashboard's checks outside the browser (fast; the mutants of tests/mutation/mutants_dashboard.py
are killed here): transactions the meter agrees to send, the read rule per view, JSON-only POSTs."""
import asyncio
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import Transaction
from starlette.requests import Request

from dashboard import access
from dashboard.routes import _json_body
from dashboard.siws import SiwsError
from dashboard.wallet_tx import PreparedTransactions, WalletTxError

PROGRAM = Pubkey.from_string("4yCvCumrTMguA31fHcDAUieoyUsAtQwMMgyp1LPCkCnq")
BLOCKHASH = Hash.new_unique()


def ix_for(wallet: Pubkey) -> Instruction:
    return Instruction(PROGRAM, b"\x01contest", [AccountMeta(wallet, True, True)])


def wallet_signed(kp: Keypair, wire: bytes) -> bytes:
    tx = Transaction.from_bytes(wire)
    return bytes(Transaction.populate(tx.message, [kp.sign_message(bytes(tx.message))]))


def test_a_prepared_transaction_signed_by_its_wallet_is_taken_once():
    kp = Keypair()
    txs = PreparedTransactions()
    wire = txs.prepare(str(kp.pubkey()), [ix_for(kp.pubkey())], BLOCKHASH, "contest slash 0")
    tx, prepared = txs.take(str(kp.pubkey()), wallet_signed(kp, wire))
    assert prepared.what == "contest slash 0" and tx.signatures[0] != Transaction.from_bytes(wire).signatures[0]
    with pytest.raises(WalletTxError) as e:
        txs.take(str(kp.pubkey()), wallet_signed(kp, wire))
    assert e.value.status in (403, 409)


def test_a_transaction_the_meter_did_not_prepare_is_refused():
    kp = Keypair()
    txs = PreparedTransactions()
    txs.prepare(str(kp.pubkey()), [ix_for(kp.pubkey())], BLOCKHASH, "contest slash 0")
    other = Message.new_with_blockhash([Instruction(PROGRAM, b"\x02drain", [AccountMeta(kp.pubkey(), True, True)])],
                                       kp.pubkey(), BLOCKHASH)
    with pytest.raises(WalletTxError, match="not a transaction this dashboard prepared") as e:
        txs.take(str(kp.pubkey()), bytes(Transaction([kp], other, BLOCKHASH)))
    assert e.value.status == 403


def test_a_transaction_prepared_for_another_wallet_is_refused():
    a, b = Keypair(), Keypair()
    txs = PreparedTransactions()
    wire = txs.prepare(str(a.pubkey()), [ix_for(a.pubkey())], BLOCKHASH, "contest slash 0")
    with pytest.raises(WalletTxError, match="not a transaction this dashboard prepared"):
        txs.take(str(b.pubkey()), wallet_signed(a, wire))


def test_an_unsigned_or_wrongly_signed_transaction_is_refused():
    kp = Keypair()
    txs = PreparedTransactions()
    wire = txs.prepare(str(kp.pubkey()), [ix_for(kp.pubkey())], BLOCKHASH, "contest slash 0")
    with pytest.raises(WalletTxError, match="not signed by"):
        txs.take(str(kp.pubkey()), wire)  # the signature slot still zero
    with pytest.raises(WalletTxError, match="not signed by"):
        txs.take(str(kp.pubkey()), wallet_signed(Keypair(), wire))
    with pytest.raises(WalletTxError, match="not a serialized"):
        txs.take(str(kp.pubkey()), b"\x01garbage")
    txs.take(str(kp.pubkey()), wallet_signed(kp, wire))  # still takeable: the refusals spent nothing


@pytest.fixture
def meter_db(tmp_path):
    from db import load_models, make_engine, migrate
    from metering.registry import add_provider

    eng = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    load_models()
    migrate(eng)
    provider = str(Keypair().pubkey())
    add_provider(eng, provider, 0)
    return eng, provider


def test_each_view_is_read_by_its_party_and_the_operator_only(meter_db):
    eng, provider = meter_db
    admin, customer, other = (str(Keypair().pubkey()) for _ in range(3))
    state = SimpleNamespace(read_admins=frozenset({admin}))
    with eng.connect() as conn:
        def why(wallet, view, subject=None):
            r = access.refusal(state, conn, wallet, view, subject)
            return None if r is None else r[0]

        assert why(None, "customer", customer) == 401
        assert why(customer, "customer", customer) is None
        assert why(other, "customer", customer) == 403
        assert why(provider, "customer", customer) == 403  # it serves nobody here: not even the status
        assert why(provider, "provider", provider) is None
        assert why(other, "provider", provider) == 403
        assert why(customer, "operator") == 403 and why(provider, "operator") == 403
        assert why(admin, "operator") is None and why(admin, "customer", customer) is None
        assert why(admin, "provider", provider) is None


def test_a_customer_view_needs_the_customers_status_receipts_and_usage():
    kinds = {r.kind.value for r in access.view_resources("customer", "C")}
    assert kinds == {"customer status", "receipts", "usage"}
    assert {r.customer for r in access.view_resources("customer", "C")} == {"C"}
    assert {r.provider for r in access.view_resources("provider", "P")} == {"P"}
    assert [r.kind.value for r in access.view_resources("operator", None)] == ["operations"]


def _request(content_type: str, body: bytes) -> Request:
    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    return Request({"type": "http", "method": "POST", "path": "/", "headers": [(b"content-type", content_type.encode())]},
                   receive)


def parsed(req: Request):
    """_json_body run on an event loop of its own (Playwright's sync API may hold this thread's)."""
    with ThreadPoolExecutor(1) as ex:
        return ex.submit(asyncio.run, _json_body(req)).result()


def test_posts_take_a_json_object_only():
    assert parsed(_request("application/json", b'{"a": 1}')) == {"a": 1}
    for ctype, body, field in (("application/x-www-form-urlencoded", b"a=1", "content-type"),
                               ("text/plain", b'{"a": 1}', "content-type"),
                               ("application/json", b"[1]", "body"), ("application/json", b"{", "body")):
        with pytest.raises(SiwsError) as e:
            parsed(_request(ctype, body))
        assert e.value.field == field


def test_the_lease_burn_counts_leases_in_force_at_their_full_rate():
    from fractions import Fraction

    from contracts.lease import GpuResource, Lease
    from metering.status import lease_burn
    from metering.rollup.pricing import DEFAULT_PRICE_BOOK

    book = DEFAULT_PRICE_BOOK
    books = [(-(1 << 63), book)]  # what metering.leases.price_books reads with no version published
    c, p = Keypair(), Keypair()
    h100 = book.price("gpu", "H100")

    def row(lid, start, expiry, count=2, revoked=None, version=book.version):
        lease = Lease(PROGRAM, lid, c.pubkey(), p.pubkey(), version, 10**12, start, expiry, b"\0" * 16,
                      GpuResource("H100", count))
        return SimpleNamespace(encoding=lease.encode(), revoked_at_ms=revoked)

    now = 10_000_000
    per_hour = Fraction(2 * h100.unit_price * 3_600_000, h100.per)
    assert lease_burn([row("a", now - 60_000, now + 3_600_000)], books, now) == per_hour  # started a minute ago
    assert lease_burn([row("b", now + 1, now + 3_600_000), row("c", 0, now),               # not yet / expired
                       row("d", 0, now + 10, revoked=now),                                  # revoked
                       row("e", 0, now + 10, version=book.version + 1)], books, now) == 0   # another price book
