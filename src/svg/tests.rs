use super::*;
use crate::exec::{self, RunOptions};
use crate::workload::{Overrides, parse};

/// Runs RON `text` on `workers` workers, recorded; returns its plan, report and timeline.
fn recorded(text: &str, workers: usize) -> (Plan, Report, Timeline) {
    let w = parse(text, "t.ron").expect("parses").workload;
    let machine = w
        .resolve_machine(&Overrides {
            workers: Some(workers),
            ..Overrides::default()
        })
        .expect("resolves");
    let plan = Plan::new(&w, w.seed);
    let options = RunOptions {
        record: true,
        ..RunOptions::default()
    };
    let run = exec::run(&plan, &machine, "steal", &options, &mut |_| {}).expect("known policy");
    let report = Report::new(&w.name, "", &plan, &machine, &run);
    (plan, report, run.timeline)
}

fn timeline_svg(plan: &Plan, report: &Report, timeline: &Timeline, bound: bool) -> String {
    let critical = crate::report::critical_attempts(plan, report, timeline);
    let mut out = Vec::new();
    write_timeline(
        &mut out,
        plan,
        report,
        timeline,
        &critical,
        bound.then_some(report.critical_path_ns),
    )
    .expect("draws");
    String::from_utf8(out).expect("UTF-8")
}

/// Every text of the picture, parsed as XML.
fn texts(svg: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(svg).expect("the SVG is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").trim().to_string())
        .collect()
}

const MIXED: &str = r#"(name: "pic", groups: [
    (name: "big", kernel: Spin(us: 3000.0), count: 2),
    (name: "small", kernel: Spin(us: 50.0), count: 100),
    (name: "io", kernel: Sleep(us: 300.0), count: 6, after: ["big"]),
])"#;

#[test]
fn a_timeline_has_one_labelled_row_per_core_and_a_legend() {
    for workers in [3, 16] {
        let (plan, report, timeline) = recorded(MIXED, workers);
        let svg = timeline_svg(&plan, &report, &timeline, true);
        let texts = texts(&svg);
        for w in 0..workers {
            let label = format!("core {w}");
            assert_eq!(
                texts.iter().filter(|t| **t == label).count(),
                1,
                "one row labelled {label} among {texts:?}"
            );
        }
        assert!(
            !texts.iter().any(|t| *t == format!("core {workers}")),
            "no extra row"
        );
        for word in [
            "big",
            "small",
            "io",
            "scheduler",
            "idle",
            "critical path",
            "time (ms)",
        ] {
            assert!(texts.iter().any(|t| t == word), "{word} in {texts:?}");
        }
        assert!(
            texts.iter().any(|t| t.starts_with("critical-path bound ")),
            "the bound is labelled: {texts:?}"
        );
        assert!(texts[0].starts_with("pic under steal"), "{texts:?}");
    }
}

#[test]
fn the_critical_path_is_outlined_and_its_bound_only_drawn_when_asked() {
    let (plan, report, timeline) = recorded(MIXED, 3);
    assert_eq!(report.critical_groups, ["big", "io"]);
    let with = timeline_svg(&plan, &report, &timeline, true);
    let without = timeline_svg(&plan, &report, &timeline, false);
    assert!(
        !texts(&without)
            .iter()
            .any(|t| t.starts_with("critical-path bound"))
    );
    // Two outlined attempts (one per group of the chain): closed thick black paths.
    let doc = roxmltree::Document::parse(&with).expect("XML");
    let outlines = doc
        .descendants()
        .filter(|n| {
            n.has_tag_name("polyline")
                && n.attribute("stroke") == Some("#000000")
                && n.attribute("stroke-width") == Some("3")
        })
        .count();
    // The legend's sample is one more.
    assert_eq!(outlines, 3, "{with}");
}

#[test]
fn a_picture_stays_small_however_many_tasks_ran() {
    let (plan, report, timeline) = recorded(
        r#"(name: "many", groups: [(name: "t", kernel: Spin(us: 0), count: 200000)])"#,
        2,
    );
    let svg = timeline_svg(&plan, &report, &timeline, true);
    texts(&svg);
    assert!(svg.len() < 400_000, "{} bytes for 200 000 tasks", svg.len());
}

fn point(policy: &str, size_ns: u64, workers: usize, efficiency: f64) -> Point {
    Point {
        policy: policy.into(),
        size_ns,
        workers,
        tasks: 10,
        makespan_ns: 1_000_000,
        speedup: efficiency * workers as f64,
        efficiency,
        overhead_share: 1.0 - efficiency,
        idle_share: 0.0,
        bound_speedup: 0.0,
    }
}

