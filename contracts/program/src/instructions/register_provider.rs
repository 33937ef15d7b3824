//! register_provider: create the Provider PDA and its stake vault (token account of the mint whose
//! authority is the Config PDA), and record the payout token account. Accounts: wallet (signer,
//! writable, pays), config, provider (writable, PDA ["provider", wallet]), stake_vault (writable, PDA
//! ["stake", wallet]), payout (token account of the mint owned by wallet), mint, system_program,
//! token_program. Args: provider_bump, stake_bump.

use super::common::{active_config, create_state, require_payer, require_system_program};
use crate::error::Error;
use crate::events::ProviderRegistered;
use crate::pda;
use crate::sdk::account::{require_key, require_uninitialized, require_writable, AccountInfo};
use crate::sdk::borsh::Reader;
use crate::sdk::cpi::SignerSeed;
use crate::sdk::log::{emit, Event};
use crate::sdk::pubkey::{Pubkey, TOKEN_PROGRAM_ID};
use crate::sdk::system::CreateAccount;
use crate::sdk::token::{require_token_program, InitializeAccount3, TokenAccount, TOKEN_ACCOUNT_LEN};
use crate::state::Provider;

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> Result<(), Error> {
    let [wallet, config, provider, stake_vault, payout, mint, system_program, token_program, ..] = accounts else {
        return Err(Error::NotEnoughAccounts);
    };
    let mut r = Reader::new(data);
    let provider_bump = r.u8()?;
    let stake_bump = r.u8()?;
    r.finish()?;

    require_payer(wallet)?;
    let cfg = active_config(config, program_id)?;
    require_system_program(system_program)?;
    require_token_program(token_program)?;
    require_key(mint, &cfg.mint, Error::WrongMint)?;
    TokenAccount::load(payout)?.require(&cfg.mint, wallet.key())?;
    require_writable(provider)?;
    require_writable(stake_vault)?;
    require_uninitialized(stake_vault)?;
    pda::of_wallet(pda::PROVIDER, provider.key(), wallet.key(), provider_bump, program_id)?;
    pda::of_wallet(pda::STAKE, stake_vault.key(), wallet.key(), stake_bump, program_id)?;

    let b = [provider_bump];
    let seeds = [SignerSeed::of(pda::PROVIDER), SignerSeed::of(wallet.key()), SignerSeed::of(&b)];
    let p = create_state::<Provider>(wallet, provider, &seeds, program_id)?;
    p.wallet = *wallet.key();
    p.stake_vault = *stake_vault.key();
    p.payout = *payout.key();
    p.bump = provider_bump;
    p.stake_bump = stake_bump;

    let sb = [stake_bump];
    let sseeds = [SignerSeed::of(pda::STAKE), SignerSeed::of(wallet.key()), SignerSeed::of(&sb)];
    CreateAccount { payer: wallet, new_account: stake_vault, space: TOKEN_ACCOUNT_LEN, owner: &TOKEN_PROGRAM_ID, seeds: &sseeds }
        .invoke()?;
    InitializeAccount3 { account: stake_vault, mint, owner: config.key() }.invoke()?;

    emit(&ProviderRegistered {
        discriminator: ProviderRegistered::DISCRIMINATOR,
        wallet: *wallet.key(),
        provider: *provider.key(),
        stake_vault: *stake_vault.key(),
        payout: *payout.key(),
    });
    Ok(())
}
