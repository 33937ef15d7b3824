//! request_unstake: start the unstake cooldown for `amount`. The stake stays in the vault, and
//! slashable, until withdraw_stake. A new request replaces the previous one and restarts the
//! cooldown. The request is usable only during one further cooldown after it matures (withdraw_stake
//! refuses it after requested_at + 2 x cooldown), so a request cannot be kept armed to leave at a
//! moment of the provider's choosing: the operator always gets a cooldown's notice of an exit.
//! Accounts: wallet (signer), config, provider (writable). Args: amount.

use super::common::{after, now, own_account_mut, require_nonzero, signed_config};
use crate::error::Error;
use crate::events::{i64le, u64le, UnstakeRequested};
use crate::sdk::account::AccountInfo;
use crate::sdk::borsh::Reader;
use crate::sdk::log::{emit, Event};
use crate::sdk::pubkey::Pubkey;
use crate::state::Provider;

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> Result<(), Error> {
    let [wallet, config, provider, ..] = accounts else {
        return Err(Error::NotEnoughAccounts);
    };
    let amount = Reader::only_u64(data)?;

    let cfg = signed_config(wallet, config, program_id)?;
    let p = own_account_mut::<Provider>(wallet, provider, program_id)?;
    require_nonzero(amount)?;
    let t = now();
    let cooldown = cfg.params_at(t).unstake_cooldown.get();
    let available_at = after(t, cooldown)?;
    let expires_at = after(available_at, cooldown)?;
    p.unstake_amount.set(amount);
    p.unstake_requested_at.set(t);

    emit(&UnstakeRequested {
        discriminator: UnstakeRequested::DISCRIMINATOR,
        wallet: *wallet.key(),
        amount: u64le(amount),
        requested_at: i64le(t),
        available_at: i64le(available_at),
        expires_at: i64le(expires_at),
    });
    Ok(())
}
