//! top_up: permissionless crank. While the escrow balance is below the customer's threshold, pull
//! min(top_up_amount, delegated allowance, source balance) from the customer's source token account
//! into escrow, with the Config PDA acting as the SPL delegate. The token program enforces the
//! allowance too, so the crank can never take more than the customer approved. Accounts: config,
//! customer (writable), escrow (writable), source (writable), mint, token_program.

use super::common::{active_config, require_vault, transfer_out};
use crate::error::Error;
use crate::events::{u64le, ToppedUp};
use crate::pda::load_pda_mut;
use crate::sdk::account::{require_key, AccountInfo};
use crate::sdk::borsh::Reader;
use crate::sdk::log::{emit, Event};
use crate::sdk::math::add;
use crate::sdk::pubkey::{is_zero, keq, Pubkey};
use crate::sdk::token::{require_token_program, TokenAccount};
use crate::state::Customer;

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> Result<(), Error> {
    let [config, customer, escrow, source, mint, token_program, ..] = accounts else {
        return Err(Error::NotEnoughAccounts);
    };
    Reader::new(data).finish()?;

    let cfg = active_config(config, program_id)?;
    require_token_program(token_program)?;
    let c = load_pda_mut::<Customer>(customer, program_id)?;
    require_vault(escrow, &c.escrow, mint, cfg)?;
    if is_zero(&c.top_up_source) || c.top_up_amount.get() == 0 {
        return Err(Error::TopUpNotConfigured);
    }
    require_key(source, &c.top_up_source, Error::WrongTokenAccount)?;
    let src = TokenAccount::load(source)?;
    src.require(&cfg.mint, &c.wallet)?;
    let balance = TokenAccount::load(escrow)?.amount();
    if balance >= c.top_up_threshold.get() {
        return Err(Error::TopUpNotNeeded);
    }
    let delegated = match src.delegate() {
        Some(d) if keq(d, config.key()) => src.delegated_amount(),
        _ => 0,
    };
    let mut amount = c.top_up_amount.get();
    if delegated < amount {
        amount = delegated;
    }
    if src.amount() < amount {
        amount = src.amount();
    }
    if amount == 0 {
        return Err(Error::NoAllowance);
    }
    // The Config PDA signs as the delegate of the customer's allowance.
    transfer_out(config, source, mint, escrow, amount, cfg)?;
    c.total_deposited.set(add(c.total_deposited.get(), amount)?);

    emit(&ToppedUp {
        discriminator: ToppedUp::DISCRIMINATOR,
        wallet: c.wallet,
        amount: u64le(amount),
        escrow_balance: u64le(add(balance, amount)?),
    });
    Ok(())
}
