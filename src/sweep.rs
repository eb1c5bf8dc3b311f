//! `schedlab sweep`: the same amount of real work cut into tasks of many sizes (granularity),
//! or run on more and more workers (scaling), under each policy.
//!
//! The granularity sweep shows the classic curve: efficiency falls for tiny tasks, where the
//! scheduler's cost per task is a large share of each task, and again for huge ones, where
//! there are too few tasks to keep every core busy; the best size lies between.
//!
//! [`run`] checks a whole sweep before running any of it ([`check`]): every point must stay
//! within the task limit, and a sweep whose estimated time is plainly absurd is refused with
//! the estimate, rather than discovered by waiting.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{Result, bail};
use serde::Serialize;

use crate::exec::RunOptions;
use crate::fmt::fmt_duration;
use crate::kernels::Kernel;
use crate::report::{Report, fmt_ns};
use crate::session::{Engine, Session};
use crate::workload::{MAX_TASKS, Overrides, Workload};

/// One measured point of a sweep.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Point {
    /// Canonical policy name.
    pub policy: String,
    /// Task size, ns of `Spin` at speed 1.0.
    pub size_ns: u64,
    /// Worker threads.
    pub workers: usize,
    /// Tasks the work was cut into.
    pub tasks: u64,
    /// Measured makespan.
    pub makespan_ns: u64,
    /// One worker's makespan for the same tasks over this one's (see [`Axis`] for which one).
    pub speedup: f64,
    /// Granularity: the share of the workers' time spent inside tasks, Σ work / (workers ×
    /// makespan). Scaling: speedup / workers.
    pub efficiency: f64,
    /// Scheduler time over task time, summed over workers.
    pub overhead_share: f64,
    /// Idle time over all workers' time: what too few tasks leave unused.
    pub idle_share: f64,
    /// The most speedup any schedule could reach here: one worker's makespan over this
    /// run's lower bound (its work spread over the workers, or its critical path, Amdahl's
    /// serial part): the curve a policy is held against, beside the ideal (the workers).
    #[serde(default)]
    pub bound_speedup: f64,
}

/// How a sweep's points run.
pub struct Setup<'a> {
    /// The seed of every point.
    pub seed: u64,
    /// Pin real workers to cores.
    pub pin: bool,
    /// The engine: the real threads, or the simulator.
    pub engine: &'a dyn Engine,
    /// A workload to scale instead of the sweep's own spins (scaling sweeps only).
    pub workload: Option<&'a Workload>,
}

/// Parses a duration such as `500ns`, `1us`, `2.5ms` or `1s` into nanoseconds.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| c.is_ascii_alphabetic() || c == 'µ')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 10us or 2.5ms"))?;
    let scale = match unit {
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        _ => return Err(format!("`{text}`: the unit must be ns, us, ms or s")),
    };
    let ns = value * scale;
    if !(1.0..=3.6e12).contains(&ns) {
        return Err(format!("`{text}` must be between 1 ns and an hour"));
    }
    Ok(ns.round() as u64)
}

