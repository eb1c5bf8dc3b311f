//! The simulator: the same policies in virtual time, on one thread.
//!
//! A discrete-event loop keeps each worker's next moment in a heap and advances a virtual
//! clock from one to the next. At each, a worker does what the executor's worker would do
//! there, with the very same calls into the policy (`take`, then `steal`, `done`, `push`), and
//! the same rules for what a finished attempt releases (`exec/rules.rs`); but a task body
//! costs what its kernel's estimate says (or what a recorded real run measured), divided by
//! the core's speed, and every call into the policy costs what the cost model says. Nothing
//! runs and nothing spins, so a run is the same on any machine and any load, and a machine of
//! 4096 cores costs no more to simulate than the tasks and events on it.
//!
//! An idle worker spins for a while (the cost model's `spin_ns`), where a push that wakes
//! anybody finds it at once, and then parks, where a push that wakes it costs `wake_ns` before
//! it looks for work. A parked worker costs nothing until then.

use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use schedlab_policies::{Machine, Policy, Task, Wake};

use crate::costs::{CostModel, Costs};
use crate::exec::rules::{Deps, Fate, Release, Then};
use crate::exec::{Progress, RunError, RunOptions, RunResult, Simulated, Tally, WorkerStats};
use crate::plan::Plan;
use crate::record::{CHUNK_EVENTS, Chunk, Event, Kind, Timeline, encode_wait};
use crate::workload::ResolvedMachine;

/// Virtual time between two progress samples, as in a real run.
const SAMPLE_NS: u64 = 10_000_000;
/// Samples kept at most: past this, every other one goes and the interval doubles.
const MAX_SAMPLES: usize = 1024;
/// Events handled between two looks at the stop flag.
const STOP_EVERY: u32 = 1 << 16;

/// The simulator engine (see the module documentation).
#[derive(Clone, Debug, Default)]
pub struct Sim {
    /// Scheduler and kernel costs.
    pub model: CostModel,
    /// Each task's measured body time in ns at speed 1.0, by task id (`NaN` where not
    /// measured: those take their estimate), from a recording of a real run.
    pub measured: Option<Arc<Vec<f32>>>,
    /// Where `measured` came from, for the report.
    pub measured_from: Option<String>,
}

impl Sim {
    /// A simulator with the default cost model and the kernels' estimates.
    pub fn new(model: CostModel) -> Self {
        Sim {
            model,
            measured: None,
            measured_from: None,
        }
    }

    /// Runs under the policy type `P`, which need not be registered.
    pub fn run_policy<P: Policy>(
        &self,
        plan: &Plan,
        machine: &ResolvedMachine,
        options: &RunOptions,
        on_tick: &mut dyn FnMut(Progress),
    ) -> RunResult {
        let costs = TaskCosts::new(plan, &self.model, self.measured.clone());
        let mut world = World::<P>::new(self, plan, machine, options, costs);
        world.simulate(options, on_tick);
        world.finish(options)
    }
}

/// A simulator is an engine (`session::Engine`): a policy found by its name.
impl crate::exec::PolicyEngine for Sim {
    const SIMULATED: bool = true;
    const MAX_WORKERS: usize = crate::workload::MAX_SIM_WORKERS;

    fn run_as<P: Policy>(
        &self,
        plan: &Plan,
        machine: &ResolvedMachine,
        options: &RunOptions,
        on_tick: &mut dyn FnMut(Progress),
    ) -> Result<RunResult, RunError> {
        Ok(self.run_policy::<P>(plan, machine, options, on_tick))
    }
}

/// What each task's body costs in a simulated run.
struct TaskCosts<'a> {
    plan: &'a Plan,
    model: &'a CostModel,
    /// Per group: one task's estimate in µs (groups without jitter and without `Fib`).
    group_us: Vec<f64>,
    /// The same in whole ns, as a body costs it.
    group_ns: Vec<u64>,
    /// Per `Fib` group: the estimate of a task of each `n`.
    fib_us: Vec<Vec<f64>>,
    /// The same in whole ns.
    fib_ns: Vec<Vec<u64>>,
    /// Per group: the share of a body spent blocked.
    blocked: Vec<f64>,
    /// Per graph task: its time exactly, or its kernel as measured (or estimated), in µs.
    graph_us: Vec<f64>,
    /// The same in whole ns.
    graph_ns: Vec<u64>,
    /// Per graph task: the share of its body spent blocked.
    graph_blocked: Vec<f64>,
    measured: Option<Arc<Vec<f32>>>,
}

