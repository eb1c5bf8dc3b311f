//! `schedlab tour`: one lesson per idea of task parallelism, each run for real on a shipped
//! workload, each ending with conclusions computed from what the runs measured.
//!
//! The sentences are built from [`Report`]s and the groups' measured spans only, never canned:
//! the functions that write them take those as input, so tests feed them synthetic reports and
//! check the words.

use crate::fmt::pct;
use std::fmt::Write as _;

use crate::exec::RunOptions;
use crate::plan::Plan;
use crate::record::Timeline;
use crate::report::{Report, WorkerReport, fmt_ns};
use crate::session::Session;
use crate::session::{Engine, Threads};
use crate::sim::Sim;
use crate::workload::Overrides;
use std::sync::Arc;

/// When a group's tasks ran: the first start and the last end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// First task body start, ns.
    pub start: u64,
    /// Last task body end, ns.
    pub end: u64,
}

impl Span {
    /// Its length.
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One measured run of a lesson.
pub struct Measured {
    /// Its report.
    pub report: Report,
    /// Each group's span, in plan order.
    pub spans: Vec<Span>,
    /// Attempts each worker ran, per group: `runs[worker][group]`.
    pub runs: Vec<Vec<u64>>,
    /// Per group that waits for others (`after`), in plan order: its name, and the time the
    /// workers spent between their last task before it started and its start, added up over
    /// the workers (at most from its prerequisites' start): what its barrier cost.
    pub barriers: Vec<(String, u64)>,
}

/// Runs a shipped workload under `policy` (recording, to measure the groups' spans).
pub fn measure(name: &str, policy: &str, pin: bool) -> anyhow::Result<Measured> {
    measure_on(name, policy, pin, &Overrides::default(), &Threads)
}

/// [`measure`] on `engine`, with `overrides`.
pub fn measure_on(
    name: &str,
    policy: &str,
    pin: bool,
    overrides: &Overrides,
    engine: &dyn Engine,
) -> anyhow::Result<Measured> {
    let session = Session::load_for(name, overrides, engine)?;
    let options = RunOptions {
        record: true,
        pin,
        ..RunOptions::default()
    };
    let run = session.run_on(engine, policy, &options, &mut |_| {})?;
    Ok(Measured::new(
        &session.plan,
        session.report(&run),
        &run.timeline,
    ))
}

impl Measured {
    /// What a lesson needs from a finished run and its events.
    pub fn new(plan: &Plan, report: Report, timeline: &Timeline) -> Measured {
        let (spans, runs) = spans(plan, timeline);
        let barriers = barriers(plan, timeline, &spans);
        Measured {
            report,
            spans,
            runs,
            barriers,
        }
    }
}

/// Each group's span, and each worker's attempts per group, from a recorded timeline.
pub fn spans(plan: &Plan, timeline: &Timeline) -> (Vec<Span>, Vec<Vec<u64>>) {
    let mut spans = vec![
        Span {
            start: u64::MAX,
            end: 0
        };
        plan.groups.len()
    ];
    let mut runs = vec![vec![0; plan.groups.len()]; timeline.workers.len()];
    for attempt in timeline.attempts() {
        let (g, _) = plan.locate(attempt.run.task);
        let start = attempt.run.t;
        spans[g].start = spans[g].start.min(start);
        spans[g].end = spans[g].end.max(attempt.end_ns().unwrap_or(start));
        runs[attempt.worker][g] += 1;
    }
    for s in &mut spans {
        if s.start == u64::MAX {
            *s = Span::default();
        }
    }
    (spans, runs)
}

/// What each group that waits for others (`after`) cost the workers at its barrier: from
/// each worker's last task end before the group's first start (or its prerequisites' first
/// start, if later) to that start, added up over the workers.
pub fn barriers(plan: &Plan, timeline: &Timeline, spans: &[Span]) -> Vec<(String, u64)> {
    let mut ends: Vec<Vec<u64>> = vec![Vec::new(); timeline.workers.len()];
    for a in timeline.attempts() {
        if let Some(end) = a.end_ns() {
            ends[a.worker].push(end);
        }
    }
    for e in &mut ends {
        e.sort_unstable();
    }
    plan.groups
        .iter()
        .enumerate()
        .filter(|(d, g)| !g.after.is_empty() && !spans[*d].is_empty())
        .map(|(d, g)| {
            let at = spans[d].start;
            let from = g.after.iter().map(|&p| spans[p].start).min().unwrap_or(0);
            let waited = ends
                .iter()
                .map(|e| {
                    let last = e[..e.partition_point(|&t| t <= at)].last().copied();
                    at.saturating_sub(last.unwrap_or(0).max(from))
                })
                .sum();
            (g.name.clone(), waited)
        })
        .collect()
}

/// A sentence on what the machine did to the runs, when it matters: more workers than cores,
/// or the OS keeping the workers off their cores. Empty on a quiet machine.
pub fn machine_caveat(reports: &[&Report]) -> String {
    let mut out = String::new();
    if let Some(r) = reports.iter().find(|r| r.is_simulated()) {
        let cores = crate::exec::machine::cores();
        let _ = write!(
            out,
            "Simulated: these runs are in virtual time on a machine of {} cores (this one has {cores}), {}, so the picture is the same on every machine. ",
            r.machine.workers,
            if r.time_unit_ns.is_some() {
                "each task taking exactly its time"
            } else {
                "the tasks costing their kernels' estimates"
            }
        );
    }
    if let Some(r) = reports.iter().find(|r| r.machine.oversubscribed) {
        let _ = write!(
            out,
            "These runs had {} workers on {} cores, so the OS time-sliced them. ",
            r.machine.workers, r.machine.cores
        );
    }
    let busiest = reports
        .iter()
        .filter_map(|r| r.preempted_share())
        .fold(0.0, f64::max);
    if busiest > crate::report::PREEMPTED_WARNING {
        let _ = write!(
            out,
            "The machine was busy: the OS kept the workers waiting for a CPU up to {:.0}% of their time, so the timings below judge the machine as much as the policies; run the lesson on a quieter machine to trust them. ",
            busiest * 100.0
        );
    }
    out
}

fn idlest(r: &Report) -> Option<&WorkerReport> {
    r.workers.iter().max_by_key(|w| w.idle_ns)
}

/// Load balancing: static round-robin against work-stealing on the same workload.
pub fn balance_conclusion(rr: &Report, steal: &Report) -> String {
    let mut out = String::new();
    let faster = pct(
        rr.makespan_ns.saturating_sub(steal.makespan_ns),
        rr.makespan_ns,
    );
    if steal.makespan_ns < rr.makespan_ns {
        let _ = write!(
            out,
            "steal finished {faster:.0}% sooner than rr ({} against {})",
            fmt_ns(steal.makespan_ns),
            fmt_ns(rr.makespan_ns)
        );
    } else {
        let _ = write!(
            out,
            "steal did not beat rr this time ({} against {})",
            fmt_ns(steal.makespan_ns),
            fmt_ns(rr.makespan_ns)
        );
    }
    if let Some(w) = idlest(rr) {
        let _ = write!(
            out,
            "; rr left core {} idle {:.0}% of the time",
            w.id,
            pct(w.idle_ns, rr.makespan_ns)
        );
    }
    if let Some(w) = idlest(steal) {
        let _ = write!(
            out,
            ", steal's idlest core was idle {:.0}%",
            pct(w.idle_ns, steal.makespan_ns)
        );
    }
    let steals: u64 = steal.workers.iter().map(|w| w.steals).sum();
    if steals == 0 {
        let _ = write!(
            out,
            "; steal made no steals this time: its workers took every task from the shared queue the tasks were released to."
        );
    } else {
        let _ = write!(out, ", after {steals} steals.");
    }
    out
}

/// Cores a phase kept working on average: its tasks' work over its span.
fn cores_used(work: u64, span: Span) -> f64 {
    work as f64 / span.len().max(1) as f64
}

/// Granularity: the same work as tiny tasks, then as coarse ones (groups 0 and 1).
pub fn granularity_conclusion(r: &Report, spans: &[Span]) -> String {
    let phase = |g: usize| {
        let group = &r.groups[g];
        let work = group.mean_ns * group.attempts;
        (group, work, spans[g], cores_used(work, spans[g]))
    };
    let (tiny, tiny_work, tiny_span, tiny_cores) = phase(0);
    let (coarse, coarse_work, coarse_span, coarse_cores) = phase(1);
    let mut out = format!(
        "{} tasks of {} did {} of work in {}, keeping {tiny_cores:.1} cores working on average; {} tasks of {} did {} in {} ({coarse_cores:.1} cores). \
         The scheduler cost {} per task, {:.0}% of a tiny task's length. ",
        tiny.count,
        fmt_ns(tiny.mean_ns),
        fmt_ns(tiny_work),
        fmt_ns(tiny_span.len()),
        coarse.count,
        fmt_ns(coarse.mean_ns),
        fmt_ns(coarse_work),
        fmt_ns(coarse_span.len()),
        fmt_ns(r.overhead_ns_per_task),
        pct(r.overhead_ns_per_task, tiny.mean_ns.max(1)),
    );
    if tiny_cores < 0.9 * coarse_cores {
        let _ = write!(
            out,
            "The scheduler's cost ate the gain: for the same work the tiny tasks kept {:.0}% fewer cores working than the coarse ones.",
            (1.0 - tiny_cores / coarse_cores.max(f64::MIN_POSITIVE)) * 100.0
        );
    } else {
        let _ = write!(
            out,
            "On this machine that cost was too small to lose much: both phases kept about as many cores working."
        );
    }
    out
}

/// Task vs data parallelism: distinct operations (the groups that wait for nothing, one task
/// each) against the same operations over chunks of the same data (the groups that wait for
/// them).
pub fn task_vs_data_conclusion(r: &Report, spans: &[Span], after: &[bool]) -> String {
    let phase = |chunks: bool| {
        let groups: Vec<usize> = (0..r.groups.len())
            .filter(|&g| after[g] == chunks)
            .collect();
        let work: u64 = groups
            .iter()
            .map(|&g| r.groups[g].mean_ns * r.groups[g].attempts)
            .sum();
        let span = Span {
            start: groups.iter().map(|&g| spans[g].start).min().unwrap_or(0),
            end: groups.iter().map(|&g| spans[g].end).max().unwrap_or(0),
        };
        let tasks: u64 = groups.iter().map(|&g| r.groups[g].count).sum();
        (groups, work, span, tasks)
    };
    let (distinct, distinct_work, distinct_span, _) = phase(false);
    let (_, chunk_work, chunk_span, chunks) = phase(true);
    let workers = r.workers.len();
    let biggest = distinct
        .iter()
        .map(|&g| &r.groups[g])
        .max_by_key(|g| g.max_ns)
        .map_or(("?", 0), |g| (g.name.as_str(), g.max_ns));
    let (ops, used, chunk_used) = (
        distinct.len(),
        cores_used(distinct_work, distinct_span),
        cores_used(chunk_work, chunk_span),
    );
    let mut out = format!(
        "The {ops} different operations, one task each, did {} of work in {} (no schedule could take less than the biggest, {} at {}), keeping {used:.1} of the {workers} cores working on average. \
         The same operations over the same data in {chunks} chunks did {} of work in {}, keeping {chunk_used:.1} cores working. ",
        fmt_ns(distinct_work),
        fmt_ns(distinct_span.len()),
        biggest.0,
        fmt_ns(biggest.1),
        fmt_ns(chunk_work),
        fmt_ns(chunk_span.len()),
    );
    if workers <= ops {
        let _ = write!(
            out,
            "On {workers} cores, {ops} operations are enough to give every core work: the limit of task parallelism (at most {ops} cores can help, and the biggest operation sets the end) shows only with more cores than operations; run this lesson on a machine with more than {ops} cores to see it."
        );
    } else if chunk_used > used {
        let _ = write!(
            out,
            "With more cores than operations, the distinct tasks could not use them all; the chunks could."
        );
    } else {
        let _ = write!(
            out,
            "This time the chunks kept no more cores working than the distinct tasks did."
        );
    }
    out
}

/// Dependencies and synchronisation: barriers between steps (what each cost, from
/// [`barriers`]).
pub fn barrier_conclusion(r: &Report, barriers: &[(String, u64)]) -> String {
    let workers = r.workers.len() as u64;
    let capacity = r.makespan_ns * workers;
    let idle: u64 = r.workers.iter().map(|w| w.idle_ns).sum();
    let starved: u64 = r.workers.iter().map(|w| w.idle.starved_ns).sum();
    let waited: u64 = barriers.iter().map(|b| b.1).sum();
    let each: Vec<String> = barriers
        .iter()
        .map(|(name, ns)| format!("{} before {name}", fmt_ns(*ns)))
        .collect();
    format!(
        "At the {} barriers the cores waited {} in all for the slowest task of the step before ({}): {:.0}% of the cores' time. \
         Cores were idle {:.0}% of the run, {:.0}% with nothing ready anywhere. The critical path through {} is {} of the {} run, \
         and the work ({}) could keep {:.1} cores busy at best.",
        barriers.len(),
        fmt_ns(waited),
        each.join(", "),
        pct(waited, capacity),
        pct(idle, capacity),
        pct(starved, capacity),
        r.critical_groups.join(" → "),
        fmt_ns(r.critical_path_ns),
        fmt_ns(r.makespan_ns),
        fmt_ns(r.work_ns),
        r.parallelism,
    )
}

/// Heterogeneous cores: fifo against hetero; `big_on_slow` counts big tasks the slow cores ran.
pub fn hetero_conclusion(fifo: &Report, hetero: &Report, big_on_slow: (u64, u64)) -> String {
    let faster = pct(
        fifo.makespan_ns.saturating_sub(hetero.makespan_ns),
        fifo.makespan_ns,
    );
    let verdict = if hetero.makespan_ns < fifo.makespan_ns {
        format!(
            "hetero finished {faster:.0}% sooner than fifo ({} against {})",
            fmt_ns(hetero.makespan_ns),
            fmt_ns(fifo.makespan_ns)
        )
    } else {
        format!(
            "hetero did not beat fifo this time ({} against {})",
            fmt_ns(hetero.makespan_ns),
            fmt_ns(fifo.makespan_ns)
        )
    };
    format!(
        "{verdict}: under fifo the slow cores ran {} of the big tasks, under hetero {}.",
        big_on_slow.0, big_on_slow.1
    )
}

/// A real workflow: its critical path, fifo against critical path first, and what the
/// workflow system's own recorded run says about the gap between it and the bound.
pub fn workflow_conclusion(fifo: &Report, cp: &Report) -> String {
    let mut out = String::new();
    let path = &cp.critical_tasks;
    let _ = write!(
        out,
        "The critical path runs through {} of the {} tasks ({}) and is {} long; the work ({}) could keep {:.1} cores busy at best, so on {} workers the run is bound by {}. ",
        path.len(),
        cp.tasks.total,
        cp.critical_groups.join(" → "),
        fmt_ns(cp.critical_path_ns),
        fmt_ns(cp.work_ns),
        cp.parallelism,
        cp.workers.len(),
        if cp.bound == "critical_path" {
            "its critical path, not by its work"
        } else {
            "its work, not yet by its critical path"
        }
    );
    let saved = pct(
        fifo.makespan_ns.saturating_sub(cp.makespan_ns),
        fifo.makespan_ns,
    );
    if cp.makespan_ns < fifo.makespan_ns {
        let _ = write!(
            out,
            "cp, which runs the task with the longest chain ahead of it first, finished in {} against fifo's {} ({saved:.0}% sooner), {:.0}% above the bound. ",
            fmt_ns(cp.makespan_ns),
            fmt_ns(fifo.makespan_ns),
            pct(
                cp.makespan_ns.saturating_sub(cp.lower_bound_ns),
                cp.lower_bound_ns
            )
        );
    } else {
        let _ = write!(
            out,
            "cp finished in {} and fifo in {}: on this graph and machine, running the longest chain first gained nothing. ",
            fmt_ns(cp.makespan_ns),
            fmt_ns(fifo.makespan_ns)
        );
    }
    if let Some(recorded) = cp.recorded_makespan_ns.filter(|_| cp.critical_path_ns > 0) {
        let cores = cp
            .recorded_cores
            .map_or(String::new(), |c| format!(" on {c} cores"));
        let _ = write!(
            out,
            "The workflow system's own recorded run took {}{cores} (in the same unit): {:.0} times the critical path of its own tasks' runtimes, which no number of cores can beat. The rest of its time was spent outside those runtimes.",
            fmt_ns(recorded),
            recorded as f64 / cp.critical_path_ns as f64
        );
    }
    out.trim_end().to_string()
}

/// Fault tolerance: retries, failures, cancelled dependents.
pub fn faults_conclusion(r: &Report) -> String {
    let t = r.tasks;
    format!(
        "{} attempts panicked and were retried, {} tasks failed after their last retry, and {} tasks that depended on \
         them were cancelled; the run still finished in {} with every one of its {} tasks accounted for \
         ({} completed + {} failed + {} cancelled).",
        t.retried,
        t.failed,
        t.cancelled,
        fmt_ns(r.makespan_ns),
        t.total,
        t.completed,
        t.failed,
        t.cancelled
    )
}

/// One lesson: what it teaches, what to watch, and how to measure it.
pub struct Lesson {
    /// Its title.
    pub title: &'static str,
    /// The shipped workload it runs.
    pub workload: &'static str,
    /// The idea, in two sentences.
    pub idea: &'static str,
    /// What to look for.
    pub watch: &'static str,
    /// The policies it runs.
    pub policies: &'static [&'static str],
    /// Cores its point needs: on a machine with fewer, it runs simulated (`--sim`).
    pub needs_cores: usize,
    /// The workers of its simulated runs, where its workload's machine does not say: a
    /// simulated lesson is the same on every machine.
    pub sim_workers: usize,
}

