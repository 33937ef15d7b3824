//! resolve_slash: the arbiter upholds or rejects a contested slash. A rejected slash releases its
//! reserved amount. Accounts: arbiter (signer), config, provider (writable), slash (writable).
//! Args: uphold.

use super::common::active_config;
use crate::error::Error;
use crate::events::SlashResolved;
use crate::sdk::account::{load_mut, require_key, require_signer, AccountInfo};
use crate::sdk::borsh::Reader;
use crate::sdk::log::{emit, Event};
use crate::sdk::math::sub;
use crate::sdk::pubkey::{keq, Pubkey};
use crate::state::slash::{SLASH_CONTESTED, SLASH_REJECTED, SLASH_UPHELD};
use crate::state::{Provider, Slash};

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> Result<(), Error> {
    let [arbiter, config, provider, slash, ..] = accounts else {
        return Err(Error::NotEnoughAccounts);
    };
    let mut r = Reader::new(data);
    let uphold = r.bool()?;
    r.finish()?;

    require_signer(arbiter)?;
    let cfg = active_config(config, program_id)?;
    require_key(arbiter, &cfg.arbiter, Error::NotArbiter)?;
    let p = load_mut::<Provider>(provider, program_id)?;
    let s = load_mut::<Slash>(slash, program_id)?;
    if !keq(&s.provider, &p.wallet) {
        return Err(Error::WrongPda);
    }
    if s.state != SLASH_CONTESTED {
        return Err(Error::SlashWrongState);
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
    });
    Ok(())
}