impl<'a> TaskCosts<'a> {
    fn new(plan: &'a Plan, model: &'a CostModel, measured: Option<Arc<Vec<f32>>>) -> Self {
        let group_us: Vec<f64> = plan
            .groups
            .iter()
            .map(|g| model.kernel_us(&g.kernel))
            .collect();
        let fib_us: Vec<Vec<f64>> = plan
            .groups
            .iter()
            .map(|g| match &g.fib {
                Some(fib) => (0..=fib.n)
                    .map(|n| {
                        model.kernel_us(&crate::kernels::Kernel::Fib {
                            n,
                            cutoff: fib.cutoff,
                        })
                    })
                    .collect(),
                None => Vec::new(),
            })
            .collect();
        let graph = plan.graph.as_ref();
        let graph_us: Vec<f64> = graph.map_or_else(Vec::new, |graph| {
            (0..graph.len())
                .map(|l| {
                    if graph.timed[l] {
                        graph.cost_us[l]
                    } else {
                        model.kernel_us(&graph.kernels[l])
                    }
                })
                .collect()
        });
        TaskCosts {
            plan,
            model,
            graph_ns: graph_us.iter().map(|&us| ns_of_us(us)).collect(),
            graph_us,
            graph_blocked: graph.map_or_else(Vec::new, |graph| {
                graph.kernels.iter().map(|k| k.blocked_share()).collect()
            }),
            group_ns: group_us.iter().map(|&us| ns_of_us(us)).collect(),
            group_us,
            fib_ns: fib_us
                .iter()
                .map(|by_n| by_n.iter().map(|&us| ns_of_us(us)).collect())
                .collect(),
            fib_us,
            blocked: plan
                .groups
                .iter()
                .map(|g| g.kernel.blocked_share())
                .collect(),
            measured,
        }
    }

    /// The estimate of task `index` of group `g` (`Fib`'s `n` is `arg`), µs at speed 1.0.
    #[inline]
    fn estimate_us(&self, g: usize, index: u32, arg: u32) -> f64 {
        let group = &self.plan.groups[g];
        if group.fib.is_some() {
            self.fib_us[g][arg as usize]
        } else if group.graph {
            self.graph_us[self.graph_index(g, index)]
        } else if group.jitter > 0.0 {
            // The group's kernel as measured (or estimated), scaled as the estimate scales.
            let base = self.model.estimate_us(&group.kernel);
            let scaled = self.model.estimate_us(&self.plan.kernel(g, index));
            if base > 0.0 {
                self.group_us[g] * scaled / base
            } else {
                scaled
            }
        } else {
            self.group_us[g]
        }
    }

    /// The body of task `id` (group `g`, index `index`) in ns at speed 1.0.
    #[inline]
    fn body_ns(&self, id: u32, g: usize, index: u32, arg: u32) -> u64 {
        if let Some(ns) = self
            .measured
            .as_ref()
            .and_then(|m| m.get(id as usize))
            .filter(|ns| ns.is_finite())
        {
            return f64::from(*ns).round() as u64;
        }
        // As `ns_of_us(self.estimate_us(..))`, with the rounding done once per group (or
        // per `n`) where every task of it costs the same.
        let group = &self.plan.groups[g];
        if group.fib.is_some() {
            self.fib_ns[g][arg as usize]
        } else if group.graph {
            self.graph_ns[self.graph_index(g, index)]
        } else if group.jitter > 0.0 {
            ns_of_us(self.estimate_us(g, index, arg))
        } else {
            self.group_ns[g]
        }
    }
}

