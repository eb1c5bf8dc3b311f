//! The engine under every policy: nothing lost, nothing run twice, and each policy's promise.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use proptest::prelude::*;
use schedlab::exec::{self, RunOptions};
use schedlab::kernels;
use schedlab::plan::Plan;
use schedlab::record::{Kind, Outcome};
use schedlab::workload::{self, BUILTIN, Overrides, fib_tree_size};
use schedlab_policies::ALL;

use crate::{Ran, assert_report_invariants, run_loaded, run_text};

const POLICIES: [&str; 4] = ["fifo", "rr", "steal", "hetero"];

/// Tests that compare wall-clock makespans take this for writing, so that the heavy tests of
/// this binary (which take it for reading) do not steal their cores meanwhile.
static TIMING: RwLock<()> = RwLock::new(());

pub(crate) fn heavy() -> RwLockReadGuard<'static, ()> {
    TIMING.read().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn timing() -> RwLockWriteGuard<'static, ()> {
    TIMING.write().unwrap_or_else(|e| e.into_inner())
}

/// The shortest makespan of `runs` runs, interleaved with the other policies' by the caller:
/// noise on a shared machine only ever makes a run slower.
fn best_makespan(w: &workload::Workload, policy: &str, workers: Option<usize>) -> u64 {
    (0..3)
        .map(|_| run_loaded(w, policy, workers, false).report.makespan_ns)
        .min()
        .unwrap_or(0)
}

/// Checks from the recorded timeline that every attempt ran exactly once, attempts of a task
/// are numbered 1, 2, … without gaps, and the outcomes match the report's counts.
/// Every attempt became ready no earlier than it could have: a root not before its arrival,
/// nor before every attempt of every group it waits for had ended; a retry not before the
/// attempt it repeats ended. Ready is the start minus the wait the worker recorded, as the CSV
/// and the histograms have it.
pub(crate) fn assert_ready_when_it_could_be(ran: &Ran) {
    let what = format!("{} under {}", ran.report.workload, ran.report.policy);
    let plan = &ran.plan;
    let mut arrival: HashMap<u32, u64> = HashMap::new();
    for &(t, id) in &plan.arrivals {
        arrival.insert(id, t);
    }
    let mut group_end = vec![0u64; plan.groups.len()];
    let mut attempt_end: HashMap<(u32, u8), u64> = HashMap::new();
    for a in ran.run.timeline.attempts() {
        let (g, _) = plan.locate(a.run.task);
        let end = a.end_ns().expect("a finished run records every body's end");
        group_end[g] = group_end[g].max(end);
        attempt_end.insert((a.run.task, a.run.attempt), end);
    }
    for a in ran.run.timeline.attempts() {
        let (g, index) = plan.locate(a.run.task);
        let ready = a.run.t - a.wait_ns().expect("recorded");
        let group = &plan.groups[g];
        let is_root = index % group.tree == 0;
        if a.run.attempt > 1 {
            let before = attempt_end[&(a.run.task, a.run.attempt - 1)];
            assert!(
                ready >= before,
                "{what}: task {} attempt {} ready at {ready}, before attempt {} ended at {before}",
                a.run.task,
                a.run.attempt,
                a.run.attempt - 1
            );
        } else if is_root {
            if let Some(&at) = arrival.get(&a.run.task) {
                assert!(
                    ready >= at,
                    "{what}: task {} ready at {ready}, before its arrival at {at}",
                    a.run.task
                );
            }
            for &p in &group.after {
                assert!(
                    ready >= group_end[p],
                    "{what}: task {} of {} ready at {ready}, before {} ended at {}",
                    a.run.task,
                    group.name,
                    plan.groups[p].name,
                    group_end[p]
                );
            }
        }
    }
}

pub(crate) fn assert_exactly_once(ran: &Ran) {
    let what = format!("{} under {}", ran.report.workload, ran.report.policy);
    let mut attempts: HashMap<u32, Vec<u8>> = HashMap::new();
    let (mut completed, mut failed, mut retried) = (0u64, 0u64, 0u64);
    for events in &ran.run.timeline.workers {
        for (i, e) in events.iter().enumerate() {
            if e.kind == Kind::Run {
                attempts.entry(e.task).or_default().push(e.attempt);
                let after = events[i + 1..]
                    .iter()
                    .find(|n| !n.kind.is_inside_task())
                    .expect("an event after a body");
                match Outcome::from_aux(after.aux) {
                    Outcome::Completed => completed += 1,
                    Outcome::Failed => failed += 1,
                    Outcome::Retry => retried += 1,
                    Outcome::None => panic!("{what}: a body ended without an outcome"),
                }
            }
        }
    }
    for (task, mut seen) in attempts {
        seen.sort_unstable();
        let expected: Vec<u8> = (1..=seen.len() as u8).collect();
        assert_eq!(seen, expected, "{what}: task {task} attempts");
    }
    let t = ran.report.tasks;
    assert_eq!(
        (completed, failed, retried),
        (t.completed, t.failed, t.retried),
        "{what}: outcomes in the timeline"
    );
}

