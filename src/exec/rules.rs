//! The rules of a run, the same for every engine: when a task is ready, what a finished
//! attempt releases, and when a group is done.
//!
//! A root task waits behind a *gate*: one condition for its arrival (groups that arrive over
//! time) and one for its prerequisite groups (`after`). A group counts its unfinished tasks;
//! the last one to finish releases the groups waiting for it, or dooms them when one of its
//! tasks failed, and a doomed group's tasks are cancelled as their gates open. A `Fib` task
//! that completes spawns its two children, and an attempt that panicked is retried until the
//! workload's `max_retries` are spent.
//!
//! The real executor follows these rules from many threads at once, so the counters are
//! atomics; the simulator follows them from one thread, where the same atomics are merely
//! uncontended. Neither engine keeps a copy of them.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use schedlab_policies::Task;

use super::{Tally, WorkerStats};
use crate::plan::{FibPlan, Plan};
use crate::record::Outcome;

/// How a task ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fate {
    Completed,
    Failed,
    Cancelled,
}

/// What an engine does when the rules make a task ready.
pub(crate) trait Release<L> {
    /// The time now, ns since the start (read only when a ready time is needed).
    fn now(&self) -> u64;
    /// Hands root task `task` (cost not yet filled in), ready at `t`, to the policy, and
    /// wakes whom the policy says; `from` is the releasing worker's state, if a worker.
    fn ready(&self, task: Task, from: Option<&mut L>, t: u64);
}

/// A group's run state.
#[derive(Default)]
struct GroupState {
    /// Per root task: conditions still unmet before it is ready (not yet arrived, prerequisites
    /// not done). Empty for groups whose roots are ready at the start.
    gates: Vec<AtomicU32>,
    /// Tasks of the group not yet finished.
    remaining: AtomicUsize,
    /// Prerequisite groups not yet finished.
    blockers: AtomicUsize,
    /// Some task of this group did not complete.
    failed: AtomicBool,
    /// A prerequisite failed: this group's tasks are cancelled instead of run.
    doomed: AtomicBool,
}

/// The dependency state of one run of a plan.
pub(crate) struct Deps<'a> {
    pub(crate) plan: &'a Plan,
    groups: Vec<GroupState>,
    /// Per group, the arrival time of each root, for groups that arrive over time.
    arrival_ns: Vec<Vec<u64>>,
    /// Per graph task: a predecessor did not complete, so it is cancelled instead of run.
    task_doomed: Vec<AtomicBool>,
    /// Per graph task: the body time of its attempts, added up (for the critical path).
    task_ns: Vec<AtomicU64>,
}