impl TaskCosts<'_> {
    /// Task `index` of graph group `g`'s place in the graph.
    #[inline]
    fn graph_index(&self, g: usize, index: u32) -> usize {
        let first = self.plan.graph.as_ref().map_or(0, |graph| graph.first);
        (self.plan.groups[g].first + index - first) as usize
    }

    /// The share of task `index` of group `g`'s body spent blocked.
    #[inline]
    fn blocked_share(&self, g: usize, index: u32) -> f64 {
        if self.plan.groups[g].graph {
            self.graph_blocked[self.graph_index(g, index)]
        } else {
            self.blocked[g]
        }
    }
}

/// µs to whole ns, as a body's time is charged.
#[inline]
fn ns_of_us(us: f64) -> u64 {
    (us * 1000.0).round() as u64
}

/// What a worker is doing.
#[derive(Clone, Copy, Debug, PartialEq)]
enum State {
    /// In the scheduler: it looks for work at its next moment.
    Looking,
    /// Running an attempt; its body ends at its next moment.
    Running(Attempt),
    /// Idle and spinning: a push finds it at once; it parks at its next moment.
    Spinning,
    /// Parked: only a push that wakes it ends this.
    Parked,
}

/// An attempt in progress.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Attempt {
    task: Task,
    /// Its task's group and index in the group.
    g: u32,
    index: u32,
    /// Its body's time at speed 1.0.
    real: u64,
    /// Ready → start.
    wait: u64,
}

/// One simulated worker.
struct Core {
    st: WorkerStats,
    speed: f64,
    state: State,
    /// Where the current span (scheduler, body, idle) began.
    since: u64,
    /// Bumped when the worker's next moment changes, so a stale heap entry is skipped.
    epoch: u32,
    /// The shared-time integral of "some task queued" when the current idle spell began.
    queued_at_idle: u64,
    events: Vec<Event>,
}

/// A worker's next moment in the heap: (time, worker, generation) packed into one number
/// whose order is theirs, by time, then worker, then generation (one comparison, not three).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Moment(u128);

impl Moment {
    fn new(t: u64, worker: u32, generation: u32) -> Moment {
        Moment(u128::from(t) << 64 | u128::from(worker) << 32 | u128::from(generation))
    }

    fn t(self) -> u64 {
        (self.0 >> 64) as u64
    }

    fn worker(self) -> usize {
        (self.0 >> 32) as u32 as usize
    }

    fn generation(self) -> u32 {
        self.0 as u32
    }
}

/// A run in progress.
struct World<'a, P: Policy> {
    plan: &'a Plan,
    policy: P,
    deps: Deps<'a>,
    costs: TaskCosts<'a>,
    c: Costs,
    model: &'a CostModel,
    sim: &'a Sim,
    locals: Vec<P::Local>,
    cores: Vec<Core>,
    /// Each worker's next moment, as a [`Moment`].
    heap: BinaryHeap<Reverse<Moment>>,
    /// The worker whose moment is being handled while its entry is still the heap's top:
    /// its next moment replaces that entry in place (one sift down instead of a pop and a
    /// push), and any other change to the heap pops it first.
    handling: Option<usize>,
    /// The wakes of the pushes of one moment, kept between moments for their allocation.
    wakes: Vec<Wake>,
    spinning: BTreeSet<usize>,
    parked: BTreeSet<usize>,
    now: u64,
    /// The next arrival, in `plan.arrivals`.
    arrival: usize,
    unfinished: usize,
    released: Tally,
    record: bool,
    /// Tasks in the policy's queues.
    queued: u64,
    /// Time during which some task was queued, up to `queued_changed`.
    queued_time: u64,
    queued_changed: u64,
    samples: Vec<Progress>,
    sample_every: u64,
    next_sample: u64,
    interrupted: bool,
    makespan: u64,
    /// A central queue's calls wait for it until then (see [`CostModel::shared_ns`]).
    central_free: u64,
}

/// The simulator's side of the rules: pushes go to the policy at once, wakes are collected.
struct Pusher<'w, 'a, P: Policy> {
    policy: &'w P,
    costs: &'w TaskCosts<'a>,
    now: u64,
    /// The pushes' wakes, unless they are not wanted (`keep` false).
    wakes: RefCell<Vec<Wake>>,
    keep: bool,
    pushed: Cell<u64>,
}

