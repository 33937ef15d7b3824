//! request_withdrawal: start the withdrawal delay for `amount` of unspent escrow. Receipts issued
//! before the request stay payable: the delay is longer than the settlement window. A new request
//! replaces the previous one and restarts the delay. Accounts: wallet (signer), config, customer
//! (writable). Args: amount.

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
    let available_at = after(t, cfg.withdrawal_delay.get())?;
    c.withdrawal_amount.set(amount);
    c.withdrawal_requested_at.set(t);

    emit(&WithdrawalRequested {
        discriminator: WithdrawalRequested::DISCRIMINATOR,
        wallet: *wallet.key(),
        amount: u64le(amount),
        requested_at: i64le(t),
        available_at: i64le(available_at),
    });
    Ok(())
}
