//! fund_epoch: add reward emission for an epoch that is not closed yet (funding a closed epoch would
//! change the pro-rata share of providers who already claimed). Tokens go to the rewards vault.
//! Accounts: funder (signer, writable, pays), config, epoch (writable, PDA ["epoch", n]; created at
//! its canonical PDA when missing),
//! rewards_vault (writable), source (writable, token account of the mint owned by funder), mint,
//! system_program, token_program. Args: epoch, amount, epoch_bump.

use super::common::{creation_config, epoch_at, now, require_nonzero, require_vault};
use super::epoch_accounts::{open_epoch, EpochKey};
use crate::error::Error;
use crate::events::{u64le, EpochFunded};
use crate::sdk::account::AccountInfo;
use crate::sdk::borsh::Reader;
use crate::sdk::log::{emit, Event};
use crate::sdk::math::add;
use crate::sdk::pubkey::Pubkey;
use crate::sdk::token::{require_token_program, TokenAccount, TransferChecked};

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> Result<(), Error> {
    let [funder, config, epoch, rewards_vault, source, mint, system_program, token_program, ..] = accounts else {
        return Err(Error::NotEnoughAccounts);
    };
    let mut r = Reader::new(data);
    let number = r.u64()?;
    let amount = r.u64()?;
    let epoch_bump = r.u8()?;
    r.finish()?;

    let cfg = creation_config(funder, config, system_program, program_id)?;
    require_token_program(token_program)?;
    require_vault(rewards_vault, &cfg.rewards_vault, mint, cfg)?;
    TokenAccount::load(source)?.require(&cfg.mint, funder.key())?;
    require_nonzero(amount)?;
    if number < epoch_at(cfg, now())? {
        return Err(Error::EpochClosed);
    }
    let e = open_epoch(funder, epoch, &EpochKey { number, bump: epoch_bump, wallet: funder.key() }, program_id)?;
    let pool = add(e.reward_pool.get(), amount)?;
    TransferChecked { from: source, mint, to: rewards_vault, authority: funder, amount, decimals: cfg.decimals }.invoke(&[])?;
    e.reward_pool.set(pool);

    emit(&EpochFunded {
        discriminator: EpochFunded::DISCRIMINATOR,
        epoch: u64le(number),
        amount: u64le(amount),
        reward_pool: u64le(pool),
    });
    Ok(())
}
