//! withdraw_stake: after the cooldown, and once every closed epoch with revenue has been claimed,
//! pay the requested amount from the stake vault, leaving pending slashes in it. The request is
//! usable in [requested_at + cooldown, requested_at + 2 x cooldown] (cooldown as configured now);
//! after that it has expired and the provider must request again (the stake stays bonded): a
//! request kept armed indefinitely would let the provider leave right after misbehaving, before a
//! slash can be proposed, and the cooldown would no longer give notice. Accounts: wallet
//! (signer), config, provider (writable), stake_vault (writable), destination (writable, token account
//! of the mint owned by wallet), mint, token_program.

use super::common::{after, epoch_at, now, own_account_mut, require_vault, signed_config, transfer_out};
use crate::error::Error;
use crate::events::{u64le, StakeWithdrawn};
use crate::sdk::account::AccountInfo;
use crate::sdk::borsh::Reader;
use crate::sdk::log::{emit, Event};
use crate::sdk::pubkey::Pubkey;
use crate::sdk::token::{require_token_program, TokenAccount};
use crate::state::Provider;

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> Result<(), Error> {
    let [wallet, config, provider, stake_vault, destination, mint, token_program, ..] = accounts else {
        return Err(Error::NotEnoughAccounts);
    };
    Reader::new(data).finish()?;

    let cfg = signed_config(wallet, config, program_id)?;
    require_token_program(token_program)?;
    let p = own_account_mut::<Provider>(wallet, provider, program_id)?;
    require_vault(stake_vault, &p.stake_vault, mint, cfg)?;
    TokenAccount::load(destination)?.require(&cfg.mint, wallet.key())?;
    let requested = p.unstake_amount.get();
    if requested == 0 {
        return Err(Error::UnstakeNotRequested);
    }
    let t = now();
    let cooldown = cfg.params_at(t).unstake_cooldown.get();
    let available_at = after(p.unstake_requested_at.get(), cooldown)?;
    if t < available_at {
        return Err(Error::CooldownNotElapsed);
    }
    if t > after(available_at, cooldown)? {
        return Err(Error::UnstakeRequestExpired);
    }
    // Only the current (open) epoch may remain unclaimed: the one unclaimed epoch is the current one
    // exactly when it is the latest epoch with revenue, since open epochs cannot be claimed.
    let unclaimed = p.unclaimed_epochs.get();
    let current = epoch_at(cfg, t)?;
    if unclaimed > 1 || (unclaimed == 1 && p.last_revenue_epoch.get() != current) {
        return Err(Error::UnclaimedEpochs);
    }
    let balance = TokenAccount::load(stake_vault)?.amount();
    let pending = p.pending_slash.get();
    let free = if balance > pending { balance - pending } else { 0 };
    let amount = if requested < free { requested } else { free };
    if amount == 0 {
        return Err(Error::InsufficientFunds);
    }
    transfer_out(config, stake_vault, mint, destination, amount, cfg)?;
    p.unstake_amount.set(0);
    p.unstake_requested_at.set(0);

    emit(&StakeWithdrawn {
        discriminator: StakeWithdrawn::DISCRIMINATOR,
        wallet: *wallet.key(),
        amount: u64le(amount),
        stake_balance: u64le(balance - amount),
    });
    Ok(())
}
