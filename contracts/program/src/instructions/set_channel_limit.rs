//! set_channel_limit: the customer caps what may settle on one channel per epoch (u64::MAX = no
//! limit). Creates the Channel if it does not exist yet (with no limit). A raise (or keeping the
//! limit in force) applies at once and cancels a pending decrease; a decrease applies only after
//! config.settlement_window, like a withdrawal, so that receipts already issued under the old limit
//! stay payable: otherwise a customer could use the service, set the limit to 0 before the crank
//! settles, and withdraw after the delay. A new decrease replaces a pending one and restarts the
//! wait. Accounts: wallet (signer, writable, pays), config, customer, provider, channel (writable,
//! PDA ["channel", customer wallet, provider wallet]), system_program. Args: limit_per_epoch,
//! channel_bump.

use super::common::{after, creation_config, now, own_account};
use super::settle::{open_channel, ChannelKeys};
use crate::error::Error;
use crate::events::{i64le, u64le, ChannelLimitSet};
use crate::sdk::account::{load, AccountInfo};
use crate::sdk::borsh::Reader;
use crate::sdk::log::{emit, Event};
use crate::sdk::pubkey::Pubkey;
use crate::state::{Customer, Provider};

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> Result<(), Error> {
    let [wallet, config, customer, provider, channel, system_program, ..] = accounts else {
        return Err(Error::NotEnoughAccounts);
    };
    let mut r = Reader::new(data);
    let limit = r.u64()?;
    let channel_bump = r.u8()?;
    r.finish()?;

    let cfg = creation_config(wallet, config, system_program, program_id)?;
    let c = own_account::<Customer>(wallet, customer, program_id)?;
    let p = load::<Provider>(provider, program_id)?;
    let ch = open_channel(wallet, channel, &ChannelKeys { customer: &c.wallet, provider: &p.wallet, bump: channel_bump }, program_id)?;
    let t = now();
    let effective_at = if limit >= ch.limit_at(t) {
        ch.limit_per_epoch.set(limit);
        ch.pending_limit.set(0);
        ch.pending_limit_at.set(0);
        t
    } else {
        let at = after(t, cfg.settlement_window.get())?;
        ch.pending_limit.set(limit);
        ch.pending_limit_at.set(at);
        at
    };

    emit(&ChannelLimitSet {
        discriminator: ChannelLimitSet::DISCRIMINATOR,
        customer: c.wallet,
        provider: p.wallet,
        limit_per_epoch: u64le(limit),
        effective_at: i64le(effective_at),
    });
    Ok(())
}
