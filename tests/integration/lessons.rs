//! The tour's lessons and the shipped workloads' descriptions claim only what their runs bear
//! out: each lesson's conclusion follows from its own numbers, and each claim a description
//! makes is checked against a real run of it, on whatever machine runs the tests.
//!
//! Claims about time (one policy faster than another) take the best of a few runs under the
//! engine tests' timing lock: noise on a shared machine only ever makes a run slower.

use schedlab::plan::Plan;
use schedlab::record::Kind;
use schedlab::report::Report;
use schedlab::session::{Engine, Threads};
use schedlab::sim::Sim;
use schedlab::tour::{self, LESSONS, Measured};
use schedlab::workload;
use std::sync::Arc;

use crate::engine::{heavy, timing};
use crate::{Ran, assert_report_invariants, run_loaded};

/// A shipped workload, run `runs` times under `policy` with its own machine; the run with the
/// shortest makespan among those the OS left alone (all of them, if it left none alone).
fn best_of(name: &str, policy: &str, runs: usize) -> Ran {
    let w = workload::find(name).expect("shipped").workload;
    let all: Vec<Ran> = (0..runs)
        .map(|_| run_loaded(&w, policy, None, true))
        .collect();
    let any_quiet = all.iter().any(|r| quiet(&r.report));
    all.into_iter()
        .filter(|r| quiet(&r.report) || !any_quiet)
        .min_by_key(|r| r.report.makespan_ns)
        .expect("at least one run")
}

/// Whether the OS kept the workers off their cores too little to matter (or does not tell).
fn quiet(r: &Report) -> bool {
    r.preempted_share()
        .is_none_or(|s| s <= schedlab::report::PREEMPTED_WARNING)
}

/// For claims about time: whether every run was quiet enough to judge them. When one was
/// not, the lesson's conclusion must say the machine was busy instead of concluding.
fn judged(measured: &[Measured], conclusion: &str) -> bool {
    let all_quiet = measured.iter().all(|m| quiet(&m.report));
    if !all_quiet {
        assert!(
            conclusion.contains("The machine was busy"),
            "a busy machine goes unsaid: {conclusion}"
        );
    }
    all_quiet
}

/// Lesson `index`'s runs, each policy's the best of `runs`, on the engine the tour runs it
/// on here: simulated when this machine has fewer cores than the lesson's point needs (then
/// once: a simulated run is the same every time).
fn lesson(index: usize, runs: usize) -> Vec<Measured> {
    let threads: Arc<dyn Engine + Send + Sync> = Arc::new(Threads);
    let engine = tour::engine_for(index, &threads);
    if engine.simulated() {
        return simulated_lesson(index, engine.as_ref());
    }
    LESSONS[index]
        .policies
        .iter()
        .map(|policy| {
            let ran = best_of(LESSONS[index].workload, policy, runs);
            assert_report_invariants(&ran.report);
            Measured::new(&ran.plan, ran.report, &ran.run.timeline)
        })
        .collect()
}

/// Lesson `index`'s runs on the simulator, as `tour --sim` makes them.
fn simulated_lesson(index: usize, engine: &dyn Engine) -> Vec<Measured> {
    let overrides = tour::lesson_overrides(index, engine);
    LESSONS[index]
        .policies
        .iter()
        .map(|policy| {
            let m = tour::measure_on(LESSONS[index].workload, policy, false, &overrides, engine)
                .expect("a lesson runs");
            assert_report_invariants(&m.report);
            assert!(m.report.is_simulated());
            m
        })
        .collect()
}

#[test]
fn every_lesson_holds_in_simulation_the_same_on_every_machine() {
    // `tour --sim`: each lesson's point shows in virtual time, on the lesson's own machine.
    let sim = Sim::default();
    for (i, lesson) in LESSONS.iter().enumerate() {
        let measured = simulated_lesson(i, &sim);
        let text = tour::conclude(i, &measured);
        assert!(text.starts_with("Simulated: "), "{text}");
        assert!(!text.contains("machine was busy"), "{text}");
        let expect = match lesson.workload {
            "task-vs-data" => "the chunks could",
            "granularity" => "ate the gain",
            "imbalance" => "steal finished",
            "simulation" => "At the 4 barriers",
            "big-little" => "hetero finished",
            "montage" => "The critical path runs through",
            _ => "accounted for",
        };
        assert!(text.contains(expect), "lesson {}: {text}", i + 1);
        let again = tour::conclude(i, &simulated_lesson(i, &sim));
        assert_eq!(text, again, "lesson {}: the same every time", i + 1);
    }
}

fn index_of(workload: &str) -> usize {
    LESSONS
        .iter()
        .position(|l| l.workload == workload)
        .expect("a lesson")
}

