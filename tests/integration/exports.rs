//! Experiments' outputs from the real binary: repeated comparisons and the per-task CSV.

use std::collections::HashMap;

use serde_json::Value;

use crate::cli::{TempPath, schedlab, stderr_of};

fn read(path: &TempPath) -> String {
    std::fs::read_to_string(&path.0)
        .unwrap_or_else(|e| panic!("{} was not written: {e}", path.0.display()))
}

#[test]
fn repeated_compare_summarises_each_policy_and_judges_the_noise() {
    let json = TempPath::new("repeat.json");
    let output = schedlab()
        .args([
            "compare",
            "--workload",
            "imbalance",
            "--workers",
            "2",
            "--repeat",
            "2",
        ])
        .args(["--policies", "rr,steal", "--json"])
        .arg(&json.0)
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", stderr_of(&output));
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(table.contains("makespan median [min–max]"), "{table}");
    // Either a verdict on the noise, or (the other tests keep this machine busy) the plain
    // statement that the machine was too busy for one.
    assert!(
        table.contains("noise") || table.contains("no verdict, the machine was busy"),
        "the table says whether the difference is real:\n{table}"
    );
    let doc: Value = serde_json::from_str(&read(&json)).expect("JSON");
    assert_eq!(doc["schema"], 1);
    let runs = doc["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 4, "two policies, two runs each");
    // Interleaved: rr, steal, rr, steal.
    let order: Vec<&str> = runs.iter().map(|r| r["policy"].as_str().unwrap()).collect();
    assert_eq!(order, ["rr", "steal", "rr", "steal"]);
    let summary = doc["summary"].as_array().expect("summary");
    assert_eq!(summary.len(), 2);
    for s in summary {
        assert_eq!(s["runs"], 2);
        let m = &s["makespan_ns"];
        let (min, median, max) = (
            m["min"].as_f64().unwrap(),
            m["median"].as_f64().unwrap(),
            m["max"].as_f64().unwrap(),
        );
        assert!(min <= median && median <= max, "{m}");
    }
    let refused = schedlab()
        .args(["compare", "--workload", "imbalance", "--repeat", "0"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2), "--repeat 0 is bad usage");
}

#[test]
fn csv_has_a_row_per_attempt_with_consistent_times() {
    let csv = TempPath::new("tasks.csv");
    let json = TempPath::new("tasks.json");
    let output = schedlab()
        .args([
            "--workload",
            "faults",
            "--workers",
            "2",
            "--headless",
            "--csv",
        ])
        .arg(&csv.0)
        .arg("--json")
        .arg(&json.0)
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", stderr_of(&output));
    let text = read(&csv);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(schedlab::export::CSV_HEADER));
    let report: Value = serde_json::from_str(&read(&json)).expect("JSON");
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let attempts: u64 = report["workers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["tasks"].as_u64().unwrap())
        .sum();
    assert_eq!(rows.len() as u64, attempts, "one row per attempt");
    let count = |outcome: &str| rows.iter().filter(|r| r[8] == outcome).count() as u64;
    assert_eq!(
        count("completed"),
        report["tasks"]["completed"].as_u64().unwrap()
    );
    assert_eq!(count("failed"), report["tasks"]["failed"].as_u64().unwrap());
    assert_eq!(
        count("retried"),
        report["tasks"]["retried"].as_u64().unwrap()
    );
    let mut ends: HashMap<(&str, &str), u64> = HashMap::new();
    for r in &rows {
        let (ready, start, end): (u64, u64, u64) = (
            r[4].parse().unwrap(),
            r[5].parse().unwrap(),
            r[6].parse().unwrap(),
        );
        assert!(ready <= start && start <= end, "{r:?}");
        ends.insert((r[1], r[7]), end);
    }
    // A retry becomes ready when the attempt before it ended.
    for r in rows.iter().filter(|r| r[7] != "1") {
        let previous = (r[7].parse::<u32>().unwrap() - 1).to_string();
        let before = ends[&(r[1], previous.as_str())];
        assert_eq!(r[4].parse::<u64>().unwrap(), before, "{r:?}");
    }
}

#[test]
fn the_tour_measures_its_lessons() {
    let output = schedlab()
        .args(["tour", "--lesson", "3", "--no-pin"])
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", stderr_of(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    let heading = format!(
        "Lesson 3 of {}: Scheduling and load balancing",
        schedlab::tour::LESSONS.len()
    );
    assert!(text.starts_with(&heading), "{text}");
    // The conclusion is measured: it quotes both makespans and rr's idle core.
    assert!(
        text.contains("against") && text.contains("rr left core"),
        "{text}"
    );
    let refused = schedlab()
        .args(["tour", "--lesson", "9"])
        .output()
        .expect("runs");
    assert_eq!(refused.status.code(), Some(2));
    let range = format!("lessons 1 to {}", schedlab::tour::LESSONS.len());
    assert!(stderr_of(&refused).contains(&range));
}

