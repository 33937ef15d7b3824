//! withdraw: after the withdrawal delay, pay the requested amount (at most the escrow balance) from
//! the escrow vault to a token account of the customer, and clear the request. The request is
//! honoured in [requested_at + withdrawal_delay, requested_at + 2 x withdrawal_delay] (the delay in
//! force now); after that it expired (WithdrawalRequestExpired) and the customer requests again.
//! Accounts: wallet
//! (signer), config, customer (writable), escrow (writable), destination (writable, token account of
//! the mint owned by wallet), mint, token_program.

use super::common::{after, now, own_account_mut, require_vault, signed_config, transfer_out};
use crate::error::Error;
use crate::events::{u64le, Withdrawn};
use crate::sdk::account::AccountInfo;
use crate::sdk::borsh::Reader;
use crate::sdk::log::{emit, Event};
use crate::sdk::pubkey::Pubkey;
use crate::sdk::token::{require_token_program, TokenAccount};
use crate::state::Customer;

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> Result<(), Error> {
    let [wallet, config, customer, escrow, destination, mint, token_program, ..] = accounts else {
        return Err(Error::NotEnoughAccounts);
    };
    Reader::new(data).finish()?;

    let cfg = signed_config(wallet, config, program_id)?;
    require_token_program(token_program)?;
    let c = own_account_mut::<Customer>(wallet, customer, program_id)?;
    require_vault(escrow, &c.escrow, mint, cfg)?;
    TokenAccount::load(destination)?.require(&cfg.mint, wallet.key())?;
    let requested = c.withdrawal_amount.get();
    if requested == 0 {
        return Err(Error::WithdrawalNotRequested);
    }
    let t = now();
    let delay = cfg.params_at(t).withdrawal_delay.get();
    let available_at = after(c.withdrawal_requested_at.get(), delay)?;
    if t < available_at {
        return Err(Error::WithdrawalDelayNotElapsed);
    }
    if t > after(available_at, delay)? {
        return Err(Error::WithdrawalRequestExpired);
    }
    let balance = TokenAccount::load(escrow)?.amount();
    let amount = if requested < balance { requested } else { balance };
    if amount == 0 {
        return Err(Error::InsufficientFunds);
    }
    transfer_out(config, escrow, mint, destination, amount, cfg)?;
    c.withdrawal_amount.set(0);
    c.withdrawal_requested_at.set(0);

    emit(&Withdrawn {
        discriminator: Withdrawn::DISCRIMINATOR,
        wallet: *wallet.key(),
        amount: u64le(amount),
        escrow_balance: u64le(balance - amount),
    });
    Ok(())
}
