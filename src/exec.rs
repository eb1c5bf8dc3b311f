//! The executor: real OS threads running a [`Plan`] under a scheduling policy.
//!
//! One thread per worker (pinned to a core when there are enough cores) loops: ask the policy
//! for a task (`take`, then `steal`), run its body, make ready what it released, and when
//! nothing is to be had, back off and then park (see `exec/sleep.rs`). The calling thread is
//! the *releaser*: it makes the initial tasks ready, releases timed arrivals on schedule, and
//! watches for the end of the run or an interrupt.
//!
//! Every worker times its own calls into the policy (overhead), its task bodies (busy) and the
//! rest (idle), keeps its own counters and histograms, and records events into its own buffer.
//! Nothing is shared per task except what the policy itself shares: a task's mutable state
//! (when it became ready, its attempt, `Fib`'s `n`) travels inside the [`Task`] value through
//! the policy's queues, its fixed facts come from the [`Plan`]'s layout, finished tasks are
//! counted locally and flushed in batches, and a group's completion is tracked only for groups
//! that someone waits for. Timestamps come from the CPU's time-stamp counter (quanta): about
//! 10 ns a read, the largest single cost of a task that does nothing, so a task whose body
//! computes nothing is read once, at its start.

pub mod machine;
pub(crate) mod rules;
mod sleep;

use std::cell::Cell;
use std::collections::HashMap;
use std::hint::black_box;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use crossbeam::channel::{self, Sender};
use crossbeam::utils::{Backoff, CachePadded};
use schedlab_policies::{Machine, Policy, Task, Wake, WithPolicy};

use crate::kernels;
use crate::plan::Plan;
use crate::record::{Chunk, Kind, Outcome, Recorder, Timeline, encode_wait};
use crate::times::{FEW, Times};
use crate::workload::ResolvedMachine;
use rules::{Deps, Fate, Release, Then};
use sleep::{Parker, Sleep};

/// Waits shorter than this many ns are counted in a plain array before they reach a histogram.
const SHORT_WAIT_NS: usize = 256;
/// Finished tasks a worker counts locally before telling everyone.
const FLUSH_FINISHED: usize = 256;
/// ... or this long after it last told, so progress moves during a run of long tasks.
const FLUSH_AFTER_NS: u64 = 20_000_000;
/// A timed span (a task body, a scheduler call, an idle spell) longer than this, by the cheap
/// clock, is followed by a reading of how long the thread waited for a CPU, and that wait is
/// taken out of what the span judges (work, task times, scheduler cost). The OS takes a CPU
/// away for a time slice (a millisecond or more), so a span it interrupted is long; a reading
/// costs a microsecond or two, under 1 % of such a span, and nothing for short ones.
pub(crate) const PREEMPTION_CHECK_NS: u64 = 200_000;
/// How often the releaser looks at the clock while waiting (for interrupts and progress).
const TICK: Duration = Duration::from_millis(10);

thread_local! {
    /// Set while this thread runs a task body, so the panic hook stays quiet for the panics the
    /// workload injects (they are caught, counted and retried, not bugs).
    static IN_TASK: Cell<bool> = const { Cell::new(false) };
}

pub use crate::clock::blocking;

/// Wraps the current panic hook so that panics inside task bodies print nothing; every other
/// panic still reaches the previous hook. Call again after anything else replaces the hook (the
/// TUI's terminal-restoring hook).
pub fn quiet_task_panics() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !IN_TASK.with(Cell::get) {
            previous(info);
        }
    }));
}

/// How to run.
#[derive(Clone, Default)]
pub struct RunOptions {
    /// Record the timeline (events). Off, each event costs one branch.
    pub record: bool,
    /// Pin each worker to its own core when there are at least as many cores as workers.
    pub pin: bool,
    /// Set from outside (Ctrl-C) to stop the run early.
    pub stop: Option<Arc<AtomicBool>>,
    /// Where recorded chunks go as they are made, for a live view. When `None`, they are
    /// gathered into the returned [`Timeline`].
    pub events: Option<Sender<Chunk>>,
}

/// How far a run has got, for progress displays.
#[derive(Clone, Debug)]
pub struct Progress {
    /// Tasks finished (each worker tells in batches of 256 or every 20 ms, so slightly behind).
    pub finished: usize,
    /// Tasks in all.
    pub total: usize,
    /// Time since the start.
    pub elapsed: Duration,
    /// Tasks waiting in each worker's own queues.
    pub queued: Vec<usize>,
    /// Tasks waiting in shared queues.
    pub queued_shared: usize,
}

/// What one worker measured.
#[derive(Debug, Clone)]
pub struct WorkerStats {
    /// Time inside task bodies, emulated slowdown included.
    pub busy_ns: u64,
    /// The part of `busy_ns` spent blocked (sleeping, waiting for I/O).
    pub blocked_ns: u64,
    /// Time inside calls into the scheduler.
    pub overhead_ns: u64,
    /// Time backing off or parked.
    pub idle_ns: u64,
    /// The part of `idle_ns` during which a ready task waited in some queue this worker was
    /// not given (the policy's doing); the rest no task was ready anywhere (the workload's).
    /// Probed at the start and end of each idle spell: a spell with a queue non-empty at both
    /// counts here, one with all empty at both does not, and a mixed one counts half (a
    /// parked worker woken by new work counts as starved: the work came at the wake).
    pub queued_elsewhere_ns: u64,
    /// The part of `idle_ns` spent backing off (spinning or yielding), not parked.
    pub spin_ns: u64,
    /// Task bodies' real time (speed 1.0).
    pub work_ns: u64,
    /// Attempts run to an outcome (one an interrupt cut short is not counted).
    pub tasks: u64,
    /// Tasks taken from other workers.
    pub steals: u64,
    /// Victims tried.
    pub steal_attempts: u64,
    /// Outcomes this worker decided.
    pub tally: Tally,
    /// What this worker measured of each group it ran, in the order it first ran them: only
    /// those, so that a workload of many groups on many workers costs memory in proportion to
    /// the attempts run, never to groups × workers.
    pub groups: Vec<(usize, GroupStats)>,
    /// Wrapping sum of the tasks' results: the same for every policy on the same seed.
    pub checksum: u64,
    /// The end of the last attempt this worker counted, ns.
    pub last_end_ns: u64,
    /// Time within the run this worker's thread was ready to run but waiting for a CPU, ns;
    /// `None` where the OS does not tell (see [`machine`]).
    pub preempted_ns: Option<u64>,
    /// The part of `preempted_ns` found inside task bodies: left out of `work_ns` and the
    /// groups' times.
    pub preempted_busy_ns: u64,
    /// The part of `preempted_ns` found inside calls into the scheduler: left out of the
    /// scheduler's cost per task.
    pub preempted_overhead_ns: u64,
    /// Where each group's entry is in `groups`.
    pub(crate) slots: HashMap<usize, usize>,
    /// The group and slot of the last lookup: consecutive tasks are mostly of one group.
    pub(crate) last: (usize, usize),
}

