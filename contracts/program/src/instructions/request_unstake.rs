//! request_unstake: start the unstake cooldown for `amount`. The stake stays in the vault, and
//! slashable, until withdraw_stake. A new request replaces the previous one and restarts the
//! cooldown. The request is usable only during one further cooldown after it matures (withdraw_stake
//! refuses it after requested_at + 2 x cooldown), so a request cannot be kept armed to leave at a
//! moment of the provider's choosing: the operator always gets a cooldown's notice of an exit.
//! Accounts: wallet (signer), config, provider (writable). Args: amount.

use super::common::{active_config, after, now};
use crate::error::Error;
use crate::events::{i64le, u64le, UnstakeRequested};
use crate::sdk::account::{load_mut, require_key, require_signer, AccountInfo};
use crate::sdk::borsh::Reader;
use crate::sdk::log::{emit, Event};
use crate::sdk::pubkey::Pubkey;
use crate::state::Provider;

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> Result<(), Error> {
    let [wallet, config, provider, ..] = accounts else {
        return Err(Error::NotEnoughAccounts);
    };
    let mut r = Reader::new(data);
    let amount = r.u64()?;
    r.finish()?;

    require_signer(wallet)?;
    let cfg = active_config(config, program_id)?;
    let p = load_mut::<Provider>(provider, program_id)?;
    require_key(wallet, &p.wallet, Error::Unauthorized)?;
    if amount == 0 {
        return Err(Error::ZeroAmount);
    }
    let t = now();
    let cooldown = cfg.unstake_cooldown.get();
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
