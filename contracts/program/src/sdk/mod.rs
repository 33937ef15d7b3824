//! The in-repo SDK: what pinocchio provides, written here with zero external crates.
pub mod account;
pub mod borsh;
pub mod clock;
pub mod cpi;
pub mod entrypoint;
pub mod hash;
pub mod log;
pub mod math;
pub mod pda;
pub mod pubkey;
pub mod syscalls;
pub mod system;
pub mod token;
pub mod types;
