//! deposit: move tokens from the customer's token account into its escrow vault. Accounts: wallet
//! (signer), config, customer (writable), escrow (writable), source (writable, token account of the
//! mint owned by wallet), mint, token_program. Args: amount.

use super::common::active_config;
use crate::error::Error;
use crate::events::{u64le, Deposited};
use crate::sdk::account::{load_mut, require_key, require_signer, require_writable, AccountInfo};
use crate::sdk::borsh::Reader;
use crate::sdk::log::{emit, Event};
use crate::sdk::math::add;
use crate::sdk::pubkey::Pubkey;
use crate::sdk::token::{require_token_program, TokenAccount, TransferChecked};
use crate::state::Customer;

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> Result<(), Error> {
    let [wallet, config, customer, escrow, source, mint, token_program, ..] = accounts else {
        return Err(Error::NotEnoughAccounts);
    };
    let mut r = Reader::new(data);
    let amount = r.u64()?;
    r.finish()?;

    require_signer(wallet)?;
    let cfg = active_config(config, program_id)?;
    require_token_program(token_program)?;
    let c = load_mut::<Customer>(customer, program_id)?;
    require_key(wallet, &c.wallet, Error::Unauthorized)?;
    require_key(escrow, &c.escrow, Error::WrongTokenAccount)?;
    require_writable(escrow)?;
    require_key(mint, &cfg.mint, Error::WrongMint)?;
    TokenAccount::load(source)?.require(&cfg.mint, wallet.key())?;
    if amount == 0 {
        return Err(Error::ZeroAmount);
    }
    TransferChecked { from: source, mint, to: escrow, authority: wallet, amount, decimals: cfg.decimals }.invoke(&[])?;
    c.total_deposited.set(add(c.total_deposited.get(), amount)?);

    emit(&Deposited {
        discriminator: Deposited::DISCRIMINATOR,
        wallet: *wallet.key(),
        amount: u64le(amount),
        escrow_balance: u64le(TokenAccount::load(escrow)?.amount()),
    });
    Ok(())
}
