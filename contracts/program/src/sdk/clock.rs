//! The Clock sysvar through its syscall (no sysvar account needed in the instruction).

use super::syscalls::sol_get_clock_sysvar;

#[repr(C)]
#[derive(Default)]
pub struct Clock {
    pub slot: u64,
    pub epoch_start_timestamp: i64,
    pub epoch: u64,
    pub leader_schedule_epoch: u64,
    pub unix_timestamp: i64,
}

#[inline(always)]
pub fn unix_timestamp() -> i64 {
    let mut c = Clock::default();
    // SAFETY: Clock is the 40-byte repr(C) layout the runtime writes.
    unsafe { sol_get_clock_sysvar(&mut c as *mut Clock as *mut u8) };
    c.unix_timestamp
}