impl<P: Policy> Release<P::Local> for Pusher<'_, '_, P> {
    fn now(&self) -> u64 {
        self.now
    }

    fn ready(&self, task: Task, from: Option<&mut P::Local>, t: u64) {
        let (g, index) = self.costs.plan.locate(task.id);
        let cost_us = self.costs.estimate_us(g, index, u32::from(task.arg)) as f32;
        let rank_us = self.costs.plan.rank_us(g, index, u32::from(task.arg));
        let wake = self.policy.push(
            from,
            Task {
                cost_us,
                rank_us,
                ready_at: t,
                released_at: t,
                ..task
            },
        );
        self.woke(wake);
    }
}

impl<'a, P: Policy> World<'a, P> {
    fn new(
        sim: &'a Sim,
        plan: &'a Plan,
        machine: &ResolvedMachine,
        options: &RunOptions,
        costs: TaskCosts<'a>,
    ) -> Self {
        let workers = machine.workers();
        let policy = P::new(&Machine {
            speeds: machine.speeds.clone(),
            seed: plan.seed,
        });
        let locals = (0..workers).map(|w| policy.local(w)).collect();
        let cores = machine
            .speeds
            .iter()
            .map(|&speed| Core {
                st: WorkerStats::default(),
                speed,
                state: State::Looking,
                since: 0,
                epoch: 0,
                queued_at_idle: 0,
                events: Vec::new(),
            })
            .collect();
        World {
            plan,
            deps: Deps::new(plan),
            c: sim.model.for_policy(P::NAME),
            model: &sim.model,
            sim,
            policy,
            costs,
            locals,
            cores,
            heap: BinaryHeap::with_capacity(workers),
            handling: None,
            wakes: Vec::new(),
            spinning: BTreeSet::new(),
            parked: BTreeSet::new(),
            now: 0,
            arrival: 0,
            unfinished: plan.total,
            released: Tally::default(),
            record: options.record,
            queued: 0,
            queued_time: 0,
            queued_changed: 0,
            samples: Vec::new(),
            sample_every: SAMPLE_NS,
            next_sample: 0,
            interrupted: false,
            makespan: 0,
            central_free: 0,
        }
    }

    #[inline]
    fn event(&mut self, w: usize, t: u64, kind: Kind, task: u32, attempt: u32, aux: u16) {
        if self.record {
            self.cores[w].events.push(Event {
                t,
                task,
                kind,
                attempt: attempt.min(255) as u8,
                aux,
            });
        }
    }

    /// Worker `w`'s next moment is `t`.
    #[inline]
    fn at(&mut self, w: usize, t: u64) {
        let core = &mut self.cores[w];
        core.epoch = core.epoch.wrapping_add(1);
        let entry = Reverse(Moment::new(t, w as u32, core.epoch));
        match self.handling.take() {
            // The heap holds the same entries as if the handled one had been popped and this
            // one pushed, so it hands them out in the same order (no two are equal).
            Some(h) if h == w => {
                if let Some(mut top) = self.heap.peek_mut() {
                    *top = entry;
                }
            }
            Some(_) => {
                self.heap.pop();
                self.heap.push(entry);
            }
            None => self.heap.push(entry),
        }
    }

    /// The number of queued tasks changes by `delta` at `self.now`.
    #[inline]
    fn queue_changed(&mut self, delta: i64) {
        if self.queued > 0 {
            self.queued_time += self.now - self.queued_changed;
        }
        self.queued_changed = self.now;
        self.queued = self.queued.saturating_add_signed(delta);
    }

    /// Time during which some task was queued, up to now.
    fn queued_time_now(&self) -> u64 {
        self.queued_time
            + if self.queued > 0 {
                self.now - self.queued_changed
            } else {
                0
            }
    }