/// Work of the groups picked, from the report.
fn work(m: &Measured, pick: impl Fn(&str) -> bool) -> u64 {
    m.report
        .groups
        .iter()
        .filter(|g| pick(&g.name))
        .map(|g| g.mean_ns * g.attempts)
        .sum()
}

#[test]
fn task_vs_data_compares_the_same_work_both_ways() {
    let _heavy = heavy();
    let i = index_of("task-vs-data");
    let measured = lesson(i, 1);
    let m = &measured[0];
    let distinct = work(m, |g| !g.ends_with("-chunks"));
    let chunks = work(m, |g| g.ends_with("-chunks"));
    // Like with like: the same operations over the same data. The chunks measure less work
    // (sorting in chunks does less, n log n, and a chunk's data fits in the caches the whole
    // arrays spill out of: about two thirds on a small server), never more.
    let ratio = chunks as f64 / distinct as f64;
    assert!(
        (0.45..=1.1).contains(&ratio),
        "distinct {distinct} ns of work, chunks {chunks} ns"
    );
    let text = tour::conclude(i, &measured);
    let workers = m.report.workers.len();
    // The point needs more cores than operations; with fewer, it says so.
    assert_eq!(
        text.contains(&format!("On {workers} cores, 4 operations are enough")),
        workers <= 4,
        "{text}"
    );
}

#[test]
fn granularity_shows_the_scheduler_eating_the_gain_of_tiny_tasks() {
    let _timing = timing();
    let i = index_of("granularity");
    let measured = lesson(i, 3);
    let r = &measured[0].report;
    let (tiny, coarse) = (&r.groups[0], &r.groups[1]);
    // The description: the scheduler's cost is a visible share of a tiny task, and vanishes
    // beside a coarse one.
    let share = r.overhead_ns_per_task as f64 / tiny.mean_ns as f64;
    assert!(
        share > 0.1,
        "overhead {} ns for tiny tasks of {} ns",
        r.overhead_ns_per_task,
        tiny.mean_ns
    );
    assert!((r.overhead_ns_per_task as f64) < 0.01 * coarse.mean_ns as f64);
    let text = tour::conclude(i, &measured);
    if judged(&measured, &text) {
        assert!(text.contains("The scheduler's cost ate the gain"), "{text}");
    }
}

#[test]
fn load_balancing_says_what_stealing_did() {
    let _timing = timing();
    let i = index_of("imbalance");
    let measured = lesson(i, 3);
    let (rr, steal) = (&measured[0].report, &measured[1].report);
    let text = tour::conclude(i, &measured);
    let steals: u64 = steal.workers.iter().map(|w| w.steals).sum();
    assert_eq!(text.contains("made no steals"), steals == 0, "{text}");
    if !judged(&measured, &text) {
        return;
    }
    assert!(
        steal.makespan_ns < rr.makespan_ns,
        "steal {} against rr {}",
        steal.makespan_ns,
        rr.makespan_ns
    );
    assert!(text.contains("sooner than rr"), "{text}");
    // rr's idle core sat idle while the other's queue still held tasks.
    let idlest = rr
        .workers
        .iter()
        .max_by_key(|w| w.idle_ns)
        .expect("workers");
    assert!(
        idlest.idle_ns * 4 > rr.makespan_ns && idlest.idle.queued_elsewhere_ns * 2 > idlest.idle_ns,
        "{idlest:?}"
    );
}

#[test]
fn dependencies_show_the_gaps_at_each_barrier() {
    let _heavy = heavy();
    let i = index_of("simulation");
    let measured = lesson(i, 1);
    let m = &measured[0];
    assert_eq!(m.barriers.len(), 4, "{:?}", m.barriers);
    let idle: u64 = m.report.workers.iter().map(|w| w.idle_ns).sum();
    let waited: u64 = m.barriers.iter().map(|b| b.1).sum();
    assert!(
        waited > 0 && waited <= idle,
        "waited {waited} of {idle} ns idle"
    );
    assert!(
        m.barriers.iter().all(|b| b.1 > 0),
        "every barrier makes someone wait: {:?}",
        m.barriers
    );
    let text = tour::conclude(i, &measured);
    assert!(
        text.contains("At the 4 barriers the cores waited"),
        "{text}"
    );
}

#[test]
fn hetero_keeps_the_big_tasks_off_the_slow_cores() {
    let _timing = timing();
    let i = index_of("big-little");
    let measured = lesson(i, 3);
    let text = tour::conclude(i, &measured);
    assert!(
        text.contains("under fifo the slow cores ran") && text.ends_with("under hetero 0."),
        "{text}"
    );
    assert!(!text.contains("ran 0 of the big tasks, under"), "{text}");
    if judged(&measured, &text) {
        assert!(text.contains("hetero finished"), "{text}");
    }
}

