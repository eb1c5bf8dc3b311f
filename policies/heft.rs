//! # HEFT: highest rank first, earliest finish time
//!
//! **Idea.** HEFT (Heterogeneous Earliest Finish Time, Topcuoglu, Hariri and Wu, 2002) is the
//! best-known list scheduler for task graphs on cores of different speeds. It makes two
//! decisions, one per question a scheduler answers:
//!
//! - *Which task next?* The one with the highest **upward rank**: its cost plus the longest
//!   chain of tasks waiting for it, computed from the graph before the run (see `cp`). A task
//!   on the critical path is never left behind side work.
//! - *Where?* On the worker where it is estimated to **finish earliest**, knowing each core's
//!   speed and what each is running:
//!
//! ```text
//! finish(w) = (running(w) + cost) / speed(w)        running(w): cost of w's current task, 0 if free
//! ```
//!
//! Ready tasks wait in one queue in rank order. A free worker takes the highest-ranked task
//! unless a busy worker would still finish it sooner after its current task: then it leaves
//! that task for the faster core, which comes back for it, and considers the next one. A
//! worker never waits for a free one (that one may be asleep), only for busy ones, so every
//! task is taken. On identical cores a free worker always finishes soonest, and HEFT is
//! critical path first.
//!
//! **Trade-off.** It needs the graph, cost estimates and core speeds, and it is only as good as
//! they are; it reads no clock, so a busy worker's current task counts as not yet begun.
//! Choosing reads every worker's state (O(P) per task) under one shared lock: more work per
//! task than `steal`, worth it for tasks of milliseconds, not of microseconds.
//!
//! **When it wins.** Task graphs on heterogeneous machines: the critical path gets the fast
//! cores, side work fills the slow ones, and the run does not end waiting for a long task
//! that a little core picked up just because it happened to be free.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use crossbeam::utils::CachePadded;

use crate::ranked::ByRank;
use crate::{Machine, Policy, Task, Wake, WorkerId};

/// How many of the highest-ranked ready tasks a free worker considers before giving up.
const LOOK_AHEAD: usize = 16;

/// One shared queue in rank order; each task goes to the worker that finishes it earliest.
pub struct Heft {
    ready: Mutex<ByRank>,
    /// Tasks in the queue, for displays (read without the lock).
    len: AtomicUsize,
    /// Estimated ns (at speed 1.0) of the task each worker runs, 0 while it runs none.
    running_ns: Vec<CachePadded<AtomicU64>>,
    /// Free workers already woken for a task they have not yet come to take: the next push
    /// wakes another, so that a burst of ready tasks wakes as many workers.
    woken: Vec<CachePadded<AtomicBool>>,
    speeds: Vec<f64>,
}

fn cost_ns(task: Task) -> u64 {
    // At least 1 ns: a busy worker is never mistaken for a free one.
    (f64::from(task.cost_us) * 1000.0).round().max(1.0) as u64
}

impl Heft {
    /// When worker `w` would finish `cost` ns of work taken now (after its current task).
    fn finish(&self, w: WorkerId, cost: f64) -> f64 {
        // Relaxed: each worker writes its own entry; a stale one makes a choice slightly less
        // good, never wrong (see `take`).
        (self.running_ns[w].load(Ordering::Relaxed) as f64 + cost) / self.speeds[w]
    }

    /// The worker where `task` is estimated to finish first, of the busy ones and the free ones
    /// not already woken for another task; ties go to the faster worker.
    fn earliest_finish(&self, task: Task) -> WorkerId {
        let cost = cost_ns(task) as f64;
        let mut best = 0;
        let mut best_finish = f64::INFINITY;
        for w in 0..self.speeds.len() {
            if self.woken[w].load(Ordering::Relaxed) {
                continue;
            }
            let finish = self.finish(w, cost);
            if finish < best_finish || (finish == best_finish && self.speeds[w] > self.speeds[best])
            {
                best = w;
                best_finish = finish;
            }
        }
        best
    }