/// Parses a range `A..B` of anything `parse` reads.
pub fn parse_range<T: PartialOrd + Copy>(
    text: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<(T, T), String> {
    let (a, b) = text
        .split_once("..")
        .ok_or_else(|| format!("`{text}` is not a range like A..B"))?;
    let (a, b) = (parse(a)?, parse(b)?);
    if a > b {
        return Err(format!("`{text}`: the range must go from small to large"));
    }
    Ok((a, b))
}

/// Task sizes from `from` to `to`, `per_decade` steps per factor of ten (both ends included).
pub fn sizes(from: u64, to: u64, per_decade: u32) -> Vec<u64> {
    let per_decade = per_decade.max(1);
    // A little slack so that an exact power of ten is not lost to rounding.
    let steps = ((to as f64 / from as f64).log10() * f64::from(per_decade) + 1e-9)
        .floor()
        .max(0.0) as u32;
    let mut out: Vec<u64> = (0..=steps)
        .map(|i| (from as f64 * 10f64.powf(f64::from(i) / f64::from(per_decade))).round() as u64)
        .filter(|s| *s <= to)
        .collect();
    if out.last().is_some_and(|last| *last < to) {
        out.push(to);
    }
    out.dedup();
    out
}

/// Worker counts 1, 2, 4, … up to `to` (which is included).
pub fn worker_counts(from: usize, to: usize) -> Vec<usize> {
    let mut out: Vec<usize> = std::iter::successors(Some(from.max(1)), |w| Some(w * 2))
        .take_while(|w| *w < to)
        .collect();
    out.push(to);
    out.dedup();
    out
}

/// Tasks the total work is cut into at this size: at least one.
pub fn task_count(total_ns: u64, size_ns: u64) -> u64 {
    (total_ns / size_ns.max(1)).max(1)
}

/// Runs `tasks` tasks of `size_ns` (or the setup's workload) on `workers` workers under
/// `policy`.
fn run_point(
    setup: &Setup,
    policy: &str,
    size_ns: u64,
    tasks: u64,
    workers: usize,
) -> Result<Report> {
    let overrides = Overrides {
        workers: Some(workers),
        ..Overrides::default()
    };
    let session = match setup.workload {
        Some(w) => Session::of_for(
            crate::workload::Loaded::built(w.clone(), &w.name)?,
            &Overrides {
                speeds: Some(vec![1.0; workers]),
                ..overrides
            },
            setup.engine,
        )?,
        None => Session::of_for(
            crate::workload::Loaded::built(spins(size_ns, tasks, setup.seed)?, "sweep")?,
            &overrides,
            setup.engine,
        )?,
    };
    let options = RunOptions {
        pin: setup.pin,
        ..RunOptions::default()
    };
    let run = session.run_on(setup.engine, policy, &options, &mut |_| {})?;
    Ok(session.report(&run))
}

/// The sweep's own workload: `tasks` spins of `size_ns`.
fn spins(size_ns: u64, tasks: u64, seed: u64) -> Result<Workload> {
    // Built as the workload it is (no RON written and read back): one group of spins.
    let us = size_ns as f64 / 1e3;
    let mut w = Workload::one_group(
        "sweep",
        "spin",
        Kernel::Spin { us },
        usize::try_from(tasks)?,
    );
    w.seed = seed;
    Ok(w)
}

fn point(
    policy: &str,
    size_ns: u64,
    tasks: u64,
    report: &Report,
    one_worker_ns: u64,
    scaling: bool,
) -> Point {
    let speedup = one_worker_ns as f64 / report.makespan_ns.max(1) as f64;
    let workers = report.workers.len().max(1) as f64;
    let efficiency = if scaling {
        // With more workers than cores, time inside tasks includes time the OS gave to the
        // other workers, so only the speedup says whether the added workers helped.
        speedup / workers
    } else {
        // Measured within this one run, unlike a speedup over a separately timed baseline, so
        // a busy machine moves it little. It is the report's efficiency without the critical
        // path in its bound: one task of the whole work is "efficient" by its own chain, yet
        // leaves every other core idle, which is the point of the curve's right end.
        // Body time as the wall clock saw it, preemption inside bodies included: only long
        // spans have their preemption taken out (see `exec::PREEMPTION_CHECK_NS`), so the
        // work without it would favour tiny tasks on a busy machine. Shares of each worker's
        // own wall-clock time are what this curve compares.
        let inside: u64 = report.work_ns
            + report
                .workers
                .iter()
                .map(|w| w.preempted_busy_ns)
                .sum::<u64>();
        inside as f64 / (report.makespan_ns.max(1) as f64 * workers)
    };
    Point {
        policy: policy.to_string(),
        size_ns,
        workers: report.workers.len(),
        tasks,
        makespan_ns: report.makespan_ns,
        speedup,
        efficiency,
        idle_share: {
            let idle: u64 = report.workers.iter().map(|w| w.idle_ns).sum();
            idle as f64 / (report.makespan_ns.max(1) * report.workers.len().max(1) as u64) as f64
        },
        overhead_share: report.scheduler_per_work(),
        bound_speedup: one_worker_ns as f64 / report.lower_bound_ns.max(1) as f64,
    }
}

/// What to sweep.
#[derive(Debug, Clone)]
pub enum Axis {
    /// Task sizes at a fixed worker count. The speedup of each size is over the same tasks
    /// under `fifo` on one worker: with one worker every policy runs the tasks in some order
    /// on one core, so one baseline per size serves every policy.
    Granularity {
        /// The sizes, ns.
        sizes: Vec<u64>,
        /// Workers.
        workers: usize,
    },
    /// Worker counts at a fixed task size. The speedup is over the same policy on one worker.
    Scaling {
        /// Task size, ns.
        size_ns: u64,
        /// The worker counts.
        workers: Vec<usize>,
    },
}

/// The longest sweep [`check`] lets run.
pub const MAX_ESTIMATE: Duration = Duration::from_secs(10 * 60);

/// A generous guess at the scheduler's cost per task, including the one-worker baseline's;
/// measured runs of 500 ns tasks pay about half of this.
const COST_PER_TASK_NS: f64 = 1_000.0;

/// One run's `(size_ns, tasks, workers)`, in the order [`run`] runs them, baselines included.
fn runs(what: &Axis, policies: &[String], total_ns: u64) -> Vec<(u64, u64, usize)> {
    match what {
        Axis::Granularity { sizes, workers } => sizes
            .iter()
            .flat_map(|&size| {
                let tasks = task_count(total_ns, size);
                std::iter::once((size, tasks, 1))
                    .chain(policies.iter().map(move |_| (size, tasks, *workers)))
            })
            .collect(),
        Axis::Scaling { size_ns, workers } => {
            let tasks = task_count(total_ns, *size_ns);
            let baseline = usize::from(workers.first() != Some(&1));
            std::iter::repeat_n(1, baseline)
                .chain(workers.iter().copied())
                .flat_map(|n| policies.iter().map(move |_| (*size_ns, tasks, n)))
                .collect()
        }
    }
}

/// How many runs [`run`] makes, baselines included.
pub fn run_count(what: &Axis, policies: &[String], total_ns: u64) -> usize {
    runs(what, policies, total_ns).len()
}

/// A rough time for the whole sweep on this machine: each run's work spread over the cores
/// it can use, plus a generous scheduler cost per task. Good to a factor of two or so, which
/// is all a refusal needs.
pub fn estimate(what: &Axis, policies: &[String], total_ns: u64) -> Duration {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let ns: f64 = runs(what, policies, total_ns)
        .into_iter()
        .map(|(size, tasks, workers)| {
            // At least one task runs, so a size above the total is the work of that run.
            let work = size as f64 * tasks as f64;
            work / workers.min(cores).max(1) as f64 + tasks as f64 * COST_PER_TASK_NS
        })
        .sum();
    Duration::from_secs_f64(ns / 1e9)
}

/// Refuses a sweep with a point above the task limit or an estimated time above
/// [`MAX_ESTIMATE`], before anything runs.
pub fn check(what: &Axis, policies: &[String], total_ns: u64) -> Result<()> {
    let all = runs(what, policies, total_ns);
    if let Some((size, tasks, _)) = all.iter().find(|(_, tasks, _)| *tasks > MAX_TASKS) {
        bail!(
            "{tasks} tasks of {} exceed the limit of {MAX_TASKS}; use larger sizes or less work \
             (--sizes, --size, --total-ms)",
            fmt_ns(*size)
        );
    }
    let time = estimate(what, policies, total_ns);
    if time > MAX_ESTIMATE {
        bail!(
            "this sweep of {} runs would take about {}; the limit is {}: use less work \
             (--total-ms), a narrower range or fewer policies",
            all.len(),
            fmt_duration(time),
            fmt_duration(MAX_ESTIMATE)
        );
    }
    Ok(())
}

/// What a running sweep reports.
pub enum Step<'a> {
    /// This runs now.
    Running(&'a str),
    /// This point was measured.
    Measured(&'a Point),
}

/// Runs a sweep, after [`check`]; `progress` hears about each run before it starts and each
/// point once measured.
pub fn run(
    what: &Axis,
    policies: &[String],
    total_ns: u64,
    seed: u64,
    pin: bool,
    progress: &mut dyn FnMut(Step),
) -> Result<Vec<Point>> {
    let setup = Setup {
        seed,
        pin,
        engine: &crate::session::Threads,
        workload: None,
    };
    run_with(what, policies, total_ns, &setup, progress)
}

/// [`run`] as `setup` says: on its engine, and over its workload if it has one.
pub fn run_with(
    what: &Axis,
    policies: &[String],
    total_ns: u64,
    setup: &Setup,
    progress: &mut dyn FnMut(Step),
) -> Result<Vec<Point>> {
    if !setup.engine.simulated() {
        check(what, policies, total_ns)?;
    }
    // The tasks of the setup's workload, if any, are what each point runs.
    let workload_tasks = setup
        .workload
        .map(|w| crate::plan::Plan::new(w, setup.seed).total as u64);
    let what_runs = |tasks: u64, size: u64| match (setup.workload, workload_tasks) {
        (Some(w), Some(n)) => format!("{} ({n} tasks)", w.name),
        _ => format!("{tasks} tasks of {}", fmt_ns(size)),
    };
    let mut points = Vec::new();
    match what {
        Axis::Granularity { sizes, workers } => {
            for &size in sizes {
                let tasks = task_count(total_ns, size);
                // One worker is the baseline of the speedup; the policy hardly matters there.
                progress(Step::Running(&format!(
                    "{tasks} tasks of {} on 1 worker (baseline)",
                    fmt_ns(size)
                )));
                let alone = run_point(setup, "fifo", size, tasks, 1)?.makespan_ns;
                for policy in policies {
                    progress(Step::Running(&format!(
                        "{tasks} tasks of {} under {policy} on {workers} workers",
                        fmt_ns(size)
                    )));
                    let report = run_point(setup, policy, size, tasks, *workers)?;
                    points.push(point(policy, size, tasks, &report, alone, false));
                    progress(Step::Measured(&points[points.len() - 1]));
                }
            }
        }
        Axis::Scaling { size_ns, workers } => {
            let tasks = workload_tasks.unwrap_or_else(|| task_count(total_ns, *size_ns));
            let mut alone = std::collections::HashMap::new();
            // A range that starts above one worker still needs the one-worker runs its
            // speedups are measured against; they are not points of the sweep.
            if workers.first() != Some(&1) {
                for policy in policies {
                    progress(Step::Running(&format!(
                        "{} under {policy} on 1 worker (baseline)",
                        what_runs(tasks, *size_ns)
                    )));
                    let report = run_point(setup, policy, *size_ns, tasks, 1)?;
                    alone.insert(policy.clone(), report.makespan_ns);
                }
            }
            for &n in workers {
                for policy in policies {
                    progress(Step::Running(&format!(
                        "{} under {policy} on {n} workers",
                        what_runs(tasks, *size_ns)
                    )));
                    let report = run_point(setup, policy, *size_ns, tasks, n)?;
                    let base = *alone.entry(policy.clone()).or_insert(report.makespan_ns);
                    // A workload's tasks differ: its size is the mean work of a task.
                    let size = if setup.workload.is_some() {
                        report.work_ns / tasks.max(1)
                    } else {
                        *size_ns
                    };
                    points.push(point(policy, size, tasks, &report, base, true));
                    progress(Step::Measured(&points[points.len() - 1]));
                }
            }
        }
    }
    Ok(points)
}

/// Whether a point ran faster than its baseline, as the table shows its speedup (two
/// decimals): a point at 1.00x or below gained nothing from the workers it was given.
fn gained(p: &Point) -> bool {
    (p.speedup * 100.0).round() > 100.0
}

/// The one point a table marks best, by the table's own measure: the highest efficiency of a
/// granularity sweep, the highest speedup of a scaling one (the first of equals). Only points
/// that [`gained`] compete, so a sweep where nothing beat its baseline has no best.
fn best(points: &[Point], scaling: bool) -> Option<usize> {
    let key = |p: &Point| if scaling { p.speedup } else { p.efficiency };
    points
        .iter()
        .enumerate()
        .filter(|(_, p)| gained(p))
        // `max_by` keeps the last of equals; reversing first keeps the first.
        .rev()
        .max_by(|(_, a), (_, b)| key(a).total_cmp(&key(b)))
        .map(|(i, _)| i)
}

/// The table of a sweep: a row per point, grouped by size (or worker count), and the one
/// best point of the whole table marked (see [`best`]); when no point beat its baseline, a
/// line says so instead.
pub fn table(points: &[Point], scaling: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<8} {:>10} {:>7} {:>9} {:>10} {:>8} {:>11} {:>10} {:>7}{}",
        "policy",
        "task size",
        "workers",
        "tasks",
        "makespan",
        "speedup",
        "efficiency",
        "sched/work",
        "idle",
        if scaling { "    bound" } else { "" }
    );
    let best = best(points, scaling);
    for (i, p) in points.iter().enumerate() {
        // A blank line between sizes (or worker counts) keeps each group of policies together.
        let group = |q: &Point| if scaling { q.workers as u64 } else { q.size_ns };
        if i > 0 && group(&points[i - 1]) != group(p) {
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "{:<8} {:>10} {:>7} {:>9} {:>10} {:>7.2}x {:>10.1}% {:>9.1}% {:>6.1}%{}{}",
            p.policy,
            fmt_ns(p.size_ns),
            p.workers,
            p.tasks,
            fmt_ns(p.makespan_ns),
            p.speedup,
            p.efficiency * 100.0,
            p.overhead_share * 100.0,
            p.idle_share * 100.0,
            if scaling {
                format!(" {:>7.2}x", p.bound_speedup)
            } else {
                String::new()
            },
            if best == Some(i) { "  <- best" } else { "" }
        );
    }
    if best.is_none() && !points.is_empty() {
        let _ = writeln!(
            out,
            "{}: no point ran faster than its baseline (every speedup is 1.00x or less)",
            if scaling {
                "no worker count gained"
            } else {
                "no size gained"
            }
        );
    }
    let _ = writeln!(
        out,
        "{}",
        if scaling {
            "speedup: over the same policy on 1 worker; efficiency: speedup per worker;\nbound: the most speedup any schedule could reach (work over the workers, or the critical path)"
        } else {
            "speedup: over fifo on 1 worker at that size; efficiency: share of the workers' time \
             inside tasks;\nsched/work: the scheduler's time over the tasks' work; idle: share of the \
             workers' time idle"
        }
    );
    out
}