#[test]
fn faults_account_for_every_task() {
    let _heavy = heavy();
    let i = index_of("faults");
    let measured = lesson(i, 1);
    let t = measured[0].report.tasks;
    assert!(t.retried > 0 && t.failed > 0 && t.cancelled > 0, "{t:?}");
    // "One attempt in five panics": the attempts that panicked, against all attempts.
    let attempts = t.completed + t.failed + t.retried;
    let panicked = (t.retried + t.failed) as f64 / attempts as f64;
    assert!(
        (0.08..0.35).contains(&panicked),
        "{panicked} of attempts panicked"
    );
}

/// The descriptions of the workloads the lessons do not run.
#[test]
fn image_filters_blurs_are_the_slowest_filter() {
    let _heavy = heavy();
    let r = best_of("image-filters", "steal", 1).report;
    let mean = |name: &str| {
        r.groups
            .iter()
            .find(|g| g.name == name)
            .map(|g| g.mean_ns)
            .unwrap()
    };
    assert!(mean("blur") > mean("sharpen") && mean("blur") > mean("edge"));
}

#[test]
fn webserver_cores_blocked_in_io_compute_nothing() {
    let _heavy = heavy();
    let r = best_of("webserver", "steal", 1).report;
    let busy: u64 = r.workers.iter().map(|w| w.busy_ns).sum();
    let blocked: u64 = r.workers.iter().map(|w| w.blocked_ns).sum();
    assert!(blocked * 3 > busy, "blocked {blocked} of {busy} ns busy");
    // Blocked time is not counted as computing.
    assert!(
        r.utilisation * (r.makespan_ns * r.workers.len() as u64) as f64
            <= (busy - blocked) as f64 + 1.0
    );
    assert!(r.groups.iter().all(|g| g.arrives_over_time));
    let mean = |name: &str| {
        r.groups
            .iter()
            .find(|g| g.name == name)
            .map(|g| g.mean_ns)
            .unwrap()
    };
    assert!(
        mean("upload") > 5 * mean("get"),
        "an upload is many requests' work"
    );
}

#[test]
fn video_deeper_frames_cost_more() {
    let _timing = timing();
    let ran = best_of("video", "steal", 1);
    // Each frame's body, in frame order.
    let mut frames: Vec<(u32, u64)> = ran
        .run
        .timeline
        .attempts()
        .map(|a| (a.run.task, a.end_ns().unwrap() - a.run.t))
        .collect();
    frames.sort_unstable();
    // The zoom goes in and back out: the frames' costs rise and fall along it.
    let (least, most) = (
        frames.iter().map(|f| f.1).min().unwrap(),
        frames.iter().map(|f| f.1).max().unwrap(),
    );
    assert!(most > 2 * least, "frames take {least} to {most} ns");
}

