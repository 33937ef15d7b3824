//! register_customer: create the Customer PDA and its escrow vault (token account of the mint whose
//! authority is the Config PDA). Accounts: wallet (signer, writable, pays), config, customer
//! (writable, PDA ["customer", wallet]), escrow (writable, PDA ["escrow", wallet]), mint,
//! system_program, token_program. Args: customer_bump, escrow_bump.

use super::common::{active_config, create_state, require_payer, require_system_program};
use crate::error::Error;
use crate::events::CustomerRegistered;
use crate::pda;
use crate::sdk::account::{require_key, require_uninitialized, require_writable, AccountInfo};
use crate::sdk::borsh::Reader;
use crate::sdk::cpi::SignerSeed;
use crate::sdk::log::{emit, Event};
use crate::sdk::pubkey::{Pubkey, TOKEN_PROGRAM_ID};
use crate::sdk::system::CreateAccount;
use crate::sdk::token::{require_token_program, InitializeAccount3, TOKEN_ACCOUNT_LEN};
use crate::state::Customer;

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> Result<(), Error> {
    let [wallet, config, customer, escrow, mint, system_program, token_program, ..] = accounts else {
        return Err(Error::NotEnoughAccounts);
    };
    let mut r = Reader::new(data);
    let customer_bump = r.u8()?;
    let escrow_bump = r.u8()?;
    r.finish()?;

    require_payer(wallet)?;
    let cfg = active_config(config, program_id)?;
    require_system_program(system_program)?;
    require_token_program(token_program)?;
    require_key(mint, &cfg.mint, Error::WrongMint)?;
    require_writable(customer)?;
    require_writable(escrow)?;
    require_uninitialized(escrow)?;
    pda::of_wallet(pda::CUSTOMER, customer.key(), wallet.key(), customer_bump, program_id)?;
    pda::of_wallet(pda::ESCROW, escrow.key(), wallet.key(), escrow_bump, program_id)?;

    let b = [customer_bump];
    let seeds = [SignerSeed::of(pda::CUSTOMER), SignerSeed::of(wallet.key()), SignerSeed::of(&b)];
    let c = create_state::<Customer>(wallet, customer, &seeds, program_id)?;
    c.wallet = *wallet.key();
    c.escrow = *escrow.key();
    c.bump = customer_bump;
    c.escrow_bump = escrow_bump;

    let eb = [escrow_bump];
    let eseeds = [SignerSeed::of(pda::ESCROW), SignerSeed::of(wallet.key()), SignerSeed::of(&eb)];
    CreateAccount { payer: wallet, new_account: escrow, space: TOKEN_ACCOUNT_LEN, owner: &TOKEN_PROGRAM_ID, seeds: &eseeds }
        .invoke()?;
    InitializeAccount3 { account: escrow, mint, owner: config.key() }.invoke()?;

    emit(&CustomerRegistered {
        discriminator: CustomerRegistered::DISCRIMINATOR,
        wallet: *wallet.key(),
        customer: *customer.key(),
        escrow: *escrow.key(),
    });
    Ok(())
}
