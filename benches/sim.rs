//! The simulator's own speed and memory: simulated task executions per second on one core
//! (the contract asks for at least 5 million), a machine of 1024 workers, and the memory a
//! simulated task costs.
//!
//! `cargo bench --bench sim` (about two minutes). The latest numbers are in BENCHMARKS.md
//! ("Simulator"). Runs are not recorded (no timeline), as `compare` and `sweep` run them.
//!
//! Memory is measured in a child process per case, from the kernel: the peak resident set
//! (`VmHWM`, reset through `/proc/self/clear_refs` once the session is built) less the
//! resident set before the run, over the tasks. Pages, not bytes asked of the allocator:
//! what the machine gives the run.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput};

use schedlab::exec::RunOptions;
use schedlab::kernels::Kernel;
use schedlab::session::Session;
use schedlab::sim::Sim;
use schedlab::workload::{Loaded, Overrides, Workload};

/// The environment variable that makes this binary a memory-measuring child.
const CHILD: &str = "SCHEDLAB_SIM_BENCH_CHILD";

/// Tasks of the flat workload.
const FLAT: usize = 1_000_000;
/// `Fib(28, cutoff 0)`: 1 028 457 tasks, a task per call.
const FIB_N: u32 = 28;

/// `count` tasks of `kernel`, all ready at the start.
fn workload(name: &str, kernel: Kernel, count: usize) -> Workload {
    Workload::one_group(name, "tasks", kernel, count)
}

/// 1M tiny tasks (`Spin(us: 1)`).
fn flat() -> Workload {
    workload("flat", Kernel::Spin { us: 1.0 }, FLAT)
}

/// One fork-join tree of `Fib(28)` down to single calls.
fn fork_join() -> Workload {
    workload(
        "fork-join",
        Kernel::Fib {
            n: FIB_N,
            cutoff: 0,
        },
        1,
    )
}

/// `w` on `workers` workers, for the simulator (which allows more workers than real runs).
fn session(w: Workload, workers: usize, sim: &Sim) -> Session {
    let name = w.name.clone();
    let loaded = Loaded::built(w, &name).unwrap_or_else(|e| panic!("{e}"));
    let overrides = Overrides {
        workers: Some(workers),
        ..Overrides::default()
    };
    Session::of_for(loaded, &overrides, sim).unwrap_or_else(|e| panic!("{e}"))
}

/// One whole simulated run; its task executions (attempts).
fn run(s: &Session, sim: &Sim, policy: &str) -> u64 {
    let result = s
        .run_on(sim, policy, &RunOptions::default(), &mut |_| {})
        .expect("a known policy");
    assert!(!result.interrupted, "the run finished");
    result.workers.iter().map(|w| w.tasks).sum()
}

/// 1M tiny tasks and a 1M-task fork-join tree on 8 workers, under each policy: throughput is
/// simulated task executions per second on this one core.
fn eight_workers(c: &mut Criterion) {
    let sim = Sim::default();
    for (label, w) in [("1M × Spin(1 µs)", flat()), ("Fib(28) tree", fork_join())] {
        let s = session(w, 8, &sim);
        let mut group = c.benchmark_group(format!("sim {label}, 8 workers"));
        group
            .sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(4))
            .throughput(Throughput::Elements(s.plan.total as u64));
        for policy in ["fifo", "rr", "steal", "hetero"] {
            group.bench_function(policy, |b| b.iter(|| black_box(run(&s, &sim, policy))));
        }
        group.finish();
    }
}

/// A machine of 1024 workers and 1M tiny tasks.
fn many_workers(c: &mut Criterion) {
    let sim = Sim::default();
    let s = session(flat(), 1024, &sim);
    let mut group = c.benchmark_group("sim 1M × Spin(1 µs), 1024 workers");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(6))
        .throughput(Throughput::Elements(s.plan.total as u64));
    for policy in ["steal", "fifo"] {
        group.bench_function(policy, |b| b.iter(|| black_box(run(&s, &sim, policy))));
    }
    group.finish();
}

/// A memory case: (label, workload, workers, policy).
type Case = (&'static str, fn() -> Workload, usize, &'static str);

const MEMORY_CASES: &[Case] = &[
    ("1M × Spin(1 µs), 8 workers, steal", flat, 8, "steal"),
    ("1M × Spin(1 µs), 1024 workers, steal", flat, 1024, "steal"),
    ("1M × Spin(1 µs), 1024 workers, fifo", flat, 1024, "fifo"),
    ("2M × Spin(1 µs), 8 workers, steal", flat_2m, 8, "steal"),
    ("Fib(28) tree, 8 workers, steal", fork_join, 8, "steal"),
    (
        "Fib(28) tree, 1024 workers, steal",
        fork_join,
        1024,
        "steal",
    ),
];

fn flat_2m() -> Workload {
    workload("flat", Kernel::Spin { us: 1.0 }, 2 * FLAT)
}

/// Resident memory figures of this process from the kernel, bytes: (`VmRSS`, `VmHWM`).
fn resident() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// In a child process of its own: builds case `index`'s session, resets the peak, runs it,
/// and prints "tasks rss_at_start rss_before_run peak_during_run" (bytes).
fn memory_child(index: usize) {
    let (_, make, workers, policy) = MEMORY_CASES[index];
    let (start, _) = resident().expect("/proc/self/status");
    let sim = Sim::default();
    let s = session(make(), workers, &sim);
    // "5" resets the peak to the current resident set (Linux 4.0 and later); where that is
    // refused the peak also covers building the session, and says so by being no lower.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let (before, _) = resident().expect("/proc/self/status");
    let tasks = run(&s, &sim, policy);
    let (_, peak) = resident().expect("/proc/self/status");
    println!("{tasks} {start} {before} {peak}");
}

/// Memory per simulated task, each case in a child process so nothing else counts.
fn memory() {
    if resident().is_none() {
        println!("memory: /proc/self/status is not readable here; skipped");
        return;
    }
    let me = std::env::current_exe().expect("this binary");
    println!("\nmemory per simulated task (peak resident growth, child process per case):");
    println!("| case | tasks | session (plan) | run: peak growth | per task |");
    println!("|---|---|---|---|---|");
    for (i, (label, ..)) in MEMORY_CASES.iter().enumerate() {
        let out = std::process::Command::new(&me)
            .env(CHILD, i.to_string())
            .output()
            .expect("the child runs");
        let text = String::from_utf8_lossy(&out.stdout);
        let v: Vec<u64> = text
            .split_whitespace()
            .filter_map(|s| s.parse().ok())
            .collect();
        let [tasks, start, before, peak] = v[..] else {
            println!(
                "| {label} | child failed: {} |",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            continue;
        };
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        let growth = peak.saturating_sub(before);
        println!(
            "| {label} | {tasks} | {:.1} MiB | {:.1} MiB | {:.1} B |",
            mib(before.saturating_sub(start)),
            mib(growth),
            growth as f64 / tasks as f64
        );
    }
}

fn main() {
    if let Ok(index) = std::env::var(CHILD) {
        memory_child(index.parse().expect("a case index"));
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    eight_workers(&mut c);
    many_workers(&mut c);
    c.final_summary();
    // Not under `cargo bench -- FILTER` (a filtered run asks for some timings only) nor
    // `cargo test --benches` (criterion's test mode runs each bench once).
    let args: Vec<String> = std::env::args().skip(1).collect();
    let filtered = args.iter().any(|a| !a.starts_with('-'));
    if !filtered && !args.iter().any(|a| a == "--test" || a == "--list") {
        memory();
    }
}
