//! What the machine did to a run, as the OS tells it: how long each worker's thread was ready
//! to run but waiting for a CPU (other programs on the machine, or more workers than cores),
//! and how many CPUs the process may use.
//!
//! Linux keeps, per thread, the time it spent on a run queue waiting for a CPU: the second
//! field of `/proc/thread-self/schedstat` (in ns, since the kernel's schedstats or
//! `CONFIG_SCHED_INFO`). A worker opens it when it starts and reads it when it leaves, and in
//! between only after a span that was long anyway. Elsewhere, or where the file is missing, the
//! answer is `None`: the report says `null` rather than a made-up zero.

/// A thread's run-queue wait, read again and again from its own open `schedstat` file (a
/// `pread`, a microsecond or two): the executor reads it after a timed span that the cheap
/// clock says was long, to learn how much of the span the thread spent waiting for a CPU.
pub(crate) struct RunQueue {
    #[cfg(all(target_os = "linux", not(miri)))]
    file: Option<std::fs::File>,
    /// The wait at the opening; `None` where the OS does not tell.
    first: Option<u64>,
    /// The wait at the last reading.
    last: u64,
}

impl RunQueue {
    /// Opens the calling thread's counter (`None` inside where the OS does not tell).
    pub(crate) fn open() -> RunQueue {
        #[cfg(all(target_os = "linux", not(miri)))]
        {
            let file = std::fs::File::open("/proc/thread-self/schedstat").ok();
            let mut rq = RunQueue {
                file,
                first: None,
                last: 0,
            };
            rq.first = rq.read();
            rq.last = rq.first.unwrap_or(0);
            rq
        }
        #[cfg(not(all(target_os = "linux", not(miri))))]
        RunQueue {
            first: None,
            last: 0,
        }
    }

    fn read(&self) -> Option<u64> {
        #[cfg(all(target_os = "linux", not(miri)))]
        {
            use std::os::unix::fs::FileExt;
            let mut buf = [0u8; 96];
            let n = self.file.as_ref()?.read_at(&mut buf, 0).ok()?;
            parse_schedstat(std::str::from_utf8(&buf[..n]).ok()?)
        }
        #[cfg(not(all(target_os = "linux", not(miri))))]
        None
    }

    /// The time waited for a CPU since the opening, ns; `None` where the OS does not tell.
    pub(crate) fn since_open(&self) -> Option<u64> {
        Some(self.read()?.saturating_sub(self.first?))
    }

    /// The time waited for a CPU since the last call (or the opening), ns; 0 where the OS
    /// does not tell.
    pub(crate) fn since_last(&mut self) -> u64 {
        match self.read() {
            Some(now) => {
                let waited = now.saturating_sub(self.last);
                self.last = now;
                waited
            }
            None => 0,
        }
    }
}

/// The run-queue wait of a `schedstat` line: `on-CPU ns`, `waiting ns`, `timeslices`.
fn parse_schedstat(text: &str) -> Option<u64> {
    text.split_whitespace().nth(1)?.parse().ok()
}

/// CPUs this process may run on (its affinity mask and cgroup quota, as the standard library
/// reads them), at least 1.
/// CPU time the calling thread has used, ns (`None` where the OS does not tell): a slower
/// core's emulation spins for CPU time, not wall time, so a worker the OS keeps off its CPU
/// is not slowed further by it, and a slow core stays that many times slower than a fast one
/// however busy the machine.
pub(crate) fn thread_cpu_ns() -> Option<u64> {
    #[cfg(all(unix, not(miri)))]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec for the duration of the call, which only
        // writes it; the clock id is a constant every supported Unix knows.
        #[allow(unsafe_code)]
        let ok = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } == 0;
        ok.then(|| ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
    }
    #[cfg(not(all(unix, not(miri))))]
    None
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_is_the_second_field() {
        assert_eq!(parse_schedstat("123456 7890 12\n"), Some(7890));
        assert_eq!(parse_schedstat("garbage"), None);
        assert_eq!(parse_schedstat(""), None);
    }

    #[cfg(all(target_os = "linux", not(miri)))]
    #[test]
    fn a_thread_waiting_behind_busy_ones_is_seen_waiting() {
        // Where the kernel keeps schedstats, a thread that competes with busy ones for the
        // machine's cores waits on a run queue: its count grows. (Skipped where it does not.)
        let rq = RunQueue::open();
        if rq.since_open().is_none() {
            return;
        }
        let spinners = cores() * 2;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let handles: Vec<_> = (0..spinners)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        std::hint::spin_loop();
                    }
                })
            })
            .collect();
        let until = std::time::Instant::now() + std::time::Duration::from_millis(300);
        while std::time::Instant::now() < until {
            std::hint::spin_loop();
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for h in handles {
            h.join().expect("a spinner");
        }
        let waited = rq.since_open().expect("readable once readable");
        assert!(waited > 0, "no wait behind {spinners} busy threads");
    }
}
