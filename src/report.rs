//! The run report: what a run measured, in the shape `../shared/spec/cli-and-report.md` fixes,
//! as JSON (`--json`) and as the headless summary table.
//!
//! Everything here is computed from what the workers measured themselves ([`RunResult`]); no
//! figure is estimated. Per worker, busy and overhead are measured and idle is the rest of the
//! makespan, so the three add up to it by construction.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::escape::printable;
use crate::exec::{GroupStats, RunResult};
use crate::plan::Plan;
use crate::record::Outcome;
use crate::times::Times;

use crate::costs::CostModel;
pub use crate::diagnose::{Diagnostic, PREEMPTED_WARNING};
pub use crate::fmt::fmt_ns;
use crate::workload::ResolvedMachine;

/// The report's schema version.
pub const SCHEMA: u32 = 1;

/// A run report. Fields may be added; these keep their names and meaning.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Report {
    /// Always [`SCHEMA`].
    pub schema: u32,
    /// Workload name.
    pub workload: String,
    /// What to watch for.
    pub description: String,
    /// Canonical policy name.
    pub policy: String,
    /// `real`: real threads and real work; `sim`: the simulator, in virtual time.
    pub mode: String,
    /// The seed used.
    pub seed: u64,
    /// From the start to the moment the last task finished.
    pub makespan_ns: u64,
    /// Task counts.
    pub tasks: TaskCounts,
    /// Per worker.
    pub workers: Vec<WorkerReport>,
    /// Whether some worker speeds are emulated (below 1.0).
    pub speeds_emulated: bool,
    /// Sum of task body times at speed 1.0.
    pub work_ns: u64,
    /// Longest chain of dependent tasks at speed 1.0, arrivals included (a lower bound).
    pub critical_path_ns: u64,
    /// The groups along the critical path, first to last (for a task graph, the kinds).
    pub critical_groups: Vec<String>,
    /// The graph tasks along the critical path, first to last, by name (a task graph only):
    /// computed exactly over the tasks, each weighing what its attempts measured.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub critical_tasks: Vec<String>,
    /// Work over span (`work_ns / critical_path_ns`): how many cores the run could keep busy
    /// at best.
    pub parallelism: f64,
    /// max(work / Σ speeds, critical path).
    pub lower_bound_ns: u64,
    /// lower bound / makespan.
    pub efficiency: f64,
    /// Scheduler time over all workers / attempts run.
    pub overhead_ns_per_task: u64,
    /// Ready → start.
    pub wait_ns: Percentiles,
    /// Per group: body time per attempt.
    pub groups: Vec<GroupReport>,
    /// Wrapping sum of every completed task's result: equal across policies for one seed.
    pub checksum: u64,
    /// The run was stopped (Ctrl-C) before every task finished; unfinished tasks count as cancelled.
    pub interrupted: bool,
    /// The machine the run had: its cores against the workers.
    #[serde(default)]
    pub machine: MachineReport,
    /// Which term of `lower_bound_ns` is the largest: `work`, `critical_path` or `arrivals`.
    #[serde(default)]
    pub bound: String,
    /// Time computing (inside task bodies, less time blocked and time the OS kept the worker
    /// off its CPU there) over workers × makespan.
    #[serde(default)]
    pub utilisation: f64,
    /// What the run shows that a user should know, each with a stable code.
    #[serde(default)]
    pub diagnostics: Vec<Diagnostic>,
    /// Per task, release (arrival, or its dependencies met) → end of its last attempt.
    #[serde(default)]
    pub response_ns: Percentiles,
    /// How the workers' idle time was split by cause: `timeline` (exact, from the recorded
    /// events) or `probes` (the queues looked at as each idle spell began and ended).
    #[serde(default)]
    pub idle_split_from: String,
    /// The cost model a simulated run used (absent for a real run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_model: Option<CostModel>,
    /// Where a simulated run's task times came from: `estimates` (the kernels' estimates
    /// under the cost model) or `measured in PATH` (a recording of a real run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_costs: Option<String>,
    /// What one unit of a task graph's time became, in ns (a workload with a task graph).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_unit_ns: Option<u64>,
    /// The file an imported graph came from, and its format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceReport>,
    /// How long the real run that an imported workflow recorded took, scaled by the unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_makespan_ns: Option<u64>,
    /// On how many cores that recorded run ran, where the file says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_cores: Option<u64>,
}

/// Where an imported graph came from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct SourceReport {
    /// `stg`, `wfformat` or `dot`.
    pub format: String,
    /// The file it was imported from.
    pub file: String,
}

