//! contest_slash: the provider contests a proposed slash within the contest window, with the hash
//! of its own evidence; the arbiter then decides. Accounts: wallet (signer), config, provider, slash
//! (writable). Args: evidence_hash. Accepted while the program is paused (see below). The window
//! is the Slash's own: until contest_deadline inclusive (execute_slash only after it, so the two
//! never overlap).

use super::common::now;
use crate::error::Error;
use crate::events::{SlashContested};
use crate::pda::{load_pda, load_pda_mut};
use crate::sdk::account::{require_key, require_signer, AccountInfo};
use crate::sdk::borsh::Reader;
use crate::sdk::log::{emit, Event};
use crate::sdk::pubkey::{keq, Pubkey};
use crate::state::slash::{SLASH_CONTESTED, SLASH_PROPOSED};
use crate::state::{Config, Provider, Slash};

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> Result<(), Error> {
    let [wallet, config, provider, slash, ..] = accounts else {
        return Err(Error::NotEnoughAccounts);
    };
    let mut r = Reader::new(data);
    let evidence = r.pubkey()?;
    r.finish()?;

    require_signer(wallet)?;
    // Not refused while paused: the contest window keeps running during a pause, and the admin who
    // proposes slashes also holds the pause switch; refusing here would let the admin pause through
    // the window and execute the slash without appeal. Contesting moves no tokens.
    load_pda::<Config>(config, program_id)?;
    let p = load_pda::<Provider>(provider, program_id)?;
    require_key(wallet, &p.wallet, Error::Unauthorized)?;
    let s = load_pda_mut::<Slash>(slash, program_id)?;
    if !keq(&s.provider, &p.wallet) {
        return Err(Error::Unauthorized);
    }
    if s.state != SLASH_PROPOSED {
        return Err(Error::SlashWrongState);
    }
    if now() > s.contest_deadline.get() {
        return Err(Error::ContestWindowClosed);
    }
    s.state = SLASH_CONTESTED;
    s.contest_evidence_hash = *evidence;

    emit(&SlashContested {
        discriminator: SlashContested::DISCRIMINATOR,
        provider: p.wallet,
        index: s.index,
        evidence_hash: *evidence,
    });
    Ok(())
}
