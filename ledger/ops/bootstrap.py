"""Stand up a whole deployment on a cluster with a faucet (the localnet): program initialized, the token
created, providers registered and staked, customers registered and funded, and each customer's channels
opened with the providers it uses (its on-chain consent: nothing settles on a pair it never opened).
Used by the demo, the end-to-end tests and the benchmark."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Iterable

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from contracts.amounts import tokens
from ledger.engine.chain import RpcChain

from . import roles, token
from .deployment import Deployment, InitParams, initialize
from .tx import OpError


@dataclass
class World:
    dep: Deployment
    admin: Keypair
    meter: Keypair
    providers: list[Keypair] = field(default_factory=list)
    customers: list[Keypair] = field(default_factory=list)


def airdrop(chain: RpcChain, who: Pubkey, lamports: int = 10_000_000_000, timeout_s: float = 30) -> None:
    sig = chain.airdrop(who, lamports)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        st = chain.signature_statuses([sig])[0]
        if st is not None:
            if st.err:
                raise OpError(f"airdrop to {who} failed: {st.err}")
            return
        time.sleep(0.05)
    raise OpError(f"airdrop to {who} not confirmed within {timeout_s:.0f} s")


def bootstrap(chain: RpcChain, *, program_id: Pubkey, n_providers: int, n_customers: int, wallet_tokens: int,
              stake: int, deposit: int, params: InitParams = InitParams(), admin: Keypair | None = None,
              meter: Keypair | None = None, arbiter: Pubkey | None = None,
              channels: Iterable[tuple[int, int]] | None = None, progress=lambda msg: None) -> World:
    """`channels`: the (customer index, provider index) pairs each customer opens; default every customer
    with every provider. `arbiter` defaults to the admin (fine for a throw-away cluster, not for a real
    deployment: see `solmeter operator init`)."""
    admin = admin or Keypair()
    meter = meter or Keypair()
    for k in (admin, meter):
        airdrop(chain, k.pubkey())
    dep = initialize(chain, admin, program_id=program_id, meter=meter.pubkey(), arbiter=arbiter, params=params,
                     progress=progress)
    world = World(dep, admin, meter)
    mint = dep.mint_key
    # (role, how many, register, bond / fund, amount, where the keys go, the verb for progress)
    plan = (("provider", n_providers, roles.register_provider, roles.stake, stake, world.providers, "staked"),
            ("customer", n_customers, roles.register_customer, roles.deposit, deposit, world.customers, "deposited"))
    for role, n, register, fund, amount, out, verb in plan:
        for i in range(n):
            kp = Keypair()
            airdrop(chain, kp.pubkey())
            token.mint_to(chain, admin, admin, mint, kp.pubkey(), wallet_tokens, dep.decimals)
            register(chain, dep, kp)
            if amount:
                fund(chain, dep, kp, amount)
            out.append(kp)
            progress(f"{role} {i + 1}/{n} {kp.pubkey()} registered" +
                     (f", {verb} {tokens(amount, dep.decimals)} tokens" if amount else ""))
    pairs = ([(c, p) for c in range(n_customers) for p in range(n_providers)] if channels is None else list(channels))
    for ci, customer in enumerate(world.customers):
        providers = [world.providers[p].pubkey() for c, p in pairs if c == ci]
        if providers:
            roles.open_channels(chain, dep, customer, providers)
            progress(f"customer {ci + 1} opened channels with {len(providers)} provider(s)")
    return world