const MIXED_SMALL: &str = r#"(
    name: "small-mix", seed: 5,
    faults: (panic_rate: 0.2, max_retries: 2),
    groups: [
        (name: "spin", kernel: Spin(us: 20.0), count: 300, jitter: 0.5),
        (name: "hash", kernel: Hash(bytes: 20000), count: 40, arrival: Every(us: 100.0)),
        (name: "fib", kernel: Fib(n: 14, cutoff: 4), count: 2),
        (name: "sort", kernel: Sort(len: 5000), count: 10, after: ["hash"]),
        (name: "last", kernel: Spin(us: 5.0), count: 20, after: ["sort", "fib"]),
    ],
)"#;

#[test]
fn every_policy_runs_every_attempt_exactly_once_even_oversubscribed() {
    let _shared = heavy();
    let mut checksums = Vec::new();
    for policy in POLICIES {
        for workers in [1, 3, 16, 64] {
            let ran = run_text(MIXED_SMALL, policy, Some(workers), true);
            assert_report_invariants(&ran.report);
            assert_exactly_once(&ran);
            checksums.push((policy, workers, ran.report.checksum, ran.report.tasks));
        }
    }
    // Faults, jitter and results all derive from the seed: the same whatever the policy.
    let (_, _, sum, tasks) = checksums[0];
    for (policy, workers, s, t) in &checksums {
        assert_eq!(
            (*s, *t),
            (sum, tasks),
            "{policy} on {workers} workers computed something else"
        );
    }
}

#[test]
fn fork_join_spawns_the_whole_tree_and_computes_fib() {
    let _shared = heavy();
    let text = r#"(name: "fj", groups: [(name: "fib", kernel: Fib(n: 22, cutoff: 0), count: 3)])"#;
    for policy in POLICIES {
        let ran = run_text(text, policy, Some(8), false);
        assert_report_invariants(&ran.report);
        assert_eq!(ran.report.tasks.total, 3 * fib_tree_size(22, 0));
        assert_eq!(
            ran.report.tasks.completed, ran.report.tasks.total,
            "{policy}"
        );
        // The leaves' results add up to fib(22) per root: the fork-join really computed it.
        assert_eq!(ran.report.checksum, 3 * kernels::fib(22), "{policy}");
    }
}

#[test]
fn only_fork_join_nodes_that_compute_are_timed() {
    let _shared = heavy();
    // Cutoff 0: inner nodes only spawn, leaves are fib(0) or fib(1): nothing to time.
    let spawn_only =
        r#"(name: "fj", groups: [(name: "fib", kernel: Fib(n: 16, cutoff: 0), count: 1)])"#;
    let ran = run_text(spawn_only, "steal", Some(2), false);
    assert_eq!(ran.report.work_ns, 0);
    assert_eq!(ran.report.checksum, kernels::fib(16));
    // Cutoff 12: the leaves compute fib(12) and fib(11) sequentially, and that is work.
    let computing =
        r#"(name: "fj", groups: [(name: "fib", kernel: Fib(n: 16, cutoff: 12), count: 1)])"#;
    let ran = run_text(computing, "steal", Some(2), false);
    assert!(ran.report.work_ns > 0);
    assert_eq!(ran.report.checksum, kernels::fib(16));
}

#[test]
fn failed_tasks_cancel_their_dependents_and_fib_subtrees() {
    // Every attempt panics: the first group fails, everything after it is cancelled.
    let text = r#"(name: "doomed", faults: (panic_rate: 1.0, max_retries: 1), groups: [
        (name: "a", kernel: Spin(us: 1.0), count: 5),
        (name: "b", kernel: Spin(us: 1.0), count: 7, after: ["a"]),
        (name: "c", kernel: Spin(us: 1.0), count: 2, after: ["b"], arrival: Every(us: 1000.0)),
        (name: "f", kernel: Fib(n: 10, cutoff: 5), count: 1),
    ])"#;
    for policy in POLICIES {
        let ran = run_text(text, policy, Some(3), true);
        assert_report_invariants(&ran.report);
        assert_exactly_once(&ran);
        let t = ran.report.tasks;
        // a: 5 failed, 5 retried. f: its root fails after a retry, its other nodes are cancelled.
        assert_eq!(t.failed, 5 + 1, "{policy}");
        assert_eq!(t.retried, 5 + 1, "{policy}");
        assert_eq!(t.cancelled, 7 + 2 + fib_tree_size(10, 5) - 1, "{policy}");
        assert_eq!(t.completed, 0, "{policy}");
    }
}

