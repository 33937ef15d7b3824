//! Program-owned accounts, one file each. Every struct is `repr(C)` over alignment-1 fields, so its
//! bytes are exactly the Borsh encoding of the same struct in the IDL (discriminator first), and the
//! program reads and writes it in place. contracts/idl/generate.py reads these definitions.
pub mod batch;
pub mod channel;
pub mod config;
pub mod customer;
pub mod epoch;
pub mod price_book;
pub mod provider;
pub mod provider_epoch;
pub mod slash;

pub use batch::Batch;
pub use channel::Channel;
pub use config::{Config, MeterKey, Params};
pub use customer::Customer;
pub use epoch::Epoch;
pub use price_book::PriceBook;
pub use provider::Provider;
pub use provider_epoch::ProviderEpoch;
pub use slash::Slash;

/// A Borsh bool stored as one byte (0 or 1).
pub type Flag = u8;
/// A 32-byte hash (sha256).
pub type Hash = [u8; 32];
