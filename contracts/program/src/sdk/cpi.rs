//! Cross-program invocation through `sol_invoke_signed_c` with the C ABI structs. At most four
//! accounts per call is all this program needs (TransferChecked has four).

use super::account::AccountInfo;
use super::pubkey::Pubkey;
use super::syscalls::sol_invoke_signed_c;
use crate::error::Error;

pub const MAX_CPI_ACCOUNTS: usize = 4;

#[repr(C)]
#[derive(Clone, Copy)]
struct SolAccountMeta {
    pubkey: *const Pubkey,
    is_writable: bool,
    is_signer: bool,
}

#[repr(C)]
struct SolInstruction {
    program_id: *const Pubkey,
    accounts: *const SolAccountMeta,
    account_len: u64,
    data: *const u8,
    data_len: u64,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct SolAccountInfo {
    key: *const Pubkey,
    lamports: *mut u64,
    data_len: u64,
    data: *mut u8,
    owner: *const Pubkey,
    rent_epoch: u64,
    is_signer: bool,
    is_writable: bool,
    executable: bool,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct SignerSeed {
    addr: *const u8,
    len: u64,
}

impl SignerSeed {
    #[inline(always)]
    pub fn of(s: &[u8]) -> SignerSeed {
        SignerSeed { addr: s.as_ptr(), len: s.len() as u64 }
    }
}

#[repr(C)]
struct SignerSeeds {
    addr: *const SignerSeed,
    len: u64,
}

/// One account of a CPI: the account, and whether the callee sees it writable / signed.
#[derive(Clone, Copy)]
pub struct Meta {
    pub account: AccountInfo,
    pub writable: bool,
    pub signer: bool,
}

impl Meta {
    #[inline(always)]
    pub fn w(account: &AccountInfo) -> Meta {
        Meta { account: *account, writable: true, signer: false }
    }
    #[inline(always)]
    pub fn r(account: &AccountInfo) -> Meta {
        Meta { account: *account, writable: false, signer: false }
    }
    #[inline(always)]
    pub fn signer(account: &AccountInfo, writable: bool) -> Meta {
        Meta { account: *account, writable, signer: true }
    }
}

/// A CPI: callee program id, its accounts, its data, and the seeds of at most one PDA signer.
pub struct Cpi<'a> {
    pub program_id: &'a Pubkey,
    pub metas: &'a [Meta],
    pub data: &'a [u8],
    /// Seeds (bump included) of the PDA that signs; empty when no PDA signs.
    pub signer: &'a [SignerSeed],
}

impl<'a> Cpi<'a> {
    #[inline(never)]
    pub fn invoke(&self) -> Result<(), Error> {
        let n = self.metas.len();
        if n > MAX_CPI_ACCOUNTS {
            return Err(Error::InvalidInstructionData);
        }
        let null_meta = SolAccountMeta { pubkey: core::ptr::null(), is_writable: false, is_signer: false };
        let null_info = SolAccountInfo {
            key: core::ptr::null(),
            lamports: core::ptr::null_mut(),
            data_len: 0,
            data: core::ptr::null_mut(),
            owner: core::ptr::null(),
            rent_epoch: 0,
            is_signer: false,
            is_writable: false,
            executable: false,
        };
        let mut metas = [null_meta; MAX_CPI_ACCOUNTS];
        let mut infos = [null_info; MAX_CPI_ACCOUNTS];
        let mut i = 0;
        while i < n {
            let m = &self.metas[i];
            let a = &m.account;
            metas[i] = SolAccountMeta { pubkey: a.key(), is_writable: m.writable, is_signer: m.signer };
            infos[i] = SolAccountInfo {
                key: a.key(),
                lamports: a.lamports_ptr(),
                data_len: a.data_len() as u64,
                data: a.data_ptr(),
                owner: a.owner(),
                rent_epoch: u64::MAX,
                is_signer: a.is_signer() || m.signer,
                is_writable: a.is_writable(),
                executable: a.executable(),
            };
            i += 1;
        }
        let ix = SolInstruction {
            program_id: self.program_id,
            accounts: metas.as_ptr(),
            account_len: n as u64,
            data: self.data.as_ptr(),
            data_len: self.data.len() as u64,
        };
        let seeds = SignerSeeds { addr: self.signer.as_ptr(), len: self.signer.len() as u64 };
        let nsigners = if self.signer.is_empty() { 0 } else { 1 };
        // SAFETY: every pointer refers to live stack values or to the input region.
        let rc = unsafe {
            sol_invoke_signed_c(
                &ix as *const SolInstruction as *const u8,
                infos.as_ptr() as *const u8,
                n as u64,
                &seeds as *const SignerSeeds as *const u8,
                nsigners,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(Error::CpiFailed)
        }
    }
}
