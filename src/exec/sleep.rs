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

#[cfg(not(loom))]
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};

#[cfg(not(loom))]
pub(crate) use crossbeam::sync::{Parker, Unparker};
use crossbeam::utils::CachePadded;
#[cfg(loom)]
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};

#[cfg(loom)]
pub(crate) use self::model::{Parker, Unparker};

use std::time::Duration;

use schedlab_policies::Wake;

/// A parked worker first wakes on its own after this long to look at the queues...
const PROBE_FIRST: Duration = Duration::from_millis(1);
/// ...and then at doubling intervals up to this: 64 parked workers cost a few % of one core.
const PROBE_MOST: Duration = Duration::from_millis(16);

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

    /// Parks worker `w`, which announced and looked once more, until a pusher claims it or
    /// everybody is woken. Meanwhile it wakes on its own, first after [`PROBE_FIRST`] and then
    /// at doubling intervals up to [`PROBE_MOST`], for `probe` to look at the queues (the idle
    /// split by cause), and parks again unless it was claimed: the claim clears its flag
    /// before the unpark, so a claim that comes during the probe leaves a token and the next
    /// park returns at once.
    pub(crate) fn park(&self, w: usize, parker: &Parker, mut probe: impl FnMut()) {
        let mut period = PROBE_FIRST;
        loop {
            parker.park_timeout(period);
            if !self.flags[w].load(Ordering::SeqCst) {
                return;
            }
            probe();
            period = (period * 2).min(PROBE_MOST);
        }
    }

    /// Wakes everybody (the first tasks are in, or the run is over), claiming every sleeper.
    pub(crate) fn wake_all(&self) {
        for (flag, u) in self.flags.iter().zip(&self.unparkers) {
            if flag.swap(false, Ordering::SeqCst) {
                self.count.fetch_sub(1, Ordering::SeqCst);
            }
            u.unpark();
        }
    }
}

/// Under `--cfg loom`: a parker with crossbeam's semantics (an unpark before `park` is kept as
/// a token) built from loom's mutex and condition variable, so loom can explore it.
#[cfg(loom)]
mod model {
    use loom::sync::{Arc, Condvar, Mutex};

    #[derive(Default)]
    struct Token {
        set: Mutex<bool>,
        changed: Condvar,
    }

    pub(crate) struct Parker {
        unparker: Unparker,
    }

    #[derive(Clone)]
    pub(crate) struct Unparker(Arc<Token>);

    impl Parker {
        pub(crate) fn new() -> Self {
            Parker {
                unparker: Unparker(Arc::new(Token::default())),
            }
        }

        pub(crate) fn park(&self) {
            let token = &self.unparker.0;
            let mut set = token.set.lock().unwrap();
            while !*set {
                set = token.changed.wait(set).unwrap();
            }
            *set = false;
        }

        /// A timeout loom cannot model: returns only when unparked, which a real timeout
        /// may also do.
        pub(crate) fn park_timeout(&self, _: std::time::Duration) {
            self.park();
        }

        pub(crate) fn unparker(&self) -> &Unparker {
            &self.unparker
        }
    }

    impl Unparker {
        pub(crate) fn unpark(&self) {
            *self.0.set.lock().unwrap() = true;
            self.0.changed.notify_one();
        }
    }
}

/// The protocol model-checked: `RUSTFLAGS="--cfg loom" cargo test --release --lib exec::sleep`
/// explores every interleaving (and every outcome the memory model allows) of a worker going to
/// sleep and another making a task ready, and fails on a lost wake-up as a deadlock.
#[cfg(all(test, loom))]
mod loom_tests {
    use loom::sync::Arc;
    use loom::sync::atomic::{AtomicUsize, Ordering};

    use super::{Parker, Sleep};
    use schedlab_policies::Wake;

    /// The ready queue, reduced to a count: a push is a release store, a take an acquire CAS.
    fn take(queue: &AtomicUsize) -> bool {
        let mut n = queue.load(Ordering::Acquire);
        while n > 0 {
            match queue.compare_exchange(n, n - 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return true,
                Err(now) => n = now,
            }
        }
        false
    }

    /// The worker loop's idle path, as `exec::work` runs it: look, announce, look once more,
    /// park; until it has taken `want` tasks.
    fn worker(w: usize, want: usize, sleep: &Sleep, parker: &Parker, queue: &AtomicUsize) {
        let mut taken = 0;
        let mut announced = false;
        while taken < want {
            if take(queue) {
                taken += 1;
                if announced {
                    sleep.awake(w);
                    announced = false;
                }
                continue;
            }
            if announced {
                sleep.park(w, parker, || {});
                sleep.awake(w);
                announced = false;
            } else {
                sleep.announce(w);
                announced = true;
            }
        }
        if announced {
            sleep.awake(w);
        }
    }

    /// Every interleaving with up to three preemptions (loom's advice: bugs show within two or
    /// three, and an unbounded search of two sleepers would take hours).
    fn model(f: impl Fn() + Sync + Send + 'static) {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(3);
        builder.check(f);
    }

    #[test]
    fn a_push_always_wakes_a_worker_going_to_sleep() {
        model(|| {
            let parkers = vec![Parker::new()];
            let sleep = Arc::new(Sleep::new(&parkers));
            let queue = Arc::new(AtomicUsize::new(0));
            let parker = parkers.into_iter().next().unwrap();
            let (s, q) = (sleep.clone(), queue.clone());
            let sleeper = loom::thread::spawn(move || worker(0, 1, &s, &parker, &q));
            queue.fetch_add(1, Ordering::Release);
            sleep.wake([Wake::Any]);
            sleeper.join().unwrap();
        });
    }

    #[test]
    fn two_sleepers_two_pushes_to_their_own_queues() {
        model(|| {
            let parkers = vec![Parker::new(), Parker::new()];
            let sleep = Arc::new(Sleep::new(&parkers));
            let queues = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
            let mut handles = Vec::new();
            for (w, parker) in parkers.into_iter().enumerate() {
                let (s, q) = (sleep.clone(), queues.clone());
                handles.push(loom::thread::spawn(move || {
                    worker(w, 1, &s, &parker, &q[w])
                }));
            }
            for (w, queue) in queues.iter().enumerate() {
                queue.fetch_add(1, Ordering::Release);
                sleep.wake([Wake::Worker(w)]);
            }
            for h in handles {
                h.join().unwrap();
            }
        });
    }
}