    /// The busy worker that would finish `task` before free worker `me` could, if any, given
    /// the tasks already left to busy workers (`left`: each worker and the ns left to it).
    fn busy_worker_finishing_first(
        &self,
        me: WorkerId,
        task: Task,
        left: &[(WorkerId, u64)],
    ) -> Option<WorkerId> {
        let cost = cost_ns(task) as f64;
        let mut best = (me, cost / self.speeds[me]);
        for w in (0..self.speeds.len()).filter(|&w| w != me) {
            if self.running_ns[w].load(Ordering::Relaxed) == 0 {
                continue;
            }
            let queued: u64 = left.iter().filter(|l| l.0 == w).map(|l| l.1).sum();
            let finish = self.finish(w, queued as f64 + cost);
            if finish < best.1 {
                best = (w, finish);
            }
        }
        (best.0 != me).then_some(best.0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ByRank> {
        // Nothing panics while holding the lock, so even a poisoned one holds a whole queue.
        self.ready.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Policy for Heft {
    /// The worker's index.
    type Local = WorkerId;
    const NAME: &'static str = "heft";
    const ALIASES: &'static [&'static str] = &["earliest-finish"];
    const ABOUT: &'static str = "HEFT: the ready task of highest upward rank first, run by the worker that finishes it earliest (speeds known)";
    // Every push and take goes through the one queue's lock.
    const CENTRAL: bool = true;

    fn new(machine: &Machine) -> Self {
        Heft {
            ready: Mutex::new(ByRank::default()),
            len: AtomicUsize::new(0),
            running_ns: (0..machine.workers())
                .map(|_| CachePadded::default())
                .collect(),
            woken: (0..machine.workers())
                .map(|_| CachePadded::default())
                .collect(),
            speeds: machine.speeds.clone(),
        }
    }

    fn local(&self, worker: WorkerId) -> WorkerId {
        worker
    }

    fn push(&self, _from: Option<&mut WorkerId>, task: Task) -> Wake {
        let mut ready = self.lock();
        ready.push(task);
        // Relaxed: a display's count, never used to decide anything.
        self.len.store(ready.len(), Ordering::Relaxed);
        drop(ready);
        // Wake the worker that would finish it first. A busy one comes back for the task when
        // its current one is done; a free one is marked, so that the next task wakes another.
        let w = self.earliest_finish(task);
        if self.running_ns[w].load(Ordering::Relaxed) == 0 {
            // Relaxed: a hint for whom to wake next; a stale one wakes a worker too many or
            // leaves a task to a busy worker, which comes back for it either way.
            self.woken[w].store(true, Ordering::Relaxed);
        }
        Wake::Worker(w)
    }

    fn take(&self, me: &mut WorkerId) -> Option<Task> {
        let me = *me;
        self.woken[me].store(false, Ordering::Relaxed);
        let mut ready = self.lock();
        // Down the list in rank order, as HEFT schedules: each task either goes to us, or is
        // left (where it waits) to the busy worker that finishes it first, after those left
        // to that worker before it; those workers come back for them.
        let mut left: [(WorkerId, u64); LOOK_AHEAD] = [(0, 0); LOOK_AHEAD];
        let mut passed = 0;
        let chosen = ready.take_first(LOOK_AHEAD, |task| {
            match self.busy_worker_finishing_first(me, *task, &left[..passed]) {
                Some(w) => {
                    left[passed] = (w, cost_ns(*task));
                    passed += 1;
                    false
                }
                None => true,
            }
        });
        self.len.store(ready.len(), Ordering::Relaxed);
        if let Some(task) = chosen {
            self.running_ns[me].store(cost_ns(task), Ordering::Relaxed);
        }
        chosen
    }

    fn done(&self, me: &mut WorkerId, _task: Task) {
        self.running_ns[*me].store(0, Ordering::Relaxed);
    }

    fn queued_shared(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }
}
