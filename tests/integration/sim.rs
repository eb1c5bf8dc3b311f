//! The simulator (`--sim`): the same bytes every time, every attempt once on 1 to 4096
//! simulated workers, the scheduling theorems it must not break, and what a person sees.

use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use schedlab::costs::CostModel;
use schedlab::sim::Sim;
use schedlab::workload;

use crate::cli::{TempPath, schedlab, stderr_of};
use crate::engine::{assert_exactly_once, assert_ready_when_it_could_be};
use crate::{Ran, assert_report_invariants, run_loaded_on};

fn shipped(name: &str) -> workload::Workload {
    workload::find(name).expect("a shipped workload").workload
}

/// Every cost zero: the schedule is the policy's decisions alone, as in the theorems.
fn free() -> Sim {
    Sim::new(CostModel {
        push_ns: 0.0,
        take_ns: 0.0,
        steal_ns: 0.0,
        failed_steal_ns: 0.0,
        wake_ns: 0.0,
        spin_ns: 0.0,
        shared_ns: 0.0,
        ..CostModel::default()
    })
}

#[test]
fn a_simulated_run_writes_the_same_bytes_every_time_and_says_it_is_simulated() {
    let run = |n: usize| {
        let files: Vec<TempPath> = ["json", "trace", "csv", "svg"]
            .iter()
            .map(|ext| TempPath::new(&format!("sim-{n}.{ext}")))
            .collect();
        let out = schedlab()
            .args([
                "--sim",
                "--headless",
                "--workload",
                "dependencies",
                "--workers",
                "64",
            ])
            .args(["--json", files[0].0.to_str().unwrap()])
            .args(["--trace", files[1].0.to_str().unwrap()])
            .args(["--csv", files[2].0.to_str().unwrap()])
            .args(["--svg", files[3].0.to_str().unwrap()])
            .output()
            .expect("runs");
        assert!(out.status.success(), "{}", stderr_of(&out));
        let summary = String::from_utf8_lossy(&out.stdout).into_owned();
        let bytes: Vec<Vec<u8>> = files
            .iter()
            .map(|f| std::fs::read(&f.0).expect("written"))
            .collect();
        (summary, bytes)
    };
    let (summary, first) = run(1);
    let (_, second) = run(2);
    for (i, name) in ["report", "trace", "CSV", "SVG"].iter().enumerate() {
        assert!(first[i] == second[i], "the {name} differs between two runs");
    }
    assert!(summary.starts_with("SIMULATED: dependencies"), "{summary}");
    let report: serde_json::Value = serde_json::from_slice(&first[0]).expect("json");
    assert_eq!(report["mode"], "sim");
    assert!(report["cost_model"]["take_ns"].is_number(), "{report}");
    assert_eq!(report["machine"]["workers"], 64);
    assert_eq!(report["machine"]["oversubscribed"], false);
    let trace = String::from_utf8_lossy(&first[1]);
    assert!(trace.contains("SIMULATED"), "the trace's metadata says so");
    assert!(
        String::from_utf8_lossy(&first[3]).contains("SIMULATED"),
        "the SVG's title says so"
    );
}

#[test]
fn every_attempt_runs_once_on_1_to_4096_simulated_workers() {
    let policies: Vec<&str> = schedlab_policies::ALL.iter().map(|p| p.name).collect();
    let sim = Sim::default();
    let mut runs = 0;
    for seed in 0..40u64 {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let text = crate::soak::workload(&mut rng);
        let w = workload::parse(&text, "soak.ron").expect("valid").workload;
        let workers = [1, 2, 3, 17, 64, 256, 1024, 4096][seed as usize % 8];
        let policy = policies[seed as usize % policies.len()];
        let ran = run_loaded_on(&sim, &w, policy, Some(workers), true);
        let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            assert!(!ran.report.interrupted);
            assert_report_invariants(&ran.report);
            assert_exactly_once(&ran);
            assert_ready_when_it_could_be(&ran);
            for w in &ran.report.workers {
                assert_eq!(
                    w.busy_ns + w.idle_ns + w.overhead_ns,
                    ran.report.makespan_ns,
                    "a simulated worker's time adds up exactly"
                );
            }
        }));
        if checked.is_err() {
            panic!("failed a check above: seed {seed}, {policy} on {workers} workers:\n{text}");
        }
        runs += 1;
    }
    assert_eq!(runs, 40);
}