#[test]
fn sweep_charts_have_a_line_per_policy_on_log_axes() {
    let points: Vec<Point> = [500, 5_000, 50_000, 500_000, 5_000_000]
        .iter()
        .flat_map(|&s| [point("fifo", s, 2, 0.8), point("steal", s, 2, 0.9)])
        .collect();
    let mut out = Vec::new();
    write_sweep(&mut out, &points, false).expect("draws");
    let texts = texts(&String::from_utf8(out).unwrap());
    // Two panels, each with the policies' legend and a log size axis.
    for (word, count) in [
        ("fifo", 2),
        ("steal", 2),
        ("task size (log scale)", 2),
        ("efficiency (%)", 1),
        ("scheduler share (%)", 1),
    ] {
        assert_eq!(
            texts.iter().filter(|t| *t == word).count(),
            count,
            "{word}: {texts:?}"
        );
    }
    // Decade labels in time units, on a log axis.
    for label in ["1.0 µs", "10.0 µs", "100.0 µs", "1.00 ms"] {
        assert!(texts.iter().any(|t| t == label), "{label} in {texts:?}");
    }

    let scaling: Vec<Point> = [1, 2, 4, 8]
        .iter()
        .map(|&n| point("steal", 100_000, n, 0.9))
        .collect();
    let mut out = Vec::new();
    write_sweep(&mut out, &scaling, true).expect("draws");
    let texts = super::tests::texts(&String::from_utf8(out).unwrap());
    for word in ["ideal", "steal", "workers (log scale)", "speedup", "8"] {
        assert!(texts.iter().any(|t| t == word), "{word} in {texts:?}");
    }
}

#[test]
fn a_timeline_that_changes_at_every_pixel_gets_coarser_not_bigger() {
    use crate::record::Event;
    let (plan, mut report, _) = recorded(MIXED, 64);
    // 64 cores switching between a task and the scheduler ten times per pixel.
    report.makespan_ns = 16_000_000;
    let events: Vec<Event> = (0..16_000u64)
        .map(|i| Event {
            t: i * 1_000,
            task: 0,
            kind: if i % 2 == 0 { Kind::Run } else { Kind::Take },
            attempt: 1,
            aux: if i % 2 == 0 {
                0
            } else {
                Outcome::Completed as u16
            },
        })
        .collect();
    let timeline = Timeline {
        workers: vec![events; 64],
    };
    let svg = timeline_svg(&plan, &report, &timeline, false);
    let texts = texts(&svg);
    assert!(
        texts.iter().any(|t| t == "core 63"),
        "every row is still there"
    );
    assert!(svg.len() < 600_000, "{} bytes", svg.len());
}

/// The `<rect>`s filled with `colour` in the top row that has any (the legend lies below the
/// plot), left to right, as `(x, right edge)` in px.
fn top_row_bars(svg: &str, colour: &str) -> Vec<(i64, i64)> {
    let doc = roxmltree::Document::parse(svg).expect("XML");
    let px = |n: &roxmltree::Node, name| {
        n.attribute(name)
            .and_then(|v| v.parse::<i64>().ok())
            .expect("whole pixels")
    };
    let rects: Vec<(i64, i64, i64)> = doc
        .descendants()
        .filter(|n| n.has_tag_name("rect") && n.attribute("fill") == Some(colour))
        .map(|n| (px(&n, "y"), px(&n, "x"), px(&n, "x") + px(&n, "width")))
        .collect();
    let top = rects.iter().map(|r| r.0).min().expect("some bars");
    let mut bars: Vec<(i64, i64)> = rects
        .into_iter()
        .filter(|r| r.0 == top)
        .map(|(_, x, right)| (x, right))
        .collect();
    bars.sort_unstable();
    bars
}

#[test]
fn each_attempt_of_a_group_on_a_core_is_a_bar_of_its_own() {
    // Ten tasks of one group, one after another on one core: ten bars, not one.
    let (plan, report, timeline) = recorded(
        r#"(name: "ten", groups: [(name: "t", kernel: Spin(us: 2000.0), count: 10)])"#,
        1,
    );
    let svg = timeline_svg(&plan, &report, &timeline, false);
    let bars = top_row_bars(&svg, "#4E79A7");
    assert_eq!(bars.len(), 10, "one bar per task: {bars:?}");
    for pair in bars.windows(2) {
        assert!(
            pair[0].1 < pair[1].0,
            "white between consecutive bars: {pair:?}"
        );
    }
}