/// The machine under a run, against its workers.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct MachineReport {
    /// CPUs the process could run on.
    pub cores: usize,
    /// Worker threads.
    pub workers: usize,
    /// More workers than cores: the OS time-slices them.
    pub oversubscribed: bool,
    /// Each worker was pinned to a core of its own.
    pub pinned: bool,
}

/// Task counts; `completed + failed + cancelled == total`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct TaskCounts {
    /// Every task of the run, spawned ones included.
    pub total: u64,
    /// Ran to completion.
    pub completed: u64,
    /// Panicked on every attempt.
    pub failed: u64,
    /// Never ran: something they depend on failed (or the run was interrupted).
    pub cancelled: u64,
    /// Attempts that were retried.
    pub retried: u64,
}

/// One worker's share of the makespan.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WorkerReport {
    /// Worker index.
    pub id: usize,
    /// Relative speed (emulated below 1.0).
    pub speed: f64,
    /// Inside task bodies, emulated slowdown included.
    pub busy_ns: u64,
    /// The part of `busy_ns` a task spent blocked (sleeping, waiting for I/O).
    pub blocked_ns: u64,
    /// The rest of the makespan.
    pub idle_ns: u64,
    /// Inside calls into the scheduler.
    pub overhead_ns: u64,
    /// Attempts run.
    pub tasks: u64,
    /// Tasks taken from other workers.
    pub steals: u64,
    /// Victims tried.
    pub steal_attempts: u64,
    /// Time the worker's thread was ready to run but waiting for a CPU (it overlaps busy,
    /// scheduler and idle time); `null` where the OS does not tell.
    #[serde(default)]
    pub preempted_ns: Option<u64>,
    /// The part of `preempted_ns` found inside task bodies (left out of `work_ns` and the
    /// groups' times).
    #[serde(default)]
    pub preempted_busy_ns: u64,
    /// The part of `preempted_ns` found inside calls into the scheduler (left out of
    /// `overhead_ns_per_task`).
    #[serde(default)]
    pub preempted_overhead_ns: u64,
    /// `idle_ns` split by cause.
    #[serde(default)]
    pub idle: IdleSplit,
    /// The part of `idle_ns` spent backing off (spinning or yielding) instead of parked.
    #[serde(default)]
    pub spinning_ns: u64,
}

/// A worker's idle time by cause; the two add up to its `idle_ns`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct IdleSplit {
    /// While at least one ready task waited in a queue this worker was not given: the
    /// policy's doing.
    pub queued_elsewhere_ns: u64,
    /// While no task was ready anywhere: the workload's doing (dependencies, arrivals, the
    /// end of the run).
    pub starved_ns: u64,
}

/// Percentiles of a time distribution.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct Percentiles {
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Largest.
    pub max: u64,
}

impl Percentiles {
    /// The percentiles of `times`.
    pub fn of(times: &Times) -> Percentiles {
        Percentiles {
            p50: times.quantile(0.5),
            p90: times.quantile(0.9),
            p99: times.quantile(0.99),
            max: times.max(),
        }
    }
}

/// One group's body times.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct GroupReport {
    /// Group name.
    pub name: String,
    /// Tasks in the group (spawned ones included).
    pub count: u64,
    /// Attempts run.
    pub attempts: u64,
    /// Mean body time per attempt.
    pub mean_ns: u64,
    /// Median.
    pub p50_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// Longest.
    pub max_ns: u64,
    /// Median ready → start wait of the group's attempts.
    pub wait_p50_ns: u64,
    /// 99th percentile of the wait.
    pub wait_p99_ns: u64,
    /// Release → end of the last attempt, per task of the group.
    #[serde(default)]
    pub response_ns: Percentiles,
    /// Whether the group's tasks arrive over time (then its response times, not the
    /// makespan, tell how well it was served).
    #[serde(default)]
    pub arrives_over_time: bool,
}