/// The workloads without arrivals or slower cores, whose lower bound is work over P or the
/// critical path.
const FLAT: &[&str] = &[
    "fork-join",
    "imbalance",
    "dependencies",
    "simulation",
    "task-vs-data",
    "image-filters",
    "ml-pipeline",
    "granularity",
];

fn at_full_speed(w: &workload::Workload) -> workload::Workload {
    let mut w = w.clone();
    w.machine = workload::Machine::default();
    w
}

#[test]
fn greedy_policies_stay_within_two_minus_one_over_p_of_the_lower_bound() {
    // Graham: a greedy schedule never leaves a core idle while a task is ready, so its
    // makespan is at most W/P + (1 - 1/P)·T∞ <= (2 - 1/P)·max(W/P, T∞). With every cost zero
    // the simulated schedule is the policy's alone; fifo is greedy by construction.
    let sim = free();
    for name in FLAT {
        let w = at_full_speed(&shipped(name));
        for p in [2usize, 3, 8, 64, 512] {
            let ran: Ran = run_loaded_on(&sim, &w, "fifo", Some(p), false);
            let r = &ran.report;
            let bound = (2.0 - 1.0 / p as f64) * r.lower_bound_ns as f64;
            assert!(
                r.makespan_ns as f64 <= bound * 1.000_001 + 1.0,
                "{name} on {p}: makespan {} above (2 - 1/P) x {} = {bound}",
                r.makespan_ns,
                r.lower_bound_ns
            );
            assert!(
                r.makespan_ns >= r.lower_bound_ns,
                "{name} on {p}: below the bound"
            );
        }
    }
}

/// The constant of the work-stealing bound the simulated `steal` is held to (see below).
const STEAL_C: f64 = 2.0;

#[test]
fn steal_on_fork_join_stays_within_work_over_p_plus_c_times_the_span() {
    // Blumofe and Leiserson: randomized work stealing runs a fork-join computation in
    // T1/P + O(T∞). Here T1 is the one-worker makespan (every task and every scheduler call
    // on one core), and T∞ the span with its scheduler costs: the critical path of bodies,
    // plus, per level of the tree, a push, a steal sweep over the other workers and a wake-up,
    // which is what a thief pays to take the next level. c = 2 holds from 2 to 1024 workers.
    let model = CostModel::default();
    let sim = Sim::new(model.clone());
    let w = at_full_speed(&shipped("fork-join"));
    let one = run_loaded_on(&sim, &w, "steal", Some(1), false).report;
    let depth = 32.0; // deeper than the shipped tree (fib(22): 21 levels)
    for p in [2usize, 4, 16, 64, 256, 1024] {
        let r = run_loaded_on(&sim, &w, "steal", Some(p), false).report;
        let per_level = model.push_ns
            + model.take_ns
            + model.steal_ns
            + model.failed_steal_ns * (p - 1) as f64
            + model.wake_ns;
        let span = r.critical_path_ns as f64 + depth * per_level;
        let bound = one.makespan_ns as f64 / p as f64 + STEAL_C * span;
        assert!(
            (r.makespan_ns as f64) <= bound,
            "steal on {p}: makespan {} above T1/P {} + {STEAL_C} x span {span}",
            r.makespan_ns,
            one.makespan_ns / p as u64
        );
    }
}