#[test]
fn dependents_never_start_before_their_prerequisites_finish() {
    let text = r#"(name: "deps", groups: [
        (name: "a", kernel: Spin(us: 200.0), count: 8),
        (name: "b", kernel: Spin(us: 10.0), count: 30, after: ["a"]),
    ])"#;
    for policy in POLICIES {
        let ran = run_text(text, policy, Some(4), true);
        let b_first = ran.plan.groups[1].first;
        let (mut last_a_end, mut first_b_start) = (0, u64::MAX);
        for events in &ran.run.timeline.workers {
            for (i, e) in events.iter().enumerate() {
                if e.kind == Kind::Run {
                    if e.task < b_first {
                        last_a_end = last_a_end.max(events[i + 1].t);
                    } else {
                        first_b_start = first_b_start.min(e.t);
                    }
                }
            }
        }
        assert!(
            first_b_start >= last_a_end,
            "{policy}: b started at {first_b_start} before a ended at {last_a_end}"
        );
    }
}

#[test]
fn arrivals_are_respected() {
    let text = r#"(name: "arr", groups: [(name: "tick", kernel: Spin(us: 1.0), count: 20, arrival: Every(us: 2000.0))])"#;
    let ran = run_text(text, "steal", Some(2), true);
    let mut starts: Vec<(u32, u64)> = ran
        .run
        .timeline
        .workers
        .iter()
        .flatten()
        .filter(|e| e.kind == Kind::Run)
        .map(|e| (e.task, e.t))
        .collect();
    starts.sort_unstable();
    for (task, t) in starts {
        assert!(
            t >= u64::from(task) * 2_000_000,
            "task {task} started at {t} ns, before it arrived"
        );
    }
    // The last task arrives at 38 ms.
    assert!(ran.report.makespan_ns >= 38_000_000);
}

#[test]
fn round_robin_idles_on_the_imbalanced_workload_where_stealing_does_not() {
    let _alone = timing();
    let w = workload::find("imbalance").unwrap().workload;
    let rr = run_loaded(&w, "rr", Some(2), false).report;
    let steal = run_loaded(&w, "steal", Some(2), false).report;
    let idle_share = |r: &schedlab::report::Report| {
        r.workers
            .iter()
            .map(|w| w.idle_ns as f64 / r.makespan_ns as f64)
            .fold(0.0, f64::max)
    };
    assert!(
        idle_share(&rr) > 0.25,
        "rr leaves a worker idle: {:.2}",
        idle_share(&rr)
    );
    assert!(
        idle_share(&steal) < 0.15,
        "steal keeps both busy: {:.2}",
        idle_share(&steal)
    );
    // Makespans are not compared here: other processes on a shared machine stretch them far
    // more than the policies differ. The idle shares above are what the policies decide.
}

#[test]
fn hetero_beats_fifo_on_big_little() {
    let _alone = timing();
    let w = workload::find("big-little").unwrap().workload;
    let (hetero, fifo) = (
        best_makespan(&w, "hetero", None),
        best_makespan(&w, "fifo", None),
    );
    assert!(
        (hetero as f64) < 0.85 * fifo as f64,
        "hetero {hetero} ns should clearly beat fifo {fifo} ns"
    );
}

#[test]
fn every_shipped_workload_keeps_the_report_invariants() {
    let _shared = heavy();
    for (name, _) in BUILTIN {
        let w = workload::find(name).unwrap().workload;
        for policy in ALL.iter().map(|p| p.name) {
            let ran = run_loaded(&w, policy, None, false);
            assert_report_invariants(&ran.report);
        }
    }
}

/// RON `text` compiled (seed 0) for 4 workers.
fn on_four_workers(text: &str) -> (Plan, workload::ResolvedMachine) {
    let w = workload::parse(text, "t").unwrap().workload;
    let machine = w
        .resolve_machine(&Overrides {
            workers: Some(4),
            ..Overrides::default()
        })
        .unwrap();
    (Plan::new(&w, 0), machine)
}

