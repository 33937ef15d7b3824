"""Render PROTOCOL.md: the normative prose below plus reference tables generated from the IDL (which
is itself generated from the Rust source), so account layouts, instruction account lists, errors and
events in PROTOCOL.md cannot drift from the program.

    .venv/bin/python -m contracts.idl.protocol          # rewrites PROTOCOL.md
    .venv/bin/python -m contracts.idl.protocol --check  # exits 1 if PROTOCOL.md is stale
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from contracts.idl.client_gen import snake
from contracts.idl.generate import build_idl, write_or_check

OUT = Path(__file__).resolve().parents[2] / "PROTOCOL.md"

_SIZES = {"u8": 1, "bool": 1, "u16": 2, "u32": 4, "u64": 8, "i64": 8, "publicKey": 32}

SEEDS = {
    "Config": '["config"]',
    "Customer": '["customer", wallet]',
    "Provider": '["provider", wallet]',
    "Channel": '["channel", customer wallet, provider wallet]',
    "Batch": '["batch", index u64 LE]',
    "Epoch": '["epoch", number u64 LE]',
    "ProviderEpoch": '["provider_epoch", provider wallet, number u64 LE]',
    "Slash": '["slash", provider wallet, index u64 LE]',
    "PriceBook": '["price_book", version u64 LE]',
}

CHECKS = {
    "initialize": "program is this program's account. If it is owned by the upgradeable loader, program_data must be the ProgramData address it names (WrongPda) and its upgrade authority must be Some(admin) (else NotUpgradeAuthority: an immutable or v4-loaded program cannot be initialized); owned by loader v1/v2 (genesis-loaded only), no authority is required. admin signs and pays; config and rewards_vault are uncreated and equal create_program_address of their seeds with the given canonical bumps; mint is an initialized SPL mint; treasury is a token account of that mint that is not a program vault (owner != the Config PDA); fee_bps + burn_bps <= 2000; the parameters satisfy the bounds of Parameters below and epoch_length is in [60 s, 365 days]. Sets version 1, genesis_ts = Clock.unix_timestamp, params from the arguments (nothing pending), price_book_version 0, meter registered with since_version 1. Creates the rewards vault (authority: Config PDA).",
    "update_config": "admin signs and equals config.admin; config at its PDA. A due staged change is first promoted (params = pending). fee_bps, burn_bps, new_admin, add_meter, remove_meter and paused apply at once: add_meter appends (since_version = new version; no-op if present; MeterListFull at 4); remove_meter swap-removes (NotAMeter if absent); fee_bps + burn_bps <= 2000. The protective parameters (min_stake, withdrawal_delay, settlement_window, unstake_cooldown, contest_window, resolution_window, batch_retention, update_delay, arbiter) are staged: pending = (pending if any, else params) with the Some fields applied, checked against the bounds of Parameters, pending_at = now + params.update_delay (restarting any earlier wait). version += 1 on every call. While paused, the call must set paused = false, otherwise Paused. ConfigUpdated carries pending and pending_at.",
    "register_customer": "not paused; wallet signs and pays; mint == config.mint; customer and escrow uncreated at their PDAs (create_program_address, canonical bumps). Creates the escrow token account with authority = Config PDA.",
    "deposit": "not paused; wallet signs and equals customer.wallet (customer at its PDA); escrow == customer.escrow; mint == config.mint; source is a token account of the mint owned by wallet; amount > 0. TransferChecked source -> escrow signed by wallet.",
    "request_withdrawal": "not paused; wallet signs and equals customer.wallet; amount > 0. Records amount and Clock time (replacing any earlier request). WithdrawalRequested carries available_at = now + withdrawal_delay and expires_at = now + 2 x withdrawal_delay (the delay in force now).",
    "withdraw": "not paused; wallet signs and equals customer.wallet; escrow == customer.escrow; destination is a token account of the mint owned by wallet; a request exists; now >= requested_at + withdrawal_delay (else WithdrawalDelayNotElapsed) and now <= requested_at + 2 x withdrawal_delay (else WithdrawalRequestExpired: request again), with the delay in force now. Pays min(requested, escrow balance) > 0 signed by the Config PDA; clears the request.",
    "set_channel_limit": "not paused; wallet signs, pays, equals customer.wallet; provider is a Provider account at its PDA. If the Channel does not exist this is the customer opening it (its consent, see Consent): the address must be create_program_address([\"channel\", customer wallet, provider wallet], channel_bump) with the canonical bump (WrongPda), and the Channel is created with limit_per_epoch = limit in force at once. Otherwise the Channel (at its PDA, of this pair) gets: a due pending limit applied first (see Channel limits); limit >= the limit in force: limit_per_epoch = limit at once, any pending decrease cancelled; limit < the limit in force: pending_limit = limit, pending_limit_at = now + settlement_window (replacing any pending decrease). ChannelLimitSet carries the time it takes effect and whether this call opened the channel.",
    "configure_auto_top_up": "not paused; wallet signs and equals customer.wallet; source is a token account of the mint owned by wallet. amount 0 disables (source cleared).",
    "top_up": "permissionless; not paused; customer at its PDA; auto top-up configured; source == customer.top_up_source, of the mint, owned by customer.wallet; escrow balance < threshold. Pulls min(top_up_amount, delegated_amount if the delegate is the Config PDA else 0, source balance) > 0 (else NoAllowance) with the Config PDA as SPL delegate.",
    "register_provider": "not paused; wallet signs and pays; mint == config.mint; payout is a token account of the mint owned by wallet; provider and stake_vault uncreated at their PDAs (create_program_address, canonical bumps). Creates the stake vault with authority = Config PDA.",
    "stake": "not paused; wallet signs and equals provider.wallet; stake_vault == provider.stake_vault; source of the mint owned by wallet; amount > 0.",
    "request_unstake": "not paused; wallet signs and equals provider.wallet; amount > 0; now + 2 x unstake_cooldown does not overflow. Records amount and time (replacing any earlier request). UnstakeRequested carries available_at = now + cooldown and expires_at = now + 2 x cooldown. Stake stays in the vault (slashable) until withdraw_stake.",
    "withdraw_stake": "not paused; wallet signs and equals provider.wallet; destination of the mint owned by wallet; a request exists; now >= requested_at + unstake_cooldown (else CooldownNotElapsed) and now <= requested_at + 2 x unstake_cooldown (else UnstakeRequestExpired: request again; cooldown in force now); unclaimed_epochs == 0, or == 1 with last_revenue_epoch == current epoch (closed epochs must be claimed first). Pays min(requested, vault balance - pending_slash) > 0.",
    "post_batch": "not paused; meter signs and pays and is one of config.meters; count > 0; the config_version argument equals config.version (else StaleConfigVersion: an update_config that landed after the meter built the batch refuses it instead of stamping receipts of the old version with the new one); batch is uncreated at create_program_address([\"batch\", config.batch_count], batch_bump) (any valid bump: the index is used once, see PDAs and bumps; WrongPda otherwise). Stores root, count, total, meter (also the payer of its rent), config_version = config.version, posted_at; config.batch_count += 1.",
    "settle": "permissionless; not paused; config, batch, customer, provider, channel (and epoch / provider_epoch when they exist) each at the PDA of its stored seeds and bump. Receipt: 248 bytes valid per the encoding rules; program_id == this program; config_version == batch.config_version; batch.meter still in config.meters with since_version <= batch.config_version (else MeterRetired). customer.wallet == receipt.customer and provider.wallet == receipt.provider; escrow == customer.escrow, stake_vault == provider.stake_vault, payout == provider.payout, treasury == config.treasury, mint == config.mint. The proof leads from receipt_id to batch.root. The Channel must exist (else ChannelNotOpened: the customer never consented) and be of the pair; seq > last_seq (else ReplayedReceipt); cum_amount > settled_amount (else CumulativeNotIncreasing); if seq == last_seq + 1 (and last_seq > 0) prev_receipt_id == last_receipt_id. amount = cum_amount - settled_amount; spent in this epoch + amount <= the limit in force now (a pending decrease counts once pending_limit_at is reached and is then stored as limit_per_epoch); escrow balance >= amount (else EscrowUnderfunded, nothing changes). fee = floor(amount * fee_bps / 10000), burned = floor(amount * burn_bps / 10000), provider_amount = amount - fee - burned: Transfer fee -> treasury, Burn from escrow, Transfer provider_amount -> payout, all signed by the Config PDA. rewarded = (stake vault balance - provider.pending_slash >= min_stake in force): only then do Epoch and ProviderEpoch of the current epoch (created on demand if missing, canonical bumps) get revenue += amount, the first revenue of a ProviderEpoch incrementing provider.unclaimed_epochs and setting last_revenue_epoch. Settled carries rewarded.",
    "prepare_settle": "permissionless, idempotent; not paused; payer signs and pays (rent of what is created); customer and provider are registered (Customer / Provider accounts at their PDAs); the Channel of the pair exists (else ChannelNotOpened; prepare_settle never creates it); epoch >= current epoch (else EpochClosed). Creates whichever of Epoch and ProviderEpoch (no revenue; not counted as unclaimed) is missing, each at its canonical PDA (WrongPda otherwise), and checks the existing ones (at their PDAs, of this number and provider: WrongPda). SettlementPrepared says which were created. Sent in front of settle (same transaction, or once per channel and epoch), it keeps account creation out of settle.",
    "fund_epoch": "not paused; funder signs and pays; rewards_vault == config.rewards_vault; source of the mint owned by funder; amount > 0; epoch >= current epoch (closed epochs cannot be funded). Creates the Epoch on demand at its canonical PDA (WrongPda otherwise); reward_pool += amount; tokens go to the rewards vault.",
    "claim_rewards": "not paused; wallet signs and equals provider.wallet; payout == provider.payout; the ProviderEpoch and Epoch are at their PDAs and of this provider and epoch; epoch < current epoch; not yet claimed; stake vault balance - provider.pending_slash >= min_stake in force. reward = floor(reward_pool * revenue / total_revenue) (0 if no revenue); epoch.claimed + reward <= reward_pool. Marks claimed; unclaimed_epochs -= 1 if the epoch had revenue.",
    "propose_slash": "not paused; admin signs, pays, equals config.admin; beneficiary is a token account of the mint; amount > 0; pending_slash + amount <= stake vault balance; slash uncreated at PDA [\"slash\", provider wallet, provider.slash_count] (canonical bump). Records on the Slash, from the parameters in force now: arbiter, contest_deadline = now + contest_window, resolve_deadline = contest_deadline + resolution_window. pending_slash += amount; slash_count += 1.",
    "contest_slash": "accepted while paused (the contest window keeps running, and the admin who proposes slashes holds the pause switch); wallet signs and equals provider.wallet == slash.provider; slash at its PDA; state Proposed; now <= contest_deadline. State becomes Contested with the provider's evidence hash.",
    "resolve_slash": "not paused; slash at its PDA, of this provider; the signer is slash.arbiter, the arbiter recorded when the slash was proposed (else NotArbiter; config's current arbiter does not matter); state Contested; now <= resolve_deadline (else ResolutionWindowClosed). uphold: Upheld; else Rejected and pending_slash -= amount.",
    "execute_slash": "permissionless; not paused; beneficiary == slash.beneficiary; state Upheld, or Proposed with now > contest_deadline (else ContestWindowOpen / SlashWrongState; at the deadline second itself the provider may still contest, so the two never overlap). Pays min(amount, vault balance) from the stake vault; state Executed; pending_slash -= amount.",
    "lapse_slash": "permissionless; not paused; slash at its PDA, of this provider; state Contested (else SlashWrongState); now > resolve_deadline (else ResolutionWindowOpen). State becomes Rejected and pending_slash -= amount: an appeal the arbiter does not judge in time is decided for the provider. Emits SlashResolved with upheld = false, lapsed = true.",
    "set_treasury": "not paused; admin signs and equals config.admin; config at its PDA; treasury is a token account of config.mint that is not a program vault (same rule as initialize). config.treasury = treasury at once (fees are the operator's; each Slash records its own beneficiary).",
    "set_payout": "not paused; wallet signs and equals provider.wallet; payout is a token account of config.mint owned by wallet (same rule as register_provider). provider.payout = payout at once (only the provider's own income goes there).",
    "close_batch": "not paused; meter signs, is writable and equals batch.meter (the key that posted and paid for it; else Unauthorized); batch at its PDA; now >= batch.posted_at + batch_retention in force (else BatchRetained). Moves all the batch's lamports to the meter and zeroes its discriminator (the runtime removes the emptied account); no receipt of the batch can settle afterwards. BatchClosed carries index, root, meter and the lamports returned; the root also stays in the post_batch transaction's BatchPosted event.",
    "publish_price_book": "not paused; admin signs, pays and equals config.admin; version > config.price_book_version (else PriceBookVersionNotIncreasing); price_book uncreated at PDA [\"price_book\", version] (canonical bump). Creates the PriceBook (version, sha256, published_at) and sets config.price_book_version = version. PriceBook accounts are never changed or closed.",
}

HEAD = """# solmeter billing program: protocol