#[test]
fn replaying_a_recorded_run_in_simulation_comes_close_to_it() {
    // --costs-from: each task costs what the real run measured, so on as many workers as it
    // had, the simulated makespan is near the real one (the scheduler and the machine's noise
    // make the difference; 25 % is what a shared CI machine allows).
    let _timing = crate::engine::heavy();
    let rec = TempPath::new("sim-replay.rec");
    let real = TempPath::new("sim-real.json");
    let out = schedlab()
        .args([
            "--headless",
            "--workload",
            "image-filters",
            "--workers",
            "2",
        ])
        .args(["--policy", "fifo", "--no-pin"])
        .args(["--record", rec.0.to_str().unwrap()])
        .args(["--json", real.0.to_str().unwrap()])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", stderr_of(&out));
    // The recorded workload simulated on `workers` with the recorded task times.
    let replayed = |workers: &str| -> serde_json::Value {
        let out = schedlab()
            .args(["--sim", "--headless", "--workload", "image-filters"])
            .args(["--workers", workers, "--policy", "fifo", "--json", "-"])
            .args(["--costs-from", rec.0.to_str().unwrap()])
            .output()
            .expect("runs");
        assert!(out.status.success(), "{}", stderr_of(&out));
        serde_json::from_slice(&out.stdout).expect("json")
    };
    let sim = replayed("2");
    let real: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&real.0).expect("written")).expect("json");
    assert!(
        sim["task_costs"]
            .as_str()
            .is_some_and(|s| s.starts_with("measured in")),
        "{sim}"
    );
    let (s, r) = (
        sim["makespan_ns"].as_f64().unwrap(),
        real["makespan_ns"].as_f64().unwrap(),
    );
    // A run the OS held off its cores judges the machine, not the simulation.
    let report: schedlab::report::Report = serde_json::from_value(real.clone()).expect("a report");
    let busy = report
        .preempted_share()
        .is_some_and(|share| share > schedlab::report::PREEMPTED_WARNING);
    assert!(
        busy || (s / r - 1.0).abs() <= 0.25,
        "simulated {s} against real {r}"
    );
    // On 8 times the cores, the same tasks finish sooner.
    let wide = replayed("16");
    assert!(wide["makespan_ns"].as_f64().unwrap() < s / 3.0, "{wide}");
    // Another workload's recording is refused, with both named.
    let other = schedlab()
        .args(["--sim", "--headless", "--workload", "fork-join"])
        .args(["--costs-from", rec.0.to_str().unwrap()])
        .output()
        .expect("runs");
    assert!(!other.status.success());
    assert!(
        stderr_of(&other).contains("image-filters"),
        "{}",
        stderr_of(&other)
    );
}

#[test]
fn a_simulated_sweep_of_a_shipped_workload_is_fast_and_the_same_every_time() {
    let sweep = || {
        let out = schedlab()
            .args(["sweep", "--sim", "--headless", "--workers", "1..1024"])
            .args(["--workload", "fork-join", "--csv", "-"])
            .output()
            .expect("runs");
        assert!(out.status.success(), "{}", stderr_of(&out));
        out.stdout
    };
    let first = sweep();
    assert_eq!(first, sweep(), "the same bytes every time");
    let csv = String::from_utf8_lossy(&first);
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(
        rows.len(),
        11 * 4,
        "1, 2, 4 … 1024 workers under 4 policies:\n{csv}"
    );
    for row in &rows {
        let (speedup, bound): (f64, f64) = (row[5].parse().unwrap(), row[9].parse().unwrap());
        assert!(
            speedup <= bound * 1.0001,
            "no policy beats the bound: {row:?}"
        );
    }
}

#[test]
fn compare_under_sim_runs_each_policy_once_and_says_why() {
    let out = schedlab()
        .args([
            "compare",
            "--sim",
            "--workload",
            "imbalance",
            "--repeat",
            "5",
        ])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("deterministic"), "{err}");
    assert_eq!(err.matches("imbalance under").count(), 4, "{err}");
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("SIMULATED: "), "{table}");
}

#[test]
fn bad_cost_models_are_refused_with_the_reason() {
    let model = TempPath::new("bad-model.ron");
    std::fs::write(&model.0, "CostModel(push_ns: -3.0)").expect("written");
    let out = schedlab()
        .args(["--sim", "--headless", "--workload", "fork-join"])
        .args(["--cost-model", model.0.to_str().unwrap()])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(stderr_of(&out).contains("push_ns"), "{}", stderr_of(&out));
    let out = schedlab()
        .args(["--headless", "--workload", "fork-join"])
        .args(["--cost-model", model.0.to_str().unwrap()])
        .output()
        .expect("runs");
    assert!(!out.status.success(), "--cost-model needs --sim");
    // A recording's task times go with its own workload, not the tour's or a sweep's.
    for command in [["tour", "--headless"], ["sweep", "--headless"]] {
        let out = schedlab()
            .args(command)
            .args(["--sim", "--costs-from", "whatever.rec"])
            .output()
            .expect("runs");
        assert!(!out.status.success(), "{command:?}");
        assert!(stderr_of(&out).contains("recorded"), "{}", stderr_of(&out));
    }
}

/// Every shipped workload on `workers` cores at full speed.
fn on_cores(name: &str, workers: usize) -> workload::Workload {
    let mut w = shipped(name);
    w.machine = workload::Machine {
        workers: Some(workers),
        ..workload::Machine::default()
    };
    w
}

