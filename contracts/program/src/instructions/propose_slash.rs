//! propose_slash: the admin (operator) proposes to slash `amount` of a provider's stake, with an
//! evidence hash and the token account that would receive it (treasury or harmed customer). The
//! amount is reserved: withdraw_stake leaves it in the vault until the slash is executed or rejected.
//! Accounts: admin (signer, writable, pays), config, provider (writable), stake_vault, slash
//! (writable, PDA ["slash", provider wallet, provider.slash_count]), beneficiary (token account of
//! the mint), system_program. Args: amount, evidence_hash, slash_bump.
//! The arbiter and both deadlines (contest_deadline = now + contest_window, resolve_deadline =
//! contest_deadline + resolution_window, as in force now) are recorded on the Slash: a later
//! update_config (which takes effect only after update_delay anyway) cannot change who judges this
//! slash's appeal or how long the provider has.

use super::common::{active_config, after, create_state, now, require_payer, require_system_program};
use crate::error::Error;
use crate::events::{i64le, u64le, SlashProposed};
use crate::pda;
use crate::pda::load_pda_mut;
use crate::sdk::account::{require_key, require_writable, AccountInfo};
use crate::sdk::borsh::Reader;
use crate::sdk::cpi::SignerSeed;
use crate::sdk::log::{emit, Event};
use crate::sdk::math::add;
use crate::sdk::pubkey::{keq, Pubkey};
use crate::sdk::token::TokenAccount;
use crate::state::slash::SLASH_PROPOSED;
use crate::state::{Provider, Slash};

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> Result<(), Error> {
    let [admin, config, provider, stake_vault, slash, beneficiary, system_program, ..] = accounts else {
        return Err(Error::NotEnoughAccounts);
    };
    let mut r = Reader::new(data);
    let amount = r.u64()?;
    let evidence = r.pubkey()?;
    let slash_bump = r.u8()?;
    r.finish()?;

    require_payer(admin)?;
    let cfg = active_config(config, program_id)?;
    require_key(admin, &cfg.admin, Error::Unauthorized)?;
    require_system_program(system_program)?;
    let p = load_pda_mut::<Provider>(provider, program_id)?;
    require_key(stake_vault, &p.stake_vault, Error::WrongTokenAccount)?;
    let b = TokenAccount::load(beneficiary)?;
    if !keq(b.mint(), &cfg.mint) {
        return Err(Error::WrongMint);
    }
    if amount == 0 {
        return Err(Error::ZeroAmount);
    }
    let balance = TokenAccount::load(stake_vault)?.amount();
    let pending = add(p.pending_slash.get(), amount)?;
    if pending > balance {
        return Err(Error::SlashTooLarge);
    }
    require_writable(slash)?;
    let index = p.slash_count.get();
    pda::slash(slash.key(), &p.wallet, index, slash_bump, program_id)?;
    let idx = index.to_le_bytes();
    let bb = [slash_bump];
    let seeds = [SignerSeed::of(pda::SLASH), SignerSeed::of(&p.wallet), SignerSeed::of(&idx), SignerSeed::of(&bb)];
    let s = create_state::<Slash>(admin, slash, &seeds, program_id)?;
    let t = now();
    let params = cfg.params_at(t);
    let deadline = after(t, params.contest_window.get())?;
    let resolve_deadline = after(deadline, params.resolution_window.get())?;
    s.provider = p.wallet;
    s.index.set(index);
    s.bump = slash_bump;
    s.amount.set(amount);
    s.evidence_hash = *evidence;
    s.beneficiary = *beneficiary.key();
    s.state = SLASH_PROPOSED;
    s.proposed_at.set(t);
    s.contest_deadline.set(deadline);
    s.arbiter = params.arbiter;
    s.resolve_deadline.set(resolve_deadline);
    p.pending_slash.set(pending);
    p.slash_count.set(add(index, 1)?);

    emit(&SlashProposed {
        discriminator: SlashProposed::DISCRIMINATOR,
        provider: p.wallet,
        index: u64le(index),
        amount: u64le(amount),
        evidence_hash: *evidence,
        beneficiary: *beneficiary.key(),
        contest_deadline: i64le(deadline),
        arbiter: params.arbiter,
        resolve_deadline: i64le(resolve_deadline),
    });
    Ok(())
}