Normative description of the on-chain program (contracts/program), precise enough to write an independent
verifier. The reference tables below are generated from the IDL (`contracts/idl/solmeter_billing.json`, itself
generated from the Rust source) by `python -m contracts.idl.protocol`; a test keeps this file current.

## Wire format (Anchor-compatible)
- Instruction data: `sha256("global:<snake_name>")[..8]` followed by the Borsh encoding of the arguments in
  the order listed. Trailing bytes are refused (InvalidInstructionData).
- Account data: `sha256("account:<Name>")[..8]` followed by the Borsh encoding of the fields in the order
  listed (fixed size, no padding, little-endian). `bool` is one byte 0/1.
- Events: one `sol_log_data` call per event ("Program data: <base64>") over `sha256("event:<Name>")[..8]`
  followed by the Borsh fields. Every state-changing instruction emits exactly one event.
- Errors: custom program error codes from 6000 (table below); the program also logs the error name.
- Program id (localnet/tests): `4yCvCumrTMguA31fHcDAUieoyUsAtQwMMgyp1LPCkCnq`.

## Money and arithmetic
Token amounts are u64 base units of the configured SPL mint. Every addition and subtraction is checked
(ArithmeticOverflow); products use a 128-bit intermediate (`floor(a*b/d)`), so amounts up to 2^64-1 are exact.
Basis points: fee and burn are each `floor(amount * bps / 10000)`; the provider receives the remainder, so
fee + burned + provider_amount == amount exactly.

