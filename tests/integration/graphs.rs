//! Task graphs through the whole engine: each task released by its own predecessors, the
//! failed ones' successors cancelled, the critical path weighed task by task, on real threads
//! and in simulation, under every policy.

use schedlab::record::Outcome;
use schedlab::sim::Sim;
use schedlab::workload;

use super::{Ran, assert_report_invariants, run_loaded, run_loaded_on, run_text};

/// A diamond (load, two filters, join) beside an independent task, in ms.
const DIAMOND: &str = r#"(name: "diamond", tasks: [
    Task(name: "load", time: 2.0),
    Task(name: "left_1", kind: "filter", time: 5.0, after: ["load"]),
    Task(name: "right_2", kind: "filter", time: 3.0, after: ["load"]),
    Task(name: "join", time: 1.0, after: ["left_1", "right_2"]),
    Task(name: "side", time: 1.0),
])"#;

fn graph(text: &str) -> workload::Workload {
    workload::parse(text, "graph.ron")
        .unwrap_or_else(|e| panic!("{e}"))
        .workload
}

/// When each graph task's completed attempt started and ended, by task name.
fn spans(ran: &Ran) -> std::collections::HashMap<String, (u64, u64)> {
    let graph = ran.plan.graph.as_ref().expect("a graph");
    ran.run
        .timeline
        .attempts()
        .filter(|a| a.outcome() == Some(Outcome::Completed))
        .filter_map(|a| {
            let l = ran.plan.graph_task(a.run.task)?;
            Some((graph.names[l].clone(), (a.run.t, a.end_ns()?)))
        })
        .collect()
}

#[test]
fn every_policy_runs_each_graph_task_after_its_predecessors_on_real_threads() {
    for info in schedlab_policies::ALL {
        // Oversubscribed on purpose: more workers than this machine's cores.
        let ran = run_text(DIAMOND, info.name, Some(8), true);
        assert_report_invariants(&ran.report);
        assert_eq!(ran.report.tasks.completed, 5, "{}", info.name);
        let at = spans(&ran);
        for (task, before) in [
            ("left_1", "load"),
            ("right_2", "load"),
            ("join", "left_1"),
            ("join", "right_2"),
        ] {
            assert!(
                at[task].0 >= at[before].1,
                "{}: {task} started at {} before {before} ended at {}",
                info.name,
                at[task].0,
                at[before].1
            );
        }
        let groups: Vec<&str> = ran.report.groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(
            groups,
            ["load", "filter", "join", "side"],
            "one line per kind"
        );
    }
}

#[test]
fn a_simulated_graph_takes_its_times_exactly_and_its_critical_path_runs_through_its_tasks() {
    let sim = Sim::default();
    for info in schedlab_policies::ALL {
        let ran = run_loaded_on(&sim, &graph(DIAMOND), info.name, Some(2), true);
        let r = &ran.report;
        assert_eq!(r.critical_path_ns, 8_000_000, "{}: 2 + 5 + 1 ms", info.name);
        assert_eq!(
            r.critical_tasks,
            ["load", "left_1", "join"],
            "{}",
            info.name
        );
        assert_eq!(r.critical_groups, ["load", "filter", "join"]);
        assert_eq!(r.work_ns, 12_000_000);
        assert_eq!(r.time_unit_ns, Some(1_000_000));
        // The path alone is 8 ms; two workers add only the scheduler's own microseconds.
        assert!(
            (8_000_000..8_100_000).contains(&r.makespan_ns),
            "{}: {}",
            info.name,
            r.makespan_ns
        );
    }
}

#[test]
fn a_failed_task_cancels_everything_downstream_of_it_however_long_the_chain() {
    // A chain of 200 000 tasks whose first always fails: every other one is cancelled, one
    // after another, with no recursion (the workers' stacks would not hold 200 000 frames).
    let n = 200_000;
    let mut tasks = vec![workload::GraphTask {
        name: "t0".into(),
        kind: None,
        time: Some(0.0),
        kernel: None,
        after: Vec::new(),
    }];
    for i in 1..n {
        tasks.push(workload::GraphTask {
            name: format!("t{i}"),
            after: vec![format!("t{}", i - 1)],
            ..tasks[0].clone()
        });
    }
    let mut w = graph(DIAMOND);
    w.tasks = tasks;
    w.faults.panic_rate = 1.0;
    for ran in [
        run_loaded(&w, "steal", Some(2), false),
        run_loaded_on(&Sim::default(), &w, "heft", Some(2), false),
    ] {
        let t = ran.report.tasks;
        assert_eq!((t.completed, t.failed, t.cancelled), (0, 1, n as u64 - 1));
    }
}

