//! prepare_settle: permissionless and idempotent. Creates whichever of the accounts settle writes for
//! rewards is missing (the Epoch and the provider's ProviderEpoch of an epoch that is not closed) and
//! checks the ones that exist, so that settle itself never creates an account: account creation with
//! its canonical-bump proof is what pushed a first settlement past its compute target, and it is paid
//! once per provider-epoch. The Channel is not created here: only the customer opens it
//! (set_channel_limit), and a pair without one is refused (ChannelNotOpened) so that a crank learns
//! before settling that nothing may be billed on it.
//! A crank sends it in front of settle in the same transaction (or once per channel and epoch).
//! Accounts: payer (signer, writable, pays rent), config, customer, provider, channel (writable),
//! epoch (writable), provider_epoch (writable), system_program.
//! Args: epoch, epoch_bump, provider_epoch_bump.

use super::common::{creation_config, epoch_at, is_uncreated, now, opened_channel};
use super::epoch_accounts::{open_epoch, open_provider_epoch, EpochKey};
use crate::error::Error;
use crate::events::{u64le, SettlementPrepared};
use crate::pda::load_pda;
use crate::sdk::account::AccountInfo;
use crate::sdk::borsh::Reader;
use crate::sdk::log::{emit, Event};
use crate::sdk::pubkey::Pubkey;
use crate::state::{Customer, Provider};

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> Result<(), Error> {
    let [payer, config, customer, provider, channel, epoch, provider_epoch, system_program, ..] = accounts else {
        return Err(Error::NotEnoughAccounts);
    };
    let mut r = Reader::new(data);
    let number = r.u64()?;
    let epoch_bump = r.u8()?;
    let provider_epoch_bump = r.u8()?;
    r.finish()?;

    let cfg = creation_config(payer, config, system_program, program_id)?;
    // Accounts only for registered parties whose customer opened the channel.
    let c = load_pda::<Customer>(customer, program_id)?;
    let p = load_pda::<Provider>(provider, program_id)?;
    opened_channel(channel, &c.wallet, &p.wallet, program_id)?;
    if number < epoch_at(cfg, now())? {
        return Err(Error::EpochClosed);
    }

    let created = [is_uncreated(epoch) as u8, is_uncreated(provider_epoch) as u8];
    open_epoch(payer, epoch, &EpochKey { number, bump: epoch_bump, wallet: &p.wallet }, program_id)?;
    open_provider_epoch(payer, provider_epoch, &EpochKey { number, bump: provider_epoch_bump, wallet: &p.wallet }, program_id)?;

    emit(&SettlementPrepared {
        discriminator: SettlementPrepared::DISCRIMINATOR,
        customer: c.wallet,
        provider: p.wallet,
        epoch: u64le(number),
        epoch_created: created[0],
        provider_epoch_created: created[1],
    });
    Ok(())
}
