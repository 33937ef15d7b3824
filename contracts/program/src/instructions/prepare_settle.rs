//! prepare_settle: permissionless and idempotent. Creates whichever of the accounts settle writes
//! is missing (the Channel of a customer/provider pair, the Epoch and the provider's ProviderEpoch
//! of an epoch that is not closed) and checks the ones that exist, so that settle itself never
//! creates an account: account creation with its canonical-bump proof is what pushed a first
//! settlement past its compute target, and it is paid once per channel and per provider-epoch.
//! A crank sends it in front of settle in the same transaction (or once per channel and epoch).
//! Accounts: payer (signer, writable, pays rent), config, customer, provider, channel (writable),
//! epoch (writable), provider_epoch (writable), system_program.
//! Args: epoch, channel_bump, epoch_bump, provider_epoch_bump.

use super::common::{creation_config, epoch_at, is_uncreated, now};
use super::settle::{open_channel, open_epoch, open_provider_epoch, ChannelKeys, EpochKey};
use crate::error::Error;
use crate::events::{u64le, SettlementPrepared};
use crate::sdk::account::{load, AccountInfo};
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
    let channel_bump = r.u8()?;
    let epoch_bump = r.u8()?;
    let provider_epoch_bump = r.u8()?;
    r.finish()?;

    let cfg = creation_config(payer, config, system_program, program_id)?;
    // Accounts only for registered parties: a Channel's keys come from their accounts.
    let c = load::<Customer>(customer, program_id)?;
    let p = load::<Provider>(provider, program_id)?;
    if number < epoch_at(cfg, now())? {
        return Err(Error::EpochClosed);
    }

    let created = [is_uncreated(channel) as u8, is_uncreated(epoch) as u8, is_uncreated(provider_epoch) as u8];
    open_channel(payer, channel, &ChannelKeys { customer: &c.wallet, provider: &p.wallet, bump: channel_bump }, program_id)?;
    open_epoch(payer, epoch, &EpochKey { number, bump: epoch_bump, wallet: &p.wallet }, program_id)?;
    open_provider_epoch(payer, provider_epoch, &EpochKey { number, bump: provider_epoch_bump, wallet: &p.wallet }, program_id)?;

    emit(&SettlementPrepared {
        discriminator: SettlementPrepared::DISCRIMINATOR,
        customer: c.wallet,
        provider: p.wallet,
        epoch: u64le(number),
        channel_created: created[0],
        epoch_created: created[1],
        provider_epoch_created: created[2],
    });
    Ok(())
}