/// What one worker measured of one group's attempts.
#[derive(Debug, Clone, Default)]
pub struct GroupStats {
    /// Ready → start, per attempt.
    pub waits: Times,
    /// Body time per attempt (speed 1.0, that is without emulated slowdown).
    pub bodies: Times,
    /// Release → end of the last attempt, per task that completed or failed (a cancelled
    /// task never ran to an end): its response time, waits and retries included.
    pub responses: Times,
    /// The latest moment any of its attempts could have ended if run at once and at full
    /// speed: its task's arrival plus its body time, ns (0 for groups released at the start).
    pub arrival_floor_ns: u64,
    /// Bodies of zero length not yet added to `bodies` (added in one go at the end: a
    /// fork-join tree's inner nodes are half its tasks).
    zero_bodies: u64,
    /// How many waits of each length under [`SHORT_WAIT_NS`] are not yet in `waits` (empty
    /// until the group has one). A tiny task's wait is usually that short, and counting it
    /// here costs a fraction of a histogram record; they are added at the end.
    short_waits: Vec<u64>,
    /// The same for responses (a tiny task's response is as short as its wait).
    short_responses: Vec<u64>,
    /// The same for bodies (a fork-join tree's nodes, simulated), once `bodies` holds more
    /// than a few values: a group of a few tasks costs no array.
    short_bodies: Vec<u64>,
    /// A longer body time and how many consecutive attempts had it, not yet in `bodies`: a
    /// group's tasks often cost the same (always, simulated without jitter), and adding
    /// them in one go costs a fraction of a histogram record each.
    body_run: (u64, u64),
}

/// Task outcomes counted by one thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Tasks completed.
    pub completed: u64,
    /// Tasks failed after their last retry.
    pub failed: u64,
    /// Tasks cancelled because something they depend on failed (or the run was interrupted).
    pub cancelled: u64,
    /// Attempts retried.
    pub retried: u64,
    /// Finished but not yet subtracted from the run's count of unfinished tasks.
    pub(crate) pending: usize,
}

impl Default for WorkerStats {
    fn default() -> Self {
        WorkerStats::new()
    }
}

impl WorkerStats {
    fn new() -> Self {
        WorkerStats {
            busy_ns: 0,
            blocked_ns: 0,
            overhead_ns: 0,
            idle_ns: 0,
            queued_elsewhere_ns: 0,
            spin_ns: 0,
            work_ns: 0,
            tasks: 0,
            steals: 0,
            steal_attempts: 0,
            tally: Tally::default(),
            groups: Vec::new(),
            checksum: 0,
            last_end_ns: 0,
            preempted_ns: None,
            preempted_busy_ns: 0,
            preempted_overhead_ns: 0,
            slots: HashMap::new(),
            last: (usize::MAX, 0),
        }
    }

    /// This worker's entry for group `g`, made on first use.
    #[inline]
    fn group(&mut self, g: usize) -> &mut GroupStats {
        if self.last.0 != g {
            let next = self.groups.len();
            let slot = *self.slots.entry(g).or_insert(next);
            if slot == next {
                self.groups.push((g, GroupStats::default()));
            }
            self.last = (g, slot);
        }
        &mut self.groups[self.last.1].1
    }

    /// Counts one finished attempt of group `g` that waited `wait_ns` and ran `body_ns`, the
    /// only attempt of its task (so it responded in their sum), as the executor does (for
    /// tests and tools that build results by hand).
    pub fn record_attempt(&mut self, g: usize, wait_ns: u64, body_ns: u64) {
        let stats = self.group(g);
        stats.waits.record(wait_ns);
        stats.bodies.record(body_ns);
        stats.responses.record(wait_ns + body_ns);
    }

    /// Counts one attempt of `task` (group `g`) that ended at `end` with `outcome`, after
    /// waiting `wait` ns and running `real` ns of body, `floor` its arrival floor (see
    /// [`GroupStats::arrival_floor_ns`]). Every engine counts its attempts here.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub(crate) fn count_attempt(
        &mut self,
        g: usize,
        task: &Task,
        wait: u64,
        real: u64,
        end: u64,
        floor: u64,
        outcome: Outcome,
    ) {
        self.tasks += 1;
        self.work_ns += real;
        self.last_end_ns = end;
        if outcome == Outcome::Retry {
            self.tally.retried += 1;
        }
        let stats = self.group(g);
        stats.wait(wait);
        if real == 0 {
            stats.zero_bodies += 1;
        } else {
            stats.body(real);
        }
        stats.arrival_floor_ns = stats.arrival_floor_ns.max(floor);
        if outcome != Outcome::Retry {
            // The task's last attempt: its response runs from its release, retries included.
            stats.response(end.saturating_sub(task.released_at));
        }
    }

    /// What this worker measured of group `g`, if it ran any of its attempts.
    pub fn group_stats(&self, g: usize) -> Option<&GroupStats> {
        self.slots.get(&g).map(|&slot| &self.groups[slot].1)
    }

    /// Moves what was counted on the side into the distributions, at the end of the run.
    pub(crate) fn settle(&mut self) {
        for (_, group) in &mut self.groups {
            group.settle();
        }
    }
}