#[test]
fn progress_counts_long_tasks_as_they_finish_not_at_the_end() {
    // Workers that never run dry count their finished tasks in batches; a batch also goes out
    // when it is 20 ms old, so a run of long tasks shows progress as it goes.
    // One worker never runs dry until the last task: without the 20 ms rule it would tell
    // nothing until the end.
    let w = workload::parse(
        r#"(name: "long", groups: [(name: "s", kernel: Sleep(us: 30000.0), count: 6)])"#,
        "t",
    )
    .unwrap()
    .workload;
    let machine = w
        .resolve_machine(&Overrides {
            workers: Some(1),
            ..Overrides::default()
        })
        .unwrap();
    let plan = Plan::new(&w, 0);
    let mut seen = Vec::new();
    let run = exec::run(&plan, &machine, "steal", &RunOptions::default(), &mut |p| {
        seen.push(p.finished)
    })
    .unwrap();
    assert_eq!(run.total, 6);
    assert!(
        seen.iter().any(|&f| f > 0 && f < 6),
        "some progress before the end: {seen:?}"
    );
}

#[test]
fn an_interrupted_run_stops_promptly_and_still_adds_up() {
    let (plan, machine) = on_four_workers(
        r#"(name: "long", groups: [(name: "s", kernel: Spin(us: 1000.0), count: 100000)])"#,
    );
    let stop = Arc::new(AtomicBool::new(false));
    let options = RunOptions {
        stop: Some(stop.clone()),
        ..RunOptions::default()
    };
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        stop.store(true, Ordering::SeqCst);
    });
    let started = std::time::Instant::now();
    let run = exec::run(&plan, &machine, "steal", &options, &mut |_| {}).unwrap();
    stopper.join().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stopped promptly"
    );
    assert!(run.interrupted);
    let report = schedlab::report::Report::new("long", "", &plan, &machine, &run);
    let t = report.tasks;
    assert!(report.interrupted);
    assert!(t.completed < t.total);
    assert_eq!(t.completed + t.failed + t.cancelled, t.total);
}

/// Runs `f` on another thread and fails if it does not finish in time: a hang is a lost wake-up.
pub(crate) fn with_watchdog<T: Send + 'static>(
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = crossbeam::channel::bounded(1);
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .expect("the run hung: a worker was never woken")
}

#[test]
fn stress_many_short_runs_never_hang() {
    let _shared = heavy();
    let text = r#"(name: "bursts", seed: 9, groups: [
        (name: "a", kernel: Spin(us: 0.0), count: 2000),
        (name: "b", kernel: Spin(us: 3.0), count: 50, arrival: Every(us: 50.0)),
        (name: "c", kernel: Fib(n: 12, cutoff: 2), count: 2, after: ["a"]),
    ])"#;
    let runs = if cfg!(debug_assertions) { 10 } else { 25 };
    with_watchdog(Duration::from_secs(240), move || {
        for i in 0..runs {
            for policy in POLICIES {
                let workers = [2, 8, 33, 64][i % 4];
                let ran = run_text(text, policy, Some(workers), false);
                assert_report_invariants(&ran.report);
            }
        }
    });
}