#[test]
fn fork_join_thieves_take_the_biggest_pieces() {
    let _heavy = heavy();
    let ran = best_of("fork-join", "steal", 1);
    let r = &ran.report;
    assert!(
        r.workers.iter().all(|w| w.tasks > 0),
        "every core ran tasks"
    );
    let fib = ran.plan.groups[0].fib.clone().expect("a Fib group");
    // A task's n from its place in the preorder call tree.
    let n_of = |task: u32| {
        let (mut at, mut n) = (task - ran.plan.groups[0].first, fib.n);
        while at > 0 {
            at -= 1;
            let left = fib.sizes[n as usize - 1];
            if at < left {
                n -= 1;
            } else {
                at -= left;
                n -= 2;
            }
        }
        n
    };
    let (mut stolen, mut all) = (Vec::new(), Vec::new());
    for a in ran.run.timeline.attempts() {
        let n = f64::from(n_of(a.run.task));
        all.push(n);
        if a.run.aux > 0 {
            stolen.push(n);
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    assert!(!stolen.is_empty(), "work-stealing spread the root");
    assert!(
        mean(&stolen) > mean(&all) + 1.0,
        "stolen n {} against all {}",
        mean(&stolen),
        mean(&all)
    );
}

#[test]
fn mixed_sorts_wait_for_every_blur_and_slow_cores_take_longer() {
    let _timing = timing();
    let ran = best_of("mixed", "steal", 1);
    let (spans, _) = tour::spans(&ran.plan, &ran.run.timeline);
    let g = |name: &str| ran.plan.groups.iter().position(|g| g.name == name).unwrap();
    assert!(spans[g("sort")].start >= spans[g("blur")].end);
    // The half-speed cores take longer over the same work: on them every long body is
    // followed by an emulated slowdown of as much CPU time again (speed 0.5).
    let mut spans = Vec::new();
    for (w, events) in ran.run.timeline.workers.iter().enumerate() {
        if ran.report.workers[w].speed >= 1.0 {
            continue;
        }
        for (at, run) in events
            .iter()
            .enumerate()
            .filter(|(_, e)| e.kind == Kind::Run)
        {
            let body = &events[at + 1..];
            let Some(slow) = body
                .iter()
                .take_while(|e| e.kind.is_inside_task())
                .find(|e| e.kind == Kind::Slow)
            else {
                continue;
            };
            let Some(end) = body.iter().find(|e| !e.kind.is_inside_task()) else {
                continue;
            };
            let blocked = body
                .iter()
                .take_while(|e| e.kind.is_inside_task())
                .any(|e| e.kind == Kind::Block);
            if slow.t - run.t > 200_000 && !blocked {
                spans.push((slow.t - run.t, end.t - slow.t));
            }
        }
    }
    assert!(!spans.is_empty(), "the slow cores ran long bodies");
    // In all: the OS shares the cores between more workers than it has, in the bodies and
    // in the slowdowns alike, so only the totals compare. A slowdown spins for as much CPU
    // time as the body had; on a crowded machine its wall time can be longer still (the
    // OS favours threads that just woke over one that has spun for a while), never shorter.
    let bodies: u64 = spans.iter().map(|s| s.0).sum();
    let slowdowns: u64 = spans.iter().map(|s| s.1).sum();
    let ratio = slowdowns as f64 / bodies as f64;
    assert!(ratio > 0.6, "slowdowns {ratio} of the bodies: {spans:?}");
}

#[test]
fn ml_pipeline_critical_path_runs_through_the_big_models() {
    let _heavy = heavy();
    let r = best_of("ml-pipeline", "steal", 1).report;
    assert!(
        r.critical_groups.contains(&"train-large".to_string()),
        "{:?}",
        r.critical_groups
    );
    let mean = |name: &str| {
        r.groups
            .iter()
            .find(|g| g.name == name)
            .map(|g| g.mean_ns)
            .unwrap()
    };
    assert!(mean("train-large") > 2 * mean("train-small"));
    // Then a short tail: evaluating is less than half the work of training.
    let work = |name: &str| {
        r.groups
            .iter()
            .find(|g| g.name == name)
            .map(|g| g.mean_ns * g.attempts)
            .unwrap()
    };
    assert!(2 * work("evaluate") < work("train-small") + work("train-large"));
}

#[test]
fn dependencies_tasks_wait_for_their_inputs_and_cores_idle_when_a_stage_is_narrow() {
    let _heavy = heavy();
    let ran = best_of("dependencies", "steal", 1);
    let plan: &Plan = &ran.plan;
    let (spans, _) = tour::spans(plan, &ran.run.timeline);
    for (d, group) in plan.groups.iter().enumerate() {
        for &p in &group.after {
            assert!(
                spans[d].start >= spans[p].end,
                "{} starts before {} ends",
                group.name,
                plan.groups[p].name
            );
        }
    }
    // The one report task runs alone: the others had nothing ready.
    let starved: u64 = ran.report.workers.iter().map(|w| w.idle.starved_ns).sum();
    assert!(starved > 0);
    assert_eq!(
        ran.report.critical_groups,
        ["load", "index", "search", "report"]
    );
}

#[test]
fn a_real_workflow_reads_its_critical_path_and_the_recorded_runs_gap_to_it() {
    let _heavy = heavy();
    let i = index_of("montage");
    let measured = lesson(i, 1);
    let (fifo, cp) = (&measured[0].report, &measured[1].report);
    let text = tour::conclude(i, &measured);
    // The path is a chain of the graph's own edges, weighing what its tasks measured.
    let w = workload::find("montage").expect("shipped").workload;
    let plan = Plan::new(&w, 0);
    let graph = plan.graph.as_ref().expect("a task graph");
    let path: Vec<usize> = cp
        .critical_tasks
        .iter()
        .map(|name| plan.graph_task_named(name).expect("a task of the graph"))
        .collect();
    assert!(path.len() >= 2, "{text}");
    for pair in path.windows(2) {
        assert!(
            graph.successors(pair[0]).contains(&(pair[1] as u32)),
            "{} waits for {}",
            graph.names[pair[1]],
            graph.names[pair[0]]
        );
    }
    assert!(
        text.contains(&format!(
            "runs through {} of the {} tasks",
            path.len(),
            cp.tasks.total
        )),
        "{text}"
    );
    // Pegasus's recorded makespan against the critical path of the same tasks' runtimes.
    let recorded = cp.recorded_makespan_ns.expect("the recorded run");
    assert_eq!(recorded, 1_060_000_000, "1060 s, one second a millisecond");
    let ratio = recorded as f64 / cp.critical_path_ns as f64;
    assert!(
        text.contains(&format!("{ratio:.0} times the critical path")),
        "{text}"
    );
    if judged(&measured, &text) && cp.makespan_ns < fifo.makespan_ns {
        assert!(text.contains("sooner"), "{text}");
    }
}