/// The points as CSV, with a header line.
pub fn csv(points: &[Point]) -> String {
    let mut out = String::from(
        "policy,size_ns,workers,tasks,makespan_ns,speedup,efficiency,overhead_share,idle_share,bound_speedup\n",
    );
    for p in points {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{:.4},{:.4},{:.4},{:.4},{:.4}",
            p.policy,
            p.size_ns,
            p.workers,
            p.tasks,
            p.makespan_ns,
            p.speedup,
            p.efficiency,
            p.overhead_share,
            p.idle_share,
            p.bound_speedup
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_ranges_parse() {
        assert_eq!(parse_duration("500ns"), Ok(500));
        assert_eq!(parse_duration("2.5ms"), Ok(2_500_000));
        assert_eq!(parse_duration("1us"), parse_duration("1µs"));
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("0ns").is_err());
        assert_eq!(
            parse_range("1us..10ms", parse_duration),
            Ok((1_000, 10_000_000))
        );
        assert!(parse_range("10ms..1us", parse_duration).is_err());
        assert!(parse_range("10ms", parse_duration).is_err());
    }

    #[test]
    fn sizes_step_by_decades_and_workers_double() {
        assert_eq!(sizes(1_000, 100_000, 1), vec![1_000, 10_000, 100_000]);
        assert_eq!(sizes(1_000, 10_000, 2), vec![1_000, 3_162, 10_000]);
        assert_eq!(
            sizes(500, 100_000_000, 1).last(),
            Some(&100_000_000),
            "the top end is included, never passed"
        );
        assert_eq!(worker_counts(1, 6), vec![1, 2, 4, 6]);
        assert_eq!(worker_counts(1, 1), vec![1]);
        assert_eq!(task_count(100_000_000, 1_000), 100_000);
        assert_eq!(task_count(1_000, 1_000_000), 1, "at least one task");
        assert_eq!(
            task_count(200_000_000, 3_162),
            63_251,
            "the remainder is dropped"
        );
    }

    fn policies(names: &[&str]) -> Vec<String> {
        names.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn every_run_is_counted_baselines_included() {
        let two = policies(&["fifo", "steal"]);
        let granularity = Axis::Granularity {
            sizes: vec![1_000, 1_000_000],
            workers: 2,
        };
        assert_eq!(
            runs(&granularity, &two, 10_000_000),
            vec![
                (1_000, 10_000, 1),
                (1_000, 10_000, 2),
                (1_000, 10_000, 2),
                (1_000_000, 10, 1),
                (1_000_000, 10, 2),
                (1_000_000, 10, 2),
            ]
        );
        let from_one = Axis::Scaling {
            size_ns: 1_000_000,
            workers: vec![1, 2],
        };
        assert_eq!(runs(&from_one, &two, 10_000_000).len(), 4);
        let from_two = Axis::Scaling {
            size_ns: 1_000_000,
            workers: vec![2, 4],
        };
        assert_eq!(
            runs(&from_two, &two, 10_000_000).len(),
            6,
            "one-worker baselines for a range that starts above one"
        );
    }

    #[test]
    fn sweeps_beyond_the_limits_are_refused_before_running() {
        let all = policies(&["fifo", "rr", "steal", "hetero"]);
        let defaults = Axis::Granularity {
            sizes: sizes(500, 100_000_000, 2),
            workers: 2,
        };
        assert!(check(&defaults, &all, 100_000_000).is_ok());
        assert!(estimate(&defaults, &all, 100_000_000) < Duration::from_secs(60));

        let too_many = Axis::Granularity {
            sizes: vec![1, 1_000],
            workers: 2,
        };
        let e = check(&too_many, &all, 100_000_000).unwrap_err().to_string();
        assert!(e.contains("100000000 tasks of 1 ns"), "{e}");
        let scaling = Axis::Scaling {
            size_ns: 1,
            workers: vec![1, 2],
        };
        assert!(check(&scaling, &all, 100_000_000).is_err());

        // A minute of work at each of 55 runs: over half an hour even on many cores.
        let long = Axis::Granularity {
            sizes: sizes(10_000, 1_000_000_000, 2),
            workers: 2,
        };
        let e = check(&long, &all, 60_000_000_000).unwrap_err().to_string();
        assert!(e.contains("55 runs would take about"), "{e}");
        assert!(e.contains("the limit is 10.0 min"), "{e}");
        // One task of an hour is an hour, whatever the total asked for.
        let huge = Axis::Granularity {
            sizes: vec![3_600_000_000_000],
            workers: 2,
        };
        assert!(check(&huge, &policies(&["steal"]), 1_000_000).is_err());
    }

    fn measured(
        policy: &str,
        size_ns: u64,
        workers: usize,
        speedup: f64,
        efficiency: f64,
    ) -> Point {
        Point {
            policy: policy.into(),
            size_ns,
            workers,
            tasks: 10,
            makespan_ns: 1_000_000,
            speedup,
            efficiency,
            overhead_share: 0.0,
            idle_share: 0.0,
            bound_speedup: 0.0,
        }
    }

    /// The rows of a table marked best.
    fn marked(table: &str) -> Vec<&str> {
        table.lines().filter(|l| l.ends_with("<- best")).collect()
    }

    #[test]
    fn a_scaling_table_marks_one_best_row_of_all_policies() {
        // Both policies peak at 4 workers; only the faster of the two is the table's best.
        let points: Vec<Point> = [(1, 1.0, 1.0), (2, 1.8, 1.6), (4, 3.1, 2.2)]
            .iter()
            .flat_map(|&(n, steal, fifo)| {
                [
                    measured("fifo", 100_000, n, fifo, fifo / n as f64),
                    measured("steal", 100_000, n, steal, steal / n as f64),
                ]
            })
            .collect();
        let table = table(&points, true);
        let best = marked(&table);
        assert_eq!(best.len(), 1, "{table}");
        assert!(
            best[0].starts_with("steal") && best[0].contains("3.10x"),
            "{table}"
        );
        assert!(!table.contains("gained"), "{table}");
    }

    #[test]
    fn a_granularity_table_never_marks_a_point_slower_than_its_baseline() {
        // rr keeps its workers inside tasks the most, yet runs slower than one worker.
        let points = vec![
            measured("rr", 10_000, 2, 0.69, 0.97),
            measured("steal", 10_000, 2, 1.62, 0.81),
            measured("rr", 100_000, 2, 0.95, 0.93),
            measured("steal", 100_000, 2, 1.71, 0.88),
        ];
        let table = table(&points, false);
        let best = marked(&table);
        assert_eq!(best.len(), 1, "{table}");
        assert!(
            best[0].starts_with("steal") && best[0].contains("1.71x"),
            "the most efficient point that gained: {table}"
        );
    }

    #[test]
    fn a_sweep_where_nothing_gained_says_so_instead_of_marking_a_best() {
        // 1.004x shows as 1.00x: no gain either.
        let points = vec![
            measured("fifo", 10_000, 1, 1.0, 0.99),
            measured("steal", 10_000, 1, 1.004, 0.99),
        ];
        let granularity = table(&points, false);
        assert!(marked(&granularity).is_empty(), "{granularity}");
        assert!(granularity.contains("no size gained"), "{granularity}");
        let scaling = table(&points, true);
        assert!(marked(&scaling).is_empty(), "{scaling}");
        assert!(scaling.contains("no worker count gained"), "{scaling}");
        assert!(
            !table(&[], false).contains("gained"),
            "no points, no verdict"
        );
    }

    #[test]
    fn long_durations_read_in_the_right_unit() {
        assert_eq!(fmt_duration(Duration::from_secs(45)), "45 s");
        assert_eq!(fmt_duration(Duration::from_secs(2_040)), "34.0 min");
        assert_eq!(fmt_duration(Duration::from_secs(12_600)), "3.5 h");
    }
}