    fn simulate(&mut self, options: &RunOptions, on_tick: &mut dyn FnMut(Progress)) {
        let pusher = Pusher::counting(&self.policy, &self.costs);
        for task in self.deps.initial() {
            pusher.ready(task, None, 0);
        }
        // Everybody starts looking at once: no wake-up to pay for.
        let pushed = pusher.pushed.get();
        drop(pusher);
        self.queue_changed(pushed as i64);
        for w in 0..self.cores.len() {
            self.event(w, 0, Kind::Take, 0, 0, 0);
            self.at(w, 0);
        }
        let mut handled = 0u32;
        while self.unfinished > 0 {
            let next_worker = self.heap.peek().map(|Reverse(m)| m.t());
            let next_arrival = self.plan.arrivals.get(self.arrival).map(|&(t, _)| t);
            let t = match (next_worker, next_arrival) {
                (Some(w), Some(a)) => w.min(a),
                (Some(w), None) => w,
                (None, Some(a)) => a,
                // Nothing left to happen with tasks unfinished: the rules forbid it.
                (None, None) => {
                    self.interrupted = true;
                    break;
                }
            };
            while t >= self.next_sample {
                self.sample(on_tick);
            }
            handled = handled.wrapping_add(1);
            if handled.is_multiple_of(STOP_EVERY)
                && options
                    .stop
                    .as_ref()
                    .is_some_and(|s| s.load(Ordering::Relaxed))
            {
                self.interrupted = true;
                break;
            }
            self.now = t;
            if next_arrival == Some(t) {
                // Arrivals first at a tie: the releaser lets them in as their time comes.
                let id = self.plan.arrivals[self.arrival].1;
                self.arrival += 1;
                let mut tally = std::mem::take(&mut self.released);
                let buffer = std::mem::take(&mut self.wakes);
                let pusher = Pusher::new(&self.policy, &self.costs, t, buffer);
                self.deps.open_gate(id, None, &mut tally, None, &pusher);
                let mut wakes = pusher.wakes.into_inner();
                self.released = tally;
                self.pushed(&wakes, t);
                wakes.clear();
                self.wakes = wakes;
                self.unfinished -= std::mem::take(&mut self.released.pending);
            } else if let Some(&Reverse(m)) = self.heap.peek() {
                let w = m.worker();
                if m.generation() == self.cores[w].epoch {
                    // Popped by the first change to the heap, or replaced by `w`'s next moment.
                    self.handling = Some(w);
                    self.step(w);
                    if self.handling.take().is_some() {
                        self.heap.pop();
                    }
                } else {
                    self.heap.pop();
                }
            }
        }
        self.makespan = self.now;
    }

    /// Worker `w`'s moment has come.
    fn step(&mut self, w: usize) {
        match self.cores[w].state {
            State::Looking => self.look(w),
            State::Running(attempt) => self.end_attempt(w, attempt),
            State::Spinning => {
                // Spun long enough: park.
                self.spinning.remove(&w);
                self.parked.insert(w);
                self.cores[w].state = State::Parked;
                self.event(w, self.now, Kind::Park, 0, 0, 0);
            }
            State::Parked => {}
        }
    }

    /// Worker `w` looks for work (its scheduler span began at `since`): its own or shared
    /// queues, then the others'.
    fn look(&mut self, w: usize) {
        let mut t = self.central(self.now) + self.c.take;
        let mut victim = 0;
        let mut found = self.policy.take(&mut self.locals[w]);
        if found.is_none() {
            self.event(w, t, Kind::Steal, 0, 0, 0);
            let stolen = self.policy.steal(&mut self.locals[w]);
            let st = &mut self.cores[w].st;
            st.steal_attempts += u64::from(stolen.attempts);
            let hit = u64::from(stolen.task.is_some());
            t += (u64::from(stolen.attempts) - hit) * self.c.failed_steal + hit * self.c.steal;
            if stolen.task.is_some() {
                st.steals += 1;
                victim = stolen.victim.map_or(0, |v| v as u16 + 1);
            }
            found = stolen.task;
        }
        match found {
            Some(task) => {
                self.queue_changed(-1);
                self.start(w, task, victim, t);
            }
            None => self.idle(w, t),
        }
    }

    /// When a call into the policy at `t` gets going: at once, unless the policy is central
    /// and its queue is held by another call (which then holds it for `shared` more).
    #[inline]
    fn central(&mut self, t: u64) -> u64 {
        if !P::CENTRAL || self.c.shared == 0 {
            return t;
        }
        let start = t.max(self.central_free);
        self.central_free = start + self.c.shared;
        start
    }