## Vaults and authority
Escrow vaults (`["escrow", customer wallet]`), stake vaults (`["stake", provider wallet]`) and the rewards
vault (`["rewards"]`) are SPL token accounts of the configured mint at PDAs, created by the program; their
token authority is the Config PDA. Only the program can move tokens out of them (signing with
`["config", config.bump]`).

## Epochs and time
All times are `Clock.unix_timestamp` seconds. `epoch(t) = (t - config.genesis_ts) / config.epoch_length`
(integer division; genesis_ts is the time of initialize). An epoch is closed when the current epoch number
is larger. Revenue credited to an epoch is the gross settled amount (fee and burn included).

## PDAs and bumps
Every account stores its bump. The rule for every account the program creates or trusts: its address is
derived from its seeds and compared, never inferred from who could sign a CPI (a caller can pass a keypair
it holds in any account slot and sign the transaction with it, and CreateAccount then succeeds at the
keypair's address). At creation the program checks `address == create_program_address(seeds ++ [bump])`
with the bump from the arguments and that the bump is the canonical one (what find_program_address
returns: no higher bump derives a valid PDA of the same seeds), WrongPda otherwise, so each set of seeds has
exactly one account. One exception, a Batch: its seeds are ["batch", config.batch_count] and post_batch
advances batch_count in the same instruction (nothing else creates a Batch or lowers the count), so each
index is created at most once whatever the bump, and post_batch checks the address for the meter's bump
without the canonical-bump proof (that proof derives every higher bump, 346 CU each; clients still send
the canonical bump). The program computes create_program_address itself, exactly as the runtime does:
`sha256(seeds || bump || program_id || "ProgramDerivedAddress")`, refused when those 32 bytes decompress to
an edwards25519 point (sol_sha256 + sol_curve_validate_point: ~330 CU per derivation instead of 1,500).
Every existing state account an instruction reads (Config, Customer, Provider, Channel, Batch, Epoch,
ProviderEpoch, Slash, PriceBook) is checked by owner (this program), exact size, discriminator, and
`address == sha256(its stored seeds || its stored bump || program_id || "ProgramDerivedAddress")` (~160 CU;
the curve check adds nothing for an account that exists, since the program created it through the full
check and nobody holds a private key for a hash output); then the keys stored in it are compared with the
ones the instruction expects (e.g. channel.customer == customer.wallet). Token vaults (escrow, stake,
rewards) are compared with the address their owner account stored when the program created them at their
PDA; the treasury and payout accounts with the addresses stored in Config and Provider. The program never
searches for a bump. Integers in seeds are u64 little-endian; wallets are 32-byte public keys.

## Consent: nothing is billed on a channel the customer never opened
A Channel exists only because its customer created it with set_channel_limit (the client's `open_channel`
builds exactly that), an instruction the customer's wallet signs and pays for; settle and prepare_settle
refuse a pair without a Channel (ChannelNotOpened) and never create one. The Channel is the customer's
on-chain consent to be billed by that provider, with a per-epoch cap it chooses (u64::MAX = no cap). A
customer withdraws consent by lowering the limit to 0; like every decrease it takes effect only a
settlement window later, so receipts issued while consent stood stay payable. What the meter bills under a
channel is decided off-chain by the customer's signed leases (next section): consent lives in two places,
both signed by the customer's wallet key: the Channel on-chain (who may be paid, and at most how much per
epoch) and the lease off-chain (what is rented, when, at which price book, up to which total).

