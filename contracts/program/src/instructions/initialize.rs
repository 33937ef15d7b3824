//! initialize: create the Config PDA and the rewards vault. Accounts: admin (signer, writable, pays),
//! config (writable, PDA ["config"]), mint, treasury (token account of mint), rewards_vault (writable,
//! PDA ["rewards"]), system_program, token_program, program (this program's account), program_data
//! (its ProgramData account under the upgradeable loader; any account otherwise).
//!
//! Who may initialize: the Config (admin, mint, treasury, meter) goes to the first caller, so between
//! deployment and initialize anyone could take it. Under the upgradeable loader the admin must
//! therefore be the program's upgrade authority (read from ProgramData), i.e. whoever deployed it.
//! A program owned by loader v1/v2 has no authority; such programs cannot be deployed on public
//! clusters any more and exist only in a genesis (test validator, LiteSVM, the embedded localnet),
//! whose owner controls the whole cluster anyway, so there the first caller still initializes. Any
//! other owner (loader v4, an immutable v3 program without authority) is refused.

use super::common::{create_state, now, require_payer, require_system_program, require_treasury};
use super::update_config::{validate_fees, validate_params};
use crate::error::Error;
use crate::events::{i64le, u16le, u64le, Initialized};
use crate::pda;
use crate::sdk::account::{require_uninitialized, require_writable, AccountInfo};
use crate::sdk::borsh::Reader;
use crate::sdk::cpi::SignerSeed;
use crate::sdk::log::emit;
use crate::sdk::pubkey::{keq, Pubkey, BPF_LOADER_DEPRECATED_ID, BPF_LOADER_ID, BPF_LOADER_UPGRADEABLE_ID, TOKEN_PROGRAM_ID};
use crate::sdk::system::CreateAccount;
use crate::sdk::token::{mint_decimals, require_token_program, InitializeAccount3, TOKEN_ACCOUNT_LEN};
use crate::state::config::{MeterKey, MAX_PERIOD, MIN_PERIOD, NO_PARAMS};
use crate::state::Config;