impl GroupStats {
    /// Counts one ready → start wait.
    #[inline]
    fn wait(&mut self, ns: u64) {
        count_short(&mut self.waits, &mut self.short_waits, ns);
    }

    /// Counts one task's release → end response.
    #[inline]
    fn response(&mut self, ns: u64) {
        count_short(&mut self.responses, &mut self.short_responses, ns);
    }

    /// Counts one body time above zero.
    #[inline]
    fn body(&mut self, ns: u64) {
        if ns < SHORT_WAIT_NS as u64 && self.bodies.len() > FEW as u64 {
            count_short(&mut self.bodies, &mut self.short_bodies, ns);
        } else if self.body_run.0 == ns {
            self.body_run.1 += 1;
        } else {
            let (value, count) = std::mem::replace(&mut self.body_run, (ns, 1));
            self.bodies.record_n(value, count);
        }
    }

    /// Moves what was counted on the side into `waits`, `responses` and `bodies`.
    fn settle(&mut self) {
        self.bodies
            .record_n(0, std::mem::take(&mut self.zero_bodies));
        let (value, count) = std::mem::take(&mut self.body_run);
        self.bodies.record_n(value, count);
        settle_short(&mut self.bodies, &mut self.short_bodies);
        settle_short(&mut self.waits, &mut self.short_waits);
        settle_short(&mut self.responses, &mut self.short_responses);
    }

    /// Adds `other`'s measurements (of the same group, from another worker).
    pub fn add(&mut self, other: &GroupStats) {
        self.waits.add(&other.waits);
        self.bodies.add(&other.bodies);
        self.responses.add(&other.responses);
        self.arrival_floor_ns = self.arrival_floor_ns.max(other.arrival_floor_ns);
    }
}

/// How much of an idle stretch of `span` ns counts as spent while ready work waited elsewhere,
/// given whether any was queued at its start and at its end: all, none, or half when the two
/// differ, except for a parked worker woken by new work (`woken`), for which nothing was
/// ready until the work that woke it came.
fn idle_while_queued(before: bool, after: bool, span: u64, woken: bool) -> u64 {
    match (before, after) {
        (true, true) => span,
        (false, false) => 0,
        (false, true) if woken => 0,
        _ => span / 2,
    }
}

/// Counts `ns` into `times`, or on the side in `short` when under [`SHORT_WAIT_NS`].
#[inline]
fn count_short(times: &mut Times, short: &mut Vec<u64>, ns: u64) {
    match usize::try_from(ns) {
        Ok(n) if n < SHORT_WAIT_NS => {
            if short.is_empty() {
                short.resize(SHORT_WAIT_NS, 0);
            }
            short[n] += 1;
        }
        _ => times.record(ns),
    }
}

/// Moves what [`count_short`] counted on the side into `times`.
fn settle_short(times: &mut Times, short: &mut Vec<u64>) {
    for (ns, &count) in std::mem::take(short).iter().enumerate() {
        times.record_n(ns as u64, count);
    }
}

/// Everything a finished (or interrupted) run measured.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// The policy's canonical name.
    pub policy: &'static str,
    /// From the start to the moment the last task finished (or the interrupt).
    pub makespan_ns: u64,
    /// Per worker, in worker order.
    pub workers: Vec<WorkerStats>,
    /// Outcomes decided by the releaser (cancellations at arrival).
    pub released: Tally,
    /// Whether the run was stopped before every task finished.
    pub interrupted: bool,
    /// Tasks in all.
    pub total: usize,
    /// Each graph task's body time in ns at speed 1.0, its attempts added up, by graph task
    /// (empty for a workload without a task graph): the critical path is computed from it.
    pub task_ns: Vec<u64>,
    /// The recorded events, unless they were sent to [`RunOptions::events`].
    pub timeline: Timeline,
    /// The progress samples taken while the run went on (queue lengths every 10 ms).
    pub samples: Vec<Progress>,
    /// CPUs the process could run on.
    pub cores: usize,
    /// Whether each worker was pinned to a core of its own.
    pub pinned: bool,
    /// How a simulated run was costed; `None` for a run on real threads.
    pub sim: Option<Simulated>,
}

/// What a simulated run's costs came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Simulated {
    /// The scheduler's and the kernels' costs.
    pub cost_model: crate::costs::CostModel,
    /// The recording whose measured task times were used, if any (else the estimates).
    pub measured_from: Option<String>,
}

impl RunResult {
    /// Every worker's measurements of each of `groups` groups, added up: one entry per group.
    pub fn group_stats(&self, groups: usize) -> Vec<GroupStats> {
        let mut all = vec![GroupStats::default(); groups];
        for w in &self.workers {
            for (g, stats) in &w.groups {
                if let Some(total) = all.get_mut(*g) {
                    total.add(stats);
                }
            }
        }
        all
    }
}

/// Why a run could not be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RunError {
    /// No policy has this name.
    #[error("no policy is called `{0}`")]
    UnknownPolicy(String),
    /// The OS would not start a worker thread (a limit on threads or memory).
    #[error(
        "the OS refused to start worker thread {worker} of {workers} ({cause}); ask for fewer workers (--workers), or raise the limit on threads or memory"
    )]
    Threads {
        /// The worker whose thread could not be started (0-based).
        worker: usize,
        /// Workers asked for.
        workers: usize,
        /// The OS's reason.
        cause: String,
    },
}

/// The message a panic carries, for saying what went wrong.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_string()))
        .unwrap_or_else(|| "a panic without a message".to_string())
}

