//! Soak: many short random runs, every policy, 1 to 64 workers on however few cores (and each
//! simulated again on 1 to 4096 cores), each checked for the report's invariants and for every
//! attempt running exactly once, each under a watchdog: a run that hangs (a lost wake-up)
//! fails the test with the seed that reproduces it.
//!
//! CI runs 600 runs (a few seconds here; 3000 took 16 s). `SCHEDLAB_SOAK=N` runs N, e.g. 5000 by hand;
//! `SCHEDLAB_SOAK_SEED=S` starts from another seed.

use std::time::{Duration, Instant};

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use crate::engine::{assert_exactly_once, assert_ready_when_it_could_be, heavy};
use crate::{assert_report_invariants, run_loaded_on, run_text};
use schedlab::sim::Sim;

/// A small random workload: up to four groups of spins, hashes, fork-join trees and sleeps,
/// some depending on earlier ones, some arriving over time, with faults and retries.
pub(crate) fn workload(rng: &mut Xoshiro256PlusPlus) -> String {
    let groups = rng.random_range(1..=4);
    let mut out = format!(
        "(name: \"soak\", seed: {}, faults: (panic_rate: {}, max_retries: {}), groups: [",
        rng.random_range(0..u64::MAX),
        [0.0, 0.0, 0.05, 0.3][rng.random_range(0..4)],
        rng.random_range(0..3),
    );
    for g in 0..groups {
        let count = rng.random_range(1..60);
        let kernel = match rng.random_range(0..4) {
            0 => format!("Spin(us: {})", rng.random_range(0..40)),
            1 => format!(
                "Fib(n: {}, cutoff: {})",
                rng.random_range(2..12),
                rng.random_range(0..4)
            ),
            2 => format!("Hash(bytes: {})", rng.random_range(1..4000)),
            _ => format!("Sleep(us: {})", rng.random_range(0..200)),
        };
        let after = if g > 0 && rng.random_range(0..3) == 0 {
            format!("after: [\"g{}\"], ", rng.random_range(0..g))
        } else {
            String::new()
        };
        let arrival = match rng.random_range(0..4) {
            0 => format!("arrival: Every(us: {}), ", rng.random_range(5..200)),
            1 => format!(
                "arrival: Poisson(per_sec: {}), ",
                rng.random_range(2000..50000)
            ),
            _ => String::new(),
        };
        out += &format!("(name: \"g{g}\", kernel: {kernel}, count: {count}, {after}{arrival}),");
    }
    out + "])"
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[test]
fn soak_random_runs_never_hang_and_always_add_up() {
    let _shared = heavy();
    let runs = env_number("SCHEDLAB_SOAK").unwrap_or(120);
    let first = env_number("SCHEDLAB_SOAK_SEED").unwrap_or(0);
    let policies: Vec<&str> = schedlab_policies::ALL.iter().map(|p| p.name).collect();
    let started = Instant::now();
    for seed in first..first + runs {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let text = workload(&mut rng);
        let policy = policies[rng.random_range(0..policies.len())];
        let workers = [1, 2, 3, 8, 16, 64][rng.random_range(0..6)];
        let what = format!(
            "soak run {seed} ({policy}, {workers} workers; SCHEDLAB_SOAK_SEED={seed} SCHEDLAB_SOAK=1 reproduces it):\n{text}"
        );
        let (tx, rx) = crossbeam::channel::bounded(1);
        let job = text.clone();
        std::thread::spawn(move || {
            let ran = run_text(&job, policy, Some(workers), true);
            let _ = tx.send(ran);
        });
        // Every run is tens of milliseconds of work; a minute means it hung.
        let ran = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(ran) => ran,
            Err(_) => panic!("hung: {what}"),
        };
        let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            assert_report_invariants(&ran.report);
            assert_exactly_once(&ran);
            assert_ready_when_it_could_be(&ran);
        }));
        if checked.is_err() {
            panic!("failed a check above: {what}");
        }
        // The same workload simulated, on up to 4096 cores: every attempt once there too.
        let simulated = [1, 2, 3, 8, 64, 512, 4096][rng.random_range(0..7)];
        let w = schedlab::workload::parse(&text, "soak.ron")
            .expect("valid")
            .workload;
        let ran = run_loaded_on(&Sim::default(), &w, policy, Some(simulated), true);
        let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            assert!(!ran.report.interrupted, "the simulation ran to the end");
            assert_report_invariants(&ran.report);
            assert_exactly_once(&ran);
            assert_ready_when_it_could_be(&ran);
        }));
        if checked.is_err() {
            panic!("failed a check above, simulated on {simulated} workers: {what}");
        }
    }
    eprintln!(
        "soak: {runs} runs in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