/// The lessons, in teaching order.
pub const LESSONS: &[Lesson] = &[
    Lesson {
        title: "Distinct tasks vs data-parallel chunks",
        workload: "task-vs-data",
        idea: "Task parallelism runs different operations at once; data parallelism runs one operation over pieces of the data. \
               Different operations can use only as many cores as there are operations, and last as long as the biggest.",
        watch: "the first phase can use at most four cores and never ends before its biggest operation; the chunks of the same work can give every core work (on more than four cores the difference shows)",
        needs_cores: 8,
        sim_workers: 8,
        policies: &["steal"],
    },
    Lesson {
        title: "Granularity",
        workload: "granularity",
        idea: "Every task costs the scheduler something to hand out. Too small, and that cost eats the gain; too big, and cores sit idle at the end.",
        watch: "the scheduler's share of the time during the tiny tasks, against the coarse ones",
        needs_cores: 1,
        sim_workers: 2,
        policies: &["steal"],
    },
    Lesson {
        title: "Scheduling and load balancing",
        workload: "imbalance",
        idea: "Static assignment (rr) decides where a task runs before knowing how long it is; work-stealing lets idle cores take work from busy ones.",
        watch: "under rr one core finishes early and idles while the other's queue still holds tasks; under steal, whether the idle core takes tasks from the busy one (↯)",
        needs_cores: 1,
        sim_workers: 2,
        policies: &["rr", "steal"],
    },
    Lesson {
        title: "Dependencies and synchronisation",
        workload: "simulation",
        idea: "A barrier makes every task of a step wait for the slowest one of the step before. The chain of dependent tasks, the critical path, bounds the run however many cores there are.",
        watch: "the idle gaps at each step boundary",
        needs_cores: 1,
        sim_workers: 4,
        policies: &["steal"],
    },
    Lesson {
        title: "A real workflow and its critical path",
        workload: "montage",
        idea: "A real program is a graph of individual tasks: this is a Montage astronomy mosaic as the Pegasus workflow system ran it (WfInstances), each task taking its recorded runtime (1 s becomes 1 ms). \
               Its longest chain of dependent tasks, the critical path, bounds the run however many cores there are; a scheduler that knows the graph can start the tasks on that chain first.",
        watch: "the critical path underlined task by task, the cores idling behind the narrow stages, and fifo against cp (critical path first)",
        needs_cores: 6,
        sim_workers: 6,
        policies: &["fifo", "cp"],
    },
    Lesson {
        title: "Heterogeneous cores",
        workload: "big-little",
        idea: "When cores differ in speed, the free core is not always the best one: a slow core that starts a big task now may finish it after a fast core would have.",
        watch: "which cores run the big tasks under fifo and under hetero",
        needs_cores: 4,
        sim_workers: 4,
        policies: &["fifo", "hetero"],
    },
    Lesson {
        title: "Fault tolerance",
        workload: "faults",
        idea: "Tasks can fail. A scheduler retries them, gives up after a limit, and cancels what depended on them, and the run still ends with every task accounted for.",
        watch: "retried attempts (✗), failed tasks, and the reports cancelled because their batch failed",
        needs_cores: 1,
        sim_workers: 2,
        policies: &["steal"],
    },
];

