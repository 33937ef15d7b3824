//! resolve_slash: the slash's recorded arbiter upholds or rejects a contested slash, until its
//! resolve_deadline (inclusive). The arbiter is the one in force when the slash was proposed, not the
//! current config.arbiter: the admin, who proposes slashes, cannot name itself judge of an appeal
//! already under way. A rejected slash releases its reserved amount. Accounts: arbiter (signer),
//! config, provider (writable), slash (writable). Args: uphold.

use super::common::{active_config, now, provider_slash};
use crate::error::Error;
use crate::events::SlashResolved;
use crate::sdk::account::{require_key, require_signer, AccountInfo};
use crate::sdk::borsh::Reader;
use crate::sdk::log::{emit, Event};
use crate::sdk::math::sub;
use crate::sdk::pubkey::Pubkey;
use crate::state::slash::{SLASH_CONTESTED, SLASH_REJECTED, SLASH_UPHELD};

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> Result<(), Error> {
    let [arbiter, config, provider, slash, ..] = accounts else {
        return Err(Error::NotEnoughAccounts);
    };
    let mut r = Reader::new(data);
    let uphold = r.bool()?;
    r.finish()?;

    require_signer(arbiter)?;
    active_config(config, program_id)?;
    let (p, s) = provider_slash(provider, slash, program_id)?;
    require_key(arbiter, &s.arbiter, Error::NotArbiter)?;
    if s.state != SLASH_CONTESTED {
        return Err(Error::SlashWrongState);
    }
    if now() > s.resolve_deadline.get() {
        return Err(Error::ResolutionWindowClosed);
    }
    if uphold {
        s.state = SLASH_UPHELD;
    } else {
        s.state = SLASH_REJECTED;
        p.pending_slash.set(sub(p.pending_slash.get(), s.amount.get())?);
    }

    emit(&SlashResolved {
        discriminator: SlashResolved::DISCRIMINATOR,
        provider: p.wallet,
        index: s.index,
        upheld: uphold as u8,
        lapsed: 0,
    });
    Ok(())
}