impl Report {
    /// Builds the report of `run`.
    pub fn new(
        workload: &str,
        description: &str,
        plan: &Plan,
        machine: &ResolvedMachine,
        run: &RunResult,
    ) -> Report {
        let makespan = run.makespan_ns;
        // Idle by cause: exact from a recorded timeline, else what the workers probed.
        let exact = (!run.timeline.is_empty()).then(|| run.timeline.idle_while_queued());
        let workers: Vec<WorkerReport> = run
            .workers
            .iter()
            .enumerate()
            .map(|(id, w)| {
                // A worker's last look for work may end after the last task did: clip to the
                // makespan so that busy + overhead + idle is exactly the makespan.
                let busy_ns = w.busy_ns.min(makespan);
                let overhead_ns = w.overhead_ns.min(makespan - busy_ns);
                let idle_ns = makespan - busy_ns - overhead_ns;
                let elsewhere = exact
                    .as_ref()
                    .map_or(w.queued_elsewhere_ns, |e| e[id])
                    .min(idle_ns);
                WorkerReport {
                    id,
                    speed: machine.speeds[id],
                    busy_ns,
                    blocked_ns: w.blocked_ns.min(busy_ns),
                    idle_ns,
                    overhead_ns,
                    tasks: w.tasks,
                    steals: w.steals,
                    steal_attempts: w.steal_attempts,
                    preempted_ns: w.preempted_ns.map(|p| p.min(makespan)),
                    preempted_busy_ns: w.preempted_busy_ns.min(busy_ns),
                    preempted_overhead_ns: w.preempted_overhead_ns.min(overhead_ns),
                    idle: IdleSplit {
                        queued_elsewhere_ns: elsewhere,
                        starved_ns: idle_ns - elsewhere,
                    },
                    spinning_ns: w.spin_ns.min(idle_ns),
                }
            })
            .collect();
        let mut counts = TaskCounts {
            total: run.total as u64,
            completed: run.released.completed,
            failed: run.released.failed,
            cancelled: run.released.cancelled,
            retried: run.released.retried,
        };
        for w in &run.workers {
            counts.completed += w.tally.completed;
            counts.failed += w.tally.failed;
            counts.cancelled += w.tally.cancelled;
            counts.retried += w.tally.retried;
        }
        // Tasks an interrupt left unfinished never ran to an outcome: they are cancelled.
        counts.cancelled += counts
            .total
            .saturating_sub(counts.completed + counts.failed + counts.cancelled);
        let attempts: u64 = run.workers.iter().map(|w| w.tasks).sum();
        // The scheduler's cost is its calls' time less what the OS held the workers off their
        // cores inside them (see `exec::PREEMPTION_CHECK_NS`): the machine's doing, not the
        // policy's.
        let overhead: u64 = workers
            .iter()
            .map(|w| w.overhead_ns - w.preempted_overhead_ns)
            .sum();
        let work_ns: u64 = run.workers.iter().map(|w| w.work_ns).sum();
        let stats = run.group_stats(plan.groups.len());
        let wait = Times::merged(stats.iter().map(|g| &g.waits));
        let response = Times::merged(stats.iter().map(|g| &g.responses));
        let critical = critical_path(plan, &stats, &run.task_ns);
        let (critical_path_ns, arrival_bound) = (critical.length_ns, critical.arrivals);
        let speed_sum: f64 = machine.speeds.iter().sum();
        let spread_work = (work_ns as f64 / speed_sum) as u64;
        let lower_bound_ns = spread_work.max(critical_path_ns);
        let bound = if spread_work >= critical_path_ns {
            "work"
        } else if arrival_bound {
            "arrivals"
        } else {
            "critical_path"
        };
        let mut report = Report {
            schema: SCHEMA,
            workload: workload.to_string(),
            description: description.to_string(),
            policy: run.policy.to_string(),
            mode: if run.sim.is_some() { "sim" } else { "real" }.to_string(),
            seed: plan.seed,
            makespan_ns: makespan,
            tasks: counts,
            workers,
            speeds_emulated: machine.emulated(),
            work_ns,
            critical_path_ns,
            parallelism: if critical_path_ns == 0 {
                0.0
            } else {
                work_ns as f64 / critical_path_ns as f64
            },
            critical_groups: critical.groups,
            critical_tasks: plan.graph.as_ref().map_or_else(Vec::new, |graph| {
                critical
                    .tasks
                    .iter()
                    .map(|&l| graph.names[l as usize].clone())
                    .collect()
            }),
            lower_bound_ns,
            efficiency: if makespan == 0 {
                0.0
            } else {
                lower_bound_ns as f64 / makespan as f64
            },
            overhead_ns_per_task: overhead.checked_div(attempts).unwrap_or(0),
            wait_ns: Percentiles::of(&wait),
            groups: plan
                .groups
                .iter()
                .zip(&stats)
                .map(|(g, stats)| {
                    let (h, wait) = (&stats.bodies, &stats.waits);
                    GroupReport {
                        name: g.name.clone(),
                        count: g.roots as u64 * u64::from(g.tree),
                        attempts: h.len(),
                        mean_ns: h.mean(),
                        p50_ns: h.quantile(0.5),
                        p99_ns: h.quantile(0.99),
                        max_ns: h.max(),
                        wait_p50_ns: wait.quantile(0.5),
                        wait_p99_ns: wait.quantile(0.99),
                        response_ns: Percentiles::of(&stats.responses),
                        arrives_over_time: g.timed,
                    }
                })
                .collect(),
            checksum: run
                .workers
                .iter()
                .fold(0, |sum, w| sum.wrapping_add(w.checksum)),
            interrupted: run.interrupted,
            machine: MachineReport {
                cores: run.cores,
                workers: machine.workers(),
                oversubscribed: machine.workers() > run.cores,
                pinned: run.pinned,
            },
            bound: bound.to_string(),
            utilisation: 0.0,
            diagnostics: Vec::new(),
            response_ns: Percentiles::of(&response),
            idle_split_from: if exact.is_some() {
                "timeline"
            } else if run.sim.is_some() {
                "simulation"
            } else {
                "probes"
            }
            .to_string(),
            cost_model: run.sim.as_ref().map(|s| s.cost_model.clone()),
            task_costs: run.sim.as_ref().map(|s| {
                s.measured_from
                    .as_ref()
                    .map_or("estimates".to_string(), |from| {
                        format!("measured in {from}")
                    })
            }),
            ..Report::default()
        };
        if let Some(source) = &plan.source {
            report.time_unit_ns = Some(source.unit_ns);
            report.source = source.format.as_ref().map(|(format, file)| SourceReport {
                format: format.clone(),
                file: file.clone(),
            });
            report.recorded_makespan_ns = source.recorded_makespan_ns;
            report.recorded_cores = source.recorded_cores;
        }
        report.utilisation = report.computed_utilisation();
        report.diagnostics = crate::diagnose::diagnose(&report.figures());
        report
    }