#[test]
fn graph_tasks_may_wait_for_a_whole_group_and_a_failed_group_cancels_them() {
    let text = r#"(name: "mixed", seed: 3, groups: [
        (name: "warmup", kernel: Spin(us: 200.0), count: 6),
    ], tasks: [
        Task(name: "after_warmup", time: 0.5, after: ["warmup"]),
        Task(name: "then", time: 0.5, after: ["after_warmup"]),
        Task(name: "free", time: 0.5),
    ])"#;
    let ran = run_text(text, "fifo", Some(3), true);
    assert_report_invariants(&ran.report);
    assert_eq!(ran.report.tasks.completed, 9);
    let warmup_end = ran
        .run
        .timeline
        .attempts()
        .filter(|a| ran.plan.locate(a.run.task).0 == 0)
        .filter_map(|a| a.end_ns())
        .max()
        .unwrap();
    assert!(spans(&ran)["after_warmup"].0 >= warmup_end);
    // The same with every warm-up task failing: both graph tasks behind it are cancelled,
    // the free one runs.
    let mut w = graph(text);
    w.faults.panic_rate = 1.0;
    let ran = run_loaded_on(&Sim::default(), &w, "cp", Some(2), false);
    let t = ran.report.tasks;
    // Every attempt panics, the free task's too: 6 + 1 failed, 2 cancelled.
    assert_eq!((t.completed, t.failed, t.cancelled), (0, 7, 2));
}

#[test]
fn ranks_reach_the_policies_from_the_plan() {
    let w = graph(DIAMOND);
    let plan = schedlab::plan::Plan::new(&w, 0);
    let rank = |name: &str| {
        let l = plan.graph_task_named(name).unwrap();
        plan.graph.as_ref().unwrap().rank_us[l]
    };
    assert_eq!(
        rank("load"),
        8000.0,
        "2 ms, then the 5 ms filter, then the join"
    );
    assert_eq!(rank("left_1"), 6000.0);
    assert_eq!(rank("right_2"), 4000.0);
    assert_eq!(rank("join"), 1000.0);
    assert_eq!(rank("side"), 1000.0);
}

/// The STG fixtures (50 tasks each, with their optima on 2 to 16 processors).
const STG: [&str; 3] = [
    "tests/fixtures/graphs/rand0000.stg",
    "tests/fixtures/graphs/rand0001.stg",
    "tests/fixtures/graphs/rand0002.stg",
];

/// `schedlab board` on the STG fixtures with `optimal`, simulated; its exit code and JSON.
fn board(optimal: &str) -> (Option<i32>, serde_json::Value) {
    let output = crate::cli::schedlab()
        .arg("board")
        .args(STG)
        .args([
            "--sim",
            "--workers",
            "2,4,8,16",
            "--optimal",
            optimal,
            "--json",
            "-",
        ])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", crate::cli::stderr_of(&output)));
    (output.status.code(), json)
}

#[test]
fn the_board_holds_heft_and_cp_within_a_few_percent_of_the_optimum_and_never_below() {
    let (code, results) = board("tests/fixtures/graphs/optimal.csv");
    assert_eq!(code, Some(0), "no error of the lab");
    let cases = results["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3 * 4 * schedlab_policies::ALL.len());
    for case in cases {
        assert_eq!(case["reference"], "optimal", "{case}");
        assert_eq!(case["judged"], true, "simulated: every case is judged");
        assert!(
            case["makespan_ns"].as_u64() >= case["optimal_ns"].as_u64(),
            "never below the optimum: {case}"
        );
    }
    for row in results["policies"].as_array().unwrap() {
        let (policy, mean) = (&row["policy"], row["mean_gap"].as_f64().unwrap());
        assert_eq!(row["vs_optimal"], 12, "{policy}");
        if policy == "heft" || policy == "cp" {
            // List scheduling by upward rank: a few percent above the optimum at worst.
            assert!(mean < 0.03, "{policy}: mean gap {mean}");
            assert!(row["worst_gap"].as_f64().unwrap() < 0.10, "{row}");
        }
    }
}

#[test]
fn a_schedule_shorter_than_a_known_optimum_is_an_error_of_the_lab() {
    // An "optimum" no schedule can reach, so every run ends below it: the board must call
    // that a bug and fail, never a win.
    let wrong = crate::cli::TempPath::with_text(
        "optimal.csv",
        "graph,processors,optimal\nrand0000.stg,2,100000\n",
    );
    let (code, results) = board(wrong.0.to_str().unwrap());
    assert_eq!(code, Some(70), "exits as for a bug");
    let errors: Vec<&serde_json::Value> = results["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["errors"].as_array().is_some_and(|e| !e.is_empty()))
        .collect();
    assert_eq!(
        errors.len(),
        schedlab_policies::ALL.len(),
        "rand0000 on 2, every policy"
    );
    assert!(
        errors[0]["errors"][0]
            .as_str()
            .unwrap()
            .contains("below the known optimum")
    );
}
