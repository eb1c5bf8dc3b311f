//! The process's one cheap clock (TSC-based where the CPU has one), calibrated once, and the
//! mark a kernel leaves when its task body starts to block.

use std::cell::Cell;
use std::sync::OnceLock;

thread_local! {
    /// Raw clock reading at which the running task body started to block, 0 if it has not.
    static BLOCKED_AT: Cell<u64> = const { Cell::new(0) };
}

/// The process's cheap clock, calibrated once.
pub fn clock() -> &'static quanta::Clock {
    static CLOCK: OnceLock<quanta::Clock> = OnceLock::new();
    // Miri cannot run the CPU instructions the real clock calibrates with; a run under miri
    // gets a clock that stands still (the run still ends: nothing waits for time to pass
    // unless the workload has arrivals).
    #[cfg(miri)]
    return CLOCK.get_or_init(|| quanta::Clock::mock().0);
    #[cfg(not(miri))]
    CLOCK.get_or_init(quanta::Clock::new)
}

/// Called by a kernel just before it blocks (sleeps, waits for I/O), so the run can tell time
/// spent blocked from time spent computing. Costs one clock read.
pub fn blocking() {
    BLOCKED_AT.with(|b| b.set(clock().raw()));
}

/// The raw clock reading of the current body's [`blocking`] mark, 0 if it did not block;
/// clears it for the next body.
pub fn take_blocked_at() -> u64 {
    BLOCKED_AT.with(|b| b.replace(0))
}