## Leases: the customer's signed consent off-chain (normative; mirrors contracts/lease.py)
A lease is signed by the customer's wallet key (plain ed25519 over the encoding below, what a Solana wallet's
signMessage produces) and names the provider, what is rented, the price book version, a cap, a start and an
expiry. The meter bills only usage under a lease whose signature verifies; it serves every lease publicly
(`GET /v1/leases/{lease_id}`, `GET /v1/leases?customer=&provider=`: encoding, signature, decoded terms,
revocation), and each receipt line names, in its detail, the leases whose usage it bills
(`"leases": [lease ids]`), so an auditor checks consent from public data alone.

Lease encoding (little-endian; lease_hash = sha256 of these bytes; one lease has exactly one encoding:
decoding re-encodes and compares):

| bytes | field | |
|---|---|---|
| 16 | tag | `SOLMETER-LEAS-V1` |
| 32 | program_id | the deployment: a lease is never consent on another one |
| 1 + n | lease_id | length n in 1..95, ASCII `[A-Za-z0-9][A-Za-z0-9._@+/-]*` (no `:`) |
| 32 | customer | the signer |
| 32 | provider | the only provider that may report usage under it |
| 8 | price_book_version | u64 >= 1: the prices agreed to |
| 8 | cap | u64 token base units: the most ever billed under the lease |
| 8 | start_ms | i64 unix ms, inclusive |
| 8 | expiry_ms | i64 unix ms, exclusive, > start_ms |
| 16 | nonce | random: two leases of equal terms still differ |
| 1 | kind | 1 = GPU, 2 = storage |
| GPU: 1 + m, 4 | gpu_class, gpu_count | class length m and ASCII `[A-Z0-9][A-Z0-9_.-]*`; u32 1..4096 GPUs at most at a time |
| storage: 2 + b, 1, k x (1 + c + 8) | bucket, classes | u16 length b (1..256) and UTF-8 bucket (or bucket/prefix, s3 URI); k in 1..16 storage classes in ascending byte order, each its class and u64 max bytes stored |

Revocation encoding (120 bytes, signed by the lease's customer): tag `SOLMETER-LREV-V1` (16), program_id (32),
lease_hash (32: the one lease it revokes; it cannot be replayed onto another), customer (32), revoked_at_ms
(i64). The meter refuses a revocation dated at or before the latest usage it already accepted under the
lease (it cannot un-bill accepted usage) and records it otherwise (`POST /v1/revocations`).

Which lease an event bills under: a GPU heartbeat's `lease_id` is the lease id; a storage sample's `bucket`
is the lease id or `LEASE:CLASS` with CLASS its storage class; an egress event's `resource` is the lease id,
optionally followed by `:` and anything. The meter accepts a usage event only if (ingestion, one
transaction, else a 403 naming the field and the reason, and nothing of the request is written):
- the lease exists; its provider is the signing provider; its customer is the event's subject;
- a GPU event is under a GPU lease, of its class, with at most its count; a sample is under a storage
  lease, in one of its classes, with at most that class's bytes; egress is under either kind;
- start_ms <= t < expiry_ms and t < revoked_at_ms (a stop bills nothing and is accepted whenever);
- the price book in force at t is the lease's price_book_version (a new price book needs a new lease);
- the cap bound holds: rate x (T - start_ms) + egress_bytes x the dearest egress price <= cap, where T is
  the latest event time accepted under the lease, rate the lease's full rate (gpu_count x the GPU price,
  or the sum over its classes of max bytes x the storage price) and egress_bytes every egress byte accepted
  under it. Billed usage never exceeds the full rate since the start, so nothing billed exceeds the cap.