/// Runs `plan` on `machine` under the policy named `policy`. `on_tick` is called about every
/// 10 ms from the calling thread while the run goes on.
///
/// # Errors
///
/// No policy has that name, or the OS would not start the worker threads.
pub fn run(
    plan: &Plan,
    machine: &ResolvedMachine,
    policy: &str,
    options: &RunOptions,
    on_tick: &mut dyn FnMut(Progress),
) -> Result<RunResult, RunError> {
    run_named(&Threads, plan, machine, policy, options, on_tick)
}

/// An engine that runs a plan under a policy type: what [`run_named`] hands the type a name
/// picks to. The executor ([`Threads`]) and the simulator are both one, and each is a
/// `session::Engine` through it.
pub trait PolicyEngine {
    /// Whether its runs are simulated (virtual time) rather than real.
    const SIMULATED: bool = false;
    /// The most workers a run may have.
    const MAX_WORKERS: usize = crate::workload::MAX_WORKERS;

    /// Runs `plan` on `machine` under `P`.
    ///
    /// # Errors
    ///
    /// The engine could not start.
    fn run_as<P: Policy>(
        &self,
        plan: &Plan,
        machine: &ResolvedMachine,
        options: &RunOptions,
        on_tick: &mut dyn FnMut(Progress),
    ) -> Result<RunResult, RunError>;
}

/// Runs `plan` on `engine` under the registered policy named `policy` (or an alias).
///
/// # Errors
///
/// No policy has that name, or the engine could not start.
pub fn run_named(
    engine: &impl PolicyEngine,
    plan: &Plan,
    machine: &ResolvedMachine,
    policy: &str,
    options: &RunOptions,
    on_tick: &mut dyn FnMut(Progress),
) -> Result<RunResult, RunError> {
    schedlab_policies::with_policy(
        policy,
        Visit {
            engine,
            plan,
            machine,
            options,
            on_tick,
        },
    )
    .unwrap_or_else(|| Err(RunError::UnknownPolicy(policy.to_string())))
}

/// The real executor: one OS thread per worker, real kernels, the wall clock.
pub struct Threads;

impl PolicyEngine for Threads {
    fn run_as<P: Policy>(
        &self,
        plan: &Plan,
        machine: &ResolvedMachine,
        options: &RunOptions,
        on_tick: &mut dyn FnMut(Progress),
    ) -> Result<RunResult, RunError> {
        static HOOK: std::sync::Once = std::sync::Once::new();
        HOOK.call_once(quiet_task_panics);
        run_policy::<P>(plan, machine, options, on_tick)
    }
}

struct Visit<'a, E> {
    engine: &'a E,
    plan: &'a Plan,
    machine: &'a ResolvedMachine,
    options: &'a RunOptions,
    on_tick: &'a mut dyn FnMut(Progress),
}

impl<E: PolicyEngine> WithPolicy for Visit<'_, E> {
    type Output = Result<RunResult, RunError>;
    fn with<P: Policy>(self) -> Result<RunResult, RunError> {
        self.engine
            .run_as::<P>(self.plan, self.machine, self.options, self.on_tick)
    }
}

struct Shared<'a, P> {
    plan: &'a Plan,
    policy: P,
    deps: Deps<'a>,
    unfinished: CachePadded<AtomicUsize>,
    done: CachePadded<AtomicBool>,
    /// Set with `done`: the kernels still running give up (see `kernels::stop_with`).
    abort: Arc<AtomicBool>,
    makespan_ns: AtomicU64,
    sleep: Sleep,
    speeds: Vec<f64>,
    clock: &'static quanta::Clock,
    /// Raw clock reading at the start.
    start: u64,
    /// The releaser's thread, woken when the run ends so it does not sleep out its tick.
    releaser: std::thread::Thread,
}

/// Runs `plan` under the policy type `P`, which need not be registered (tests use this to run
/// policies that misbehave). [`run`] finds `P` by name.
///
/// # Errors
///
/// The OS would not start the worker threads.
pub fn run_policy<P: Policy>(
    plan: &Plan,
    machine: &ResolvedMachine,
    options: &RunOptions,
    on_tick: &mut dyn FnMut(Progress),
) -> Result<RunResult, RunError> {
    let workers = machine.workers();
    let policy = P::new(&Machine {
        speeds: machine.speeds.clone(),
        seed: plan.seed,
    });
    let parkers: Vec<Parker> = (0..workers).map(|_| Parker::new()).collect();
    let mut shared = Shared {
        plan,
        policy,
        deps: Deps::new(plan),
        unfinished: CachePadded::new(AtomicUsize::new(plan.total)),
        done: CachePadded::new(AtomicBool::new(false)),
        abort: Arc::new(AtomicBool::new(false)),
        makespan_ns: AtomicU64::new(0),
        sleep: Sleep::new(&parkers),
        speeds: machine.speeds.clone(),
        clock: crate::clock::clock(),
        start: 0,
        releaser: std::thread::current(),
    };
    let locals: Vec<P::Local> = (0..workers).map(|w| shared.policy.local(w)).collect();
    // Asked once, before any thread is pinned: afterwards it would only list the pinned core.
    let cores = options
        .pin
        .then(core_affinity::get_core_ids)
        .flatten()
        .filter(|cores| cores.len() >= workers);
    let pinned = cores.is_some();
    let (own_tx, own_rx) = channel::unbounded();
    let tx = match (&options.events, options.record) {
        (Some(tx), true) => Some(tx.clone()),
        (None, true) => Some(own_tx),
        (_, false) => None,
    };
    let mut timeline = Timeline::new(workers);
    let mut released = Tally::default();
    let mut samples = Vec::new();
    shared.start = shared.clock.raw();
    let shared = &shared;
    let stats = std::thread::scope(|s| {
        let mut handles = Vec::with_capacity(workers);
        for (w, (local, parker)) in locals.into_iter().zip(parkers).enumerate() {
            let core = cores.as_ref().map(|c| c[w]);
            // Two events per attempt, and a few more while idle.
            let expected = 2 * plan.total + 1024;
            let recorder = Recorder::new(w, tx.clone(), options.events.is_some(), expected);
            let spawned = std::thread::Builder::new()
                .name(format!("schedlab-worker-{w}"))
                .spawn_scoped(s, move || {
                    if let Some(core) = core {
                        core_affinity::set_for_current(core);
                    }
                    crate::kernels::stop_with(Some(shared.abort.clone()));
                    // Tasks' panics are caught per attempt; one that reaches here is the
                    // policy's or the executor's. End the run so nobody waits for this
                    // worker, then pass the panic on.
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        shared.work(w, local, &parker, recorder)
                    }))
                    .unwrap_or_else(|panic| {
                        shared.end_run();
                        std::panic::resume_unwind(panic)
                    })
                });
            match spawned {
                Ok(handle) => handles.push(handle),
                Err(e) => {
                    // The workers already started leave at once (nothing was released), and
                    // the scope joins them before the error goes back.
                    shared.end_run();
                    return Err(RunError::Threads {
                        worker: w,
                        workers,
                        cause: e.to_string(),
                    });
                }
            }
        }
        drop(tx);
        let mut keep = |p: Progress| {
            samples.push(p.clone());
            on_tick(p);
        };
        let releasing = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            shared.release(
                &mut released,
                options.stop.as_deref(),
                &mut keep,
                &mut |t| t.drain(&own_rx),
                &mut timeline,
            )
        }));
        if let Err(panic) = releasing {
            // The workers must leave before the scope can end and the panic go on.
            shared.end_run();
            std::panic::resume_unwind(panic);
        }
        Ok(handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect::<Vec<_>>())
    })?;
    timeline.drain(&own_rx);
    // An attempt that ended as an interrupt stopped the run is not counted (see `run_task`),
    // but one may have ended a few ns after the clock read that marks the end: the makespan
    // covers every counted attempt, so no figure can claim more than the run's length.
    let makespan_ns = stats
        .iter()
        .map(|w| w.last_end_ns)
        .fold(shared.makespan_ns.load(Ordering::Acquire), u64::max);
    Ok(RunResult {
        policy: P::NAME,
        makespan_ns,
        interrupted: shared.unfinished.load(Ordering::Acquire) > 0,
        workers: stats,
        released,
        total: plan.total,
        task_ns: shared.deps.task_ns(),
        timeline,
        samples,
        cores: machine::cores(),
        pinned,
        sim: None,
    })
}

