//! The engine against rayon, the runtime Rust users would otherwise pick: the same shapes of
//! work, run whole, on as many workers as the machine has cores.
//!
//! `cargo bench --bench engine`. The targets and the latest numbers are in BENCHMARKS.md;
//! `cargo bench --bench budget` prints the ratios directly.

mod common;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};

use common::*;

/// 1M empty tasks: pure scheduling cost, each policy with its timeline recorded, and rayon's
/// `scope.spawn` of 1M empty closures.
fn empty_tasks_1m(c: &mut Criterion) {
    let workers = workers();
    let b = empty_tasks(1_000_000, workers);
    let pool = rayon_pool(workers);
    let mut group = c.benchmark_group("1M empty tasks");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    for policy in ["fifo", "rr", "steal", "hetero"] {
        group.bench_function(format!("{policy} (recorded)"), |bench| {
            bench.iter(|| black_box(run(&b, policy, true)));
        });
    }
    group.bench_function("rayon scope.spawn", |bench| {
        bench.iter(|| rayon_empty(&pool, black_box(1_000_000)));
    });
    group.finish();
}

/// Fork-join Fib(30) with a task per call, against `rayon::join` at every call.
fn fork_join_fib30(c: &mut Criterion) {
    let workers = workers();
    let b = fib_tree(30, workers);
    let pool = rayon_pool(workers);
    let mut group = c.benchmark_group("Fib(30, cutoff 0)");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    group.bench_function("steal (recorded)", |bench| {
        bench.iter(|| black_box(run(&b, "steal", true)));
    });
    group.bench_function("steal (not recorded)", |bench| {
        bench.iter(|| black_box(run(&b, "steal", false)));
    });
    group.bench_function("rayon::join", |bench| {
        bench.iter(|| pool.install(|| black_box(rayon_fib(black_box(30)))));
    });
    group.finish();
}

/// What recording the timeline costs on 10 µs tasks.
fn recording_cost(c: &mut Criterion) {
    let workers = workers();
    let b = bench(
        r#"(name: "10us", groups: [(name: "t", kernel: Spin(us: 10.0), count: 20000)])"#,
        workers,
    );
    let mut group = c.benchmark_group("20k tasks of 10 µs, steal");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    for record in [false, true] {
        let name = if record { "recorded" } else { "not recorded" };
        group.bench_function(name, |bench| {
            bench.iter(|| black_box(run(&b, "steal", record)));
        });
    }
    group.finish();
}

/// The lessons' workloads, whole: their makespans under each policy (efficiency is printed
/// by `cargo bench --bench budget`).
fn shipped_workloads(c: &mut Criterion) {
    for name in ["imbalance", "big-little"] {
        let b = shipped(name);
        let mut group = c.benchmark_group(name);
        group
            .sample_size(10)
            .measurement_time(Duration::from_secs(6));
        for policy in ["fifo", "rr", "steal", "hetero"] {
            group.bench_function(policy, |bench| {
                bench.iter(|| black_box(run(&b, policy, false)));
            });
        }
        group.finish();
    }
}

criterion_group!(
    benches,
    empty_tasks_1m,
    fork_join_fib30,
    recording_cost,
    shipped_workloads
);
criterion_main!(benches);