    /// Worker `w` found nothing; its scheduler span ends at `t` and it spins.
    fn idle(&mut self, w: usize, t: u64) {
        let queued_time = self.queued_time_now();
        let core = &mut self.cores[w];
        core.st.overhead_ns += t - core.since;
        core.since = t;
        core.queued_at_idle = queued_time;
        core.state = State::Spinning;
        self.event(w, t, Kind::Idle, 0, 0, 0);
        self.spinning.insert(w);
        self.at(w, t + self.c.spin);
    }

    /// Worker `w` starts an attempt of `task` at `t0`.
    fn start(&mut self, w: usize, task: Task, victim: u16, t0: u64) {
        let (g, index) = self.plan.locate(task.id);
        let real = self.costs.body_ns(task.id, g, index, u32::from(task.arg));
        let core = &mut self.cores[w];
        core.st.overhead_ns += t0 - core.since;
        core.since = t0;
        // The exact arithmetic of the general case, skipped where it cannot change the value
        // (a full-speed core; a body that never blocks).
        let body = if core.speed == 1.0 && real < 1 << f64::MANTISSA_DIGITS {
            real
        } else {
            (real as f64 / core.speed).round() as u64
        };
        let share = self.costs.blocked_share(g, index);
        let blocked = if share == 0.0 {
            0
        } else {
            (body as f64 * share).round() as u64
        };
        core.st.blocked_ns += blocked;
        core.state = State::Running(Attempt {
            task,
            g: g as u32,
            index,
            real,
            wait: t0.saturating_sub(task.ready_at),
        });
        self.event(w, t0, Kind::Run, task.id, u32::from(task.attempt), victim);
        if blocked > 0 {
            self.event(
                w,
                t0 + body - blocked,
                Kind::Block,
                task.id,
                u32::from(task.attempt),
                0,
            );
        }
        self.at(w, t0 + body);
    }

    /// Worker `w`'s attempt ends now.
    fn end_attempt(&mut self, w: usize, a: Attempt) {
        let t2 = self.now;
        let task = a.task;
        let (g, index) = (a.g as usize, a.index);
        let ok = !self.plan.injects_fault(task.id, u32::from(task.attempt));
        let core = &mut self.cores[w];
        core.st.busy_ns += t2 - core.since;
        core.since = t2;
        core.state = State::Looking;
        let after = self
            .deps
            .end_attempt(&mut core.st, task, (g, index), ok, a.wait, a.real, t2);
        self.policy.done(&mut self.locals[w], task);
        self.event(
            w,
            t2,
            if after.pushes() {
                Kind::Push
            } else {
                Kind::Take
            },
            encode_wait(a.wait),
            0,
            after.outcome as u16,
        );
        // In place, not taken out and put back: the rules write its fields one by one, and a
        // copy read back at once waits for those stores.
        let tally = &mut self.cores[w].st.tally;
        let pusher = Pusher::new(
            &self.policy,
            &self.costs,
            t2,
            std::mem::take(&mut self.wakes),
        );
        let local = &mut self.locals[w];
        match after.then {
            Then::Spawn(children) => {
                for child in children {
                    let (cg, ci) = self.plan.locate(child.id);
                    let cost_us = self.costs.estimate_us(cg, ci, u32::from(child.arg)) as f32;
                    pusher.push(Some(&mut *local), Task { cost_us, ..child });
                }
                self.deps
                    .finish(g, task.id, Fate::Completed, 1, Some(local), tally, &pusher);
            }
            Then::Finish(fate, count) => {
                self.deps
                    .finish(g, task.id, fate, count, Some(local), tally, &pusher);
            }
            Then::Retry(retry) => pusher.push(Some(local), retry),
            Then::Fail(descendants) => {
                self.deps.finish(
                    g,
                    task.id,
                    Fate::Failed,
                    1,
                    Some(&mut *local),
                    &mut *tally,
                    &pusher,
                );
                if descendants > 0 {
                    self.deps.finish(
                        g,
                        task.id,
                        Fate::Cancelled,
                        descendants,
                        Some(local),
                        tally,
                        &pusher,
                    );
                }
            }
        }
        let mut wakes = pusher.wakes.into_inner();
        self.unfinished -= std::mem::take(&mut tally.pending);
        // The pushes are the scheduler's, after the body.
        let mut next = t2;
        for _ in &wakes {
            next = self.central(next) + self.c.push;
        }
        self.pushed(&wakes, next);
        wakes.clear();
        self.wakes = wakes;
        if self.unfinished > 0 {
            self.at(w, next);
        }
    }