/// The admin controls this deployment (see the module doc).
#[inline(never)]
fn require_deployer(admin: &AccountInfo, program: &AccountInfo, program_data: &AccountInfo, program_id: &Pubkey) -> Result<(), Error> {
    if !keq(program.key(), program_id) {
        return Err(Error::WrongProgram);
    }
    if program.is_owned_by(&BPF_LOADER_ID) || program.is_owned_by(&BPF_LOADER_DEPRECATED_ID) {
        return Ok(());
    }
    if !program.is_owned_by(&BPF_LOADER_UPGRADEABLE_ID) {
        return Err(Error::NotUpgradeAuthority);
    }
    // UpgradeableLoaderState (bincode): Program = u32 tag 2 + programdata address; ProgramData =
    // u32 tag 3 + slot u64 + Option<Pubkey> upgrade authority (tag byte + 32 bytes).
    let pd = program.data();
    if pd.len() < 36 || pd[..4] != [2, 0, 0, 0] {
        return Err(Error::NotUpgradeAuthority);
    }
    let mut expected = [0u8; 32];
    expected.copy_from_slice(&pd[4..36]);
    if !keq(program_data.key(), &expected) || !program_data.is_owned_by(&BPF_LOADER_UPGRADEABLE_ID) {
        return Err(Error::WrongPda);
    }
    let d = program_data.data();
    if d.len() < 45 || d[..4] != [3, 0, 0, 0] || d[12] != 1 {
        return Err(Error::NotUpgradeAuthority);
    }
    let mut authority = [0u8; 32];
    authority.copy_from_slice(&d[13..45]);
    if !keq(&authority, admin.key()) {
        return Err(Error::NotUpgradeAuthority);
    }
    Ok(())
}

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> Result<(), Error> {
    let [admin, config, mint, treasury, rewards_vault, system_program, token_program, program, program_data, ..] = accounts
    else {
        return Err(Error::NotEnoughAccounts);
    };
    let mut r = Reader::new(data);
    let fee_bps = r.u16()?;
    let burn_bps = r.u16()?;
    let min_stake = r.u64()?;
    let withdrawal_delay = r.i64()?;
    let settlement_window = r.i64()?;
    let unstake_cooldown = r.i64()?;
    let contest_window = r.i64()?;
    let resolution_window = r.i64()?;
    let batch_retention = r.i64()?;
    let update_delay = r.i64()?;
    let epoch_length = r.i64()?;
    let meter = r.pubkey()?;
    let arbiter = r.pubkey()?;
    let config_bump = r.u8()?;
    let rewards_bump = r.u8()?;
    r.finish()?;

    require_payer(admin)?;
    require_deployer(admin, program, program_data, program_id)?;
    require_system_program(system_program)?;
    require_token_program(token_program)?;
    require_writable(config)?;
    require_writable(rewards_vault)?;
    require_uninitialized(config)?;
    require_uninitialized(rewards_vault)?;
    pda::config(config.key(), config_bump, program_id)?;
    pda::rewards(rewards_vault.key(), rewards_bump, program_id)?;
    let decimals = mint_decimals(mint)?;
    // The treasury may belong to anyone (the operator's wallet, a multisig); it must hold this mint.
    require_treasury(treasury, mint.key(), config.key())?;

    let bump = [config_bump];
    let seeds = [SignerSeed::of(pda::CONFIG), SignerSeed::of(&bump)];
    let cfg = create_state::<Config>(admin, config, &seeds, program_id)?;
    cfg.admin = *admin.key();
    cfg.mint = *mint.key();
    cfg.treasury = *treasury.key();
    cfg.rewards_vault = *rewards_vault.key();
    cfg.version.set(1);
    cfg.fee_bps.set(fee_bps);
    cfg.burn_bps.set(burn_bps);
    cfg.decimals = decimals;
    cfg.paused = 0;
    cfg.bump = config_bump;
    cfg.rewards_bump = rewards_bump;
    cfg.params.arbiter = *arbiter;
    cfg.params.min_stake.set(min_stake);
    cfg.params.withdrawal_delay.set(withdrawal_delay);
    cfg.params.settlement_window.set(settlement_window);
    cfg.params.unstake_cooldown.set(unstake_cooldown);
    cfg.params.contest_window.set(contest_window);
    cfg.params.resolution_window.set(resolution_window);
    cfg.params.batch_retention.set(batch_retention);
    cfg.params.update_delay.set(update_delay);
    cfg.pending = NO_PARAMS;
    cfg.pending_at.set(0);
    cfg.epoch_length.set(epoch_length);
    cfg.price_book_version.set(0);
    let genesis = now();
    cfg.genesis_ts.set(genesis);
    cfg.batch_count.set(0);
    cfg.meter_count = 1;
    cfg.meters[0] = MeterKey { key: *meter, since_version: u64le(1) };
    validate_fees(cfg)?;
    validate_params(&cfg.params)?;
    if !(MIN_PERIOD..=MAX_PERIOD).contains(&epoch_length) {
        return Err(Error::InvalidConfig);
    }

    let rbump = [rewards_bump];
    let rseeds = [SignerSeed::of(pda::REWARDS), SignerSeed::of(&rbump)];
    CreateAccount { payer: admin, new_account: rewards_vault, space: TOKEN_ACCOUNT_LEN, owner: &TOKEN_PROGRAM_ID, seeds: &rseeds }
        .invoke()?;
    InitializeAccount3 { account: rewards_vault, mint, owner: config.key() }.invoke()?;

    emit(&Initialized {
        discriminator: <Initialized as crate::sdk::log::Event>::DISCRIMINATOR,
        admin: *admin.key(),
        mint: *mint.key(),
        treasury: *treasury.key(),
        meter: *meter,
        arbiter: *arbiter,
        fee_bps: u16le(fee_bps),
        burn_bps: u16le(burn_bps),
        genesis_ts: i64le(genesis),
        epoch_length: i64le(epoch_length),
    });
    Ok(())
}
