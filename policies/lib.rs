//! The scheduling policies of schedlab, one small file each.
//!
//! A policy decides *where a ready task waits* and *which task an idle worker runs next*. It is
//! given tasks through [`Policy::push`] and hands them out through [`Policy::take`] and
//! [`Policy::steal`]. It never runs tasks, never reads a clock and never sleeps: the executor in
//! the `schedlab` crate owns the threads, times every call into the policy (that time is the
//! scheduling overhead the lab shows), and parks workers that find nothing to do. Keeping the
//! policies free of clocks means a simulator can later drive the very same code in virtual time.
//!
//! Each worker owns a [`Policy::Local`] value (its own deque, its random generator): state that
//! only that worker touches needs no synchronisation, which is what makes work-stealing cheap.
//!
//! To add a policy: write one file beside this one that implements [`Policy`], add its `mod`
//! line below and its type to the `registry!` list.
#![forbid(unsafe_code)]

mod cp;
mod fifo;
mod heft;
mod hetero;
mod ranked;
mod rr;
mod steal;

pub use cp::CriticalPathFirst;
pub use fifo::Fifo;
pub use heft::Heft;
pub use hetero::Hetero;
pub use rr::RoundRobin;
pub use steal::WorkStealing;

/// Index of a worker thread (one per modelled core), `0..workers`.
pub type WorkerId = usize;

/// A ready task as it travels through a policy's queues.
///
/// It is a small `Copy` value, so queues hold tasks by value: no allocation per task, and the
/// executor's per-task state travels with the task instead of living in a shared table that
/// every core would have to touch. A policy reads `id` and `cost_us` and must hand the rest back
/// unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Task {
    /// The executor's task id.
    pub id: u32,
    /// Estimated time of the task body in µs on a speed-1.0 core (see the kernels' `estimate_us`).
    pub cost_us: f32,
    /// The task's upward rank in µs at speed 1.0: its own cost plus the longest estimated
    /// chain of tasks that wait for it, down to the end of the run. The executor fills it in
    /// from the plan (the task graph, the groups' `after`, a fork-join tree's depth), so a
    /// policy knows how urgent a task is without reading a clock.
    pub rank_us: f32,
    /// Executor's: when the task became ready, in ns since the start (virtual time in a simulator).
    pub ready_at: u64,
    /// Executor's: when the task was released (it arrived, or the last of its dependencies
    /// was met, or its parent spawned it), in ns since the start; a retry keeps its task's,
    /// so that its response time runs from the release to the end of its last attempt.
    pub released_at: u64,
    /// Executor's: the task's own parameter (`Fib`'s `n`, at most 60).
    pub arg: u16,
    /// Executor's: which attempt this is, from 1 (at most 1001: a workload retries a task at
    /// most 1000 times). With `arg`, two bytes each, so that a task fits half a cache line.
    pub attempt: u16,
}

// Half a cache line: queues move tasks by value, and a larger task measurably slowed the
// shared queues (1M empty tasks under fifo: 35 % slower at 40 bytes, BENCHMARKS.md).
const _: () = assert!(std::mem::size_of::<Task>() == 32);

impl Task {
    /// A task with only an id and a cost, the executor's fields zero.
    pub fn new(id: u32, cost_us: f32) -> Task {
        Task {
            id,
            cost_us,
            ..Task::default()
        }
    }
}

/// The machine a policy schedules for.
#[derive(Clone, Debug)]
pub struct Machine {
    /// Relative speed of each worker, in (0, 1]; its length is the number of workers.
    pub speeds: Vec<f64>,
    /// Seed for every random choice a policy makes (steal victims), so runs replay.
    pub seed: u64,
}

impl Machine {
    /// Number of workers.
    pub fn workers(&self) -> usize {
        self.speeds.len()
    }
}

/// Which worker a push should wake if it is parked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wake {
    /// Any parked worker can take the task (shared queue, or stealable deque).
    Any,
    /// Only this worker will take the task (it sits in that worker's private queue).
    Worker(WorkerId),
}

/// The result of one call to [`Policy::steal`]: a sweep over possible victims.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Stolen {
    /// The task taken, if any.
    pub task: Option<Task>,
    /// The worker it was taken from.
    pub victim: Option<WorkerId>,
    /// Victims tried in this sweep, the successful one included.
    pub attempts: u32,
}