    /// `wakes.len()` tasks were pushed (at the current moment); wake whom they say, the
    /// woken looking from `t` (plus the wake-up latency if parked).
    fn pushed(&mut self, wakes: &[Wake], t: u64) {
        if wakes.is_empty() {
            return;
        }
        self.queue_changed(wakes.len() as i64);
        for &wake in wakes {
            let woken = match wake {
                // A worker is in `spinning` or `parked` exactly while its state says so.
                Wake::Worker(v) => self
                    .cores
                    .get(v)
                    .is_some_and(|c| matches!(c.state, State::Spinning | State::Parked))
                    .then_some(v),
                Wake::Any => self
                    .spinning
                    .first()
                    .or_else(|| self.parked.first())
                    .copied(),
            };
            if let Some(v) = woken {
                self.wake(v, t);
            }
        }
    }

    /// Idle worker `v` is woken by a push: it looks for work at `t`, or `wake` later if parked.
    fn wake(&mut self, v: usize, t: u64) {
        let at = if self.spinning.remove(&v) {
            t
        } else {
            self.parked.remove(&v);
            t + self.c.wake
        };
        let queued_time = self.queued_time_now();
        let core = &mut self.cores[v];
        let at = at.max(core.since);
        // Idle until it looks; the part while something was queued is the policy's.
        core.st.idle_ns += at - core.since;
        core.st.queued_elsewhere_ns += queued_time.saturating_sub(core.queued_at_idle);
        core.since = at;
        core.state = State::Looking;
        self.event(v, at, Kind::Take, 0, 0, 0);
        self.at(v, at);
    }

    /// A progress sample at the next sampling moment.
    fn sample(&mut self, on_tick: &mut dyn FnMut(Progress)) {
        let p = Progress {
            finished: self.plan.total - self.unfinished,
            total: self.plan.total,
            elapsed: Duration::from_nanos(self.next_sample),
            queued: (0..self.cores.len())
                .map(|w| self.policy.queued(w))
                .collect(),
            queued_shared: self.policy.queued_shared(),
        };
        self.next_sample += self.sample_every;
        on_tick(p.clone());
        self.samples.push(p);
        if self.samples.len() >= MAX_SAMPLES {
            self.samples = self.samples.iter().skip(1).step_by(2).cloned().collect();
            self.sample_every *= 2;
        }
    }

    /// Closes every worker's span at the end and builds the result.
    fn finish(mut self, options: &RunOptions) -> RunResult {
        let end = self.makespan;
        self.now = end;
        let queued_time = self.queued_time_now();
        let workers = self.cores.len();
        let mut timeline = Timeline::new(workers);
        let mut stats = Vec::with_capacity(workers);
        for (w, mut core) in std::mem::take(&mut self.cores).into_iter().enumerate() {
            let span = end.saturating_sub(core.since);
            match core.state {
                State::Looking => core.st.overhead_ns += span,
                // Only an interrupt leaves an attempt running: it did not finish, so it counts
                // as no work and no outcome (as in a real run).
                State::Running(_) => core.st.busy_ns += span,
                State::Spinning | State::Parked => {
                    core.st.idle_ns += span;
                    core.st.queued_elsewhere_ns += queued_time.saturating_sub(core.queued_at_idle);
                }
            }
            if matches!(core.state, State::Spinning) {
                core.st.spin_ns += span;
            }
            if self.record {
                core.events.retain(|e| e.t <= end);
                core.events.push(Event {
                    t: end,
                    task: 0,
                    kind: Kind::Exit,
                    attempt: 0,
                    aux: 0,
                });
                let events = std::mem::take(&mut core.events);
                match &options.events {
                    Some(tx) => {
                        for chunk in events.chunks(CHUNK_EVENTS) {
                            let _ = tx.send(Chunk {
                                worker: w,
                                events: chunk.to_vec(),
                            });
                        }
                    }
                    None => timeline.workers[w] = events,
                }
            }
            core.st.settle();
            stats.push(core.st);
        }
        RunResult {
            policy: P::NAME,
            makespan_ns: end,
            workers: stats,
            released: self.released,
            interrupted: self.interrupted,
            total: self.plan.total,
            task_ns: self.deps.task_ns(),
            timeline,
            samples: self.samples,
            cores: workers,
            pinned: false,
            sim: Some(Simulated {
                cost_model: self.model.clone(),
                measured_from: self.sim.measured_from.clone(),
            }),
        }
    }
}

