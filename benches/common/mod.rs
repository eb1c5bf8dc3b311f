//! What the benchmarks share: workloads built in code, and runs through the library.

#![allow(dead_code)]

use schedlab::exec::{RunOptions, RunResult};
use schedlab::workload::{self, Overrides};

/// Workers of every benchmark: the machine's cores, so nobody waits for a core.
pub fn workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// A compiled workload and the machine it runs on: the pipeline every command uses.
pub use schedlab::session::Session as Bench;

/// Compiles RON `text` for `workers` workers.
pub fn bench(text: &str, workers: usize) -> Bench {
    let loaded = workload::parse(text, "bench").unwrap_or_else(|e| panic!("{e}"));
    let overrides = Overrides {
        workers: Some(workers),
        ..Overrides::default()
    };
    Bench::of(loaded, &overrides).unwrap_or_else(|e| panic!("{e}"))
}

/// A shipped workload on its own machine.
pub fn shipped(name: &str) -> Bench {
    Bench::load(name, &Overrides::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// `count` empty tasks (`Spin(us: 0)`).
pub fn empty_tasks(count: u64, workers: usize) -> Bench {
    bench(
        &format!(r#"(name: "empty", groups: [(name: "e", kernel: Spin(us: 0), count: {count})])"#),
        workers,
    )
}

/// The fork-join tree of Fib(`n`) down to single calls: a task per call.
pub fn fib_tree(n: u32, workers: usize) -> Bench {
    bench(
        &format!(
            r#"(name: "fib", groups: [(name: "f", kernel: Fib(n: {n}, cutoff: 0), count: 1)])"#
        ),
        workers,
    )
}

/// Runs `b` under `policy`, recording the timeline or not, unpinned (benchmarks share the
/// machine with their own harness).
pub fn run(b: &Bench, policy: &str, record: bool) -> RunResult {
    let options = RunOptions {
        record,
        pin: false,
        ..RunOptions::default()
    };
    b.run(policy, &options, &mut |_| {})
        .expect("a known policy")
}

/// rayon: `count` empty closures spawned into one scope on `pool`.
pub fn rayon_empty(pool: &rayon::ThreadPool, count: u64) {
    pool.scope(|s| {
        for _ in 0..count {
            s.spawn(|_| {});
        }
    });
}

/// rayon: Fib(`n`) by `rayon::join` at every call, as the fork-join tree above.
pub fn rayon_fib(n: u32) -> u64 {
    if n < 2 {
        return u64::from(n);
    }
    let (a, b) = rayon::join(|| rayon_fib(n - 1), || rayon_fib(n - 2));
    a + b
}

/// A rayon pool of `workers` threads.
pub fn rayon_pool(workers: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .build()
        .expect("a rayon pool")
}