// A timed check of wall-clock runs against simulations, which the project keeps out of the
// default test run (speed goals live in benchmarks: the machines are shared and noisy). On
// 2026-12-04 this 2-core VM's kernels measured up to 53 % apart a second apart, and the check
// failed on unchanged code (image-filters at +52.7 %): run it on a quiet machine with
// `cargo test --release --test integration sim::on_as_many -- --ignored --nocapture`.
#[test]
#[ignore = "timed against real runs: run it on a quiet machine with --ignored (see its comment)"]
fn on_as_many_workers_as_cores_a_simulation_comes_within_a_quarter_of_the_real_runs() {
    // The contract: with the calibrated cost model (the kernels of the workloads measured
    // here, as `schedlab calibrate` does), every shipped workload under every policy has a
    // simulated makespan near the real runs' median. A shared test machine is noisy, so the
    // bound here is 25 %, and runs the OS held off their cores are not judged. The kernels
    // are measured right before each policy's real runs and again right after: a shared VM's
    // speed drifts over the minutes this test takes (its neighbours come and go), and a model
    // measured at one moment says nothing about runs made at another. Where the two
    // measurements' simulations differ by more than a tenth, the machine changed speed under
    // the runs, and the case is not judged.
    let _timing = crate::engine::timing();
    let cores = schedlab::exec::machine::cores().clamp(1, 8);
    let mut judged = 0;
    let mut worst = (0.0f64, String::new());
    let measured = |w: &workload::Workload| {
        let mut model = CostModel::default();
        model.measure_kernels(w.groups.iter().map(|g| &g.kernel));
        Sim::new(model)
    };
    for (name, _) in workload::BUILTIN {
        let w = on_cores(name, cores);
        for policy in schedlab_policies::ALL.iter().map(|p| p.name) {
            let sim = measured(&w);
            let runs: Vec<(u64, bool)> = (0..3)
                .map(|_| run_loaded_on(&schedlab::session::Threads, &w, policy, None, false))
                .map(|r| {
                    let quiet = r
                        .report
                        .preempted_share()
                        .is_none_or(|s| s <= schedlab::report::PREEMPTED_WARNING);
                    (r.report.makespan_ns, quiet)
                })
                .collect();
            let quiet: Vec<u64> = runs.iter().filter(|r| r.1).map(|r| r.0).collect();
            let mut real = if quiet.len() >= 2 {
                quiet.clone()
            } else {
                runs.iter().map(|r| r.0).collect()
            };
            real.sort_unstable();
            let median = real[real.len() / 2] as f64;
            // `granularity`'s 800 000 tasks of 0.25 µs are mostly the executor's own time (a
            // clock read, the panic guard, a take: as much as the body), which varies by a
            // fifth between quiet runs here (264 to 368 ms) and grows with a second worker in
            // ways one worker's calibration does not see; it is held to 40 %.
            let allowed = if *name == "granularity" { 0.40 } else { 0.25 };
            // Runs of the same work that differ among themselves by more than the bound cannot
            // tell whether a simulation is within it: the machine changed speed under them.
            let spread = (real[real.len() - 1] - real[0]) as f64 / median;
            let simulated = run_loaded_on(&sim, &w, policy, None, false)
                .report
                .makespan_ns as f64;
            let after = run_loaded_on(&measured(&w), &w, policy, None, false)
                .report
                .makespan_ns as f64;
            let drift = (after / simulated - 1.0).abs();
            let error = simulated / median - 1.0;
            eprintln!(
                "fidelity {name:>14} {policy:>6} on {cores}: real {:>9.2} ms, simulated {:>9.2} ms, {:+5.1} %{}",
                median / 1e6,
                simulated / 1e6,
                error * 100.0,
                if quiet.len() < 2 {
                    " (busy machine: not judged)".to_string()
                } else if drift > 0.1 {
                    format!(
                        " (the kernels measured {:+.0} % apart before and after the runs: not judged)",
                        (after / simulated - 1.0) * 100.0
                    )
                } else if spread > allowed {
                    format!(
                        " (the real runs differ by {:.0} % among themselves: not judged)",
                        spread * 100.0
                    )
                } else {
                    String::new()
                }
            );
            if quiet.len() < 2 || drift > 0.1 || spread > allowed {
                continue;
            }
            assert!(
                error.abs() <= allowed,
                "{name} under {policy}: simulated {simulated} ns against the real median {median} ns ({:+.1} %, every line above)",
                error * 100.0
            );
            if error.abs() > worst.0 {
                worst = (error.abs(), format!("{name} under {policy}"));
            }
            judged += 1;
        }
    }
    eprintln!(
        "fidelity: {judged} judged, worst {:.1} % ({})",
        worst.0 * 100.0,
        worst.1
    );
}
