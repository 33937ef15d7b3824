//! settle: permissionless crank. Takes one receipt encoding and its Merkle proof against a posted
//! batch and pays cumulative minus already-settled from the customer's escrow: the fee to the
//! treasury, the burn share burned, the rest to the provider's payout account. One transaction settles
//! a channel for any number of receipts, because amounts are cumulative. All or nothing: every check
//! runs before the first token moves, and a failing CPI fails the whole transaction.
//!
//! Consent: the Channel must exist, and only the customer's own set_channel_limit creates it; a pair
//! the customer never opened is refused (ChannelNotOpened). Rewards: the gross amount is credited to
//! the provider's revenue in the current epoch (Epoch / ProviderEpoch, created on demand; a crank that
//! sends prepare_settle first keeps settle free of creations) only while the provider's unencumbered
//! stake is at least min_stake; payment itself never depends on the stake (Settled.rewarded says which).
//!
//! Accounts: payer (signer, writable; pays for Epoch / ProviderEpoch created on demand), config,
//! batch, customer (writable), escrow (writable), provider (writable), stake_vault, payout (writable),
//! treasury (writable), mint (writable, for the burn), channel (writable), epoch (writable),
//! provider_epoch (writable), system_program, token_program.
//! Args: receipt [u8; 248], proof Vec<[u8; 32]>, epoch_bump, provider_epoch_bump.

