"""publish_price_book (issue 15): the admin commits each price book version by its sha256 in a PriceBook
PDA ["price_book", version]; versions strictly increase (Config.price_book_version); nobody else can
publish, and a published version can never be replaced."""
import hashlib

from contracts import pda
from contracts.client.instructions import SYSTEM_PROGRAM_ID
from contracts.testing import with_account

from .conftest import unchanged
from .test_attacks_pda import non_canonical


def _publish(d, version, data=b"book", signer=None):
    signer = signer or d.admin
    return d.h.send([d.program.publish_price_book(admin=signer.pubkey(), version=version,
                                                  sha256=hashlib.sha256(data).digest())], [signer])


def test_admin_publishes_increasing_versions(d):
    r = _publish(d, 1, b"v1")
    assert r.ok, r.logs[-3:]
    ev = r.event("PriceBookPublished")
    assert (ev.version, bytes(ev.sha256), ev.published_at, ev.admin) == (1, hashlib.sha256(b"v1").digest(),
                                                                          d.h.now(), d.admin.pubkey())
    kind, book = d.h.account(d.program.price_book_address(1))
    assert kind == "PriceBook" and (book.version, bytes(book.sha256)) == (1, hashlib.sha256(b"v1").digest())
    assert d.h.config().price_book_version == 1
    # versions may skip, never go back or repeat
    assert _publish(d, 5, b"v5").ok and d.h.config().price_book_version == 5
    for v in (5, 4, 0):
        before = d.h.snapshot([d.program.config_address(), d.program.price_book_address(v)])
        r = _publish(d, v, b"other")
        assert not r.ok and r.error.name == "PriceBookVersionNotIncreasing", v
        unchanged(d, list(before), before)
    assert bytes(d.h.account(d.program.price_book_address(1))[1].sha256) == hashlib.sha256(b"v1").digest()


def test_only_the_admin_publishes(d):
    stranger = d.h.new_wallet()
    r = _publish(d, 1, signer=stranger)
    assert not r.ok and r.error.name == "Unauthorized"
    ix = with_account(d.program.publish_price_book(admin=d.admin.pubkey(), version=1, sha256=bytes(32)), 0,
                      d.admin.pubkey(), signer=False)
    r = d.h.send([ix], [d.h.payer])
    assert not r.ok and r.error.name == "MissingSignature"
    assert not d.h.exists(d.program.price_book_address(1)) and d.h.config().price_book_version == 0


def test_price_book_address_is_derived_and_compared(d):
    from solders.keypair import Keypair

    prog = d.program
    alt = non_canonical(pda.seeds_price_book(1), d.h.program_id)
    fake = Keypair()
    for addr, bump, signers in ((alt[0], alt[1], [d.admin]), (fake.pubkey(), pda.price_book(d.h.program_id, 1)[1],
                                                             [d.admin, fake])):
        ix = prog.build("publish_price_book",
                        dict(admin=d.admin.pubkey(), config=prog.config_address(), price_book=addr,
                             system_program=SYSTEM_PROGRAM_ID),
                        dict(version=1, sha256=[0] * 32, price_book_bump=bump))
        if addr == fake.pubkey():
            ix = with_account(ix, 2, addr, signer=True)
        r = d.h.send([ix], signers)
        assert not r.ok and r.error.name == "WrongPda", r.logs[-3:]
        assert not d.h.exists(addr)
    assert d.h.config().price_book_version == 0
