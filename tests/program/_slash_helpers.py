"""Helpers shared by the slash instruction tests."""


def propose(d, p, amount=500_000, beneficiary=None, index=0):
    return d.h.send([d.program.propose_slash(admin=d.admin.pubkey(), provider_wallet=p.pubkey, index=index,
                                             amount=amount, evidence_hash=b"\x11" * 32,
                                             beneficiary=beneficiary or d.treasury)], [d.admin])


def contest(d, p, index=0):
    return d.h.send([d.program.contest_slash(wallet=p.pubkey, index=index, evidence_hash=b"\x22" * 32)], [p.kp])


def resolve(d, p, uphold, signer=None, index=0):
    signer = signer or d.arbiter
    return d.h.send([d.program.resolve_slash(arbiter=signer.pubkey(), provider_wallet=p.pubkey, index=index,
                                             uphold=uphold)], [signer])


def execute(d, p, beneficiary=None, index=0):
    return d.h.send([d.program.execute_slash(provider_wallet=p.pubkey, index=index,
                                             beneficiary=beneficiary or d.treasury, mint=d.mint)], [d.h.payer])
