//! stake: move tokens from the provider's token account into its stake vault. Accounts: wallet
//! (signer), config, provider, stake_vault (writable), source (writable, token account of the mint
//! owned by wallet), mint, token_program. Args: amount.

use super::common::{own_account, require_vault, signed_config, transfer_in};
use crate::error::Error;
use crate::events::{u64le, Staked};
use crate::sdk::account::AccountInfo;
use crate::sdk::borsh::Reader;
use crate::sdk::log::{emit, Event};
use crate::sdk::pubkey::Pubkey;
use crate::sdk::token::{require_token_program, TokenAccount};
use crate::state::Provider;

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> Result<(), Error> {
    let [wallet, config, provider, stake_vault, source, mint, token_program, ..] = accounts else {
        return Err(Error::NotEnoughAccounts);
    };
    let amount = Reader::only_u64(data)?;

    let cfg = signed_config(wallet, config, program_id)?;
    require_token_program(token_program)?;
    let p = own_account::<Provider>(wallet, provider, program_id)?;
    require_vault(stake_vault, &p.stake_vault, mint, cfg)?;
    TokenAccount::load(source)?.require(&cfg.mint, wallet.key())?;
    transfer_in(wallet, source, mint, stake_vault, amount, cfg)?;

    emit(&Staked {
        discriminator: Staked::DISCRIMINATOR,
        wallet: *wallet.key(),
        amount: u64le(amount),
        stake_balance: u64le(TokenAccount::load(stake_vault)?.amount()),
    });
    Ok(())
}
