//! set_channel_limit: the customer opens its channel with a provider and caps what may settle on it
//! per epoch (u64::MAX = no limit). The Channel exists only through this instruction, which the
//! customer signs: it is the customer's on-chain consent to be billed by that provider, and settle
//! refuses a pair without one (ChannelNotOpened). The first call creates the Channel with the given
//! limit in force at once (nothing can have settled on it before). Later, a raise (or keeping the
//! limit in force) applies at once and cancels a pending decrease; a decrease applies only after the
//! settlement window in force, like a withdrawal, so that receipts already issued under the old limit
//! stay payable: otherwise a customer could use the service, set the limit to 0 before the crank
//! settles, and withdraw after the delay. Limit 0 stops consent that way. A new decrease replaces a
//! pending one and restarts the wait. Accounts: wallet (signer, writable, pays), config, customer,
//! provider, channel (writable, PDA ["channel", customer wallet, provider wallet]), system_program.
//! Args: limit_per_epoch, channel_bump (canonical; used only when the Channel is created).

use super::common::{after, create_state, creation_config, is_uncreated, now, opened_channel, own_account};
use crate::error::Error;
use crate::events::{i64le, u64le, ChannelLimitSet};
use crate::pda::{self, load_pda, Seeds2};
use crate::sdk::account::{require_writable, AccountInfo};
use crate::sdk::borsh::Reader;
use crate::sdk::cpi::SignerSeed;
use crate::sdk::log::{emit, Event};
use crate::sdk::pubkey::Pubkey;
use crate::state::{Channel, Customer, Provider};

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
    let p = load_pda::<Provider>(provider, program_id)?;
    let t = now();
    let opened = is_uncreated(channel);
    let effective_at = if opened {
        require_writable(channel)?;
        pda::channel(channel.key(), &Seeds2 { a: &c.wallet, b: &p.wallet }, channel_bump, program_id)?;
        let b = [channel_bump];
        let seeds = [SignerSeed::of(pda::CHANNEL), SignerSeed::of(&c.wallet), SignerSeed::of(&p.wallet), SignerSeed::of(&b)];
        let ch = create_state::<Channel>(wallet, channel, &seeds, program_id)?;
        ch.customer = c.wallet;
        ch.provider = p.wallet;
        ch.bump = channel_bump;
        ch.limit_per_epoch.set(limit);
        t
    } else {
        let ch = opened_channel(channel, &c.wallet, &p.wallet, program_id)?;
        if limit >= ch.limit_at(t) {
            ch.limit_per_epoch.set(limit);
            ch.pending_limit.set(0);
            ch.pending_limit_at.set(0);
            t
        } else {
            let at = after(t, cfg.params_at(t).settlement_window.get())?;
            ch.pending_limit.set(limit);
            ch.pending_limit_at.set(at);
            at
        }
    };

    emit(&ChannelLimitSet {
        discriminator: ChannelLimitSet::DISCRIMINATOR,
        customer: c.wallet,
        provider: p.wallet,
        limit_per_epoch: u64le(limit),
        effective_at: i64le(effective_at),
        opened: opened as u8,
    });
    Ok(())
}