    /// Time computing over workers × makespan (see [`Report::utilisation`]).
    pub fn computed_utilisation(&self) -> f64 {
        let total = self.makespan_ns as f64 * self.workers.len() as f64;
        let computing: u64 = self
            .workers
            .iter()
            .map(|w| {
                w.busy_ns
                    .saturating_sub(w.blocked_ns)
                    .saturating_sub(w.preempted_busy_ns)
            })
            .sum();
        if total > 0.0 {
            (computing as f64 / total).min(1.0)
        } else {
            0.0
        }
    }

    /// The scheduler's time over the tasks' work (`scheduler / work` wherever it is shown):
    /// its calls' time less what the OS held the workers off their cores inside them, over
    /// `work_ns`. The one measure of how much of the gain the scheduler eats.
    pub fn scheduler_per_work(&self) -> f64 {
        let overhead: u64 = self
            .workers
            .iter()
            .map(|w| w.overhead_ns - w.preempted_overhead_ns.min(w.overhead_ns))
            .sum();
        if self.work_ns == 0 {
            0.0
        } else {
            overhead as f64 / self.work_ns as f64
        }
    }

    /// The share of the workers' time within the run that the OS kept them waiting for a
    /// CPU; `None` where it does not tell.
    pub fn preempted_share(&self) -> Option<f64> {
        let total = self.makespan_ns as f64 * self.workers.len() as f64;
        let preempted: Option<u64> = self.workers.iter().map(|w| w.preempted_ns).sum();
        preempted.filter(|_| total > 0.0).map(|p| p as f64 / total)
    }

    /// Whether this is a simulated run (`mode: "sim"`).
    pub fn is_simulated(&self) -> bool {
        self.mode == "sim"
    }