impl<'a> Deps<'a> {
    /// Every gate closed, every group unfinished.
    pub(crate) fn new(plan: &'a Plan) -> Self {
        let groups = plan
            .groups
            .iter()
            .map(|g| GroupState {
                gates: match &plan.graph {
                    // Each task of a graph's kind waits for its own predecessors.
                    Some(graph) if g.graph => {
                        let at = (g.first - graph.first) as usize;
                        graph.gates[at..at + g.roots]
                            .iter()
                            .map(|&gate| AtomicU32::new(gate))
                            .collect()
                    }
                    _ => {
                        let gate = u32::from(g.timed) + u32::from(!g.after.is_empty());
                        let gated = if gate > 0 { g.roots } else { 0 };
                        (0..gated).map(|_| AtomicU32::new(gate)).collect()
                    }
                },
                remaining: AtomicUsize::new(g.roots * g.tree as usize),
                blockers: AtomicUsize::new(g.after.len()),
                ..GroupState::default()
            })
            .collect();
        let mut arrival_ns: Vec<Vec<u64>> = plan
            .groups
            .iter()
            .map(|g| {
                if g.timed {
                    vec![0; g.roots]
                } else {
                    Vec::new()
                }
            })
            .collect();
        for &(at, id) in &plan.arrivals {
            let (g, index) = plan.locate(id);
            arrival_ns[g][(index / plan.groups[g].tree) as usize] = at;
        }
        let graph_tasks = plan.graph.as_ref().map_or(0, |graph| graph.len());
        Deps {
            plan,
            groups,
            arrival_ns,
            task_doomed: (0..graph_tasks).map(|_| AtomicBool::new(false)).collect(),
            task_ns: (0..graph_tasks).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// The root tasks ready at the start: their groups neither arrive over time nor wait, or
    /// (in a task graph) they wait for nothing.
    pub(crate) fn initial(&self) -> impl Iterator<Item = Task> + '_ {
        self.plan
            .groups
            .iter()
            .enumerate()
            .filter(|(_, g)| !g.timed && g.after.is_empty())
            .flat_map(move |(g, group)| {
                let gates = &self.groups[g].gates;
                self.plan
                    .roots(g)
                    .enumerate()
                    .filter(move |&(i, _)| !group.graph || gates[i].load(Ordering::Relaxed) == 0)
                    .map(move |(_, id)| self.root_task(g, id))
            })
    }

    /// Each graph task's body time, its attempts added up, by graph task (empty without one).
    pub(crate) fn task_ns(&self) -> Vec<u64> {
        self.task_ns
            .iter()
            .map(|ns| ns.load(Ordering::Acquire))
            .collect()
    }

    /// Root task `id` of group `g`, as first made ready (cost, ready and release times unset).
    pub(crate) fn root_task(&self, g: usize, id: u32) -> Task {
        // `Fib`'s `n` is at most 60 (checked when loading).
        let arg = self.plan.groups[g]
            .fib
            .as_ref()
            .map_or(0, |fib| fib.n as u16);
        Task {
            id,
            arg,
            attempt: 1,
            ..Task::default()
        }
    }

    /// The latest moment an attempt of task `index` of group `g` that ran `real` ns could have
    /// ended if run at once: its arrival plus its body (0 for groups that do not arrive).
    #[inline]
    pub(crate) fn arrival_floor(&self, g: usize, index: u32, real: u64) -> u64 {
        let arrivals = &self.arrival_ns[g];
        if arrivals.is_empty() {
            return 0;
        }
        arrivals
            .get((index / self.plan.groups[g].tree) as usize)
            .map_or(0, |&arrived| arrived + real)
    }

    /// One condition of root task `id` is met; when none is left, the task is ready, at `t` if
    /// given (a time read after every condition was met), else at `release.now()`.
    ///
    /// The moment a task becomes ready is when its *last* condition is met, and only the
    /// opener that takes the gate to zero knows it was last: a time read before its decrement
    /// could precede another condition (an arrival the releaser had just let in, another
    /// prerequisite group finishing on another worker), and the task would seem ready before
    /// it could be. So a gate of two conditions reads the clock after the decisive decrement.
    pub(crate) fn open_gate<L>(
        &self,
        id: u32,
        from: Option<&mut L>,
        tally: &mut Tally,
        t: Option<u64>,
        release: &impl Release<L>,
    ) {
        let (g, index) = self.plan.locate(id);
        let root = (index / self.plan.groups[g].tree) as usize;
        // AcqRel: the last opener must see everything the other openers did before them.
        if self.groups[g].gates[root].fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        let task_doomed = || {
            self.plan
                .graph_task(id)
                .is_some_and(|l| self.task_doomed[l].load(Ordering::Acquire))
        };
        if self.groups[g].doomed.load(Ordering::Acquire) || task_doomed() {
            // Its whole call tree, for Fib: none of it will ever run.
            let tree = self.plan.groups[g].tree as usize;
            self.finish(g, id, Fate::Cancelled, tree, from, tally, release);
        } else {
            let t = t.unwrap_or_else(|| release.now());
            release.ready(self.root_task(g, id), from, t);
        }
    }

    /// `count` tasks of group `g` are finished, `id` among them; they are added to `tally`
    /// (and to its `pending`, which the caller subtracts from the run's unfinished tasks). A
    /// graph task's end releases (or, if it did not complete, cancels) its successors.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn finish<L>(
        &self,
        g: usize,
        id: u32,
        fate: Fate,
        count: usize,
        mut from: Option<&mut L>,
        tally: &mut Tally,
        release: &impl Release<L>,
    ) {
        self.count_finished(g, fate, count, from.as_deref_mut(), tally, release);
        if let Some(l) = self.plan.graph_task(id) {
            self.release_successors(l, fate != Fate::Completed, from, tally, release);
        }
    }

