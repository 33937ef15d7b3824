//! set_treasury: the admin names another token account of the mint to receive fees (security review
//! finding 9: a closed or frozen treasury would otherwise stop every settlement for good). Applies at
//! once: fees are the operator's own income, no customer or provider is owed anything by where they
//! go, and each Slash records its beneficiary when proposed. Same checks as initialize: a token
//! account of config.mint, anyone's but not a program vault. Accounts: admin (signer), config
//! (writable), treasury.

use super::common::{admin_config, require_treasury};
use crate::error::Error;
use crate::events::TreasuryChanged;
use crate::sdk::account::AccountInfo;
use crate::sdk::borsh::Reader;
use crate::sdk::log::{emit, Event};
use crate::sdk::pubkey::Pubkey;

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> Result<(), Error> {
    let [admin, config, treasury, ..] = accounts else {
        return Err(Error::NotEnoughAccounts);
    };
    Reader::new(data).finish()?;

    let cfg = admin_config(admin, config, program_id)?;
    require_treasury(treasury, &cfg.mint, config.key())?;
    let old = cfg.treasury;
    cfg.treasury = *treasury.key();

    emit(&TreasuryChanged {
        discriminator: TreasuryChanged::DISCRIMINATOR,
        admin: cfg.admin,
        old_treasury: old,
        new_treasury: cfg.treasury,
    });
    Ok(())
}
