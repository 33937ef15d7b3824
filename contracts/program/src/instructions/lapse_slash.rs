//! lapse_slash: permissionless. A contested slash the arbiter did not resolve by its resolve_deadline
//! is rejected (its reserved amount released): an appeal nobody judges must not keep the provider's
//! stake reserved forever, and the burden of deciding is on the side that wants the stake. Strictly
//! after resolve_deadline (resolve_slash is accepted up to it inclusive, so the two never overlap).
//! Accounts: config, provider (writable), slash (writable).

use super::common::{active_config, now, provider_slash};
use crate::error::Error;
use crate::events::SlashResolved;
use crate::sdk::account::AccountInfo;
use crate::sdk::borsh::Reader;
use crate::sdk::log::{emit, Event};
use crate::sdk::math::sub;
use crate::sdk::pubkey::Pubkey;
use crate::state::slash::{SLASH_CONTESTED, SLASH_REJECTED};

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> Result<(), Error> {
    let [config, provider, slash, ..] = accounts else {
        return Err(Error::NotEnoughAccounts);
    };
    Reader::new(data).finish()?;

    active_config(config, program_id)?;
    let (p, s) = provider_slash(provider, slash, program_id)?;
    if s.state != SLASH_CONTESTED {
        return Err(Error::SlashWrongState);
    }
    if now() <= s.resolve_deadline.get() {
        return Err(Error::ResolutionWindowOpen);
    }
    s.state = SLASH_REJECTED;
    p.pending_slash.set(sub(p.pending_slash.get(), s.amount.get())?);

    emit(&SlashResolved {
        discriminator: SlashResolved::DISCRIMINATOR,
        provider: p.wallet,
        index: s.index,
        upheld: 0,
        lapsed: 1,
    });
    Ok(())
}
