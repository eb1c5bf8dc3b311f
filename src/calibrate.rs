//! `schedlab calibrate`: measures what scheduling costs on this machine and writes it as a cost
//! model for `--sim --cost-model` (see `costs.rs` for what each figure means to the simulator).
//!
//! Each figure is measured the way the simulator charges it:
//!
//! - `take_ns`: the real executor's scheduler time per task on a flat run of many empty tasks
//!   on one worker: a `take` with the executor's bookkeeping around an attempt.
//! - `push_ns`: a fork-join run of the same size on one worker costs more per task than the
//!   flat run; that extra, over the pushes per task the plan says the tree makes.
//! - `steal_ns`, `failed_steal_ns`: the policy's own `steal`, called on one thread in a loop
//!   over a victim's queue filled beforehand (per task taken), and over empty queues (per
//!   victim tried). Policies that never steal have neither.
//! - `wake_ns`: half a round trip of a park/unpark ping-pong between two threads.
//! - `spin_ns`: a crossbeam `Backoff` from new to completed with a `take` and a `steal`
//!   between snoozes, as the executor's idle worker spins before it parks.
//! - the kernels' µs per model unit, each variant's calibration instance.
//!
//! The machine is shared and noisy, so every figure is the median of several repetitions
//! (interleaved across the policies where each policy runs), and a policy gets its own value
//! in `per_policy` only where it differs from the median over the policies by more than 20 %.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};
use crossbeam::sync::Parker;
use crossbeam::utils::Backoff;
use schedlab_policies::{Machine, Policy, Task, WithPolicy};

use crate::costs::{CostModel, PolicyCosts};
use crate::exec::RunOptions;
use crate::kernels::Kernel;
use crate::session::Session;
use crate::workload::{Overrides, Workload};

/// Empty tasks of the flat run.
const FLAT_TASKS: usize = 200_000;
/// The fork-join run: roots of `Fib(n: 18, cutoff: 0)` (8361 tasks each), about as many
/// tasks as the flat run so that both amortise their start alike.
const FIB_N: u32 = 18;
const FIB_ROOTS: usize = 24;
/// Repetitions of each executor run (median): a run takes about 15 ms, and one in five or
/// so is slowed by the machine's other work (measured: 15 % and more above the rest).
const RUN_REPS: usize = 15;
/// Tasks in a victim's queue for one timed sweep of steals.
const STEAL_BATCH: u32 = 1024;
/// Workers of the machine the empty steal sweeps run on: each tries the other 7.
const SWEEP_WORKERS: usize = 8;
/// Empty steal sweeps per timing.
const EMPTY_SWEEPS: u32 = 20_000;
/// Repetitions of the policy API timings (median).
const API_REPS: usize = 9;
/// Backoffs timed (median).
const SPIN_REPS: usize = 201;
/// Park/unpark round trips timed (median).
const WAKE_ROUNDS: usize = 400;
/// How long the waker waits before each round, so the other thread is parked for real.
const WAKE_SETTLE: Duration = Duration::from_micros(100);
/// Measurements of each kernel's coefficient (median; each is itself the fastest of three).
const KERNEL_REPS: usize = 5;
/// A policy's own value is kept only past this relative distance from the common one.
const OVERRIDE_PAST: f64 = 0.2;

/// What was measured for one policy, ns.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyMeasured {
    /// The policy's name.
    pub policy: &'static str,
    /// Per take (the flat run's scheduler time per task).
    pub take_ns: f64,
    /// Per push.
    pub push_ns: f64,
    /// Per successful steal; `None` for a policy that never steals.
    pub steal_ns: Option<f64>,
    /// Per victim found empty; `None` for a policy that never steals.
    pub failed_steal_ns: Option<f64>,
    /// A backoff from new to completed.
    pub spin_ns: f64,
}

