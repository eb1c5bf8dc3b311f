//! # Critical path first
//!
//! **Idea.** In a graph of dependent tasks, the run cannot end before its longest chain does: the
//! *critical path*. So the task that matters most is the one with the longest chain still ahead
//! of it. Every task carries its **upward rank**, its own cost plus the longest chain of tasks
//! that wait for it (the plan computes it from the graph before the run; nothing here reads a
//! clock). Ready tasks wait in one queue ordered by rank, and whichever worker is free takes the
//! highest-ranked one:
//!
//! ```text
//! rank(t) = cost(t) + max over successors s of rank(s)
//! ```
//!
//! This is the classic *list scheduling* with critical-path priorities (HLFET, CP/MISF): greedy,
//! so no worker idles while a task is ready, and among the ready tasks, the most urgent first.
//!
//! **Trade-off.** It needs the graph and cost estimates ahead of time. It does not look at who
//! runs a task: on cores of different speeds a long task may land on a slow core (see `heft`).
//! One shared queue means every push and take goes through one lock, which costs more per task
//! than per-worker deques: fine for tasks of milliseconds, not for tasks of a microsecond.
//!
//! **When it wins.** Task graphs with a long chain and plenty of side work (workflows, builds):
//! a FIFO queue runs the side work first and leaves the chain for last, critical path first
//! starts the chain early and fills the gaps with side work.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::ranked::ByRank;
use crate::{Machine, Policy, Task, Wake, WorkerId};

/// One shared queue of ready tasks, highest upward rank first.
pub struct CriticalPathFirst {
    ready: Mutex<ByRank>,
    /// Tasks in the queue, for displays (read without the lock).
    len: AtomicUsize,
}

impl Policy for CriticalPathFirst {
    type Local = ();
    const NAME: &'static str = "cp";
    const ALIASES: &'static [&'static str] = &["critical-path"];
    const ABOUT: &'static str = "critical path first: one shared queue, the ready task with the longest chain ahead of it runs next";
    // Every push and take goes through the one queue's lock.
    const CENTRAL: bool = true;

    fn new(_machine: &Machine) -> Self {
        CriticalPathFirst {
            ready: Mutex::new(ByRank::default()),
            len: AtomicUsize::new(0),
        }
    }

    fn local(&self, _worker: WorkerId) -> Self::Local {}

    fn push(&self, _from: Option<&mut ()>, task: Task) -> Wake {
        // Nothing panics while holding the lock, so even a poisoned one holds a whole queue.
        let mut ready = self.ready.lock().unwrap_or_else(|e| e.into_inner());
        ready.push(task);
        // Relaxed: a display's count, never used to decide anything.
        self.len.store(ready.len(), Ordering::Relaxed);
        Wake::Any
    }

    fn take(&self, _me: &mut ()) -> Option<Task> {
        let mut ready = self.ready.lock().unwrap_or_else(|e| e.into_inner());
        let next = ready.pop();
        self.len.store(ready.len(), Ordering::Relaxed);
        next
    }

    fn queued_shared(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }
}
