//! register_customer: create the Customer PDA and its escrow vault (token account of the mint whose
//! authority is the Config PDA). Accounts: wallet (signer, writable, pays), config, customer
//! (writable, PDA ["customer", wallet]), escrow (writable, PDA ["escrow", wallet]), mint,
//! system_program, token_program. Args: customer_bump, escrow_bump.

use super::common::{creation_config, register, Registration};
use crate::error::Error;
use crate::events::CustomerRegistered;
use crate::pda;
use crate::sdk::account::{require_key, AccountInfo};
use crate::sdk::borsh::Reader;
use crate::sdk::log::{emit, Event};
use crate::sdk::pubkey::Pubkey;
use crate::sdk::token::require_token_program;
use crate::state::Customer;

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> Result<(), Error> {
    let [wallet, config, customer, escrow, mint, system_program, token_program, ..] = accounts else {
        return Err(Error::NotEnoughAccounts);
    };
    let mut r = Reader::new(data);
    let customer_bump = r.u8()?;
    let escrow_bump = r.u8()?;
    r.finish()?;

    let cfg = creation_config(wallet, config, system_program, program_id)?;
    require_token_program(token_program)?;
    require_key(mint, &cfg.mint, Error::WrongMint)?;
    let accounts = Registration {
        account: customer,
        prefix: pda::CUSTOMER,
        bump: customer_bump,
        vault: escrow,
        vault_prefix: pda::ESCROW,
        vault_bump: escrow_bump,
    };
    let c = register::<Customer>(wallet, config, mint, &accounts, program_id)?;
    c.wallet = *wallet.key();
    c.escrow = *escrow.key();
    c.bump = customer_bump;
    c.escrow_bump = escrow_bump;

    emit(&CustomerRegistered {
        discriminator: CustomerRegistered::DISCRIMINATOR,
        wallet: *wallet.key(),
        customer: *customer.key(),
        escrow: *escrow.key(),
    });
    Ok(())
}
