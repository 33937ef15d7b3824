//! A minimal Borsh reader over instruction data (little-endian integers, u8 option/bool tags, u32
//! vector lengths). Every read is bounds-checked and returns InvalidInstructionData on short input.

use crate::error::Error;
use crate::sdk::pubkey::Pubkey;

pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    #[inline(always)]
    pub fn new(data: &'a [u8]) -> Reader<'a> {
        Reader { data, pos: 0 }
    }

    #[inline(always)]
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let end = self.pos.checked_add(n).ok_or(Error::InvalidInstructionData)?;
        let s = self.data.get(self.pos..end).ok_or(Error::InvalidInstructionData)?;
        self.pos = end;
        Ok(s)
    }

    #[inline(always)]
    pub fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.take(1)?[0])
    }

    #[inline(always)]
    pub fn bool(&mut self) -> Result<bool, Error> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(Error::InvalidInstructionData),
        }
    }

    #[inline(always)]
    pub fn u16(&mut self) -> Result<u16, Error> {
        let s = self.take(2)?;
        Ok(s[0] as u16 | ((s[1] as u16) << 8))
    }

    #[inline(always)]
    pub fn u32(&mut self) -> Result<u32, Error> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }

    #[inline(always)]
    pub fn u64(&mut self) -> Result<u64, Error> {
        let s = self.take(8)?;
        // SAFETY: take returned exactly 8 bytes.
        Ok(u64::from_le(unsafe { core::ptr::read_unaligned(s.as_ptr() as *const u64) }))
    }

    #[inline(always)]
    pub fn i64(&mut self) -> Result<i64, Error> {
        Ok(self.u64()? as i64)
    }

    #[inline(always)]
    pub fn pubkey(&mut self) -> Result<&'a Pubkey, Error> {
        let s = self.take(32)?;
        // SAFETY: 32 bytes, alignment 1.
        Ok(unsafe { &*(s.as_ptr() as *const Pubkey) })
    }

    /// Borsh Option tag: 0 = None, 1 = Some.
    #[inline(always)]
    pub fn option(&mut self) -> Result<bool, Error> {
        self.bool()
    }

    /// All input consumed: trailing bytes are refused so that one encoding means one instruction.
    #[inline(always)]
    pub fn finish(&self) -> Result<(), Error> {
        if self.pos == self.data.len() {
            Ok(())
        } else {
            Err(Error::InvalidInstructionData)
        }
    }

    /// Instruction data that is exactly one u64 (an amount, an epoch number).
    #[inline(always)]
    pub fn only_u64(data: &'a [u8]) -> Result<u64, Error> {
        let mut r = Reader::new(data);
        let v = r.u64()?;
        r.finish()?;
        Ok(v)
    }
}
