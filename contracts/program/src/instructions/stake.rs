//! stake: move tokens from the provider's token account into its stake vault. Accounts: wallet
//! (signer), config, provider, stake_vault (writable), source (writable, token account of the mint
//! owned by wallet), mint, token_program. Args: amount.

use super::common::active_config;
use crate::error::Error;
use crate::events::{u64le, Staked};
use crate::sdk::account::{load, require_key, require_signer, require_writable, AccountInfo};
use crate::sdk::borsh::Reader;
use crate::sdk::log::{emit, Event};
use crate::sdk::pubkey::Pubkey;
use crate::sdk::token::{require_token_program, TokenAccount, TransferChecked};
use crate::state::Provider;

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> Result<(), Error> {
    let [wallet, config, provider, stake_vault, source, mint, token_program, ..] = accounts else {
        return Err(Error::NotEnoughAccounts);
    };
    let mut r = Reader::new(data);
    let amount = r.u64()?;
    r.finish()?;

    require_signer(wallet)?;
    let cfg = active_config(config, program_id)?;
    require_token_program(token_program)?;
    let p = load::<Provider>(provider, program_id)?;
    require_key(wallet, &p.wallet, Error::Unauthorized)?;
    require_key(stake_vault, &p.stake_vault, Error::WrongTokenAccount)?;
    require_writable(stake_vault)?;
    require_key(mint, &cfg.mint, Error::WrongMint)?;
    TokenAccount::load(source)?.require(&cfg.mint, wallet.key())?;
    if amount == 0 {
        return Err(Error::ZeroAmount);
    }
    TransferChecked { from: source, mint, to: stake_vault, authority: wallet, amount, decimals: cfg.decimals }.invoke(&[])?;

    emit(&Staked {
        discriminator: Staked::DISCRIMINATOR,
        wallet: *wallet.key(),
        amount: u64le(amount),
        stake_balance: u64le(TokenAccount::load(stake_vault)?.amount()),
    });
    Ok(())
}
