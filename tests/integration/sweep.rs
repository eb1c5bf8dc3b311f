//! `schedlab sweep`: the granularity curve measured through the library, and the real binary's
//! JSON, CSV and refusals.
//!
//! Timing on a shared test machine is noisy, so every assertion compares quantities that differ
//! by a large factor, or that the setup fixes (one task on two workers leaves one idle).

use serde_json::Value;

use crate::cli::{TempPath, schedlab, stderr_of};
use schedlab::sweep::{self, Axis, Point};

fn read(path: &TempPath) -> String {
    std::fs::read_to_string(&path.0)
        .unwrap_or_else(|e| panic!("{} was not written: {e}", path.0.display()))
}

fn steal_sweep(axis: &Axis, total_ns: u64) -> Vec<Point> {
    sweep::run(
        axis,
        &["steal".to_string()],
        total_ns,
        1,
        false,
        &mut |_| {},
    )
    .expect("a small sweep runs")
}

#[test]
fn a_granularity_sweep_shows_the_classic_curve() {
    // 20 ms of work cut into 300 ns … 20 ms tasks: about a second in all.
    let axis = Axis::Granularity {
        sizes: sweep::sizes(300, 20_000_000, 1),
        workers: 2,
    };
    let points = steal_sweep(&axis, 20_000_000);
    let table = sweep::table(&points, false);
    let first = &points[0];
    let last = points.last().unwrap();
    let mid: Vec<_> = points
        .iter()
        .filter(|p| (100_000..=1_000_000).contains(&p.size_ns))
        .collect();
    assert!(!mid.is_empty(), "{table}");
    // Tiny tasks: the scheduler's share is several times larger than for 0.1-1 ms tasks.
    let mid_overhead = mid
        .iter()
        .map(|p| p.overhead_share)
        .fold(f64::MAX, f64::min);
    assert!(
        first.overhead_share > 3.0 * mid_overhead,
        "{} vs {mid_overhead}\n{table}",
        first.overhead_share
    );
    // ... which costs efficiency: the smallest size is not the best one.
    let best = points.iter().map(|p| p.efficiency).fold(f64::MIN, f64::max);
    assert!(first.efficiency < best, "{table}");
    // Huge tasks: one task of the whole work keeps one core of two busy, the other idle. (Idle
    // shares, unlike speedups, do not depend on how loaded the test machine is.)
    assert_eq!(last.tasks, 1);
    assert!(last.idle_share > 0.4, "{table}");
    assert!(last.efficiency < 0.6, "{table}");
    let least_idle = mid.iter().map(|p| p.idle_share).fold(f64::MAX, f64::min);
    assert!(
        least_idle + 0.1 < last.idle_share,
        "balanced sizes idle less: {least_idle} vs {}\n{table}",
        last.idle_share
    );
    // One best row when some size beat one worker; a busy test machine may leave none, and
    // then the table says so rather than marking a point that gained nothing.
    let marked = table.matches("<- best").count();
    if points.iter().any(|p| p.speedup >= 1.005) {
        assert_eq!(marked, 1, "{table}");
    } else {
        assert!(marked == 0 && table.contains("no size gained"), "{table}");
    }
}

#[test]
fn a_scaling_range_above_one_worker_still_measures_against_one() {
    let axis = Axis::Scaling {
        size_ns: 100_000,
        workers: vec![2],
    };
    let points = steal_sweep(&axis, 4_000_000);
    assert_eq!(points.len(), 1, "the one-worker baseline is not a point");
    let p = &points[0];
    assert_eq!((p.workers, p.tasks), (2, 40));
    assert!(p.speedup.is_finite() && p.speedup > 0.1, "{p:?}");
    assert!((p.efficiency - p.speedup / 2.0).abs() < 1e-12, "{p:?}");
}

#[test]
fn sweep_writes_json_and_csv() {
    let json = TempPath::new("sweep.json");
    let csv = TempPath::new("sweep.csv");
    let output = schedlab()
        .args([
            "sweep",
            "--policies",
            "fifo,steal",
            "--total-ms",
            "5",
            "--sizes",
            "10us..1ms",
        ])
        .args(["--steps", "1", "--workers", "2", "--no-pin", "--json"])
        .arg(&json.0)
        .arg("--csv")
        .arg(&csv.0)
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", stderr_of(&output));
    let doc: Value = serde_json::from_str(&read(&json)).expect("JSON");
    assert_eq!(doc["schema"], 1);
    assert_eq!(doc["kind"], "granularity");
    assert_eq!(doc["total_ms"], 5.0);
    let points = doc["points"].as_array().unwrap();
    assert_eq!(points.len(), 3 * 2, "three sizes, two policies");
    for p in points {
        for field in [
            "policy",
            "size_ns",
            "workers",
            "tasks",
            "makespan_ns",
            "speedup",
            "efficiency",
            "overhead_share",
        ] {
            assert!(!p[field].is_null(), "{field} in {p}");
        }
    }
    let sizes: Vec<u64> = points
        .iter()
        .filter_map(|p| p["size_ns"].as_u64())
        .collect();
    assert_eq!(
        sizes,
        [10_000, 10_000, 100_000, 100_000, 1_000_000, 1_000_000]
    );
    let tasks: Vec<u64> = points.iter().filter_map(|p| p["tasks"].as_u64()).collect();
    assert_eq!(tasks, [500, 500, 50, 50, 5, 5]);
    let csv = read(&csv);
    assert_eq!(csv.lines().count(), 1 + 6);
    assert!(csv.starts_with("policy,size_ns,workers,tasks,makespan_ns,speedup,efficiency"));
}

#[test]
fn a_scaling_sweep_starts_from_one_worker() {
    let json = TempPath::new("scaling.json");
    let output = schedlab()
        .args(["sweep", "--policies", "steal", "--total-ms", "4"])
        .args(["--workers", "1..2", "--size", "100us", "--no-pin", "--json"])
        .arg(&json.0)
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", stderr_of(&output));
    let doc: Value = serde_json::from_str(&read(&json)).expect("JSON");
    assert_eq!(doc["kind"], "scaling");
    let points = doc["points"].as_array().unwrap();
    let workers: Vec<u64> = points
        .iter()
        .filter_map(|p| p["workers"].as_u64())
        .collect();
    assert_eq!(workers, [1, 2]);
    assert_eq!(points[0]["speedup"], 1.0, "one worker is its own baseline");
}

#[test]
fn bad_sweeps_are_refused_with_the_reason() {
    for (args, expected) in [
        (
            &["--sizes", "1ms..1us"][..],
            "--sizes `1ms..1us`: the range must go from small to large",
        ),
        (&["--sizes", "1ms"], "is not a range like A..B"),
        (&["--sizes", "1xs..1ms"], "the unit must be ns, us, ms or s"),
        (
            &["--workers", "0..4"],
            "--workers `0` is not a worker count",
        ),
        (&["--sizes", "1ns..1us"], "exceed the limit of 10000000"),
        (
            &["--total-ms", "60000", "--sizes", "10us..1s"],
            // The estimate spreads the work over this machine's cores, so only its shape is
            // fixed (the durations print with one decimal).
            "min; the limit is 10.0 min",
        ),
    ] {
        let output = schedlab().arg("sweep").args(args).output().expect("runs");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = stderr_of(&output);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}: nothing ran");
    }
}
