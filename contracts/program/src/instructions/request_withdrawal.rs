//! request_withdrawal: start the withdrawal delay for `amount` of unspent escrow. Receipts issued
//! before the request stay payable: the delay is longer than the settlement window. A new request
//! replaces the previous one and restarts the delay. Accounts: wallet (signer), config, customer
//! (writable). Args: amount.

use super::common::{active_config, after, now};
use crate::error::Error;
use crate::events::{i64le, u64le, WithdrawalRequested};
use crate::sdk::account::{load_mut, require_key, require_signer, AccountInfo};
use crate::sdk::borsh::Reader;
use crate::sdk::log::{emit, Event};
use crate::sdk::pubkey::Pubkey;
use crate::state::Customer;

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> Result<(), Error> {
    let [wallet, config, customer, ..] = accounts else {
        return Err(Error::NotEnoughAccounts);
    };
    let mut r = Reader::new(data);
    let amount = r.u64()?;
    r.finish()?;

    require_signer(wallet)?;
    let cfg = active_config(config, program_id)?;
    let c = load_mut::<Customer>(customer, program_id)?;
    require_key(wallet, &c.wallet, Error::Unauthorized)?;
    if amount == 0 {
        return Err(Error::ZeroAmount);
    }
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