/// Big tasks (the group named "big") run by slow cores.
fn big_on_slow(m: &Measured) -> u64 {
    let Some(g) = m.report.groups.iter().position(|g| g.name == "big") else {
        return 0;
    };
    m.report
        .workers
        .iter()
        .filter(|w| w.speed < 1.0)
        .map(|w| m.runs[w.id][g])
        .sum()
}

/// The engine lesson `index` runs on, given the one asked for: the simulator when asked, or
/// when this machine has fewer cores than the lesson's point needs.
pub fn engine_for(
    index: usize,
    asked: &Arc<dyn Engine + Send + Sync>,
) -> Arc<dyn Engine + Send + Sync> {
    if asked.simulated() || crate::exec::machine::cores() >= LESSONS[index].needs_cores {
        asked.clone()
    } else {
        Arc::new(Sim::default())
    }
}

/// The overrides of lesson `index`'s runs on `engine`: simulated, the lesson's own number of
/// workers where its workload does not fix them.
pub fn lesson_overrides(index: usize, engine: &dyn Engine) -> Overrides {
    let lesson = &LESSONS[index];
    let fixed = crate::workload::find(lesson.workload)
        .is_ok_and(|l| l.workload.machine.workers.is_some() || l.workload.machine.speeds.is_some());
    Overrides {
        workers: (engine.simulated() && !fixed).then_some(lesson.sim_workers),
        ..Overrides::default()
    }
}