impl<P: Policy> Release<P::Local> for Shared<'_, P> {
    fn now(&self) -> u64 {
        Shared::now(self)
    }

    fn ready(&self, task: Task, from: Option<&mut P::Local>, t: u64) {
        let wake = self.make_ready(task, from, t);
        self.sleep.wake([wake]);
    }
}

impl<P: Policy> Shared<'_, P> {
    /// Nanoseconds since the start.
    #[inline]
    fn now(&self) -> u64 {
        self.clock.delta_as_nanos(self.start, self.clock.raw())
    }

    /// The releaser: initial tasks, timed arrivals, then waiting for the end.
    fn release(
        &self,
        tally: &mut Tally,
        stop: Option<&AtomicBool>,
        on_tick: &mut dyn FnMut(Progress),
        drain: &mut dyn FnMut(&mut Timeline),
        timeline: &mut Timeline,
    ) {
        let stopped = || stop.is_some_and(|s| s.load(Ordering::Relaxed));
        let t = self.now();
        for task in self.deps.initial() {
            // Woken all at once below: a fence per task would slow the start of a run of
            // many small tasks for nothing.
            let _ = self.make_ready(task, None, t);
        }
        // Unparking is a full barrier after the pushes, and a worker parking later finds the
        // unpark's token: nobody sleeps through the first tasks.
        self.sleep.wake_all();
        let mut next_tick = 0;
        let mut tick = |this: &Self, timeline: &mut Timeline| {
            let now = this.now();
            if now >= next_tick {
                next_tick = now + TICK.as_nanos() as u64;
                drain(timeline);
                on_tick(Progress {
                    finished: this.plan.total - this.unfinished.load(Ordering::Relaxed),
                    total: this.plan.total,
                    elapsed: Duration::from_nanos(now),
                    queued: (0..this.speeds.len())
                        .map(|w| this.policy.queued(w))
                        .collect(),
                    queued_shared: this.policy.queued_shared(),
                });
            }
        };
        for &(at, id) in &self.plan.arrivals {
            loop {
                if self.done.load(Ordering::Acquire) || stopped() {
                    break;
                }
                let now = self.now();
                if now >= at {
                    self.open_gate(id, None, tally, None);
                    // A doomed arrival is cancelled right here: count it at once, since the
                    // releaser never goes idle the way workers do.
                    self.flush(tally);
                    break;
                }
                std::thread::sleep(Duration::from_nanos(at - now).min(TICK));
                tick(self, timeline);
            }
        }
        while !self.done.load(Ordering::Acquire) {
            if stopped() {
                self.end_run();
                break;
            }
            // Woken by `end_run` as the last task finishes.
            std::thread::park_timeout(TICK);
            tick(self, timeline);
        }
    }

    /// Whether any ready task waits in any queue, as the policy tells (its counts may lag a
    /// push or a take by a moment). Stops at the first queue holding one.
    fn anything_queued(&self) -> bool {
        self.policy.queued_shared() > 0 || (0..self.speeds.len()).any(|w| self.policy.queued(w) > 0)
    }

    /// Marks the end of the run and wakes everybody so they can leave.
    fn end_run(&self) {
        self.makespan_ns.store(self.now(), Ordering::Release);
        self.done.store(true, Ordering::SeqCst);
        // Relaxed: the kernels only need to see it soon, and they synchronise through nothing
        // else; their attempts are discarded by the executor, which reads `done`.
        self.abort.store(true, Ordering::Relaxed);
        self.sleep.wake_all();
        self.releaser.unpark();
    }

    /// One condition of root task `id` is met (see [`Deps::open_gate`]).
    fn open_gate(&self, id: u32, from: Option<&mut P::Local>, tally: &mut Tally, t: Option<u64>) {
        self.deps.open_gate(id, from, tally, t, self);
        self.flush_some(tally);
    }

    /// Hands `task`, ready at `t`, to the policy; the caller wakes whom it says.
    #[inline]
    fn make_ready(&self, task: Task, from: Option<&mut P::Local>, t: u64) -> Wake {
        let (g, index) = self.plan.locate(task.id);
        let cost_us = self.plan.cost_us(g, index, u32::from(task.arg));
        let rank_us = self.plan.rank_us(g, index, u32::from(task.arg));
        self.policy.push(
            from,
            Task {
                cost_us,
                rank_us,
                ready_at: t,
                released_at: t,
                ..task
            },
        )
    }

    /// `count` tasks of group `g` are finished, task `id` among them (see [`Deps::finish`]).
    fn finish(
        &self,
        (g, id): (usize, u32),
        fate: Fate,
        count: usize,
        from: Option<&mut P::Local>,
        tally: &mut Tally,
    ) {
        self.deps.finish(g, id, fate, count, from, tally, self);
        self.flush_some(tally);
    }

    /// Tells the run about this thread's finished tasks once there are enough of them.
    #[inline]
    fn flush_some(&self, tally: &mut Tally) {
        if tally.pending >= FLUSH_FINISHED {
            self.flush(tally);
        }
    }

    /// Subtracts this thread's finished tasks from the run's count; the last one ends the run.
    fn flush(&self, tally: &mut Tally) {
        let pending = std::mem::take(&mut tally.pending);
        if pending > 0 && self.unfinished.fetch_sub(pending, Ordering::AcqRel) == pending {
            self.end_run();
        }
    }

    /// A worker thread's whole life.
    fn work(
        &self,
        w: usize,
        mut local: P::Local,
        parker: &Parker,
        mut rec: Recorder,
    ) -> WorkerStats {
        let mut st = WorkerStats::new();
        // Opened here and read on leaving for the total; in between only after long spans.
        let mut rq = machine::RunQueue::open();
        let speed = self.speeds[w];
        let backoff = Backoff::new();
        let mut announced = false;
        let mut sched_from = self.now();
        let mut told_at = sched_from;
        // Whether a ready task sat in some queue at the end of the last idle spell (`None`
        // once this worker has run a task since: probe again at the next spell).
        let mut queued_seen: Option<bool> = None;
        rec.event(sched_from, Kind::Take, 0, 0, 0);
        while !self.done.load(Ordering::Relaxed) {
            let found = match self.policy.take(&mut local) {
                Some(task) => Some((task, 0)),
                None => {
                    // About to look elsewhere or idle: let everyone know what we finished.
                    self.flush(&mut st.tally);
                    rec.event(self.now(), Kind::Steal, 0, 0, 0);
                    let stolen = self.policy.steal(&mut local);
                    st.steal_attempts += u64::from(stolen.attempts);
                    stolen.task.map(|task| {
                        st.steals += 1;
                        (task, stolen.victim.map_or(0, |v| v as u16 + 1))
                    })
                }
            };
            if let Some((task, aux)) = found {
                if announced {
                    self.sleep.awake(w);
                    announced = false;
                }
                backoff.reset();
                queued_seen = None;
                sched_from = self.run_task(
                    &mut st, &mut local, &mut rec, &mut rq, task, aux, sched_from, speed,
                );
                if st.tally.pending > 0 && sched_from - told_at > FLUSH_AFTER_NS {
                    self.flush(&mut st.tally);
                    told_at = sched_from;
                }
                continue;
            }
            if self.done.load(Ordering::Acquire) {
                break;
            }
            let mut t_idle = self.now();
            if t_idle - sched_from > PREEMPTION_CHECK_NS {
                st.preempted_overhead_ns += rq.since_last().min(t_idle - sched_from);
                t_idle = self.now();
            }
            st.overhead_ns += t_idle - sched_from;
            // What was queued when this spell began: the end of the last spell, or a probe.
            let mut queued_before = queued_seen.unwrap_or_else(|| self.anything_queued());
            // The spell's start, moved on by each probe while parked.
            let mut probed_at = t_idle;
            let parked = announced;
            if announced {
                // We announced and looked once more: nothing. Sleep until a push wakes us,
                // looking at the queues now and then.
                rec.event(t_idle, Kind::Park, 0, 0, 0);
                self.sleep.park(w, parker, || {
                    let queued = self.anything_queued();
                    let t = self.now();
                    st.queued_elsewhere_ns +=
                        idle_while_queued(queued_before, queued, t - probed_at, false);
                    (queued_before, probed_at) = (queued, t);
                });
                self.sleep.awake(w);
                announced = false;
                backoff.reset();
            } else if backoff.is_completed() {
                // Spun long enough; announce, and the loop takes its last look (see sleep.rs).
                self.sleep.announce(w);
                announced = true;
            } else {
                rec.event(t_idle, Kind::Idle, 0, 0, 0);
                backoff.snooze();
            }
            let queued_after = self.anything_queued();
            queued_seen = Some(queued_after);
            sched_from = self.now();
            if sched_from - t_idle > PREEMPTION_CHECK_NS {
                // A wait for a CPU inside an idle spell (after a wake-up) judges nothing:
                // only take it out of what the next span will be charged.
                rq.since_last();
                sched_from = self.now();
            }
            st.queued_elsewhere_ns +=
                idle_while_queued(queued_before, queued_after, sched_from - probed_at, parked);
            st.idle_ns += sched_from - t_idle;
            if !parked {
                st.spin_ns += sched_from - t_idle;
            }
            rec.event(sched_from, Kind::Take, 0, 0, 0);
        }
        if announced {
            self.sleep.awake(w);
        }
        self.flush(&mut st.tally);
        let t_exit = self.now();
        st.overhead_ns += t_exit - sched_from;
        rec.event(t_exit, Kind::Exit, 0, 0, 0);
        st.preempted_ns = rq.since_open();
        st.settle();
        st
    }

    /// Runs one attempt of `task` and does what follows from it; returns when the scheduler
    /// span after it started.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn run_task(
        &self,
        st: &mut WorkerStats,
        local: &mut P::Local,
        rec: &mut Recorder,
        rq: &mut machine::RunQueue,
        task: Task,
        victim: u16,
        sched_from: u64,
        speed: f64,
    ) -> u64 {
        let mut t0 = self.now();
        if t0 - sched_from > PREEMPTION_CHECK_NS {
            st.preempted_overhead_ns += rq.since_last().min(t0 - sched_from);
            t0 = self.now();
        }
        st.overhead_ns += t0 - sched_from;
        let id = task.id;
        let attempt = u32::from(task.attempt);
        rec.event(t0, Kind::Run, id, attempt, victim);
        let (g, index) = self.plan.locate(id);
        let wait = t0.saturating_sub(task.ready_at);
        let n = u32::from(task.arg);
        let result = self.body(g, index, id, n, attempt);
        // A fork-join node with no computation of its own (an inner node only spawns its
        // children, which is the scheduler's work and timed as such after it; `fib(0)` and
        // `fib(1)` are their own answers) takes no time, so the clock is not read again: a
        // clock read costs more than such a body.
        let trivial = self.plan.groups[g]
            .fib
            .as_ref()
            .is_some_and(|f| f.is_trivial(n));
        let t1 = if trivial { t0 } else { self.now() };
        // The body's own time: what the kernel computed (or waited for as I/O), less any time
        // the OS held the thread off its CPU inside it, which is the machine's, not the task's.
        let mut real = t1 - t0;
        // Where the attempt's own time ends unless a slower core's emulation goes on.
        let mut body_end = t1;
        if real > PREEMPTION_CHECK_NS {
            let preempted = rq.since_last().min(real);
            st.preempted_busy_ns += preempted;
            real -= preempted;
            // The reading is part of the attempt (busy, not the scheduler's cost); it is a
            // microsecond or two after a body of at least 200 µs.
            body_end = self.now();
        }
        // Only a kernel blocks; a trivial node runs none.
        let blocked_at = if trivial {
            0
        } else {
            crate::clock::take_blocked_at()
        };
        if blocked_at != 0 {
            // Blocked until the body's recorded end: the start of a slower core's emulation,
            // or the event after the body (which follows the run-queue reading, if any).
            let block_end = if speed < 1.0 { t1 } else { body_end };
            let tb = self
                .clock
                .delta_as_nanos(self.start, blocked_at)
                .clamp(t0, block_end);
            rec.event(tb, Kind::Block, id, attempt, 0);
            st.blocked_ns += block_end - tb;
        }
        let mut t2 = body_end;
        if speed < 1.0 {
            // An emulated slower core: keep this core busy for the rest of the task's time.
            // `as` saturates and so does the addition, so no speed can wrap the deadline
            // around (the workload check refuses speeds too slow to finish anyway); an
            // interrupt ends the wait.
            rec.event(t1, Kind::Slow, id, attempt, 0);
            let extra = (real as f64 * (1.0 / speed - 1.0)) as u64;
            match machine::thread_cpu_ns() {
                // For CPU time: a wait for a CPU in the middle is the machine's, and the
                // slow core is `1 / speed` times slower than a fast one however busy the
                // machine (spinning for wall time, it was as fast as the others under load).
                Some(cpu) => {
                    let until = cpu.saturating_add(extra);
                    while !self.done.load(Ordering::Relaxed)
                        && machine::thread_cpu_ns().is_some_and(|now| now < until)
                    {
                        std::hint::spin_loop();
                    }
                    t2 = self.now();
                }
                None => {
                    let until = t1.saturating_add(extra);
                    while t2 < until && !self.done.load(Ordering::Relaxed) {
                        std::hint::spin_loop();
                        t2 = self.now();
                    }
                }
            }
            if t2 - body_end > PREEMPTION_CHECK_NS {
                // What the OS held the worker off its CPU during the emulation: not the core's
                // time, like that inside the body.
                st.preempted_busy_ns += rq.since_last().min(t2 - body_end);
                t2 = self.now();
            }
        }
        st.busy_ns += t2 - t0;
        if self.done.load(Ordering::Acquire) {
            // The run was stopped while this attempt ran: its kernel may have given up half
            // way, or its slowdown been cut short. It did not finish, so it counts as no work,
            // no body time and no outcome (the report counts its task as cancelled).
            self.policy.done(local, task);
            rec.event(t2, Kind::Take, encode_wait(wait), 0, Outcome::None as u16);
            return t2;
        }
        let ok = result.is_some();
        if let Some(value) = result {
            st.checksum = st.checksum.wrapping_add(value);
        }
        let after = self
            .deps
            .end_attempt(st, task, (g, index), ok, wait, real, t2);
        self.policy.done(local, task);
        rec.event(
            t2,
            if after.pushes() {
                Kind::Push
            } else {
                Kind::Take
            },
            encode_wait(wait),
            0,
            after.outcome as u16,
        );
        match after.then {
            Then::Spawn(children) => {
                let wakes = children.map(|child| self.policy.push(Some(&mut *local), child));
                self.sleep.wake(wakes);
                self.finish((g, id), Fate::Completed, 1, Some(local), &mut st.tally);
            }
            Then::Finish(fate, count) => {
                self.finish((g, id), fate, count, Some(local), &mut st.tally)
            }
            Then::Retry(retry) => {
                let wake = self.policy.push(Some(local), retry);
                self.sleep.wake([wake]);
            }
            Then::Fail(descendants) => {
                self.finish((g, id), Fate::Failed, 1, Some(local), &mut st.tally);
                if descendants > 0 {
                    let tally = &mut st.tally;
                    self.finish((g, id), Fate::Cancelled, descendants, Some(local), tally);
                }
            }
        }
        t2
    }

    /// The task body: the kernel's real work, and the injected fault if this attempt has one.
    /// `None` if it panicked.
    #[inline]
    fn body(&self, g: usize, index: u32, id: u32, n: u32, attempt: u32) -> Option<u64> {
        let plan = self.plan;
        let group = &plan.groups[g];
        IN_TASK.with(|f| f.set(true));
        let result = catch_unwind(AssertUnwindSafe(|| {
            let value = match &group.fib {
                Some(fib) if fib.is_leaf(n) => kernels::fib(n),
                Some(_) => 0,
                None if group.jitter > 0.0 || group.graph => {
                    plan.kernel(g, index).run(plan.seed, u64::from(index))
                }
                None => group.kernel.run(plan.seed, u64::from(index)),
            };
            if plan.injects_fault(id, attempt) {
                panic!("injected fault: {}, attempt {attempt}", plan.task_name(id));
            }
            black_box(value)
        }));
        IN_TASK.with(|f| f.set(false));
        result.ok()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::workload::{self, Overrides};

    /// Runs the workload `text` on 3 workers under every policy on `engine`, recorded, and
    /// checks that each run ends with every task accounted for and one `Run` event per
    /// attempt; returns each run and its report, with the plan and machine, for the engine's
    /// own checks.
    pub(crate) fn small_runs(
        engine: &impl PolicyEngine,
        text: &str,
    ) -> (
        Plan,
        ResolvedMachine,
        Vec<(RunResult, crate::report::Report)>,
    ) {
        let w = workload::parse(text, "small.ron").expect("valid").workload;
        let machine = w
            .resolve_machine(&Overrides {
                workers: Some(3),
                ..Overrides::default()
            })
            .expect("valid machine");
        let plan = Plan::new(&w, 7);
        let mut runs = Vec::new();
        for info in schedlab_policies::ALL {
            let options = RunOptions {
                record: true,
                ..RunOptions::default()
            };
            let run = run_named(engine, &plan, &machine, info.name, &options, &mut |_| {})
                .expect("known");
            let report = crate::report::Report::new("small", "", &plan, &machine, &run);
            let tasks = report.tasks;
            assert!(!run.interrupted, "{}", info.name);
            assert_eq!(
                tasks.completed + tasks.failed + tasks.cancelled,
                tasks.total,
                "{}",
                info.name
            );
            assert_eq!(tasks.total, plan.total as u64, "{}", info.name);
            let attempts: u64 = run.workers.iter().map(|w| w.tasks).sum();
            let events = run
                .timeline
                .workers
                .iter()
                .flatten()
                .filter(|e| e.kind == Kind::Run)
                .count();
            assert_eq!(
                events as u64, attempts,
                "{}: one Run event per attempt",
                info.name
            );
            runs.push((run, report));
        }
        (plan, machine, runs)
    }

    /// The executor's own concurrency (policies' queues, parking, the finished count, the
    /// event channel) on a small run, oversubscribed: cheap enough to run under miri too
    /// (`cargo +nightly miri test --lib exec::`, see the README).
    #[test]
    fn every_policy_runs_a_small_run_to_the_end_with_each_task_once() {
        let text = r#"(name: "small", faults: Faults(panic_rate: 0.1, max_retries: 1), groups: [
            (name: "tree", kernel: Fib(n: 6, cutoff: 0), count: 2),
            (name: "after", kernel: Spin(us: 0), count: 8, after: ["tree"]),
        ])"#;
        small_runs(&Threads, text);
    }

    #[test]
    fn short_waits_counted_on_the_side_reach_the_distributions_exactly() {
        let waits = [0, 1, 37, 255, 256, 257, 10_000, 37, 0, 3_000_000_000];
        let mut st = WorkerStats::new();
        let mut direct = Times::new();
        for &ns in &waits {
            st.group(1).wait(ns);
            direct.record(ns);
        }
        assert_eq!(
            st.group(1).waits.len(),
            4,
            "only the long waits went to the distribution at once"
        );
        st.settle();
        assert_eq!(st.group_stats(1).map(|g| &g.waits), Some(&direct));
        assert!(
            st.group_stats(0).is_none(),
            "nothing kept for a group never run"
        );
        assert_eq!(st.groups.len(), 1);
        assert_eq!(
            st.group(1).waits.quantile(0.0),
            0,
            "a zero wait is kept as zero"
        );
    }

    #[test]
    fn bodies_counted_on_the_side_or_in_runs_reach_the_distribution_exactly() {
        // Short ones, runs of equal long ones, a run broken and resumed, zeros, and more than
        // `FEW` values so that the histogram is used.
        let mut bodies = vec![0, 3, 255, 256, 256, 256, 1_000, 1_000, 256, 0, 90_000_000];
        bodies.extend(std::iter::repeat_n(1_000, 40));
        bodies.extend([7, 1_000, 123_456, 5, 200, 5, 1_000, 5]);
        let task = Task::new(0, 1.0);
        let mut st = WorkerStats::new();
        let mut direct = Times::new();
        for &ns in &bodies {
            st.count_attempt(2, &task, 0, ns, 0, 0, Outcome::Completed);
            direct.record(ns);
        }
        assert!(
            !st.group(2).short_bodies.is_empty(),
            "the last short ones were counted on the side"
        );
        st.settle();
        let counted = &st.group_stats(2).expect("ran").bodies;
        assert_eq!(counted, &direct);
        assert_eq!(
            (counted.len(), counted.quantile(1.0)),
            (direct.len(), direct.quantile(1.0))
        );
    }

    #[test]
    fn a_worker_keeps_state_only_for_the_groups_it_ran() {
        let mut st = WorkerStats::new();
        for g in [7, 7, 3, 7, 100_000, 3] {
            st.record_attempt(g, 10, 20);
        }
        let kept: Vec<usize> = st.groups.iter().map(|(g, _)| *g).collect();
        assert_eq!(kept, vec![7, 3, 100_000]);
        assert_eq!(st.group_stats(7).map(|g| g.bodies.len()), Some(3));
        assert_eq!(st.group_stats(3).map(|g| g.bodies.len()), Some(2));
        assert!(st.group_stats(4).is_none());
    }
}