    /// How the idle split was measured, in words.
    fn idle_split_in_words(&self) -> &'static str {
        if self.idle_split_from == "timeline" {
            "exact, from the recorded events"
        } else if self.idle_split_from == "simulation" {
            "exact, from the simulated queues"
        } else {
            "from the queues probed as each idle spell began and ended"
        }
    }

    /// What the rules of [`crate::diagnose`] look at, from this report.
    pub fn figures(&self) -> crate::diagnose::Figures {
        crate::diagnose::Figures {
            span_ns: self.makespan_ns,
            cores: self.machine.cores,
            workers: self
                .workers
                .iter()
                .map(|w| crate::diagnose::WorkerFigures {
                    busy_ns: w.busy_ns,
                    idle_ns: w.idle_ns,
                    queued_elsewhere_ns: w.idle.queued_elsewhere_ns,
                    spinning_ns: w.spinning_ns,
                })
                .collect(),
            attempts: self.workers.iter().map(|w| w.tasks).sum(),
            work_ns: self.work_ns,
            overhead_ns_per_task: self.overhead_ns_per_task,
            idle_split_from: self.idle_split_in_words(),
            preempted: self.preempted_share().map(|share| {
                let inside = self
                    .workers
                    .iter()
                    .map(|w| w.preempted_busy_ns + w.preempted_overhead_ns)
                    .sum();
                (share, inside)
            }),
            bound: self.bound.clone(),
            critical_path_ns: self.critical_path_ns,
            critical_groups: self.critical_groups.clone(),
            response_p99_ns: self.response_ns.p99,
            failed: self.tasks.failed,
            cancelled: self.tasks.cancelled,
        }
    }

    /// The headless summary table.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let speeds = compact_speeds(self.workers.iter().map(|w| w.speed));
        let _ = writeln!(
            out,
            "{}: {} under {} on {} workers (speeds {}{}), seed {}",
            if self.is_simulated() {
                "SIMULATED"
            } else {
                "schedlab"
            },
            printable(&self.workload),
            printable(&self.policy),
            self.workers.len(),
            speeds,
            if self.speeds_emulated && !self.is_simulated() {
                ", slower speeds emulated"
            } else {
                ""
            },
            self.seed
        );
        if self.interrupted {
            let _ = writeln!(
                out,
                "INTERRUPTED: the run was stopped before every task finished"
            );
        }
        if let Some(model) = &self.cost_model {
            // What this run's policy was charged, its own overrides applied.
            let c = model.for_policy(&self.policy);
            let _ = writeln!(
                out,
                "virtual time: a simulated machine of {} cores, nothing ran; task times {}; {} paid push {} take {} steal {} (empty victim {}) wake {} ns, from {}",
                self.machine.workers,
                match self.task_costs.as_deref() {
                    None | Some("estimates") if self.time_unit_ns.is_some() => {
                        "exactly as the graph gives them (a kernel's from its cost in the model)"
                            .to_string()
                    }
                    None | Some("estimates") => "from the kernels' costs in the model".to_string(),
                    Some(other) => printable(other).to_string(),
                },
                printable(&self.policy),
                c.push,
                c.take,
                c.steal,
                c.failed_steal,
                c.wake,
                printable(&model.measured_on),
            );
        } else if self.machine.cores > 0 {
            let _ = writeln!(
                out,
                "machine {} workers on {} cores{}{}; OS kept workers waiting for a CPU {}",
                self.machine.workers,
                self.machine.cores,
                if self.machine.oversubscribed {
                    " (oversubscribed)"
                } else {
                    ""
                },
                if self.machine.pinned {
                    ", each worker pinned to a core"
                } else {
                    ""
                },
                self.preempted_share()
                    .map_or("(not told by this OS)".to_string(), |s| format!(
                        "{:.1} % of their time",
                        s * 100.0
                    ))
            );
        }
        let speed_sum: f64 = self.workers.iter().map(|w| w.speed).sum();
        let _ = writeln!(
            out,
            "makespan {}   efficiency {:.1} %   utilisation {:.1} %   lower bound {} (work {} over speed {}, critical path {})",
            fmt_ns(self.makespan_ns),
            self.efficiency * 100.0,
            self.utilisation * 100.0,
            fmt_ns(self.lower_bound_ns),
            fmt_ns(self.work_ns),
            speed_sum,
            fmt_ns(self.critical_path_ns),
        );
        if self.critical_groups.len() > 1 {
            let _ = writeln!(
                out,
                "critical path {} through {}; parallelism (work / span) {:.1}",
                fmt_ns(self.critical_path_ns),
                printable(&self.critical_groups.join(" -> ")),
                self.parallelism
            );
        }
        let _ = writeln!(out, "bound: {}", bound_in_words(&self.bound));
        for d in &self.diagnostics {
            let _ = writeln!(out, "{d}");
        }
        let t = &self.tasks;
        let _ = writeln!(
            out,
            "tasks {}: {} completed, {} failed, {} cancelled, {} retried",
            t.total, t.completed, t.failed, t.cancelled, t.retried
        );
        let _ = writeln!(
            out,
            "scheduler overhead {} per task   wait p50 {}  p90 {}  p99 {}  max {}",
            fmt_ns(self.overhead_ns_per_task),
            fmt_ns(self.wait_ns.p50),
            fmt_ns(self.wait_ns.p90),
            fmt_ns(self.wait_ns.p99),
            fmt_ns(self.wait_ns.max),
        );
        let r = &self.response_ns;
        let _ = writeln!(
            out,
            "response (release to end) p50 {}  p90 {}  p99 {}  max {}",
            fmt_ns(r.p50),
            fmt_ns(r.p90),
            fmt_ns(r.p99),
            fmt_ns(r.max),
        );
        let elsewhere: u64 = self
            .workers
            .iter()
            .map(|w| w.idle.queued_elsewhere_ns)
            .sum();
        let idle: u64 = self.workers.iter().map(|w| w.idle_ns).sum();
        if idle > 0 {
            let _ = writeln!(
                out,
                "idle {} in all: {:.0} % while ready tasks waited in queues the idle workers were not given (the policy's), {:.0} % with nothing ready (the workload's); {}",
                fmt_ns(idle),
                elsewhere as f64 * 100.0 / idle as f64,
                (idle - elsewhere) as f64 * 100.0 / idle as f64,
                self.idle_split_in_words()
            );
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "core   speed   busy %   blocked %   idle %   queued %   overhead %   preempted %      tasks   steals / attempts"
        );
        let pct = |x: u64| {
            if self.makespan_ns == 0 {
                0.0
            } else {
                x as f64 * 100.0 / self.makespan_ns as f64
            }
        };
        for w in &self.workers {
            let _ = writeln!(
                out,
                "{:>4}   {:>5.2}   {:>6.1}   {:>9.1}   {:>6.1}   {:>8.1}   {:>10.1}   {:>11}   {:>8}   {:>6} / {}",
                w.id,
                w.speed,
                // Busy is computing: time blocked inside a body has its own column.
                pct(w.busy_ns - w.blocked_ns),
                pct(w.blocked_ns),
                pct(w.idle_ns),
                // The part of idle spent while ready work waited elsewhere.
                pct(w.idle.queued_elsewhere_ns),
                pct(w.overhead_ns),
                w.preempted_ns
                    .map_or("n/a".to_string(), |p| format!("{:.1}", pct(p))),
                w.tasks,
                w.steals,
                w.steal_attempts
            );
        }
        let _ = writeln!(out);
        let width = self
            .groups
            .iter()
            .map(|g| g.name.len())
            .max()
            .unwrap_or(5)
            .max(5);
        let _ = writeln!(
            out,
            "{:<width$}   {:>8}   {:>9}   {:>9}   {:>9}   {:>9}   {:>9}",
            "group", "tasks", "mean", "p50", "p99", "wait p99", "resp p99"
        );
        for g in &self.groups {
            let _ = writeln!(
                out,
                "{:<width$}   {:>8}   {:>9}   {:>9}   {:>9}   {:>9}   {:>9}",
                printable(&g.name),
                g.count,
                fmt_ns(g.mean_ns),
                fmt_ns(g.p50_ns),
                fmt_ns(g.p99_ns),
                fmt_ns(g.wait_p99_ns),
                fmt_ns(g.response_ns.p99)
            );
        }
        out
    }
}

