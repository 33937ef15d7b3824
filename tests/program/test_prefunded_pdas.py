"""Anyone can send lamports to an address before the program creates an account there. The program
still creates its accounts at such pre-funded PDAs (top-up, Allocate, Assign), so nobody can block the
next batch, a channel, an epoch or a registration for the price of an empty account."""
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from contracts.testing import post_batch, receipt_chain, settle

SYSTEM = Pubkey.from_string("11111111111111111111111111111111")
# The smallest gift the runtime lets land on a new address: rent exemption of an empty account (a smaller
# one fails with InsufficientFundsForRent). Still below the rent of any program account, so the program tops up.
EMPTY_ACCOUNT_RENT = 890_880


def _gift(d, to, lamports=EMPTY_ACCOUNT_RENT):
    ix = Instruction(SYSTEM, (2).to_bytes(4, "little") + lamports.to_bytes(8, "little"),
                     [AccountMeta(d.h.payer.pubkey(), True, True), AccountMeta(to, False, True)])
    assert d.h.send([ix], [d.h.payer]).ok


def test_prefunded_batch_channel_epoch_and_escrow_are_still_created(d):
    kp = d.h.new_wallet()
    prog = d.program
    _gift(d, prog.customer_address(kp.pubkey()))
    _gift(d, prog.escrow_address(kp.pubkey()), 10**9)  # more than rent: kept by the account
    r = d.h.send([prog.register_customer(wallet=kp.pubkey(), mint=d.mint)], [kp])
    assert r.ok, r.logs
    d.h.track(d.mint, prog.escrow_address(kp.pubkey()))
    ta = d.fund(kp, 1_000_000)
    assert d.h.send([prog.deposit(wallet=kp.pubkey(), source=ta, mint=d.mint, amount=1_000_000)], [kp]).ok
    p = d.provider(stake=d.params["min_stake"])
    for addr in (prog.batch_address(0), prog.channel_address(kp.pubkey(), p.pubkey), prog.epoch_address(0),
                 prog.provider_epoch_address(p.pubkey, 0)):
        _gift(d, addr)
    r = d.h.send([prog.open_channel(wallet=kp.pubkey(), provider_wallet=p.pubkey)], [kp])  # the customer opens it
    assert r.ok, r.logs
    rs = receipt_chain(d, kp.pubkey(), p.pubkey, [1_000])
    idx, tree, r = post_batch(d, rs)
    assert r.ok, r.logs
    r = settle(d, idx, tree, 0, rs[0], p.token_account)
    assert r.ok, r.logs
    assert d.h.account(prog.channel_address(kp.pubkey(), p.pubkey))[0] == "Channel"
    assert d.h.token_account(prog.escrow_address(kp.pubkey())).owner == prog.config_address()
