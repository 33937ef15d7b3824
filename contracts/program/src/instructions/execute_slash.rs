//! execute_slash: permissionless. Moves the slashed stake to the beneficiary once the contest window
//! has passed without a contest (strictly after contest_deadline: at the deadline second the provider
//! may still contest), or at once when the arbiter upheld it. Pays at most the vault
//! balance. Accounts: config, provider (writable), slash (writable), stake_vault (writable),
//! beneficiary (writable), mint, token_program.

use super::common::{active_config, now, provider_slash, transfer_out};
use crate::error::Error;
use crate::events::{u64le, SlashExecuted};
use crate::sdk::account::{require_key, require_writable, AccountInfo};
use crate::sdk::borsh::Reader;
use crate::sdk::log::{emit, Event};
use crate::sdk::math::sub;
use crate::sdk::pubkey::Pubkey;
use crate::sdk::token::{require_token_program, TokenAccount};
use crate::state::slash::{SLASH_EXECUTED, SLASH_PROPOSED, SLASH_UPHELD};

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> Result<(), Error> {
    let [config, provider, slash, stake_vault, beneficiary, mint, token_program, ..] = accounts else {
        return Err(Error::NotEnoughAccounts);
    };
    Reader::new(data).finish()?;

    let cfg = active_config(config, program_id)?;
    require_token_program(token_program)?;
    let (p, s) = provider_slash(provider, slash, program_id)?;
    require_key(stake_vault, &p.stake_vault, Error::WrongTokenAccount)?;
    require_key(beneficiary, &s.beneficiary, Error::WrongTokenAccount)?;
    require_writable(stake_vault)?;
    require_writable(beneficiary)?;
    require_key(mint, &cfg.mint, Error::WrongMint)?;
    match s.state {
        SLASH_UPHELD => {}
        SLASH_PROPOSED => {
            if now() <= s.contest_deadline.get() {
                return Err(Error::ContestWindowOpen);
            }
        }
        _ => return Err(Error::SlashWrongState),
    }
    let balance = TokenAccount::load(stake_vault)?.amount();
    let want = s.amount.get();
    let amount = if want < balance { want } else { balance };
    if amount > 0 {
        transfer_out(config, stake_vault, mint, beneficiary, amount, cfg)?;
    }
    s.state = SLASH_EXECUTED;
    p.pending_slash.set(sub(p.pending_slash.get(), want)?);

    emit(&SlashExecuted {
        discriminator: SlashExecuted::DISCRIMINATOR,
        provider: p.wallet,
        index: s.index,
        amount: u64le(amount),
        beneficiary: s.beneficiary,
    });
    Ok(())
}
