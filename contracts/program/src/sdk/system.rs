//! System program CPI: CreateAccount, with the new account's PDA seeds signing.

use super::account::AccountInfo;
use super::cpi::{Cpi, Meta, SignerSeed};
use super::pubkey::{Pubkey, SYSTEM_PROGRAM_ID};
use crate::error::Error;

/// Lamports for rent exemption of `space` bytes at the default rent (3,480 lamports per byte-year,
/// two years, 128 bytes of account overhead). Computed rather than read from the Rent sysvar: it is
/// a cluster constant and the syscall would cost CU on every account creation.
#[inline(always)]
pub fn rent_exempt_minimum(space: usize) -> u64 {
    ((space as u64) + 128) * 6960
}

pub struct CreateAccount<'a> {
    pub payer: &'a AccountInfo,
    pub new_account: &'a AccountInfo,
    pub space: usize,
    pub owner: &'a Pubkey,
    /// Seeds of the new account's PDA, bump included.
    pub seeds: &'a [SignerSeed],
}

impl<'a> CreateAccount<'a> {
    /// CreateAccount, or, when someone has already sent lamports to the address (which makes the
    /// system program refuse CreateAccount: "already in use"), top up to rent exemption, Allocate and
    /// Assign. Without this anyone could block a PDA (e.g. the next batch) for a few lamports.
    #[inline(never)]
    pub fn invoke(&self) -> Result<(), Error> {
        if self.new_account.lamports() > 0 {
            return self.invoke_prefunded();
        }
        let mut data = [0u8; 52];
        // SystemInstruction::CreateAccount = 0 (u32), lamports u64, space u64, owner.
        data[4..12].copy_from_slice(&rent_exempt_minimum(self.space).to_le_bytes());
        data[12..20].copy_from_slice(&(self.space as u64).to_le_bytes());
        data[20..52].copy_from_slice(self.owner);
        let metas = [Meta::signer(self.payer, true), Meta::signer(self.new_account, true)];
        Cpi { program_id: &SYSTEM_PROGRAM_ID, metas: &metas, data: &data, signer: self.seeds }.invoke()
    }

    #[inline(never)]
    fn invoke_prefunded(&self) -> Result<(), Error> {
        let need = rent_exempt_minimum(self.space);
        let have = self.new_account.lamports();
        if have < need {
            // SystemInstruction::Transfer = 2: lamports u64; accounts from (signer), to.
            let mut t = [0u8; 12];
            t[0] = 2;
            t[4..12].copy_from_slice(&(need - have).to_le_bytes());
            let metas = [Meta::signer(self.payer, true), Meta::w(self.new_account)];
            Cpi { program_id: &SYSTEM_PROGRAM_ID, metas: &metas, data: &t, signer: &[] }.invoke()?;
        }
        // SystemInstruction::Allocate = 8: space u64; account (signer).
        let mut a = [0u8; 12];
        a[0] = 8;
        a[4..12].copy_from_slice(&(self.space as u64).to_le_bytes());
        let metas = [Meta::signer(self.new_account, true)];
        Cpi { program_id: &SYSTEM_PROGRAM_ID, metas: &metas, data: &a, signer: self.seeds }.invoke()?;
        // SystemInstruction::Assign = 1: owner; account (signer).
        let mut o = [0u8; 36];
        o[0] = 1;
        o[4..36].copy_from_slice(self.owner);
        Cpi { program_id: &SYSTEM_PROGRAM_ID, metas: &metas, data: &o, signer: self.seeds }.invoke()
    }
}
