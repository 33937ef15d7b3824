"""A deployment of the billing program: where it is and which mint, treasury and keys it uses. Written by
`solmeter operator init` to <data_dir>/deployment.json and read by every other role command."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from contracts import DEPLOYMENT_FILE
from contracts.client import INITIALIZE_DEFAULTS, BillingProgram, decode_account_as, params_at

from ledger.engine.chain import RpcChain
from metering.rollup.pricing import DEFAULT_PRICE_BOOK

from . import token
from .budget import NO_BUDGET, ComputeBudget
from .tx import OpError, send

FILE_NAME = DEPLOYMENT_FILE


@dataclass(frozen=True)
class Deployment:
    program_id: str
    mint: str
    decimals: int
    treasury: str
    admin: str
    meter: str
    arbiter: str
    rpc_url: str = ""

    @property
    def program(self) -> BillingProgram:
        return BillingProgram(Pubkey.from_string(self.program_id))

    @property
    def mint_key(self) -> Pubkey:
        return Pubkey.from_string(self.mint)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> "Deployment":
        try:
            return cls(**json.loads(Path(path).read_text()))
        except FileNotFoundError:
            raise OpError(f"no deployment at {path}: run `solmeter operator init` first") from None
        except (ValueError, TypeError) as e:
            raise OpError(f"{path} is not a solmeter deployment file: {e}") from None


_D = INITIALIZE_DEFAULTS


@dataclass(frozen=True)
class InitParams:
    """initialize's parameters, by default the builder's documented ones (`INITIALIZE_DEFAULTS`). Every window
    and delay is 60 s .. 365 days; withdrawal_delay > settlement_window; batch_retention >= withdrawal_delay;
    update_delay >= 2 x max(withdrawal_delay, unstake_cooldown), the default when None (PROTOCOL.md,
    Parameters; the program refuses anything else with InvalidConfig)."""
    fee_bps: int = _D["fee_bps"]
    burn_bps: int = _D["burn_bps"]
    min_stake: int = _D["min_stake"]
    withdrawal_delay: int = _D["withdrawal_delay"]
    settlement_window: int = _D["settlement_window"]
    unstake_cooldown: int = _D["unstake_cooldown"]
    contest_window: int = _D["contest_window"]
    resolution_window: int = _D["resolution_window"]
    batch_retention: int = _D["batch_retention"]
    update_delay: int | None = None
    epoch_length: int = _D["epoch_length"]
    decimals: int = 6


def read_config(chain: RpcChain, program: BillingProgram) -> Any:
    data = chain.account_data(program.config_address())
    if data is None:
        raise OpError(f"program {program.program_id} is not initialized on this cluster (no Config account)")
    return decode_account_as("Config", data)


def deployment_on_chain(chain: RpcChain, program_id: Pubkey) -> Deployment | None:
    """The deployment as the program's Config account states it (mint, decimals, treasury, admin, meter,
    arbiter: all public), None where the program has no Config on this cluster. What a customer, provider or
    auditor uses on a machine without the operator's deployment.json."""
    data = chain.account_data(BillingProgram(program_id).config_address())
    if data is None:
        return None
    cfg = decode_account_as("Config", data)
    return Deployment(str(program_id), str(cfg.mint), int(cfg.decimals), str(cfg.treasury), str(cfg.admin),
                      str(cfg.meters[0].key), str(params_at(cfg, chain.unix_time()).arbiter), chain.url)


def read_account(chain: RpcChain, name: str, address: Pubkey) -> Any | None:
    data = chain.account_data(address)
    return None if data is None else decode_account_as(name, data)


def program_present(chain: RpcChain, program_id: Pubkey) -> bool:
    return chain.program_present(program_id)


def initialize(chain: RpcChain, admin: Keypair, *, program_id: Pubkey, meter: Pubkey, arbiter: Pubkey | None = None,
               mint: Pubkey | None = None, mint_authority: Keypair | None = None, params: InitParams = InitParams(),
               progress=lambda msg: None, budget: ComputeBudget = NO_BUDGET) -> Deployment:
    """Create the token (when no mint is given), the treasury account and the Config. Idempotent: an
    already initialized program is read back instead."""
    if not program_present(chain, program_id):
        raise OpError(f"program {program_id} is not deployed on {chain.url}: deploy it first "
                      f"(`solmeter operator init --program-keypair ...`; the embedded localnet preloads it)")
    program = BillingProgram(program_id)
    existing = deployment_on_chain(chain, program_id)
    if existing is not None:
        progress("program already initialized; reading its Config")
        return existing
    decimals = params.decimals
    if mint is None:
        mint_kp = Keypair()
        progress(f"creating token mint {mint_kp.pubkey()} ({decimals} decimals)")
        token.create_mint(chain, admin, mint_kp, decimals=decimals, authority=(mint_authority or admin).pubkey(),
                          budget=budget)
        mint = mint_kp.pubkey()
    treasury_kp = Keypair()
    treasury = treasury_kp.pubkey()
    progress(f"creating treasury token account {treasury} (owned by the admin, apart from its wallet)")
    token.create_token_account(chain, admin, treasury_kp, mint, admin.pubkey(), budget=budget)
    progress("initializing the program")
    ix = program.initialize(admin=admin.pubkey(), mint=mint, treasury=treasury, meter=meter,
                            arbiter=arbiter or admin.pubkey(), fee_bps=params.fee_bps, burn_bps=params.burn_bps,
                            min_stake=params.min_stake, withdrawal_delay=params.withdrawal_delay,
                            settlement_window=params.settlement_window, unstake_cooldown=params.unstake_cooldown,
                            contest_window=params.contest_window, resolution_window=params.resolution_window,
                            batch_retention=params.batch_retention, update_delay=params.update_delay,
                            epoch_length=params.epoch_length)
    send(chain, admin, [ix], what="initialize", budget=budget)
    # prices on the record: the book the meter prices with by default, committed by the sha256 of its file
    # (GET /v1/price-books/1 serves it), so that auditors can recompute every receipt's lines
    progress(f"committing price book v{DEFAULT_PRICE_BOOK.version} ({DEFAULT_PRICE_BOOK.sha256().hex()[:16]}…)")
    send(chain, admin, [program.publish_price_book(admin=admin.pubkey(), version=DEFAULT_PRICE_BOOK.version,
                                                   sha256=DEFAULT_PRICE_BOOK.sha256())],
         what="publish_price_book", budget=budget)
    return Deployment(str(program_id), str(mint), decimals, str(treasury), str(admin.pubkey()), str(meter),
                      str(arbiter or admin.pubkey()), chain.url)

