//! # Heterogeneous-aware: earliest finish time
//!
//! **Idea.** When cores differ in speed (big and little cores, or a busy machine), "give the
//! task to whoever is free" is not good enough: a slow core that is free *now* may still finish
//! a task *later* than a fast core that is free in a moment. So, as in the HEFT list scheduler,
//! every ready task goes to the worker where it is estimated to **finish earliest**:
//!
//! ```text
//! finish(w) = (backlog(w) + cost) / speed(w)
//! ```
//!
//! where `backlog(w)` is the estimated work already queued on or running at worker `w`, and
//! `cost` the task's own estimate (both in µs at speed 1.0, supplied by the kernels). Each
//! worker runs its own queue in order. An idle worker may take a queued task from another
//! worker only if it is at least as fast, so a slow core never takes a task a fast core would
//! finish sooner even after waiting for it.
//!
//! **Trade-off.** It needs estimates of task cost and core speed, and it is only as good as they
//! are: a wrong estimate leaves a core idle or overloaded. The placement decision reads every
//! worker's backlog, so it costs O(P) per task, more than any other policy here.
//!
//! **When it wins.** Heterogeneous machines, and tasks of very different sizes whose costs can be
//! predicted: big tasks land on big cores and the run does not end waiting for a little core.

use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam::queue::SegQueue;
use crossbeam::utils::CachePadded;

use crate::{Machine, Policy, Stolen, Task, Wake, WorkerId};

/// Earliest-finish-time placement on per-worker queues, using core speeds and cost estimates.
pub struct Hetero {
    queues: Vec<SegQueue<Task>>,
    /// Estimated nanoseconds of work (at speed 1.0) queued on or running at each worker.
    backlog_ns: Vec<CachePadded<AtomicU64>>,
    speeds: Vec<f64>,
}

fn cost_ns(task: Task) -> u64 {
    // At least 1 ns, so that even empty tasks spread over the workers instead of piling up.
    (f64::from(task.cost_us) * 1000.0).round().max(1.0) as u64
}

impl Hetero {
    /// The worker where `task` is estimated to finish first; ties go to the faster worker.
    fn earliest_finish(&self, task: Task) -> WorkerId {
        let cost = cost_ns(task) as f64;
        let mut best = 0;
        let mut best_finish = f64::INFINITY;
        for (w, speed) in self.speeds.iter().enumerate() {
            // Relaxed: backlogs are estimates that other workers change concurrently anyway; a
            // slightly stale value only makes the placement slightly less good, never wrong.
            let backlog = self.backlog_ns[w].load(Ordering::Relaxed) as f64;
            let finish = (backlog + cost) / speed;
            if finish < best_finish || (finish == best_finish && *speed > self.speeds[best]) {
                best = w;
                best_finish = finish;
            }
        }
        best
    }
}

impl Policy for Hetero {
    /// The worker's index.
    type Local = WorkerId;
    const NAME: &'static str = "hetero";
    const ALIASES: &'static [&'static str] = &["heterogeneous"];
    const ABOUT: &'static str = "heterogeneous-aware: each task goes where it finishes earliest, from core speeds and cost estimates";

    fn new(machine: &Machine) -> Self {
        Hetero {
            queues: (0..machine.workers()).map(|_| SegQueue::new()).collect(),
            backlog_ns: (0..machine.workers())
                .map(|_| CachePadded::new(AtomicU64::new(0)))
                .collect(),
            speeds: machine.speeds.clone(),
        }
    }

    fn local(&self, worker: WorkerId) -> WorkerId {
        worker
    }

    fn push(&self, _from: Option<&mut WorkerId>, task: Task) -> Wake {
        let w = self.earliest_finish(task);
        self.backlog_ns[w].fetch_add(cost_ns(task), Ordering::Relaxed);
        self.queues[w].push(task);
        Wake::Worker(w)
    }

    fn take(&self, me: &mut WorkerId) -> Option<Task> {
        self.queues[*me].pop()
    }

    fn queued(&self, worker: WorkerId) -> usize {
        self.queues[worker].len()
    }

    fn steal(&self, me: &mut WorkerId) -> Stolen {
        let me = *me;
        let my_speed = self.speeds[me];
        let mut stolen = Stolen::default();
        // Only from workers no faster than us: we are idle, so we start the task now and, being
        // at least as fast, finish it no later than its owner could. Try the most loaded first,
        // then the others in order (the queue we picked may have emptied meanwhile).
        let n = self.speeds.len();
        let eligible = |v: &WorkerId| *v != me && self.speeds[*v] <= my_speed;
        let most_loaded = (0..n)
            .filter(eligible)
            .max_by_key(|&v| self.backlog_ns[v].load(Ordering::Relaxed));
        for victim in most_loaded.into_iter().chain((0..n).filter(eligible)) {
            stolen.attempts += 1;
            if let Some(task) = self.queues[victim].pop() {
                // The cost was added to the victim's backlog before the task was queued, and the
                // queue orders our pop after that push, so this never underflows.
                let cost = cost_ns(task);
                self.backlog_ns[victim].fetch_sub(cost, Ordering::Relaxed);
                self.backlog_ns[me].fetch_add(cost, Ordering::Relaxed);
                stolen.task = Some(task);
                stolen.victim = Some(victim);
                break;
            }
        }
        stolen
    }

    fn done(&self, me: &mut WorkerId, task: Task) {
        self.backlog_ns[*me].fetch_sub(cost_ns(task), Ordering::Relaxed);
    }
}
