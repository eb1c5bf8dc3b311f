//! Whole-process and whole-engine tests, in one test binary (faster to build than many).
//!
//! `engine` runs workloads through the library and checks what the runs measured; `cli` runs
//! the real binary; `bad_input` feeds it every kind of broken workload; `outputs` checks that
//! no output destroys an input or another output; `exports` and `sweep` check the
//! experiments' outputs; `docs` holds the workload format's reference against the loader;
//! `import` reads task graphs from other tools; `tui` drives the live view in tmux.

mod bad_input;
mod cli;
mod docs;
mod engine;
mod exports;
mod finish;
mod fuzz_loader;
mod graphs;
mod import;
mod interrupt;
mod layers;
mod lessons;
mod outputs;
mod recordings;
mod sim;
mod soak;
mod sweep;
mod trace_client;
mod tui;

use schedlab::exec::{RunOptions, RunResult};
use schedlab::plan::Plan;
use schedlab::report::Report;
use schedlab::session::{Engine, Session, Threads};
use schedlab::workload::{self, Overrides};

/// A finished run and its report.
pub struct Ran {
    pub report: Report,
    pub run: RunResult,
    pub plan: Plan,
}

/// Runs RON `text` under `policy`, with `workers` overriding the file's machine if given.
pub fn run_text(text: &str, policy: &str, workers: Option<usize>, record: bool) -> Ran {
    let loaded = workload::parse(text, "test.ron").unwrap_or_else(|e| panic!("{e}"));
    run_loaded(&loaded.workload, policy, workers, record)
}

/// Runs a parsed workload.
pub fn run_loaded(
    w: &workload::Workload,
    policy: &str,
    workers: Option<usize>,
    record: bool,
) -> Ran {
    run_loaded_on(&Threads, w, policy, workers, record)
}

/// Runs a parsed workload on `engine`.
pub fn run_loaded_on(
    engine: &dyn Engine,
    w: &workload::Workload,
    policy: &str,
    workers: Option<usize>,
    record: bool,
) -> Ran {
    let overrides = Overrides {
        workers,
        ..Overrides::default()
    };
    // The one pipeline every command uses.
    let loaded = workload::Loaded::built(w.clone(), &w.name).unwrap_or_else(|e| panic!("{e}"));
    let session = Session::of_for(loaded, &overrides, engine).unwrap_or_else(|e| panic!("{e}"));
    let options = RunOptions {
        record,
        pin: false,
        ..RunOptions::default()
    };
    let run = session
        .run_on(engine, policy, &options, &mut |_| {})
        .expect("known policy");
    let report = session.report(&run);
    Ran {
        report,
        run,
        plan: session.plan,
    }
}

/// Every invariant the report contract promises.
pub fn assert_report_invariants(r: &Report) {
    let what = format!("{} under {}", r.workload, r.policy);
    let t = r.tasks;
    assert_eq!(
        t.completed + t.failed + t.cancelled,
        t.total,
        "{what}: outcomes add up to the total"
    );
    assert!(r.makespan_ns > 0, "{what}: makespan");
    for w in &r.workers {
        let sum = w.busy_ns + w.idle_ns + w.overhead_ns;
        let diff = sum.abs_diff(r.makespan_ns) as f64;
        assert!(
            diff <= r.makespan_ns as f64 * 0.01,
            "{what}: worker {} adds to {sum}, makespan {}",
            w.id,
            r.makespan_ns
        );
        assert!(
            w.steals <= w.steal_attempts,
            "{what}: steals are successful attempts"
        );
    }
    let speed_sum: f64 = r.workers.iter().map(|w| w.speed).sum();
    assert!(
        r.lower_bound_ns as f64 >= (r.work_ns as f64 / speed_sum).floor() - 1.0,
        "{what}: lower bound"
    );
    assert!(
        r.lower_bound_ns >= r.critical_path_ns,
        "{what}: lower bound covers the critical path"
    );
    let efficiency = r.lower_bound_ns as f64 / r.makespan_ns as f64;
    assert!(
        (r.efficiency - efficiency).abs() < 1e-9,
        "{what}: efficiency"
    );
    assert!(
        (0.0..=1.0).contains(&r.utilisation),
        "{what}: utilisation {}",
        r.utilisation
    );
    assert!(
        ["work", "critical_path", "arrivals"].contains(&r.bound.as_str()),
        "{what}: bound {}",
        r.bound
    );
    assert_eq!(
        r.machine.workers,
        r.workers.len(),
        "{what}: machine workers"
    );
    // The bound is made of exact times of what ran inside the run: never above the makespan.
    assert!(
        r.efficiency <= 1.0,
        "{what}: efficiency {} above 1",
        r.efficiency
    );
    let attempts: u64 = r.workers.iter().map(|w| w.tasks).sum();
    // The scheduler's cost leaves out what the OS held the workers off their cores inside it.
    let overhead: u64 = r
        .workers
        .iter()
        .map(|w| w.overhead_ns - w.preempted_overhead_ns)
        .sum();
    for w in &r.workers {
        // The parts found inside bodies and scheduler calls are parts of the whole.
        assert!(
            w.preempted_busy_ns + w.preempted_overhead_ns <= w.preempted_ns.unwrap_or(0),
            "{what}: worker {} preempted {:?}, of it {} in bodies and {} in the scheduler",
            w.id,
            w.preempted_ns,
            w.preempted_busy_ns,
            w.preempted_overhead_ns
        );
    }
    assert_eq!(
        r.overhead_ns_per_task,
        overhead.checked_div(attempts).unwrap_or(0),
        "{what}: overhead per task"
    );
    assert_eq!(
        attempts,
        t.completed + t.failed + t.retried,
        "{what}: one attempt per completion, failure or retry"
    );
    let wait = r.wait_ns;
    assert!(
        wait.p50 <= wait.p90 && wait.p90 <= wait.p99 && wait.p99 <= wait.max,
        "{what}: wait percentiles"
    );
    assert_eq!(
        r.groups.iter().map(|g| g.count).sum::<u64>(),
        t.total,
        "{what}: groups cover every task"
    );
    assert_eq!(
        r.groups.iter().map(|g| g.attempts).sum::<u64>(),
        attempts,
        "{what}: group attempts"
    );
    for w in &r.workers {
        assert_eq!(
            w.idle.queued_elsewhere_ns + w.idle.starved_ns,
            w.idle_ns,
            "{what}: worker {}'s idle split adds up to its idle",
            w.id
        );
    }
    assert!(
        ["timeline", "probes"].contains(&r.idle_split_from.as_str()),
        "{what}: idle split from {}",
        r.idle_split_from
    );
    for (name, p) in std::iter::once(("all", &r.response_ns))
        .chain(r.groups.iter().map(|g| (g.name.as_str(), &g.response_ns)))
    {
        assert!(
            p.p50 <= p.p90 && p.p90 <= p.p99 && p.p99 <= p.max && p.max <= r.makespan_ns,
            "{what}: response percentiles of {name}: {p:?}, makespan {}",
            r.makespan_ns
        );
    }
    for g in r.groups.iter().filter(|g| g.attempts > 0) {
        // Every attempt counted belongs to a task that ended, whose response covers it.
        assert!(
            g.response_ns.max >= g.max_ns,
            "{what}: group {}'s longest response {} is shorter than its longest body {}",
            g.name,
            g.response_ns.max,
            g.max_ns
        );
    }
    assert!(!r.interrupted, "{what}: not interrupted");
}