/// The longest chain of groups through `after`, each group weighing its longest attempt (and,
/// for `Fib`, at least its chain of nested tasks times the shortest one). A group that arrives
/// over time cannot end before any of its tasks' arrival plus that task's body. Every weight is
/// an exact measured time of something that ran (never a histogram bucket's bound, never a task
/// that did not run), and every real chain of dependent tasks is at least this long, so it is a
/// true lower bound on the makespan, interrupted runs included.
///
/// Groups form a DAG (checked when loading); the walk is iterative and visits every group and
/// every `after` edge once, so a chain of 100 000 groups costs what 100 000 lines do.
///
/// A task graph's tasks are weighed one by one instead (what each task's attempts measured,
/// `task_ns`), along its own edges and from the groups its tasks wait for: the exact longest
/// chain of the graph as it ran.
fn critical_path(plan: &Plan, stats: &[GroupStats], task_ns: &[u64]) -> CriticalPath {
    let own: Vec<(u64, u64)> = stats
        .iter()
        .enumerate()
        .map(|(g, s)| {
            let h = &s.bodies;
            // A graph's kinds are weighed task by task below.
            if h.is_empty() || plan.groups[g].graph {
                return (0, 0);
            }
            let depth = plan.groups[g]
                .fib
                .as_ref()
                .map_or(1, |f| u64::from(f.depth()));
            (
                h.max().max(depth.saturating_mul(h.min())),
                s.arrival_floor_ns,
            )
        })
        .collect();
    // Longest path ending at each group, with the prerequisite it came through, in an order
    // where every group comes after its prerequisites.
    let mut best: Vec<(u64, Option<usize>)> = vec![(0, None); plan.groups.len()];
    // Whether the longest path ending at each group starts at an arrival (its length set by
    // when tasks were let in, not by work alone).
    let mut arrived = vec![false; plan.groups.len()];
    for g in plan.group_order() {
        let before = plan.groups[g].after.iter().map(|&a| (best[a].0, a)).max();
        let (weight, arrival_floor) = own[g];
        let through = before.map_or(0, |b| b.0) + weight;
        (best[g], arrived[g]) = if through >= arrival_floor {
            let from = before.map(|b| b.1);
            ((through, from), from.is_some_and(|f| arrived[f]))
        } else {
            ((arrival_floor, None), true)
        };
    }
    let group_chain = |end: usize| {
        let mut chain = vec![plan.groups[end].name.clone()];
        let mut at = end;
        while let Some(prev) = best[at].1 {
            chain.push(plan.groups[prev].name.clone());
            at = prev;
        }
        chain.reverse();
        chain
    };
    let by_groups = best
        .iter()
        .enumerate()
        .filter(|&(g, _)| !plan.groups[g].graph)
        .max_by_key(|(_, b)| b.0);
    let graph_path = plan
        .graph
        .as_ref()
        .filter(|_| !task_ns.is_empty())
        .map(|graph| graph_critical_path(graph, task_ns, &best));
    match (by_groups, graph_path) {
        (_, Some(path)) if by_groups.is_none_or(|(_, b)| path.length_ns >= b.0) => {
            let (from, arrivals) = match path.from_group {
                Some(g) => (group_chain(g), arrived[g]),
                None => (Vec::new(), false),
            };
            let mut groups = from;
            for &l in &path.tasks {
                let g = plan
                    .locate(plan.graph.as_ref().map_or(0, |gr| gr.first) + l)
                    .0;
                if groups.last() != Some(&plan.groups[g].name) {
                    groups.push(plan.groups[g].name.clone());
                }
            }
            CriticalPath {
                length_ns: path.length_ns,
                groups,
                tasks: path.tasks,
                arrivals: arrivals && path.length_ns > 0,
            }
        }
        (Some((end, &(length, _))), _) => CriticalPath {
            length_ns: length,
            groups: group_chain(end),
            tasks: Vec::new(),
            arrivals: arrived[end] && length > 0,
        },
        (None, _) => CriticalPath::default(),
    }
}