/// A random workload in RON: groups depend only on earlier ones, so there is never a cycle.
fn arb_workload() -> impl Strategy<Value = String> {
    let group = (
        0u8..3,
        1usize..40,
        0.0f64..30.0,
        any::<bool>(),
        prop_oneof![Just(None), (10.0f64..300.0).prop_map(Some)],
        0.0f64..0.9,
    );
    (prop::collection::vec(group, 1..5), 0.0f64..0.4, 0u32..3, any::<u64>()).prop_map(
        |(groups, panic_rate, retries, seed)| {
            let mut out = format!(
                "(name: \"random\", seed: {seed}, faults: (panic_rate: {panic_rate}, max_retries: {retries}), groups: ["
            );
            for (i, (kind, count, us, dep, every, jitter)) in groups.iter().enumerate() {
                let kernel = match kind {
                    0 => format!("Spin(us: {us})"),
                    1 => format!("Fib(n: {}, cutoff: {})", 3 + (*count % 9), *count % 5),
                    _ => format!("Hash(bytes: {})", 1 + (*us as usize) * 100),
                };
                let after = if *dep && i > 0 { format!("after: [\"g{}\"], ", i - 1) } else { String::new() };
                let arrival = every.map_or(String::new(), |p| format!("arrival: Every(us: {p}), "));
                out += &format!(
                    "(name: \"g{i}\", kernel: {kernel}, count: {count}, {after}{arrival}jitter: {jitter}),"
                );
            }
            out + "])"
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_workloads_run_every_attempt_once_under_every_policy(
        text in arb_workload(),
        workers in 1usize..10,
        policy in 0usize..4,
    ) {
        let _shared = heavy();
        let ran = with_watchdog(Duration::from_secs(60), move || run_text(&text, POLICIES[policy], Some(workers), true));
        assert_report_invariants(&ran.report);
        assert_exactly_once(&ran);
    }
}

#[test]
fn the_critical_path_names_a_chain_of_dependent_groups() {
    let _shared = heavy();
    let w = workload::find("dependencies").unwrap().workload;
    let r = run_loaded(&w, "steal", Some(2), false).report;
    let chain = &r.critical_groups;
    assert!(chain.len() >= 3, "{chain:?}");
    assert_eq!(chain.first().map(String::as_str), Some("load"));
    assert_eq!(chain.last().map(String::as_str), Some("report"));
    for pair in chain.windows(2) {
        let later = w.groups.iter().find(|g| g.name == pair[1]).unwrap();
        assert!(
            later.after.contains(&pair[0]),
            "{} waits for {}",
            pair[1],
            pair[0]
        );
    }
    let parallelism = r.work_ns as f64 / r.critical_path_ns as f64;
    assert!((r.parallelism - parallelism).abs() < 1e-9);
}

/// A FIFO queue that panics on its `take` number `TAKE` or its `push` number `PUSH` (0: never):
/// a bug in a policy, not in a task.
struct Faulty<const TAKE: usize, const PUSH: usize> {
    inner: schedlab_policies::Fifo,
    takes: std::sync::atomic::AtomicUsize,
    pushes: std::sync::atomic::AtomicUsize,
}

impl<const TAKE: usize, const PUSH: usize> schedlab_policies::Policy for Faulty<TAKE, PUSH> {
    type Local = <schedlab_policies::Fifo as schedlab_policies::Policy>::Local;
    const NAME: &'static str = "faulty";
    const ALIASES: &'static [&'static str] = &[];
    const ABOUT: &'static str = "panics on purpose";

    fn new(machine: &schedlab_policies::Machine) -> Self {
        Faulty {
            inner: schedlab_policies::Fifo::new(machine),
            takes: Default::default(),
            pushes: Default::default(),
        }
    }
    fn local(&self, worker: usize) -> Self::Local {
        self.inner.local(worker)
    }
    fn push(
        &self,
        from: Option<&mut Self::Local>,
        task: schedlab_policies::Task,
    ) -> schedlab_policies::Wake {
        if self.pushes.fetch_add(1, Ordering::Relaxed) + 1 == PUSH {
            panic!("faulty policy: push {PUSH}");
        }
        self.inner.push(from, task)
    }
    fn take(&self, me: &mut Self::Local) -> Option<schedlab_policies::Task> {
        if self.takes.fetch_add(1, Ordering::Relaxed) + 1 == TAKE {
            panic!("faulty policy: take {TAKE}");
        }
        self.inner.take(me)
    }
}

/// Runs `P` on a few thousand short tasks with 4 workers; returns the panic's message.
fn crash_message<P: schedlab_policies::Policy>() -> String {
    let (plan, machine) = on_four_workers(
        r#"(name: "c", groups: [(name: "a", kernel: Spin(us: 5.0), count: 4000)])"#,
    );
    let outcome = std::panic::catch_unwind(|| {
        exec::run_policy::<P>(&plan, &machine, &RunOptions::default(), &mut |_| {})
    });
    match outcome {
        Ok(_) => panic!("the run should have crashed"),
        Err(panic) => exec::panic_message(&*panic),
    }
}

#[test]
fn a_panicking_policy_ends_the_run_with_its_message_instead_of_hanging() {
    let _guard = heavy();
    // In a worker: the others must leave rather than wait for its tasks.
    let message = with_watchdog(Duration::from_secs(30), crash_message::<Faulty<100, 0>>);
    assert_eq!(message, "faulty policy: take 100");
    // In the thread that releases the first tasks: the workers must still leave.
    let message = with_watchdog(Duration::from_secs(30), crash_message::<Faulty<0, 7>>);
    assert_eq!(message, "faulty policy: push 7");
}

#[test]
fn tasks_that_wait_for_two_groups_and_an_arrival_are_ready_only_when_all_three_allow() {
    let _shared = heavy();
    // The gate of `c` opens on three conditions met on different threads at nearly the same
    // time: `a` and `b` finishing on two workers, and each root's arrival from the releaser.
    let text = r#"(name: "gates", groups: [
        (name: "a", kernel: Spin(us: 20.0), count: 64),
        (name: "b", kernel: Spin(us: 20.0), count: 64),
        (name: "c", kernel: Spin(us: 1.0), count: 2000, after: ["a", "b"], arrival: Every(us: 2.0)),
        (name: "d", kernel: Fib(n: 6, cutoff: 2), count: 4, after: ["c"]),
    ])"#;
    // Oversubscribed, so that a thread is often preempted between reading the clock and
    // opening a gate: the window in which a wrong ready time would be taken.
    for round in 0..12 {
        for policy in ["fifo", "rr", "steal", "hetero"] {
            let ran = run_text(text, policy, Some([4, 16, 48][round % 3]), true);
            assert_ready_when_it_could_be(&ran);
            assert_report_invariants(&ran.report);
        }
    }
}