/// Everything `schedlab calibrate` measured, and the cost model made of it.
#[derive(Debug, Clone)]
pub struct Calibration {
    /// Per policy, in `schedlab_policies::ALL` order.
    pub policies: Vec<PolicyMeasured>,
    /// Half a park/unpark round trip.
    pub wake_ns: f64,
    /// µs per model unit of each calibrated kernel variant.
    pub kernels: Vec<(&'static str, f64)>,
    /// The cost model: the medians over the policies, and the policies that differ.
    pub model: CostModel,
}

/// Measures this machine (a few seconds), telling `progress` what it measures as it goes;
/// `None` if `stop` was set (Ctrl-C), looked at between the steps.
///
/// # Errors
///
/// A measuring run could not be built or run (the OS refused a thread).
pub fn calibrate(stop: &AtomicBool, progress: &mut dyn FnMut(&str)) -> Result<Option<Calibration>> {
    let stopped = || stop.load(Ordering::Relaxed);
    let flat = Session::built(flat_workload(), &one_worker())?;
    let fork_join = Session::built(fork_join_workload(), &one_worker())?;
    let pushes = pushes_per_task(&fork_join);
    let policies = schedlab_policies::ALL;
    let mut flat_ns = vec![Vec::new(); policies.len()];
    let mut fork_join_ns = vec![Vec::new(); policies.len()];
    progress(&format!(
        "executor: {FLAT_TASKS} empty tasks and {FIB_ROOTS} × Fib({FIB_N}) on 1 worker, {RUN_REPS} rounds over {} policies",
        policies.len()
    ));
    // Round after round over the policies, so a slow moment of the machine hits them alike.
    for _ in 0..RUN_REPS {
        if stopped() {
            return Ok(None);
        }
        for (i, info) in policies.iter().enumerate() {
            flat_ns[i].push(scheduler_ns_per_task(&flat, info.name)?);
            fork_join_ns[i].push(scheduler_ns_per_task(&fork_join, info.name)?);
        }
    }
    progress("policies: steal sweeps and backoffs, called directly");
    let mut measured = Vec::with_capacity(policies.len());
    for (i, info) in policies.iter().enumerate() {
        if stopped() {
            return Ok(None);
        }
        let api = schedlab_policies::with_policy(info.name, ApiCosts)
            .with_context(|| format!("`{}` is registered", info.name))?;
        let take_ns = median(&flat_ns[i]);
        // Below 0 where a fork-join tree's takes are cheaper than a flat run's (steal's own
        // slot for the newest task skips its deque): the tree's cost per task is then all
        // charged as takes.
        let push_ns = ((median(&fork_join_ns[i]) - take_ns) / pushes).max(0.0);
        measured.push(PolicyMeasured {
            policy: info.name,
            take_ns,
            push_ns,
            steal_ns: api.steal_ns,
            failed_steal_ns: api.failed_steal_ns,
            spin_ns: api.spin_ns,
        });
    }
    if stopped() {
        return Ok(None);
    }
    progress("wake-ups: park/unpark ping-pong between two threads");
    let wake_ns = wake_ns();
    progress("kernels: each calibrated variant's small instance");
    let kernels: Vec<(&'static str, f64)> = Kernel::calibrated_variants()
        .iter()
        .map(|k| {
            let runs: Vec<f64> = (0..KERNEL_REPS).map(|_| k.measure_us_per_unit()).collect();
            (k.name(), significant(median(&runs), 3))
        })
        .collect();
    if stopped() {
        return Ok(None);
    }
    let model = model_of(&measured, wake_ns, &kernels, measured_on());
    Ok(Some(Calibration {
        policies: measured,
        wake_ns,
        kernels,
        model,
    }))
}

/// The cost model of what was measured: each cost is the median over the policies that have
/// it, and a policy whose own value is more than 20 % away from that gets it in `per_policy`.
pub fn model_of(
    measured: &[PolicyMeasured],
    wake_ns: f64,
    kernels: &[(&str, f64)],
    measured_on: String,
) -> CostModel {
    type Field = fn(&PolicyMeasured) -> Option<f64>;
    type Slot = fn(&mut PolicyCosts) -> &mut Option<f64>;
    let fields: [(Field, Slot); 5] = [
        (|m| Some(m.take_ns), |p| &mut p.take_ns),
        (|m| Some(m.push_ns), |p| &mut p.push_ns),
        (|m| m.steal_ns, |p| &mut p.steal_ns),
        (|m| m.failed_steal_ns, |p| &mut p.failed_steal_ns),
        (|m| Some(m.spin_ns), |p| &mut p.spin_ns),
    ];
    let defaults = CostModel::default();
    let mut common = [
        defaults.take_ns,
        defaults.push_ns,
        defaults.steal_ns,
        defaults.failed_steal_ns,
        defaults.spin_ns,
    ];
    let mut per_policy: BTreeMap<String, PolicyCosts> = BTreeMap::new();
    for (k, (field, slot)) in fields.iter().enumerate() {
        let values: Vec<f64> = measured.iter().filter_map(field).collect();
        if values.is_empty() {
            continue;
        }
        common[k] = ns(median(&values));
        for m in measured {
            if let Some(v) = field(m)
                && (v - common[k]).abs() > OVERRIDE_PAST * common[k]
            {
                *slot(per_policy.entry(m.policy.to_string()).or_default()) = Some(ns(v));
            }
        }
    }
    let [take_ns, push_ns, steal_ns, failed_steal_ns, spin_ns] = common;
    CostModel {
        push_ns,
        take_ns,
        steal_ns,
        failed_steal_ns,
        wake_ns: ns(wake_ns),
        spin_ns,
        // A central queue's contention needs many cores to measure; two cannot show it.
        shared_ns: defaults.shared_ns,
        per_policy,
        kernel_us_per_unit: kernels
            .iter()
            .map(|&(name, us)| (name.to_string(), us))
            .collect(),
        kernel_us: BTreeMap::new(),
        measured_on,
    }
}

/// What was measured, as a table for people.
pub fn table(c: &Calibration) -> String {
    let opt = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.1}"));
    let mut out = format!(
        "{:<8} {:>8} {:>8} {:>8} {:>12} {:>9}\n",
        "policy", "take ns", "push ns", "steal ns", "empty vic ns", "spin µs"
    );
    for m in &c.policies {
        out += &format!(
            "{:<8} {:>8.1} {:>8.1} {:>8} {:>12} {:>9.1}\n",
            m.policy,
            m.take_ns,
            m.push_ns,
            opt(m.steal_ns),
            opt(m.failed_steal_ns),
            m.spin_ns / 1e3
        );
    }
    let model = &c.model;
    out += &format!(
        "{:<8} {:>8.1} {:>8.1} {:>8.1} {:>12.1} {:>9.1}   (medians over the policies)\n",
        "model",
        model.take_ns,
        model.push_ns,
        model.steal_ns,
        model.failed_steal_ns,
        model.spin_ns / 1e3
    );
    out += &format!(
        "wake-up (half a park/unpark round trip): {:.1} µs\n",
        c.wake_ns / 1e3
    );
    let overridden: Vec<&str> = model.per_policy.keys().map(String::as_str).collect();
    out += &format!(
        "own values (over 20 % from the median): {}\n",
        if overridden.is_empty() {
            "none".to_string()
        } else {
            overridden.join(", ")
        }
    );
    out += "push: a fork-join run's cost per task over a flat run's, per push (0 where its takes are cheaper)\n";
    out += "kernels, µs per model unit:";
    for (name, us) in &c.kernels {
        out += &format!(" {name} {us}");
    }
    out += "\n";
    out
}

/// One worker: the scheduler's cost per task without anybody to share or race with.
fn one_worker() -> Overrides {
    Overrides {
        workers: Some(1),
        ..Overrides::default()
    }
}

fn one_group(name: &str, kernel: Kernel, count: usize) -> Workload {
    Workload::one_group(name, "tasks", kernel, count)
}

fn flat_workload() -> Workload {
    one_group("calibrate-flat", Kernel::Spin { us: 0.0 }, FLAT_TASKS)
}

fn fork_join_workload() -> Workload {
    one_group(
        "calibrate-fork-join",
        Kernel::Fib {
            n: FIB_N,
            cutoff: 0,
        },
        FIB_ROOTS,
    )
}

/// Pushes per task of `s`'s plan: every node of a tree but its root is pushed by the worker
/// that ran its parent (the roots come from outside, as the flat run's tasks do).
fn pushes_per_task(s: &Session) -> f64 {
    let pushes: usize = s
        .plan
        .groups
        .iter()
        .filter(|g| g.fib.is_some())
        .map(|g| g.roots * (g.tree as usize).saturating_sub(1))
        .sum();
    pushes as f64 / s.plan.total.max(1) as f64
}

/// The scheduler's time per attempt of one real run of `s` under `policy` (what the report
/// calls `overhead_ns_per_task`, unrounded: less what the OS held the worker off its core).
fn scheduler_ns_per_task(s: &Session, policy: &str) -> Result<f64> {
    let run = s.run(policy, &RunOptions::default(), &mut |_| {})?;
    let report = s.report(&run);
    let overhead: u64 = report
        .workers
        .iter()
        .map(|w| w.overhead_ns - w.preempted_overhead_ns.min(w.overhead_ns))
        .sum();
    let attempts: u64 = report.workers.iter().map(|w| w.tasks).sum();
    Ok(overhead as f64 / attempts.max(1) as f64)
}

/// The policy API's costs, measured by calling it on this thread.
struct ApiCosts;

struct Api {
    steal_ns: Option<f64>,
    failed_steal_ns: Option<f64>,
    spin_ns: f64,
}

impl WithPolicy for ApiCosts {
    type Output = Api;
    fn with<P: Policy>(self) -> Api {
        let steals: Vec<f64> = (0..API_REPS).filter_map(|_| steal_ns::<P>()).collect();
        let empty: Vec<f64> = (0..API_REPS)
            .filter_map(|_| failed_steal_ns::<P>())
            .collect();
        let spins: Vec<f64> = (0..SPIN_REPS).map(|_| spin_ns::<P>()).collect();
        Api {
            steal_ns: (!steals.is_empty()).then(|| median(&steals)),
            failed_steal_ns: (!empty.is_empty()).then(|| median(&empty)),
            spin_ns: median(&spins),
        }
    }
}

fn machine(workers: usize) -> Machine {
    Machine {
        speeds: vec![1.0; workers],
        seed: 0,
    }
}

/// ns per task taken by worker 1's steals from a queue worker 0 filled; `None` if the policy
/// took none (it does not steal).
fn steal_ns<P: Policy>() -> Option<f64> {
    let policy = P::new(&machine(2));
    let mut victim = policy.local(0);
    let mut thief = policy.local(1);
    for id in 0..STEAL_BATCH {
        policy.push(Some(&mut victim), Task::new(id, 1.0));
    }
    let start = Instant::now();
    let mut taken = 0u32;
    // Until a sweep comes back empty: one failed sweep in a batch, a fraction of a percent.
    while let Some(task) = policy.steal(&mut thief).task {
        black_box(task);
        taken += 1;
    }
    let elapsed = start.elapsed();
    while policy.take(&mut victim).is_some() || policy.take(&mut thief).is_some() {}
    (taken > 0).then(|| elapsed.as_nanos() as f64 / f64::from(taken))
}

/// ns per victim tried by steal sweeps over empty queues; `None` if the policy tries none.
fn failed_steal_ns<P: Policy>() -> Option<f64> {
    let policy = P::new(&machine(SWEEP_WORKERS));
    let mut me = policy.local(0);
    let start = Instant::now();
    let mut attempts = 0u64;
    for _ in 0..EMPTY_SWEEPS {
        attempts += u64::from(black_box(policy.steal(&mut me)).attempts);
    }
    let elapsed = start.elapsed();
    (attempts > 0).then(|| elapsed.as_nanos() as f64 / attempts as f64)
}

/// ns an idle worker spins before it parks: a fresh backoff snoozed to completion, with a
/// look into the (empty) queues between snoozes.
fn spin_ns<P: Policy>() -> f64 {
    let policy = P::new(&machine(SWEEP_WORKERS));
    let mut me = policy.local(0);
    let start = Instant::now();
    let backoff = Backoff::new();
    while !backoff.is_completed() {
        black_box(policy.take(&mut me));
        black_box(policy.steal(&mut me));
        backoff.snooze();
    }
    start.elapsed().as_nanos() as f64
}

/// Half the median round trip of a park/unpark ping-pong: one wake-up of a parked thread.
fn wake_ns() -> f64 {
    let (mine, theirs) = (Parker::new(), Parker::new());
    let wake_me = mine.unparker().clone();
    let wake_them = theirs.unparker().clone();
    let stop = AtomicBool::new(false);
    let mut trips = Vec::with_capacity(WAKE_ROUNDS);
    std::thread::scope(|s| {
        let stop = &stop;
        s.spawn(move || {
            loop {
                theirs.park();
                // Relaxed: the unpark that ends the park orders it (it is a release/acquire
                // pair on the parker's state), and a late look only costs one more round.
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                wake_me.unpark();
            }
        });
        for _ in 0..WAKE_ROUNDS {
            // Wait (spinning, so this thread stays on its core) until the other is asleep.
            let settle = Instant::now();
            while settle.elapsed() < WAKE_SETTLE {
                std::hint::spin_loop();
            }
            let start = Instant::now();
            wake_them.unpark();
            mine.park();
            trips.push(start.elapsed().as_nanos() as f64);
        }
        stop.store(true, Ordering::Relaxed);
        wake_them.unpark();
    });
    median(&trips) / 2.0
}

/// The median of `values` (the mean of the middle two for an even count); 0 for none.
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => f64::midpoint(v[n / 2 - 1], v[n / 2]),
    }
}