/// Runs lesson `index` on `engine` (see [`engine_for`]) and returns its text.
pub fn run_lesson(
    index: usize,
    pin: bool,
    engine: &Arc<dyn Engine + Send + Sync>,
    progress: &mut dyn FnMut(&str),
) -> anyhow::Result<String> {
    let lesson = &LESSONS[index];
    let engine = engine_for(index, engine);
    let overrides = lesson_overrides(index, engine.as_ref());
    let mut measured = Vec::new();
    for policy in lesson.policies {
        progress(&format!(
            "lesson {}: {} {} under {policy}...",
            index + 1,
            if engine.simulated() {
                "simulating"
            } else {
                "running"
            },
            lesson.workload
        ));
        measured.push(measure_on(
            lesson.workload,
            policy,
            pin,
            &overrides,
            engine.as_ref(),
        )?);
    }
    let conclusion = conclude(index, &measured);
    Ok(lesson_text(index, Some(&conclusion)))
}

/// The conclusion of lesson `index` from its runs, one per policy of the lesson, in order.
pub fn conclude(index: usize, measured: &[Measured]) -> String {
    let reports: Vec<&Report> = measured.iter().map(|m| &m.report).collect();
    let caveat = machine_caveat(&reports);
    let conclusion = match LESSONS[index].workload {
        "task-vs-data" => {
            let m = &measured[0];
            let waiting: Vec<String> = m.barriers.iter().map(|b| b.0.clone()).collect();
            let after: Vec<bool> = m
                .report
                .groups
                .iter()
                .map(|g| waiting.contains(&g.name))
                .collect();
            task_vs_data_conclusion(&m.report, &m.spans, &after)
        }
        "granularity" => granularity_conclusion(&measured[0].report, &measured[0].spans),
        "imbalance" => balance_conclusion(&measured[0].report, &measured[1].report),
        "simulation" => barrier_conclusion(&measured[0].report, &measured[0].barriers),
        "big-little" => hetero_conclusion(
            &measured[0].report,
            &measured[1].report,
            (big_on_slow(&measured[0]), big_on_slow(&measured[1])),
        ),
        "montage" => workflow_conclusion(&measured[0].report, &measured[1].report),
        _ => faults_conclusion(&measured[0].report),
    };
    format!("{caveat}{conclusion}")
}