#[test]
fn efficiency_never_exceeds_one_even_for_a_chain_of_long_tasks() {
    let _shared = heavy();
    // Five 60 ms tasks one after another on one worker: the bound is their sum, and a
    // histogram bucket's upper bound would put it above the makespan (1.0017 once).
    let text = r#"(name: "chain", groups: [
        (name: "t1", kernel: Spin(us: 60000.0), count: 1),
        (name: "t2", kernel: Spin(us: 60000.0), count: 1, after: ["t1"]),
        (name: "t3", kernel: Spin(us: 60000.0), count: 1, after: ["t2"]),
        (name: "t4", kernel: Spin(us: 60000.0), count: 1, after: ["t3"]),
        (name: "t5", kernel: Spin(us: 60000.0), count: 1, after: ["t4"]),
    ])"#;
    let ran = run_text(text, "fifo", Some(1), false);
    let r = &ran.report;
    assert!(r.efficiency <= 1.0, "efficiency {}", r.efficiency);
    assert!(r.critical_path_ns <= r.makespan_ns);
    assert_eq!(r.critical_groups, vec!["t1", "t2", "t3", "t4", "t5"]);
    let sum: u64 = r.groups.iter().map(|g| g.max_ns).sum();
    assert_eq!(r.critical_path_ns, sum, "the chain's exact body times");
    for g in &r.groups {
        assert_eq!(
            g.p50_ns, g.max_ns,
            "one task: its percentiles are its exact time"
        );
    }
}

#[test]
fn a_long_chain_of_groups_is_checked_and_run_in_linear_time() {
    // 32 000 groups listed last-first, each after the next: a recursive walk overflows the
    // stack, a quadratic one takes minutes.
    let n = 32_000;
    let mut text = String::from("(name: \"chain\", groups: [");
    for i in (0..n).rev() {
        let after = if i > 0 {
            format!(", after: [\"g{}\"]", i - 1)
        } else {
            String::new()
        };
        text += &format!("(name: \"g{i}\", kernel: Spin(us: 0.0), count: 1{after}),");
    }
    text += "])";
    let started = std::time::Instant::now();
    let ran = run_text(&text, "steal", Some(2), false);
    assert_eq!(ran.report.tasks.completed, n);
    assert_eq!(ran.report.critical_groups.len(), n as usize);
    assert_eq!(
        ran.report.critical_groups.first().map(String::as_str),
        Some("g0")
    );
    // Not a timing test of speed: a generous bound that only a quadratic walk would break.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    // A cycle through the whole chain is found and named without recursion too.
    let cyclic = text.replacen(
        "(name: \"g0\", kernel: Spin(us: 0.0), count: 1)",
        &format!(
            "(name: \"g0\", kernel: Spin(us: 0.0), count: 1, after: [\"g{}\"])",
            n - 1
        ),
        1,
    );
    let err = schedlab::workload::parse(&cyclic, "cycle.ron").expect_err("a cycle");
    assert!(err.message.contains("dependency cycle"), "{}", err.message);
}

