//! post_batch: a registered meter commits the Merkle root of a batch of receipt ids. The batch index
//! is config.batch_count. Accounts: meter (signer, writable, pays), config (writable), batch
//! (writable, PDA ["batch", index]), system_program. Args: root, count, total, batch_bump,
//! config_version. The meter names the config version its receipts carry: an update_config landing
//! between the meter's read of Config and this instruction would otherwise stamp the batch with the
//! new version while its receipts hold the old one, and such a batch could never settle.
//! The batch address is checked with the meter's bump but without the canonical-bump proof
//! (`pda::batch`): the index is used once, so no second batch of an index can exist at another bump.

use super::common::{active_config, create_state, now, require_payer, require_system_program};
use crate::error::Error;
use crate::events::{u64le, BatchPosted};
use crate::pda;
use crate::sdk::account::{require_writable, AccountInfo};
use crate::sdk::borsh::Reader;
use crate::sdk::cpi::SignerSeed;
use crate::sdk::log::{emit, Event};
use crate::sdk::math::add;
use crate::sdk::pubkey::Pubkey;
use crate::state::Batch;

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> Result<(), Error> {
    let [meter, config, batch, system_program, ..] = accounts else {
        return Err(Error::NotEnoughAccounts);
    };
    let mut r = Reader::new(data);
    let root = r.pubkey()?;
    let count = r.u64()?;
    let total = r.u64()?;
    let batch_bump = r.u8()?;
    let config_version = r.u64()?;
    r.finish()?;

    require_payer(meter)?;
    require_writable(config)?;
    let cfg = active_config(config, program_id)?;
    require_system_program(system_program)?;
    if cfg.meter(meter.key()).is_none() {
        return Err(Error::NotAMeter);
    }
    if count == 0 {
        return Err(Error::EmptyBatch);
    }
    if config_version != cfg.version.get() {
        return Err(Error::StaleConfigVersion);
    }
    let index = cfg.batch_count.get();
    pda::batch(batch.key(), index, batch_bump, program_id)?;
    let idx = index.to_le_bytes();
    let b = [batch_bump];
    let seeds = [SignerSeed::of(pda::BATCH), SignerSeed::of(&idx), SignerSeed::of(&b)];
    let bt = create_state::<Batch>(meter, batch, &seeds, program_id)?;
    bt.index.set(index);
    bt.root = *root;
    bt.count.set(count);
    bt.total.set(total);
    bt.meter = *meter.key();
    bt.config_version = cfg.version;
    bt.posted_at.set(now());
    bt.bump = batch_bump;
    // SAFETY (uniqueness): advancing batch_count here, in the instruction that creates the batch, is what
    // makes one batch per index hold without the canonical-bump proof.
    cfg.batch_count.set(add(index, 1)?);

    emit(&BatchPosted {
        discriminator: BatchPosted::DISCRIMINATOR,
        index: u64le(index),
        root: *root,
        count: u64le(count),
        total: u64le(total),
        meter: *meter.key(),
        config_version: cfg.version,
    });
    Ok(())
}
