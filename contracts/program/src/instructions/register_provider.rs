//! register_provider: create the Provider PDA and its stake vault (token account of the mint whose
//! authority is the Config PDA), and record the payout token account. Accounts: wallet (signer,
//! writable, pays), config, provider (writable, PDA ["provider", wallet]), stake_vault (writable, PDA
//! ["stake", wallet]), payout (token account of the mint owned by wallet), mint, system_program,
//! token_program. Args: provider_bump, stake_bump.

use super::common::{creation_config, register, Registration};
use crate::error::Error;
use crate::events::ProviderRegistered;
use crate::pda;
use crate::sdk::account::{require_key, AccountInfo};
use crate::sdk::borsh::Reader;
use crate::sdk::log::{emit, Event};
use crate::sdk::pubkey::Pubkey;
use crate::sdk::token::{require_token_program, TokenAccount};
use crate::state::Provider;

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> Result<(), Error> {
    let [wallet, config, provider, stake_vault, payout, mint, system_program, token_program, ..] = accounts else {
        return Err(Error::NotEnoughAccounts);
    };
    let mut r = Reader::new(data);
    let provider_bump = r.u8()?;
    let stake_bump = r.u8()?;
    r.finish()?;

    let cfg = creation_config(wallet, config, system_program, program_id)?;
    require_token_program(token_program)?;
    require_key(mint, &cfg.mint, Error::WrongMint)?;
    TokenAccount::load(payout)?.require(&cfg.mint, wallet.key())?;
    let accounts = Registration {
        account: provider,
        prefix: pda::PROVIDER,
        bump: provider_bump,
        vault: stake_vault,
        vault_prefix: pda::STAKE,
        vault_bump: stake_bump,
    };
    let p = register::<Provider>(wallet, config, mint, &accounts, program_id)?;
    p.wallet = *wallet.key();
    p.stake_vault = *stake_vault.key();
    p.payout = *payout.key();
    p.bump = provider_bump;
    p.stake_bump = stake_bump;

    emit(&ProviderRegistered {
        discriminator: ProviderRegistered::DISCRIMINATOR,
        wallet: *wallet.key(),
        provider: *provider.key(),
        stake_vault: *stake_vault.key(),
        payout: *payout.key(),
    });
    Ok(())
}