#[test]
fn many_groups_on_many_workers_cost_memory_by_what_ran() {
    let _shared = heavy();
    // 3000 groups × 1024 workers took 13 GB when every worker kept every group's histograms.
    let mut text = String::from("(name: \"wide\", groups: [");
    for i in 0..3000 {
        text += &format!("(name: \"g{i}\", kernel: Spin(us: 0.0), count: 1),");
    }
    text += "])";
    let ran = run_text(&text, "steal", Some(256), false);
    let kept: usize = ran.run.workers.iter().map(|w| w.groups.len()).sum();
    assert!(kept <= 3000, "{kept} per-group entries for 3000 attempts");
    assert_eq!(ran.report.tasks.completed, 3000);
    // The cost of a group's first task does not land on the task: an empty body is short.
    let slowest = ran
        .report
        .groups
        .iter()
        .map(|g| g.max_ns)
        .max()
        .unwrap_or(0);
    assert!(slowest < 1_000_000, "an empty task timed at {slowest} ns");
}

#[test]
fn the_checksum_depends_on_the_seed_and_parameters_only() {
    let _shared = heavy();
    // Spin and Request do calibrated amounts of work, which differ between processes; the
    // checksum must not. Other policies and worker counts give the same one, and so does a
    // second process (the binary, with its own calibration).
    let text = r#"(name: "sum", seed: 11, groups: [
        (name: "spin", kernel: Spin(us: 30.0), count: 20),
        (name: "req", kernel: Request(cpu_us: 40.0, io_us: 10.0), count: 20),
        (name: "sort", kernel: Sort(len: 3000), count: 4, jitter: 0.3),
        (name: "fib", kernel: Fib(n: 12, cutoff: 5), count: 2),
    ])"#;
    let first = run_text(text, "fifo", Some(2), false).report.checksum;
    for (policy, workers) in [("rr", 3), ("steal", 8), ("hetero", 1)] {
        assert_eq!(
            run_text(text, policy, Some(workers), false).report.checksum,
            first,
            "{policy}"
        );
    }
    let file = crate::cli::TempPath::with_text("sum.ron", text);
    for policy in ["fifo", "steal"] {
        let out = crate::cli::headless_report(&file, &["--policy", policy]);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(
            report["checksum"].as_u64(),
            Some(first),
            "{policy} in another process"
        );
    }
    let other_seed = text.replace("seed: 11", "seed: 12");
    assert_ne!(
        run_text(&other_seed, "fifo", Some(2), false)
            .report
            .checksum,
        first
    );
}

#[test]
fn an_interrupted_run_claims_no_bound_above_what_it_ran() {
    let _shared = heavy();
    // Tasks arrive for ten seconds and a long one runs from the start; the run is stopped
    // after a fifth of a second. Neither the arrivals still to come nor the unfinished
    // task's work may enter the bound (once 5.02 and 3.1 times the makespan).
    let text = r#"(name: "cut", groups: [
        (name: "long", kernel: Spin(us: 5000000.0), count: 1),
        (name: "stream", kernel: Spin(us: 100.0), count: 1000, arrival: Every(us: 10000.0)),
        (name: "after", kernel: Spin(us: 100.0), count: 5, after: ["stream"]),
    ])"#;
    let w = workload::parse(text, "cut.ron").expect("valid").workload;
    for policy in POLICIES {
        let machine = w
            .resolve_machine(&Overrides {
                workers: Some(2),
                ..Overrides::default()
            })
            .expect("valid");
        let plan = Plan::new(&w, w.seed);
        let stop = Arc::new(AtomicBool::new(false));
        let options = RunOptions {
            stop: Some(stop.clone()),
            ..RunOptions::default()
        };
        let stopper = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            stop.store(true, Ordering::SeqCst);
        });
        let run = exec::run(&plan, &machine, policy, &options, &mut |_| {}).expect("runs");
        stopper.join().expect("the stopper");
        let r = schedlab::report::Report::new("cut", "", &plan, &machine, &run);
        assert!(r.interrupted, "{policy}");
        assert!(r.efficiency <= 1.0, "{policy}: efficiency {}", r.efficiency);
        assert!(r.critical_path_ns <= r.makespan_ns, "{policy}");
        assert!(
            r.makespan_ns < 2_000_000_000,
            "{policy}: the 5 s task stopped with the run ({} ns)",
            r.makespan_ns
        );
        let long = &r.groups[0];
        assert_eq!(long.attempts, 0, "{policy}: the long task did not finish");
        assert!(r.tasks.completed > 0 && r.tasks.cancelled > 0, "{policy}");
        assert_eq!(
            r.tasks.completed + r.tasks.failed + r.tasks.cancelled,
            r.tasks.total
        );
    }
}

