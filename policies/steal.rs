//! # Work-stealing: keep your own work, take others' when you run dry
//!
//! **Idea.** Each worker has its own double-ended queue (deque). Tasks a worker creates (a
//! spawned child, a dependent it released) go on the *bottom* of its own deque, and it takes
//! from the bottom too: last in, first out, so it keeps working on what is hot in its cache and
//! needs no coordination with anyone. Tasks that arrive from outside go into a shared
//! *injector* queue. A worker whose deque and the injector are both empty becomes a *thief*: it
//! picks a victim at random and steals from the *top* of the victim's deque, the oldest task,
//! which in fork-join code is usually the biggest piece of remaining work.
//!
//! **Trade-off.** The common case (push and pop on your own deque) touches no shared state, so
//! tiny tasks stay cheap; cost appears only when work must move, and then it moves to exactly
//! the workers that are idle. The price is a more intricate data structure (crossbeam-deque
//! here) and randomness: which worker runs what differs from run to run unless the victims are
//! seeded, as they are here.
//!
//! **The newest task skips the deque.** A worker that pushes a task takes one straight after
//! (it pushes only as it finishes a task), and that is the task it just pushed. So the newest
//! task waits in a one-task slot of the worker's own (`next`), and the one it displaces goes on
//! the deque where thieves can see it. Popping the deque costs a full memory fence (the owner
//! and a thief could be racing for the last task); taking from the slot costs nothing. In a
//! fork-join tree half the takes come from the slot. Tokio calls this the LIFO slot.
//!
//! **When it wins.** Almost always for irregular or nested parallelism (fork-join, recursive
//! divide and conquer, uneven task sizes). It is the policy of rayon, Cilk, Go and Tokio.

use std::sync::Mutex;

use crossbeam::deque::{Injector, Steal, Stealer, Worker};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use crate::{Machine, Policy, Stolen, Task, Wake, WorkerId};

/// Per-worker LIFO deques, random-victim stealing and an injector for external arrivals.
pub struct WorkStealing {
    injector: Injector<Task>,
    stealers: Vec<Stealer<Task>>,
    /// The deques' owning ends, handed out once each by [`Policy::local`].
    owners: Mutex<Vec<Option<Worker<Task>>>>,
    seed: u64,
}

/// What each worker keeps to itself.
pub struct Local {
    me: WorkerId,
    deque: Worker<Task>,
    /// The task pushed last, which this worker takes next; no thief can see it.
    next: Option<Task>,
    rng: Xoshiro256PlusPlus,
}

impl Policy for WorkStealing {
    type Local = Local;
    const NAME: &'static str = "steal";
    const ALIASES: &'static [&'static str] = &["work-stealing"];
    const ABOUT: &'static str = "work-stealing: own LIFO deque per worker, idle workers steal the oldest task of a random victim";

    fn new(machine: &Machine) -> Self {
        let owners: Vec<Worker<Task>> =
            (0..machine.workers()).map(|_| Worker::new_lifo()).collect();
        WorkStealing {
            injector: Injector::new(),
            stealers: owners.iter().map(Worker::stealer).collect(),
            owners: Mutex::new(owners.into_iter().map(Some).collect()),
            seed: machine.seed,
        }
    }

    fn local(&self, worker: WorkerId) -> Local {
        // Set-up only, never on the hot path; a poisoned lock can only mean a panic during
        // set-up, where carrying on with the data is still right.
        let mut owners = self.owners.lock().unwrap_or_else(|e| e.into_inner());
        let deque = owners[worker]
            .take()
            .expect("each worker's deque is handed out once");
        // Each worker's victim sequence derives from the run's seed and its own index.
        let rng = Xoshiro256PlusPlus::seed_from_u64(
            self.seed ^ (worker as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        Local {
            me: worker,
            deque,
            next: None,
            rng,
        }
    }

    fn push(&self, from: Option<&mut Local>, task: Task) -> Wake {
        match from {
            // Our own work: into the slot, and what was there to the bottom of our deque, where
            // thieves can take it. Neither is a shared write that needs a fence.
            Some(me) => match me.next.replace(task) {
                Some(older) => me.deque.push(older),
                // Nothing new to steal: only this worker will take the task.
                None => return Wake::Worker(me.me),
            },
            None => self.injector.push(task),
        }
        Wake::Any
    }

    fn take(&self, me: &mut Local) -> Option<Task> {
        if let Some(task) = me.next.take() {
            return Some(task);
        }
        if let Some(task) = me.deque.pop() {
            return Some(task);
        }
        // Our deque is empty: grab a batch from the injector so the next takes are local again.
        // `Retry` means we lost a race with another worker, not that the queue is empty.
        loop {
            match self.injector.steal_batch_and_pop(&me.deque) {
                Steal::Success(task) => return Some(task),
                Steal::Empty => return None,
                Steal::Retry => continue,
            }
        }
    }

    fn queued(&self, worker: WorkerId) -> usize {
        self.stealers[worker].len()
    }

    fn queued_shared(&self) -> usize {
        self.injector.len()
    }

    fn steal(&self, me: &mut Local) -> Stolen {
        let n = self.stealers.len();
        let mut stolen = Stolen::default();
        if n < 2 {
            return stolen;
        }
        // Start at a random victim and sweep round, so thieves spread over the victims instead
        // of all hitting worker 0 first.
        let start = me.rng.random_range(0..n);
        for victim in (start..n).chain(0..start).filter(|&v| v != me.me) {
            stolen.attempts += 1;
            loop {
                match self.stealers[victim].steal() {
                    Steal::Success(task) => {
                        stolen.task = Some(task);
                        stolen.victim = Some(victim);
                        return stolen;
                    }
                    Steal::Empty => break,
                    Steal::Retry => continue,
                }
            }
        }
        stolen
    }
}