impl<'w, 'a, P: Policy> Pusher<'w, 'a, P> {
    /// A pusher at `now` that collects the wakes into `wakes` (emptied, kept for its
    /// allocation).
    fn new(policy: &'w P, costs: &'w TaskCosts<'a>, now: u64, wakes: Vec<Wake>) -> Self {
        debug_assert!(wakes.is_empty());
        Pusher {
            policy,
            costs,
            now,
            wakes: RefCell::new(wakes),
            keep: true,
            pushed: Cell::new(0),
        }
    }

    /// A pusher that only counts its pushes (at the start, where everybody looks anyway).
    fn counting(policy: &'w P, costs: &'w TaskCosts<'a>) -> Self {
        Pusher {
            keep: false,
            ..Pusher::new(policy, costs, 0, Vec::new())
        }
    }

    /// Pushes a task whose cost and times are already set.
    fn push(&self, from: Option<&mut P::Local>, task: Task) {
        let wake = self.policy.push(from, task);
        self.woke(wake);
    }

    /// A push said to wake whom `wake` says.
    #[inline]
    fn woke(&self, wake: Wake) {
        if self.keep {
            self.wakes.borrow_mut().push(wake);
        }
        self.pushed.set(self.pushed.get() + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Engine;
    use crate::workload::{self, Overrides};

    fn session(text: &str, workers: usize) -> (Plan, ResolvedMachine) {
        let w = workload::parse(text, "t.ron").expect("valid").workload;
        let machine = w
            .resolve_machine(&Overrides {
                workers: Some(workers),
                ..Overrides::default()
            })
            .expect("valid machine");
        (Plan::new(&w, 7), machine)
    }

    const SMALL: &str = r#"(name: "small", faults: Faults(panic_rate: 0.1, max_retries: 1), groups: [
        (name: "tree", kernel: Fib(n: 8, cutoff: 2), count: 3),
        (name: "after", kernel: Spin(us: 30), count: 20, after: ["tree"]),
        (name: "web", kernel: Request(cpu_us: 20, io_us: 60), count: 30, arrival: Every(us: 15)),
    ])"#;

    #[test]
    fn every_policy_runs_each_attempt_once_and_adds_up() {
        let (_, _, runs) = crate::exec::tests::small_runs(&Sim::default(), SMALL);
        for (run, report) in runs {
            assert_eq!(report.mode, "sim");
            for w in &report.workers {
                assert_eq!(
                    w.busy_ns + w.idle_ns + w.overhead_ns,
                    report.makespan_ns,
                    "{}: worker {} adds up exactly",
                    run.policy,
                    w.id
                );
            }
        }
    }

    #[test]
    fn the_same_run_gives_the_same_bytes() {
        let (plan, machine) = session(SMALL, 5);
        let json = || {
            let options = RunOptions {
                record: true,
                ..RunOptions::default()
            };
            let run = Sim::default()
                .run(&plan, &machine, "steal", &options, &mut |_| {})
                .expect("known");
            let report = crate::report::Report::new("small", "", &plan, &machine, &run);
            (
                serde_json::to_string(&report).expect("json"),
                run.timeline.workers,
            )
        };
        assert_eq!(json(), json());
    }
}