/// A worker that ran out while ready tasks sat in another's queue was idle by the policy's
/// doing; one that waited for a dependency was idle by the workload's. Both ways of splitting
/// (exact from the events, probed without them) tell the two apart.
#[test]
fn idle_is_split_into_the_policys_and_the_workloads() {
    let _heavy = heavy();
    // rr deals the big task and every other small one to worker 0: worker 1 runs out after
    // its 30 ms and sits idle while worker 0's small tasks wait behind the big one.
    let dealt = r#"Workload(name: "dealt", seed: 1, groups: [
        Group(name: "big", kernel: Spin(us: 60000.0), count: 1),
        Group(name: "small", kernel: Spin(us: 1000.0), count: 60),
    ])"#;
    // One task at a time: whoever is idle has nothing it could run.
    let chain = r#"Workload(name: "chain", seed: 1, groups: [
        Group(name: "a", kernel: Spin(us: 15000.0), count: 1),
        Group(name: "b", kernel: Spin(us: 15000.0), count: 1, after: ["a"]),
        Group(name: "c", kernel: Spin(us: 15000.0), count: 1, after: ["b"]),
    ])"#;
    for record in [true, false] {
        let how = if record { "timeline" } else { "probes" };
        let ran = run_text(dealt, "rr", Some(2), record);
        let r = &ran.report;
        assert_report_invariants(r);
        assert_eq!(r.idle_split_from, how);
        let idle: u64 = r.workers.iter().map(|w| w.idle_ns).sum();
        let elsewhere: u64 = r.workers.iter().map(|w| w.idle.queued_elsewhere_ns).sum();
        // A machine busy enough to hold a worker off its core for tens of ms reshapes who
        // idles when: the OS's doing, which this test cannot judge.
        let busy = r
            .preempted_share()
            .is_some_and(|s| s > schedlab::report::PREEMPTED_WARNING);
        assert!(
            busy || idle > 20_000_000 && elsewhere as f64 > 0.8 * idle as f64,
            "rr ({how}): {elsewhere} of {idle} ns idle while tasks were queued: {:?}",
            r.workers
        );
        let ran = run_text(chain, "steal", Some(2), record);
        let r = &ran.report;
        assert_report_invariants(r);
        let idle: u64 = r.workers.iter().map(|w| w.idle_ns).sum();
        let starved: u64 = r.workers.iter().map(|w| w.idle.starved_ns).sum();
        assert!(
            idle > 30_000_000 && starved as f64 > 0.9 * idle as f64,
            "chain ({how}): {starved} of {idle} ns idle with nothing ready: {:?}",
            r.workers
        );
    }
}

/// A task's response runs from its release to the end of its last attempt: a task that
/// arrives late is timed from its arrival, not from the start; one retried is timed across
/// every attempt.
#[test]
fn response_runs_from_release_to_the_end_of_the_last_attempt() {
    let _heavy = heavy();
    // Ten 1 ms tasks, one every 20 ms, on two workers: each is served at once.
    let arrivals = r#"Workload(name: "arrivals", seed: 1, groups: [
        Group(name: "req", kernel: Spin(us: 1000.0), count: 10, arrival: Every(us: 20000.0)),
    ])"#;
    let ran = run_text(arrivals, "fifo", Some(2), false);
    let r = &ran.report;
    assert_report_invariants(r);
    assert!(r.groups[0].arrives_over_time);
    // About 1 ms each (a spin calibrated at the start of the process can run a little short
    // when the machine was slower then), never the ~100 ms a response from the start would be.
    assert!(
        r.makespan_ns > 150_000_000 && r.response_ns.p50 >= 900_000,
        "makespan {}, response {:?}",
        r.makespan_ns,
        r.response_ns
    );
    assert!(
        r.response_ns.p50 < 10_000_000,
        "a task served at once responds in about its body, not in its arrival time: {:?}",
        r.response_ns
    );
    // Every attempt panics: each task runs three 2 ms attempts before it fails.
    let retried = r#"Workload(name: "retried", seed: 1,
        faults: Faults(panic_rate: 1.0, max_retries: 2),
        groups: [Group(name: "doomed", kernel: Spin(us: 2000.0), count: 2)])"#;
    let ran = run_text(retried, "fifo", Some(1), true);
    let r = &ran.report;
    assert_eq!(r.tasks.failed, 2);
    assert!(
        r.response_ns.p50 >= 6_000_000 && r.response_ns.max <= r.makespan_ns,
        "three attempts of 2 ms each: {:?}, makespan {}",
        r.response_ns,
        r.makespan_ns
    );
    assert!(!r.groups[0].arrives_over_time);
}
