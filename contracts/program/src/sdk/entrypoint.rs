//! Parsing of the loader's serialized input (the aligned layout of loader v2/v3) without copying:
//! each account is a pointer to its header inside the input region, so reads and writes go straight to
//! the runtime's buffer (that is what the runtime copies back after the instruction).

use super::account::{AccountInfo, RawAccount};

/// The most accounts any instruction of this program takes; extra accounts are ignored.
pub const MAX_ACCOUNTS: usize = 16;
/// Bytes the runtime reserves after each account's data so that it may grow inside a CPI.
const MAX_PERMITTED_DATA_INCREASE: usize = 10 * 1024;
const NON_DUP_MARKER: u8 = 0xff;

/// Parse the input region: fills `accounts` and returns (count, instruction data, program id).
///
/// SAFETY: `input` must be the pointer the runtime passed to `entrypoint`; the returned references
/// live as long as the instruction.
#[inline(always)]
pub unsafe fn deserialize(
    input: *mut u8,
    accounts: &mut [AccountInfo; MAX_ACCOUNTS],
) -> (usize, &'static [u8], &'static [u8; 32]) {
    let total = *(input as *const u64) as usize;
    let mut p = input.add(8);
    let mut i = 0usize;
    while i < total {
        let dup = *p;
        if dup == NON_DUP_MARKER {
            let raw = p as *mut RawAccount;
            if i < MAX_ACCOUNTS {
                accounts[i] = AccountInfo::from_raw(raw);
            }
            let data_len = (*raw).data_len as usize;
            p = p.add(core::mem::size_of::<RawAccount>() + data_len + MAX_PERMITTED_DATA_INCREASE);
            // Data is followed by padding to 8 bytes, then the u64 rent epoch.
            p = p.add((p as usize).wrapping_neg() & 7);
            p = p.add(8);
        } else {
            // A duplicate refers to an earlier account by index; 7 bytes of padding follow.
            if i < MAX_ACCOUNTS && (dup as usize) < MAX_ACCOUNTS {
                accounts[i] = accounts[dup as usize];
            }
            p = p.add(8);
        }
        i += 1;
    }
    let data_len = *(p as *const u64) as usize;
    p = p.add(8);
    let data = core::slice::from_raw_parts(p as *const u8, data_len);
    p = p.add(data_len);
    let program_id = &*(p as *const [u8; 32]);
    let n = if total < MAX_ACCOUNTS { total } else { MAX_ACCOUNTS };
    (n, data, program_id)
}