/// Lesson `index` in words: its idea, what to watch, how to try it, and what was measured.
pub fn lesson_text(index: usize, conclusion: Option<&str>) -> String {
    let lesson = &LESSONS[index];
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Lesson {} of {}: {}",
        index + 1,
        LESSONS.len(),
        lesson.title
    );
    let _ = writeln!(out, "  {}", lesson.idea);
    let _ = writeln!(out, "  Watch: {}.", lesson.watch);
    let _ = writeln!(
        out,
        "  Try it: schedlab --workload {} --policy {}",
        lesson.workload,
        lesson.policies.last().copied().unwrap_or("steal")
    );
    if let Some(conclusion) = conclusion {
        let _ = writeln!(out, "  Measured: {conclusion}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Kind;
    use crate::report::{GroupReport, Percentiles, TaskCounts};
    use crate::workload;

    fn worker(id: usize, busy: u64, idle: u64, steals: u64) -> WorkerReport {
        WorkerReport {
            id,
            speed: 1.0,
            busy_ns: busy,
            blocked_ns: 0,
            idle_ns: idle,
            overhead_ns: 0,
            tasks: 10,
            steals,
            steal_attempts: steals,
            preempted_ns: None,
            preempted_busy_ns: 0,
            preempted_overhead_ns: 0,
            idle: Default::default(),
            spinning_ns: 0,
        }
    }

    fn report(policy: &str, makespan: u64, workers: Vec<WorkerReport>) -> Report {
        Report {
            schema: 1,
            workload: "t".into(),
            description: String::new(),
            policy: policy.into(),
            mode: "real".into(),
            seed: 0,
            makespan_ns: makespan,
            tasks: TaskCounts {
                total: 20,
                completed: 17,
                failed: 1,
                cancelled: 2,
                retried: 3,
            },
            workers,
            speeds_emulated: false,
            work_ns: 150_000_000,
            critical_path_ns: 60_000_000,
            critical_groups: vec!["a".into(), "b".into()],
            parallelism: 2.5,
            lower_bound_ns: 75_000_000,
            efficiency: 0.5,
            overhead_ns_per_task: 500,
            wait_ns: Percentiles::default(),
            groups: vec![
                GroupReport {
                    name: "tiny".into(),
                    count: 1000,
                    attempts: 1000,
                    mean_ns: 2_000,
                    p50_ns: 2_000,
                    p99_ns: 2_000,
                    max_ns: 3_000,
                    wait_p50_ns: 0,
                    wait_p99_ns: 0,
                    ..Default::default()
                },
                GroupReport {
                    name: "coarse".into(),
                    count: 2,
                    attempts: 2,
                    mean_ns: 1_000_000,
                    p50_ns: 1_000_000,
                    p99_ns: 1_000_000,
                    max_ns: 1_000_000,
                    wait_p50_ns: 0,
                    wait_p99_ns: 0,
                    ..Default::default()
                },
            ],
            checksum: 0,
            interrupted: false,
            machine: crate::report::MachineReport::default(),
            bound: "work".into(),
            utilisation: 0.5,
            diagnostics: Vec::new(),
            ..Default::default()
        }
    }

    #[test]
    fn balance_sentence_is_computed_from_the_reports() {
        let rr = report(
            "rr",
            200_000_000,
            vec![
                worker(0, 200_000_000, 0, 0),
                worker(1, 124_000_000, 76_000_000, 0),
            ],
        );
        let steal = report(
            "steal",
            138_000_000,
            vec![
                worker(0, 138_000_000, 0, 4),
                worker(1, 135_000_000, 3_000_000, 3),
            ],
        );
        assert_eq!(
            balance_conclusion(&rr, &steal),
            "steal finished 31% sooner than rr (138.00 ms against 200.00 ms); rr left core 1 idle 38% of the time, \
             steal's idlest core was idle 2%, after 7 steals."
        );
    }

    #[test]
    fn granularity_sentence_compares_the_phases() {
        let r = report(
            "steal",
            10_000_000,
            vec![worker(0, 1, 0, 0), worker(1, 1, 0, 0)],
        );
        let spans = [
            Span {
                start: 0,
                end: 4_000_000,
            },
            Span {
                start: 4_000_000,
                end: 5_100_000,
            },
        ];
        let s = granularity_conclusion(&r, &spans);
        assert!(
            s.starts_with(
                "1000 tasks of 2.0 µs did 2.00 ms of work in 4.00 ms, keeping 0.5 cores working on average"
            ),
            "{s}"
        );
        assert!(
            s.contains("2 tasks of 1.00 ms did 2.00 ms in 1.10 ms (1.8 cores)"),
            "{s}"
        );
        assert!(
            s.contains("The scheduler cost 500 ns per task, 25% of a tiny task's length."),
            "{s}"
        );
        assert!(
            s.ends_with("the tiny tasks kept 72% fewer cores working than the coarse ones."),
            "{s}"
        );
        // Phases that kept as many cores working draw no such conclusion.
        let even = [
            spans[0],
            Span {
                start: 4_000_000,
                end: 8_000_000,
            },
        ];
        assert!(
            granularity_conclusion(&r, &even)
                .ends_with("both phases kept about as many cores working."),
            "{}",
            granularity_conclusion(&r, &even)
        );
    }

    #[test]
    fn a_balance_without_steals_does_not_claim_any() {
        let rr = report("rr", 200_000_000, vec![worker(0, 200_000_000, 0, 0)]);
        let steal = report("steal", 150_000_000, vec![worker(0, 150_000_000, 0, 0)]);
        let s = balance_conclusion(&rr, &steal);
        assert!(s.ends_with("steal made no steals this time: its workers took every task from the shared queue the tasks were released to."), "{s}");
        assert!(!s.contains("after 0 steals"), "{s}");
    }

    #[test]
    fn task_vs_data_says_when_the_machine_has_too_few_cores_to_show_it() {
        let mut r = report(
            "steal",
            10_000_000,
            vec![worker(0, 1, 0, 0), worker(1, 1, 0, 0)],
        );
        // Two distinct operations, then their chunks.
        r.groups.push(GroupReport {
            name: "chunks".into(),
            count: 8,
            attempts: 8,
            mean_ns: 250_000,
            max_ns: 300_000,
            ..Default::default()
        });
        let spans = [
            Span {
                start: 0,
                end: 4_000_000,
            },
            Span {
                start: 0,
                end: 2_000,
            },
            Span {
                start: 4_000_000,
                end: 5_000_000,
            },
        ];
        let s = task_vs_data_conclusion(&r, &spans, &[false, false, true]);
        assert!(s.starts_with("The 2 different operations, one task each, did 4.00 ms of work in 4.00 ms (no schedule could take less than the biggest, coarse at 1.00 ms), keeping 1.0 of the 2 cores working on average."), "{s}");
        assert!(
            s.contains("in 8 chunks did 2.00 ms of work in 1.00 ms, keeping 2.0 cores working"),
            "{s}"
        );
        assert!(
            s.contains("On 2 cores, 2 operations are enough to give every core work"),
            "{s}"
        );
        r.workers.push(worker(2, 1, 0, 0));
        let s = task_vs_data_conclusion(&r, &spans, &[false, false, true]);
        assert!(
            s.ends_with("the distinct tasks could not use them all; the chunks could."),
            "{s}"
        );
    }

    #[test]
    fn a_busy_machine_is_said_before_the_conclusion() {
        let mut r = report(
            "steal",
            100_000_000,
            vec![worker(0, 50_000_000, 50_000_000, 0)],
        );
        assert_eq!(machine_caveat(&[&r]), "");
        r.workers[0].preempted_ns = Some(30_000_000);
        r.machine = crate::report::MachineReport {
            cores: 2,
            workers: 8,
            oversubscribed: true,
            pinned: false,
        };
        let c = machine_caveat(&[&r]);
        assert!(c.starts_with("These runs had 8 workers on 2 cores"), "{c}");
        assert!(c.contains("up to 30% of their time"), "{c}");
    }

    #[test]
    fn faults_and_barriers_and_hetero_sentences() {
        let r = report(
            "steal",
            100_000_000,
            vec![worker(0, 50_000_000, 50_000_000, 0)],
        );
        assert!(
            faults_conclusion(&r)
                .starts_with("3 attempts panicked and were retried, 1 tasks failed")
        );
        assert!(faults_conclusion(&r).contains("(17 completed + 1 failed + 2 cancelled)"));
        let b = barrier_conclusion(&r, &[("b".into(), 20_000_000)]);
        assert!(
            b.starts_with("At the 1 barriers the cores waited 20.00 ms in all for the slowest task of the step before (20.00 ms before b): 20% of the cores' time."),
            "{b}"
        );
        assert!(b.contains("Cores were idle 50% of the run"), "{b}");
        assert!(
            b.contains("The critical path through a → b is 60.00 ms of the 100.00 ms run"),
            "{b}"
        );
        let fast = report("hetero", 50_000_000, vec![]);
        let h = hetero_conclusion(&r, &fast, (2, 0));
        assert_eq!(
            h,
            "hetero finished 50% sooner than fifo (50.00 ms against 100.00 ms): under fifo the slow cores ran 2 of the big tasks, under hetero 0."
        );
    }

    /// Group `a` of two tasks and group `b` of one (`b_has` added to its fields).
    fn two_groups(b_has: &str) -> Plan {
        let text = format!(
            r#"(name: "t", groups: [(name: "a", kernel: Spin(us: 1.0), count: 2), (name: "b", kernel: Spin(us: 1.0), count: 1{b_has})])"#
        );
        Plan::new(&workload::parse(&text, "t").unwrap().workload, 0)
    }

    /// An event of attempt 1 with outcome `Completed` (for the `Take` after a body).
    fn ev(t: u64, kind: Kind, task: u32) -> crate::record::Event {
        crate::record::Event {
            t,
            task,
            kind,
            attempt: 1,
            aux: 1,
        }
    }

    #[test]
    fn spans_come_from_the_timeline() {
        let plan = two_groups("");
        let timeline = Timeline {
            workers: vec![
                vec![
                    ev(10, Kind::Run, 0),
                    ev(20, Kind::Take, 0),
                    ev(30, Kind::Run, 2),
                    ev(45, Kind::Take, 0),
                ],
                vec![ev(12, Kind::Run, 1), ev(25, Kind::Take, 0)],
            ],
        };
        let (spans, runs) = spans(&plan, &timeline);
        assert_eq!(
            spans,
            vec![Span { start: 10, end: 25 }, Span { start: 30, end: 45 }]
        );
        assert_eq!(runs, vec![vec![1, 1], vec![1, 0]]);
    }

    #[test]
    fn a_barrier_costs_each_worker_from_its_last_task_to_the_next_step() {
        let plan = two_groups(r#", after: ["a"]"#);
        // Worker 0 ends its `a` at 20 and starts `b` at 40; worker 1 ends at 35.
        let timeline = Timeline {
            workers: vec![
                vec![
                    ev(10, Kind::Run, 0),
                    ev(20, Kind::Take, 0),
                    ev(40, Kind::Run, 2),
                    ev(45, Kind::Take, 0),
                ],
                vec![ev(12, Kind::Run, 1), ev(35, Kind::Take, 0)],
            ],
        };
        let (spans, _) = spans(&plan, &timeline);
        assert_eq!(
            barriers(&plan, &timeline, &spans),
            vec![("b".to_string(), 20 + 5)]
        );
    }
}