Consequences: billing under a lease stops at its revocation instant exactly (no interval ending at or after
it is billed) and at its expiry; usage under no lease is refused and the agent keeps it in its dead-letter
folder with the reason. The auditor checks each receipt line billing usage against the leases it names
(signature, channel, program, kind, start before the period's end, expiry and revocation after its start for
on-time usage) and each channel's cumulative amount against the sum of its leases' caps.

## Parameters and delayed changes
`Config.params` holds the parameters that protect a counter-party of the admin: arbiter, min_stake,
withdrawal_delay, settlement_window, unstake_cooldown, contest_window, resolution_window, batch_retention,
update_delay. update_config does not change them in place: it stages the new set in `Config.pending`, in
force from `pending_at = now + params.update_delay` on (every instruction reads the set in force at its
Clock time: `pending` once `now >= pending_at`, else `params`; the next update_config promotes a due set
into `params`). A new staged change builds on the one pending and restarts the wait. Fees, the admin key,
meter keys and the pause flag apply at once: fees are bounded (fee + burn <= 20 %) and move with the
config version that receipts, the ledger and the auditor key on; meter keys and pause are the operator's
emergency levers. Bounds, checked at initialize and at every staging (InvalidConfig):

| parameter | bound |
|---|---|
| settlement_window, unstake_cooldown, contest_window, resolution_window | 60 s <= value <= 365 days |
| withdrawal_delay | settlement_window < value <= 365 days |
| batch_retention | withdrawal_delay <= value <= 365 days |
| update_delay | 2 x max(withdrawal_delay, unstake_cooldown) <= value <= 730 days |
| epoch_length (initialize only) | 60 s <= value <= 365 days |
| fee_bps + burn_bps | <= 2000 (FeeTooHigh) |

update_delay >= 2 x the longest exit means that every customer and provider who sees a ConfigUpdated event
staging a change has a full exit period to notice it and another to leave (withdraw, unstake) under the
rules in force, before it applies. The upper bounds keep every `now + period` far from i64 overflow and
refuse a delay that would lock customers or providers in for good (an i64::MAX withdrawal delay).

## Withdrawals and unstaking expire
request_withdrawal(amount) records a request; withdraw honours it only in the window
`[requested_at + withdrawal_delay, requested_at + 2 x withdrawal_delay]` (the delay in force at the time of
withdrawal). Before: WithdrawalDelayNotElapsed. After: WithdrawalRequestExpired, and the customer requests
again. A request armed at deposit time (say for u64::MAX) therefore cannot be kept to leave at a moment of
the customer's choosing, after receipts were issued and before they settle: every withdrawal is announced a
full delay ahead (WithdrawalRequested carries available_at and expires_at), and the meter counts a pending
request against what the escrow can pay while the window is open.

## Receipt encoding (normative; mirrors contracts/receipt.py and contracts/program/src/receipt.rs)
Little-endian, fixed size 248 bytes:

