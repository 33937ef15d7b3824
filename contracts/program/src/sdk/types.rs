//! Little-endian integer fields with alignment 1, so that state structs are `repr(C)` byte layouts
//! identical to their Borsh encoding (no padding) and can be viewed in place.

#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct U64(pub [u8; 8]);
impl U64 {
    #[inline(always)]
    pub fn get(&self) -> u64 {
        u64::from_le_bytes(self.0)
    }
    #[inline(always)]
    pub fn set(&mut self, v: u64) {
        self.0 = v.to_le_bytes();
    }
}

#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct I64(pub [u8; 8]);
impl I64 {
    #[inline(always)]
    pub fn get(&self) -> i64 {
        i64::from_le_bytes(self.0)
    }
    #[inline(always)]
    pub fn set(&mut self, v: i64) {
        self.0 = v.to_le_bytes();
    }
}

#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct U16(pub [u8; 2]);
impl U16 {
    #[inline(always)]
    pub fn get(&self) -> u16 {
        u16::from_le_bytes(self.0)
    }
    #[inline(always)]
    pub fn set(&mut self, v: u16) {
        self.0 = v.to_le_bytes();
    }
}
