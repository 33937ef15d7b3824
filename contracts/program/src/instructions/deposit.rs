//! deposit: move tokens from the customer's token account into its escrow vault. Accounts: wallet
//! (signer), config, customer (writable), escrow (writable), source (writable, token account of the
//! mint owned by wallet), mint, token_program. Args: amount.

use super::common::{own_account_mut, require_vault, signed_config, transfer_in};
use crate::error::Error;
use crate::events::{u64le, Deposited};
use crate::sdk::account::AccountInfo;
use crate::sdk::borsh::Reader;
use crate::sdk::log::{emit, Event};
use crate::sdk::math::add;
use crate::sdk::pubkey::Pubkey;
use crate::sdk::token::{require_token_program, TokenAccount};
use crate::state::Customer;

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> Result<(), Error> {
    let [wallet, config, customer, escrow, source, mint, token_program, ..] = accounts else {
        return Err(Error::NotEnoughAccounts);
    };
    let amount = Reader::only_u64(data)?;

    let cfg = signed_config(wallet, config, program_id)?;
    require_token_program(token_program)?;
    let c = own_account_mut::<Customer>(wallet, customer, program_id)?;
    require_vault(escrow, &c.escrow, mint, cfg)?;
    TokenAccount::load(source)?.require(&cfg.mint, wallet.key())?;
    transfer_in(wallet, source, mint, escrow, amount, cfg)?;
    c.total_deposited.set(add(c.total_deposited.get(), amount)?);

    emit(&Deposited {
        discriminator: Deposited::DISCRIMINATOR,
        wallet: *wallet.key(),
        amount: u64le(amount),
        escrow_balance: u64le(TokenAccount::load(escrow)?.amount()),
    });
    Ok(())
}
