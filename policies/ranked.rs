//! Ready tasks by upward rank, for the graph-aware policies' queues.

use std::collections::{BTreeMap, VecDeque};

use crate::Task;

/// Ready tasks by upward rank: the highest rank first, and among equal ranks the one made ready
/// first. Tasks of equal rank share one first-in, first-out line, so a run of many tasks of
/// few ranks (a flat group, a fork-join tree) costs a line's push and pop per task, not a
/// heap's sift through every task queued.
#[derive(Debug, Default)]
pub(crate) struct ByRank {
    lines: BTreeMap<RankKey, VecDeque<Task>>,
    len: usize,
}

/// A rank as an integer in the same order (`f32::total_cmp`'s), so that it can key a map.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct RankKey(u32);

impl RankKey {
    fn of(rank_us: f32) -> RankKey {
        let bits = rank_us.to_bits();
        // Negative numbers count down as their bits count up: flip them all; positive ones
        // go above every negative one.
        RankKey(if bits >> 31 == 1 {
            !bits
        } else {
            bits | 1 << 31
        })
    }
}

impl ByRank {
    /// Queues `task` behind those of its rank.
    pub(crate) fn push(&mut self, task: Task) {
        self.lines
            .entry(RankKey::of(task.rank_us))
            .or_default()
            .push_back(task);
        self.len += 1;
    }

    /// Takes the highest-ranked task.
    pub(crate) fn pop(&mut self) -> Option<Task> {
        self.take_first(1, |_| true)
    }

    /// Takes the first task, in rank order, that `accept` accepts among the first `limit`
    /// (each one seen is offered once).
    pub(crate) fn take_first(
        &mut self,
        limit: usize,
        mut accept: impl FnMut(&Task) -> bool,
    ) -> Option<Task> {
        let mut offered = 0;
        let mut found = None;
        'lines: for (&key, line) in self.lines.iter().rev() {
            for (i, task) in line.iter().enumerate() {
                if offered == limit {
                    break 'lines;
                }
                offered += 1;
                if accept(task) {
                    found = Some((key, i));
                    break 'lines;
                }
            }
        }
        let (key, i) = found?;
        let line = self.lines.get_mut(&key)?;
        let task = line.remove(i);
        if line.is_empty() {
            self.lines.remove(&key);
        }
        self.len -= 1;
        task
    }

    /// Tasks queued.
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}