    /// Graph task `l` is finished: each successor has one condition fewer, and is doomed if
    /// `l` did not complete. A doomed successor whose last condition goes is cancelled, and its
    /// own successors with it, from a work list rather than by recursion, so that a chain of
    /// 100 000 cancelled tasks needs no deeper stack than one.
    fn release_successors<L>(
        &self,
        l: usize,
        failed: bool,
        mut from: Option<&mut L>,
        tally: &mut Tally,
        release: &impl Release<L>,
    ) {
        let graph = self.plan.graph.as_ref().expect("a graph task has a graph");
        if graph.successors(l).is_empty() {
            return;
        }
        let mut now = None;
        let mut cancelled: Vec<u32> = Vec::new();
        let mut next = Some((l as u32, failed));
        while let Some((l, failed)) = next.take().or_else(|| cancelled.pop().map(|s| (s, true))) {
            for &s in graph.successors(l as usize) {
                let id = graph.first + s;
                if failed {
                    self.task_doomed[s as usize].store(true, Ordering::Release);
                }
                let (g, index) = self.plan.locate(id);
                // AcqRel: the last opener sees every doom stored before its decrement.
                if self.groups[g].gates[index as usize].fetch_sub(1, Ordering::AcqRel) != 1 {
                    continue;
                }
                if self.task_doomed[s as usize].load(Ordering::Acquire)
                    || self.groups[g].doomed.load(Ordering::Acquire)
                {
                    self.count_finished(g, Fate::Cancelled, 1, from.as_deref_mut(), tally, release);
                    cancelled.push(s);
                } else {
                    // Read after the decisive decrement (see `open_gate`), once per finish.
                    let t = *now.get_or_insert_with(|| release.now());
                    release.ready(self.root_task(g, id), from.as_deref_mut(), t);
                }
            }
        }
    }

    /// `count` tasks of group `g` are finished: the group's own count (see [`Deps::finish`]).
    fn count_finished<L>(
        &self,
        g: usize,
        fate: Fate,
        count: usize,
        from: Option<&mut L>,
        tally: &mut Tally,
        release: &impl Release<L>,
    ) {
        match fate {
            Fate::Completed => tally.completed += count as u64,
            Fate::Failed => tally.failed += count as u64,
            Fate::Cancelled => tally.cancelled += count as u64,
        }
        tally.pending += count;
        let state = &self.groups[g];
        let group = &self.plan.groups[g];
        if !group.dependents.is_empty() || !group.task_dependents.is_empty() {
            if fate != Fate::Completed {
                state.failed.store(true, Ordering::Release);
            }
            // AcqRel: whoever finishes the group last sees every `failed` stored before.
            if state.remaining.fetch_sub(count, Ordering::AcqRel) == count {
                self.group_done(g, from, tally, release);
            }
        }
    }

    /// Every task of group `g` is finished: release (or doom) the groups waiting for it.
    fn group_done<L>(
        &self,
        g: usize,
        mut from: Option<&mut L>,
        tally: &mut Tally,
        release: &impl Release<L>,
    ) {
        let failed = self.groups[g].failed.load(Ordering::Acquire);
        // Graph tasks that wait for the whole group: one condition each.
        for &id in &self.plan.groups[g].task_dependents {
            if let (true, Some(l)) = (failed, self.plan.graph_task(id)) {
                self.task_doomed[l].store(true, Ordering::Release);
            }
            self.open_gate(id, from.as_deref_mut(), tally, None, release);
        }
        for &d in &self.plan.groups[g].dependents {
            let dependent = &self.groups[d];
            if failed {
                dependent.doomed.store(true, Ordering::Release);
            }
            if dependent.blockers.fetch_sub(1, Ordering::AcqRel) == 1 {
                // Read after the last prerequisite's decrement: every prerequisite group had
                // finished by now. Roots that also wait for their arrival read the clock when
                // their own gate opens (see `open_gate`).
                let t = (!self.plan.groups[d].timed).then(|| release.now());
                for id in self.plan.roots(d) {
                    self.open_gate(id, from.as_deref_mut(), tally, t, release);
                }
            }
        }
    }

