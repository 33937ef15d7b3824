//! request_withdrawal: start the withdrawal delay for `amount` of unspent escrow. Receipts issued
//! before the request stay payable: the delay is longer than the settlement window. A new request
//! replaces the previous one and restarts the delay. The request is usable only during one further
//! delay after it matures (withdraw refuses it after requested_at + 2 x withdrawal_delay), like an
//! unstake request: a request armed at deposit time (say for u64::MAX) would otherwise let the
//! customer leave at a moment of its choosing, after receipts were issued and before they settle.
//! Accounts: wallet (signer), config, customer (writable). Args: amount.

use super::common::{after, now, own_account_mut, require_nonzero, signed_config};
use crate::error::Error;
use crate::events::{i64le, u64le, WithdrawalRequested};
use crate::sdk::account::AccountInfo;
use crate::sdk::borsh::Reader;
use crate::sdk::log::{emit, Event};
use crate::sdk::pubkey::Pubkey;
use crate::state::Customer;

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> Result<(), Error> {
    let [wallet, config, customer, ..] = accounts else {
        return Err(Error::NotEnoughAccounts);
    };
    let amount = Reader::only_u64(data)?;

    let cfg = signed_config(wallet, config, program_id)?;
    let c = own_account_mut::<Customer>(wallet, customer, program_id)?;
    require_nonzero(amount)?;
    let t = now();
    let delay = cfg.params_at(t).withdrawal_delay.get();
    let available_at = after(t, delay)?;
    let expires_at = after(available_at, delay)?;
    c.withdrawal_amount.set(amount);
    c.withdrawal_requested_at.set(t);

    emit(&WithdrawalRequested {
        discriminator: WithdrawalRequested::DISCRIMINATOR,
        wallet: *wallet.key(),
        amount: u64le(amount),
        requested_at: i64le(t),
        available_at: i64le(available_at),
        expires_at: i64le(expires_at),
    });
    Ok(())
}