use super::common::{config_seeds, creation_config, epoch_at, now, opened_channel, unencumbered_stake};
use super::epoch_accounts::{open_epoch, open_provider_epoch, EpochKey};
use crate::error::Error;
use crate::events::{u64le, Settled};
use crate::merkle::{self, MAX_PROOF_LEN};
use crate::pda::{load_pda, load_pda_mut};
use crate::receipt::{Receipt, RECEIPT_LEN};
use crate::sdk::account::{require_key, require_writable, AccountInfo};
use crate::sdk::borsh::Reader;
use crate::sdk::log::{emit, Event};
use crate::sdk::math::{add, mul_div_floor, sub};
use crate::sdk::pubkey::{keq, Pubkey};
use crate::sdk::token::{require_token_program, Burn, TokenAccount, Transfer};
use crate::state::config::BPS_DENOMINATOR;
use crate::state::{Batch, Customer, Provider};

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> Result<(), Error> {
    let [payer, config, batch, customer, escrow, provider, stake_vault, payout, treasury, mint, channel, epoch, provider_epoch, system_program, token_program, ..] =
        accounts
    else {
        return Err(Error::NotEnoughAccounts);
    };
    let mut r = Reader::new(data);
    let receipt_bytes = r.take(RECEIPT_LEN)?;
    let proof_len = r.u32()? as usize;
    if proof_len > MAX_PROOF_LEN {
        return Err(Error::ProofTooLong);
    }
    let proof = r.take(proof_len * 32)?;
    let epoch_bump = r.u8()?;
    let provider_epoch_bump = r.u8()?;
    r.finish()?;

    let cfg = creation_config(payer, config, system_program, program_id)?;
    require_token_program(token_program)?;
    let bt = load_pda::<Batch>(batch, program_id)?;

    // The receipt: well formed, of this program, of its batch's config version, from a meter that
    // was registered when the batch was posted and still is.
    let rc = Receipt::parse(receipt_bytes)?;
    if !keq(rc.program_id(), program_id) {
        return Err(Error::ReceiptProgramMismatch);
    }
    if rc.config_version() != bt.config_version.get() {
        return Err(Error::ReceiptConfigVersion);
    }
    match cfg.meter(&bt.meter) {
        Some(m) if m.since_version.get() <= bt.config_version.get() => {}
        _ => return Err(Error::MeterRetired),
    }

    // The parties and their token accounts.
    let c = load_pda_mut::<Customer>(customer, program_id)?;
    let p = load_pda_mut::<Provider>(provider, program_id)?;
    if !keq(&c.wallet, rc.customer()) || !keq(&p.wallet, rc.provider()) {
        return Err(Error::ReceiptChannelMismatch);
    }
    require_key(escrow, &c.escrow, Error::WrongTokenAccount)?;
    require_key(stake_vault, &p.stake_vault, Error::WrongTokenAccount)?;
    require_key(payout, &p.payout, Error::WrongTokenAccount)?;
    require_key(treasury, &cfg.treasury, Error::WrongTokenAccount)?;
    require_key(mint, &cfg.mint, Error::WrongMint)?;
    require_writable(escrow)?;
    require_writable(payout)?;
    require_writable(treasury)?;
    require_writable(mint)?;

    // Committed on-chain: the proof leads from the receipt id to the batch root.
    let rid = rc.id();
    if !merkle::verify(&rid, proof, &bt.root) {
        return Err(Error::InvalidProof);
    }

    // Channel ordering: strictly newer receipt, strictly larger cumulative amount, and an unbroken
    // hash chain when the receipt directly follows the last settled one.
    let ch = opened_channel(channel, &c.wallet, &p.wallet, program_id)?;
    let seq = rc.seq();
    let last_seq = ch.last_seq.get();
    if seq <= last_seq {
        return Err(Error::ReplayedReceipt);
    }
    let cum = rc.cum_amount();
    let settled = ch.settled_amount.get();
    if cum <= settled {
        return Err(Error::CumulativeNotIncreasing);
    }
    if last_seq != 0 && seq == last_seq + 1 && !keq(rc.prev_receipt_id(), &ch.last_receipt_id) {
        return Err(Error::BrokenHashChain);
    }
    let amount = cum - settled;

    // The customer's per-epoch limit on this channel.
    let t = now();
    let ep = epoch_at(cfg, t)?;
    let spent = if ch.spent_epoch.get() == ep { ch.spent_in_epoch.get() } else { 0 };
    let spent_after = add(spent, amount)?;
    // The limit in force now: a lowered limit counts only once its settlement window has passed.
    if spent_after > ch.limit_at(t) {
        return Err(Error::ChannelLimitExceeded);
    }

    // The escrow must pay in full: checked here so the error says so (the token program would
    // refuse too and fail the transaction as a whole).
    if TokenAccount::load(escrow)?.amount() < amount {
        return Err(Error::EscrowUnderfunded);
    }
    let fee = mul_div_floor(amount, cfg.fee_bps.get() as u64, BPS_DENOMINATOR)?;
    let burned = mul_div_floor(amount, cfg.burn_bps.get() as u64, BPS_DENOMINATOR)?;
    let provider_amount = sub(sub(amount, fee)?, burned)?;
    // Rewards only for revenue earned while bonded (security review finding 7): a provider cannot
    // earn unstaked and stake the minimum only to claim.
    let rewarded = unencumbered_stake(stake_vault, p)? >= cfg.params_at(t).min_stake.get();

    let bump = [cfg.bump];
    let seeds = config_seeds(&bump);
    // Transfer, not TransferChecked: escrow (created by register_customer), payout (mint-checked at
    // register_provider) and treasury (mint-checked at initialize) are all of the configured mint, so
    // the checked variant would only spend ~1,500 CU more per transfer to re-prove it.
    if fee > 0 {
        Transfer { from: escrow, to: treasury, authority: config, amount: fee }.invoke(&seeds)?;
    }
    if burned > 0 {
        Burn { from: escrow, mint, authority: config, amount: burned }.invoke(&seeds)?;
    }
    if provider_amount > 0 {
        Transfer { from: escrow, to: payout, authority: config, amount: provider_amount }.invoke(&seeds)?;
    }

    // Revenue of the current epoch, for rewards.
    if rewarded {
        let key = EpochKey { number: ep, bump: epoch_bump, wallet: &p.wallet };
        let e = open_epoch(payer, epoch, &key, program_id)?;
        e.total_revenue.set(add(e.total_revenue.get(), amount)?);
        let pkey = EpochKey { number: ep, bump: provider_epoch_bump, wallet: &p.wallet };
        let pe = open_provider_epoch(payer, provider_epoch, &pkey, program_id)?;
        // An epoch becomes unclaimed with its first revenue, not with its account: prepare_settle lets
        // anyone create a ProviderEpoch, and an empty one must not hold back the provider's unstake.
        let first_revenue = pe.revenue.get() == 0;
        pe.revenue.set(add(pe.revenue.get(), amount)?);
        if first_revenue {
            p.unclaimed_epochs.set(add(p.unclaimed_epochs.get(), 1)?);
            if ep > p.last_revenue_epoch.get() {
                p.last_revenue_epoch.set(ep);
            }
        }
    }
    p.total_revenue.set(add(p.total_revenue.get(), amount)?);
    c.total_settled.set(add(c.total_settled.get(), amount)?);

    ch.settled_amount.set(cum);
    ch.last_seq.set(seq);
    ch.last_receipt_id = rid;
    ch.spent_epoch.set(ep);
    ch.spent_in_epoch.set(spent_after);

    emit(&Settled {
        discriminator: Settled::DISCRIMINATOR,
        customer: c.wallet,
        provider: p.wallet,
        batch_index: bt.index,
        seq: u64le(seq),
        receipt_id: rid,
        cum_amount: u64le(cum),
        amount: u64le(amount),
        fee: u64le(fee),
        burned: u64le(burned),
        provider_amount: u64le(provider_amount),
        epoch: u64le(ep),
        rewarded: rewarded as u8,
    });
    Ok(())
}