    /// An attempt of `task` (task `index` of group `g`) ended at `t`, completed if `ok`,
    /// after waiting `wait` ns and running `real` ns of body: counts it in `st` and says what
    /// follows (see [`Deps::after_attempt`]). Both engines end an attempt here.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub(crate) fn end_attempt(
        &self,
        st: &mut WorkerStats,
        task: Task,
        (g, index): (usize, u32),
        ok: bool,
        wait: u64,
        real: u64,
        t: u64,
    ) -> AfterAttempt {
        let after = self.after_attempt(g, task, ok, t);
        let floor = self.arrival_floor(g, index, real);
        if let Some(l) = self.plan.graph_task(task.id) {
            // Only this task's attempts touch its entry, one after another.
            self.task_ns[l].fetch_add(real, Ordering::Relaxed);
        }
        st.count_attempt(g, &task, wait, real, t, floor, after.outcome);
        after
    }

    /// An attempt of `task` (group `g`) ended at `t`, completed if `ok`: the fate of its task
    /// and what it makes ready, all but the dependents (see [`Deps::finish`]).
    #[inline]
    pub(crate) fn after_attempt(&self, g: usize, task: Task, ok: bool, t: u64) -> AfterAttempt {
        let fib = self.plan.groups[g]
            .fib
            .as_ref()
            .filter(|fib| !fib.is_leaf(u32::from(task.arg)));
        let outcome = if ok {
            Outcome::Completed
        } else if u32::from(task.attempt) <= self.plan.max_retries {
            Outcome::Retry
        } else {
            Outcome::Failed
        };
        let then = match outcome {
            Outcome::Completed => match fib {
                Some(fib) => Then::Spawn(children(fib, task, t)),
                None => Then::Finish(Fate::Completed, 1),
            },
            Outcome::Retry => Then::Retry(Task {
                attempt: task.attempt + 1,
                ready_at: t,
                ..task
            }),
            _ => Then::Fail(fib.map_or(0, |fib| fib.sizes[task.arg as usize] as usize - 1)),
        };
        AfterAttempt { outcome, then }
    }
}

/// What follows an attempt (see [`Deps::after_attempt`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct AfterAttempt {
    /// How the attempt ended.
    pub(crate) outcome: Outcome,
    /// What to do about it.
    pub(crate) then: Then,
}

impl AfterAttempt {
    /// Whether it makes tasks ready itself (children or a retry): the scheduler span after
    /// the body is a push.
    pub(crate) fn pushes(&self) -> bool {
        matches!(self.then, Then::Spawn(_) | Then::Retry(_))
    }
}

/// The consequence of one attempt.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Then {
    /// Completed: its task is finished (`Finish(Completed, 1)`).
    Finish(Fate, usize),
    /// A `Fib` node completed: push these two (right first, so the left is taken first by a
    /// LIFO), then finish the task as completed.
    Spawn([Task; 2]),
    /// Panicked with retries left: push this attempt (the task is not finished).
    Retry(Task),
    /// Panicked on its last attempt: the task failed, and so many descendants (a `Fib` node's
    /// unspawned subtree) are cancelled.
    Fail(usize),
}

/// The two children a completed `Fib` node `task` spawns at `t`, right first. Preorder layout:
/// the left child is next, the right one after its subtree. Their costs are the plan's
/// estimates; an engine with its own costs replaces them.
#[inline]
fn children(fib: &FibPlan, task: Task, t: u64) -> [Task; 2] {
    let n = task.arg;
    let left = Task {
        id: task.id + 1,
        arg: n - 1,
        attempt: 1,
        cost_us: fib.cost_us[n as usize - 1],
        // A spawned node's chain below it; what waits for its group adds the same to all.
        rank_us: fib.rank_us[n as usize - 1] + (task.rank_us - fib.rank_us[n as usize]),
        ready_at: t,
        released_at: t,
    };
    let right = Task {
        id: left.id + fib.sizes[n as usize - 1],
        arg: n - 2,
        cost_us: fib.cost_us[n as usize - 2],
        rank_us: fib.rank_us[n as usize - 2] + (task.rank_us - fib.rank_us[n as usize]),
        ..left
    };
    [right, left]
}