| off | len | field |
|---:|---:|---|
| 0 | 16 | tag `SOLMETER-RCPT-V1` |
| 16 | 32 | program_id |
| 48 | 8 | config_version u64 |
| 56 | 32 | customer wallet |
| 88 | 32 | provider wallet |
| 120 | 8 | seq u64 (1, 2, 3, ... per channel) |
| 128 | 8 | period_start i64 unix seconds |
| 136 | 8 | period_end i64 unix seconds |
| 144 | 8 | cum_gpu_ms u64 |
| 152 | 16 | cum_byte_seconds u128 |
| 168 | 8 | cum_egress_bytes u64 |
| 176 | 8 | cum_amount u64 (cumulative amount owed, token base units) |
| 184 | 32 | prev_receipt_id (sha256 of the previous receipt's encoding; zeros for seq 1) |
| 216 | 32 | detail_hash (sha256 of the canonical line-item detail) |

Validity: exact length; tag; seq >= 1; period_end >= period_start; prev_receipt_id is all zeros exactly
when seq == 1. `receipt_id = sha256(encoding)`. The meter's ed25519 signature is over the 32-byte receipt_id
(verified off-chain; on-chain authenticity comes from the batch root posted by a registered meter key).

## Merkle rules (normative; mirrors contracts/merkle.py and contracts/program/src/merkle.rs)
    leaf(receipt_id) = sha256(0x00 || receipt_id)
    node(a, b)       = sha256(0x01 || min(a, b) || max(a, b))   # sorted pair, bytewise
A level with an odd count carries its last hash up unchanged (no duplication). A proof is the list of
sibling hashes from the leaf upwards, skipping carried levels; at most 32 elements. root(batch of one) =
leaf(receipt_id). settle verifies by folding `node(h, sibling)` from `leaf(receipt_id)` and comparing with
batch.root.

A batch lists the receipt ids issued in one batch interval, in issue order. Its `count` is the number of
receipts and its `total` is the amount newly billed by them: the sum over its receipts of `cum_amount` minus
the `cum_amount` of the same channel's previous receipt (0 before seq 1). The program stores both as posted
(they are the meter's claim); the auditor recomputes them from the receipts (`solmeter audit batch`).

## Settlement semantics
A channel is (customer wallet, provider wallet). settle pays `cum_amount - channel.settled_amount` and then
sets settled_amount = cum_amount, last_seq = seq, last_receipt_id = receipt_id; hence any number of receipts
settle in one transaction and a receipt can never be paid twice. The receipt must carry the config version
its batch was posted under, and the batch's meter must still be registered (a removed, e.g. compromised, key
stops all its unsettled batches). A failed check or an underfunded escrow fails the whole transaction: no
account changes. request_withdrawal starts a delay longer than the settlement window, so receipts issued
before the request stay payable; withdraw then pays at most what is left, within the request's window.

## Channel limits
`limit_per_epoch` caps the gross amount settled on a channel per epoch (`spent_in_epoch` counts the epoch
`spent_epoch` of the settle time; u64::MAX = no limit). The limit the customer opens the Channel with is in
force at once (nothing can have settled before). A customer raises its limit with immediate effect, but a
decrease takes effect only `settlement_window` (in force) seconds after
set_channel_limit (`pending_limit`, `pending_limit_at`), like a withdrawal: receipts issued under the old
limit stay payable for the window the crank is given to settle them, so a customer cannot use the service
and then refuse payment by lowering its limit (security review finding 5). The rule is in wall-clock time
and independent of epochs: a decrease requested late in epoch N is still pending at the start of N+1 until
its time, and once in force it counts everything already settled in the current epoch. settle and
set_channel_limit both apply a due pending limit before using the limit; everyone else (the meter, which
should stop new work at the lower of the two limits) reads `limit_per_epoch` and, if `pending_limit_at != 0`,
`pending_limit` from `pending_limit_at` on.

## Unstaking
request_unstake(amount) records a request; withdraw_stake honours it only in the window
`[requested_at + unstake_cooldown, requested_at + 2 x unstake_cooldown]` (the configured cooldown at the time
of withdrawal). Before: CooldownNotElapsed. After: UnstakeRequestExpired, the stake stays bonded and the
provider must request again. A request can therefore not be kept armed to leave at a moment of the
provider's choosing (e.g. right after misbehaving, before a slash is proposed): every exit is announced a
full cooldown ahead by an UnstakeRequested event whose window is at most one cooldown long (security review
finding 6). The cooldown is at least 60 s (Parameters).

## Rewards need stake
settle pays every valid receipt whatever the provider's stake, but credits the amount to the epoch's
revenue (Epoch.total_revenue, ProviderEpoch.revenue: the basis of the reward share) only while the
provider's unencumbered stake (stake vault balance minus pending slashes) is at least min_stake; Settled
says which (`rewarded`). claim_rewards requires the same at claim time. A provider can thus not earn rewards
on revenue made unbonded by staking the minimum only to claim (security review finding 7). An auditor sums
only Settled events with `rewarded` when it checks an epoch's total revenue.

## Slashes and the appeal
propose_slash records on the Slash the arbiter in force and two deadlines: contest_deadline = now +
contest_window and resolve_deadline = contest_deadline + resolution_window. The provider may contest up to
contest_deadline inclusive; an uncontested slash is executable strictly after it (the two windows never
share a second). Only the recorded arbiter may resolve a contested slash, up to resolve_deadline
inclusive; after it anyone may let the contest lapse (lapse_slash), which rejects the slash and releases the
reserved stake: an appeal nobody judges in time is decided for the provider. Since the arbiter and windows
are fixed per slash and a change of them takes update_delay to apply, the admin (who proposes slashes)
cannot make itself the judge of an appeal already under way or shorten a running window; it can at most
name itself arbiter for future slashes, announced update_delay ahead (`solmeter operator init` warns when
the arbiter is the admin: the appeal is then not independent).

## Batch retention and closing
A Batch account holds about 1.68M lamports of rent. Its meter (the key that posted it, which also paid the
rent) may close it with close_batch once `posted_at + batch_retention` has passed (batch_retention >=
withdrawal_delay > settlement_window: the crank has had its settlement window and more, and every customer's
escrow backing a receipt of the batch stayed locked for as long). The rent goes back to the meter; after
that no receipt of the batch can settle. Whether a receipt is still needed is knowable only off-chain (a
later receipt of its channel supersedes it once settled), so the meter closes only batches none of whose
receipts is the latest unsettled receipt of its channel; the crank's close_batches job applies that rule
(ledger/engine). The batch's root stays verifiable from public data: the BatchPosted event of the
post_batch transaction (in the Config's and the batch address's transaction history) carries index, root,
count, total, meter and config version, and BatchClosed repeats index and root. The auditor reads a closed
batch's root from its BatchPosted event. An index is never reused: post_batch always takes
config.batch_count.

## Price books on the record
publish_price_book(version, sha256) lets the admin commit each price book version by the sha256 of its
file: a PriceBook account at ["price_book", version] (never changed or closed) and Config.price_book_version
= the latest version; versions strictly increase (PriceBookVersionNotIncreasing). The file itself is
published off-chain; anyone can hash it and compare with the PriceBook of the version a receipt names.
The file is the canonical JSON of the meter's `PriceBook` (`contracts.pricing.PriceBook.file_bytes()`:
sorted keys, no spaces; `{"egress": {class: {"per", "unit_price"}}, "gpu": ..., "storage": ..., "version"}`),
served by the meter at `GET /v1/price-books/{version}`. A receipt names its version in its detail
(`price_book_version`, and `price_version` per line); the detail is bound by `detail_hash` = sha256 of its
canonical JSON; each line's amount is `segment_base_amount + (cumulative - segment_base_quantity) x unit_price
// per` (rounded down), and the auditor recomputes all of it (docs/arch-auditor.md, "Prices on the record").