#[test]
fn a_capped_trace_stays_under_its_size_and_says_where_it_was_cut() {
    let workload = TempPath::with_text(
        "many.ron",
        // Tasks long enough that the cut (about 4000 tasks in) comes tens of milliseconds into
        // the run, when every worker has long been going, however loaded the machine.
        r#"(name: "many", groups: [(name: "t", kernel: Spin(us: 20.0), count: 6000)])"#,
    );
    let trace = TempPath::new("capped.trace");
    let output = schedlab()
        .arg("--workload")
        .arg(&workload.0)
        .args([
            "--headless",
            "--workers",
            "3",
            "--no-pin",
            "--trace-max",
            "1MB",
            "--trace",
        ])
        .arg(&trace.0)
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(
        stderr_of(&output).contains("trace cut at"),
        "{}",
        stderr_of(&output)
    );
    let text = read(&trace);
    assert!(text.len() <= 1_000_000, "{} bytes", text.len());
    assert!(
        text.len() > 500_000,
        "the cap is used, not wasted: {} bytes",
        text.len()
    );
    let doc: Value = serde_json::from_str(&text).expect("a cut trace is still JSON");
    let events = doc["traceEvents"].as_array().expect("events");
    let cut = events
        .iter()
        .find(|e| {
            e["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("trace cut here"))
        })
        .expect("a mark where the trace was cut");
    let cut_ts = cut["ts"].as_f64().expect("ts");
    let mut tracks = std::collections::BTreeSet::new();
    for e in events.iter().filter(|e| e["ph"] == "X") {
        let end = e["ts"].as_f64().unwrap() + e["dur"].as_f64().unwrap();
        assert!(end <= cut_ts + 1e-9, "{e} ends after the cut at {cut_ts}");
        tracks.insert(e["tid"].as_u64().unwrap());
    }
    let names = events
        .iter()
        .filter(|e| e["name"] == "thread_name")
        .filter(|e| {
            e["args"]["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("core "))
        })
        .count();
    assert_eq!(names, 3, "every core keeps its track");
    // (A third thread on this 2-core machine may not have been scheduled before the cut.)
    assert!(
        tracks.len() >= 2,
        "cores' spans are kept up to the cut: {tracks:?}"
    );
    let refused = schedlab()
        .args([
            "--workload",
            "imbalance",
            "--headless",
            "--trace-max",
            "lots",
            "--trace",
            "x",
        ])
        .output()
        .expect("runs");
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr_of(&refused).contains("is not a size like 50MB"),
        "{}",
        stderr_of(&refused)
    );
}

#[test]
fn traces_flag_the_critical_path_and_mark_its_bound() {
    let trace = TempPath::new("critical.trace");
    let json = TempPath::new("critical.json");
    let output = schedlab()
        .args([
            "--workload",
            "dependencies",
            "--headless",
            "--no-pin",
            "--trace",
        ])
        .arg(&trace.0)
        .arg("--json")
        .arg(&json.0)
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", stderr_of(&output));
    let report: Value = serde_json::from_str(&read(&json)).expect("JSON");
    let chain: Vec<&str> = report["critical_groups"]
        .as_array()
        .expect("critical groups")
        .iter()
        .map(|g| g.as_str().unwrap())
        .collect();
    assert!(chain.len() > 1, "dependencies has a chain: {chain:?}");
    let doc: Value = serde_json::from_str(&read(&trace)).expect("JSON");
    let events = doc["traceEvents"].as_array().expect("events");
    let flagged: Vec<&Value> = events
        .iter()
        .filter(|e| e["args"]["critical_path"] == true)
        .collect();
    let groups: Vec<&str> = flagged
        .iter()
        .map(|e| e["args"]["group"].as_str().unwrap())
        .collect();
    let mut expected = chain.clone();
    expected.sort();
    let mut got = groups.clone();
    got.sort();
    assert_eq!(got, expected, "one flagged attempt per group of the chain");
    // Each flagged attempt is its group's longest.
    for f in &flagged {
        let longest = events
            .iter()
            .filter(|e| e["cat"] == "task" && e["args"]["group"] == f["args"]["group"])
            .map(|e| e["dur"].as_f64().unwrap())
            .fold(0.0, f64::max);
        assert_eq!(f["dur"].as_f64().unwrap(), longest, "{f}");
    }
    let bound = events
        .iter()
        .find(|e| {
            e["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("critical path bound"))
        })
        .expect("the bound is marked");
    // The critical path's own track repeats the chain's attempts, one after another.
    let copies: Vec<&Value> = events
        .iter()
        .filter(|e| e["cat"] == "critical" && e["ph"] == "X")
        .collect();
    assert_eq!(copies.len(), chain.len());
    assert!(copies.iter().all(|c| c["tid"] == bound["tid"]), "one track");
    let span_us = report["critical_path_ns"].as_f64().unwrap() / 1000.0;
    assert!(
        (bound["ts"].as_f64().unwrap() - span_us).abs() < 0.01,
        "{bound}"
    );
}

/// The `<text>` contents of an SVG file, which must be well-formed XML.
fn svg_texts(path: &TempPath) -> Vec<String> {
    let text = read(path);
    let doc = roxmltree::Document::parse(&text).expect("the picture is XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").trim().to_string())
        .collect()
}

#[test]
fn pictures_of_a_run_a_recording_and_a_sweep() {
    let [svg, rec, again] = ["run.svg", "run.rec", "again.svg"].map(TempPath::new);
    let output = schedlab()
        .args(["--workload", "imbalance", "--headless", "--no-pin", "--svg"])
        .arg(&svg.0)
        .arg("--record")
        .arg(&rec.0)
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", stderr_of(&output));
    let texts = svg_texts(&svg);
    for label in ["core 0", "core 1", "big", "small", "critical path"] {
        assert_eq!(
            texts.iter().filter(|t| *t == label).count(),
            1,
            "{label}: {texts:?}"
        );
    }
    let output = schedlab()
        .arg("replay")
        .arg(&rec.0)
        .args(["--headless", "--svg"])
        .arg(&again.0)
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(
        read(&svg),
        read(&again),
        "the recording draws the same picture"
    );

    let chart = TempPath::new("sweep.svg");
    let output = schedlab()
        .args([
            "sweep",
            "--headless",
            "--total-ms",
            "4",
            "--sizes",
            "10us..1ms",
        ])
        .args([
            "--policies",
            "fifo,steal",
            "--workers",
            "2",
            "--no-pin",
            "--svg",
        ])
        .arg(&chart.0)
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", stderr_of(&output));
    let texts = svg_texts(&chart);
    for label in ["fifo", "steal", "efficiency (%)", "task size (log scale)"] {
        assert!(texts.iter().any(|t| t == label), "{label}: {texts:?}");
    }
}