/// The x axis's labels of a sweep's picture, left to right, as `(x px, text)`: the numbers on
/// the lowest row of numbers.
fn x_labels(svg: &str) -> Vec<(i64, String)> {
    let doc = roxmltree::Document::parse(svg).expect("XML");
    let numbers: Vec<(i64, i64, String)> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| {
            let text = n.text()?.trim().to_string();
            text.parse::<f64>().ok()?;
            let at = |name| n.attribute(name)?.parse::<i64>().ok();
            Some((at("y")?, at("x")?, text))
        })
        .collect();
    let row = numbers
        .iter()
        .map(|n| n.0)
        .max()
        .expect("numbers on the axes");
    let mut labels: Vec<(i64, String)> = numbers
        .into_iter()
        .filter(|n| n.0 == row)
        .map(|(_, x, text)| (x, text))
        .collect();
    labels.sort_unstable();
    labels
}

fn sweep_svg(points: &[Point], scaling: bool) -> String {
    let mut out = Vec::new();
    write_sweep(&mut out, points, scaling).expect("draws");
    String::from_utf8(out).expect("UTF-8")
}

#[test]
fn a_scaling_chart_labels_each_worker_count_once_at_its_log_position() {
    // From one worker to two: a short axis, where plotters' own key points fall between.
    let two: Vec<Point> = [1, 2]
        .iter()
        .map(|&n| point("steal", 100_000, n, 0.9))
        .collect();
    let labels = x_labels(&sweep_svg(&two, true));
    let texts: Vec<&str> = labels.iter().map(|l| l.1.as_str()).collect();
    assert_eq!(texts, ["1", "2"], "{labels:?}");

    let four: Vec<Point> = [1, 2, 4, 6]
        .iter()
        .map(|&n| point("steal", 100_000, n, 0.9))
        .collect();
    let labels = x_labels(&sweep_svg(&four, true));
    let texts: Vec<&str> = labels.iter().map(|l| l.1.as_str()).collect();
    assert_eq!(texts, ["1", "2", "4", "6"], "{labels:?}");
    // On a log axis each doubling is the same distance, and 4 → 6 is log₂ 1.5 of one.
    let x: Vec<f64> = labels.iter().map(|l| l.0 as f64).collect();
    let octave = x[1] - x[0];
    assert!((x[2] - x[1] - octave).abs() <= 1.0, "{labels:?}");
    assert!(
        (x[3] - x[2] - octave * 1.5f64.log2()).abs() <= 1.0,
        "{labels:?}"
    );
}

#[test]
fn each_policy_of_a_sweep_has_its_own_marker_in_the_points_and_the_legend() {
    let policies = ["fifo", "rr", "steal", "hetero"];
    let points: Vec<Point> = [1, 2, 4]
        .iter()
        .flat_map(|&n| policies.map(|p| point(p, 100_000, n, 0.9)))
        .collect();
    let svg = sweep_svg(&points, true);
    let doc = roxmltree::Document::parse(&svg).expect("XML");
    // Each marker's outline, moved to start at (0, 0) so that equal shapes compare equal.
    let shapes = |colour: String| -> Vec<Vec<(i64, i64)>> {
        doc.descendants()
            .filter(|n| n.has_tag_name("polygon") && n.attribute("fill") == Some(&colour))
            .map(|n| {
                let corners: Vec<(i64, i64)> = n
                    .attribute("points")
                    .expect("points")
                    .split_whitespace()
                    .map(|xy| {
                        let (x, y) = xy.split_once(',').expect("x,y");
                        (x.parse().expect("x"), y.parse().expect("y"))
                    })
                    .collect();
                let (x0, y0) = corners[0];
                corners.iter().map(|(x, y)| (x - x0, y - y0)).collect()
            })
            .collect()
    };
    let mut seen: Vec<Vec<(i64, i64)>> = Vec::new();
    for (i, policy) in policies.iter().enumerate() {
        let c = policy_colour(i);
        let mine = shapes(format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2));
        assert_eq!(
            mine.len(),
            3 + 1,
            "three points and the legend's sample: {mine:?}"
        );
        assert!(
            mine.iter().all(|s| *s == mine[0]),
            "one shape per policy: {mine:?}"
        );
        assert!(!seen.contains(&mine[0]), "{policy} has a shape of its own");
        seen.push(mine[0].clone());
    }
}

#[test]
fn a_scaling_chart_draws_the_bound_when_the_points_carry_it() {
    let mut points: Vec<Point> = [1, 2, 4]
        .iter()
        .map(|&n| point("steal", 100_000, n, 0.9))
        .collect();
    assert!(!sweep_svg(&points, true).contains("critical path"));
    for p in &mut points {
        p.bound_speedup = (p.workers as f64).min(3.0);
    }
    assert!(
        sweep_svg(&points, true).contains("bound (work / workers, or the critical path)"),
        "the legend names the bound line"
    );
}
