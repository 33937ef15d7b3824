//! close_batch: the meter that posted (and paid for) a Batch closes it once posted_at +
//! batch_retention has passed, and gets its rent back. After that no receipt of the batch can settle,
//! so the retention (>= withdrawal_delay > settlement_window) gives the crank its settlement window
//! and more, and the meter closes only batches none of whose receipts is still the unsettled latest of
//! its channel (re-batching such a receipt first): both are off-chain knowledge, which is why only the
//! meter may close. The root stays verifiable from the BatchPosted event of the post_batch
//! transaction (the auditor reads it there); a Batch index is never posted again, since post_batch
//! always takes config.batch_count. Accounts: meter (signer, writable; receives the rent), config,
//! batch (writable).

use super::common::{active_config, after, now};
use crate::error::Error;
use crate::events::{u64le, BatchClosed};
use crate::pda::load_pda_mut;
use crate::sdk::account::{require_key, require_signer, require_writable, AccountInfo};
use crate::sdk::borsh::Reader;
use crate::sdk::log::{emit, Event};
use crate::sdk::pubkey::Pubkey;
use crate::state::Batch;

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> Result<(), Error> {
    let [meter, config, batch, ..] = accounts else {
        return Err(Error::NotEnoughAccounts);
    };
    Reader::new(data).finish()?;

    require_signer(meter)?;
    require_writable(meter)?;
    let cfg = active_config(config, program_id)?;
    let bt = load_pda_mut::<Batch>(batch, program_id)?;
    require_key(meter, &bt.meter, Error::Unauthorized)?;
    let t = now();
    if t < after(bt.posted_at.get(), cfg.params_at(t).batch_retention.get())? {
        return Err(Error::BatchRetained);
    }
    let lamports = batch.lamports();
    emit(&BatchClosed {
        discriminator: BatchClosed::DISCRIMINATOR,
        index: bt.index,
        root: bt.root,
        meter: bt.meter,
        lamports: u64le(lamports),
    });
    // SAFETY: meter and batch are writable (checked), distinct (the meter is a signer, the batch a PDA
    // nobody can sign for) and the batch is this program's (load_pda_mut).
    unsafe { batch.close_into(meter) }
}