/// A scheduling policy. See the module documentation for the division of labour.
///
/// Implementations must never lose a task: every pushed task is eventually returned by `take` or
/// `steal` of some worker, exactly once, as long as workers keep asking.
pub trait Policy: Send + Sync + Sized + 'static {
    /// Per-worker state, owned by that worker's thread.
    type Local: Send;
    /// The name used on the command line.
    const NAME: &'static str;
    /// Other accepted names.
    const ALIASES: &'static [&'static str];
    /// One line for `schedlab list`.
    const ABOUT: &'static str;
    /// Whether every push and take goes through one queue that all workers share: on many
    /// cores those calls wait for each other (the queue's head is one cache line), which a
    /// simulator models by serialising them. `false` for policies whose workers mostly touch
    /// queues of their own.
    const CENTRAL: bool = false;

    /// Builds the shared state for one run on `machine`.
    fn new(machine: &Machine) -> Self;
    /// Builds worker `worker`'s own state. Called once per worker before the run starts.
    fn local(&self, worker: WorkerId) -> Self::Local;
    /// A task became ready. `from` is the pushing worker's state when a worker pushes (a spawned
    /// child, a released dependent, a retry), `None` when it comes from outside (arrivals).
    fn push(&self, from: Option<&mut Self::Local>, task: Task) -> Wake;
    /// The next task for this worker from the queues it owns or shares, if any.
    fn take(&self, me: &mut Self::Local) -> Option<Task>;
    /// Called when `take` found nothing: try to take work queued for other workers.
    fn steal(&self, me: &mut Self::Local) -> Stolen {
        let _ = me;
        Stolen::default()
    }
    /// The worker finished running `task` (whatever the outcome).
    fn done(&self, me: &mut Self::Local, task: Task) {
        let _ = (me, task);
    }
    /// Tasks waiting in queues that belong to `worker`, for displays (may be approximate).
    fn queued(&self, worker: WorkerId) -> usize {
        let _ = worker;
        0
    }
    /// Tasks waiting in queues shared by every worker, for displays (may be approximate).
    fn queued_shared(&self) -> usize {
        0
    }
}

/// Something to do with a policy type chosen at run time by name.
///
/// The executor is generic over the policy so that every call is static; this visitor turns a
/// name into that type parameter.
pub trait WithPolicy {
    /// What the visit produces.
    type Output;
    /// Runs with the chosen policy type.
    fn with<P: Policy>(self) -> Self::Output;
}

/// A registered policy's names and description.
#[derive(Clone, Copy, Debug)]
pub struct PolicyInfo {
    /// Canonical name.
    pub name: &'static str,
    /// Other accepted names.
    pub aliases: &'static [&'static str],
    /// One line for `schedlab list`.
    pub about: &'static str,
}

impl PolicyInfo {
    /// Whether `name` is this policy's name or one of its aliases.
    pub fn matches(&self, name: &str) -> bool {
        self.name == name || self.aliases.contains(&name)
    }
}

macro_rules! registry {
    ($($policy:ty),* $(,)?) => {
        /// Every policy, in the order `compare` runs them.
        pub const ALL: &[PolicyInfo] = &[$(PolicyInfo {
            name: <$policy as Policy>::NAME,
            aliases: <$policy as Policy>::ALIASES,
            about: <$policy as Policy>::ABOUT,
        }),*];

        /// Calls `visitor` with the policy named `name` (or one of its aliases).
        pub fn with_policy<V: WithPolicy>(name: &str, visitor: V) -> Option<V::Output> {
            let mut registered = ALL.iter();
            $(if registered.next().is_some_and(|info| info.matches(name)) {
                return Some(visitor.with::<$policy>());
            })*
            None
        }
    };
}

registry!(
    Fifo,
    RoundRobin,
    WorkStealing,
    Hetero,
    Heft,
    CriticalPathFirst
);

/// Finds the registered policy for `name`, aliases included.
pub fn find(name: &str) -> Option<&'static PolicyInfo> {
    ALL.iter().find(|info| info.matches(name))
}

#[cfg(test)]
mod tests;
