//! claim_rewards: for a closed epoch, pay the provider reward_pool x its revenue / the epoch's total
//! revenue, rounded down, from the rewards vault to its payout account. Rounding down and the
//! `claimed <= reward_pool` check mean an epoch never pays out more than it was funded with.
//! Needs at least the minimum stake, not counting stake reserved by pending slashes. Accounts: wallet (signer), config, provider (writable),
//! stake_vault, provider_epoch (writable), epoch (writable), rewards_vault (writable), payout
//! (writable), mint, token_program. Args: epoch.

use super::common::{epoch_at, now, own_account_mut, signed_config, transfer_out, unencumbered_stake};
use crate::error::Error;
use crate::events::{u64le, RewardsClaimed};
use crate::pda::load_pda_mut;
use crate::sdk::account::{require_key, require_writable, AccountInfo};
use crate::sdk::borsh::Reader;
use crate::sdk::log::{emit, Event};
use crate::sdk::math::{add, mul_div_floor, sub};
use crate::sdk::pubkey::{keq, Pubkey};
use crate::sdk::token::require_token_program;
use crate::state::{Epoch, Provider, ProviderEpoch};

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> Result<(), Error> {
    let [wallet, config, provider, stake_vault, provider_epoch, epoch, rewards_vault, payout, mint, token_program, ..] = accounts else {
        return Err(Error::NotEnoughAccounts);
    };
    let number = Reader::only_u64(data)?;

    let cfg = signed_config(wallet, config, program_id)?;
    require_token_program(token_program)?;
    let p = own_account_mut::<Provider>(wallet, provider, program_id)?;
    require_key(stake_vault, &p.stake_vault, Error::WrongTokenAccount)?;
    require_key(payout, &p.payout, Error::WrongTokenAccount)?;
    require_writable(payout)?;
    require_key(rewards_vault, &cfg.rewards_vault, Error::WrongTokenAccount)?;
    require_writable(rewards_vault)?;
    require_key(mint, &cfg.mint, Error::WrongMint)?;
    let pe = load_pda_mut::<ProviderEpoch>(provider_epoch, program_id)?;
    if !keq(&pe.provider, &p.wallet) || pe.epoch.get() != number {
        return Err(Error::WrongPda);
    }
    let e = load_pda_mut::<Epoch>(epoch, program_id)?;
    if e.number.get() != number {
        return Err(Error::WrongPda);
    }
    let t = now();
    if number >= epoch_at(cfg, t)? {
        return Err(Error::EpochNotClosed);
    }
    if pe.claimed != 0 {
        return Err(Error::AlreadyClaimed);
    }
    // Stake reserved by pending slashes does not count: it is about to leave the vault.
    if unencumbered_stake(stake_vault, p)? < cfg.params_at(t).min_stake.get() {
        return Err(Error::StakeBelowMinimum);
    }
    let total = e.total_revenue.get();
    let pool = e.reward_pool.get();
    let reward = if total == 0 { 0 } else { mul_div_floor(pool, pe.revenue.get(), total)? };
    let claimed = add(e.claimed.get(), reward)?;
    if claimed > pool {
        return Err(Error::InsufficientFunds);
    }
    if reward > 0 {
        transfer_out(config, rewards_vault, mint, payout, reward, cfg)?;
    }
    e.claimed.set(claimed);
    pe.claimed = 1;
    pe.reward.set(reward);
    // Only epochs with revenue were counted as unclaimed (settle); an empty one opened by
    // prepare_settle can be claimed (for nothing) without touching the count.
    if pe.revenue.get() > 0 {
        p.unclaimed_epochs.set(sub(p.unclaimed_epochs.get(), 1)?);
    }

    emit(&RewardsClaimed {
        discriminator: RewardsClaimed::DISCRIMINATOR,
        provider: p.wallet,
        epoch: u64le(number),
        amount: u64le(reward),
        revenue: pe.revenue,
        total_revenue: u64le(total),
    });
    Ok(())
}
