//! # FIFO: one shared queue
//!
//! **Idea.** Every ready task joins the back of one queue; every idle worker takes from the front.
//! It is the supermarket with a single line: nobody waits while a till is free, and tasks start
//! in the order they became ready.
//!
//! **Trade-off.** All workers touch the same queue, so every take is a write to shared memory
//! that the other cores must see: with tiny tasks the queue itself becomes the bottleneck, and
//! the overhead per task grows with the number of workers. The order ignores how large tasks
//! are and which core is faster, so one big task picked up last by a slow core can hold up the
//! end of the run.
//!
//! **When it wins.** Tasks of moderate size arriving over time (a web server): it balances load
//! perfectly and is fair, with no tuning at all.

use crossbeam::queue::SegQueue;

use crate::{Machine, Policy, Task, Wake, WorkerId};

/// One global first-in, first-out queue shared by every worker.
pub struct Fifo {
    queue: SegQueue<Task>,
}

impl Policy for Fifo {
    type Local = ();
    const NAME: &'static str = "fifo";
    const ALIASES: &'static [&'static str] = &[];
    const ABOUT: &'static str =
        "one shared FIFO queue: every idle worker takes the oldest ready task";
    // Every push and take goes through the one queue: on many cores they queue for it.
    const CENTRAL: bool = true;

    fn new(_machine: &Machine) -> Self {
        Fifo {
            queue: SegQueue::new(),
        }
    }

    fn local(&self, _worker: WorkerId) -> Self::Local {}

    fn push(&self, _from: Option<&mut ()>, task: Task) -> Wake {
        self.queue.push(task);
        // Whoever is free first may take it.
        Wake::Any
    }

    fn take(&self, _me: &mut ()) -> Option<Task> {
        self.queue.pop()
    }

    fn queued_shared(&self) -> usize {
        self.queue.len()
    }
}
