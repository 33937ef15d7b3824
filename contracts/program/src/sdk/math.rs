//! Checked arithmetic. BPF has no 128-bit multiply helper (`__multi3` is absent) and LLVM lowers
//! `u64::checked_mul` to it, so products are formed from 32-bit halves by hand.

use crate::error::Error;

/// The full 128-bit product of a and b as (high, low) u64 halves.
#[inline(always)]
pub fn mul_wide(a: u64, b: u64) -> (u64, u64) {
    let (a0, a1) = (a & 0xffff_ffff, a >> 32);
    let (b0, b1) = (b & 0xffff_ffff, b >> 32);
    // Each partial product of two 32-bit values fits in 64 bits.
    let p00 = a0.wrapping_mul(b0);
    let p01 = a0.wrapping_mul(b1);
    let p10 = a1.wrapping_mul(b0);
    let p11 = a1.wrapping_mul(b1);
    // Three values below 2^32 each: no overflow.
    let mid = (p00 >> 32) + (p01 & 0xffff_ffff) + (p10 & 0xffff_ffff);
    let lo = (p00 & 0xffff_ffff) | (mid << 32);
    let hi = p11.wrapping_add(p01 >> 32).wrapping_add(p10 >> 32).wrapping_add(mid >> 32);
    (hi, lo)
}

#[inline(always)]
pub fn add(a: u64, b: u64) -> Result<u64, Error> {
    a.checked_add(b).ok_or(Error::ArithmeticOverflow)
}

#[inline(always)]
pub fn sub(a: u64, b: u64) -> Result<u64, Error> {
    a.checked_sub(b).ok_or(Error::ArithmeticOverflow)
}

#[inline(always)]
pub fn add_i64(a: i64, b: i64) -> Result<i64, Error> {
    a.checked_add(b).ok_or(Error::ArithmeticOverflow)
}

/// a * b, or ArithmeticOverflow when the product does not fit in u64.
#[inline(never)]
pub fn mul(a: u64, b: u64) -> Result<u64, Error> {
    let (hi, lo) = mul_wide(a, b);
    if hi == 0 {
        Ok(lo)
    } else {
        Err(Error::ArithmeticOverflow)
    }
}

/// floor(a * b / d) with a 128-bit intermediate, or ArithmeticOverflow when d is zero or the
/// quotient does not fit in u64. The common case (product below 2^64) is one native division;
/// only products above 2^64 take the 64-step restoring division.
#[inline(never)]
pub fn mul_div_floor(a: u64, b: u64, d: u64) -> Result<u64, Error> {
    if d == 0 {
        return Err(Error::ArithmeticOverflow);
    }
    let (hi, lo) = mul_wide(a, b);
    if hi == 0 {
        return Ok(lo / d);
    }
    if hi >= d {
        return Err(Error::ArithmeticOverflow);
    }
    let mut rem = hi;
    let mut q = 0u64;
    let mut i = 0u64;
    while i < 64 {
        let top = rem >> 63;
        rem = (rem << 1) | ((lo >> (63 - i)) & 1);
        q <<= 1;
        if top == 1 || rem >= d {
            rem = rem.wrapping_sub(d);
            q |= 1;
        }
        i += 1;
    }
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn wide_matches_u128() {
        let vals = [0u64, 1, 2, 3, 0xffff_ffff, 0x1_0000_0000, 12345678901234567, u64::MAX - 1, u64::MAX];
        for &a in vals.iter() {
            for &b in vals.iter() {
                let p = (a as u128) * (b as u128);
                let (hi, lo) = mul_wide(a, b);
                assert!(hi == (p >> 64) as u64 && lo == p as u64);
                for &d in vals.iter() {
                    let r = mul_div_floor(a, b, d);
                    if d == 0 || p / (d as u128) > u64::MAX as u128 {
                        assert!(r.is_err());
                    } else {
                        assert!(r.ok() == Some((p / d as u128) as u64));
                    }
                }
            }
        }
    }
}