/// The longest chain of dependent tasks and where it runs.
#[derive(Debug, Clone, Default)]
struct CriticalPath {
    length_ns: u64,
    /// The groups (or a graph's kinds) along it, first to last.
    groups: Vec<String>,
    /// The graph tasks along it, first to last.
    tasks: Vec<u32>,
    /// Whether it starts at an arrival.
    arrivals: bool,
}

/// A task graph's longest chain as it ran, each task weighing its attempts' `task_ns`, from
/// the groups its tasks wait for (their chains ending at `best`).
struct GraphPath {
    length_ns: u64,
    tasks: Vec<u32>,
    /// The group the chain comes from, if it starts after one.
    from_group: Option<usize>,
}

fn graph_critical_path(
    graph: &crate::plan::TaskGraph,
    task_ns: &[u64],
    best: &[(u64, Option<usize>)],
) -> GraphPath {
    #[derive(Clone, Copy)]
    enum From {
        Start,
        Task(u32),
        Group(usize),
    }
    let mut waits_at = 0;
    let mut group_before = vec![(0u64, None); graph.len()];
    // `waits` is sorted by task: the groups each task waits for.
    while let Some(&(l, g)) = graph.waits.get(waits_at) {
        if best[g].0 >= group_before[l as usize].0 {
            group_before[l as usize] = (best[g].0, Some(g));
        }
        waits_at += 1;
    }
    let mut end = vec![(0u64, From::Start); graph.len()];
    for &l in &graph.order {
        let l = l as usize;
        let mut start = match group_before[l] {
            (at, Some(g)) => (at, From::Group(g)),
            _ => (0, From::Start),
        };
        for &p in graph.predecessors(l) {
            let at = end[p as usize].0;
            // At a tie a task is the better story than a group.
            if at > start.0 || (at == start.0 && !matches!(start.1, From::Task(_))) {
                start = (at, From::Task(p));
            }
        }
        end[l] = (start.0 + task_ns[l], start.1);
    }
    let Some((last, &(length_ns, _))) = end.iter().enumerate().max_by_key(|(_, e)| e.0) else {
        return GraphPath {
            length_ns: 0,
            tasks: Vec::new(),
            from_group: None,
        };
    };
    let mut tasks = vec![last as u32];
    let mut from_group = None;
    let mut at = last;
    loop {
        match end[at].1 {
            From::Task(p) => {
                tasks.push(p);
                at = p as usize;
            }
            From::Group(g) => {
                from_group = Some(g);
                break;
            }
            From::Start => break,
        }
    }
    tasks.reverse();
    GraphPath {
        length_ns,
        tasks,
        from_group,
    }
}

