//! How idle workers park without losing a wake-up.
//!
//! A worker that found nothing for a while *announces* that it is going to sleep, looks for
//! work **once more**, and only then parks. A worker that makes a task ready pushes it first and
//! then looks for an announced sleeper to wake. The danger is the classic lost wake-up: the
//! sleeper's last look misses the task, and the pusher's look misses the sleeper, so the task
//! waits while a core sleeps.
//!
//! Both sides write, then issue a `SeqCst` fence, then read what the other side wrote:
//!
//! ```text
//! sleeper: sleepers += 1; flag[me] = true; fence; look for work     -> park
//! pusher:  push task;                      fence; read sleepers/flags -> unpark
//! ```
//!
//! `SeqCst` fences are totally ordered. If the pusher's fence comes first, the sleeper's look
//! after its own fence must see the pushed task. If the sleeper's fence comes first, the
//! pusher's reads after its fence must see the count and the flag. Either way somebody notices.
//! The parker keeps an unpark that arrives before `park` as a token, so `park` then returns at
//! once: waking a worker between its last look and its `park` is not lost either.
//!
//! A pusher *claims* a sleeper by swapping its flag back to false, so each sleeper is woken by
//! exactly one pusher and each push wakes at most one sleeper.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};

use crossbeam::sync::{Parker, Unparker};
use crossbeam::utils::CachePadded;

use schedlab_policies::Wake;

/// The parking lot of a run.
pub(crate) struct Sleep {
    /// Announced sleepers; zero lets every push skip the scan with one read.
    count: CachePadded<AtomicUsize>,
    flags: Vec<CachePadded<AtomicBool>>,
    unparkers: Vec<Unparker>,
}

impl Sleep {
    /// A lot for the workers owning `parkers`, in worker order.
    pub(crate) fn new(parkers: &[Parker]) -> Self {
        Sleep {
            count: CachePadded::new(AtomicUsize::new(0)),
            flags: parkers
                .iter()
                .map(|_| CachePadded::new(AtomicBool::new(false)))
                .collect(),
            unparkers: parkers.iter().map(|p| p.unparker().clone()).collect(),
        }
    }

    /// Worker `w` will park unless its next look for work finds some.
    pub(crate) fn announce(&self, w: usize) {
        self.count.fetch_add(1, Ordering::SeqCst);
        self.flags[w].store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
    }

    /// Worker `w` is awake again (it found work, or returned from `park`).
    pub(crate) fn awake(&self, w: usize) {
        if self.flags[w].swap(false, Ordering::SeqCst) {
            self.count.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Tasks were just pushed, one for each target: wake a parked worker for each that can
    /// take it. One fence serves all of them.
    #[inline]
    pub(crate) fn wake<const N: usize>(&self, targets: [Wake; N]) {
        fence(Ordering::SeqCst);
        if self.count.load(Ordering::SeqCst) == 0 {
            return;
        }
        for target in targets {
            match target {
                Wake::Worker(w) => {
                    self.try_wake(w);
                }
                Wake::Any => {
                    let _ = (0..self.flags.len()).any(|w| self.try_wake(w));
                }
            }
        }
    }

    fn try_wake(&self, w: usize) -> bool {
        // The swap claims the sleeper, so two pushers never both count it as woken.
        if self.flags[w].load(Ordering::SeqCst) && self.flags[w].swap(false, Ordering::SeqCst) {
            self.count.fetch_sub(1, Ordering::SeqCst);
            self.unparkers[w].unpark();
            true
        } else {
            false
        }
    }

    /// Wakes everybody: the run is over.
    pub(crate) fn wake_all(&self) {
        for u in &self.unparkers {
            u.unpark();
        }
    }
}
