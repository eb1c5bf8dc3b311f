//! A ready task ordered by its rank, for the graph-aware policies' priority queues.

use std::cmp::Ordering;

use crate::Task;

/// A task in a max-heap: the highest `rank_us` first, and among equal ranks the one made ready
/// first (`seq`), so that ties are broken the same way every run.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ranked {
    pub(crate) task: Task,
    pub(crate) seq: u64,
}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        self.task
            .rank_us
            .total_cmp(&other.task.rank_us)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Ranked {}