## Usage evidence (normative; mirrors contracts/evidence.py)
Each ingest request carries, beside its request signature, per customer of the batch the provider's ed25519
signature over that customer's events: header `X-Solmeter-Evidence: CUSTOMER=SIG[;CUSTOMER=SIG...]` (base58),
message `"SOLMETER-EVID-V1" || provider (32) || customer (32) || count (u32 LE) || root (32)`, root = the
Merkle root (the batch-tree rules below: leaf sha256(0x00 || h), sorted-pair nodes) over the customer's
events' payload hashes in request order (payload hash = sha256 of the event's canonical JSON as the meter
stores it). The meter verifies every group before writing (401, field X-Solmeter-Evidence, nothing written);
a request without the header is accepted and its events carry no evidence. Each receipt's detail carries
`evidence = {"root", "events", "heartbeat_timeout_ms", "sample_timeout_ms"}`: root = the Merkle root over
the payload hashes, sorted bytewise, of the events sealed for the channel since its previous receipt (32 zero
bytes for none), bound by `detail_hash`. A receipt's cumulative quantities are the rollup (contracts/rollup.py)
of the events of receipts 1..N through its period end (storage: byte-milliseconds, floored to byte-seconds per
class). `GET /v1/receipts/{id}/evidence` serves those events (bodies), each with its group (provider,
customer, count, root, signature) and its inclusion proof (sibling hashes only: a group holds one customer's
events), to the receipt's customer, its provider, the operator, and a reader that sends
`X-Solmeter-Consent: CUSTOMER:EXPIRY_MS:SIG`, the customer's signature over
`"SOLMETER-CONSENT-V1" || customer (32) || reader (32) || expiry_ms (u64 LE)` (with its signed read; the consent
also opens that customer's receipt listings and usage to the reader; `solmeter customer consent READER`).

## What the meter serves to whom
Everything an auditor needs to check a charge against the chain is public, with no credentials: a receipt
by id with the meter's signature, its batch and Merkle proof (`GET /v1/receipts/{id}`), the batches and
their receipt ids in leaf order (`/v1/batches[/{id}]`), the meter's key (`/v1/meter`), and the signed
leases (customer consent) and price books wherever the meter serves them. Live usage and the samples behind it (`/v1/usage`), receipt
listings of a customer, a provider or a channel (`/v1/receipts?...`, `/v1/providers/{p}/channels`: also
the receipts not yet in a batch) and a customer's status (`/v1/customers/{c}/status`) are private: the GET
is signed with the reader's wallet key exactly like an agent's ingest request (ed25519 over the lines
`GET`, `PATH?QUERY` as sent, `TIMESTAMP_MS`, `hex(sha256(""))` joined by newlines; headers
X-Solmeter-Pubkey/-Timestamp/-Signature; the meter's freshness window; each signature usable once), and
answered to the customer for its own data, to a provider for its own channels (and the status of the
customers it serves) and to the operator's keys for everything; otherwise 401 (unsigned, stale, replayed, another path or query) or 403 naming what is not
allowed. The rule is one pure function, `metering/read_policy.py`.
Every ingest answer and `GET /healthz` carry the meter's clock in the header `X-Solmeter-Time` (unix ms), and
a 401 for a stale request timestamp also in its body (`server_time_ms`): a signer whose clock is off signs
with the meter's time instead and resends (the same body: a stored event comes back as a duplicate).

## Dashboard sign-in (Sign-In With Solana)
The dashboard (`/dashboard/`, docs/arch-dashboard.md) reads the same data for a browser session instead
of a signed GET. `POST /dashboard/api/siws/challenge {address}` answers the message the wallet signs
(`solana:signMessage`), in the SIWS layout, byte for byte (lines joined by `\\n`, no trailing newline):

```
{host[:port] of the meter's public URL} wants you to sign in with your Solana account:
{address}

Sign in to the solmeter dashboard. This signature moves no funds.

URI: {public URL}/dashboard/
Version: 1
Chain ID: solana:{localnet|devnet|testnet|mainnet-beta|custom}
Nonce: {24 letters and digits, issued for this address}
Issued At: {RFC 3339 UTC, milliseconds}
Expiration Time: {issued + 5 minutes}
```

`POST /dashboard/api/siws/verify {message, signature}` (base64 of the exact bytes and of the 64-byte
ed25519 signature) opens a session (HttpOnly, SameSite=Strict cookie, 8 hours) only when the signature is
the address's, the domain, URI and chain id are this meter's, issued-at is not in the future, the expiry
has not passed, and the nonce was issued to that address and is unused (it is spent by the attempt).
Each view is then answered per `metering/read_policy.py` with the session's wallet as the principal;
the operator's view (jobs, intents, reconciliation: kind `operations`) only to the meter's admin keys.
Transactions the page has the wallet sign (contest a slash) are built by the meter for that wallet and
sent only if the signed bytes carry exactly that message, signed by that wallet, once. A lease is revoked
from the page with the revocation encoding of `contracts/lease.py` that the customer's wallet signs as a message.

## Who may initialize
initialize is the only instruction without an existing authority, and the Config it creates (admin, mint,
treasury, meter, arbiter) decides everything after it. A first-caller-wins initialize would let anyone
watching a deployment take the Config between the deploy and the operator's initialize (security review
finding 8). So initialize receives the program's own account and its ProgramData account: under the
upgradeable loader (how `solana program deploy` and `solmeter operator init` deploy) the admin must be the
upgrade authority recorded in ProgramData, i.e. the deployer; the upgrade authority and the admin can
both be handed over afterwards (loader SetAuthority, update_config new_admin). An immutable program
(authority None) or a program under another loader (v4) is refused, so initialize before making a
program immutable. A program owned by loader v1/v2 carries no authority; those loaders no longer accept
deployments on public clusters, so such a program exists only in a genesis built by whoever runs the
cluster (solana-test-validator --bpf-program, LiteSVM add_program, the embedded localnet); only there does
the first caller still initialize. Nobody can make our program id look loader-v2-owned elsewhere: the
runtime loads the program account by its key, and the program checks that key.

## Settling without account creation
settle creates the Epoch and ProviderEpoch it credits when they are missing (compatibility; never the
Channel), but each creation costs a CreateAccount CPI plus the canonical-bump proof (one derivation per
higher bump, seed-dependent). `prepare_settle` creates them ahead: a crank that sends
`[prepare_settle, settle]` in one transaction (client: `BillingProgram.prepared_settle(**settle_kwargs)`), or
prepares each channel and epoch once, keeps every settle free of creations (figures in
docs/bench-program.md).
"""


def _type_str(t) -> str:
    if isinstance(t, str):
        return t
    if "array" in t:
        return f"[{_type_str(t['array'][0])}; {t['array'][1]}]"
    if "option" in t:
        return f"Option<{_type_str(t['option'])}>"
    if "vec" in t:
        return f"Vec<{_type_str(t['vec'])}>"
    if "defined" in t:
        return t["defined"]
    raise ValueError(t)


def _size(t, types) -> int:
    if isinstance(t, str):
        return _SIZES[t]
    if "array" in t:
        return _size(t["array"][0], types) * t["array"][1]
    if "defined" in t:
        return sum(_size(f["type"], types) for f in types[t["defined"]]["type"]["fields"])
    raise ValueError(t)


def render() -> str:
    idl = build_idl()
    types = {t["name"]: t for t in idl["types"]}
    out = [HEAD, "## Accounts\n"]
    for acc in idl["accounts"]:
        name = acc["name"]
        off = 8
        rows = [f"| 0 | 8 | discriminator | `{hashlib.sha256(f'account:{name}'.encode()).digest()[:8].hex()}` |"]
        for f in acc["type"]["fields"]:
            n = _size(f["type"], types)
            rows.append(f"| {off} | {n} | {f['name']} | {_type_str(f['type'])} |")
            off += n
        out.append(f"### {name} (seeds {SEEDS[name]}, {off} bytes)\n")
        out.append("| off | len | field | type |\n|---:|---:|---|---|")
        out.extend(rows)
        out.append("")
    for t in idl["types"]:
        fields = ", ".join(f"{f['name']}: {_type_str(f['type'])}" for f in t["type"]["fields"])
        out.append(f"Type `{t['name']}` ({_size({'defined': t['name']}, types)} bytes): {fields}.\n")
    out.append("Slash states: 0 Proposed, 1 Contested, 2 Upheld, 3 Rejected, 4 Executed.\n")
    out.append("## Instructions\n")
    for ix in idl["instructions"]:
        name = snake(ix["name"])
        disc = hashlib.sha256(f"global:{name}".encode()).digest()[:8].hex()
        out.append(f"### {name} (`{disc}`)\n")
        accs = ", ".join(
            f"{i} {snake(a['name'])}" + (" (" + ", ".join(x for x, on in (("signer", a["isSigner"]), ("writable", a["isMut"])) if on) + ")" if a["isSigner"] or a["isMut"] else "")
            for i, a in enumerate(ix["accounts"])
        )
        args = ", ".join(f"{snake(a['name'])}: {_type_str(a['type'])}" for a in ix["args"]) or "none"
        out.append(f"- Accounts: {accs}.")
        out.append(f"- Args: {args}.")
        out.append(f"- Checks and effects: {CHECKS[name]}\n")
    out.append("## Errors\n\n| code | name | message |\n|---:|---|---|")
    for e in idl["errors"]:
        out.append(f"| {e['code']} | {e['name']} | {e['msg']} |")
    out.append("\n## Events\n\n| event | discriminator | fields |\n|---|---|---|")
    for ev in idl["events"]:
        disc = hashlib.sha256(f"event:{ev['name']}".encode()).digest()[:8].hex()
        fields = ", ".join(f"{f['name']}: {_type_str(f['type'])}" for f in ev["fields"])
        out.append(f"| {ev['name']} | `{disc}` | {fields} |")
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    return write_or_check(OUT, render(), argv, "contracts.idl.protocol")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
