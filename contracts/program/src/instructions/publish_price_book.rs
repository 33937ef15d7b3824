//! publish_price_book: the admin commits a price book version by its sha256 (issue 15: prices on the
//! record). Creates the PriceBook PDA ["price_book", version] (canonical bump) and records the version
//! as Config.price_book_version; versions strictly increase, and a PriceBook is never changed or
//! closed, so the hash a receipt's price book version names is fixed for good. The file itself is
//! published off-chain; anyone can hash it and compare. Accounts: admin (signer, writable, pays),
//! config (writable), price_book (writable), system_program. Args: version, sha256, price_book_bump.

use super::common::{admin_config, create_state, now, require_payer, require_system_program};
use crate::error::Error;
use crate::events::{i64le, u64le, PriceBookPublished};
use crate::pda;
use crate::sdk::account::{require_writable, AccountInfo};
use crate::sdk::borsh::Reader;
use crate::sdk::cpi::SignerSeed;
use crate::sdk::log::{emit, Event};
use crate::sdk::pubkey::Pubkey;
use crate::state::PriceBook;

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> Result<(), Error> {
    let [admin, config, price_book, system_program, ..] = accounts else {
        return Err(Error::NotEnoughAccounts);
    };
    let mut r = Reader::new(data);
    let version = r.u64()?;
    let hash = *r.pubkey()?;
    let bump = r.u8()?;
    r.finish()?;

    require_payer(admin)?;
    let cfg = admin_config(admin, config, program_id)?;
    require_system_program(system_program)?;
    if version <= cfg.price_book_version.get() {
        return Err(Error::PriceBookVersionNotIncreasing);
    }
    require_writable(price_book)?;
    pda::price_book(price_book.key(), version, bump, program_id)?;
    let v = version.to_le_bytes();
    let b = [bump];
    let seeds = [SignerSeed::of(pda::PRICE_BOOK), SignerSeed::of(&v), SignerSeed::of(&b)];
    let pb = create_state::<PriceBook>(admin, price_book, &seeds, program_id)?;
    let t = now();
    pb.version.set(version);
    pb.sha256 = hash;
    pb.published_at.set(t);
    pb.bump = bump;
    cfg.price_book_version.set(version);

    emit(&PriceBookPublished {
        discriminator: PriceBookPublished::DISCRIMINATOR,
        version: u64le(version),
        sha256: hash,
        published_at: i64le(t),
        admin: cfg.admin,
    });
    Ok(())
}
