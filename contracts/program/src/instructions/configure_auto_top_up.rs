//! configure_auto_top_up: the customer names the token account the crank may pull from (through an
//! SPL allowance the customer delegates to the Config PDA), the threshold below which it may and the
//! amount per top-up. amount 0 turns auto top-up off. Accounts: wallet (signer), config, customer
//! (writable), source (token account of the mint owned by wallet). Args: threshold, amount.

use super::common::{own_account_mut, signed_config};
use crate::error::Error;
use crate::events::{u64le, AutoTopUpConfigured};
use crate::sdk::account::AccountInfo;
use crate::sdk::borsh::Reader;
use crate::sdk::log::{emit, Event};
use crate::sdk::pubkey::Pubkey;
use crate::sdk::token::TokenAccount;
use crate::state::Customer;

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> Result<(), Error> {
    let [wallet, config, customer, source, ..] = accounts else {
        return Err(Error::NotEnoughAccounts);
    };
    let mut r = Reader::new(data);
    let threshold = r.u64()?;
    let amount = r.u64()?;
    r.finish()?;

    let cfg = signed_config(wallet, config, program_id)?;
    let c = own_account_mut::<Customer>(wallet, customer, program_id)?;
    TokenAccount::load(source)?.require(&cfg.mint, wallet.key())?;
    c.top_up_source = if amount == 0 { [0u8; 32] } else { *source.key() };
    c.top_up_threshold.set(threshold);
    c.top_up_amount.set(amount);

    emit(&AutoTopUpConfigured {
        discriminator: AutoTopUpConfigured::DISCRIMINATOR,
        wallet: *wallet.key(),
        source: c.top_up_source,
        threshold: u64le(threshold),
        amount: u64le(amount),
    });
    Ok(())
}