/// Speeds for a line of text: `1, 1, 0.5, 0.5`, or for many workers runs of equal ones,
/// `1000×1` or `8×1, 8×0.5`, so that a thousand workers take a few characters, not a screen.
pub fn compact_speeds(speeds: impl Iterator<Item = f64>) -> String {
    let mut runs: Vec<(f64, usize)> = Vec::new();
    let mut count = 0;
    for s in speeds {
        count += 1;
        match runs.last_mut() {
            Some((last, n)) if *last == s => *n += 1,
            _ => runs.push((s, 1)),
        }
    }
    let fmt = |s: f64| crate::workload::fmt_speed(s);
    if count <= 8 {
        runs.iter()
            .flat_map(|&(s, n)| std::iter::repeat_n(fmt(s), n))
            .collect::<Vec<_>>()
            .join(", ")
    } else {
        runs.iter()
            .map(|&(s, n)| format!("{n}×{}", fmt(s)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What a report's `bound` means, for people.
pub fn bound_in_words(bound: &str) -> &'static str {
    match bound {
        "work" => "the work: it cannot be spread thinner over these workers",
        "critical_path" => "the critical path: the longest chain of dependent tasks",
        "arrivals" => "the arrivals: tasks cannot finish before they are let in",
        _ => "not recorded",
    }
}

/// Where and when one task attempt ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// The task.
    pub task: u32,
    /// The worker that ran it.
    pub worker: usize,
    /// Its body's start, ns.
    pub start_ns: u64,
    /// Its body's end, ns.
    pub end_ns: u64,
}

/// The attempts the critical path runs through: for a task graph's path, each of its tasks'
/// last finished attempt; else in each group of `critical_groups`, its longest recorded
/// attempt, which is the group's weight in [`Report::critical_path_ns`].
pub fn critical_attempts(
    plan: &Plan,
    report: &Report,
    timeline: &crate::record::Timeline,
) -> Vec<Attempt> {
    if !report.critical_tasks.is_empty() {
        let path: Vec<usize> = report
            .critical_tasks
            .iter()
            .filter_map(|name| plan.graph_task_named(name))
            .collect();
        let mut last: Vec<Option<Attempt>> = vec![None; plan.graph.as_ref().map_or(0, |g| g.len())];
        for recorded in timeline.attempts() {
            let (Some(l), Some(end_ns)) = (plan.graph_task(recorded.run.task), recorded.end_ns())
            else {
                continue;
            };
            let later = last[l].is_none_or(|a| a.end_ns < end_ns);
            if recorded.outcome() != Some(Outcome::None) && later {
                last[l] = Some(Attempt {
                    task: recorded.run.task,
                    worker: recorded.worker,
                    start_ns: recorded.run.t,
                    end_ns,
                });
            }
        }
        return path.iter().filter_map(|&l| last[l]).collect();
    }
    let critical_groups = &report.critical_groups;
    let index: std::collections::HashMap<&str, usize> = plan
        .groups
        .iter()
        .enumerate()
        .map(|(g, group)| (group.name.as_str(), g))
        .collect();
    let wanted: Vec<usize> = critical_groups
        .iter()
        .filter_map(|name| index.get(name.as_str()).copied())
        .collect();
    let mut is_wanted = vec![false; plan.groups.len()];
    for &g in &wanted {
        is_wanted[g] = true;
    }
    let mut longest: Vec<Option<Attempt>> = vec![None; plan.groups.len()];
    for recorded in timeline.attempts() {
        let (g, _) = plan.locate(recorded.run.task);
        // Only attempts that finished count, as in the critical path itself.
        let Some(end_ns) = recorded
            .end_ns()
            .filter(|_| is_wanted[g] && recorded.outcome() != Some(Outcome::None))
        else {
            continue;
        };
        let attempt = Attempt {
            task: recorded.run.task,
            worker: recorded.worker,
            start_ns: recorded.run.t,
            end_ns,
        };
        if longest[g].is_none_or(|l| end_ns - attempt.start_ns > l.end_ns - l.start_ns) {
            longest[g] = Some(attempt);
        }
    }
    wanted.iter().filter_map(|&g| longest[g]).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn many_speeds_are_written_as_runs() {
        use super::compact_speeds;
        assert_eq!(compact_speeds([1.0, 1.0, 0.5].into_iter()), "1, 1, 0.5");
        assert_eq!(compact_speeds(std::iter::repeat_n(1.0, 1000)), "1000×1");
        let mixed = std::iter::repeat_n(1.0, 8).chain(std::iter::repeat_n(0.5, 8));
        assert_eq!(compact_speeds(mixed), "8×1, 8×0.5");
    }
}
