//! Host-side (x86_64) driver for the Rust/Python parity tests: it compiles the program's own
//! receipt.rs, merkle.rs and sha256 (not copies) and answers one query per stdin line:
//!   R <hex encoding>                 -> "OK <receipt_id> <seq> <cum_amount> <config_version> <bs_lo> <bs_hi>" | "ERR"
//!   M <receipt_id> <root> <proof hex> -> "1" | "0"
//!   X <a> <b> <d>                    -> floor(a * b / d) | "ERR" (the program's mul-div)
//!   D <preimage>                     -> discriminator hex
//! Built by tests/contracts/test_parity.py with /usr/bin/rustc.
#![allow(dead_code)]

#[path = "../src/error.rs"]
mod error;
#[path = "../src/merkle.rs"]
mod merkle;
#[path = "../src/receipt.rs"]
mod receipt;
#[path = "../src/sdk"]
mod sdk {
    pub mod hash;
    pub mod math;
    pub mod pubkey;
    pub mod syscalls;
}

use std::io::{BufRead, Write};

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap_or(0)).collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{:02x}", x)).collect()
}

fn main() {
    let stdin = std::io::stdin();
    let mut out = std::io::BufWriter::new(std::io::stdout());
    for line in stdin.lock().lines() {
        let line = line.unwrap();
        let mut it = line.split(' ');
        match it.next() {
            Some("R") => {
                let b = unhex(it.next().unwrap_or(""));
                match receipt::Receipt::parse(&b) {
                    Ok(r) => {
                        let (lo, hi) = r.cum_byte_seconds();
                        writeln!(out, "OK {} {} {} {} {} {}", hex(&r.id()), r.seq(), r.cum_amount(), r.config_version(), lo, hi).unwrap();
                    }
                    Err(_) => writeln!(out, "ERR").unwrap(),
                }
            }
            Some("M") => {
                let rid = unhex(it.next().unwrap_or(""));
                let root = unhex(it.next().unwrap_or(""));
                let proof = unhex(it.next().unwrap_or(""));
                let mut a = [0u8; 32];
                let mut r = [0u8; 32];
                a.copy_from_slice(&rid);
                r.copy_from_slice(&root);
                writeln!(out, "{}", if merkle::verify(&a, &proof, &r) { 1 } else { 0 }).unwrap();
            }
            Some("X") => {
                let v: Vec<u64> = it.map(|x| x.parse().unwrap_or(0)).collect();
                match sdk::math::mul_div_floor(v[0], v[1], v[2]) {
                    Ok(q) => writeln!(out, "{}", q).unwrap(),
                    Err(_) => writeln!(out, "ERR").unwrap(),
                }
            }
            Some("D") => {
                let pre = it.next().unwrap_or("");
                writeln!(out, "{}", hex(&sdk::hash::discriminator(pre.as_bytes()))).unwrap();
            }
            _ => writeln!(out, "?").unwrap(),
        }
    }
}
