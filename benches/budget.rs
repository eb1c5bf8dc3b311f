//! The overhead budget, checked against rayon in one run: prints a Markdown table of medians
//! and ratios, memory per recorded task, peak memory of a 10M-task run, and the TUI thread's
//! share of a core during a live run. BENCHMARKS.md quotes its output.
//!
//! `cargo bench --bench budget` (about a minute on 2 cores). `SCHEDLAB_BUDGET_RUNS=N` sets the
//! runs per measurement (default 9, interleaved so a slow moment of the machine hits all).

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use common::*;
use schedlab::exec::{self, RunOptions};
use schedlab::report::Report;
use schedlab::tui::app::App;
use schedlab::tui::thread_cpu_time as thread_cpu;

fn runs() -> usize {
    std::env::var("SCHEDLAB_BUDGET_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(9)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time(f: impl FnOnce()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

/// Times each of `cases` `runs()` times, interleaved; returns their medians in order.
fn medians(cases: &mut [&mut dyn FnMut()]) -> Vec<Duration> {
    let mut times = vec![Vec::new(); cases.len()];
    for _ in 0..runs() {
        for (case, t) in cases.iter_mut().zip(&mut times) {
            // Each case starts on a quiet machine: rayon's workers spin for a while after a
            // job before they sleep, and on 2 cores that would slow whichever case comes next.
            std::thread::sleep(Duration::from_millis(20));
            t.push(time(case));
        }
    }
    times.into_iter().map(median).collect()
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

/// Peak resident memory of this process, from the kernel.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

const CHILD: &str = "SCHEDLAB_BUDGET_CHILD";

/// In a child process of its own, so its peak memory is its own: 10M empty tasks, recorded.
fn ten_million_child() {
    let b = empty_tasks(10_000_000, workers());
    let run = run(&b, "steal", true);
    let events = run.timeline.len();
    println!(
        "{} {} {}",
        events,
        run.timeline
            .workers
            .iter()
            .map(|w| w.capacity())
            .sum::<usize>(),
        peak_rss_bytes().unwrap_or(0)
    );
}

/// In a child process of its own: one whole `Fib(30, cutoff 0)` as a program would run it,
/// `steal` with the timeline recorded, or rayon with a pool made for it.
fn fib_child(which: &str) {
    let workers = workers();
    if which == "rayon" {
        let pool = rayon_pool(workers);
        black_box(pool.install(|| rayon_fib(black_box(30))));
    } else {
        drop(black_box(run(&fib_tree(30, workers), "steal", true)));
    }
}

/// Times whole processes, each running one case: start, threads, the run, the exit.
fn process_medians(cases: &[&str]) -> Vec<Duration> {
    let me = std::env::current_exe().expect("this binary");
    let me = &me;
    let mut cmds: Vec<_> = cases
        .iter()
        .map(|case| {
            move || {
                let status = std::process::Command::new(me)
                    .env(CHILD, case)
                    .status()
                    .expect("the child runs");
                assert!(status.success(), "the {case} child failed");
            }
        })
        .collect();
    let mut refs: Vec<&mut dyn FnMut()> = cmds.iter_mut().map(|c| c as &mut dyn FnMut()).collect();
    medians(&mut refs)
}

fn main() {
    match std::env::var(CHILD).as_deref() {
        Ok("fib-steal" | "fib-rayon") => {
            let which = std::env::var(CHILD).unwrap_or_default();
            fib_child(which.trim_start_matches("fib-"));
            return;
        }
        Ok(_) => {
            ten_million_child();
            return;
        }
        Err(_) => {}
    }
    // `cargo bench` passes `--bench`; nothing else is expected.
    let workers = workers();
    println!(
        "schedlab overhead budget: {workers} workers, {} runs per case, medians\n",
        runs()
    );
    println!("| case | schedlab | rayon | ratio | target |");
    println!("|---|---|---|---|---|");

    let pool = rayon_pool(workers);
    let empty = empty_tasks(1_000_000, workers);
    let [mut steal, mut fifo, mut rayon] = [Duration::ZERO; 3];
    {
        let m = medians(&mut [
            &mut || drop(black_box(run(&empty, "steal", true))),
            &mut || drop(black_box(run(&empty, "fifo", true))),
            &mut || rayon_empty(&pool, black_box(1_000_000)),
        ]);
        if let [a, b, c] = m[..] {
            (steal, fifo, rayon) = (a, b, c);
        }
    }
    println!(
        "| 1M empty tasks, steal, recorded vs rayon scope.spawn | {} | {} | {:.2}× | ≤ 1.0× |",
        ms(steal),
        ms(rayon),
        ratio(steal, rayon)
    );
    println!(
        "| 1M empty tasks, fifo vs steal (both recorded) | {} | {} (steal) | {:.2}× | ≤ 3× |",
        ms(fifo),
        ms(steal),
        ratio(fifo, steal)
    );

    let fib = fib_tree(30, workers);
    let m = medians(&mut [
        &mut || drop(black_box(run(&fib, "steal", true))),
        &mut || drop(black_box(run(&fib, "steal", false))),
        &mut || {
            black_box(pool.install(|| rayon_fib(black_box(30))));
        },
    ]);
    println!(
        "| Fib(30, cutoff 0), steal, recorded vs rayon::join | {} | {} | {:.2}× | ≤ 4× |",
        ms(m[0]),
        ms(m[2]),
        ratio(m[0], m[2])
    );
    println!(
        "| Fib(30, cutoff 0), steal, not recorded vs rayon::join | {} | {} | {:.2}× | |",
        ms(m[1]),
        ms(m[2]),
        ratio(m[1], m[2])
    );
    let p = process_medians(&["fib-steal", "fib-rayon"]);
    println!(
        "| Fib(30, cutoff 0), whole processes: steal recorded vs rayon::join, each pool new | {} | {} | {:.2}× | ≤ 4× |",
        ms(p[0]),
        ms(p[1]),
        ratio(p[0], p[1])
    );

    let tasks = bench(
        r#"(name: "10us", groups: [(name: "t", kernel: Spin(us: 10.0), count: 20000)])"#,
        workers,
    );
    let m = medians(&mut [
        &mut || drop(black_box(run(&tasks, "steal", true))),
        &mut || drop(black_box(run(&tasks, "steal", false))),
    ]);
    println!(
        "| 20k tasks of 10 µs, steal, recorded vs not | {} | {} (not recorded) | {:+.1} % | ≤ +5 % |",
        ms(m[0]),
        ms(m[1]),
        (ratio(m[0], m[1]) - 1.0) * 100.0
    );

    println!("\n| workload | fifo | rr | steal | hetero |");
    println!("|---|---|---|---|---|");
    for name in ["imbalance", "big-little"] {
        let b = shipped(name);
        let cells: Vec<String> = ["fifo", "rr", "steal", "hetero"]
            .iter()
            .map(|policy| {
                let mut eff: Vec<f64> = (0..runs())
                    .map(|_| {
                        let r = run(&b, policy, false);
                        Report::new(name, "", &b.plan, &b.machine, &r).efficiency
                    })
                    .collect();
                eff.sort_by(f64::total_cmp);
                format!("{:.1} %", eff[eff.len() / 2] * 100.0)
            })
            .collect();
        println!(
            "| {name} (efficiency: lower bound / makespan) | {} |",
            cells.join(" | ")
        );
    }

    println!("\n| memory | measured | target |");
    println!("|---|---|---|");
    for (what, b) in [
        ("1M empty tasks", &empty),
        ("Fib(30) tree", &fib),
        ("20k tasks of 10 µs", &tasks),
    ] {
        let r = run(b, "steal", true);
        let per_task = r.timeline.len() as f64 * 16.0 / b.plan.total as f64;
        println!("| timeline per task, {what} | {per_task:.1} B | ≤ 32 B |");
    }
    let child = std::process::Command::new(std::env::current_exe().expect("this binary"))
        .env(CHILD, "1")
        .output()
        .expect("the child runs");
    let text = String::from_utf8_lossy(&child.stdout);
    let fields: Vec<u64> = text
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    if let [events, capacity, peak] = fields[..] {
        println!(
            "| 10M empty tasks, recorded: timeline ({events} events, {:.1} B per task) | {:.0} MiB | |",
            capacity as f64 * 16.0 / 1e7,
            capacity as f64 * 16.0 / 1048576.0
        );
        println!(
            "| 10M empty tasks, recorded: peak resident memory of the process | {:.0} MiB | < 1024 MiB |",
            peak as f64 / 1048576.0
        );
    } else {
        println!(
            "| 10M empty tasks | the child failed: {} | |",
            String::from_utf8_lossy(&child.stderr)
        );
    }

    let (frame, ui) = tui_budget();
    println!("\n| TUI | measured | target |");
    println!("|---|---|---|");
    println!(
        "| frame during the run, 16 cores at 200×60, median CPU time | {:.0} µs | ≤ 1 ms |",
        frame.as_secs_f64() * 1e6
    );
    println!(
        "| UI thread during a live 16-worker run, 30 frames/s | {ui:.1} % of a core | ≤ 5 % |"
    );
}

/// A frame's median CPU time, and the UI thread's CPU share while a 16-worker run streams its
/// events to it: the TUI's main loop without a terminal (chunks in, a frame every 33 ms,
/// diagnostics every 500 ms), drawing into an in-memory 200×60 screen.
fn tui_budget() -> (Duration, f64) {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    let b = bench(
        r#"(name: "live", groups: [
            (name: "small", kernel: Spin(us: 5.0), count: 200000),
            (name: "sort", kernel: Sort(len: 2000), count: 4000),
            (name: "io", kernel: Sleep(us: 200.0), count: 4000),
        ])"#,
        16,
    );
    let mut app = App::new("live", "", b.plan, b.machine, "steal");
    let policy = app.next_run().expect("a run");
    let (tx, rx) = crossbeam::channel::unbounded();
    let (done_tx, done_rx) = crossbeam::channel::bounded(1);
    let plan = app.plan.clone();
    let machine = app.machine.clone();
    let runner = std::thread::spawn(move || {
        let options = RunOptions {
            record: true,
            events: Some(tx),
            ..RunOptions::default()
        };
        let result = exec::run(&plan, &machine, policy, &options, &mut |_| {}).expect("known");
        let _ = done_tx.send(result);
    });
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).expect("a test terminal");
    let started = Instant::now();
    let cpu0 = thread_cpu().unwrap_or_default();
    let mut frames = Vec::new();
    let mut next_diagnosis = Instant::now();
    let result = loop {
        let deadline = Instant::now() + Duration::from_millis(33);
        while let Ok(chunk) = rx.recv_deadline(deadline) {
            app.add_chunk(&chunk);
        }
        if let Ok(result) = done_rx.try_recv() {
            break result;
        }
        if Instant::now() >= next_diagnosis {
            app.refresh_diagnostics();
            next_diagnosis = Instant::now() + Duration::from_millis(500);
        }
        // The frame's own CPU time: with 16 workers on fewer cores, its wall time would
        // include waiting for a core.
        let before = thread_cpu().unwrap_or_default();
        terminal
            .draw(|f| {
                app.timeline_width = app.timeline_cells(f.area().width);
                f.render_widget(&app, f.area());
            })
            .expect("draws");
        frames.push(thread_cpu().unwrap_or_default().saturating_sub(before));
    };
    let cpu = thread_cpu().unwrap_or_default().saturating_sub(cpu0);
    let wall = started.elapsed();
    runner.join().expect("the run thread");
    for chunk in rx.try_iter() {
        app.add_chunk(&chunk);
    }
    app.finished(&result);
    (
        median(frames),
        cpu.as_secs_f64() * 100.0 / wall.as_secs_f64(),
    )
}