/// ns to one decimal: finer is noise.
fn ns(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// `v` to `digits` significant digits.
fn significant(v: f64, digits: i32) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return v;
    }
    let scale = 10f64.powi(digits - 1 - v.log10().floor() as i32);
    (v * scale).round() / scale
}

/// Where this runs, in words: cores, architecture and today's date (UTC).
fn measured_on() -> String {
    let days = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "schedlab calibrate on {} cores, {}, {y:04}-{m:02}-{d:02}",
        crate::exec::machine::cores(),
        std::env::consts::ARCH
    )
}

/// The proleptic Gregorian date of `days` since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_medians() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(20_788), (2026, 12, 1));
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(significant(0.001_234_5, 3), 0.001_23);
    }

    #[test]
    fn only_policies_far_from_the_median_get_their_own_values() {
        let m = |policy, take_ns, steal_ns| PolicyMeasured {
            policy,
            take_ns,
            push_ns: 20.0,
            steal_ns,
            failed_steal_ns: steal_ns.map(|s| s / 2.0),
            spin_ns: 5000.0,
        };
        let measured = [
            m("fifo", 100.0, None),
            m("rr", 50.0, None),
            m("steal", 45.0, Some(60.0)),
            m("hetero", 55.0, Some(62.0)),
        ];
        let model = model_of(&measured, 4000.0, &[("Sort", 0.005)], "here".into());
        assert_eq!(model.take_ns, 52.5);
        assert_eq!(model.steal_ns, 61.0);
        assert_eq!(model.failed_steal_ns, 30.5);
        assert_eq!(model.wake_ns, 4000.0);
        assert_eq!(
            model.per_policy.keys().collect::<Vec<_>>(),
            ["fifo"],
            "only fifo's take is over 20 % away"
        );
        assert_eq!(model.per_policy["fifo"].take_ns, Some(100.0));
        assert_eq!(model.per_policy["fifo"].steal_ns, None);
        assert_eq!(
            CostModel::parse(&model.to_ron()).expect("valid"),
            model,
            "what calibrate writes, --cost-model reads"
        );
    }
}
