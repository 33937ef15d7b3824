//! Zero-copy account views over the input region and the checks every instruction performs.

use crate::error::Error;
use crate::sdk::pubkey::{keq, Pubkey};

/// The serialized account header, exactly as the loader lays it out (88 bytes, data follows).
#[repr(C)]
pub struct RawAccount {
    pub dup_marker: u8,
    pub is_signer: u8,
    pub is_writable: u8,
    pub executable: u8,
    pub original_data_len: [u8; 4],
    pub key: Pubkey,
    pub owner: Pubkey,
    pub lamports: u64,
    pub data_len: u64,
}

/// A handle on one account of the instruction. Copyable: it is a pointer into the input region.
#[derive(Clone, Copy)]
pub struct AccountInfo {
    raw: *mut RawAccount,
}

impl AccountInfo {
    pub const NULL: AccountInfo = AccountInfo { raw: core::ptr::null_mut() };

    #[inline(always)]
    pub fn from_raw(raw: *mut RawAccount) -> AccountInfo {
        AccountInfo { raw }
    }
    #[inline(always)]
    pub fn key(&self) -> &Pubkey {
        // SAFETY: raw points at a header the loader wrote; it outlives the instruction.
        unsafe { &(*self.raw).key }
    }
    #[inline(always)]
    pub fn owner(&self) -> &Pubkey {
        unsafe { &(*self.raw).owner }
    }
    #[inline(always)]
    pub fn is_signer(&self) -> bool {
        unsafe { (*self.raw).is_signer != 0 }
    }
    #[inline(always)]
    pub fn is_writable(&self) -> bool {
        unsafe { (*self.raw).is_writable != 0 }
    }
    #[inline(always)]
    pub fn executable(&self) -> bool {
        unsafe { (*self.raw).executable != 0 }
    }
    #[inline(always)]
    pub fn lamports(&self) -> u64 {
        unsafe { (*self.raw).lamports }
    }
    #[inline(always)]
    pub fn data_len(&self) -> usize {
        // Read fresh each time: a CPI (CreateAccount) may have changed it.
        unsafe { (*self.raw).data_len as usize }
    }
    /// The account data. SAFETY (caller discipline): the program never keeps two live views of the same
    /// account; duplicated accounts are rejected by the key/type checks before any write.
    #[inline(always)]
    pub fn data(&self) -> &'static mut [u8] {
        unsafe {
            let p = (self.raw as *mut u8).add(core::mem::size_of::<RawAccount>());
            core::slice::from_raw_parts_mut(p, self.data_len())
        }
    }
    #[inline(always)]
    pub fn lamports_ptr(&self) -> *mut u64 {
        unsafe { &mut (*self.raw).lamports as *mut u64 }
    }
    #[inline(always)]
    pub fn data_ptr(&self) -> *mut u8 {
        unsafe { (self.raw as *mut u8).add(core::mem::size_of::<RawAccount>()) }
    }
    #[inline(always)]
    pub fn is_owned_by(&self, program: &Pubkey) -> bool {
        keq(self.owner(), program)
    }

    /// Close this program-owned account: all its lamports to `recipient`, its data shrunk to nothing
    /// and its owner set back to the system program, so it is gone for the rest of the transaction
    /// too (a refund in a later instruction would leave an empty system account, not our data).
    /// SAFETY (caller): both accounts are writable, distinct, and this one is owned by the program;
    /// the runtime accepts the lamport move (total unchanged), the shrink and, because the data is
    /// then empty, the owner change.
    #[inline(always)]
    pub unsafe fn close_into(&self, recipient: &AccountInfo) -> Result<(), Error> {
        let total = recipient.lamports().checked_add(self.lamports()).ok_or(Error::ArithmeticOverflow)?;
        (*recipient.raw).lamports = total;
        (*self.raw).lamports = 0;
        (*self.raw).data_len = 0;
        (*self.raw).owner = crate::sdk::pubkey::SYSTEM_PROGRAM_ID;
        Ok(())
    }
}

/// The signer check every authority account goes through.
#[inline(always)]
pub fn require_signer(a: &AccountInfo) -> Result<(), Error> {
    if a.is_signer() {
        Ok(())
    } else {
        Err(Error::MissingSignature)
    }
}

#[inline(always)]
pub fn require_writable(a: &AccountInfo) -> Result<(), Error> {
    if a.is_writable() {
        Ok(())
    } else {
        Err(Error::NotWritable)
    }
}

/// Require that `a` is the account whose address is `expected`.
#[inline(always)]
pub fn require_key(a: &AccountInfo, expected: &Pubkey, err: Error) -> Result<(), Error> {
    if keq(a.key(), expected) {
        Ok(())
    } else {
        Err(err)
    }
}

/// An account that has never been created: owned by the system program, no data, so that a second
/// `init` of the same PDA is refused with a clear error instead of a system-program failure.
#[inline(always)]
pub fn require_uninitialized(a: &AccountInfo) -> Result<(), Error> {
    if a.data_len() == 0 && keq(a.owner(), &crate::sdk::pubkey::SYSTEM_PROGRAM_ID) {
        Ok(())
    } else {
        Err(Error::AlreadyInitialized)
    }
}

/// A program-owned state account: implemented by every type in `state/`.
pub trait State: Sized {
    /// sha256("account:<Name>")[..8]
    const DISCRIMINATOR: [u8; 8];
    /// Exact size in bytes, discriminator included (Borsh layout: no padding, little-endian).
    const LEN: usize;
}

/// A checked view of a state account: owner is this program, size and discriminator match.
#[inline(always)]
pub fn load<T: State>(a: &AccountInfo, program_id: &Pubkey) -> Result<&'static mut T, Error> {
    if !a.is_owned_by(program_id) {
        return Err(Error::WrongOwner);
    }
    let d = a.data();
    if d.len() != T::LEN {
        return Err(Error::WrongAccountType);
    }
    // Compare as one u64: the discriminator is the first 8 bytes.
    let disc = unsafe { core::ptr::read_unaligned(d.as_ptr() as *const u64) };
    if disc != u64::from_le_bytes(T::DISCRIMINATOR) {
        return Err(Error::WrongAccountType);
    }
    // SAFETY: size checked above; every state type is repr(C) of byte arrays (alignment 1).
    Ok(unsafe { &mut *(d.as_mut_ptr() as *mut T) })
}

/// Same as `load` and additionally requires the account to be writable.
#[inline(always)]
pub fn load_mut<T: State>(a: &AccountInfo, program_id: &Pubkey) -> Result<&'static mut T, Error> {
    require_writable(a)?;
    load::<T>(a, program_id)
}

/// The view of a freshly created account (all zeros) with its discriminator written.
#[inline(always)]
pub fn init<T: State>(a: &AccountInfo) -> Result<&'static mut T, Error> {
    let d = a.data();
    if d.len() != T::LEN {
        return Err(Error::WrongAccountType);
    }
    let t = unsafe { &mut *(d.as_mut_ptr() as *mut T) };
    unsafe { core::ptr::write_unaligned(d.as_mut_ptr() as *mut [u8; 8], T::DISCRIMINATOR) };
    Ok(t)
}
