//! initialize: create the Config PDA and the rewards vault. Accounts: admin (signer, writable, pays),
//! config (writable, PDA ["config"]), mint, treasury (token account of mint), rewards_vault (writable,
//! PDA ["rewards"]), system_program, token_program.

use super::common::{create_state, now, require_payer, require_system_program};
use super::update_config::validate;
use crate::error::Error;
use crate::events::{i64le, u16le, u64le, Initialized};
use crate::pda;
use crate::sdk::account::{require_uninitialized, require_writable, AccountInfo};
use crate::sdk::borsh::Reader;
use crate::sdk::cpi::SignerSeed;
use crate::sdk::log::emit;
use crate::sdk::pubkey::{Pubkey, TOKEN_PROGRAM_ID};
use crate::sdk::system::CreateAccount;
use crate::sdk::token::{mint_decimals, require_token_program, InitializeAccount3, TokenAccount, TOKEN_ACCOUNT_LEN};
use crate::state::config::MeterKey;
use crate::state::Config;

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> Result<(), Error> {
    let [admin, config, mint, treasury, rewards_vault, system_program, token_program, ..] = accounts else {
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
    let epoch_length = r.i64()?;
    let meter = r.pubkey()?;
    let arbiter = r.pubkey()?;
    let config_bump = r.u8()?;
    let rewards_bump = r.u8()?;
    r.finish()?;

    require_payer(admin)?;
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
    let t = TokenAccount::load(treasury)?;
    if !crate::sdk::pubkey::keq(t.mint(), mint.key()) {
        return Err(Error::WrongMint);
    }

    let bump = [config_bump];
    let seeds = [SignerSeed::of(pda::CONFIG), SignerSeed::of(&bump)];
    let cfg = create_state::<Config>(admin, config, &seeds, program_id)?;
    cfg.admin = *admin.key();
    cfg.mint = *mint.key();
    cfg.treasury = *treasury.key();
    cfg.arbiter = *arbiter;
    cfg.rewards_vault = *rewards_vault.key();
    cfg.version.set(1);
    cfg.fee_bps.set(fee_bps);
    cfg.burn_bps.set(burn_bps);
    cfg.decimals = decimals;
    cfg.paused = 0;
    cfg.bump = config_bump;
    cfg.rewards_bump = rewards_bump;
    cfg.min_stake.set(min_stake);
    cfg.withdrawal_delay.set(withdrawal_delay);
    cfg.settlement_window.set(settlement_window);
    cfg.unstake_cooldown.set(unstake_cooldown);
    cfg.contest_window.set(contest_window);
    cfg.epoch_length.set(epoch_length);
    let genesis = now();
    cfg.genesis_ts.set(genesis);
    cfg.batch_count.set(0);
    cfg.meter_count = 1;
    cfg.meters[0] = MeterKey { key: *meter, since_version: u64le(1) };
    validate(cfg)?;

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
