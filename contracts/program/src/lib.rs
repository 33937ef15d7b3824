//! solmeter billing program: customer escrow, settlement by Merkle-committed meter receipts,
//! provider staking, epoch rewards and slashing with appeal. Anchor wire format, zero external
//! crates (see PROTOCOL.md for the normative description of accounts, instructions and errors).
#![no_std]
#![allow(clippy::missing_safety_doc)]

pub mod error;
pub mod events;
pub mod instructions;
pub mod merkle;
pub mod pda;
pub mod receipt;
pub mod sdk;
pub mod state;

use sdk::account::AccountInfo;
use sdk::entrypoint::{deserialize, MAX_ACCOUNTS};

/// The loader's entry point: parse the input in place and dispatch. Errors are logged by name and
/// returned as Anchor-style custom error codes (6000 + n).
#[no_mangle]
pub unsafe extern "C" fn entrypoint(input: *mut u8) -> u64 {
    let mut accounts = [AccountInfo::NULL; MAX_ACCOUNTS];
    let (n, data, program_id) = deserialize(input, &mut accounts);
    match instructions::process(program_id, &accounts[..n], data) {
        Ok(()) => 0,
        Err(e) => {
            sdk::syscalls::log(e.message());
            e as u64
        }
    }
}

/// Panics abort through sol_panic_ with the source location (a `loop {}` would burn the whole
/// compute budget instead of failing fast).
#[cfg(any(target_arch = "bpf", target_arch = "sbf"))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    match info.location() {
        Some(l) => unsafe {
            sdk::syscalls::sol_panic_(l.file().as_ptr(), l.file().len() as u64, l.line() as u64, l.column() as u64)
        },
        None => unsafe { sdk::syscalls::sol_panic_(b"?".as_ptr(), 1, 0, 0) },
    }
}
