//! # Round-robin: deal the tasks out like cards
//!
//! **Idea.** The k-th task to become ready goes to worker `k mod P`, into that worker's own
//! queue, and each worker only ever runs its own queue. This is the classic *cyclic* static
//! distribution (not time slicing): the decision is made once, when the task becomes ready,
//! without looking at how busy anyone is.
//!
//! **Trade-off.** Deciding is almost free and every worker gets the same *number* of tasks. But
//! equal numbers are not equal work: if task sizes differ, or cores differ in speed, some workers
//! finish early and then sit idle while others still have a long queue, because nothing ever
//! moves a task once it is assigned.
//!
//! **When it wins.** Many tasks of the same size on identical cores, where perfect balance comes
//! for free and no worker ever has to look at another's queue.

use std::sync::atomic::{AtomicUsize, Ordering};

use crossbeam::queue::SegQueue;

use crate::{Machine, Policy, Task, Wake, WorkerId};

/// Cyclic static assignment: one private queue per worker, no rebalancing.
pub struct RoundRobin {
    queues: Vec<SegQueue<Task>>,
    /// How many tasks have been dealt so far; the next one goes to `next mod P`.
    next: AtomicUsize,
}

impl Policy for RoundRobin {
    /// The worker's index: it only reads its own queue.
    type Local = WorkerId;
    const NAME: &'static str = "rr";
    const ALIASES: &'static [&'static str] = &["round-robin"];
    const ABOUT: &'static str =
        "round-robin: the k-th ready task goes to worker k mod P, never rebalanced";

    fn new(machine: &Machine) -> Self {
        RoundRobin {
            queues: (0..machine.workers()).map(|_| SegQueue::new()).collect(),
            next: AtomicUsize::new(0),
        }
    }

    fn local(&self, worker: WorkerId) -> Self::Local {
        worker
    }

    fn push(&self, _from: Option<&mut WorkerId>, task: Task) -> Wake {
        // Relaxed is enough: the counter only has to hand out distinct numbers; the queue push
        // itself publishes the task to its owner.
        let k = self.next.fetch_add(1, Ordering::Relaxed);
        let owner = k % self.queues.len();
        self.queues[owner].push(task);
        Wake::Worker(owner)
    }

    fn take(&self, me: &mut WorkerId) -> Option<Task> {
        self.queues[*me].pop()
    }

    fn queued(&self, worker: WorkerId) -> usize {
        self.queues[worker].len()
    }
}
