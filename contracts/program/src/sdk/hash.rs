//! sha256: the syscall at run time (85 CU + len/2) and a const fn for discriminators at compile time.

#[cfg(any(target_arch = "bpf", target_arch = "sbf"))]
use super::syscalls::sol_sha256;
use super::syscalls::SolBytes;

/// sha256 over the concatenation of `parts` (one syscall whatever the number of parts).
#[cfg(any(target_arch = "bpf", target_arch = "sbf"))]
#[inline(always)]
pub fn sha256(parts: &[SolBytes]) -> [u8; 32] {
    let mut out = [0u8; 32];
    // SAFETY: every SolBytes points at readable memory; out has 32 bytes.
    unsafe { sol_sha256(parts.as_ptr(), parts.len() as u64, out.as_mut_ptr()) };
    out
}

/// Host build (parity tests on x86_64): the same function over the const implementation.
#[cfg(not(any(target_arch = "bpf", target_arch = "sbf")))]
pub fn sha256(parts: &[SolBytes]) -> [u8; 32] {
    let mut buf = [0u8; 1024];
    let mut n = 0usize;
    for p in parts {
        // SAFETY: as above; the host callers hash at most a receipt (248 bytes) or a node (65).
        let s = unsafe { core::slice::from_raw_parts(p.addr, p.len as usize) };
        buf[n..n + s.len()].copy_from_slice(s);
        n += s.len();
    }
    const_sha256(&buf[..n])
}

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// FIPS 180-4 sha256, evaluated by the compiler: discriminators cost nothing at run time and are
/// derived from their names instead of being pasted in as opaque bytes.
pub const fn const_sha256(input: &[u8]) -> [u8; 32] {
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    ];
    let len = input.len();
    let total = (len + 9 + 63) / 64 * 64;
    let bit_len = (len as u64) * 8;
    let mut block = 0;
    while block < total / 64 {
        let mut w = [0u32; 64];
        let mut t = 0;
        while t < 16 {
            let mut word = 0u32;
            let mut k = 0;
            while k < 4 {
                let idx = block * 64 + t * 4 + k;
                let byte = if idx < len {
                    input[idx]
                } else if idx == len {
                    0x80
                } else if idx >= total - 8 {
                    (bit_len >> ((total - 1 - idx) * 8)) as u8
                } else {
                    0
                };
                word = (word << 8) | byte as u32;
                k += 1;
            }
            w[t] = word;
            t += 1;
        }
        while t < 64 {
            let s0 = w[t - 15].rotate_right(7) ^ w[t - 15].rotate_right(18) ^ (w[t - 15] >> 3);
            let s1 = w[t - 2].rotate_right(17) ^ w[t - 2].rotate_right(19) ^ (w[t - 2] >> 10);
            w[t] = w[t - 16].wrapping_add(s0).wrapping_add(w[t - 7]).wrapping_add(s1);
            t += 1;
        }
        let (mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh) =
            (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]);
        let mut i = 0;
        while i < 64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh.wrapping_add(s1).wrapping_add(ch).wrapping_add(K[i]).wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
            i += 1;
        }
        h[0] = h[0].wrapping_add(a);
        h[1] = h[1].wrapping_add(b);
        h[2] = h[2].wrapping_add(c);
        h[3] = h[3].wrapping_add(d);
        h[4] = h[4].wrapping_add(e);
        h[5] = h[5].wrapping_add(f);
        h[6] = h[6].wrapping_add(g);
        h[7] = h[7].wrapping_add(hh);
        block += 1;
    }
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 8 {
        out[i * 4] = (h[i] >> 24) as u8;
        out[i * 4 + 1] = (h[i] >> 16) as u8;
        out[i * 4 + 2] = (h[i] >> 8) as u8;
        out[i * 4 + 3] = h[i] as u8;
        i += 1;
    }
    out
}

/// The first 8 bytes of sha256(`preimage`): Anchor's discriminator rule.
pub const fn discriminator(preimage: &[u8]) -> [u8; 8] {
    let h = const_sha256(preimage);
    [h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]]
}

/// The discriminator as the little-endian u64 the dispatcher matches on.
pub const fn discriminator_u64(preimage: &[u8]) -> u64 {
    u64::from_le_bytes(discriminator(preimage))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn known_vectors() {
        // sha256("abc")
        let h = const_sha256(b"abc");
        assert!(h[0] == 0xba && h[1] == 0x78 && h[31] == 0xad);
        // sha256("") = e3b0c442...b855
        let h = const_sha256(b"");
        assert!(h[0] == 0xe3 && h[31] == 0x55);
    }
}
