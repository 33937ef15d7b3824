//! set_payout: the provider names another token account of its own to receive settlements and
//! rewards (security review finding 9: a closed or frozen payout account would otherwise make every
//! settlement of its channels fail). Applies at once: only the provider's own income goes there.
//! Same checks as register_provider: a token account of config.mint owned by the wallet.
//! Accounts: wallet (signer), config, provider (writable), payout.

use super::common::{own_account_mut, signed_config};
use crate::error::Error;
use crate::events::PayoutChanged;
use crate::sdk::account::AccountInfo;
use crate::sdk::borsh::Reader;
use crate::sdk::log::{emit, Event};
use crate::sdk::pubkey::Pubkey;
use crate::sdk::token::TokenAccount;
use crate::state::Provider;

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> Result<(), Error> {
    let [wallet, config, provider, payout, ..] = accounts else {
        return Err(Error::NotEnoughAccounts);
    };
    Reader::new(data).finish()?;

    let cfg = signed_config(wallet, config, program_id)?;
    let p = own_account_mut::<Provider>(wallet, provider, program_id)?;
    TokenAccount::load(payout)?.require(&cfg.mint, wallet.key())?;
    let old = p.payout;
    p.payout = *payout.key();

    emit(&PayoutChanged {
        discriminator: PayoutChanged::DISCRIMINATOR,
        wallet: p.wallet,
        old_payout: old,
        new_payout: p.payout,
    });
    Ok(())
}
